"""Latency of the exported model beside eager PyTorch: batch 1 and 32, CPU (and CUDA)."""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable
from dataclasses import dataclass

import torch

BATCHES = (1, 32)


@dataclass(frozen=True)
class LatencyRow:
    """One cell of the table: ``ms`` is the median milliseconds per batch, None with a ``note``."""

    runtime: str  # "PyTorch eager", "TorchScript", "onnxruntime"
    device: str  # "cpu" or "cuda"
    batch: int
    ms: float | None
    note: str = ""

    @property
    def images_per_s(self) -> float | None:
        return None if not self.ms else self.batch / (self.ms / 1000)


def median_ms(fn: Callable[[], object], device: str, budget_s: float = 2.0, max_runs: int = 50) -> float:
    """Median wall milliseconds of ``fn()`` after one warm-up call: at least 3 runs, more
    while the runs fit ``budget_s`` (at most ``max_runs``). CUDA work is waited for."""

    def timed() -> float:
        start = time.perf_counter()
        fn()
        if device == "cuda":
            torch.cuda.synchronize()
        return (time.perf_counter() - start) * 1000

    timed()  # warm-up: allocations, kernel selection, lazy initialisation
    runs = [timed() for _ in range(3)]
    started = time.perf_counter()
    while len(runs) < max_runs and time.perf_counter() - started + statistics.median(runs) / 1000 < budget_s:
        runs.append(timed())
    return statistics.median(runs)


def format_table(rows: list[LatencyRow]) -> str:
    """The rows as a fixed-width text table (ms per batch and images per second)."""
    lines = [f"{'runtime':<14} {'device':<6} {'batch':>5} {'ms/batch':>10} {'img/s':>9}"]
    for r in rows:
        if r.ms is None:
            lines.append(f"{r.runtime:<14} {r.device:<6} {r.batch:>5} {'–':>10} {'–':>9}  {r.note}")
        else:
            lines.append(f"{r.runtime:<14} {r.device:<6} {r.batch:>5} {r.ms:>10.2f} {r.images_per_s:>9.1f}")
    return "\n".join(lines)
