"""The contract every task kind fulfils: head, loss, metrics, decode and drawing spec.

A task kind is a class registered in ``TASK_KINDS``; an experiment makes one instance per
configured task. Targets arrive as the dataset collates them (see ``workbench.data.base``),
already on the model's device.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any, ClassVar

import numpy as np
import torch
from torch import nn

from workbench.config import ConfigError, from_dict
from workbench.data.base import DataInfo
from workbench.tasks.drawing import DrawSpec


class TaskMetrics:
    """Accumulates one task's validation metrics over batches (torchmetrics inside)."""

    def update(self, output: Any, targets: dict[str, Any]) -> None:
        raise NotImplementedError

    def compute(self) -> dict[str, float]:
        raise NotImplementedError


class TaskKind:
    """Base class of task kinds. Subclasses set the class attributes and methods below."""

    kind: ClassVar[str]
    description: ClassVar[str] = ""
    target_key: ClassVar[str]  # which dataset target this kind learns
    metric_names: ClassVar[tuple[str, ...]]
    primary_metric: ClassVar[str]
    higher_is_better: ClassVar[bool] = True

    @dataclass
    class Options:
        def validate(self, path: str) -> None:  # noqa: B027 - optional hook
            pass

    def __init__(self, name: str, options: dict[str, Any], data: DataInfo, dropout: float = 0.0) -> None:
        self.name = name
        self.options = self.parse_options(options, f"task {name!r} options")
        self.data = data
        self.dropout = dropout

    @classmethod
    def parse_options(cls, options: dict[str, Any], path: str) -> Any:
        opts = from_dict(cls.Options, options, path)
        opts.validate(path)
        return opts

    @classmethod
    def option_fields(cls) -> list[dataclasses.Field]:
        return list(dataclasses.fields(cls.Options))

    @classmethod
    def supported_by(cls, data: DataInfo) -> bool:
        return cls.target_key in data.target_keys

    # -- model side
    def build_head(self, channels: list[int], strides: list[int]) -> nn.Module:
        """A head taking the list of features along this task's path (shallow to deep)."""
        raise NotImplementedError

    def loss(self, output: Any, targets: dict[str, Any]) -> torch.Tensor:
        raise NotImplementedError

    def make_metrics(self) -> TaskMetrics:
        raise NotImplementedError

    # -- predictions as plain data
    def decode(self, output: Any) -> list[dict[str, np.ndarray]]:
        """Per-image predictions as numpy arrays."""
        raise NotImplementedError

    def target_items(self, targets: dict[str, Any], count: int) -> list[dict[str, np.ndarray]]:
        """Per-image ground truth of this task as numpy arrays."""
        raise NotImplementedError

    def draw(
        self,
        prediction: dict[str, np.ndarray] | None,
        target: dict[str, np.ndarray] | None,
        score_threshold: float = 0.3,
    ) -> DrawSpec:
        raise NotImplementedError

    def class_name(self, class_id: int) -> str:
        names = self.data.class_names
        return names[class_id] if 0 <= class_id < len(names) else str(class_id)


def check_options_range(path: str, name: str, value: float, low: float, high: float) -> None:
    if not low <= value <= high:
        raise ConfigError(f"{path}.{name}", f"must be between {low} and {high}, got {value}")
