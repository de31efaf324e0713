"""Multi-label presence: which classes appear in the image (BCE; mAP, F1)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from torchmetrics.classification import MultilabelAveragePrecision, MultilabelF1Score

from workbench.tasks.base import TaskKind, TaskMetrics, check_options_range
from workbench.tasks.drawing import DrawSpec, DrawText
from workbench.tasks.heads import PooledHead
from workbench.tasks.registry import TASK_KINDS


class _MultilabelMetrics(TaskMetrics):
    def __init__(self, num_labels: int, threshold: float) -> None:
        self.map = MultilabelAveragePrecision(num_labels=num_labels, average="macro")
        self.f1 = MultilabelF1Score(num_labels=num_labels, average="macro", threshold=threshold)

    def update(self, output: torch.Tensor, targets: dict[str, Any]) -> None:
        self.map = self.map.to(output.device)
        self.f1 = self.f1.to(output.device)
        probs = output.float().sigmoid()
        truth = targets["presence"].long()
        self.map.update(probs, truth)
        self.f1.update(probs, truth)

    def compute(self) -> dict[str, float]:
        return {"map": float(self.map.compute()), "f1": float(self.f1.compute())}


@TASK_KINDS.register("multilabel")
class Multilabel(TaskKind):
    kind = "multilabel"
    description = "which classes are present"
    target_key = "presence"
    metric_names = ("map", "f1")
    primary_metric = "map"
    higher_is_better = True

    @dataclass
    class Options(TaskKind.Options):
        threshold: float = 0.5
        hidden: int = 256

        def validate(self, path: str) -> None:
            check_options_range(path, "threshold", self.threshold, 0.01, 0.99)
            check_options_range(path, "hidden", self.hidden, 8, 4096)

    def build_head(self, channels: list[int], strides: list[int]) -> torch.nn.Module:
        return PooledHead(channels[-1], self.data.num_classes, self.options.hidden, self.dropout)

    def loss(self, output: torch.Tensor, targets: dict[str, Any]) -> torch.Tensor:
        return F.binary_cross_entropy_with_logits(output.float(), targets["presence"])

    def make_metrics(self) -> TaskMetrics:
        return _MultilabelMetrics(self.data.num_classes, self.options.threshold)

    def decode(self, output: torch.Tensor) -> list[dict[str, np.ndarray]]:
        probs = output.detach().float().sigmoid().cpu().numpy().astype(np.float32)
        return [{"scores": p} for p in probs]

    def target_items(self, targets: dict[str, Any], count: int) -> list[dict[str, np.ndarray]]:
        return [{"presence": p.astype(np.float32)} for p in targets["presence"][:count].cpu().numpy()]

    def draw(self, prediction, target, score_threshold: float = 0.3) -> DrawSpec:
        thr = self.options.threshold
        texts = []
        wrong = False
        predicted = set()
        if prediction is not None:
            predicted = {i for i, s in enumerate(prediction["scores"]) if s >= thr}
        truth = None if target is None else {i for i, p in enumerate(target["presence"]) if p > 0.5}
        if prediction is not None:
            names = ", ".join(
                f"{self.class_name(i)} {prediction['scores'][i]:.2f}" for i in sorted(predicted)
            )
            wrong = truth is not None and predicted != truth
            texts.append(DrawText(f"{self.name}: {names or '(none)'}", error=wrong))
        if truth is not None:
            texts.append(
                DrawText(f"{self.name} truth: {', '.join(self.class_name(i) for i in sorted(truth))}")
            )
        return DrawSpec(task=self.name, texts=tuple(texts), has_error=wrong)
