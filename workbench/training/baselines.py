"""Single-task baselines of an experiment, and its Δm against them.

Each task alone, with the same data, backbone, budget (epochs, batch, schedule) and seed.
Where the tasks cannot interact, one run does it: at sharing depth 0 with the plain sum of
the losses and no gradient clipping, a multi-task network is exactly T independent
single-task networks (each branch starts from the same backbone initialisation, sees the
same batches, and AdamW/SGD update each parameter from its own gradient alone). Gradient
clipping (one global norm) or early stopping (one monitored task) couple the tasks, so
then each task gets its own run.

Δm compares the **last epoch** of each run (``final_metrics``): the same budget for both,
and no selection on the validation set that one run could profit from.
"""

from __future__ import annotations

import contextlib
import copy
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from workbench.analysis.delta_m import delta_m
from workbench.config import ExperimentConfig, WeightingConfig, to_dict

# Fields that do not change what a run learns: a finished run that differs only in these
# is the same baseline.
_IGNORED = (
    "name",
    "train.device",
    "train.workers",
    "train.threads",
    "train.num_samples",
    "weighting.conflict_every",
)


@dataclass
class Baseline:
    """One baseline run to have: its config and the tasks whose metrics it provides."""

    config: ExperimentConfig
    tasks: list[str]


def joint_baseline_applies(cfg: ExperimentConfig) -> bool:
    """Whether one depth-0 plain-sum run equals the T single-task runs."""
    return cfg.optim.grad_clip == 0 and not cfg.train.early_stopping_metric


def baseline_plan(cfg: ExperimentConfig) -> list[Baseline]:
    """The runs that give every task of ``cfg`` its single-task metrics."""
    base = copy.deepcopy(cfg)
    base.weighting = WeightingConfig(method="equal_sum", params={}, conflict_every=0)
    if len(cfg.tasks) > 1 and joint_baseline_applies(cfg):
        base.model.sharing_depth = 0
        base.name = f"{cfg.name}-stl"[:64]
        return [Baseline(base, [t.name for t in cfg.tasks])]
    plans = []
    for task in cfg.tasks:
        one = copy.deepcopy(base)
        one.tasks = [copy.deepcopy(task)]
        one.model.sharing_depth = -1  # one task: nothing to share, the whole backbone is its own
        one.name = f"{cfg.name}-stl-{task.name}"[:64]
        plans.append(Baseline(one, [task.name]))
    return plans


def comparable_config(data: dict[str, Any]) -> dict[str, Any]:
    """A config dict flattened, defaults filled in, without the fields in ``_IGNORED``."""
    from workbench.training.resume_check import flatten
    from workbench.training.trainer import normalised_config

    flat = flatten(normalised_config(data))
    return {k: v for k, v in flat.items() if k not in _IGNORED}


def _split_sources(path: Path) -> list[Any] | None:
    """The ``sources`` of a run's ``split.json`` (its classes and images), None when it has
    none or it cannot be read (then it matches no split)."""
    from workbench.training import run_split

    try:
        stored = run_split.read(path)
    except run_split.SplitFileError:
        return None
    return None if stored is None else stored["sources"]


def find_finished_run(
    runs_roots: str | Path | list[Path],
    cfg: ExperimentConfig,
    split: list[Any] | None = None,
    stopped: bool = False,
    passed_over: list[str] | None = None,
) -> Path | None:
    """The newest run in ``runs_roots`` (one runs folder or several) trained with ``cfg``
    (up to ``_IGNORED``) that finished, or spent its time limit after a validation (the
    same limit: it is part of the config; ``workbench.training.outcome``).

    ``split``: the ``sources`` of a ``split.json``; then only a run that trained and
    validated on exactly those classes and images matches (the same config may have
    read a data folder that changed since).

    ``stopped``: instead, the newest such run that was stopped or interrupted before its
    budget was spent (one to resume).

    A run measured by other rules (``metrics_revision``) is not reused: a Δm over numbers
    measured two ways means nothing. Each such run is said in ``passed_over``."""
    from workbench.training.metrics_revision import METRICS_REVISION, run_revision
    from workbench.training.outcome import budget_spent, has_result
    from workbench.training.run_split import SPLIT_FILE
    from workbench.training.run_store import RunFileError, RunStore, list_runs

    want = comparable_config(to_dict(cfg))
    roots = runs_roots if isinstance(runs_roots, list) else [Path(runs_roots)]
    for root in roots:
        for info in list_runs(root):  # newest first
            if stopped:
                if info.status not in ("stopped", "interrupted") or budget_spent(
                    RunStore(info.path).read_summary()
                ):
                    continue
            elif (
                info.status not in ("finished", "stopped")
                or info.status == "stopped"
                and not has_result(RunStore(info.path).read_summary())
            ):
                continue
            data = RunStore(info.path).read_config_dict()
            if not data or comparable_config(data) != want:
                continue
            if split is not None and _split_sources(Path(info.path) / SPLIT_FILE) != split:
                continue
            try:
                revision = run_revision(RunStore(info.path).read_summary())
            except RunFileError:
                continue
            if revision != METRICS_REVISION:
                if passed_over is not None:
                    passed_over.append(
                        f"{info.path} is not reused: it was measured by metrics revision {revision}, "
                        f"this workbench measures by {METRICS_REVISION}"
                    )
                continue
            return Path(info.path)
    return None


