"""A sweep: a list of experiments made from one base experiment and a few axes.

SWEEP.toml::

    name = "depth"                  # the sweep folder's name
    base = "experiment.toml"        # optional, relative to this file; default: the built-in experiment
    sharing_depth = [0, 1, 2, 3, 4] # optional axes; each missing one keeps the base's value
    methods = ["equal_sum", "upgrad"]
    task_sets = [["scene", "shapes"], ["scene", "shapes", "regions"]]  # subsets of the base's tasks
    seeds = [0, 1, 2]
    baselines = true                # Δm of every run against single-task baselines (trained or reused)

    [overrides]                     # optional: any experiment fields, as in an experiment file
    train = { epochs = 3 }

Experiments are the product of the axes, seeds outermost: a sweep cut short still has
every configuration of its first seeds. Each is checked like any experiment before the
sweep starts, and a bad value names the experiment and the field.
"""

from __future__ import annotations

import copy
import itertools
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import tomllib

from workbench.config import (
    ConfigError,
    ExperimentConfig,
    default_experiment,
    from_dict,
    to_dict,
    validate_name,
)

_AXES = ("sharing_depth", "methods", "task_sets", "seeds")
_KEYS = ("name", "base", *_AXES, "baselines", "overrides")
SWEEP_MAX = 1000  # experiments in one sweep


@dataclass(frozen=True)
class SweepItem:
    """One experiment of the sweep: ``key`` names it in the queue, ``axes`` its values."""

    key: str
    axes: dict[str, Any]
    config: ExperimentConfig


@dataclass
class SweepSpec:
    name: str
    base: ExperimentConfig
    sharing_depth: list[int] = field(default_factory=list)
    methods: list[str] = field(default_factory=list)
    task_sets: list[list[str]] = field(default_factory=list)
    seeds: list[int] = field(default_factory=list)
    baselines: bool = True

    def items(self) -> list[SweepItem]:
        """Every experiment, checked; raises ConfigError naming the experiment and field."""
        from workbench.experiment_check import check_method_imports, validate_experiment

        base = self.base
        seeds = self.seeds or [base.train.seed]
        task_sets = self.task_sets or [[t.name for t in base.tasks]]
        methods = self.methods or [base.weighting.method]
        depths = self.sharing_depth or [base.model.sharing_depth]
        _distinct_depths(depths, base.model.backbone)
        out = []
        imported: set[str] = set()
        for seed, tasks, method, depth in itertools.product(seeds, task_sets, methods, depths):
            cfg = copy.deepcopy(base)
            cfg.train.seed = seed
            by_name = {t.name: t for t in base.tasks}
            cfg.tasks = [copy.deepcopy(by_name[n]) for n in tasks]
            if method != base.weighting.method:
                cfg.weighting.method, cfg.weighting.params = method, {}
            cfg.model.sharing_depth = depth
            axes = {"tasks": "+".join(tasks), "method": method, "sharing_depth": depth, "seed": seed}
            key = f"{axes['tasks']}-{method}-d{depth}-s{seed}"
            cfg.name = f"{self.name}-{key}"[:100]
            try:
                validate_experiment(cfg)
                if method not in imported:  # once per method: an import can take a second
                    check_method_imports(cfg)
                    imported.add(method)
            except ConfigError as exc:
                raise ConfigError(exc.path, f"{exc.message} (experiment {key})") from None
            out.append(SweepItem(key, axes, cfg))
        return out


def _list(data: dict[str, Any], key: str, kind: type) -> list[Any]:
    value = data.get(key, [])
    if not isinstance(value, list) or not all(isinstance(v, kind) and not isinstance(v, bool) for v in value):
        raise ConfigError(key, f"must be a list of {kind.__name__}s")
    _distinct(key, value, value)
    return value


def check_distinct(key: str, values: list[Any]) -> None:
    """ConfigError when a value of the sweep axis ``key`` is listed twice (also for forms)."""
    _distinct(key, values, values)


def _distinct(key: str, values: list[Any], shown: list[Any]) -> None:
    """Refuse a value named twice: the same run would count as two (two seeds of one
    experiment give a std of 0 that means nothing)."""
    seen: set[Any] = set()
    for value, show in zip(values, shown, strict=True):
        if value in seen:
            raise ConfigError(key, f"{show!r} is listed twice")
        seen.add(value)


