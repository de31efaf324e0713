"""Localization: one box per image, the largest object's (GIoU + L1 loss; mean IoU)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from torchmetrics import MeanMetric
from torchvision.ops import box_convert, box_iou, generalized_box_iou_loss

from workbench.config import setting
from workbench.tasks.base import TaskKind, TaskMetrics
from workbench.tasks.drawing import DrawBox, DrawSpec, class_colour
from workbench.tasks.heads import PooledHead
from workbench.tasks.registry import TASK_KINDS


def _pairwise_iou(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    """IoU of a[i] with b[i] (the diagonal of torchvision's box_iou)."""
    return box_iou(a, b).diagonal() if len(a) else a.new_zeros(0)


class _LocalizationMetrics(TaskMetrics):
    def __init__(self, size: int) -> None:
        self.size = size
        self.iou = MeanMetric()
        self.hit = MeanMetric()
        self.seen = 0

    def update(self, output: torch.Tensor, targets: dict[str, Any]) -> None:
        self.iou = self.iou.to(output.device)
        self.hit = self.hit.to(output.device)
        boxes = Localization.boxes_from_output(output, self.size)
        iou = _pairwise_iou(boxes, targets["largest_box"])
        self.iou.update(iou)
        self.hit.update((iou >= 0.5).float())
        self.seen += len(iou)

    def compute(self) -> dict[str, float | None]:
        if not self.seen:
            return {"miou": None, "acc50": None}
        return {"miou": float(self.iou.compute()), "acc50": float(self.hit.compute())}


@TASK_KINDS.register("localization")
class Localization(TaskKind):
    kind = "localization"
    description = "box of the largest object"
    target_key = "largest_box"
    metric_names = ("miou", "acc50")
    metric_labels = {"miou": "mean IoU", "acc50": "IoU>=0.5 rate"}
    primary_metric = "miou"
    higher_is_better = True

    @dataclass
    class Options(TaskKind.Options):
        giou_weight: float = setting(
            1.0, "GIoU weight", "Weight of the generalised IoU loss.", ge=0.0, le=100.0
        )
        l1_weight: float = setting(
            5.0, "L1 weight", "Weight of the L1 loss on normalised boxes.", ge=0.0, le=100.0
        )
        hidden: int = setting(
            0, "Hidden units", "Width of a GELU hidden layer after pooling; 0: a linear head.", ge=0, le=4096
        )

    def build_head(self, channels: list[int], strides: list[int]) -> torch.nn.Module:
        return PooledHead(channels[-1], 4, self.options.hidden, self.dropout)

    @staticmethod
    def boxes_from_output(output: torch.Tensor, size: int) -> torch.Tensor:
        """Head output (sigmoid of normalised cx, cy, w, h) to xyxy pixels."""
        return box_convert(output.float().sigmoid() * size, "cxcywh", "xyxy")

    def loss(self, output: torch.Tensor, targets: dict[str, Any]) -> torch.Tensor:
        size = float(self.data.image_size)
        pred = self.boxes_from_output(output, 1)
        truth = targets["largest_box"] / size
        giou = generalized_box_iou_loss(pred, truth, reduction="mean")
        return self.options.giou_weight * giou + self.options.l1_weight * F.l1_loss(pred, truth)

    def make_metrics(self) -> TaskMetrics:
        return _LocalizationMetrics(self.data.image_size)

    def export_decode(self) -> dict[str, Any]:
        return {
            "output": "(B, 4): the largest object's box",
            "steps": [
                "sigmoid: centre x, centre y, width, height as fractions of the input side",
                "multiply by input_size, then x1 = cx - w/2, y1 = cy - h/2, x2 = cx + w/2, y2 = cy + h/2 (pixels)",
            ],
            "input_size": self.data.image_size,
        }

    def decode(self, output: torch.Tensor) -> list[dict[str, np.ndarray]]:
        boxes = self.boxes_from_output(output.detach(), self.data.image_size).cpu().numpy()
        return [{"box": b.astype(np.float32)} for b in boxes]

    def target_items(self, targets: dict[str, Any], count: int) -> list[dict[str, np.ndarray]]:
        return [{"box": b.astype(np.float32)} for b in targets["largest_box"][:count].cpu().numpy()]

    def draw(self, prediction, target, score_threshold: float = 0.3) -> DrawSpec:
        prediction, target = prediction or None, target or None  # {} = not labelled
        boxes = []
        wrong = False
        colour = class_colour(len(self.data.class_names))
        if prediction is not None and target is not None:
            iou = float(
                _pairwise_iou(torch.tensor(prediction["box"][None]), torch.tensor(target["box"][None]))[0]
            )
            wrong = iou < 0.5
        if prediction is not None:
            label = f"{self.name}" + (f" IoU {iou:.2f}" if target is not None else "")
            boxes.append(
                DrawBox(tuple(map(float, prediction["box"])), label, colour, error="missed" if wrong else "")
            )
        if target is not None:
            boxes.append(DrawBox(tuple(map(float, target["box"])), f"{self.name} truth", colour, truth=True))
        return DrawSpec(task=self.name, boxes=tuple(boxes), has_error=wrong)
