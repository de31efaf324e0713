"""Typed experiment configuration: dataclasses, TOML load/save and validation.

Every field carries its limits, choices, label and help text as dataclass field metadata
(``setting(...)``), declared once and read both by validation here and by the GUI's forms
(``field_meta``). Every field is checked on load; an error names the field by its dotted
path and says what is allowed. Unknown keys are errors, so a typo never silently falls back
to a default. Non-finite numbers (nan, inf) are refused everywhere. Kind-specific option
tables (``tasks.options``, ``weighting.params``) are dataclasses of their task kind or
weighting method, declared and checked the same way (see ``validate_fields``).

This module imports nothing else of the project. The checks that need the registries
(backbones, task kinds, weightings, data sources) live in ``workbench.experiment_check``.
"""

from __future__ import annotations

import dataclasses
import functools
import math
import re
import types
import typing
from dataclasses import dataclass, field
from pathlib import Path, PurePath
from typing import Any

import tomli_w
import tomllib

from workbench.shell_command import workbench_command

# Bounds shared by several fields.
SEED_MAX = 2**32 - 1  # what numpy and torch generators accept as a plain seed
NAME_MAX = 100  # characters of an experiment name (it becomes a folder name)
NAME_PATTERN = re.compile(r"[A-Za-z0-9][A-Za-z0-9._+-]*")  # used with fullmatch (a "$" lets "\n" in)
TASK_NAME_PATTERN = re.compile(r"[A-Za-z0-9_-]{1,40}")


class ConfigError(ValueError):
    """A configuration value is wrong; ``path`` is the dotted field name."""

    def __init__(self, path: str, message: str) -> None:
        self.path = path
        self.message = message
        super().__init__(f"{path}: {message}" if path else message)

    def in_file(self, file: str | Path) -> ConfigError:
        """The same error naming the file it came from ("tasks: unknown key (in exp.toml)"),
        unless its message names it already."""
        if str(file) in str(self):
            return self
        return ConfigError(self.path, f"{self.message} (in {file})")


# --------------------------------------------------------------------------- metadata


@dataclass(frozen=True)
class FieldMeta:
    """What a form and the validation need to know of one field.

    ``ge``/``le`` are inclusive bounds, ``gt``/``lt`` exclusive ones; ``choices`` a fixed
    list of allowed values; ``special`` values allowed outside the bounds (e.g. -1 for
    "full sharing depth"), each with its meaning.
    """

    label: str = ""
    help: str = ""
    unit: str = ""
    ge: float | None = None
    le: float | None = None
    gt: float | None = None
    lt: float | None = None
    choices: tuple[Any, ...] = ()
    special: tuple[tuple[Any, str], ...] = ()
    is_path: bool = False  # a file or folder: made absolute when a run starts, picked with a dialog
    path_kind: str = ""  # "file" or "folder" when only one of them will do (checked before a run)


def setting(default: Any = dataclasses.MISSING, label: str = "", help: str = "", **limits: Any) -> Any:
    """A dataclass field with ``FieldMeta``: ``x: int = setting(3, "X", "what x is", ge=0, le=9)``."""
    meta = FieldMeta(label=label, help=help, **limits)
    if isinstance(default, (list, dict)):
        value = default
        return field(default_factory=lambda: type(value)(value), metadata={"workbench": meta})
    return field(default=default, metadata={"workbench": meta})


def field_meta(cls: type, name: str) -> FieldMeta:
    """The ``FieldMeta`` of field ``name`` of dataclass ``cls`` (an empty one when undeclared)."""
    for f in dataclasses.fields(cls):
        if f.name == name:
            return f.metadata.get("workbench") or FieldMeta(label=_pretty(name))
    raise KeyError(f"{cls.__name__} has no field {name!r}")


@functools.cache
def _type_hints(cls: type) -> dict[str, Any]:
    """``typing.get_type_hints``, evaluated once per class: the setup asks for each field's
    metadata while it builds its forms, and each evaluation took half a millisecond.
    Callers must not change the dict."""
    return typing.get_type_hints(cls)


