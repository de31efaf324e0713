"""Task conflict on the shared parameters, from the Gramian of the per-task gradients.

With g_i the gradient of task i's loss on the shared parameters and G = [g_i · g_j]:

- cosine c_ij = G_ij / (|g_i| |g_j|) (0 where a gradient is zero): below 0 the tasks pull
  the shared layers apart (Yu et al. 2020 call this a conflict);
- norm ratio n_i = |g_i| / mean_j |g_j|: which task dominates the shared update.

``ConflictTally`` accumulates the measurements of a run (checkpointed with its state): the
mean cosine per pair, the share of measured steps with a negative cosine per pair and the
mean norm ratio per task, for the summary; and, where it is measured, the mean lookahead
task affinity per ordered pair (``task_affinity``: "a>b" is how a step for a changes b's loss).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import torch


@dataclass(frozen=True)
class ConflictSample:
    """One measurement: ``cos[i][j]`` and ``norm_ratio[i]`` over ``tasks`` (in the run's order)."""

    tasks: tuple[str, ...]
    cos: tuple[tuple[float, ...], ...]
    norm_ratio: tuple[float, ...]
    # lookahead affinity Z[i][j] (``task_affinity``), when measured at this step
    affinity: tuple[tuple[float, ...], ...] | None = None

    def as_dict(self) -> dict[str, Any]:
        out = {
            "tasks": list(self.tasks),
            "cos": [list(r) for r in self.cos],
            "norm_ratio": list(self.norm_ratio),
        }
        if self.affinity is not None:
            out["affinity"] = [list(r) for r in self.affinity]
        return out

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> ConflictSample:
        affinity = data.get("affinity")
        return cls(
            tuple(data["tasks"]),
            tuple(tuple(float(v) for v in row) for row in data["cos"]),
            tuple(float(v) for v in data["norm_ratio"]),
            None if affinity is None else tuple(tuple(float(v) for v in row) for row in affinity),
        )


def conflict_from_gramian(gramian: torch.Tensor, tasks: list[str]) -> ConflictSample | None:
    """The cosines and norm ratios of a (T, T) Gramian; None when it is not finite or T < 2."""
    G = gramian.detach().double().cpu()
    if G.shape != (len(tasks), len(tasks)) or len(tasks) < 2 or not torch.isfinite(G).all():
        return None
    norms = G.diagonal().clamp(min=0).sqrt()
    outer = norms[:, None] * norms[None, :]
    cos = torch.where(outer > 0, G / outer.clamp(min=1e-300), torch.zeros_like(G)).clamp(-1.0, 1.0)
    mean = float(norms.mean())
    ratio = norms / mean if mean > 0 else torch.ones_like(norms)
    return ConflictSample(
        tuple(tasks), tuple(tuple(float(v) for v in row) for row in cos), tuple(float(v) for v in ratio)
    )


def pair_key(a: str, b: str) -> str:
    return f"{a}|{b}"


def affinity_key(source: str, target: str) -> str:
    """An ordered pair: how a step for ``source`` changes ``target``'s loss."""
    return f"{source}>{target}"


@dataclass
class ConflictTally:
    """Sums over the measured steps (plain data: it rides in the checkpoint's state)."""

    count: int = 0
    cos_sum: dict[str, float] = field(default_factory=dict)  # "a|b" -> sum of cosines
    negative: dict[str, int] = field(default_factory=dict)  # "a|b" -> steps with cosine < 0
    pair_count: dict[str, int] = field(default_factory=dict)
    ratio_sum: dict[str, float] = field(default_factory=dict)  # task -> sum of norm ratios
    task_count: dict[str, int] = field(default_factory=dict)
    affinity_sum: dict[str, float] = field(default_factory=dict)  # "a>b" -> sum of Z[a][b]
    affinity_count: dict[str, int] = field(default_factory=dict)

    def add(self, sample: ConflictSample) -> None:
        self.count += 1
        if sample.affinity is not None:
            for i, a in enumerate(sample.tasks):
                for j, b in enumerate(sample.tasks):
                    key = affinity_key(a, b)
                    self.affinity_sum[key] = self.affinity_sum.get(key, 0.0) + sample.affinity[i][j]
                    self.affinity_count[key] = self.affinity_count.get(key, 0) + 1
        for i, a in enumerate(sample.tasks):
            self.ratio_sum[a] = self.ratio_sum.get(a, 0.0) + sample.norm_ratio[i]
            self.task_count[a] = self.task_count.get(a, 0) + 1
            for j in range(i + 1, len(sample.tasks)):
                key = pair_key(a, sample.tasks[j])
                c = sample.cos[i][j]
                self.cos_sum[key] = self.cos_sum.get(key, 0.0) + c
                self.negative[key] = self.negative.get(key, 0) + (1 if c < 0 else 0)
                self.pair_count[key] = self.pair_count.get(key, 0) + 1

    def summary(self) -> dict[str, Any]:
        """{"measurements", "mean_cos": {"a|b": x}, "negative_share": {"a|b": s},
        "mean_norm_ratio": {task: r}}, plus "mean_affinity": {"a>b": z} and
        "affinity_measurements" where lookahead affinity was measured; empty dicts before
        any measurement."""
        out: dict[str, Any] = {
            "measurements": self.count,
            "mean_cos": {k: self.cos_sum[k] / n for k, n in self.pair_count.items() if n},
            "negative_share": {k: self.negative[k] / n for k, n in self.pair_count.items() if n},
            "mean_norm_ratio": {t: self.ratio_sum[t] / n for t, n in self.task_count.items() if n},
        }
        if self.affinity_count:
            out["mean_affinity"] = {k: self.affinity_sum[k] / n for k, n in self.affinity_count.items() if n}
            out["affinity_measurements"] = max(self.affinity_count.values())
        return out

    def as_dict(self) -> dict[str, Any]:
        return {
            "count": self.count,
            "cos_sum": dict(self.cos_sum),
            "negative": dict(self.negative),
            "pair_count": dict(self.pair_count),
            "ratio_sum": dict(self.ratio_sum),
            "task_count": dict(self.task_count),
            "affinity_sum": dict(self.affinity_sum),
            "affinity_count": dict(self.affinity_count),
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any] | None) -> ConflictTally:
        data = data or {}
        return cls(
            int(data.get("count", 0)),
            {k: float(v) for k, v in data.get("cos_sum", {}).items()},
            {k: int(v) for k, v in data.get("negative", {}).items()},
            {k: int(v) for k, v in data.get("pair_count", {}).items()},
            {k: float(v) for k, v in data.get("ratio_sum", {}).items()},
            {k: int(v) for k, v in data.get("task_count", {}).items()},
            {k: float(v) for k, v in data.get("affinity_sum", {}).items()},
            {k: int(v) for k, v in data.get("affinity_count", {}).items()},
        )
