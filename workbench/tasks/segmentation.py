"""Semantic segmentation: a class per pixel, 0 = background, c + 1 = object class c.

The head fuses the branch's features to one stride-4 map (see ``workbench.tasks.fusion``),
classifies each cell with a 1x1 conv and upsamples the logits bilinearly to the dataset's
image size (the size of the target masks). Its output is a tensor (B, C + 1, H, W) of logits.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn
from torchmetrics.classification import MulticlassAccuracy, MulticlassJaccardIndex

from workbench.config import setting
from workbench.data.base import IGNORE_INDEX
from workbench.tasks.base import TaskKind, TaskMetrics, mean_over_present
from workbench.tasks.drawing import DrawMask, DrawSpec, DrawText, class_colour
from workbench.tasks.fusion import FeatureFusion
from workbench.tasks.registry import TASK_KINDS

BACKGROUND_COLOUR = (0, 0, 0)


class SegmentationHead(nn.Module):
    def __init__(
        self, channels: list[int], strides: list[int], classes: int, out_size: int, width: int, dropout: float
    ) -> None:
        super().__init__()
        self.fusion = FeatureFusion(channels, strides, width=width)
        self.dropout = nn.Dropout2d(dropout) if dropout > 0 else nn.Identity()
        self.classifier = nn.Conv2d(width, classes, kernel_size=1)
        self.out_size = int(out_size)
        self.out_stride = self.fusion.out_stride

    def forward(self, features: list[torch.Tensor]) -> torch.Tensor:
        logits = self.classifier(self.dropout(self.fusion(features)))
        return F.interpolate(
            logits, size=(self.out_size, self.out_size), mode="bilinear", align_corners=False
        )


def _match_size(logits: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """Resize logits to the mask's (H, W) when they differ (e.g. another input size)."""
    if logits.shape[-2:] != mask.shape[-2:]:
        logits = F.interpolate(logits, size=mask.shape[-2:], mode="bilinear", align_corners=False)
    return logits


class _SegmentationMetrics(TaskMetrics):
    """Per-class IoU from torchmetrics, averaged over the classes present in the truth:
    ``miou`` with the background class (Pascal VOC's mIoU), ``miou_fg`` without it;
    pixel accuracy over all labelled pixels. ``IGNORE_INDEX`` pixels count nowhere."""

    def __init__(self, classes: int) -> None:
        self.iou = MulticlassJaccardIndex(num_classes=classes, average="none", ignore_index=IGNORE_INDEX)
        self.accuracy = MulticlassAccuracy(num_classes=classes, average="micro", ignore_index=IGNORE_INDEX)
        self.support = torch.zeros(classes, dtype=torch.long)

    def update(self, output: torch.Tensor, targets: dict[str, Any]) -> None:
        self.iou = self.iou.to(output.device)
        self.accuracy = self.accuracy.to(output.device)
        mask = targets["mask"].to(output.device).long()
        preds = _match_size(output.detach(), mask).argmax(dim=1)
        self.iou.update(preds, mask)
        self.accuracy.update(preds, mask)
        labelled = mask[mask != IGNORE_INDEX]
        self.support += torch.bincount(labelled.flatten().cpu(), minlength=len(self.support))[
            : len(self.support)
        ]

    def compute(self) -> dict[str, float | None]:
        if not int(self.support.sum()):
            return {"miou": None, "miou_fg": None, "pixel_acc": None}
        per_class = self.iou.compute()
        return {
            "miou": mean_over_present(per_class, self.support),
            "miou_fg": mean_over_present(per_class[1:], self.support[1:]),
            "pixel_acc": float(self.accuracy.compute()),
        }