def path_meta(path: str) -> FieldMeta | None:
    """The ``FieldMeta`` of a dotted path of ``ExperimentConfig`` ("optim.gamma",
    "train.seed", "name"); None when the path names no declared dataclass field."""
    cls: Any = ExperimentConfig
    *head, last = path.split(".")
    try:
        for part in head:
            cls = _type_hints(cls)[part]
        if not dataclasses.is_dataclass(cls):
            return None
        return field_meta(cls, last)
    except (KeyError, TypeError, AttributeError):
        return None


def _pretty(name: str) -> str:
    return name.replace("_", " ")


def format_bound(value: float) -> str:
    """Bounds as people write them: 4294967295, 1000000, 0.5, 1e-06 (validation's messages
    and the forms' refusals write them alike)."""
    if float(value).is_integer() and abs(value) < 1e16:
        return str(int(value))
    return f"{value:g}"


def _describe_bounds(m: FieldMeta) -> str:
    if m.ge is not None and m.le is not None:
        return f"between {format_bound(m.ge)} and {format_bound(m.le)}"
    parts = []
    if m.ge is not None:
        parts.append(f">= {format_bound(m.ge)}")
    if m.gt is not None:
        parts.append(f"> {format_bound(m.gt)}")
    if m.le is not None:
        parts.append(f"<= {format_bound(m.le)}")
    if m.lt is not None:
        parts.append(f"< {format_bound(m.lt)}")
    return " and ".join(parts)


def check_value(path: str, value: Any, meta: FieldMeta) -> None:
    """Check one value against its metadata; raises ConfigError naming ``path``."""
    for special, _meaning in meta.special:
        if value == special and type(value) is type(special):
            return
    if isinstance(value, float) and not math.isfinite(value):
        raise ConfigError(path, f"must be a finite number, got {value}")
    if meta.choices and value not in meta.choices:
        raise ConfigError(
            path, f"{value!r} is not allowed; choose one of: {', '.join(map(str, meta.choices))}"
        )
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        bad = (
            (meta.ge is not None and value < meta.ge)
            or (meta.gt is not None and value <= meta.gt)
            or (meta.le is not None and value > meta.le)
            or (meta.lt is not None and value >= meta.lt)
        )
        if bad:
            allowed = _describe_bounds(meta)
            extra = "".join(f" (or {s} = {meaning})" for s, meaning in meta.special)
            raise ConfigError(path, f"must be {allowed}{extra}, got {value}")


def validate_fields(obj: Any, path: str = "") -> None:
    """Check every field of dataclass ``obj`` (recursively) against its declared metadata.

    Types are checked too, so a config built in code (the GUI) gets the same errors as
    one read from TOML. Raises ConfigError naming the first bad field.
    """
    hints = _type_hints(type(obj))
    for f in dataclasses.fields(obj):
        where = f"{path}.{f.name}" if path else f.name
        value = getattr(obj, f.name)
        tp = hints[f.name]
        if dataclasses.is_dataclass(tp):
            validate_fields(value, where)
            continue
        if typing.get_origin(tp) is list:
            (item_tp,) = typing.get_args(tp)
            if dataclasses.is_dataclass(item_tp):
                for i, item in enumerate(value):
                    validate_fields(item, f"{where}[{i}]")
            continue
        if tp in (int, float, str, bool):
            _coerce(value, tp, where)
        meta = f.metadata.get("workbench")
        if meta is not None:
            check_value(where, value, meta)


# --------------------------------------------------------------------------- the types


@dataclass
class SourceConfig:
    """One entry of ``[[data.sources]]``: a source, its path and options, and the tasks it
    feeds (partial labels: its images count only for those tasks)."""

    source: str = setting(
        "", "Data source", "coco, voc, yolo, folder, shapes or auto (detected from the path)."
    )
    path: str = setting("", "Path", "The annotation file or the data set's folder.")
    options: dict[str, Any] = field(default_factory=dict)
    tasks: list[str] = setting(
        [], "Tasks", "Names of the tasks this source labels (each source names at least one)."
    )


@dataclass
class DataConfig:
    """``source``/``path``/``options`` name one source; ``[[data.sources]]`` combines
    several instead (then leave the three out)."""

    source: str = setting(
        "shapes", "Data source", "coco, voc, yolo, folder, shapes or auto (detected from the path)."
    )
    path: str = setting("", "Path", "The annotation file or the data set's folder (not for shapes).")
    options: dict[str, Any] = field(default_factory=dict)
    sources: list[SourceConfig] = field(default_factory=list)

    def source_list(self) -> list[SourceConfig]:
        """The sources this data config reads: ``sources``, or the one named by
        ``source``/``path``/``options`` (feeding every task)."""
        if self.sources:
            return list(self.sources)
        return [SourceConfig(self.source, self.path, self.options, [])]


