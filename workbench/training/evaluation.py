"""Validation pass (losses, metrics, sample predictions) and inference latency."""

from __future__ import annotations

import contextlib
import dataclasses
import os
import time
from collections.abc import Callable
from dataclasses import dataclass
from types import SimpleNamespace
from typing import Any

import numpy as np
import torch

from workbench.data.base import collate, move_targets
from workbench.models.meta_lock import META_LOCK
from workbench.tasks.base import TaskKind
from workbench.tasks.task_errors import check_metric_values, in_task
from workbench.training.device import Precision
from workbench.training.events import SamplesReady


def needed_targets(tasks: list[TaskKind]) -> frozenset[str]:
    """The dataset targets these tasks read (detection reads labels beside boxes)."""
    keys = {t.target_key for t in tasks}
    if "boxes" in keys:
        keys.add("labels")
    return frozenset(keys)


@dataclass
class Validation:
    """What one validation pass measured.

    ``losses[task]`` is the mean over the images that have the task's target of each
    image's own loss (``TaskKind.image_losses``: the same at any batch size), None when
    none has; ``metrics[task][name]`` a float or None (undefined, see TaskMetrics);
    ``samples`` the first ``num_samples`` images with targets and predictions, or None.
    """

    losses: dict[str, float | None]
    metrics: dict[str, dict[str, float | None]]
    samples: SamplesReady | None
    counts: dict[str, int] = dataclasses.field(default_factory=dict)  # images labelled per task


class _SampleCollector:
    """Keeps the first ``limit`` validation images with targets and predictions, across batches."""

    def __init__(self, tasks: list[TaskKind], limit: int, epoch: int) -> None:
        self.tasks, self.limit, self.epoch = tasks, limit, epoch
        self.images: list[np.ndarray] = []
        self.targets: dict[str, list[dict[str, np.ndarray]]] = {t.name: [] for t in tasks}
        self.predictions: dict[str, list[dict[str, np.ndarray]]] = {t.name: [] for t in tasks}
        self.count = 0

    @property
    def full(self) -> bool:
        return self.count >= self.limit

    def add(self, images: torch.Tensor, targets: dict[str, Any], outputs: dict[str, Any]) -> None:
        k = min(self.limit - self.count, len(images))
        if k <= 0:
            return
        self.images.append(images[:k].permute(0, 2, 3, 1).contiguous().cpu().numpy().astype(np.uint8))
        for t in self.tasks:
            items = t.target_items(targets, k) if t.target_key in targets else [{} for _ in range(k)]
            has = targets.get("has", {}).get(t.target_key)
            if has is not None:  # unlabelled images get an empty target (drawn without truth)
                flags = has[:k].tolist()
                items = [item if ok else {} for item, ok in zip(items, flags, strict=True)]
            self.targets[t.name].extend(items)
            with in_task(t, outputs.get(t.name), "decode"):
                self.predictions[t.name].extend(t.decode(_first(outputs[t.name], k)))
        self.count += k

    def result(self) -> SamplesReady | None:
        if not self.count:
            return None
        return SamplesReady(
            epoch=self.epoch,
            images=np.concatenate(self.images),
            targets=self.targets,
            predictions=self.predictions,
        )


@dataclass
class Accumulated:
    """A validation pass before its metrics are computed: per task the summed loss and the
    labelled images, the metric states, and the sample predictions. Slices of one set
    (a torchrun job's processes) merge into one with ``merge``."""

    loss_sums: dict[str, float]
    counts: dict[str, int]
    metrics: dict[str, Any]  # task -> TaskMetrics
    samples: SamplesReady | None = None

    def export(self) -> dict[str, Any]:
        """This slice's losses, counts and metric states as plain picklable data (CPU)."""
        from workbench.training.metric_shards import export_state

        return {
            "loss_sums": dict(self.loss_sums),
            "counts": dict(self.counts),
            "metrics": {name: export_state(m) for name, m in self.metrics.items()},
        }

    def merge(self, later: dict[str, Any]) -> None:
        """Add a later slice's ``export()`` (slices merged in order give one pass's result)."""
        from workbench.training.metric_shards import merge_state

        for name in self.loss_sums:
            self.loss_sums[name] += later["loss_sums"][name]
            self.counts[name] += later["counts"][name]
            merge_state(self.metrics[name], later["metrics"][name])

    def result(self) -> Validation:
        losses = {
            name: (s / self.counts[name] if self.counts[name] else None) for name, s in self.loss_sums.items()
        }
        metrics = {}
        for name, m in self.metrics.items():
            kind, expected = getattr(m, "workbench_expected", (getattr(m, "kind", "?"), None))
            with in_task(SimpleNamespace(name=name, kind=kind), None, "metrics (compute)"):
                metrics[name] = check_metric_values(m.compute(), expected)
        return Validation(losses, metrics, self.samples, dict(self.counts))


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
    should_stop: Callable[[], bool] | None = None,
    tick: Callable[[], None] | None = None,
) -> Validation | None:
    """Mean loss and metrics per task over ``dataset``; predictions on its first images.

    ``should_stop`` is polled between batches: when it returns True the pass ends and
    the result is None. ``tick`` is called after every batch (a heartbeat).
    """
    acc = accumulate(
        model, tasks, dataset, batch_size, device, precision, num_samples, epoch, should_stop, tick
    )
    return None if acc is None else acc.result()


