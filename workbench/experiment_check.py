"""The checks of an experiment that need the registries, where the experiment is built.

``workbench.config`` holds the types and the per-field limits and imports nothing else of
the project; this module adds what depends on the extension points: the backbone exists
and has that many stages, each task kind accepts its options, the weighting its
parameters, each data source its options and the tasks it feeds, and the early-stopping
metric names a real metric. Every error is a ``ConfigError`` naming the dotted field.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

from workbench.config import (
    ConfigError,
    DataConfig,
    ExperimentConfig,
    SourceConfig,
    config_to_toml,
    validate_config,
)
from workbench.config import (
    config_from_toml_text as _parse_text,
)
from workbench.config import (
    load_config as _read,
)
from workbench.data import DATASETS
from workbench.models.backbones import BACKBONES
from workbench.tasks import TASK_KINDS
from workbench.weighting import GRADIENT_METHODS, WEIGHTINGS


def _choice(path: str, value: str, allowed: list[str]) -> None:
    if value not in allowed:
        raise ConfigError(path, f"{value!r} is not allowed; choose one of: {', '.join(allowed)}")


def check_method_imports(cfg: ExperimentConfig) -> None:
    """ConfigError when the weighting method's optional solver is installed but cannot be
    imported (a damaged install). Imports it (cvxpy takes a second), so it is not part of
    ``validate_experiment``, which the setup runs on every edit; the commands call it before
    any run folder exists."""
    spec = GRADIENT_METHODS.get(cfg.weighting.method)
    if spec is not None and not spec.missing() and (broken := spec.broken()):
        raise ConfigError("weighting.method", broken)


def validate_experiment(cfg: ExperimentConfig) -> None:
    """Every field against its limits, then the rules across fields and registries.

    Raises ConfigError naming the first bad field."""
    validate_config(cfg)
    _refuse_control_characters("model.weights_file", cfg.model.weights_file)
    _validate_data(cfg)
    m = cfg.model
    _choice("model.backbone", m.backbone, BACKBONES.names())
    if m.pretrained == "imagenet" and not BACKBONES.get(m.backbone).torchvision_name:
        raise ConfigError(
            "model.pretrained",
            f"{m.backbone} has no ImageNet weights; use 'none', or 'file' with a weights file",
        )
    stages = BACKBONES.get(m.backbone).num_stages
    if m.sharing_depth > stages:
        raise ConfigError(
            "model.sharing_depth",
            f"must be between 0 and {stages} (the stages of {m.backbone}) or -1 for all, got {m.sharing_depth}",
        )
    for i, t in enumerate(cfg.tasks):
        _choice(f"tasks[{i}].kind", t.kind, TASK_KINDS.names())
        TASK_KINDS.get(t.kind).parse_options(t.options, f"tasks[{i}].options")
    _choice("weighting.method", cfg.weighting.method, WEIGHTINGS.names())
    WEIGHTINGS.get(cfg.weighting.method).parse_params(cfg.weighting.params, "weighting.params")
    spec = GRADIENT_METHODS.get(cfg.weighting.method)
    if spec is not None and spec.missing():
        raise ConfigError(
            "weighting.method",
            f"{spec.name} needs {', '.join(spec.missing())}, which is not installed: {spec.install_hint()}",
        )
    if cfg.weighting.method == "static" and cfg.tasks and not any(t.loss_weight > 0 for t in cfg.tasks):
        # the loss would be 0 at every step: nothing trains, and the run would "finish"
        raise ConfigError(
            "tasks[0].loss_weight",
            "every task's loss weight is 0 under the 'static' weighting, so nothing would train; "
            "give at least one task a weight above 0",
        )
    if cfg.weighting.lookahead_affinity and not cfg.weighting.conflict_every:
        raise ConfigError(
            "weighting.lookahead_affinity",
            "is measured at the conflict measurements; set weighting.conflict_every above 0",
        )
    _validate_early_stopping(cfg)
    o = cfg.optim
    if o.optimizer in ("adamw", "sgd") and o.lr * o.weight_decay >= 1:
        # the decay step multiplies every decayed weight by 1 - lr * wd: at 0 or below the
        # weights flip sign or vanish each step (lr 10, wd 1: x -9), which no clipping bounds
        raise ConfigError(
            "optim.weight_decay",
            f"with optim.lr = {o.lr:g} each {o.optimizer} step multiplies the weights by 1 - lr * "
            f"weight_decay = {1 - o.lr * o.weight_decay:g}, so they blow up or vanish; keep lr * "
            "weight_decay below 1 (e.g. a smaller optim.lr)",
        )


def _validate_data(cfg: ExperimentConfig) -> None:
    d = cfg.data
    task_names = [t.name for t in cfg.tasks]
    if d.sources and (d.path or d.options or d.source != DataConfig().source):
        raise ConfigError(
            "data.source", "with [[data.sources]], give source, path and options in each entry only"
        )
    fed: dict[str, int] = {}
    for i, src in enumerate(d.source_list()):
        where = f"data.sources[{i}]" if d.sources else "data"
        _choice(f"{where}.source", src.source, DATASETS.names())
        spec = DATASETS.get(src.source)
        if spec.needs_path and not src.path.strip():
            raise ConfigError(f"{where}.path", f"the {src.source} source needs the path of the data set")
        if not spec.needs_path and src.path:
            raise ConfigError(f"{where}.path", f"the {src.source} source reads no path; leave it empty")
        spec.parse_options(src.options, f"{where}.options")
        _refuse_control_characters(f"{where}.path", src.path)
        for f in dataclasses.fields(spec.Options):
            meta = f.metadata.get("workbench")
            if meta is not None and meta.is_path and isinstance(src.options.get(f.name), str):
                _refuse_control_characters(f"{where}.options.{f.name}", src.options[f.name])
        for name in src.tasks:
            if name not in task_names:
                raise ConfigError(
                    f"{where}.tasks", f"{name!r} is not a task of this experiment ({', '.join(task_names)})"
                )
            fed[name] = fed.get(name, 0) + 1
    if d.sources:
        # tasks read targets by kind (scene_class, boxes, ...): two sources cannot feed one kind
        # (several sources may feed the same tasks, e.g. two detection sets with one class list)
        kinds = {t.name: t.kind for t in cfg.tasks}
        readers: dict[str, tuple[int, set[str]]] = {}
        for src_i, src in enumerate(d.sources):
            by_key: dict[str, set[str]] = {}
            for name in src.tasks:
                if kinds.get(name) in TASK_KINDS:
                    by_key.setdefault(TASK_KINDS.get(kinds[name]).target_key, set()).add(name)
            for key, names in by_key.items():
                first = readers.setdefault(key, (src_i, names))
                if first[1] != names:
                    raise ConfigError(
                        f"data.sources[{src_i}].tasks",
                        f"{', '.join(sorted(names))} here and {', '.join(sorted(first[1]))} of "
                        f"data.sources[{first[0]}] both read '{key}' targets: tasks that read the same "
                        "targets must be fed by the same sources",
                    )
        _refuse_a_set_read_twice(d.sources)
        _refuse_different_sizes(d.sources, cfg.model.input_size)
        for src_i, src in enumerate(d.sources):
            if not src.tasks:
                raise ConfigError(
                    f"data.sources[{src_i}].tasks",
                    'name the tasks this source labels, e.g. tasks = ["objects"]',
                )
        missing = [n for n in task_names if n not in fed]
        if missing:
            raise ConfigError(
                "data.sources", f"no source labels task {missing[0]!r}; add it to a source's tasks"
            )


_CONTROL_NAMES = {"\t": "a tab (\\t)", "\n": "a line break (\\n)", "\r": "a carriage return (\\r)"}


def _refuse_control_characters(field: str, path: str) -> None:
    """A path holding a control character: in a double-quoted TOML string a Windows
    backslash starts an escape ("images\\train" reads as images, a tab, "rain"), and the
    path would be missing later with the tab inside it. ConfigError naming the field."""
    for ch in path:
        if ord(ch) < 32 or ord(ch) == 127:
            what = _CONTROL_NAMES.get(ch, f"the control character {ch!r}")
            raise ConfigError(
                field,
                f"{path!r} holds {what}: in double quotes TOML reads a backslash as an escape; write the "
                "path with / or in single quotes ('C:\\data\\train')",
            )


def _refuse_a_set_read_twice(sources: list[SourceConfig]) -> None:
    """Two sources reading one path: every image counted twice, and with another split seed
    a training image of one is a validation image of the other (metrics on training images,
    without a word). ConfigError naming both entries."""
    import os

    seen: dict[str, int] = {}
    for i, src in enumerate(sources):
        if not src.path.strip():
            continue
        where = os.path.realpath(os.path.expanduser(src.path.strip()))
        # an annotation file and the folder holding it are one set (coco on the folder finds
        # its instances.json; yolo on the folder its data.yaml)
        parent = os.path.dirname(where) if os.path.isfile(where) else None
        if where not in seen and parent is not None and parent in seen:
            where = parent
        elif where not in seen and os.path.isdir(where):
            inside = [p for p in seen if os.path.isfile(p) and os.path.dirname(p) == where]
            where = inside[0] if inside else where
        if where in seen:
            raise ConfigError(
                f"data.sources[{i}].path",
                f"{src.path} is read by data.sources[{seen[where]}] already: its images would count twice, "
                "and with another split a training image of one would be a validation image of the other; "
                "name all the tasks it labels in one source",
            )
        seen[where] = i


def _refuse_different_sizes(sources: list[SourceConfig], input_size: int) -> None:
    """Sources whose ``image_size`` options differ, without ``model.input_size`` to fit them
    to one size: refused here (the setup's banner says it) rather than when the data is
    built (Start was enabled, then refused)."""
    if input_size:
        return
    sizes: dict[int, int] = {}
    for i, src in enumerate(sources):
        options = DATASETS.get(src.source).parse_options(src.options, f"data.sources[{i}].options")
        size = getattr(options, "image_size", None)
        if isinstance(size, int) and size > 0:
            sizes.setdefault(size, i)
    if len(sizes) > 1:
        (a, i), (b, j) = sorted(sizes.items(), key=lambda kv: kv[1])[:2]
        raise ConfigError(
            f"data.sources[{j}].options.image_size",
            f"{b} px, but data.sources[{i}] fits its images to {a} px: give every source one image_size, "
            "or set model.input_size",
        )


def _validate_early_stopping(cfg: ExperimentConfig) -> None:
    metric_path = cfg.train.early_stopping_metric
    if not metric_path:
        return
    names = [t.name for t in cfg.tasks]
    task, slash, metric = metric_path.partition("/")
    if not slash or not metric:
        raise ConfigError(
            "train.early_stopping_metric",
            f"{metric_path!r} must be 'task/metric', e.g. '{_example_task(cfg, task)}/"
            f"{_first_metric(cfg, task)}'",
        )
    if task not in names:
        raise ConfigError(
            "train.early_stopping_metric",
            f"{metric_path!r} must be 'task/metric' with a task among: {', '.join(names)}",
        )
    kind = TASK_KINDS.get(next(t.kind for t in cfg.tasks if t.name == task))
    if metric not in kind.metric_names:
        raise ConfigError(
            "train.early_stopping_metric",
            f"task {task!r} ({kind.kind}) has no metric {metric!r}; choose one of: "
            + ", ".join(kind.metric_names),
        )


def _example_task(cfg: ExperimentConfig, task: str) -> str:
    """The task named in a message's example: ``task`` when the config has it, else the
    first task (so that the example's metric is that task's: 'cnt/' suggested 'scene/mae')."""
    names = [t.name for t in cfg.tasks]
    return task if task in names else names[0] if names else "scene"


def _first_metric(cfg: ExperimentConfig, task: str) -> str:
    """The primary metric of ``task`` (or of the first task) for an example in a message."""
    chosen = next((t for t in cfg.tasks if t.name == task), cfg.tasks[0] if cfg.tasks else None)
    if chosen is None or chosen.kind not in TASK_KINDS:
        return "accuracy"
    return TASK_KINDS.get(chosen.kind).primary_metric


def field_label(path: str, source: str = "") -> str:
    """``config.field_label`` that also knows a data source's options:
    ``"data.options.min_objects"`` -> ``"Fewest objects"`` (the option's declared label,
    for ``source``; ``data.sources[i].options.x`` likewise)."""
    import re

    from workbench.config import field_label as plain_label
    from workbench.config import field_meta

    source = source or DataConfig().source
    m = re.fullmatch(r"data(?:\.sources\[(\d+)\])?\.options\.(\w+)", path)
    if m and source in DATASETS:
        prefix = f"Source {int(m.group(1)) + 1}: " if m.group(1) is not None else ""
        try:
            meta = field_meta(DATASETS.get(source).Options, m.group(2))
        except KeyError:
            return plain_label(path)
        return prefix + (meta.label or m.group(2).replace("_", " "))
    return plain_label(path)


def load_config(path: str | Path) -> ExperimentConfig:
    """Read an experiment TOML file and check it completely.

    Raises:
        ConfigError: unreadable, not UTF-8 or not TOML (naming the file), or a wrong value
            (``path`` names the field).
    """
    cfg = _read(path)
    validate_experiment(cfg)
    return cfg


def config_from_toml_text(text: str) -> ExperimentConfig:
    """An experiment from TOML text, checked completely; raises ConfigError."""
    cfg = _parse_text(text)
    validate_experiment(cfg)
    return cfg


def save_config(cfg: ExperimentConfig, path: str | Path) -> None:
    """Write ``cfg`` as TOML atomically (a crash leaves the old file or the new one)."""
    from workbench.fsutil import atomic_write_text

    atomic_write_text(Path(path), config_to_toml(cfg))
