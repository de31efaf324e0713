"""Typed experiment configuration: dataclasses, TOML load/save and validation.

Every field is checked on load; an error names the field by its dotted path and says
what is allowed. Unknown keys are errors, so a typo never silently falls back to a default.
Kind-specific option tables (``tasks.options``, ``weighting.params``) are checked by the
task kind or weighting method they belong to (see ``validate_experiment``).
"""

from __future__ import annotations

import dataclasses
import types
import typing
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import tomli_w
import tomllib


class ConfigError(ValueError):
    """A configuration value is wrong; ``path`` is the dotted field name."""

    def __init__(self, path: str, message: str) -> None:
        self.path = path
        self.message = message
        super().__init__(f"{path}: {message}" if path else message)


@dataclass
class ShapesOptions:
    """Knobs of the built-in synthetic "shapes" scenes."""

    image_size: int = 128
    num_classes: int = 4
    min_objects: int = 1
    max_objects: int = 4
    min_size: float = 0.12
    max_size: float = 0.40
    noise: float = 0.08
    clutter: int = 2
    train_size: int = 5000
    val_size: int = 500
    data_seed: int = 0


@dataclass
class DataConfig:
    source: str = "shapes"
    shapes: ShapesOptions = field(default_factory=ShapesOptions)


@dataclass
class ModelConfig:
    backbone: str = "small_cnn"
    input_size: int = 0  # 0: use the data's image size
    pretrained: str = "none"  # none | imagenet | file
    weights_file: str = ""
    sharing_depth: int = -1  # -1: share every stage (hard sharing)
    dropout: float = 0.0
    channels_last: bool = True


@dataclass
class TaskConfig:
    name: str = ""
    kind: str = ""
    loss_weight: float = 1.0
    options: dict[str, Any] = field(default_factory=dict)


@dataclass
class WeightingConfig:
    method: str = "equal_sum"
    params: dict[str, Any] = field(default_factory=dict)


@dataclass
class OptimConfig:
    optimizer: str = "adamw"  # adamw | adam | sgd
    lr: float = 2e-3
    weight_decay: float = 1e-4
    momentum: float = 0.9
    schedule: str = "cosine"  # constant | cosine | step
    warmup_steps: int = 50
    step_size: int = 10  # epochs between decays for "step"
    gamma: float = 0.1
    grad_clip: float = 0.0  # max global grad norm; 0 disables


@dataclass
class TrainConfig:
    epochs: int = 5
    batch_size: int = 32
    device: str = "auto"  # auto | cpu | cuda | cuda:N | mps
    amp: bool = True  # used on CUDA only
    seed: int = 0
    workers: int = 0
    early_stopping_metric: str = ""  # "task/metric"; empty disables
    patience: int = 5
    time_limit_s: float = 0.0  # stop cleanly after this many seconds; 0 disables
    num_samples: int = 16  # validation images saved with predictions each epoch
    threads: int = 0  # torch intra-op threads; 0 keeps torch's default


@dataclass
class ExperimentConfig:
    name: str = "experiment"
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


# ----------------------------------------------------------------------------- parsing


def _type_name(tp: Any) -> str:
    return getattr(tp, "__name__", str(tp))


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
        return float(value)
    if tp is str:
        if not isinstance(value, str):
            raise ConfigError(path, f"expected a string, got {value!r}")
        return value
    return value


def from_dict(cls: type, data: dict[str, Any], path: str = "") -> Any:
    """Build dataclass ``cls`` from a plain dict, refusing unknown keys."""
    hints = typing.get_type_hints(cls)
    names = [f.name for f in dataclasses.fields(cls)]
    unknown = [k for k in data if k not in names]
    if unknown:
        where = f"{path}.{unknown[0]}" if path else unknown[0]
        raise ConfigError(where, f"unknown key; allowed keys here: {', '.join(names)}")
    kwargs = {}
    for name in names:
        if name in data:
            kwargs[name] = _coerce(data[name], hints[name], f"{path}.{name}" if path else name)
    return cls(**kwargs)


def to_dict(cfg: Any) -> dict[str, Any]:
    return dataclasses.asdict(cfg)


