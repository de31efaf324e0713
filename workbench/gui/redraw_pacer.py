"""Paces redraws so that drawing never takes more than a fixed share of a CPU core.

Training runs its compute threads on every core; each millisecond the GUI thread spends
painting is taken from them (and a parallel op waits for its slowest thread). The pacer
measures what a frame really costs (the update plus the paint it triggers) and spaces
frames so that cost stays under ``budget`` of the elapsed time: at the base rate when
frames are cheap, proportionally slower when they are not (many plots, a slow screen).

Each frame pays for itself: the wait after a frame is its own cost divided by the budget.
A moving average would let one outlier (a relayout repaints every plot at once: 100-200 ms
at an epoch end) slow the next dozen frames as well, leaving plots 10 s stale for nothing.
"""

from __future__ import annotations

import time
from typing import Any

from workbench.gui.plotting_lib import pg

# Share of one core drawing may take. While a run computes on the CPU with a thread per
# core, every millisecond the GUI thread draws is taken from training (a parallel op waits
# for its slowest thread): bench_gui_replay measured the GUI thread at 2.0 % of a core with
# a 1 % budget against 2.9 % with 2 %, each plot then redrawn every 7.8 s instead of 3.5 s.
# With a core to spare (training on a GPU, on fewer threads than cores, or no run at all)
# drawing takes nothing from training, and plots are redrawn about once a second.
BUDGET_CORES_BUSY = 0.01
BUDGET_CORES_SPARE = 0.05


def draw_budget(device: str, threads: int, cpus: int | None) -> float:
    """The drawing budget (share of one core) while a run trains on ``device`` ("cpu",
    "cuda:0", ...) with ``threads`` compute threads (0: PyTorch's default, one per core) on
    a machine with ``cpus`` logical CPUs (None: unknown, taken as busy)."""
    on_cpu = str(device).split(":")[0].strip().lower() == "cpu"
    spare = cpus is not None and 0 < threads < cpus
    return BUDGET_CORES_BUSY if on_cpu and not spare else BUDGET_CORES_SPARE


def draw_budget_for_run(config: dict[str, Any] | None, device: str, cpus: int | None) -> float:
    """``draw_budget`` for a run described by its config dict (``RunStarted.config``)."""
    train = (config or {}).get("train") or {}
    try:
        threads = int(train.get("threads") or 0)
    except (TypeError, ValueError):
        threads = 0
    return draw_budget(device, threads, cpus)


class RedrawPacer:
    def __init__(
        self, base_interval_s: float = 0.125, budget: float = BUDGET_CORES_SPARE, max_interval_s: float = 2.0
    ) -> None:
        self.base_interval_s = base_interval_s
        self.budget = budget
        self.max_interval_s = max_interval_s
        self.frame_cost_s = 0.0  # moving average of a frame's cost (for reports)
        self.last_cost_s = 0.0  # what the last frame cost (spaces the next one)
        self._next_allowed = 0.0
        self._pending_cost = 0.0

    def add_cost(self, seconds: float) -> None:
        """Time spent on drawing (update or paint) since the last frame was measured."""
        self._pending_cost += seconds

    def ready(self, now: float | None = None) -> bool:
        return (time.perf_counter() if now is None else now) >= self._next_allowed

    def frame_done(self, now: float | None = None) -> None:
        """Close the books on a frame: update the cost estimate, schedule the next one."""
        now = time.perf_counter() if now is None else now
        cost, self._pending_cost = self._pending_cost, 0.0
        self.last_cost_s = cost
        self.frame_cost_s = cost if self.frame_cost_s == 0 else 0.7 * self.frame_cost_s + 0.3 * cost
        self._next_allowed = now + self.interval_s

    @property
    def interval_s(self) -> float:
        """Seconds from the last frame to the next: its cost over the budget, within
        [base_interval_s, max_interval_s]."""
        return min(self.max_interval_s, max(self.base_interval_s, self.last_cost_s / self.budget))


class MeteredLayoutWidget(pg.GraphicsLayoutWidget):
    """A GraphicsLayoutWidget that reports how long its paints take to a RedrawPacer."""

    def __init__(self, pacer: RedrawPacer, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.pacer = pacer

    def paintEvent(self, event) -> None:  # noqa: N802 - Qt override
        t0 = time.perf_counter()
        super().paintEvent(event)
        self.pacer.add_cost(time.perf_counter() - t0)
