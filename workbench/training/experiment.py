"""Build the pieces of an experiment from its config: data, tasks, model, weighting, optimiser."""

from __future__ import annotations

import copy
import math
from dataclasses import dataclass
from typing import Any

import torch

from workbench.config import ExperimentConfig
from workbench.data import build_dataset
from workbench.models.multitask import MultiTaskNet
from workbench.tasks import build_task
from workbench.tasks.base import TaskKind
from workbench.weighting import build_weighting
from workbench.weighting.base import Weighting


def effective_data_config(cfg: ExperimentConfig):
    """The data config with ``model.input_size`` applied (shapes are generated at that size)."""
    data = copy.deepcopy(cfg.data)
    if cfg.model.input_size:
        data.shapes.image_size = cfg.model.input_size
    return data


@dataclass
class Experiment:
    config: ExperimentConfig
    train_set: Any
    val_set: Any
    tasks: list[TaskKind]
    model: MultiTaskNet
    weighting: Weighting


def build_experiment(cfg: ExperimentConfig, with_data: bool = True, pretrained: bool = True) -> Experiment:
    """Seeded construction: the same config always builds the same initial weights.

    ``pretrained=False`` skips loading ImageNet or file weights (a resume, whose checkpoint
    holds every weight, must not need the original weights file)."""
    torch.manual_seed(cfg.train.seed)
    data_cfg = effective_data_config(cfg)
    val_set = build_dataset(data_cfg, "val")
    train_set = build_dataset(data_cfg, "train") if with_data else None
    tasks = [build_task(t, val_set.info, dropout=cfg.model.dropout) for t in cfg.tasks]
    for task in tasks:
        if not task.supported_by(val_set.info):
            raise ValueError(
                f"task {task.name!r} ({task.kind}) needs '{task.target_key}' targets, "
                f"which data source {cfg.data.source!r} does not provide"
            )
    model = MultiTaskNet(
        cfg.model.backbone,
        tasks,
        cfg.model.sharing_depth,
        pretrained=cfg.model.pretrained if pretrained else "none",
        weights_file=cfg.model.weights_file,
    )
    weighting = build_weighting(cfg, seed=cfg.train.seed)
    return Experiment(cfg, train_set, val_set, tasks, model, weighting)


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
