"""Multi-label presence: which classes appear in the image (BCE; mAP, F1)."""

from __future__ import annotations

import warnings
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from torchmetrics.classification import (
    BinaryAveragePrecision,
    BinaryF1Score,
    MultilabelAveragePrecision,
    MultilabelF1Score,
)

from workbench.config import setting
from workbench.data.class_names import names_text, shown_name
from workbench.tasks.base import TaskKind, TaskMetrics, mean_over_present
from workbench.tasks.drawing import DrawSpec, DrawText
from workbench.tasks.heads import PooledHead
from workbench.tasks.registry import TASK_KINDS


class _MultilabelMetrics(TaskMetrics):
    """mAP and macro-F1 over the classes present in at least one validation image.

    One class ("is there a person?") is the binary case: torchmetrics' multilabel metrics
    refuse ``num_labels=1``, and its binary ones give the same per-class AP and F1."""

    def __init__(self, num_labels: int, threshold: float) -> None:
        if num_labels == 1:
            self.map = _OneLabel(BinaryAveragePrecision())
            self.f1 = _OneLabel(BinaryF1Score(threshold=threshold))
        else:
            self.map = MultilabelAveragePrecision(num_labels=num_labels, average="none")
            self.f1 = MultilabelF1Score(num_labels=num_labels, average="none", threshold=threshold)
        self.support = torch.zeros(num_labels, dtype=torch.long)

    def update(self, output: torch.Tensor, targets: dict[str, Any]) -> None:
        self.map = self.map.to(output.device)
        self.f1 = self.f1.to(output.device)
        probs = output.float().sigmoid()
        truth = targets["presence"].long()
        self.map.update(probs, truth)
        self.f1.update(probs, truth)
        self.support += truth.sum(dim=0).cpu()

    def compute(self) -> dict[str, float | None]:
        if not bool((self.support > 0).any()):
            return {"map": None, "f1": None}
        with warnings.catch_warnings():  # torchmetrics warns about the absent classes we leave out
            warnings.simplefilter("ignore", UserWarning)
            ap = torch.nan_to_num(self.map.compute(), nan=0.0)
        return {
            "map": mean_over_present(ap, self.support),
            "f1": mean_over_present(self.f1.compute(), self.support),
        }


class _OneLabel:
    """A binary torchmetrics metric fed (N, 1) columns and answering a (1,) tensor, as the
    multilabel ones do with ``average="none"``."""

    def __init__(self, metric: Any) -> None:
        self.metric = metric

    def to(self, device: torch.device) -> _OneLabel:
        self.metric = self.metric.to(device)
        return self

    def update(self, probs: torch.Tensor, truth: torch.Tensor) -> None:
        self.metric.update(probs[:, 0], truth[:, 0])

    def compute(self) -> torch.Tensor:
        return self.metric.compute().reshape(1)


@TASK_KINDS.register("multilabel")
class Multilabel(TaskKind):
    kind = "multilabel"
    description = "which classes are present"
    target_key = "presence"
    metric_names = ("map", "f1")
    metric_labels = {"map": "mAP", "f1": "macro-F1"}
    primary_metric = "map"
    higher_is_better = True

    @dataclass
    class Options(TaskKind.Options):
        threshold: float = setting(
            0.5, "Threshold", "Probability above which a class counts as present (F1).", ge=0.01, le=0.99
        )
        hidden: int = setting(
            0, "Hidden units", "Width of a GELU hidden layer after pooling; 0: a linear head.", ge=0, le=4096
        )

    def build_head(self, channels: list[int], strides: list[int]) -> torch.nn.Module:
        return PooledHead(channels[-1], self.data.num_classes, self.options.hidden, self.dropout)

    def loss(self, output: torch.Tensor, targets: dict[str, Any]) -> torch.Tensor:
        return F.binary_cross_entropy_with_logits(output.float(), targets["presence"])

    def make_metrics(self) -> TaskMetrics:
        return _MultilabelMetrics(self.data.num_classes, self.options.threshold)

    def export_decode(self) -> dict[str, Any]:
        return {
            "output": "logits (B, C)",
            "steps": [
                "sigmoid",
                "class c is present where its probability > threshold (as the F1 score counts it)",
            ],
            "threshold": self.options.threshold,
            "class_names": list(self.data.class_names),
        }

    def decode(self, output: torch.Tensor) -> list[dict[str, np.ndarray]]:
        probs = output.detach().float().sigmoid().cpu().numpy().astype(np.float32)
        return [{"scores": p} for p in probs]

    def target_items(self, targets: dict[str, Any], count: int) -> list[dict[str, np.ndarray]]:
        return [{"presence": p.astype(np.float32)} for p in targets["presence"][:count].cpu().numpy()]

    def draw(self, prediction, target, score_threshold: float = 0.3) -> DrawSpec:
        prediction, target = prediction or None, target or None  # {} = not labelled
        thr = self.options.threshold
        texts = []
        wrong = False
        predicted = set()
        if prediction is not None:
            # strictly above, as torchmetrics' F1 counts a class present (p > threshold)
            predicted = {i for i, s in enumerate(prediction["scores"]) if s > thr}
        truth = None if target is None else {i for i, p in enumerate(target["presence"]) if p > 0.5}
        if prediction is not None:
            names = ", ".join(
                f"{shown_name(self.class_name(i))} {prediction['scores'][i]:.2f}" for i in sorted(predicted)
            )
            wrong = truth is not None and predicted != truth
            texts.append(DrawText(f"{self.name}: {names or '(none)'}", error=wrong))
        if truth is not None:
            texts.append(
                DrawText(
                    f"{self.name} truth: {names_text(self.class_name(i) for i in sorted(truth)) or '(none)'}"
                )
            )
        return DrawSpec(task=self.name, texts=tuple(texts), has_error=wrong)