@torch.no_grad()
def accumulate(
    model: torch.nn.Module,
    tasks: list[TaskKind],
    dataset: Any,
    batch_size: int,
    device: torch.device,
    precision: Precision,
    num_samples: int = 16,
    epoch: int = 0,
    should_stop: Callable[[], bool] | None = None,
    tick: Callable[[], None] | None = None,
    indices: range | None = None,
) -> Accumulated | None:
    """``evaluate`` without the final compute, over ``indices`` of ``dataset`` (all of it by
    default): batches of ``batch_size`` from the slice's start; samples from its first
    images. None when ``should_stop`` said so."""
    was_training = model.training
    model.eval()
    try:
        keys = needed_targets(tasks)
        metrics = {t.name: t.make_metrics() for t in tasks}
        for t in tasks:
            _compute_locally(metrics[t.name])
            # what compute() must give, checked in ``Accumulated.result`` (a metric left
            # out vanished from the curves and the summary without a word)
            with contextlib.suppress(AttributeError):
                metrics[t.name].workbench_expected = (t.kind, tuple(t.metric_names))
        loss_sums = {t.name: 0.0 for t in tasks}
        counts = {t.name: 0 for t in tasks}
        collector = _SampleCollector(tasks, num_samples, epoch)
        span = range(len(dataset)) if indices is None else indices
        for start in range(0, len(span), batch_size):
            if should_stop is not None and should_stop():
                return None
            batch = span[start : start + batch_size]
            # an image that cannot be decoded is left out, not replaced (nothing counts twice)
            samples = [s for s in (dataset.sample(i) for i in batch) if not s.get("stand_in")]
            if not samples:
                continue
            images, targets = collate(samples, keys)
            targets.pop("problems", None)
            images = images.to(device)
            targets = move_targets(targets, device)
            with META_LOCK, precision.autocast():  # see workbench.models.meta_lock
                outputs = model(images)
                losses = {}
                for t in tasks:
                    with in_task(t, outputs.get(t.name), "validation loss"):
                        losses[t.name] = t.image_losses(outputs[t.name], targets)
            for t in tasks:
                loss_sum, count = losses[t.name]
                loss_sums[t.name] += loss_sum
                counts[t.name] += count
                with in_task(t, outputs.get(t.name), "metrics"):
                    t.masked_update(metrics[t.name], outputs[t.name], targets)
            if not collector.full:
                collector.add(images, targets, outputs)
            if tick is not None:
                tick()
    finally:
        model.train(was_training)
    return Accumulated(loss_sums, counts, metrics, collector.result())


def _compute_locally(metrics: Any) -> None:
    """Keep torchmetrics from gathering states across processes in ``compute``: in a
    distributed run each process validates a slice and rank 0 merges the slices' states
    itself (``Accumulated.merge``), computing alone; a gather there would wait for the
    others forever. Walks the task metrics' attributes (and their lists
    and dicts) for torchmetrics' Metric objects."""
    from torchmetrics import Metric

    stack, seen = [metrics], set()
    while stack:
        obj = stack.pop()
        if id(obj) in seen:
            continue
        seen.add(id(obj))
        if isinstance(obj, Metric):
            obj.sync_on_compute = False
            obj._to_sync = False  # what compute() reads; set from sync_on_compute by update()
        values = obj.values() if isinstance(obj, dict) else obj if isinstance(obj, (list, tuple)) else None
        if values is None and hasattr(obj, "__dict__") and not isinstance(obj, type):
            values = [v for k, v in vars(obj).items() if not k.startswith("__")]
        if values is not None and (obj is metrics or not isinstance(obj, Metric)):
            stack.extend(values)


def _first(output: Any, k: int) -> Any:
    if isinstance(output, dict):
        return {key: v[:k] for key, v in output.items()}
    return output[:k]


@torch.no_grad()
def machine_load() -> float | None:
    """The machine's 1-minute load average per CPU core, as the latency is measured (None
    where the system does not say). Above 1, processes waited for a core: a latency taken
    then says more about the machine than the model (a sweep measured 571 ms for a model
    that takes 24 ms, at a load of 5 per core)."""
    try:
        return round(os.getloadavg()[0] / (os.cpu_count() or 1), 2)
    except (AttributeError, OSError):
        return None


def measure_latency(
    model: torch.nn.Module, dataset: Any, device: torch.device, precision: Precision, budget_s: float = 1.0
) -> float:
    """Milliseconds for one image through the whole network (batch 1): the fastest of up to
    200 timed calls within ``budget_s`` (at least 10 of them, within 5 x ``budget_s``). The
    minimum, not the median, because on a shared machine other processes only ever add time
    (the median was seen 70x too high under load)."""
    was_training = model.training
    model.eval()
    images, _ = collate([dataset.sample(0)])
    images = images.to(device)
    times = []
    start = time.perf_counter()
    deadline = start + budget_s
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
        now = time.perf_counter()
        # at least 10 timed calls (the fastest of 3 says little on a loaded machine),
        # unless a slow network would take past 5 budgets for them
        if now > deadline and (len(times) >= 10 or now > start + 5 * budget_s) and times:
            break
    model.train(was_training)
    return float(np.min(times) * 1000)
