"""Scene classification: one class per image (cross-entropy; accuracy, macro-F1)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from torchmetrics.classification import MulticlassAccuracy, MulticlassF1Score

from workbench.config import setting
from workbench.tasks.base import TaskKind, TaskMetrics, mean_over_present
from workbench.tasks.drawing import DrawSpec, DrawText
from workbench.tasks.heads import PooledHead
from workbench.tasks.registry import TASK_KINDS


class _ClassificationMetrics(TaskMetrics):
    """Accuracy over all labelled images; macro-F1 over the classes present in the truth."""

    def __init__(self, num_classes: int) -> None:
        self.accuracy = MulticlassAccuracy(num_classes=num_classes, average="micro")
        self.f1 = MulticlassF1Score(num_classes=num_classes, average="none")
        self.support = torch.zeros(num_classes, dtype=torch.long)
        self.seen = 0

    def update(self, output: torch.Tensor, targets: dict[str, Any]) -> None:
        self.accuracy = self.accuracy.to(output.device)
        self.f1 = self.f1.to(output.device)
        preds = output.argmax(dim=1)
        truth = targets["scene_class"]
        self.accuracy.update(preds, truth)
        self.f1.update(preds, truth)
        self.support += torch.bincount(truth.cpu(), minlength=len(self.support))
        self.seen += len(truth)

    def compute(self) -> dict[str, float | None]:
        if not self.seen:
            return {"accuracy": None, "f1": None}
        return {
            "accuracy": float(self.accuracy.compute()),
            "f1": mean_over_present(self.f1.compute(), self.support),
        }


@TASK_KINDS.register("classification")
class Classification(TaskKind):
    kind = "classification"
    min_classes = 2
    description = "class of the scene (its largest object)"
    target_key = "scene_class"
    metric_names = ("accuracy", "f1")
    metric_labels = {"accuracy": "accuracy", "f1": "macro-F1"}
    primary_metric = "accuracy"
    higher_is_better = True

    @dataclass
    class Options(TaskKind.Options):
        label_smoothing: float = setting(
            0.0,
            "Label smoothing",
            "Share of the target probability spread over the other classes.",
            ge=0.0,
            le=0.5,
        )
        hidden: int = setting(
            0, "Hidden units", "Width of a GELU hidden layer after pooling; 0: a linear head.", ge=0, le=4096
        )

    def build_head(self, channels: list[int], strides: list[int]) -> torch.nn.Module:
        return PooledHead(channels[-1], self.data.num_classes, self.options.hidden, self.dropout)

    def loss(self, output: torch.Tensor, targets: dict[str, Any]) -> torch.Tensor:
        return F.cross_entropy(
            output.float(), targets["scene_class"], label_smoothing=self.options.label_smoothing
        )

    def export_decode(self) -> dict[str, Any]:
        return {
            "output": "logits (B, C)",
            "steps": ["softmax over dim 1", "label = argmax, score = its probability"],
            "class_names": list(self.data.class_names),
        }

    def make_metrics(self) -> TaskMetrics:
        return _ClassificationMetrics(self.data.num_classes)

    def decode(self, output: torch.Tensor) -> list[dict[str, np.ndarray]]:
        probs = output.detach().float().softmax(dim=1).cpu().numpy()
        return [{"label": np.int64(p.argmax()), "scores": p.astype(np.float32)} for p in probs]

    def target_items(self, targets: dict[str, Any], count: int) -> list[dict[str, np.ndarray]]:
        labels = targets["scene_class"][:count].cpu().numpy()
        return [{"label": np.int64(v)} for v in labels]

    def draw(self, prediction, target, score_threshold: float = 0.3) -> DrawSpec:
        prediction, target = prediction or None, target or None  # {} = not labelled
        texts = []
        wrong = False
        if prediction is not None:
            label = int(prediction["label"])
            score = float(prediction["scores"][label])
            text = f"{self.name}: {self.class_name(label)} {score:.2f}"
            if target is not None:
                truth = int(target["label"])
                wrong = truth != label
                text += f" (truth: {self.class_name(truth)})"
            texts.append(DrawText(text, error=wrong))
        elif target is not None:
            texts.append(DrawText(f"{self.name}: {self.class_name(int(target['label']))}"))
        return DrawSpec(task=self.name, texts=tuple(texts), has_error=wrong)
