"""Build the pieces of an experiment from its config: data, tasks, model, weighting, optimiser."""

from __future__ import annotations

import dataclasses
import math
import os
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Any

import torch

from workbench.config import ConfigError, ExperimentConfig
from workbench.data import DATASETS, build_dataset, source_options
from workbench.data.base import DataInfo
from workbench.data.combined import CombinedDataset
from workbench.models.multitask import MultiTaskNet
from workbench.tasks import TASK_KINDS, build_task
from workbench.tasks.base import TaskKind
from workbench.weighting import build_weighting
from workbench.weighting.base import Weighting


@dataclass
class ExperimentData:
    """One split's dataset and the class list each task learns (``task_infos[name]``)."""

    dataset: Any
    task_infos: dict[str, DataInfo]


def build_data(cfg: ExperimentConfig, split: str) -> ExperimentData:
    """The dataset of ``split`` for ``cfg``: its one source, or its ``[[data.sources]]``
    combined so that each feeds only the tasks it names (partial labels).

    Raises:
        ConfigError: a task needs targets its source does not provide, or two sources
            feeding one task have different classes.
        DataSourceError: the data cannot be read (one line naming the file).
    """
    size = cfg.model.input_size
    kinds = {t.name: TASK_KINDS.get(t.kind) for t in cfg.tasks}
    sources = cfg.data.source_list()
    if len(sources) == 1 and not sources[0].tasks:
        dataset = build_dataset(sources[0], split, size)
        infos = {t.name: dataset.info for t in cfg.tasks}
        _check_supported(cfg, infos, "data.source")
        return ExperimentData(dataset, infos)
    parts, infos, fed_by = [], {}, {}
    for i, src in enumerate(sources):
        dataset = build_dataset(src, split, size)
        keys = set()
        for name in src.tasks:
            info = dataset.info
            if name in infos and infos[name].class_names != info.class_names:
                from workbench.data.class_names import names_text

                raise ConfigError(
                    f"data.sources[{i}].tasks",
                    f"task {name!r} is fed by sources with different classes: data.sources[{fed_by[name]}] has "
                    f"{names_text(infos[name].class_names, 6)}, data.sources[{i}] has "
                    f"{names_text(info.class_names, 6)}; one class list per task",
                )
            infos[name] = info
            fed_by.setdefault(name, i)
            keys.add(kinds[name].target_key)
        _check_supported(cfg, {n: dataset.info for n in src.tasks}, f"data.sources[{i}].tasks")
        parts.append((dataset, frozenset(keys)))
    sizes = {int(d.info.image_size) for d, _ in parts}
    if len(sizes) > 1:
        raise ConfigError(
            "model.input_size",
            f"the sources fit images to different sizes ({sorted(sizes)} px); set the input size",
        )
    return ExperimentData(CombinedDataset(parts), infos)


def _check_supported(cfg: ExperimentConfig, infos: dict[str, DataInfo], where: str) -> None:
    for t in cfg.tasks:
        info = infos.get(t.name)
        kind = TASK_KINDS.get(t.kind)
        if info is not None and not kind.supported_by(info):
            provided = ", ".join(sorted(info.target_keys)) or "none"
            raise ConfigError(
                where,
                f"task {t.name!r} ({t.kind}) needs '{kind.target_key}' targets, which this data does not "
                f"provide (it provides: {provided})",
            )
        if info is not None and len(info.class_names) < kind.min_classes:
            from workbench.data.class_names import names_text

            raise ConfigError(
                where,
                f"task {t.name!r} ({t.kind}) needs at least {kind.min_classes} classes; this data has "
                f"{len(info.class_names)} ({names_text(list(info.class_names), 3)})",
            )


def _path_slots(cfg: ExperimentConfig, weights: bool = True):
    """(field, path, kind, set) for every non-empty file or folder the experiment reads:
    each data source's ``path``, its options marked ``is_path`` and (``weights``) the
    weights file when it is used. ``kind`` is "file" or "folder" when only one will do,
    else ""; ``set(new)`` writes a new path into the config's own objects."""
    if weights and cfg.model.pretrained == "file" and cfg.model.weights_file:
        yield (
            "model.weights_file",
            cfg.model.weights_file,
            "file",
            partial(setattr, cfg.model, "weights_file"),
        )
    data = cfg.data
    # the config's own objects (source_list makes a new one for a single source)
    entries = (
        [(f"data.sources[{i}]", s) for i, s in enumerate(data.sources)] if data.sources else [("data", data)]
    )
    for where, src in entries:
        if src.path:
            yield f"{where}.path", src.path, "", partial(setattr, src, "path")
        if src.source not in DATASETS or not isinstance(src.options, dict):
            continue
        for f in dataclasses.fields(DATASETS.get(src.source).Options):
            meta = f.metadata.get("workbench")
            value = src.options.get(f.name)
            if meta is not None and meta.is_path and isinstance(value, str) and value:
                yield (
                    f"{where}.options.{f.name}",
                    value,
                    meta.path_kind,
                    partial(src.options.__setitem__, f.name),
                )


