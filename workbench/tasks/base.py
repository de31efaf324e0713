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

from workbench.config import from_dict, validate_fields
from workbench.data.base import DataInfo, subset_targets
from workbench.tasks.drawing import DrawSpec


class TaskMetrics:
    """Accumulates one task's validation metrics over batches (torchmetrics inside).

    ``update`` receives only samples that have the task's target. ``compute`` returns a
    float per metric, or None where the metric is undefined on what it saw (no labelled
    sample, or no class present). It never returns NaN.

    Convention for every per-class (macro) average, as COCO does for mAP: a class enters
    the mean only when it occurs in the validation ground truth; classes absent from it are
    left out, whatever was predicted for them (false positives of such a class still cost
    the classes they were confused with). Micro metrics (accuracy, pixel accuracy) count
    every labelled sample or pixel.
    """

    # What a validation split across processes adds up (``training/metric_shards``): the
    # torchmetrics objects merge their states; these attributes (ints or tensors) are
    # summed and these booleans or-ed. Every other attribute is configuration, left alone.
    shard_counters: ClassVar[tuple[str, ...]] = ("seen", "support")
    shard_flags: ClassVar[tuple[str, ...]] = ("updated",)

    def update(self, output: Any, targets: dict[str, Any]) -> None:
        raise NotImplementedError

    def compute(self) -> dict[str, float | None]:
        raise NotImplementedError


def mean_over_present(per_class: torch.Tensor, support: torch.Tensor) -> float | None:
    """Mean of ``per_class`` (C,) over classes with ``support`` > 0; None when none has."""
    present = support.to(per_class.device) > 0
    if not bool(present.any()):
        return None
    return float(per_class[present].float().mean())


def _batch_size(output: Any) -> int:
    if isinstance(output, dict):
        return int(next(iter(output.values())).shape[0])
    return int(output.shape[0])


def select(output: Any, keep: torch.Tensor) -> Any:
    """The rows of a head's output (a tensor or a dict of tensors) where ``keep`` is True."""
    if isinstance(output, dict):
        return {k: v[keep.to(v.device)] for k, v in output.items()}
    return output[keep.to(output.device)]


def zero_loss(output: Any) -> torch.Tensor:
    """A zero loss still connected to the head's output (a batch with no labelled sample)."""
    tensors = output.values() if isinstance(output, dict) else [output]
    return sum(t.float().sum() for t in tensors) * 0.0


class TaskKind:
    """Base class of task kinds. Subclasses set the class attributes and methods below."""

    kind: ClassVar[str]
    description: ClassVar[str] = ""
    target_key: ClassVar[str]  # which dataset target this kind learns
    metric_names: ClassVar[tuple[str, ...]]
    metric_labels: ClassVar[dict[str, str]] = {}  # metric name -> label in tables and plots
    primary_metric: ClassVar[str]
    # the primary metric's direction, and every other metric's unless named in
    # ``metric_directions`` (counting: MAE is lower-is-better, the exact-count rate higher)
    higher_is_better: ClassVar[bool] = True
    metric_directions: ClassVar[dict[str, bool]] = {}
    # False where the batch loss is a mean over pixels or objects, not over samples: the
    # validation loss then takes each image's own loss (``image_losses``)
    loss_is_mean_over_samples: ClassVar[bool] = True
    # the fewest classes the kind's metrics are defined for (a 1-class classification has
    # no choice to score: torchmetrics refuses it, mid-run, as a raw ValueError)
    min_classes: ClassVar[int] = 1

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
        validate_fields(opts, path)  # limits declared as field metadata (``setting``)
        opts.validate(path)
        return opts

    @classmethod
    def option_fields(cls) -> list[dataclasses.Field]:
        return list(dataclasses.fields(cls.Options))

    @classmethod
    def supported_by(cls, data: DataInfo) -> bool:
        return cls.target_key in data.target_keys

    @classmethod
    def metric_higher_is_better(cls, name: str) -> bool:
        """Whether a larger value of metric ``name`` is better (early stopping, best marks)."""
        return cls.metric_directions.get(name, cls.higher_is_better)

    @classmethod
    def metric_label(cls, name: str) -> str:
        return cls.metric_labels.get(name, name)

    # -- partial labels: samples without this task's target are left out
    def present(self, targets: dict[str, Any]) -> torch.Tensor | None:
        """Bool (B,) of the samples that have this task's target; None when all have it."""
        has = targets.get("has", {}).get(self.target_key)
        if has is None or bool(has.all()):
            return None
        return has

    def loss_present(self, targets: dict[str, Any]) -> torch.Tensor | None:
        """Bool (B,) of the samples that have a loss for this task; None when all have one.
        ``present`` by default; a kind whose target can be wholly ignored (a mask of
        ignore pixels only) leaves those samples out too, as its loss is undefined there."""
        return self.present(targets)

    def masked_loss(self, output: Any, targets: dict[str, Any]) -> tuple[torch.Tensor, int]:
        """(mean loss over the labelled samples, their number); a zero loss when there are none."""
        keep = self.loss_present(targets)
        if keep is None:
            return self.loss(output, targets), _batch_size(output)
        count = int(keep.sum())
        if count == 0:
            return zero_loss(output), 0
        return self.loss(select(output, keep), subset_targets(targets, keep)), count

    def image_losses(self, output: Any, targets: dict[str, Any]) -> tuple[float, int]:
        """(sum over the labelled samples of each one's own loss, their number), for the
        validation loss: a mean per image that does not depend on how images are batched.
        (A batch's loss is a mean over its pixels or objects, so the batch mean times the
        batch's images changed with the batch size, 6x in one case.)"""
        if self.loss_is_mean_over_samples:  # each sample weighs the same in the batch mean
            loss, count = self.masked_loss(output, targets)
            return float(loss) * count, count
        keep = self.loss_present(targets)
        n = _batch_size(output)
        rows = list(range(n)) if keep is None else keep.nonzero().flatten().tolist()
        losses = []
        for i in rows:
            one = torch.zeros(n, dtype=torch.bool)
            one[i] = True
            losses.append(self.loss(select(output, one), subset_targets(targets, one)).float())
        # one transfer per batch, not one per image
        return (float(torch.stack(losses).sum()) if losses else 0.0), len(rows)

    def masked_update(self, metrics: TaskMetrics, output: Any, targets: dict[str, Any]) -> int:
        """Update ``metrics`` with the labelled samples only; returns how many there were."""
        keep = self.present(targets)
        if keep is None:
            metrics.update(output, targets)
            return _batch_size(output)
        count = int(keep.sum())
        if count:
            metrics.update(select(output, keep), subset_targets(targets, keep))
        return count

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

    def export_decode(self) -> dict[str, Any]:
        """How an exported model's raw output of this task becomes predictions, for the
        ``decode.json`` beside an export: plain JSON values (steps as text, thresholds,
        class names). Every task kind implements it; ``workbench export`` names a kind that
        does not."""
        raise NotImplementedError(f"task kind {self.kind!r} does not describe its export (export_decode)")

    def class_name(self, class_id: int) -> str:
        names = self.data.class_names
        return names[class_id] if 0 <= class_id < len(names) else str(class_id)
