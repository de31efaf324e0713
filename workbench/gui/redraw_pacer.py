"""Paces redraws so that drawing never takes more than a fixed share of a CPU core.

Training runs its compute threads on every core; each millisecond the GUI thread spends
painting is taken from them (and a parallel op waits for its slowest thread). The pacer
measures what a frame really costs (the update plus the paint it triggers) and spaces
frames so that cost stays under ``budget`` of the elapsed time: at the base rate when
frames are cheap, proportionally slower when they are not (many plots, a slow screen).
"""

from __future__ import annotations

import time

import pyqtgraph as pg


class RedrawPacer:
    def __init__(
        self, base_interval_s: float = 0.125, budget: float = 0.05, max_interval_s: float = 2.0
    ) -> None:
        self.base_interval_s = base_interval_s
        self.budget = budget
        self.max_interval_s = max_interval_s
        self.frame_cost_s = 0.0  # moving estimate of one frame's cost
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
        self.frame_cost_s = cost if self.frame_cost_s == 0 else 0.7 * self.frame_cost_s + 0.3 * cost
        interval = min(self.max_interval_s, max(self.base_interval_s, self.frame_cost_s / self.budget))
        self._next_allowed = now + interval

    @property
    def interval_s(self) -> float:
        return min(self.max_interval_s, max(self.base_interval_s, self.frame_cost_s / self.budget))


class MeteredLayoutWidget(pg.GraphicsLayoutWidget):
    """A GraphicsLayoutWidget that reports how long its paints take to a RedrawPacer."""

    def __init__(self, pacer: RedrawPacer, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.pacer = pacer

    def paintEvent(self, event) -> None:  # noqa: N802 - Qt override
        t0 = time.perf_counter()
        super().paintEvent(event)
        self.pacer.add_cost(time.perf_counter() - t0)