def absolute_paths(cfg: ExperimentConfig, base: Path | None = None) -> list[str]:
    """Make the weights file, data paths and path options absolute (from the current
    folder, or ``base``), so that a run folder's config reads the same files wherever it is
    resumed. Returns the fields that were relative."""
    changed: list[str] = []
    for field, value, _, assign in list(_path_slots(cfg)):
        path = Path(value).expanduser()
        if not path.is_absolute():
            changed.append(field)
            path = (base / path) if base is not None else path
        try:
            assign(str(path.resolve()))
        except (
            OSError,
            RuntimeError,
        ):  # a loop of links (RuntimeError before Python 3.13): path_problem says it
            assign(os.path.abspath(path))
    return changed


def path_fields(cfg: ExperimentConfig, weights: bool = True) -> list[tuple[str, str]]:
    """(field, path) for every non-empty file or folder the experiment reads: each data
    source's ``path``, its options marked ``is_path`` and (``weights``) the weights file
    when it is used. Paths are as written (absolute after ``absolute_paths``)."""
    return [(field, value) for field, value, _, _ in _path_slots(cfg, weights)]


def missing_path(cfg: ExperimentConfig, weights: bool = True) -> tuple[str, str] | None:
    """The first (field, path) of ``path_fields`` that is not there, or None: a data file
    or folder not there is a config error naming its field, not an OS error mid-read.
    ``weights=False`` for a run's checkpoint, which holds every weight already."""
    for field, path in path_fields(cfg, weights):
        if not Path(path).expanduser().exists():
            return field, path
    return None


def run_data_gone(cfg: ExperimentConfig, config_path: Path) -> str | None:
    """One line for a run whose data is not where its ``config_path`` says (moved or
    deleted), or None: what ``eval``, ``resume``, ``export`` and ``baselines`` say alike.
    The checkpoint holds every weight, so a weights file gone is not asked for."""
    gone = missing_path(cfg, weights=False)
    if gone is None:
        return None
    field, path = gone
    movable = (Path(config_path).parent / "split.json").is_file()
    return (
        f"{path}: the run's data is not there any more; if it moved, set its new place as {field} in "
        f"{config_path}" + (" (the run finds the images it used there)" if movable else "")
    )


def path_problem(cfg: ExperimentConfig, weights: bool = True) -> tuple[str, str] | None:
    """(field, what is wrong) for the first path the experiment reads that is not there or
    is a folder where a file must be (or the other way round), else None: said before a
    run folder exists, naming the field, instead of an OS error mid-read."""
    for field, value, kind, _ in _path_slots(cfg, weights):
        path = Path(value).expanduser()
        try:
            if not path.exists():
                if path.is_symlink():
                    return field, f"{value} is a link to nothing (or a loop of links)"
                return field, f"{value} does not exist"
            if kind == "file" and path.is_dir():
                return field, f"{value} is a folder; a file is needed here"
            if kind == "folder" and not path.is_dir():
                return field, f"{value} is not a folder"
            if not path.is_dir() and not path.is_file():  # reading a pipe waits for ever
                return field, f"{value} is not a regular file or folder (a pipe or a device)"
        except OSError as exc:  # no permission on a parent, a name too long
            return field, f"{value} cannot be read ({exc.strerror or exc})"
    return None


def image_size(cfg: ExperimentConfig) -> int:
    """The side of the model's input images: ``model.input_size``, else the first
    source's ``image_size`` option (no data is read)."""
    if cfg.model.input_size:
        return int(cfg.model.input_size)
    return int(source_options(cfg.data.source_list()[0]).image_size)


def build_tasks(cfg: ExperimentConfig) -> list[TaskKind]:
    """The task kinds of ``cfg`` on its validation data's classes (for drawing and
    inspecting a run without training it). Raises like ``build_data``."""
    infos = build_data(cfg, "val").task_infos
    return [build_task(t, infos[t.name], dropout=cfg.model.dropout) for t in cfg.tasks]


def recorded_task_infos(cfg: ExperimentConfig, run_dir: str | Path) -> dict[str, DataInfo] | None:
    """The classes each task of a run learned, as the run recorded them (``summary.json``'s
    ``task_classes``; for a run from before, the single data source's classes in its
    ``split.json``), without reading the data folder: a run whose data moved, vanished or
    changed its classes can still be shown and run on an image. None when the run recorded
    neither (the data must be read)."""
    from workbench.training.run_split import SPLIT_FILE

    run_dir = Path(run_dir)
    side = image_size(cfg)
    from workbench.training.run_store import RunStore

    try:
        summary = RunStore(run_dir).read_summary()
    except (OSError, ValueError):  # damaged, or another schema: the split or the data then
        summary = {}
    recorded = summary.get("task_classes")
    if isinstance(recorded, dict) and all(
        isinstance(recorded.get(t.name), list) and all(isinstance(n, str) for n in recorded[t.name])
        for t in cfg.tasks
    ):
        return {t.name: DataInfo(side, len(recorded[t.name]), tuple(recorded[t.name])) for t in cfg.tasks}
    if len(cfg.data.source_list()) != 1:
        return None
    from workbench.training import run_split

    try:
        stored = run_split.read(run_dir / SPLIT_FILE)
    except run_split.SplitFileError:
        return None
    entry = stored["sources"][0] if stored else None
    if not entry or not isinstance(entry.get("classes"), list):
        return None  # a generated source (the same for the same seed) or no split kept
    names = tuple(entry["classes"])
    return {t.name: DataInfo(side, len(names), names) for t in cfg.tasks}


