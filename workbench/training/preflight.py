"""Refuse up front an experiment the model cannot train, instead of failing at step 1.

``preflight`` builds the model on PyTorch's "meta" device (shapes only: no memory, no
weights, about 0.1 s even for ResNet-50) and runs one training-mode forward pass with the
real batch and image size. What would fail at the first step fails here, as a
``ConfigError`` naming the fields to change: for example BatchNorm, which needs more than
one value per channel, gets a single 1x1 map when one 32 px image reaches stride 32.
"""

from __future__ import annotations

from pathlib import Path

import torch

from workbench.config import ConfigError, ExperimentConfig
from workbench.models.meta_lock import META_LOCK


def _data_prefix(cfg: ExperimentConfig) -> str:
    return "data.sources[0]" if cfg.data.sources else "data"


def image_size_field(cfg: ExperimentConfig) -> str:
    """The config field that sets the model's input size."""
    return "model.input_size" if cfg.model.input_size else f"{_data_prefix(cfg)}.options.image_size"


def train_size_field(cfg: ExperimentConfig) -> str:
    """The config field that sets how many training images there are (a source's own
    count, e.g. the scenes of "shapes", or the image limit of a real set)."""
    from workbench.data import DATASETS

    source = cfg.data.source_list()[0].source
    name = DATASETS.get(source).train_size_field if source in DATASETS else ""
    return f"{_data_prefix(cfg)}.options.{name or 'max_images'}"


def preflight(cfg: ExperimentConfig, train_size: int, task_infos, processes: int = 1) -> None:
    """Dry-run one training step's forward pass on meta tensors.

    Args:
        cfg: a validated experiment.
        train_size: images in the training set (the batch is ``min(batch_size, train_size)``).
        task_infos: each task's ``DataInfo`` (classes, image size), by task name.
        processes: the processes of a ``torchrun`` job; each runs its slice of the batch
            (a batch that does not split evenly is refused by ``Distributed.check_batch``).

    Raises:
        ConfigError: the model cannot run this batch / image size; the path names the
            field to change and the message says why and what would work.
    """
    from workbench.models.multitask import MultiTaskNet
    from workbench.tasks import build_task

    batch = min(cfg.train.batch_size, max(1, train_size))
    if processes > 1:
        if batch % processes:
            return  # refused as a batch that does not split, with its own way out
        batch //= processes
    size = int(next(iter(task_infos.values())).image_size)
    with META_LOCK, torch.device("meta"):  # see workbench.models.meta_lock
        tasks = [build_task(t, task_infos[t.name], dropout=cfg.model.dropout) for t in cfg.tasks]
        model = MultiTaskNet(cfg.model.backbone, tasks, cfg.model.sharing_depth, pretrained="none")
        model.train()
        images = torch.empty(batch, 3, size, size, dtype=torch.uint8)
        try:
            model(images)
        except (ValueError, RuntimeError) as exc:
            raise _explain(cfg, exc, batch, size, train_size, processes) from None


def _explain(
    cfg: ExperimentConfig, exc: Exception, batch: int, size: int, train_size: int, processes: int = 1
) -> ConfigError:
    text = str(exc).splitlines()[0]
    size_field = image_size_field(cfg)
    backbone = cfg.model.backbone
    if "Expected more than 1 value per channel" in text:
        if train_size < 2:
            return ConfigError(
                train_size_field(cfg),
                f"{backbone}'s BatchNorm needs more than one value per channel, but a training set of "
                f"{train_size} image makes batches of one {size} px image, a 1x1 map at the deepest stage; "
                f"use 2 or more training images, or raise {size_field} to {2 * size} px or more",
            )
        where = train_size_field(cfg) if train_size < cfg.train.batch_size else "train.batch_size"
        each = f" in each of {processes} processes" if processes > 1 else ""
        wanted = f"{2 * processes} or more over {processes} processes" if processes > 1 else "2 or more"
        return ConfigError(
            where,
            f"{backbone}'s BatchNorm needs more than one value per channel, but batches of {batch} "
            f"{size} px image{'s' if batch > 1 else ''}{each} leave a 1x1 map at the deepest stage; use "
            f"batches of {wanted}, or raise {size_field} to {2 * size} px or more",
        )
    return ConfigError(size_field, f"{backbone} cannot run on {size} px images with this setup: {text}")


def check_sources(cfg: ExperimentConfig, task_infos, init_from: str | Path | None = None) -> None:
    """What a run will read besides the data, checked before a run folder exists: the
    device, the pretrained weights (ImageNet cache or weights file, matched against the
    backbone's layers) and an ``--init-from`` file (matched against the whole model).

    Raises:
        ConfigError: naming ``train.device``, ``model.pretrained`` or ``model.weights_file``.
        ValueError: "--init-from: ..." for the command-line option.
    """
    from workbench.models.backbones import BACKBONES, imagenet_cache_path
    from workbench.models.multitask import MultiTaskNet
    from workbench.tasks import build_task
    from workbench.training.checkpoint import CheckpointError, matching_tensors
    from workbench.training.device import DeviceUnavailable, resolve_device

    try:
        resolve_device(cfg.train.device)
    except DeviceUnavailable as exc:
        raise ConfigError("train.device", str(exc)) from None
    m = cfg.model
    entry = BACKBONES.get(m.backbone)
    if m.pretrained == "imagenet":
        path = imagenet_cache_path(entry.torchvision_name)
        if not path.is_file():
            raise ConfigError(
                "model.pretrained",
                f"ImageNet weights for {m.backbone} are not in torchvision's cache ({path}) and this app "
                "never downloads; copy the file there, or use 'none' or 'file'",
            )
    elif m.pretrained == "file":
        check_weights_file(m.weights_file, m.backbone)
    if init_from is not None:
        with META_LOCK, torch.device("meta"):  # see workbench.models.meta_lock
            tasks = [build_task(t, task_infos[t.name]) for t in cfg.tasks]
            own = MultiTaskNet(m.backbone, tasks, m.sharing_depth, pretrained="none").state_dict()
        try:
            matching_tensors(own, Path(init_from))
        except CheckpointError as exc:
            raise ValueError(f"--init-from: {exc}") from None


def check_weights_file(weights_file: str | Path, backbone: str) -> None:
    """The file of ``model.weights_file`` loads as a state dict (``weights_only=True``)
    and holds at least one tensor of ``backbone``'s layers by name and shape. Run before a
    run folder exists, and by the setup form when the file is chosen (off the GUI thread:
    it loads the file).

    Raises ConfigError naming ``model.weights_file``: missing, unreadable, not a state
    dict (a pickled module, a text file named .pt), or matching none of the layers."""
    from workbench.models.backbones import BACKBONES, WeightsUnavailable, _load_state

    entry = BACKBONES.get(backbone)
    try:
        state = _load_state(Path(weights_file).expanduser(), "weights file")
    except WeightsUnavailable as exc:
        raise ConfigError("model.weights_file", str(exc).removeprefix("weights file: ")) from None
    with META_LOCK, torch.device("meta"):  # see workbench.models.meta_lock
        own = entry.build_model().state_dict()
    if not any(k in own and tuple(v.shape) == tuple(own[k].shape) for k, v in state.items()):
        raise ConfigError(
            "model.weights_file", f"no tensor in {weights_file} matches the layers of {backbone}"
        )