def _distinct_depths(depths: list[int], backbone: str) -> None:
    """-1 (hard sharing) is the backbone's number of stages: both listed are one model."""
    from workbench.models.backbones import BACKBONES

    if -1 not in depths or backbone not in BACKBONES:
        return
    stages = BACKBONES.get(backbone).num_stages
    if stages in depths:
        raise ConfigError(
            "sharing_depth",
            f"-1 and {stages} are listed, and both are full sharing on {backbone} ({stages} stages): "
            "one model counted twice; keep one",
        )


def _merge(base: dict[str, Any], over: dict[str, Any]) -> dict[str, Any]:
    out = dict(base)
    for k, v in over.items():
        out[k] = _merge(out[k], v) if isinstance(v, dict) and isinstance(out.get(k), dict) else v
    return out


def parse_sweep(data: dict[str, Any], where: Path | None = None) -> SweepSpec:
    """A SweepSpec from the TOML's dict; ``where`` is the file (for ``base``'s relative path).

    Raises:
        ConfigError: an unknown key, a wrong type, a task name the base does not have, an
            empty or oversized product, or a bad experiment (named).
    """
    from workbench.experiment_check import load_config

    unknown = [k for k in data if k not in _KEYS]
    if unknown:
        raise ConfigError(unknown[0], f"unknown key; allowed keys here: {', '.join(_KEYS)}")
    for key in _AXES:
        if data.get(key) == []:  # not the same as leaving it out: say so
            raise ConfigError(
                key, "is empty; list at least one value, or leave the key out to keep the base's"
            )
    name = data.get("name", "sweep")
    if not isinstance(name, str):
        raise ConfigError("name", f"must be a string, got {type(name).__name__} {name!r}")
    validate_name("name", name)  # it names the sweep folder: the same rule as a run's name
    base = default_experiment()
    if "base" in data:
        path = Path(str(data["base"]))
        if where is not None and not path.is_absolute():
            path = where.parent / path
        base = load_config(path)
    overrides = data.get("overrides", {})
    if not isinstance(overrides, dict):
        raise ConfigError("overrides", "must be a table of experiment fields")
    if "name" in overrides:  # it would be replaced by each run's own name, silently
        raise ConfigError(
            "overrides.name", "the sweep names its runs (its name and the experiment's axes); remove it"
        )
    if overrides:
        base = from_dict(ExperimentConfig, _merge(to_dict(base), overrides))
    task_sets = data.get("task_sets", [])
    if not isinstance(task_sets, list) or not all(
        isinstance(s, list) and s and all(isinstance(n, str) for n in s) for s in task_sets
    ):
        raise ConfigError("task_sets", "must be a list of non-empty lists of task names")
    for s in task_sets:
        _distinct("task_sets", s, s)  # a task twice in one set
    _distinct("task_sets", [frozenset(s) for s in task_sets], task_sets)  # a set twice, in any order
    names = [t.name for t in base.tasks]
    for s in task_sets:
        for n in s:
            if n not in names:
                raise ConfigError(
                    "task_sets", f"the base experiment has no task {n!r}; its tasks: {', '.join(names)}"
                )
    baselines = data.get("baselines", True)
    if not isinstance(baselines, bool):
        raise ConfigError("baselines", "must be true or false")
    spec = SweepSpec(
        name=name,
        base=base,
        sharing_depth=_list(data, "sharing_depth", int),
        methods=_list(data, "methods", str),
        task_sets=task_sets,
        seeds=_list(data, "seeds", int),
        baselines=baselines,
    )
    if not any(k in data for k in _AXES):
        raise ConfigError(
            "",
            f"the sweep varies nothing: give at least one of {', '.join(_AXES)} (one experiment is "
            "'workbench train', and 'workbench baselines' gives its Δm)",
        )
    size = 1
    for axis in (spec.sharing_depth, spec.methods, spec.task_sets, spec.seeds):
        size *= max(1, len(axis))
    if size > SWEEP_MAX:
        raise ConfigError("", f"the sweep has {size} experiments; at most {SWEEP_MAX}")
    return spec


def load_sweep(path: str | Path) -> SweepSpec:
    """Read SWEEP.toml; raises ConfigError naming the file or the field."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(
            "", f"cannot read sweep file {path}: {getattr(exc, 'strerror', None) or exc}"
        ) from None
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError("", f"{path} is not valid TOML: {exc}") from None
    return parse_sweep(data, path)
