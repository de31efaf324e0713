"""A ViewBox whose auto-range moves in steps while a curve grows, not on every new point.

pyqtgraph's auto-range fits the view to the data exactly, so a live curve changes the view
range with every redraw, and each change regenerates both axes (tick positions, tick labels,
the cached axis pixmap): about half of what a live plot's frame cost (bench_gui_replay
--profile). With hysteresis the range only moves when the data leaves it (then with some
headroom in the direction it left) or when the data fills less than ``1 - SLACK`` of it;
in between, the axes are drawn from their cache. Explicit requests (the Auto range button,
hiding a task, switching to log-y or to another x axis) call ``snap()``: the next fit is
exact, as pyqtgraph would make it.
"""

from __future__ import annotations

from workbench.gui.plotting_lib import pg

HEADROOM = 0.15  # of the fitted span, added on a side the data grew past
SLACK = 0.35  # refit when the data fills less than 65 % of the view's span
TOLERANCE = 0.015  # of the fitted span: inside pyqtgraph's smallest padding (2 %)


def steady_range(current: tuple[float, float], fitted: tuple[float, float]) -> tuple[float, float]:
    """The range to show, given the ``current`` view range and the exact ``fitted`` range.

    Keeps ``current`` while it holds ``fitted`` and ``fitted`` spans at least ``1 - SLACK``
    of it; otherwise ``fitted``, widened by ``HEADROOM`` of its span on the side where it
    reaches furthest past ``current``. Units are the axis's view units (log10 of the value on log axes).
    """
    a, b = current
    lo, hi = fitted
    span = hi - lo
    if not span > 0 or not b > a:
        return fitted
    # pyqtgraph pads the data by at least 2 % of its span on each side (suggestPadding), so a
    # fitted edge up to TOLERANCE of the span past the view still leaves every point inside:
    # without it the padding alone (which grows with the data) moved the view every frame.
    tol = TOLERANCE * span
    if lo >= a - tol and hi <= b + tol and span >= (1.0 - SLACK) * (b - a):
        return current
    # headroom only on the side the data grew past most: as a curve grows to the right, its
    # padded left edge creeps left too, and headroom there would leave a wide empty margin
    past_lo, past_hi = max(0.0, a - tol - lo), max(0.0, hi - b - tol)
    grow = HEADROOM * span
    return (
        lo - grow if past_lo > 0 and past_lo >= past_hi else lo,
        hi + grow if past_hi > 0 and past_hi > past_lo else hi,
    )


class SteadyViewBox(pg.ViewBox):
    """``pg.ViewBox`` with ``steady_range`` applied to its automatic fits (see module doc)."""

    # values that are never below 0 (metrics): an automatic fit does not show much below 0
    # (pyqtgraph widens a flat line at 0 to -0.5..0.5, an mAP "of -0.4" on the axis)
    nonnegative_y = False

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self._fitting = False
        self._exact_next = True  # the first fit is exact

    def snap(self) -> None:
        """Make the next automatic fit exact (after a change the user asked for)."""
        self._exact_next = True

    def enableAutoRange(self, axis=None, enable=True, x=None, y=None) -> None:  # noqa: N802 - pyqtgraph override
        # turning auto-range on (the "A" button, View all, a control of the panel): fit exactly
        if x is None and y is None and enable is not False:  # (x=, y= come back through here)
            self.snap()
        super().enableAutoRange(axis, enable, x, y)

    def updateAutoRange(self) -> None:  # noqa: N802 - pyqtgraph override
        self._fitting = True
        try:
            super().updateAutoRange()
        finally:
            self._fitting = False

    def setRange(self, rect=None, xRange=None, yRange=None, *args, **kwargs) -> None:  # noqa: N802, N803
        if not self._fitting or rect is not None:
            super().setRange(rect, xRange, yRange, *args, **kwargs)
            return
        if yRange is not None and self.nonnegative_y and not self.state["logMode"][1]:
            lo, hi = (float(v) for v in yRange)
            if lo == hi and 0 <= lo < 0.5:  # flat: pyqtgraph would make it lo - 0.5 .. lo + 0.5
                top = max(2 * lo, 1.0)
                yRange = (-0.02 * top, top)  # noqa: N806 - a sliver below 0: a line at 0 shows whole
            elif lo < 0 < hi:  # keep a sliver below 0, so that a line at 0 stays visible
                yRange = (max(lo, -0.02 * (hi - max(lo, 0.0))), hi)  # noqa: N806
        exact, self._exact_next = self._exact_next, False
        if not exact:
            current = self.viewRange()
            if xRange is not None:
                xRange = steady_range(tuple(current[0]), tuple(xRange))  # noqa: N806
                if xRange == tuple(current[0]):
                    xRange = None  # noqa: N806
            if yRange is not None:
                yRange = steady_range(tuple(current[1]), tuple(yRange))  # noqa: N806
                if yRange == tuple(current[1]):
                    yRange = None  # noqa: N806
            if xRange is None and yRange is None:
                return  # nothing moves: the axes keep their cached pictures
        super().setRange(rect, xRange, yRange, *args, **kwargs)
