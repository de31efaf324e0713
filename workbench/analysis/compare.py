"""Runs side by side: results, costs and the configuration differences, as one table.

Pure Python: no Qt, no torch. The GUI's compare view and the runs browser call it; a
script can too::

    facts = [facts_from_summary(path, summary, config) for ...]
    table = compare_table(facts)
    table.write_csv("compare.csv")

What goes in:
    ``RunFacts``: what one run reports (from its ``summary.json`` and ``config.toml``,
    or from a ``RunInfo`` of ``workbench.training.run_store.list_runs``).
What comes out:
    ``compare_table``: one row per run; columns Run (a label naming what differs, e.g.
    "depth 2 · dwa"), one column per config field whose value differs between the runs
    (``config_differences`` of the flattened configs), each task's primary metric at the
    run's last validated epoch (the epoch Δm and a sweep's tables use: every run after its
    whole budget, where the best epoch is picked by one task's metric alone), best epoch,
    parameters, latency, wall time and status.
    ``CompareTable.best_rows(column)`` marks the best value of a column, respecting
    ``higher_is_better`` of metrics (costs: lower is better).
    ``run_labels`` / ``distinguishing_names``: short names saying what differs.
"""

from __future__ import annotations

import csv
import io
import math
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path, PurePath
from typing import Any

from workbench.training.metrics_revision import run_revision


class _Missing:
    """A config key a run does not have (shown as an em dash)."""

    _instance: _Missing | None = None

    def __new__(cls) -> _Missing:
        if cls._instance is None:
            cls._instance = super().__new__(cls)
        return cls._instance

    def __repr__(self) -> str:
        return "MISSING"


MISSING: Any = _Missing()
DASH = "—"

# Config keys in the order they name a run (the first differing ones make the label).
# A trailing dot matches every key below it.
PRIORITY = (
    "model.sharing_depth",
    "weighting.method",
    "model.backbone",
    "tasks",
    "weighting.params.",
    "model.pretrained",
    "optim.",
    "model.",
    "data.",
    "tasks.",
    "train.",
    "name",
)
# Differences that do not change what is learned; they name a run only as a last resort.
INCIDENTAL = frozenset(
    {
        "name",
        "train.device",
        "train.workers",
        "train.threads",
        "train.num_samples",
        "train.amp",
        # measured, not learned from: a single-task baseline turns conflict off (nothing is
        # shared), and was labelled "depth 0 · conflict every 0"
        "weighting.conflict_every",
        # not a setting: runs measured by other rules are a column, labelled by it only
        # where nothing else tells them apart
        "metrics_revision",
    }
)
LABEL_FORMATS = {
    "name": "{}",
    "model.sharing_depth": "depth {}",
    "weighting.method": "{}",
    "model.backbone": "{}",
    "tasks": "{}",
    "model.pretrained": "pretrained {}",
    "optim.optimizer": "{}",
    "optim.lr": "lr {}",
    "optim.schedule": "{} schedule",
    "train.epochs": "{} epochs",
    "train.batch_size": "batch {}",
    "train.seed": "seed {}",
    "data.shapes.image_size": "{} px",
    "data.options.image_size": "{} px",
    "data.source": "source {}",
    "train.time_limit_s": "time limit {} s",
    "metrics_revision": "metrics revision {}",
}
SEED = "train.seed"
REVISION = "metrics_revision"
MAX_LABEL_PARTS = 4  # a label says at most this many differences; the table has them all


# ----------------------------------------------------------------------------- facts


