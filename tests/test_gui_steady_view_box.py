"""SteadyViewBox: a growing curve moves the view in steps, every point stays in view, and
explicit fits are exact."""

import os

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

import numpy as np  # noqa: E402
import pytest  # noqa: E402

from workbench.gui.steady_view_box import HEADROOM, SLACK, TOLERANCE, steady_range  # noqa: E402


def test_a_fit_inside_the_view_keeps_the_view():
    assert steady_range((0.0, 100.0), (0.0, 90.0)) == (0.0, 100.0)
    # past the edge by less than the tolerance (padding still holds the data): kept
    assert steady_range((0.0, 100.0), (-1.0, 100.0 + 0.9 * TOLERANCE * 101.0)) == (0.0, 100.0)


def test_growing_past_the_edge_adds_headroom_on_that_side_only():
    lo, hi = steady_range((0.0, 100.0), (0.0, 110.0))
    assert lo == 0.0
    assert hi == pytest.approx(110.0 + HEADROOM * 110.0)  # 126.5 with 15 % headroom
    lo, hi = steady_range((0.0, 10.0), (-4.0, 9.0))  # a loss falling below the view
    assert lo == pytest.approx(-4.0 - HEADROOM * 13.0) and hi == 9.0


def test_headroom_goes_only_where_the_data_grew_most():
    # the right edge grew by 30, the padded left edge crept by 2: headroom on the right only
    lo, hi = steady_range((0.0, 100.0), (-2.0, 130.0))
    assert lo == -2.0 and hi == pytest.approx(130.0 + HEADROOM * 132.0)


def test_a_view_much_wider_than_the_data_is_refitted_exactly():
    # the data fills 50 % (< 1 - SLACK = 65 %) of the view: fitted, no headroom (nothing grew)
    assert pytest.approx(0.35) == SLACK
    assert steady_range((0.0, 100.0), (10.0, 60.0)) == (10.0, 60.0)
    assert steady_range((0.0, 100.0), (0.0, 70.0)) == (0.0, 100.0)  # 70 % filled: kept


def test_degenerate_ranges_are_passed_through():
    assert steady_range((0.0, 1.0), (2.0, 2.0)) == (2.0, 2.0)
    assert steady_range((1.0, 1.0), (0.0, 5.0)) == (0.0, 5.0)


@pytest.fixture
def view(qtbot):
    import pyqtgraph as pg

    from workbench.gui.steady_view_box import SteadyViewBox

    widget = pg.GraphicsLayoutWidget()
    widget.resize(600, 400)
    box = SteadyViewBox()
    plot = pg.PlotItem(viewBox=box)
    widget.addItem(plot)
    plot.keep = (widget, box)  # the Python wrappers must outlive the test
    qtbot.addWidget(widget)
    widget.show()
    qtbot.waitExposed(widget)
    return plot


def _fit(plot) -> list[list[float]]:
    plot.vb.updateAutoRange()
    return [list(r) for r in plot.vb.viewRange()]


def test_a_growing_curve_changes_the_view_rarely_and_never_clips(view):
    curve = view.plot([0.0], [1.0])
    _fit(view)
    changes, last = 0, None
    for n in range(2, 301):
        x = np.arange(n, dtype=float)
        y = 1.0 + np.exp(-x / 50.0)
        curve.setData(x, y)
        ranges = _fit(view)
        (x0, x1), (y0, y1) = ranges
        assert x0 <= 0.0 and x1 >= n - 1  # every point in view
        assert y0 <= y.min() and y1 >= y.max()
        assert x0 > -0.05 * n  # no wide empty margin on the left (headroom goes right)
        if ranges != last:
            changes += 1
            last = ranges
    # pyqtgraph's exact fit changes the view with every new point (299 times here)
    assert changes < 40


def test_the_auto_range_button_fits_exactly(view):
    curve = view.plot(np.arange(100.0), np.arange(100.0))
    _fit(view)
    curve.setData(np.arange(120.0), np.arange(120.0))
    steady_x = _fit(view)[0]
    assert steady_x[1] > 120.0 + 0.1 * 119  # headroom to the right
    view.vb.enableAutoRange()  # the "A" button, View all, or a control of the panel
    exact_x = _fit(view)[0]
    # pyqtgraph's own fit: the same padding on both sides of [0, 119], no headroom
    assert exact_x[1] - 119.0 == pytest.approx(-exact_x[0])
    assert 0 < -exact_x[0] < 0.1 * 119.0


def test_a_zoom_by_the_user_is_left_alone(view):
    view.plot(np.arange(100.0), np.arange(100.0))
    _fit(view)
    view.vb.setRange(xRange=(10, 20), yRange=(10, 20), padding=0)
    assert view.vb.viewRange()[0] == pytest.approx([10, 20])
    assert view.vb.autoRangeEnabled()[0] is False


def test_a_flat_metric_at_zero_is_not_shown_around_minus_one_half(view):
    """pyqtgraph widens a flat line at 0 to -0.5..0.5: an mAP axis read "-0.4". A view of
    values that are never negative keeps only a sliver below 0 (log axes are left alone)."""
    view.vb.nonnegative_y = True
    view.plot([1.0, 2.0, 3.0], [0.0, 0.0, 0.0])
    lo, hi = _fit(view)[1]
    assert -0.02 <= lo < 0 < hi
    view.vb.nonnegative_y = False
    view.vb.snap()
    assert _fit(view)[1][0] < -0.4  # pyqtgraph's own fit, for comparison