def delta_m_entry(summary: dict[str, Any], baselines: dict[str, dict[str, Any]]) -> dict[str, Any]:
    """The ``delta_m`` entry of a run's summary.

    Δm (Maninis) is over each task's **primary** metric (K = T: one relative change per
    task, the workbench's documented choice, which the sweep tables use). Δp (LibMTL's
    ``count_improvement``) is over **every** metric both runs measured, each with its own
    direction, averaged over each task's metrics first and then over tasks, as LibMTL does;
    over the primary metrics alone it would only be −Δm.

    Args:
        summary: the multi-task run's summary (``final_metrics``, ``primary_metrics``,
            ``higher_is_better``, ``task_kinds``).
        baselines: task -> the summary of the run holding its single-task metrics.

    Returns:
        {"maninis": %, "libmtl": % or None, "per_task": {task: % (positive = better)},
        "metric": {task: name}, "libmtl_metrics": {task: [names]}, "baseline_runs":
        {task: path}}, with "libmtl_note" saying why when Δp is undefined (a secondary
        metric of 0 in a baseline) while Δm is defined.

    Raises:
        ValueError: a task without a primary metric value in either run, or Δm's own errors.
    """
    primary = summary.get("primary_metrics") or {}
    higher = summary.get("higher_is_better") or {}
    finals = summary.get("final_metrics") or {}
    mtl, stl = {}, {}
    for task, metric in primary.items():
        value = finals.get(task, {}).get(metric)
        base = (baselines.get(task, {}).get("final_metrics") or {}).get(task, {}).get(metric)
        if value is None or base is None:
            raise ValueError(f"{task}: no final {metric} in {'the run' if value is None else 'its baseline'}")
        mtl[task], stl[task] = value, base
    flags = {t: bool(higher.get(t, True)) for t in mtl}
    try:
        maninis = delta_m(mtl, stl, flags, "maninis")
    except ValueError as exc:  # named by task and metric ("objects/map_50: ..."), not task alone
        raise ValueError(_which_metric(exc, {t: ([primary[t]], [mtl[t]], [stl[t]]) for t in mtl})) from None
    entry: dict[str, Any] = {  # + 0.0: a run against itself gives -0.0, which reads as a sign
        "maninis": maninis.value + 0.0,
        "libmtl": None,
        "per_task": {t: v + 0.0 for t, v in maninis.per_task.items()},
        "metric": dict(primary),
        "libmtl_metrics": {},
        # absolute: a path relative to the working folder of whoever ran it pointed nowhere
        # from anywhere else ("../sa/runs/...")
        "baseline_runs": {t: _absolute(baselines[t].get("run_dir", "")) for t in mtl},
    }
    every = _every_metric(summary, baselines, primary, flags)
    entry["libmtl_metrics"] = {t: names for t, (names, _m, _s, _f) in every.items()}
    try:
        libmtl = delta_m(
            {t: m for t, (_n, m, _s, _f) in every.items()},
            {t: s for t, (_n, _m, s, _f) in every.items()},
            {t: f for t, (_n, _m, _s, f) in every.items()},
            "libmtl",
        )
        entry["libmtl"] = libmtl.value + 0.0
    except ValueError as exc:  # a secondary metric's baseline of 0: Δm stands, Δp does not
        named = _which_metric(exc, {t: (n, m, b) for t, (n, m, b, _f) in every.items()})
        entry["libmtl_note"] = f"undefined: {named}"
    return entry


def _absolute(path: str) -> str:
    import os

    return os.path.normpath(os.path.abspath(path)) if path else ""


def _which_metric(exc: ValueError, values: dict[str, tuple[list[str], list[Any], list[Any]]]) -> str:
    """``delta_m``'s reason with the metric named: "count/exact: the single-task value is
    0 ..." where it said "count: ..." (the task's primary metric was not the 0)."""
    import math

    text = str(exc)
    task = text.split(":", 1)[0]
    if task not in values:
        return text
    names, own, base = values[task]
    for name, m, b in zip(names, own, base, strict=True):
        finite = all(isinstance(v, (int, float)) and math.isfinite(v) for v in (m, b))
        if not finite or b == 0:
            return f"{task}/{name}:{text.split(':', 1)[1]}"
    return text


