"""The x and y axes of the workbench's live plots (pyqtgraph ``AxisItem``).

Log y labels only the 1-2-5 ticks of a decade (evenly spaced ticks when the range is
inside one decade); a wall-time x axis reads "m:ss"; step and
wall-time axes tick whole numbers only; y ticks under 0.01 or from 1e5 read "1.5e-4".
Torch-free.
"""

from __future__ import annotations

import math

from workbench.gui.plotting_lib import pg


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


def format_scientific(value: float, spacing: float) -> str:
    """A tick as "1.5e-4": the mantissa's digits just enough for ticks ``spacing`` apart,
    no "+" or leading zero in the exponent."""
    if value == 0 or not math.isfinite(value):
        return "0" if value == 0 else ""
    digits = max(0, math.floor(math.log10(abs(value))) - math.floor(math.log10(spacing) + 1e-9))
    mantissa, exponent = f"{value:.{digits}e}".split("e")
    if "." in mantissa:
        mantissa = mantissa.rstrip("0").rstrip(".")
    return f"{mantissa}e{int(exponent)}"


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
        scaled = [float(v) * scale for v in values]
        biggest = max((abs(v) for v in scaled), default=0.0)
        vertical = self.orientation in ("left", "right")
        if vertical and not self.logMode and biggest and (biggest < 1e-2 or biggest >= 1e5) and spacing > 0:
            # a learning rate's "0.00015" beside "5e-05" ran into the axis title in the
            # fixed-width axis: one short form for every tick, "1.5e-4"
            return [format_scientific(v, spacing * scale) for v in scaled]
        return super().tickStrings(values, scale, spacing)

    # the value-space step of the ticks logTickValues made for a range inside one decade
    # (None: pyqtgraph's own decade ticks); read by logTickStrings of the same draw
    _fine_step: float | None = None

    def logTickValues(self, minVal, maxVal, size, stdTicks):  # noqa: N802, N803 - pyqtgraph override
        """Log y: pyqtgraph ticks only 1..9 x 10^k, so a range such as 1.2-1.9 had no tick
        at all (and 0.9-1.3 one). Then: evenly spaced ticks in value space, 2 or more."""
        ticks = super().logTickValues(minVal, maxVal, size, stdTicks)
        self._fine_step = None
        if sum(len(values) for _spacing, values in ticks) >= 2 or not maxVal > minVal:
            return ticks
        lo, hi = 10.0**minVal, 10.0**maxVal
        if not (math.isfinite(lo) and math.isfinite(hi)) or hi <= lo:
            return ticks
        # the 1-2-5 step giving 2 to ~size/40 ticks (labels ~40 px apart on a y axis)
        most = max(2, int(size // 40))
        exponent = math.floor(math.log10(hi - lo))
        for step in (m * 10.0**e for e in range(exponent - 2, exponent + 1) for m in (1, 2, 5)):
            first = math.ceil(lo / step)
            count = math.floor(hi / step) - first + 1
            if 2 <= count <= most:
                self._fine_step = step
                return [(None, [math.log10((first + i) * step) for i in range(count)])]
        return ticks

    def logTickStrings(self, values, scale, spacing):  # noqa: N802 - pyqtgraph override
        if self._fine_step is not None:
            decimals = max(0, -math.floor(math.log10(self._fine_step) + 1e-9))
            return [f"{10.0 ** float(v) * scale:.{decimals}f}" for v in values]
        strings = super().logTickStrings(values, scale, spacing)
        if len(values) <= 3:
            return strings
        kept = []
        for value, text in zip(values, strings, strict=False):
            mantissa = 10 ** (float(value) - math.floor(float(value)))
            kept.append(text if any(abs(mantissa - m) < 1e-6 * m for m in (1.0, 2.0, 5.0)) else "")
        return kept if sum(1 for t in kept if t) >= 2 else strings
