"""The training speed shown while a run trains: images/s and the time left (ETA).

A step's time runs from asking for its batch to the end of its optimiser step, so data
loading counts (the step's compute alone overstated the speed when images are decoded in
the training thread). The first step of a process is left out once another exists: it
warms allocators, caches and kernels and took 2 s against 0.03 s for the steps after it,
and a running average that began with it still said 76 img/s after 32 steps of 270.
The mean is over the last ``window`` steps, so a slower phase shows within a few seconds.
"""

from __future__ import annotations

import statistics
from collections import deque


class StepRate:
    """Mean seconds per step over the recent steps, the warm-up step left out."""

    def __init__(self, window: int = 20) -> None:
        self._first: float | None = None
        self._recent: deque[float] = deque(maxlen=window)

    def add(self, seconds: float) -> None:
        """Record one step's wall time (s, >= 0)."""
        if self._first is None:
            self._first = seconds
        else:
            self._recent.append(seconds)

    @property
    def seconds_per_step(self) -> float:
        """The mean of the recent steps (s); the first step's own time while it is the only
        one; 0.0 before any step."""
        if self._recent:
            return statistics.fmean(self._recent)
        return self._first or 0.0

    def images_per_s(self, images_per_step: int) -> float:
        """``images_per_step`` / ``seconds_per_step`` (0.0 before any step)."""
        seconds = self.seconds_per_step
        return images_per_step / seconds if seconds > 0 else 0.0