def _every_metric(
    summary: dict[str, Any],
    baselines: dict[str, dict[str, Any]],
    primary: dict[str, str],
    flags: dict[str, bool],
) -> dict[str, tuple[list[str], list[float], list[float], list[bool]]]:
    """task -> (names, multi-task values, single-task values, higher-is-better) of every
    final metric both runs hold (the primary alone where the task kind is unknown)."""
    from workbench.tasks import TASK_KINDS

    finals = summary.get("final_metrics") or {}
    kinds = summary.get("task_kinds") or {}
    out = {}
    for task, metric in primary.items():
        base = (baselines[task].get("final_metrics") or {}).get(task, {})
        own = finals.get(task, {})
        try:
            kind = TASK_KINDS.get(str(kinds.get(task)))
        except (KeyError, ValueError):
            kind = None
        names = [n for n in own if own.get(n) is not None and base.get(n) is not None] if kind else []
        if metric not in names:  # an old summary without kinds, or a stray entry
            names = [metric]
        out[task] = (
            names,
            [own[n] for n in names],
            [base[n] for n in names],
            [kind.metric_higher_is_better(n) if kind else flags[task] for n in names],
        )
    return out


def ensure_baselines(
    cfg: ExperimentConfig,
    runs_root: str | Path,
    train: Callable[[ExperimentConfig, Any, bool], dict[str, Any]],
    log: Callable[[str], None] = print,
    also_search: list[Path] | None = None,
    split_from: Path | None = None,
    stop: Callable[[], bool] = lambda: False,
) -> dict[str, dict[str, Any]] | None:
    """task -> the summary (with ``run_dir``) of its baseline with a result, reusing such runs
    under ``runs_root`` (and ``also_search``) and training the others in ``runs_root`` with
    ``train(config, store, resume)``; None when one has no result (stopped, failed, or its
    time limit came before its first validation).

    ``split_from``: the multi-task run's ``split.json``. Its baselines train and validate on
    exactly its classes and images (the file is copied into each new baseline's folder,
    which a new run then uses: ``Trainer``), and a finished run is reused only when it did
    too: a Δm over two different validation sets, or two class lists, means nothing.

    A baseline that was stopped or interrupted (a stop signal, a kill) is resumed, not
    trained again in a new folder. ``stop()`` true: no further baseline starts (None)."""
    import shutil

    from workbench.experiment_check import validate_experiment
    from workbench.training.experiment import absolute_paths
    from workbench.training.outcome import budget_spent, has_result, no_result_reason
    from workbench.training.run_split import SPLIT_FILE
    from workbench.training.run_store import RunStore

    split = _split_sources(split_from) if split_from is not None else None
    out: dict[str, dict[str, Any]] = {}
    for plan in baseline_plan(cfg):
        passed_over: list[str] = []
        found = find_finished_run(
            [Path(runs_root), *(also_search or [])], plan.config, split, False, passed_over
        )
        halted = (
            None
            if found is not None
            else find_finished_run(Path(runs_root), plan.config, split, True, passed_over)
        )
        for line in dict.fromkeys(passed_over) if found is None and halted is None else ():
            log(f"baseline for {', '.join(plan.tasks)}: {line}")
        if (found is None) and stop():
            return None
        if found is not None:
            log(f"baseline for {', '.join(plan.tasks)}: reusing {found}")
            store = RunStore(found)
            summary = store.read_summary()
        elif halted is not None:
            log(f"baseline for {', '.join(plan.tasks)}: resuming {halted}")
            store = RunStore(halted)
            summary = train(store.read_config(), store, True)
        else:
            log(f"baseline for {', '.join(plan.tasks)}: training {plan.config.name}")
            validate_experiment(plan.config)
            absolute_paths(plan.config)
            store = RunStore.create(runs_root, plan.config.name)
            if split is not None and split_from is not None:
                shutil.copyfile(split_from, store.path / SPLIT_FILE)
            summary = train(plan.config, store, False)
            if not wrote_anything(store.path):  # refused before it started (its error was said)
                (store.path / SPLIT_FILE).unlink(missing_ok=True)
                with contextlib.suppress(OSError):
                    store.path.rmdir()
                log(f"baseline for {', '.join(plan.tasks)} did not start; nothing of it is kept")
                return None
        if not has_result(summary):
            from workbench.training.outcome import fresh_start_hint

            log(
                f"baseline {store.path} has no result: {no_result_reason(summary)}"
                + fresh_start_hint(summary, store.path)
            )
            return None
        if budget_spent(summary):
            log(
                f"baseline {store.path}: time limit reached after {summary.get('epochs_done', 0)} epoch(s): "
                "its budget is spent"
            )
        for task in plan.tasks:
            out[task] = {**summary, "run_dir": str(store.path)}
    return out


def wrote_anything(folder: Path) -> bool:
    """Whether a new run wrote into its folder (beyond the ``split.json`` it was given)."""
    from workbench.training.run_split import SPLIT_FILE

    try:
        return any(p.name != SPLIT_FILE for p in folder.iterdir())
    except OSError:
        return True  # cannot tell: keep it