@dataclass
class ModelConfig:
    backbone: str = setting("small_cnn", "Backbone", "The network whose stages the tasks share.")
    input_size: int = setting(
        0,
        "Input size",
        "Side of the images the model sees.",
        unit="px",
        ge=32,
        le=1024,
        special=((0, "the data's image size"),),
    )
    pretrained: str = setting(
        "none",
        "Pretrained",
        "Initial backbone weights: none (random), ImageNet from torchvision's "
        "cache (never downloaded), or a weights file.",
        choices=("none", "imagenet", "file"),
    )
    weights_file: str = setting("", "Weights file", "A .pth state dict, loaded with weights_only=True.")
    sharing_depth: int = setting(
        -1,
        "Sharing depth",
        "Backbone stages shared by all tasks: 0 = independent networks, "
        "the number of stages = hard parameter sharing.",
        ge=0,
        special=((-1, "share every stage"),),
    )
    dropout: float = setting(0.0, "Dropout", "Dropout before each task's output layer.", ge=0.0, le=0.9)
    channels_last: bool = setting(
        True, "Channels-last memory", "NHWC tensors: faster convolutions on most devices."
    )


@dataclass
class TaskConfig:
    name: str = setting("", "Task name", "A short word naming the task (ASCII letters, digits, _ or -).")
    kind: str = setting("", "Task kind", "What the task learns: classification, detection, ...")
    loss_weight: float = setting(
        1.0, "Loss weight", "The task's weight under the 'static' weighting.", ge=0.0, le=1000.0
    )
    options: dict[str, Any] = field(default_factory=dict)


@dataclass
class WeightingConfig:
    method: str = setting("equal_sum", "Weighting", "How the task losses are combined.")
    params: dict[str, Any] = field(default_factory=dict)
    conflict_every: int = setting(
        20,
        "Measure conflict every",
        "Steps between measurements of task conflict on the shared parameters (gradient cosines and "
        "norm ratios); 0 disables. Free on the steps a gradient method computes per-task gradients.",
        unit="steps",
        ge=0,
        le=1_000_000,
    )
    lookahead_affinity: bool = setting(
        False,
        "Lookahead task affinity",
        "At each conflict measurement, also measure how a step along one task's gradient on the shared "
        "layers changes every task's loss (TAG, Fifty et al. 2021). Costs one forward pass per task.",
    )


@dataclass
class OptimConfig:
    optimizer: str = setting(
        "adamw",
        "Optimiser",
        "AdamW (decoupled weight decay), Adam, or SGD with Nesterov momentum.",
        choices=("adamw", "adam", "sgd"),
    )
    lr: float = setting(2e-3, "Learning rate", "Peak learning rate after warm-up.", gt=0.0, le=10.0)
    weight_decay: float = setting(
        1e-4, "Weight decay", "On conv and linear weights only (decoupled for AdamW).", ge=0.0, le=1.0
    )
    momentum: float = setting(0.9, "Momentum", "SGD momentum (Nesterov when > 0).", ge=0.0, lt=1.0)
    schedule: str = setting(
        "cosine",
        "Schedule",
        "Learning rate after warm-up: constant, cosine decay to 0, or step decay.",
        choices=("constant", "cosine", "step"),
    )
    warmup_steps: int = setting(
        50, "Warm-up", "Linear ramp from 0 to the learning rate, in steps.", ge=0, le=1_000_000
    )
    step_size: int = setting(
        10, "Step size", "Epochs between decays of the 'step' schedule.", unit="epochs", ge=1, le=10_000
    )
    gamma: float = setting(
        0.1,
        "Gamma",
        "Decay factor of each 'step' decay (the learning rate is multiplied by it).",
        gt=0.0,
        le=1.0,
    )
    grad_clip: float = setting(
        0.0,
        "Grad clip",
        "Gradient clipping: the largest global gradient norm; 0 disables clipping.",
        ge=0.0,
        le=1e6,
    )


