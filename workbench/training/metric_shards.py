"""Validation metrics of a set split into slices, merged as if one pass had seen it all.

A torchrun job validates with every process: process r evaluates a contiguous slice of the
validation set (``shard_range``), exports the state of each task's metrics
(``export_state``: plain tensors, lists and numbers, on the CPU, picklable), and rank 0
merges the others' states into its own in rank order (``merge_state``). Contiguous slices
merged in order keep the images in the order one process sees them, so list states (mAP's
detections, average precision's scores) are the single pass's lists.

The torchmetrics objects inside a ``TaskMetrics`` merge by their declared reductions (sum,
concatenation, max, min); ``TaskMetrics.shard_counters`` are summed and
``TaskMetrics.shard_flags`` or-ed. torchmetrics' own ``merge_state`` is not used: it
refuses metrics with ``full_state_update`` (MeanAveragePrecision) and puts the incoming
list first.
"""

from __future__ import annotations

from typing import Any

import torch


def shard_range(n: int, rank: int, world: int) -> range:
    """Process ``rank``'s contiguous slice of ``range(n)``; slices differ by at most one item
    and rank 0's starts at 0 (it draws the sample predictions from the first images)."""
    if not 0 <= rank < world:
        raise ValueError(f"rank {rank} is not in 0..{world - 1}")
    return range(rank * n // world, (rank + 1) * n // world)


def export_state(task_metrics: Any) -> dict[str, Any]:
    """The mergeable state of one task's ``TaskMetrics``, on the CPU:
    {"metrics": {attr: {"count": updates, "state": {name: tensor | list}}},
    "counters": {attr: int | tensor}, "flags": {attr: bool}}."""
    from torchmetrics import Metric

    out: dict[str, Any] = {"metrics": {}, "counters": {}, "flags": {}}
    for name, value in vars(task_metrics).items():
        if isinstance(value, Metric):
            state = {key: _to(getattr(value, key), torch.device("cpu")) for key in value._defaults}
            out["metrics"][name] = {"count": int(value._update_count), "state": state}
        elif name in task_metrics.shard_counters:
            out["counters"][name] = _to(value, torch.device("cpu"))
        elif name in task_metrics.shard_flags:
            out["flags"][name] = bool(value)
    return out


def merge_state(task_metrics: Any, incoming: dict[str, Any]) -> None:
    """Add a later slice's ``export_state`` to ``task_metrics`` (in place). Raises ValueError
    for a state whose reduction cannot be merged (none of the workbench's metrics has one)."""
    for name, part in incoming["metrics"].items():
        metric = getattr(task_metrics, name)
        _merge_metric(metric, part["state"])
        metric._update_count += part["count"]
        metric._computed = None  # compute() caches its result
    for name, value in incoming["counters"].items():
        local = getattr(task_metrics, name)
        setattr(task_metrics, name, local + (_to(value, local.device) if torch.is_tensor(local) else value))
    for name, value in incoming["flags"].items():
        setattr(task_metrics, name, bool(getattr(task_metrics, name)) or value)


def _merge_metric(metric: Any, state: dict[str, Any]) -> None:
    from torchmetrics.utilities.data import dim_zero_cat, dim_zero_max, dim_zero_min, dim_zero_sum

    device = metric.device
    for key in metric._defaults:
        local, other = getattr(metric, key), _to(state[key], device)
        reduce = metric._reductions[key]
        if isinstance(local, list):
            merged: Any = [*local, *other]  # this slice's images first, as in one pass
        elif reduce is dim_zero_sum:
            merged = local + other
        elif reduce is dim_zero_cat:
            merged = torch.cat([local, other])
        elif reduce is dim_zero_max:
            merged = torch.maximum(local, other)
        elif reduce is dim_zero_min:
            merged = torch.minimum(local, other)
        else:
            raise ValueError(f"cannot merge {type(metric).__name__}.{key}: its reduction is {reduce!r}")
        setattr(metric, key, merged)


def _to(value: Any, device: torch.device) -> Any:
    if torch.is_tensor(value):
        return value.detach().to(device)
    if isinstance(value, list):
        return [_to(v, device) for v in value]
    return value