def load_config(path: str | Path) -> ExperimentConfig:
    """Read and validate an experiment TOML file."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigError("", f"cannot read config file {path}: {exc.strerror or exc}") from exc
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError("", f"{path} is not valid TOML: {exc}") from exc
    cfg = from_dict(ExperimentConfig, data)
    validate_experiment(cfg)
    return cfg


def config_from_toml_text(text: str) -> ExperimentConfig:
    cfg = from_dict(ExperimentConfig, tomllib.loads(text))
    validate_experiment(cfg)
    return cfg


def config_to_toml(cfg: ExperimentConfig) -> str:
    return tomli_w.dumps(to_dict(cfg))


def save_config(cfg: ExperimentConfig, path: str | Path) -> None:
    from workbench.fsutil import atomic_write_text

    atomic_write_text(Path(path), config_to_toml(cfg))


# -------------------------------------------------------------------------- validation


def _choice(path: str, value: str, allowed: list[str]) -> None:
    if value not in allowed:
        raise ConfigError(path, f"{value!r} is not allowed; choose one of: {', '.join(allowed)}")


def _at_least(path: str, value: float, low: float) -> None:
    if value < low:
        raise ConfigError(path, f"must be >= {low}, got {value}")


def _in_range(path: str, value: float, low: float, high: float) -> None:
    if not low <= value <= high:
        raise ConfigError(path, f"must be between {low} and {high}, got {value}")


def validate_device(path: str, device: str) -> None:
    if device in ("auto", "cpu", "cuda", "mps"):
        return
    if device.startswith("cuda:") and device[5:].isdigit():
        return
    raise ConfigError(path, f"{device!r} is not allowed; use auto, cpu, cuda, cuda:N or mps")


def validate_experiment(cfg: ExperimentConfig) -> None:
    """Check values and cross-field rules; raises ConfigError naming the first bad field."""
    from workbench.data import DATASETS
    from workbench.models.backbones import BACKBONES
    from workbench.tasks import TASK_KINDS
    from workbench.weighting import WEIGHTINGS

    if not cfg.name.strip():
        raise ConfigError("name", "must not be empty")
    _choice("data.source", cfg.data.source, DATASETS.names())
    s = cfg.data.shapes
    _in_range("data.shapes.image_size", s.image_size, 32, 1024)
    _in_range("data.shapes.num_classes", s.num_classes, 2, 8)
    _in_range("data.shapes.min_objects", s.min_objects, 1, 20)
    _in_range("data.shapes.max_objects", s.max_objects, s.min_objects, 20)
    _in_range("data.shapes.min_size", s.min_size, 0.05, 0.9)
    _in_range("data.shapes.max_size", s.max_size, s.min_size, 0.9)
    _in_range("data.shapes.noise", s.noise, 0.0, 1.0)
    _in_range("data.shapes.clutter", s.clutter, 0, 50)
    _at_least("data.shapes.train_size", s.train_size, 1)
    _at_least("data.shapes.val_size", s.val_size, 1)

    m = cfg.model
    _choice("model.backbone", m.backbone, BACKBONES.names())
    if m.input_size:
        _in_range("model.input_size", m.input_size, 32, 1024)
    _choice("model.pretrained", m.pretrained, ["none", "imagenet", "file"])
    if m.pretrained == "file" and not m.weights_file:
        raise ConfigError("model.weights_file", "required when model.pretrained = 'file'")
    stages = BACKBONES.get(m.backbone).num_stages
    if m.sharing_depth != -1:
        _in_range("model.sharing_depth", m.sharing_depth, 0, stages)
    _in_range("model.dropout", m.dropout, 0.0, 0.9)

    if not cfg.tasks:
        raise ConfigError("tasks", "at least one task is required")
    seen: set[str] = set()
    for i, t in enumerate(cfg.tasks):
        where = f"tasks[{i}]"
        if not t.name or not t.name.replace("_", "").replace("-", "").isalnum():
            raise ConfigError(
                f"{where}.name", f"{t.name!r} must be a non-empty word (letters, digits, _ or -)"
            )
        if t.name in seen:
            raise ConfigError(f"{where}.name", f"duplicate task name {t.name!r}")
        seen.add(t.name)
        _choice(f"{where}.kind", t.kind, TASK_KINDS.names())
        _at_least(f"{where}.loss_weight", t.loss_weight, 0.0)
        TASK_KINDS.get(t.kind).parse_options(t.options, f"{where}.options")

    _choice("weighting.method", cfg.weighting.method, WEIGHTINGS.names())
    WEIGHTINGS.get(cfg.weighting.method).parse_params(cfg.weighting.params, "weighting.params")

    o = cfg.optim
    _choice("optim.optimizer", o.optimizer, ["adamw", "adam", "sgd"])
    if not o.lr > 0:
        raise ConfigError("optim.lr", f"must be > 0, got {o.lr}")
    _at_least("optim.weight_decay", o.weight_decay, 0.0)
    _in_range("optim.momentum", o.momentum, 0.0, 1.0)
    _choice("optim.schedule", o.schedule, ["constant", "cosine", "step"])
    _at_least("optim.warmup_steps", o.warmup_steps, 0)
    _at_least("optim.step_size", o.step_size, 1)
    _in_range("optim.gamma", o.gamma, 0.0, 1.0)
    _at_least("optim.grad_clip", o.grad_clip, 0.0)

    tr = cfg.train
    _at_least("train.epochs", tr.epochs, 1)
    _in_range("train.batch_size", tr.batch_size, 1, 4096)
    validate_device("train.device", tr.device)
    _at_least("train.workers", tr.workers, 0)
    _at_least("train.patience", tr.patience, 1)
    _at_least("train.time_limit_s", tr.time_limit_s, 0.0)
    _in_range("train.num_samples", tr.num_samples, 0, 256)
    _at_least("train.threads", tr.threads, 0)
    if tr.early_stopping_metric:
        task, _, metric = tr.early_stopping_metric.partition("/")
        if task not in seen:
            raise ConfigError(
                "train.early_stopping_metric",
                f"{tr.early_stopping_metric!r} must be 'task/metric' with a task among: {', '.join(seen)}",
            )
        kind = TASK_KINDS.get(next(t.kind for t in cfg.tasks if t.name == task))
        if metric not in kind.metric_names:
            raise ConfigError(
                "train.early_stopping_metric",
                f"task {task!r} ({kind.kind}) has no metric {metric!r}; choose one of: "
                + ", ".join(kind.metric_names),
            )