@dataclass
class TrainConfig:
    epochs: int = setting(5, "Epochs", "Passes over the training set.", ge=1, le=10_000)
    batch_size: int = setting(32, "Batch size", "Images per optimiser step.", ge=1, le=4096)
    device: str = setting("auto", "Device", "auto, cpu, cuda, cuda:N or mps.")
    amp: bool = setting(True, "Mixed precision", "Autocast on CUDA (bfloat16 where supported, else float16).")
    amp_dtype: str = setting(
        "auto",
        "Precision",
        "auto: bfloat16 where the GPU supports it, else float16; float16 always scales the loss (GradScaler).",
        choices=("auto", "bfloat16", "float16"),
    )
    seed: int = setting(
        0,
        "Seed",
        "Seed of the initial weights, the sample order and the augmentation of image files.",
        ge=0,
        le=SEED_MAX,
    )
    workers: int = setting(
        0, "Loader workers", "DataLoader processes; 0 makes batches in the training thread.", ge=0, le=64
    )
    early_stopping_metric: str = setting(
        "",
        "Early stopping",
        "'task/metric' to stop on and pick the best epoch by; empty: the "
        "first task's primary metric, no early stop.",
    )
    patience: int = setting(
        5, "Patience", "Epochs without improvement before early stopping.", unit="epochs", ge=1, le=10_000
    )
    time_limit_s: float = setting(
        0.0,
        "Time limit",
        "Stop cleanly after this much training time, counted over all of the run's training "
        "(resume --time-limit gives more; in a sweep or for baselines it is each run's budget); 0 disables.",
        unit="s",
        ge=0.0,
        le=30 * 24 * 3600.0,
    )
    num_samples: int = setting(
        16, "Sample images", "Validation images saved with predictions every epoch.", ge=0, le=256
    )
    threads: int = setting(
        0, "CPU threads", "torch intra-op threads; 0 keeps torch's default.", ge=0, le=1024
    )


@dataclass
class ExperimentConfig:
    name: str = setting(
        "experiment",
        "Experiment",
        f"Names the run folder: ASCII letters, digits, '.', '_', '+' or '-', at most {NAME_MAX} characters.",
    )
    data: DataConfig = field(default_factory=DataConfig)
    model: ModelConfig = field(default_factory=ModelConfig)
    tasks: list[TaskConfig] = field(default_factory=list)
    weighting: WeightingConfig = field(default_factory=WeightingConfig)
    optim: OptimConfig = field(default_factory=OptimConfig)
    train: TrainConfig = field(default_factory=TrainConfig)


def default_experiment() -> ExperimentConfig:
    """The built-in experiment: scene class + detection + segmentation on shapes, 128 px."""
    # Narrow dense heads (32 channels at stride 4) keep the step fast on a CPU: the
    # shared trunk gets more steps in the same minutes, which the scene task needs most.
    return ExperimentConfig(
        name="shapes-cls-det-seg",
        tasks=[
            TaskConfig(name="scene", kind="classification"),
            TaskConfig(name="objects", kind="detection", options={"head_width": 32}),
            TaskConfig(name="masks", kind="segmentation", options={"head_width": 32}),
        ],
        train=TrainConfig(epochs=9),
    )


_SECTION_LABELS = {
    "data": "Data",
    "sources": "Source",
    "model": "Model",
    "tasks": "Task",
    "weighting": "Weighting",
    "optim": "Optimiser",
    "train": "Training",
    "options": "option",
    "params": "parameter",
}


def field_label(path: str) -> str:
    """A human label for a config path, for forms and messages.

    ``"optim.lr"`` -> ``"Learning rate"``, ``"tasks[2].name"`` -> ``"Task 3: Task name"``,
    ``"tasks[0].options.hidden"`` -> ``"Task 1: option 'hidden'"``. Unknown paths come back
    prettified rather than raising.
    """
    if not path:
        return ""
    cls: Any = ExperimentConfig
    prefix = ""
    parts = path.split(".")
    label = _pretty(parts[-1])
    for i, part in enumerate(parts):
        m = re.fullmatch(r"(\w+)\[(\d+)\]", part)
        name, index = (m.group(1), int(m.group(2))) if m else (part, None)
        if index is not None:
            prefix = f"{_SECTION_LABELS.get(name, _pretty(name))} {index + 1}: "
        if cls is None:
            return f"{prefix}{_SECTION_LABELS.get(parts[i - 1], '')} {name!r}".strip()
        try:
            meta = field_meta(cls, name)
        except KeyError:
            return prefix + _pretty(name)
        label = meta.label or _pretty(name)
        tp = _type_hints(cls)[name]
        if typing.get_origin(tp) is list:
            tp = typing.get_args(tp)[0]
        cls = tp if dataclasses.is_dataclass(tp) else None
    return prefix + label


