"""Validation pass (losses, metrics, sample predictions) and inference latency."""

from __future__ import annotations

import time
from typing import Any

import numpy as np
import torch

from workbench.data.base import collate, move_targets
from workbench.tasks.base import TaskKind
from workbench.training.device import Precision
from workbench.training.events import SamplesReady


def needed_targets(tasks: list[TaskKind]) -> frozenset[str]:
    """The dataset targets these tasks read (detection reads labels beside boxes)."""
    keys = {t.target_key for t in tasks}
    if "boxes" in keys:
        keys.add("labels")
    return frozenset(keys)


@torch.no_grad()
def evaluate(
    model: torch.nn.Module,
    tasks: list[TaskKind],
    dataset: Any,
    batch_size: int,
    device: torch.device,
    precision: Precision,
    num_samples: int = 16,
    epoch: int = 0,
) -> tuple[dict[str, float], dict[str, dict[str, float]], SamplesReady | None]:
    """Mean loss and metrics per task over ``dataset``; predictions on its first images."""
    was_training = model.training
    model.eval()
    keys = needed_targets(tasks)
    metrics = {t.name: t.make_metrics() for t in tasks}
    loss_sums = {t.name: 0.0 for t in tasks}
    seen = 0
    samples = None
    n = len(dataset)
    for start in range(0, n, batch_size):
        indices = range(start, min(n, start + batch_size))
        images, targets = collate([dataset.sample(i) for i in indices], keys)
        images = images.to(device)
        targets = move_targets(targets, device)
        with precision.autocast():
            outputs = model(images)
            losses = {t.name: t.loss(outputs[t.name], targets) for t in tasks}
        for t in tasks:
            loss_sums[t.name] += float(losses[t.name]) * len(indices)
            metrics[t.name].update(outputs[t.name], targets)
        seen += len(indices)
        if samples is None and num_samples:
            k = min(num_samples, len(indices))
            samples = SamplesReady(
                epoch=epoch,
                images=images[:k].permute(0, 2, 3, 1).contiguous().cpu().numpy().astype(np.uint8),
                targets={t.name: t.target_items(targets, k) for t in tasks},
                predictions={t.name: t.decode(_first(outputs[t.name], k)) for t in tasks},
            )
    model.train(was_training)
    val_losses = {name: s / max(1, seen) for name, s in loss_sums.items()}
    return val_losses, {name: m.compute() for name, m in metrics.items()}, samples


def _first(output: Any, k: int) -> Any:
    if isinstance(output, dict):
        return {key: v[:k] for key, v in output.items()}
    return output[:k]


@torch.no_grad()
def measure_latency(
    model: torch.nn.Module, dataset: Any, device: torch.device, precision: Precision, budget_s: float = 1.0
) -> float:
    """Median milliseconds for one image through the whole network (batch 1)."""
    was_training = model.training
    model.eval()
    images, _ = collate([dataset.sample(0)])
    images = images.to(device)
    times = []
    deadline = time.perf_counter() + budget_s
    for i in range(200):
        if device.type == "cuda":
            torch.cuda.synchronize(device)
        t0 = time.perf_counter()
        with precision.autocast():
            model(images)
        if device.type == "cuda":
            torch.cuda.synchronize(device)
        if i >= 2:  # first calls warm up allocators and kernels
            times.append(time.perf_counter() - t0)
        if time.perf_counter() > deadline and len(times) >= 3:
            break
    model.train(was_training)
    return float(np.median(times) * 1000)