@TASK_KINDS.register("segmentation")
class Segmentation(TaskKind):
    kind = "segmentation"
    description = "class of every pixel (background or an object class)"
    target_key = "mask"
    metric_names = ("miou", "miou_fg", "pixel_acc")
    metric_labels = {
        "miou": "mIoU incl. background",
        "miou_fg": "mIoU foreground",
        "pixel_acc": "pixel accuracy",
    }
    primary_metric = "miou"
    loss_is_mean_over_samples = False  # a mean over labelled pixels
    higher_is_better = True

    @dataclass
    class Options(TaskKind.Options):
        head_width: int = setting(64, "Head width", "Channels of the fused stride-4 map.", ge=8, le=512)
        # An image is flagged as an error when, over the pixels that are an object in the
        # truth or in the prediction, fewer than this fraction have the right class.
        error_threshold: float = setting(
            0.7,
            "Error threshold",
            "Object-pixel accuracy below which a sample is shown as an error.",
            ge=0.0,
            le=1.0,
        )

    @property
    def num_outputs(self) -> int:
        return self.data.num_classes + 1

    def colours(self) -> tuple[tuple[int, int, int], ...]:
        return (BACKGROUND_COLOUR,) + tuple(class_colour(c) for c in range(self.data.num_classes))

    def build_head(self, channels: list[int], strides: list[int]) -> nn.Module:
        return SegmentationHead(
            channels, strides, self.num_outputs, self.data.image_size, self.options.head_width, self.dropout
        )

    def loss_present(self, targets: dict[str, Any]) -> torch.Tensor | None:
        """Labelled samples with at least one pixel that is not ``IGNORE_INDEX``: a mask
        wholly covered by crowd regions has no loss (cross-entropy over no pixel is NaN)."""
        has = self.present(targets)
        if "mask" not in targets or (has is not None and not bool(has.any())):
            return has  # no sample of the batch has a mask
        some = (targets["mask"] != IGNORE_INDEX).flatten(1).any(dim=1)
        if has is not None:
            some = some & has.to(some.device)
        return None if bool(some.all()) else some

    def loss(self, output: torch.Tensor, targets: dict[str, Any]) -> torch.Tensor:
        mask = targets["mask"].long()
        return F.cross_entropy(_match_size(output.float(), mask), mask, ignore_index=IGNORE_INDEX)

    def image_losses(self, output: torch.Tensor, targets: dict[str, Any]) -> tuple[float, int]:
        """Each image's mean cross-entropy over its labelled pixels, summed (see
        ``TaskKind.image_losses``), in one pass."""
        keep = self.loss_present(targets)
        if keep is not None and not bool(keep.any()):
            return 0.0, 0
        mask = targets["mask"].long()
        logits = _match_size(output.float(), mask)
        if keep is not None:
            keep = keep.to(mask.device)
            logits, mask = logits[keep], mask[keep]
        pixels = F.cross_entropy(logits, mask, ignore_index=IGNORE_INDEX, reduction="none")
        labelled = (mask != IGNORE_INDEX).flatten(1).sum(dim=1)
        return float((pixels.flatten(1).sum(dim=1) / labelled).sum()), len(mask)

    def make_metrics(self) -> TaskMetrics:
        return _SegmentationMetrics(self.num_outputs)

    def export_decode(self) -> dict[str, Any]:
        return {
            "output": "logits (B, 1 + C, H, W) at the input's resolution",
            "steps": ["argmax over dim 1: 0 is background, k is class k - 1"],
            "class_names": ["background", *self.data.class_names],
        }

    def decode(self, output: torch.Tensor) -> list[dict[str, np.ndarray]]:
        classes = output.detach().argmax(dim=1).to(torch.uint8).cpu().numpy()
        return [{"mask": m} for m in classes]

    def target_items(self, targets: dict[str, Any], count: int) -> list[dict[str, np.ndarray]]:
        masks = targets["mask"][:count].detach().to(torch.uint8).cpu().numpy()
        return [{"mask": m} for m in masks]

    @staticmethod
    def agreement(pred: np.ndarray, truth: np.ndarray) -> tuple[float, float]:
        """(pixel accuracy, accuracy over pixels that are an object in truth or prediction),
        both over labelled pixels (``IGNORE_INDEX`` in the truth is left out)."""
        labelled = truth != IGNORE_INDEX
        pred, truth = pred[labelled], truth[labelled]
        right = pred == truth
        objects = (pred > 0) | (truth > 0)
        pixel_acc = float(right.mean()) if right.size else 1.0
        object_acc = float(right[objects].mean()) if objects.any() else 1.0
        return pixel_acc, object_acc

    def draw(self, prediction, target, score_threshold: float | None = None) -> DrawSpec:
        prediction, target = prediction or None, target or None  # {} = not labelled
        colours = self.colours()
        masks = []
        texts = []
        has_error = False
        if prediction is not None:
            masks.append(DrawMask(np.asarray(prediction["mask"]), colours))
        if target is not None:
            masks.append(DrawMask(np.asarray(target["mask"]), colours, truth=True))
        if prediction is not None and target is not None:
            pixel_acc, object_acc = self.agreement(np.asarray(prediction["mask"]), np.asarray(target["mask"]))
            has_error = object_acc < self.options.error_threshold
            texts.append(
                DrawText(
                    f"{self.name}: pixel acc {pixel_acc:.2f} (on objects {object_acc:.2f})",
                    error=has_error,
                )
            )
        return DrawSpec(task=self.name, masks=tuple(masks), texts=tuple(texts), has_error=has_error)