@dataclass(frozen=True)
class RunFacts:
    """What the comparison needs of one run.

    ``metrics`` maps a task to its primary metric's value at the last validated epoch (None when
    undefined); ``best_epoch`` is 0-based (-1: none yet); ``sharing_depth`` is resolved
    (full sharing as the number of stages; -1 when unknown).
    """

    path: str
    name: str = ""
    status: str = ""
    config: Mapping[str, Any] = field(default_factory=dict)
    primary_metrics: Mapping[str, str] = field(default_factory=dict)
    higher_is_better: Mapping[str, bool] = field(default_factory=dict)
    metrics: Mapping[str, float | None] = field(default_factory=dict)
    best_epoch: int = -1
    epochs_done: int = 0
    params_total: int | None = None
    latency_ms: float | None = None
    elapsed_s: float | None = None
    sharing_depth: int = -1
    created: float = 0.0
    delta_m: float | None = None  # Δm against single-task baselines, % (Maninis; lower is better)
    # a row merged over seeds (``merge_seeds``): the seeds, and the sample standard
    # deviation per column key ("metric:task/metric", "delta_m", "wall", ...)
    seeds: tuple[int, ...] = ()
    spread: Mapping[str, float] = field(default_factory=dict)
    member_paths: tuple[str, ...] = ()  # a merged row's run folders, one per seed
    # task -> the classes it learned (summary.json's task_classes; empty for runs from before)
    task_classes: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    # task -> metric name -> its label ("map_50" -> "mAP@0.5"; summary.json's metric_labels)
    metric_labels: Mapping[str, Mapping[str, str]] = field(default_factory=dict)
    # the rules that measured its numbers (``metrics_revision``; None: not read, the runs list)
    metrics_revision: int | None = None

    @property
    def folder(self) -> str:
        return Path(self.path).name