def run_tasks(cfg: ExperimentConfig, run_dir: str | Path) -> list[TaskKind]:
    """The task kinds of a run, on the classes it learned (``recorded_task_infos``; else its
    validation data's). Raises like ``build_data`` when the data must be read."""
    infos = recorded_task_infos(cfg, run_dir)
    if infos is None:
        return build_tasks(cfg)
    return [build_task(t, infos[t.name], dropout=cfg.model.dropout) for t in cfg.tasks]


def run_network(cfg: ExperimentConfig, run_dir: str | Path) -> tuple[MultiTaskNet, list[TaskKind]]:
    """A run's network (untrained weights, no pretrained file read) and tasks, on the classes
    it learned: what its checkpoint is loaded into to predict on an image."""
    torch.manual_seed(cfg.train.seed)
    tasks = run_tasks(cfg, run_dir)
    return MultiTaskNet(cfg.model.backbone, tasks, cfg.model.sharing_depth, pretrained="none"), tasks


@dataclass
class Experiment:
    config: ExperimentConfig
    train_set: Any
    val_set: Any
    tasks: list[TaskKind]
    model: MultiTaskNet
    weighting: Weighting
    task_infos: dict[str, DataInfo]
    split_notes: list[str] = dataclasses.field(default_factory=list)  # the run's split, as it changed


def build_experiment(
    cfg: ExperimentConfig, with_data: bool = True, pretrained: bool = True, split_file: Path | None = None
) -> Experiment:
    """Seeded construction: the same config always builds the same initial weights.

    ``pretrained=False`` skips loading ImageNet or file weights (a resume, whose checkpoint
    holds every weight, must not need the original weights file). ``split_file``: a run's
    ``split.json``; when it exists the datasets use exactly the images it lists
    (``workbench.training.run_split``; what changed is in ``Experiment.split_notes``).
    Raises SplitFileError for a damaged one."""
    torch.manual_seed(cfg.train.seed)
    val = build_data(cfg, "val")
    train_set = build_data(cfg, "train").dataset if with_data else None
    split_notes: list[str] = []
    if split_file is not None:
        from workbench.training import run_split

        stored = run_split.read(split_file)
        if stored is not None:
            split_notes = run_split.apply(stored, split_file, val.dataset, train_set)
    tasks = [build_task(t, val.task_infos[t.name], dropout=cfg.model.dropout) for t in cfg.tasks]
    model = MultiTaskNet(
        cfg.model.backbone,
        tasks,
        cfg.model.sharing_depth,
        pretrained=cfg.model.pretrained if pretrained else "none",
        weights_file=cfg.model.weights_file,
    )
    weighting = build_weighting(cfg, seed=cfg.train.seed)
    return Experiment(cfg, train_set, val.dataset, tasks, model, weighting, val.task_infos, split_notes)


def build_optimizer(
    cfg: ExperimentConfig, model: torch.nn.Module, weighting: Weighting
) -> torch.optim.Optimizer:
    """Weight decay applies to conv/linear weights only, not to norms, biases or task weights."""
    o = cfg.optim
    decay, no_decay = [], []
    for p in model.parameters():
        (decay if p.ndim > 1 else no_decay).append(p)
    groups = [
        {"params": decay, "weight_decay": o.weight_decay},
        {"params": no_decay + list(weighting.parameters()), "weight_decay": 0.0},
    ]
    if o.optimizer == "sgd":
        return torch.optim.SGD(groups, lr=o.lr, momentum=o.momentum, nesterov=o.momentum > 0)
    if o.optimizer == "adam":
        # Adam's weight_decay is L2 in the gradient; AdamW's is decoupled.
        return torch.optim.Adam(groups, lr=o.lr)
    return torch.optim.AdamW(groups, lr=o.lr)


def learning_rate(cfg: ExperimentConfig, global_step: int, steps_per_epoch: int) -> float:
    """Learning rate at a step: linear warm-up, then constant, cosine to 0, or step decay."""
    o = cfg.optim
    total = max(1, cfg.train.epochs * steps_per_epoch)
    if o.warmup_steps and global_step < o.warmup_steps:
        return o.lr * (global_step + 1) / o.warmup_steps
    if o.schedule == "cosine":
        start = min(o.warmup_steps, total - 1)
        progress = (global_step - start) / max(1, total - start)
        return o.lr * 0.5 * (1 + math.cos(math.pi * min(1.0, progress)))
    if o.schedule == "step":
        return o.lr * o.gamma ** ((global_step // steps_per_epoch) // o.step_size)
    return o.lr
