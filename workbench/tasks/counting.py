"""Counting: how many objects are in the image (regression; MAE).

The exact-count rate and the drawing take the predicted count's nearest whole number with
halves rounded up, floor(value + 0.5), in float64 as the drawing does: torch.round and
Python's round round halves to even, so 2.5 counted as 2 but 3.5 as 4.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from torchmetrics import MeanAbsoluteError, MeanMetric

from workbench.config import setting
from workbench.tasks.base import TaskKind, TaskMetrics
from workbench.tasks.drawing import DrawSpec, DrawText
from workbench.tasks.heads import PooledHead
from workbench.tasks.registry import TASK_KINDS


class _CountingMetrics(TaskMetrics):
    def __init__(self) -> None:
        self.mae = MeanAbsoluteError()
        self.exact = MeanMetric()
        self.seen = 0

    def update(self, output: torch.Tensor, targets: dict[str, Any]) -> None:
        self.mae = self.mae.to(output.device)
        self.exact = self.exact.to(output.device)
        pred = output.float().squeeze(1)
        self.mae.update(pred, targets["count"])
        # in float64, on the CPU (MPS has no float64): in float32, 0.49999997 + 0.5 is 1.0
        # and 2²³ + 1 + 0.5 rounds to even, so the rate disagreed with the drawing and the MAE
        pred64 = pred.detach().to("cpu", torch.float64)
        truth64 = targets["count"].detach().to("cpu", torch.float64)
        self.exact.update((torch.floor(pred64 + 0.5) == truth64).to(output.device, torch.float32))
        self.seen += len(pred)

    def compute(self) -> dict[str, float | None]:
        if not self.seen:
            return {"mae": None, "exact": None}
        return {"mae": float(self.mae.compute()), "exact": float(self.exact.compute())}


@TASK_KINDS.register("counting")
class Counting(TaskKind):
    kind = "counting"
    description = "number of objects"
    target_key = "count"
    metric_names = ("mae", "exact")
    metric_labels = {"mae": "MAE", "exact": "exact-count rate"}
    primary_metric = "mae"
    higher_is_better = False
    metric_directions = {"exact": True}

    @dataclass
    class Options(TaskKind.Options):
        loss: str = setting("huber", "Loss", "Regression loss of the count.", choices=("huber", "l1", "mse"))
        hidden: int = setting(
            0, "Hidden units", "Width of a GELU hidden layer after pooling; 0: a linear head.", ge=0, le=4096
        )

    def build_head(self, channels: list[int], strides: list[int]) -> torch.nn.Module:
        return PooledHead(channels[-1], 1, self.options.hidden, self.dropout)

    def loss(self, output: torch.Tensor, targets: dict[str, Any]) -> torch.Tensor:
        pred = output.float().squeeze(1)
        truth = targets["count"]
        if self.options.loss == "l1":
            return F.l1_loss(pred, truth)
        if self.options.loss == "mse":
            return F.mse_loss(pred, truth)
        return F.smooth_l1_loss(pred, truth)

    def make_metrics(self) -> TaskMetrics:
        return _CountingMetrics()

    def export_decode(self) -> dict[str, Any]:
        return {
            "output": "count (B, 1), float",
            "steps": ["the value is the count; its whole number is floor(value + 0.5) (halves up)"],
        }

    def decode(self, output: torch.Tensor) -> list[dict[str, np.ndarray]]:
        return [{"count": np.float32(v)} for v in output.detach().float().squeeze(1).cpu().numpy()]

    def target_items(self, targets: dict[str, Any], count: int) -> list[dict[str, np.ndarray]]:
        return [{"count": np.float32(v)} for v in targets["count"][:count].cpu().numpy()]

    def draw(self, prediction, target, score_threshold: float = 0.3) -> DrawSpec:
        prediction, target = prediction or None, target or None  # {} = not labelled
        wrong = False
        text = f"{self.name}:"
        if prediction is not None:
            value = float(prediction["count"])
            text += f" {count_text(value)}"
            if target is not None:
                wrong = math.floor(value + 0.5) != round(float(target["count"]))
        if target is not None:
            text += f" (truth: {float(target['count']):.0f})"
        return DrawSpec(task=self.name, texts=(DrawText(text, error=wrong),), has_error=wrong)


def count_text(value: float) -> str:
    """A predicted count as the drawing shows it: one decimal, more where one would read as
    a half (0.461 is "0.46", not "0.5", which the reader rounds up while the count is 0).
    A value within 0.0005 of a half, or a half itself, says which whole count it is:
    "0.500 → 0" for 0.49999997, "0.5 → 1" for 0.5 (counts take floor(x + 0.5))."""
    whole = math.floor(value + 0.5)
    if (value * 2) % 2 == 1:  # exactly a half
        return f"{value:.1f} → {whole}"
    for decimals in (1, 2, 3):
        shown = f"{round(value, decimals) + 0.0:.{decimals}f}"  # + 0.0: -0.04 reads 0.0, not "-0.0"
        if (float(shown) * 2) % 2 != 1:  # not a half: it rounds as the count does
            return shown
    return f"{shown} → {whole}"