# ----------------------------------------------------------------------------- parsing


def _coerce(value: Any, tp: Any, path: str) -> Any:
    """Check ``value`` against the annotation ``tp``; build nested dataclasses."""
    origin = typing.get_origin(tp)
    if dataclasses.is_dataclass(tp):
        if not isinstance(value, dict):
            raise ConfigError(path, f"expected a table, got {type(value).__name__}")
        return from_dict(tp, value, path)
    if origin is list:
        (item_tp,) = typing.get_args(tp)
        if not isinstance(value, list):
            raise ConfigError(path, f"expected a list, got {type(value).__name__}")
        return [_coerce(v, item_tp, f"{path}[{i}]") for i, v in enumerate(value)]
    if origin is dict:
        if not isinstance(value, dict):
            raise ConfigError(path, f"expected a table, got {type(value).__name__}")
        return dict(value)
    if origin in (typing.Union, types.UnionType):
        return value
    if tp is bool:
        if not isinstance(value, bool):
            raise ConfigError(path, f"expected true or false, got {value!r}")
        return value
    if tp is int:
        if isinstance(value, bool) or not isinstance(value, int):
            raise ConfigError(path, f"expected an integer, got {value!r}")
        return value
    if tp is float:
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise ConfigError(path, f"expected a number, got {value!r}")
        if not math.isfinite(value):
            raise ConfigError(path, f"must be a finite number, got {value}")
        return float(value)
    if tp is str:
        if not isinstance(value, str):
            raise ConfigError(path, f"expected a string, got {value!r}")
        if "\x00" in value:
            raise ConfigError(path, "must not contain a NUL character")
        return value
    return value


def from_dict(cls: type, data: dict[str, Any], path: str = "") -> Any:
    """Build dataclass ``cls`` from a plain dict, refusing unknown keys and checking metadata."""
    hints = _type_hints(cls)
    names = [f.name for f in dataclasses.fields(cls)]
    unknown = [k for k in data if k not in names]
    if unknown:
        where = f"{path}.{unknown[0]}" if path else unknown[0]
        allowed = f"allowed keys here: {', '.join(names)}" if names else "no keys are allowed here"
        raise ConfigError(where, f"unknown key; {allowed}")
    kwargs = {}
    for name in names:
        if name in data:
            kwargs[name] = _coerce(data[name], hints[name], f"{path}.{name}" if path else name)
    return cls(**kwargs)


def to_dict(cfg: Any) -> dict[str, Any]:
    return dataclasses.asdict(cfg)


MAX_CONFIG_BYTES = 4 * 2**20  # an experiment is a few kB; /dev/zero would never end


def load_config(path: str | Path) -> ExperimentConfig:
    """Read and validate an experiment TOML file (a regular file or a pipe, at most
    ``MAX_CONFIG_BYTES``).

    Raises:
        ConfigError: the file cannot be read, is not UTF-8 or TOML (the message names the
            file), or a value is wrong (``path`` names the field).
    """
    from workbench.fsutil import SmallFileError, read_small_file

    path = Path(path)
    try:
        raw = read_small_file(path, MAX_CONFIG_BYTES)
    except SmallFileError as exc:
        raise ConfigError("", f"cannot read config file {exc}") from exc
    except OSError as exc:
        raise ConfigError("", f"cannot read config file {path}: {exc.strerror or exc}") from exc
    try:
        text = raw.decode("utf-8-sig")  # a byte-order mark, as some editors write, is fine
    except UnicodeDecodeError as exc:
        raise ConfigError("", f"{path} is not UTF-8 text (byte {exc.start}); save it as UTF-8") from exc
    data = _parse_toml(text, str(path))
    if "base" in data and "tasks" not in data:  # what a sweep file holds: the experiment it varies
        raise ConfigError(
            "",
            f"{path} is a sweep file (it has 'base'), not an experiment; run it with: "
            + workbench_command("sweep", PurePath(path)),
        )
    cfg = from_dict(ExperimentConfig, upgrade_legacy(data))
    validate_config(cfg)
    return cfg


