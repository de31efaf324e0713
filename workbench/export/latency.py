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
    """One cell of the table: ``ms`` is the median milliseconds per batch, None with a
    ``note``; ``spread_ms`` the interquartile range of the ``runs`` timed runs."""

    runtime: str  # "PyTorch eager", "TorchScript", "onnxruntime"
    device: str  # "cpu" or "cuda"
    batch: int
    ms: float | None
    note: str = ""
    spread_ms: float | None = None
    runs: int = 0

    @property
    def images_per_s(self) -> float | None:
        return None if not self.ms else self.batch / (self.ms / 1000)


def median_ms(fn: Callable[[], object], device: str, budget_s: float = 2.0, max_runs: int = 50) -> float:
    """Median wall milliseconds of ``fn()`` (``timed_runs``)."""
    return statistics.median(timed_runs(fn, device, budget_s, max_runs))


def timed_runs(
    fn: Callable[[], object], device: str, budget_s: float = 2.0, max_runs: int = 50
) -> list[float]:
    """Wall milliseconds of each run of ``fn()`` after one warm-up call: at least 3 runs, more
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
    return runs


def interquartile_ms(runs: list[float]) -> float:
    """Q3 - Q1 of the runs (statistics.quantiles, "inclusive"): how steady the timing was."""
    q1, _, q3 = statistics.quantiles(runs, n=4, method="inclusive")
    return q3 - q1


def format_table(rows: list[LatencyRow]) -> str:
    """The rows as a fixed-width text table: median ms per batch, the interquartile range of
    the runs (ms), how many runs, and images per second at the median."""
    lines = [
        f"{'runtime':<14} {'device':<6} {'batch':>5} {'ms/batch':>10} {'IQR ms':>8} {'runs':>4} {'img/s':>9}"
    ]
    for r in rows:
        if r.ms is None:
            lines.append(
                f"{r.runtime:<14} {r.device:<6} {r.batch:>5} {'–':>10} {'–':>8} {'–':>4} {'–':>9}  {r.note}"
            )
        else:
            spread = f"{r.spread_ms:.2f}" if r.spread_ms is not None else "–"
            lines.append(
                f"{r.runtime:<14} {r.device:<6} {r.batch:>5} {r.ms:>10.2f} {spread:>8} {r.runs:>4} "
                f"{r.images_per_s:>9.1f}" + ("  !" if unsteady(r) else "")
            )
    if any(unsteady(r) for r in rows):
        lines.append(
            f"! unsteady: the runs' IQR is over {UNSTEADY:.0%} of their median (other work on the machine?); "
            "time it again when the machine is quiet before comparing runtimes"
        )
    return "\n".join(lines)


UNSTEADY = 0.25  # IQR / median above which a row's median is not to be trusted


def unsteady(row: LatencyRow) -> bool:
    """Whether ``row``'s repeats spread so widely that its median says little (a busy
    machine: threads waiting for cores can make one model run 100x slower than the next)."""
    return bool(row.ms) and row.spread_ms is not None and row.spread_ms > UNSTEADY * row.ms