def _number(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    value = float(value)
    return value if math.isfinite(value) else None


def _seconds(value: Any) -> float | None:
    """A duration: a finite number of seconds >= 0, else unknown (a hand-edited file)."""
    number = _number(value)
    return number if number is not None and number >= 0 else None


def _int(value: Any, default: int) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        return default
    return int(value)


def facts_from_summary(path: str | Path, summary: Mapping[str, Any], config: Mapping[str, Any]) -> RunFacts:
    """``RunFacts`` of a run directory from its ``summary.json`` and ``config.toml`` (as dicts)."""
    summary = summary or {}
    params = summary.get("params") if isinstance(summary.get("params"), Mapping) else {}
    primary = dict(summary.get("primary_metrics") or {})
    final = summary.get("final_metrics") or {}
    metrics: dict[str, float | None] = {}
    for task, metric in primary.items():
        values = final.get(task) if isinstance(final, Mapping) else None
        metrics[task] = _number(values.get(metric)) if isinstance(values, Mapping) else None
    total = params.get("total")
    return RunFacts(
        path=str(path),
        name=str(summary.get("name") or (config or {}).get("name") or Path(path).name),
        status=str(summary.get("status", "")),
        config=dict(config or {}),
        primary_metrics=primary,
        higher_is_better={k: bool(v) for k, v in (summary.get("higher_is_better") or {}).items()},
        metrics=metrics,
        best_epoch=_int(summary.get("best_epoch"), -1),
        epochs_done=_int(summary.get("epochs_done"), 0),
        params_total=_int(total, 0) if _number(total) is not None else None,
        latency_ms=_seconds(summary.get("latency_ms")),  # a time: never negative
        elapsed_s=_seconds(summary.get("elapsed_s")),
        sharing_depth=_int(params.get("sharing_depth"), -1),
        created=_number(summary.get("created")) or 0.0,
        delta_m=_number((summary.get("delta_m") or {}).get("maninis")),
        task_classes=_task_classes(summary.get("task_classes")),
        metric_labels=_metric_labels(summary.get("metric_labels")),
        metrics_revision=run_revision(summary),
    )


def _metric_labels(value: Any) -> dict[str, dict[str, str]]:
    if not isinstance(value, Mapping):
        return {}
    return {
        str(task): {str(m): str(label) for m, label in names.items() if isinstance(label, str)}
        for task, names in value.items()
        if isinstance(names, Mapping)
    }


def _task_classes(value: Any) -> dict[str, tuple[str, ...]]:
    if not isinstance(value, Mapping):
        return {}
    return {
        str(task): tuple(str(n) for n in names) for task, names in value.items() if isinstance(names, list)
    }


def facts_from_info(info: Any) -> RunFacts:
    """``RunFacts`` of a ``RunInfo`` (``list_runs``); fields an older core lacks stay unknown."""
    primary = dict(getattr(info, "primary_metrics", None) or {})
    metrics: dict[str, float | None] = {}
    for key, value in (getattr(info, "key_metrics", None) or {}).items():
        task, _, metric = str(key).partition("/")
        if not metric:
            continue
        primary.setdefault(task, metric)
        if primary[task] == metric:
            metrics[task] = _number(value)
    total = getattr(info, "params_total", None)
    return RunFacts(
        path=str(info.path),
        name=str(getattr(info, "name", "") or Path(info.path).name),
        status=str(getattr(info, "status", "")),
        config=dict(getattr(info, "config", None) or {}),
        primary_metrics=primary,
        higher_is_better={k: bool(v) for k, v in (getattr(info, "higher_is_better", None) or {}).items()},
        metrics=metrics,
        best_epoch=_int(getattr(info, "best_epoch", -1), -1),
        epochs_done=_int(getattr(info, "epochs_done", 0), 0),
        params_total=_int(total, 0) if _number(total) else None,
        latency_ms=_seconds(getattr(info, "latency_ms", None)),
        elapsed_s=_seconds(getattr(info, "elapsed_s", None)),
        sharing_depth=_int(getattr(info, "sharing_depth", -1), -1),
        created=_number(getattr(info, "created", 0.0)) or 0.0,
        delta_m=_number((getattr(info, "delta_m", None) or {}).get("maninis")),
        task_classes=_task_classes(getattr(info, "task_classes", None)),
    )


# ----------------------------------------------------------------------------- config diff


def _hashable(value: Any) -> Any:
    if isinstance(value, Mapping):
        return tuple(sorted((str(k), _hashable(v)) for k, v in value.items()))
    if isinstance(value, (list, tuple)):
        return tuple(_hashable(v) for v in value)
    return value


def _flatten_into(out: dict[str, Any], prefix: str, value: Any) -> None:
    if isinstance(value, Mapping):
        for key, sub in value.items():
            _flatten_into(out, f"{prefix}.{key}" if prefix else str(key), sub)
    else:
        out[prefix] = _hashable(value)


def flatten_config(config: Mapping[str, Any], sharing_depth: int = -1) -> dict[str, Any]:
    """Dotted keys to plain values: ``{"optim.lr": 0.002, "tasks.scene.kind": ...}``.

    Tasks are keyed by name (their order does not matter); ``"tasks"`` holds the names
    joined with "+". ``sharing_depth`` >= 0 replaces ``model.sharing_depth`` (so -1,
    "every stage", equals the number of stages it means).
    """
    out: dict[str, Any] = {}
    for key, value in config.items():
        if key == "tasks" and isinstance(value, list):
            names = []
            for i, task in enumerate(value):
                if not isinstance(task, Mapping):
                    out[f"tasks.#{i + 1}"] = _hashable(task)
                    names.append(f"#{i + 1}")
                    continue
                name = str(task.get("name") or f"#{i + 1}")
                names.append(name)
                out[f"tasks.{name}.kind"] = task.get("kind", MISSING)
                for sub, sub_value in task.items():
                    if sub not in ("name", "kind"):
                        _flatten_into(out, f"tasks.{name}.{sub}", sub_value)
            out["tasks"] = "+".join(names)
        elif (
            key == "data"
            and isinstance(value, Mapping)
            and isinstance(value.get("sources"), list)
            and value["sources"]
        ):
            # several sources: each its own keys ("data.sources.2.path"), not one tuple of
            # a thousand characters; the top-level source, path and options are unused then
            for sub, sub_value in value.items():
                if sub in ("source", "path", "options"):
                    continue
                if sub != "sources":
                    _flatten_into(out, f"data.{sub}", sub_value)
                    continue
                for i, src in enumerate(sub_value):
                    _flatten_into(out, f"data.sources.{i + 1}", src)
        else:
            _flatten_into(out, str(key), value)
    if sharing_depth >= 0:
        out["model.sharing_depth"] = int(sharing_depth)
    return out


def _rank(key: str) -> int:
    for i, prefix in enumerate(PRIORITY):
        if key == prefix or (prefix.endswith(".") and key.startswith(prefix)):
            return i
    return len(PRIORITY)


def _task_of(key: str) -> str | None:
    if key.startswith("tasks.") and key.count(".") >= 2:
        return key.split(".")[1]
    return None


def config_differences(flats: Sequence[Mapping[str, Any]]) -> list[str]:
    """Keys whose values differ between the flattened configs, most telling first.

    A task's own settings count only among the runs that have the task: a run without
    task "masks" does not make every "masks" setting a difference (``"tasks"`` says it).
    A task's classes count only among the runs that recorded them (older summaries lack
    ``task_classes``).
    """
    flats = [f for f in flats if f]  # an unreadable config.toml: unknown, not "all different"
    keys: dict[str, None] = {}
    for flat in flats:
        for key in flat:
            keys.setdefault(key, None)
    different = []
    for key in keys:
        task = _task_of(key)
        if task is not None and key.endswith(".classes"):
            # a summary from before task_classes was written: unknown, not another class list
            groups = [[f[key] for f in flats if key in f]]
        elif task is not None:
            groups = [[f.get(key, MISSING) for f in flats if f"tasks.{task}.kind" in f]]
        elif key.startswith(("data.options.", "weighting.params.")):
            # a source's own options count among the runs of that source, a method's params
            # among the runs of that method ("data.source", "weighting.method" say the rest):
            # a shapes run and a YOLO run differ in source, not in 15 options
            owner = "data.source" if key.startswith("data.") else "weighting.method"
            owners = {f.get(owner, MISSING) for f in flats}
            groups = [[f.get(key, MISSING) for f in flats if f.get(owner, MISSING) == o] for o in owners]
        else:
            groups = [[f.get(key, MISSING) for f in flats]]
        if any(len(set(map(_comparable, values))) > 1 for values in groups):
            different.append(key)
    order = {key: i for i, key in enumerate(different)}
    return sorted(different, key=lambda k: (_rank(k), order[k]))


def _comparable(value: Any) -> Any:
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return value


def value_text(key: str, value: Any) -> str:
    """A config value as a cell shows it ("—" when the run lacks the key)."""
    if value is MISSING:
        return DASH
    if key == "model.sharing_depth" and value == -1:
        return "full"
    if key.endswith(".classes") and isinstance(value, tuple):
        from workbench.data.class_names import names_text

        return f"{len(value)}: {names_text(value, 6)}"
    if isinstance(value, bool):
        return "on" if value else "off"
    if isinstance(value, float):
        return f"{value:g}"
    if isinstance(value, tuple):
        return ", ".join(value_text("", v) if not isinstance(v, tuple) else f"{v[0]}={v[1]}" for v in value)
    if value == "":
        return '""'
    return str(value)


def _pretty(name: str) -> str:
    return name.replace("_", " ")


def _is_path_key(key: str, value: Any) -> bool:
    last = key.split(".")[-1]
    return isinstance(value, str) and (
        last.endswith(("path", "file", "root")) or last.endswith("annotations")
    )


def path_tails(values: Sequence[str]) -> dict[str, str]:
    """Each path by its fewest last parts that still tell the paths apart:
    ``a/coco/annotations/instances_train.json`` beside ``b/coco/...`` is not
    "instances_train.json" twice but "a/coco/annotations/instances_train.json"...;
    ``runs/x/voc`` beside ``runs/y/coco`` stays "voc" and "coco"."""
    distinct = sorted({v for v in values if v})
    parts = {v: PurePath(v).parts for v in distinct}
    longest = max((len(p) for p in parts.values()), default=1)
    for n in range(1, longest + 1):
        tails = {v: "/".join(parts[v][-n:]) for v in distinct}
        if len(set(tails.values())) == len(distinct):
            return tails
    return {v: v for v in distinct}


def short_label(key: str, value: Any, shown_path: str | None = None) -> str:
    """What one difference says in a run's label: "depth 2", "dwa", "lr 0.001"; a path by
    its last part ("data voc2012"), or ``shown_path`` (``path_tails``: as many last parts as
    tell the compared runs apart), an unset one as "no data path"."""
    last = key.split(".")[-1]
    if _is_path_key(key, value):
        name = _pretty(last)
        if key.startswith("data.sources."):  # "source 2 coco_a"
            name = f"source {key.split('.')[2]}" + ("" if last == "path" else f" {name}")
        return f"{name} {shown_path or PurePath(value).name}" if value else f"no {name}"
    if key == "train.time_limit_s" and value in (0, 0.0):
        return "no time limit"
    if key.endswith(".classes") and isinstance(value, tuple):
        return f"{key.split('.')[1]} {len(value)} classes"
    text = value_text(key, value)
    fmt = LABEL_FORMATS.get(key)
    if fmt:
        return fmt.format(text)
    parts = key.split(".")
    task = _task_of(key)
    if task is not None:
        rest = [p for p in parts[2:] if p != "options"]
        return f"{task} {_pretty(' '.join(rest))} {text}"
    if key.startswith("weighting.params."):
        return f"{_pretty(parts[-1])} {text}"
    if key.startswith("data.sources."):  # "source 2 split seed 1"
        return f"source {parts[2]} {_pretty(parts[-1])} {text}"
    return f"{_pretty(parts[-1])} {text}"


def column_title(key: str) -> str:
    """The heading of a config-difference column ("Sharing depth", "masks: Loss weight")."""
    if key == "tasks":
        return "Tasks"
    if key == REVISION:
        return "Metrics revision"
    if key.startswith("data.sources."):  # "Source 2: split seed"
        parts = key.split(".")
        return f"Source {parts[2]}: {_pretty(' '.join(p for p in parts[3:] if p != 'options'))}"
    parts = key.split(".")
    task = _task_of(key)
    if task is not None:
        if parts[2] == "classes":
            return f"{task}: classes"
        if parts[2] == "options":
            return f"{task}: {_pretty('.'.join(parts[3:]))}"
        return f"{task}: {_field_label('tasks[0].' + '.'.join(parts[2:])).split(': ', 1)[-1]}"
    if key.startswith("weighting.params."):
        return f"Weighting: {_pretty('.'.join(parts[2:]))}"
    return _field_label(key)


def _field_label(path: str) -> str:
    try:  # torch-free; an older config module may lack field_label
        from workbench.config import field_label

        label = field_label(path)
    except Exception:
        label = ""
    return label or _pretty(path.split(".")[-1]).capitalize()


# ----------------------------------------------------------------------------- labels

_STAMP = re.compile(r"(\d{8})-(\d{2})(\d{2})(\d{2})(?:-(\d+))?$")


def folder_suffixes(folders: Sequence[str]) -> list[str]:
    """What tells run folders of one experiment apart: their start time ("14:37:37")."""
    out = []
    for folder in folders:
        m = _STAMP.search(folder)
        if m is None:
            out.append(folder)
            continue
        text = f"{m.group(2)}:{m.group(3)}:{m.group(4)}"
        out.append(text + (f" #{m.group(5)}" if m.group(5) else ""))
    if len(set(out)) != len(out):  # runs on different days at the same time of day
        out = [
            f"{m.group(1)[4:6]}-{m.group(1)[6:]} {s}" if (m := _STAMP.search(f)) else s
            for f, s in zip(folders, out, strict=True)
        ]
    if len(set(out)) != len(out):
        return list(folders)
    return out


def _flats(facts: Sequence[RunFacts]) -> list[dict[str, Any]]:
    """The flattened configs, and each task's classes as ``tasks.NAME.classes``: runs of one
    config on a data folder whose classes changed in between differ, and say so."""
    out = []
    for f in facts:
        if not f.config:  # config.toml unreadable: its settings are unknown, none a difference
            out.append({})
            continue
        flat = flatten_config(f.config, f.sharing_depth)
        for task, names in f.task_classes.items():
            flat[f"tasks.{task}.classes"] = names
        if f.metrics_revision is not None:  # numbers measured by other rules: a difference
            flat[REVISION] = f.metrics_revision
        out.append(flat)
    return out


def run_labels(facts: Sequence[RunFacts], max_parts: int = 2) -> list[str]:
    """Unique short labels that say what differs between the runs ("depth 2 · dwa").

    The most telling differences come first (``PRIORITY``); settings that do not change
    what is learned (device, loader workers, ...) only when nothing else differs; runs
    with the same config are told apart by their start time. One run: its name.
    """
    if not facts:
        return []
    if len(facts) == 1:
        return [facts[0].name or facts[0].folder]
    flats = _flats(facts)
    diffs = config_differences(flats)
    # the seed says which draw, not which experiment: it is named only where the settings
    # leave runs alike (a row of seeds 0, 2 beside a run of seed 0 with another task set
    # was labelled by seed, and the task set went unsaid)
    main = [k for k in diffs if k not in INCIDENTAL and k != SEED]
    extra = [k for k in diffs if k in INCIDENTAL]

    tails = {
        k: path_tails([str(flat.get(k)) for flat in flats if flat and _is_path_key(k, flat.get(k))])
        for k in diffs
    }

    def join(keys: list[str], flat: Mapping[str, Any]) -> str:
        def shown(k: str) -> str | None:
            value = flat.get(k)
            return tails[k].get(value) if isinstance(value, str) else None

        return " · ".join(short_label(k, flat.get(k, MISSING), shown(k)) for k in keys)

    # the differences that tell the runs apart, picked greedily (each the one that splits
    # the most runs still sharing a label, the most telling first on a tie), never more
    # than MAX_LABEL_PARTS (eight runs of a mixed folder once made labels of 12 settings,
    # 1,100 px wide); the first two by priority were taken whether they told runs apart or
    # not, so a learning rate or seed that alone set a run apart was never named
    seed = [SEED] if SEED in diffs else []
    telling, later = (main, seed) if main else ([*seed, *extra], [])
    known = [flat for flat in flats if flat]  # a run whose config.toml could not be read: none

    def groups(keys: list[str]) -> int:
        return len({tuple(_comparable(flat.get(k, MISSING)) for k in keys) for flat in known})

    chosen: list[str] = []

    def pick(keys: list[str]) -> None:
        while len(chosen) < MAX_LABEL_PARTS and groups(chosen) < len(known):
            gains = [(groups([*chosen, k]), -i, k) for i, k in enumerate(keys) if k not in chosen]
            if not gains or max(gains)[0] <= groups(chosen):
                break
            chosen.append(max(gains)[2])

    pick(telling)
    for k in main or seed:  # at least ``max_parts`` differences, the most telling, when there are
        if len(chosen) >= max_parts:
            break
        if k not in chosen:
            chosen.append(k)
    # then what does not change what is learned (the device), before start times
    last = [k for k in extra if k not in telling]
    pick([*telling, *later, *last])
    chosen.sort(key=[*telling, *later, *last].index)
    labels = [join(chosen, flat) if flat else "" for flat in flats]
    if all(labels) and len(set(labels)) == len(labels):
        return labels
    # runs with the same settings (or an unreadable config): their start times tell them apart
    suffixes = folder_suffixes([f.folder for f in facts])
    return [
        label if label and labels.count(label) == 1 else (f"{label} · {s}" if label else s)
        for label, s in zip(labels, suffixes, strict=True)
    ]


def distinguishing_names(facts: Sequence[RunFacts]) -> list[str]:
    """Names for a list of runs: the experiment name, plus what differs among runs of that name."""
    names = [f.name or f.folder for f in facts]
    groups: dict[str, list[int]] = {}
    for i, name in enumerate(names):
        groups.setdefault(name, []).append(i)
    out = list(names)
    for name, members in groups.items():
        if len(members) < 2:
            continue
        labels = run_labels([facts[i] for i in members])
        for i, label in zip(members, labels, strict=True):
            out[i] = f"{name} · {label}"
    return out


# ----------------------------------------------------------------------------- table


@dataclass(frozen=True)
class Column:
    """One column: ``better`` is "higher", "lower" or "" (no best value marked)."""

    key: str
    title: str
    better: str = ""
    tip: str = ""
    kind: str = "text"  # text, metric, epoch, params, ms, seconds, config


# The unit of a raw value in the CSV, where the table's cells show it formatted ("4:26")
CSV_UNITS = {"ms": " (ms)", "seconds": " (s)", "percent": " (%)"}


@dataclass
class CompareTable:
    columns: list[Column]
    rows: list[list[Any]]  # raw values; None: unknown
    labels: list[str]
    facts: list[RunFacts]

    def column(self, key: str) -> int:
        for i, c in enumerate(self.columns):
            if c.key == key:
                return i
        raise KeyError(key)

    def value(self, row: int, key: str) -> Any:
        return self.rows[row][self.column(key)]

    def best_rows(self, column: int) -> set[int]:
        """Rows holding the best value of ``column`` (empty when it has no "better" or no spread)."""
        better = self.columns[column].better
        if not better:
            return set()
        # a failed, killed or still running run's values are not results: the failed
        # run's accuracy was marked best, and a run stopped after one epoch "best" in time
        unfinished = ("failed", "interrupted", "running", "paused", "mixed")
        values = {
            i: _number(r[column])
            for i, r in enumerate(self.rows)
            if i >= len(self.facts) or self.facts[i].status not in unfinished
        }
        if self.columns[column].key == "wall":  # a stopped run's time is not its run's time
            values = {
                i: v for i, v in values.items() if i >= len(self.facts) or self.facts[i].status == "finished"
            }
        values = {i: v for i, v in values.items() if v is not None}
        if len(values) < 2 or len(set(values.values())) < 2:
            return set()
        target = max(values.values()) if better == "higher" else min(values.values())
        best = {i for i, v in values.items() if v == target}
        # marked as the cells read: a best that reads like others ("1.18M" and "1.18M") marks
        # them all, and none when every cell reads the same
        shown = {i: self.text(i, column) for i in values}
        best_texts = {shown[i] for i in best}
        if len(set(shown.values())) < 2:
            return set()
        return {i for i in values if shown[i] in best_texts}

    def text(self, row: int, column: int) -> str:
        """The cell as shown: numbers rounded, times as h:mm:ss, unknown as "—"."""
        col = self.columns[column]
        value = self.rows[row][column]
        if col.kind == "config":
            return value_text(col.key.split(":", 1)[1], value)
        if value is None or value == "":
            return DASH
        spread = self.facts[row].spread.get(col.key)
        if spread is not None and col.kind in ("metric", "percent", "ms", "seconds"):
            # mean ± std in the unit and form the column's single runs are shown in
            if col.kind == "metric":
                digits = ".3f" if max(abs(value), abs(spread)) < 1000 else ".4g"
                return f"{value:{digits}} ± {spread:{digits}}"
            if col.kind == "percent":
                return f"{value:+.2f} ± {spread:.2f} %"
            if col.kind == "ms":
                if max(value, spread) < 999.5:
                    return f"{value:.3g} ± {spread:.3g} ms"
                return f"{value / 1000:.3g} ± {spread / 1000:.3g} s"
            return f"{format_seconds(value)} ± {format_seconds(spread)}"
        if col.kind == "metric":
            return f"{value:.3f}" if abs(value) < 1000 else f"{value:.4g}"
        if col.kind == "percent":
            return f"{value:+.2f} %"
        if col.kind == "epoch":
            done = self.facts[row].epochs_done
            return f"{value} of {done}" if done else str(value)
        if col.kind == "params":
            return human_count(value)
        if col.kind == "ms":  # "1.33e+03 ms" read as a typo: a second or more in seconds
            return f"{value:.3g} ms" if value < 999.5 else f"{value / 1000:.3g} s"
        if col.kind == "seconds":
            return format_seconds(value)
        return str(value)

    def csv_value(self, row: int, column: int) -> str:
        col = self.columns[column]
        value = self.rows[row][column]
        if col.kind == "config":
            if value == "":  # an empty setting is an empty cell (it was the text '""')
                return ""
            text = value_text(col.key.split(":", 1)[1], value)
            return "" if text == DASH else text
        if value is None:
            return ""
        if isinstance(value, float):
            return repr(value)
        return str(value)

    def to_csv(self) -> str:
        """Raw values (full precision, seconds, 1-based best epoch) with a header row, plus the folder."""
        buf = io.StringIO()
        writer = csv.writer(buf, lineterminator="\n")
        # rows merged over seeds: each spread column's standard deviation beside it
        spread = {c for c, col in enumerate(self.columns) if any(col.key in f.spread for f in self.facts)}
        header = []
        for c, col in enumerate(self.columns):
            header.append(col.title + CSV_UNITS.get(col.kind, ""))
            if c in spread:
                header.append(f"{col.title} std" + CSV_UNITS.get(col.kind, ""))
        writer.writerow([*header, "Folder"])
        for r in range(len(self.rows)):
            cells = []
            for c, col in enumerate(self.columns):
                cells.append(self.csv_value(r, c))
                if c in spread:
                    std = self.facts[r].spread.get(col.key)
                    cells.append("" if std is None else repr(float(std)))
            facts = self.facts[r]  # a merged row: every seed's folder
            writer.writerow([*cells, "; ".join(facts.member_paths) if facts.member_paths else facts.path])
        return buf.getvalue()

    def write_csv(self, path: str | Path) -> None:
        Path(path).write_text(self.to_csv(), encoding="utf-8")


def human_count(n: float) -> str:
    """1318436 -> "1.32M", 66820 -> "66.8k", 820 -> "820"."""
    n = float(n)
    for unit, size in (("G", 1e9), ("M", 1e6), ("k", 1e3)):
        if abs(n) >= size:
            v = n / size
            return f"{v:.3g}{unit}" if v < 1000 else f"{v:.0f}{unit}"
    return f"{n:.0f}"


def format_seconds(seconds: float) -> str:
    """266.4 -> "4:26", 3723 -> "1:02:03"."""
    total = int(round(float(seconds)))
    hours, rest = divmod(total, 3600)
    minutes, secs = divmod(rest, 60)
    return f"{hours}:{minutes:02d}:{secs:02d}" if hours else f"{minutes}:{secs:02d}"


def _metric_columns(facts: Iterable[RunFacts]) -> list[Column]:
    seen: dict[tuple[str, str], Column] = {}
    for f in facts:
        for task, metric in f.primary_metrics.items():
            if (task, metric) in seen:
                continue
            higher = f.higher_is_better.get(task, True)
            direction = "higher" if higher else "lower"
            label = (f.metric_labels.get(task) or {}).get(metric, metric)
            seen[(task, metric)] = Column(
                key=f"metric:{task}/{metric}",
                title=f"{task} {label}",
                better=direction,
                tip=f"{task}/{metric} at the run's last epoch, the one Δm compares ({direction} is better)",
                kind="metric",
            )
    return list(seen.values())


def compare_table(
    facts: Sequence[RunFacts], labels: Sequence[str] | None = None, by_seed: bool = True
) -> CompareTable:
    """The comparison of ``facts``, one row per run (see the module docstring); with
    ``by_seed``, runs that differ only in their seed become one row of mean ± std."""
    facts = list(facts)
    any_delta_m = any(f.delta_m is not None for f in facts)  # before merging: a merged
    # row's Δm may be undefined (a seed without one), its column must stay to say so
    if by_seed:
        from workbench.analysis.seed_groups import group_by_seed, merge_seeds

        groups = group_by_seed(facts)
        if len(groups) < len(facts):
            facts = [merge_seeds(g) for g in groups]
            labels = None
    labels = list(labels) if labels is not None else run_labels(facts)
    metric_cols = _metric_columns(facts)
    flats = _flats(facts)
    diffs = config_differences(flats) if len(facts) > 1 else []
    if any(f.seeds for f in facts):  # the Seeds column says them (a Seed column said them again)
        diffs = [k for k in diffs if k != SEED]
    columns = [
        Column("run", "Run", tip="what differs between the runs (or the run's name)"),
        *(Column(f"config:{k}", column_title(k), tip=k, kind="config") for k in diffs),
        *metric_cols,
        *(
            [
                Column(
                    "delta_m",
                    "Δm",
                    "lower",
                    "Δm against single-task baselines, % (Maninis et al. 2019)",
                    "percent",
                )
            ]
            if any_delta_m
            else []
        ),
        *(
            [
                Column(
                    "seeds",
                    "Seeds",
                    tip="the seeds averaged in this row: its cells are the mean ± the sample standard "
                    "deviation (n − 1) over them",
                )
            ]
            if any(f.seeds for f in facts)
            else []
        ),
        Column(
            "best_epoch",
            "Best epoch",
            tip="the epoch of best.pt by the monitored metric (1-based); the metrics are the last epoch's",
            kind="epoch",
        ),
        Column("params", "Parameters", "lower", "parameters of the whole multi-task model", "params"),
        Column("latency", "Latency", "lower", "inference time per image (batch 1)", "ms"),
        Column("wall", "Wall time", "lower", "training time, validation included", "seconds"),
        Column("status", "Status"),
    ]
    rows = []
    for f, label, flat in zip(facts, labels, flats, strict=True):
        row: list[Any] = [label, *(flat.get(k, MISSING) for k in diffs)]
        for col in metric_cols:
            task, metric = col.key.split(":", 1)[1].split("/", 1)
            row.append(f.metrics.get(task) if f.primary_metrics.get(task) == metric else None)
        if any(c.key == "delta_m" for c in columns):
            row.append(f.delta_m)
        if any(c.key == "seeds" for c in columns):
            row.append(", ".join(map(str, f.seeds)) if f.seeds else None)
        row += [
            f.best_epoch + 1 if f.best_epoch >= 0 else None,
            f.params_total,
            f.latency_ms,
            f.elapsed_s,
            f.status,
        ]
        rows.append(row)
    return CompareTable(columns, rows, labels, facts)
