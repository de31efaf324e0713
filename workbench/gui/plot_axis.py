"""The x and y axes of the workbench's live plots (pyqtgraph ``AxisItem``).

Log y labels only the 1-2-5 ticks of a decade; a wall-time x axis reads "m:ss"; step and
wall-time axes tick whole numbers only. Torch-free.
"""

from __future__ import annotations

import math

import pyqtgraph as pg


def format_clock(seconds: float) -> str:
    """Seconds as "m:ss" or "h:mm:ss" (axis ticks and the read-out)."""
    if not math.isfinite(seconds):
        return ""
    sign = "-" if seconds < 0 else ""
    total = int(round(abs(seconds)))
    hours, rest = divmod(total, 3600)
    minutes, secs = divmod(rest, 60)
    return f"{sign}{hours}:{minutes:02d}:{secs:02d}" if hours else f"{sign}{minutes}:{secs:02d}"


def format_clock_tenths(seconds: float) -> str:
    """Seconds as "m:ss.s" (ticks less than a second apart)."""
    if not math.isfinite(seconds):
        return ""
    sign = "-" if seconds < 0 else ""
    minutes, secs = divmod(round(abs(seconds), 1), 60)
    return f"{sign}{int(minutes)}:{secs:04.1f}"


class PlotAxis(pg.AxisItem):
    """Log y: label only the 1-2-5 ticks of a decade. Time x: ticks as m:ss. Step and time x:
    whole-number ticks only."""

    time_mode = False
    # Steps are counted and clock ticks print whole seconds: a tick at step 14.8 (one point
    # fitted to a narrow range) or two "0:01" labels would be nonsense. Epochs may be
    # fractional (a step half-way through epoch 3 sits at 2.5).
    whole_numbers = False

    def tickSpacing(self, minVal, maxVal, size):  # noqa: N802, N803 - pyqtgraph override
        levels = super().tickSpacing(minVal, maxVal, size)
        if not self.whole_numbers or self.logMode or not levels:
            return levels
        if self.time_mode and maxVal - minVal < 3:
            # a run of a second or two: tenths, not one lone "0:01" tick (and no finer: a
            # label shows tenths)
            return [(spacing, offset) for spacing, offset in levels if spacing >= 0.1] or [(0.1, 0.0)]
        whole = [(spacing, offset) for spacing, offset in levels if spacing >= 1]
        return whole or [(1.0, 0.0)]

    def tickStrings(self, values, scale, spacing):  # noqa: N802 - pyqtgraph override
        if self.time_mode and not self.logMode:
            if spacing * scale < 1:  # sub-second ticks: "0:00.5"
                return [format_clock_tenths(float(v) * scale) for v in values]
            return [format_clock(float(v) * scale) for v in values]
        return super().tickStrings(values, scale, spacing)

    def logTickStrings(self, values, scale, spacing):  # noqa: N802 - pyqtgraph override
        strings = super().logTickStrings(values, scale, spacing)
        if len(values) <= 3:
            return strings
        kept = []
        for value, text in zip(values, strings, strict=False):
            mantissa = 10 ** (float(value) - math.floor(float(value)))
            kept.append(text if any(abs(mantissa - m) < 1e-6 * m for m in (1.0, 2.0, 5.0)) else "")
        return kept if sum(1 for t in kept if t) >= 2 else strings
