"""Δm: how much a multi-task model gains or loses against single-task baselines.

Two conventions, both in percent:

``"maninis"`` (Maninis, Radosavovic and Kokkinos, "Attentive Single-Tasking of Multiple
Tasks", CVPR 2019; the convention of the Nash-MTL, CAGrad and FAMO tables):

    Δm = 100 / K · Σ_k (-1)^{h_k} (M_mtl,k - M_stl,k) / |M_stl,k|

over all K metrics of all tasks, h_k = 1 when higher is better. **Lower is better**:
negative Δm means the multi-task model is better on average.

``"libmtl"`` (LibMTL's ``count_improvement``, "Δp"): the same signed relative changes with
the opposite sign (**higher is better**), averaged first over each task's metrics, then
over tasks, so a task with many metrics does not outweigh one with a single metric.

With one metric per task the two conventions are exact negatives of each other.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

CONVENTIONS = ("maninis", "libmtl")

Values = float | Sequence[float]
Flags = bool | Sequence[bool]


@dataclass(frozen=True)
class DeltaM:
    """``value``: Δm in percent under ``convention``; ``per_task``: each task's relative
    change in percent, signed so that **positive is better** (the mean over its metrics)."""

    value: float
    convention: str
    per_task: dict[str, float]


def _as_list(value: Values | Flags, what: str) -> list:
    if isinstance(value, (bool, int, float)):
        return [value]
    values = list(value)
    if not values:
        raise ValueError(f"{what}: no metrics")
    return values


def delta_m(
    mtl: Mapping[str, Values],
    stl: Mapping[str, Values],
    higher_is_better: Mapping[str, Flags],
    convention: str = "maninis",
) -> DeltaM:
    """Δm of ``mtl`` against ``stl``.

    Args:
        mtl, stl: task -> its metric value, or a sequence of values (several metrics per
            task, in the same order in both).
        higher_is_better: task -> a flag, or one flag per metric.
        convention: "maninis" (lower is better; mean over all metrics) or "libmtl"
            (higher is better; mean over each task's metrics, then over tasks).

    Returns:
        DeltaM with the value in percent and the per-task relative changes in percent.

    Raises:
        ValueError: an unknown convention, tasks or metric counts that do not match, a
            baseline value of 0 (no relative change), or a value that is not finite.
    """
    if convention not in CONVENTIONS:
        raise ValueError(f"unknown Δm convention {convention!r}; choose one of: {', '.join(CONVENTIONS)}")
    if set(mtl) != set(stl) or set(mtl) != set(higher_is_better):
        raise ValueError(
            f"the tasks differ: multi-task {sorted(mtl)}, single-task {sorted(stl)}, "
            f"higher_is_better {sorted(higher_is_better)}"
        )
    if not mtl:
        raise ValueError("no tasks to compare")
    gains: dict[str, list[float]] = {}  # task -> signed relative change per metric, positive = better
    for task in mtl:
        m, s = _as_list(mtl[task], task), _as_list(stl[task], task)
        flags = _as_list(higher_is_better[task], task)
        if len(flags) == 1:
            flags = flags * len(m)
        if not len(m) == len(s) == len(flags):
            raise ValueError(
                f"{task}: {len(m)} multi-task and {len(s)} single-task metrics, {len(flags)} flags"
            )
        gains[task] = []
        for mv, sv, higher in zip(m, s, flags, strict=True):
            mv, sv = float(mv), float(sv)
            if not (math.isfinite(mv) and math.isfinite(sv)):
                raise ValueError(f"{task}: a metric is not finite ({mv}, {sv})")
            if sv == 0:
                raise ValueError(f"{task}: the single-task value is 0, so there is no relative change")
            change = (mv - sv) / abs(sv)
            gains[task].append(change if higher else -change)
    per_task = {t: 100.0 * sum(g) / len(g) for t, g in gains.items()}
    if convention == "maninis":
        every = [g for task_gains in gains.values() for g in task_gains]
        value = -100.0 * sum(every) / len(every)
    else:
        value = sum(per_task.values()) / len(per_task)
    return DeltaM(value, convention, per_task)
