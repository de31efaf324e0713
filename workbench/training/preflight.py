"""Refuse up front an experiment the model cannot train, instead of failing at step 1.

``preflight`` builds the model on PyTorch's "meta" device (shapes only: no memory, no
weights, about 0.1 s even for ResNet-50) and runs one training-mode forward pass with the
real batch and image size. What would fail at the first step fails here, as a
``ConfigError`` naming the fields to change: for example BatchNorm, which needs more than
one value per channel, gets a single 1x1 map when one 32 px image reaches stride 32.
"""

from __future__ import annotations

import torch

from workbench.config import ConfigError, ExperimentConfig


def image_size_field(cfg: ExperimentConfig) -> str:
    """The config field that sets the model's input size."""
    return "model.input_size" if cfg.model.input_size else "data.shapes.image_size"


def preflight(cfg: ExperimentConfig, train_size: int, data_info) -> None:
    """Dry-run one training step's forward pass on meta tensors.

    Args:
        cfg: a validated experiment.
        train_size: images in the training set (the batch is ``min(batch_size, train_size)``).
        data_info: the validation set's ``DataInfo`` (classes, image size).

    Raises:
        ConfigError: the model cannot run this batch / image size; the path names the
            field to change and the message says why and what would work.
    """
    from workbench.models.multitask import MultiTaskNet
    from workbench.tasks import build_task

    batch = min(cfg.train.batch_size, max(1, train_size))
    size = int(data_info.image_size)
    with torch.device("meta"):
        tasks = [build_task(t, data_info, dropout=cfg.model.dropout) for t in cfg.tasks]
        model = MultiTaskNet(cfg.model.backbone, tasks, cfg.model.sharing_depth, pretrained="none")
        model.train()
        images = torch.empty(batch, 3, size, size, dtype=torch.uint8)
        try:
            model(images)
        except (ValueError, RuntimeError) as exc:
            raise _explain(cfg, exc, batch, size, train_size) from None


def _explain(cfg: ExperimentConfig, exc: Exception, batch: int, size: int, train_size: int) -> ConfigError:
    text = str(exc).splitlines()[0]
    size_field = image_size_field(cfg)
    backbone = cfg.model.backbone
    if "Expected more than 1 value per channel" in text:
        if train_size < cfg.train.batch_size:
            where = "data.shapes.train_size"
            why = f"the {train_size} training image(s) make a batch of {batch}"
        else:
            where = "train.batch_size"
            why = f"a batch of {batch} image(s)"
        return ConfigError(
            where,
            f"{backbone}'s BatchNorm needs more than one value per channel, but {why} of {size} px "
            f"leaves a 1x1 map at its deepest stage; use a batch of 2 or more, or raise {size_field} "
            f"to {2 * size} px or more",
        )
    return ConfigError(size_field, f"{backbone} cannot run on {size} px images with this setup: {text}")