def upgrade_legacy(data: dict[str, Any]) -> dict[str, Any]:
    """Configs written before data sources owned their options kept the shapes options in
    ``[data.shapes]``; they now live in ``[data.options]``. Old run folders and checkpoints
    stay readable: the table is moved (a config with both is refused)."""
    section = data.get("data")
    if isinstance(section, dict) and "shapes" in section:
        if "options" in section:
            raise ConfigError("data.shapes", "give the source's options in [data.options] only")
        section = dict(section)
        section["options"] = section.pop("shapes")
        data = {**data, "data": section}
    return data


def _parse_toml(text: str, where: str) -> dict[str, Any]:
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError("", f"{where} is not valid TOML: {exc}") from exc
    except RecursionError:
        raise ConfigError("", f"{where} nests arrays or tables too deeply to be an experiment") from None


def config_from_toml_text(text: str) -> ExperimentConfig:
    data = _parse_toml(text.removeprefix("\ufeff"), "the text")
    cfg = from_dict(ExperimentConfig, upgrade_legacy(data))
    validate_config(cfg)
    return cfg


def config_to_toml(cfg: ExperimentConfig) -> str:
    return tomli_w.dumps(to_dict(cfg))


# -------------------------------------------------------------------------- validation


def _choice(path: str, value: str, allowed: list[str]) -> None:
    if value not in allowed:
        raise ConfigError(path, f"{value!r} is not allowed; choose one of: {', '.join(allowed)}")


def validate_device(path: str, device: str) -> None:
    if device in ("auto", "cpu", "cuda", "mps"):
        return
    if device.startswith("cuda:") and device[5:].isdigit() and len(device) <= 9:
        return
    raise ConfigError(path, f"{device!r} is not allowed; use auto, cpu, cuda, cuda:N or mps")


def validate_name(path: str, name: str) -> None:
    """An experiment name becomes a folder name: a safe, portable file name or an error."""
    if not name.strip():
        raise ConfigError(path, "must not be empty")
    if len(name) > NAME_MAX:
        raise ConfigError(path, f"must be at most {NAME_MAX} characters, got {len(name)}")
    if not NAME_PATTERN.fullmatch(name):
        bad = next((c for c in name if not (c.isascii() and (c.isalnum() or c in "._+-"))), None)
        why = (
            f"{bad!r} is not allowed"
            if bad is not None
            else f"it starts with {name[0]!r}; the first character must be an ASCII letter or digit"
        )
        raise ConfigError(
            path,
            f"{name!r} cannot name a run folder ({why}); use ASCII letters, digits, "
            "'.', '_', '+' or '-', starting with a letter or digit",
        )


def validate_config(cfg: ExperimentConfig) -> None:
    """Check every field against its declared limits and the rules that need nothing but
    the config itself (names, unique task names). What needs the registries (a backbone's
    stages, a task kind's options, a source's options) is checked where the experiment is
    built: ``workbench.experiment_check.validate_experiment``. Raises ConfigError."""
    validate_fields(cfg)
    validate_name("name", cfg.name)
    validate_device("train.device", cfg.train.device)
    if cfg.model.pretrained == "file" and not cfg.model.weights_file:
        raise ConfigError("model.weights_file", "required when model.pretrained = 'file'")
    if not cfg.tasks:
        raise ConfigError("tasks", "at least one task is required")
    seen: list[str] = []
    for i, t in enumerate(cfg.tasks):
        where = f"tasks[{i}]"
        if not TASK_NAME_PATTERN.fullmatch(t.name):
            raise ConfigError(
                f"{where}.name", f"{t.name!r} must be a word of 1-40 ASCII letters, digits, _ or -"
            )
        if t.name in seen:
            raise ConfigError(f"{where}.name", f"duplicate task name {t.name!r}")
        seen.append(t.name)
