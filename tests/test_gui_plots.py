"""Curves: x axis choice, best-epoch marks, normalisation, log y, the objective split, legends.

Events are plain namespaces with the fields the core's StepEnded / EpochEnded carry
(``elapsed_s``, ``weighted_loss``, ``regulariser``, ``best_epoch`` included), so each
expected value below is computed by hand from the numbers fed in.
"""

from __future__ import annotations

import math
from types import SimpleNamespace

import numpy as np
import pytest

pytest.importorskip("pytestqt")

from PySide6.QtCore import Qt  # noqa: E402
from PySide6.QtWidgets import QLabel  # noqa: E402

SPE = 10  # steps per epoch


def step(g: int, reg: float = 0.0, scene: float | None = None, objects: float | None = None):
    losses = {
        "scene": 2.0 / g if scene is None else scene,
        "objects": 100.0 + g if objects is None else objects,
    }
    weighted = losses["scene"] + losses["objects"]
    return SimpleNamespace(
        epoch=(g - 1) // SPE,
        step=(g - 1) % SPE,
        global_step=g,
        steps_per_epoch=SPE,
        losses=losses,
        weights={"scene": 1.0, "objects": 1.0},
        weighted_loss=weighted,
        regulariser=reg,
        total_loss=weighted + reg,
        lr=1e-3,
        images_per_s=100.0,
        eta_s=1.0,
        elapsed_s=2.0 * g,  # two seconds per step
    )


def epoch(e: int, best: int, acc: float | None = 0.5):
    g = (e + 1) * SPE
    return SimpleNamespace(
        epoch=e,
        global_step=g,
        train_losses={},
        val_losses={"scene": 1.0 / (e + 1), "objects": 50.0},
        val_metrics={"scene": {"accuracy": acc, "macro_f1": 0.25 * (e + 1)}},
        is_best=best == e,
        best_epoch=best,
        seconds=1.0,
        elapsed_s=2.0 * g + 1.5,  # validation took 1.5 s
    )


def feed(panel, epochs: int = 3, best=(0, 1, 1), reg=lambda g: 0.0) -> None:
    for g in range(1, epochs * SPE + 1):
        panel.on_step(step(g, reg(g)))
        if g % SPE == 0:
            panel.on_epoch(epoch(g // SPE - 1, best[g // SPE - 1]))


def run_started() -> SimpleNamespace:
    """A RunStarted-like event of a run of scene (classification) and objects (detection)."""
    return SimpleNamespace(
        run_dir="/runs/exp-1", task_names=("scene", "objects"), steps_per_epoch=SPE, start_step=0,
        config={"tasks": [{"name": "scene", "kind": "classification"}, {"name": "objects", "kind": "detection"}]},
    )  # fmt: skip


@pytest.fixture
def plots(qtbot):
    from workbench.gui.plots_panel import PlotsPanel

    panel = PlotsPanel()
    panel.resize(1000, 900)
    qtbot.addWidget(panel)
    panel.show()
    qtbot.waitExposed(panel)
    panel.set_smoothing(0.0)
    return panel


def axis_label(plot) -> str:
    return plot.getAxis("bottom").labelText


def test_x_axis_step_epoch_time_change_labels_and_data_together(plots):
    feed(plots)
    plots.redraw(force=True)
    x, _ = plots.drawn_points("val_loss", "scene")
    np.testing.assert_array_equal(x, [10.0, 20.0, 30.0])
    plots.set_x_axis("epoch")
    # no event processing in between: the label and the data changed in the same call
    assert axis_label(plots.loss_plot) == "epoch"
    assert axis_label(plots.metric_plot("scene")) == "epoch"
    np.testing.assert_array_equal(plots.drawn_points("val_loss", "scene")[0], [1.0, 2.0, 3.0])
    np.testing.assert_array_equal(plots.drawn_points("metric:accuracy", "scene")[0], [1.0, 2.0, 3.0])
    tx, _ = plots.drawn_points("train_loss", "scene")
    np.testing.assert_allclose(tx, np.arange(1, 31) / 10)  # epoch e, step s -> e + (s + 1) / 10
    plots.set_x_axis("time")
    assert axis_label(plots.lr_plot) == "wall time (m:ss)"
    np.testing.assert_array_equal(plots.drawn_points("val_loss", "scene")[0], [21.5, 41.5, 61.5])
    np.testing.assert_array_equal(plots.drawn_points("lr")[0], 2.0 * np.arange(1, 31))
    assert plots.loss_plot.getAxis("bottom").tickStrings([90.0, 3725.0], 1.0, 10.0) == ["1:30", "1:02:05"]
    plots.set_x_axis("step")
    np.testing.assert_array_equal(plots.drawn_points("train_loss", "scene")[0], np.arange(1, 31))
    with pytest.raises(ValueError):
        plots.set_x_axis("minutes")


def _ticks(plot, lo: float, hi: float) -> list[float]:
    """The tick values pyqtgraph would draw between lo and hi (it may propose one beyond)."""
    levels = plot.getAxis("bottom").tickValues(lo, hi, 300)
    return [v for _spacing, values in levels for v in values if lo <= v <= hi]


def test_step_and_time_axes_tick_whole_numbers_only(qtbot, plots):
    # one validation point: the plot fits a range under one unit wide around it
    feed(plots, epochs=1, best=(0,))
    plots.redraw(force=True)
    metric = plots.metric_plot("scene")
    qtbot.waitUntil(lambda: metric.getViewBox().viewRange()[0][0] > 1.0)  # fitted when painted
    lo, hi = metric.getViewBox().viewRange()[0]
    assert lo < 10.0 < hi and hi - lo < 2.0  # step 10, padded by a fraction of a step
    assert _ticks(metric, lo, hi) == [10.0]  # not 9.8, 10.0, 10.2
    assert _ticks(metric, 14.6, 15.4) == [15.0]
    plots.set_x_axis("time")  # whole seconds: a tick at 0.2 s would print "0:00" twice
    assert all(v == int(v) for v in _ticks(metric, 20.0, 23.0))
    # a range of under 3 s (a short run): tenths, labelled as such, not one "0:22" thrice
    # or a lone "0:01" on the whole axis
    ticks = _ticks(metric, 21.6, 21.9)
    axis = metric.getAxis("bottom")
    labels = axis.tickStrings(ticks, 1.0, 0.1)
    assert len(ticks) >= 2 and len(set(labels)) == len(labels) and labels[0].startswith("0:21.")
    from workbench.gui.plot_axis import format_clock_tenths

    assert [format_clock_tenths(v) for v in (0.5, 61.25, -0.5)] == ["0:00.5", "1:01.2", "-0:00.5"]
    plots.set_x_axis("epoch")  # epochs are fractional within a run: 0.8 is step 8 of 10
    assert 0.8 in [round(v, 6) for v in _ticks(metric, 0.6, 1.4)]
    plots.set_x_axis("step")
    import pyqtgraph as pg

    plain = pg.AxisItem("bottom")  # ranges many steps wide tick as pyqtgraph does
    assert plots.loss_plot.getAxis("bottom").tickValues(0.0, 3000.0, 300) == plain.tickValues(
        0.0, 3000.0, 300
    )


def test_log_y_inside_one_decade_still_has_labelled_ticks(qtbot):
    """pyqtgraph ticks a log axis only at 1..9 x 10^k: a loss between 1.2 and 1.9 had no
    tick at all, one between 0.9 and 1.3 a lone "1"."""
    from workbench.gui.plot_axis import PlotAxis

    axis = PlotAxis("left")
    axis.setLogMode(False, True)

    def labels(lo: float, hi: float) -> list[str]:
        levels = axis.tickValues(math.log10(lo), math.log10(hi), 300)
        values = [v for _spacing, vs in levels for v in vs]
        return [t for t in axis.logTickStrings(values, 1.0, None) if t]

    assert labels(1.2, 1.9) == ["1.2", "1.3", "1.4", "1.5", "1.6", "1.7", "1.8"]  # step 0.1
    assert labels(0.9, 1.3) == ["0.9", "1.0", "1.1", "1.2", "1.3"]
    assert labels(0.021, 0.029) == ["0.022", "0.024", "0.026", "0.028"]  # step 0.002
    assert labels(2.05, 2.3) == ["2.05", "2.10", "2.15", "2.20", "2.25"]  # step 0.05
    # ranges over a decade keep pyqtgraph's ticks, labelled at 1-2-5 only
    assert labels(0.1, 10.0) == ["0.2", "0.5", "1", "2", "5"]


def test_small_and_large_y_ticks_are_short_and_alike(qtbot):
    """A warming-up learning rate ticked "5e-05" beside "0.00025": mixed forms, and too wide
    for the fixed-width axis (they ran into its title)."""
    from workbench.gui.plot_axis import PlotAxis

    left, bottom = PlotAxis("left"), PlotAxis("bottom")
    assert left.tickStrings([5e-5, 1e-4, 1.5e-4, 2.5e-4], 1.0, 5e-5) == ["5e-5", "1e-4", "1.5e-4", "2.5e-4"]
    assert left.tickStrings([-0.003, 0.0, 0.003], 1.0, 0.003) == ["-3e-3", "0", "3e-3"]
    assert left.tickStrings([100000.0, 150000.0], 1.0, 50000.0) == ["1e5", "1.5e5"]
    assert left.tickStrings([0.5, 1.0], 1.0, 0.5) == ["0.5", "1.0"]  # ordinary values as before
    assert bottom.tickStrings([100000.0, 150000.0], 1.0, 50000.0) == ["100000", "150000"]  # steps


def test_axis_combo_drives_the_axis(plots):
    feed(plots)
    plots.axis_combo.setCurrentIndex(plots.axis_combo.findData("epoch"))
    assert plots.x_axis() == "epoch"
    np.testing.assert_array_equal(plots.drawn_points("val_loss", "objects")[0], [1.0, 2.0, 3.0])


def test_best_epoch_marked_on_every_axis(plots):
    feed(plots, best=(0, 1, 1))
    assert plots.best_epoch() == 1
    assert plots.best_line_x(plots.loss_plot) == 20.0  # epoch 2 ended at step 20
    assert plots.best_line_x(plots.metric_plot("scene")) == 20.0
    plots.set_x_axis("epoch")
    assert plots.best_line_x(plots.metric_plot("scene")) == 2.0
    plots.set_x_axis("time")
    assert plots.best_line_x(plots.loss_plot) == 41.5
    plots.clear()
    assert plots.best_line_x(plots.loss_plot) is None


def test_best_epoch_from_is_best_of_older_events(plots):
    for g in range(1, 31):
        plots.on_step(step(g))
        if g % SPE == 0:
            e = epoch(g // SPE - 1, best=-1)
            del e.best_epoch
            e.is_best = g // SPE - 1 in (0, 2)
            plots.on_epoch(e)
    assert plots.best_epoch() == 2
    assert plots.best_line_x(plots.loss_plot) == 30.0


def test_undefined_metric_values_are_skipped(plots):
    for g in range(1, 31):
        plots.on_step(step(g))
        if g % SPE == 0:
            e = g // SPE - 1
            plots.on_epoch(epoch(e, 0, acc=None if e == 1 else 0.5 + e / 10))
    x, y = plots.curve_points("metric:accuracy", "scene")
    np.testing.assert_array_equal(x, [10.0, 30.0])
    np.testing.assert_allclose(y, [0.5, 0.7])


def test_normalise_divides_validation_by_the_first_training_loss(plots):
    feed(plots)
    plots.set_normalise(True)
    _, train = plots.drawn_points("train_loss", "objects")
    _, val = plots.drawn_points("val_loss", "objects")
    assert train[0] == pytest.approx(1.0)
    np.testing.assert_allclose(val, [50.0 / 101.0] * 3)  # first training loss of objects: 100 + 1
    _, scene_val = plots.drawn_points("val_loss", "scene")
    np.testing.assert_allclose(scene_val, [1.0 / 2.0, 0.5 / 2.0, (1 / 3) / 2.0])  # first scene loss: 2/1
    _, objective = plots.drawn_points("weighted_loss")
    assert objective[0] == pytest.approx(1.0)
    assert "first training loss" in plots.normalise_box.toolTip()
    assert (
        plots.loss_plot.getAxis("left").labelText == "loss ÷ first loss"
    )  # short enough for its axis; the box's tooltip says more


def test_hiding_a_task_rescales_y(qtbot, plots):
    feed(plots)
    plots.set_x_axis("step")

    def y_top() -> float:
        return plots.loss_plot.vb.viewRange()[1][1]

    qtbot.waitUntil(lambda: y_top() > 100, timeout=5000)  # objects' losses are ~100
    plots.set_task_visible("objects", False)
    qtbot.waitUntil(lambda: y_top() < 5, timeout=2000)  # only scene (<= 2) is left
    # after a zoom, "Auto range" fits what is shown, hidden tasks left out
    plots.loss_plot.vb.setRange(xRange=(5, 8), yRange=(-1000, 1000), padding=0)
    plots.auto_range()
    qtbot.waitUntil(lambda: y_top() < 5 and plots.loss_plot.vb.viewRange()[0][1] >= 30, timeout=2000)
    plots.set_task_visible("objects", True)
    qtbot.waitUntil(lambda: y_top() > 100, timeout=2000)


def test_objective_split_and_regulariser_never_on_log_y(plots):
    feed(plots, reg=lambda g: -0.5 + 0.01 * g)  # uncertainty-like: negative early on
    assert plots.regulariser_shown()
    _, objective = plots.curve_points("weighted_loss")
    _, reg = plots.curve_points("regulariser")
    _, total = plots.curve_points("total_loss")
    np.testing.assert_allclose(objective + reg, total)
    np.testing.assert_allclose(reg[:3], [-0.49, -0.48, -0.47])
    plots.set_log_y(True)
    assert plots.loss_plot.ctrl.logYCheck.isChecked()
    assert plots.objective_plot.ctrl.logYCheck.isChecked()
    assert not plots.regulariser_plot.ctrl.logYCheck.isChecked()  # it can be negative: linear
    np.testing.assert_allclose(plots.drawn_points("regulariser")[1][:2], [-0.49, -0.48])
    assert plots.regulariser_plot in plots._all_plots()


def test_regulariser_plot_only_for_methods_that_have_one(plots):
    feed(plots)
    assert not plots.regulariser_shown()
    assert plots.regulariser_plot not in plots._all_plots()


def test_log_y_leaves_out_points_at_or_below_zero(plots):
    for g in range(1, 11):
        plots.on_step(step(g, scene=0.0 if g == 3 else 1.0 / g))
    plots.set_log_y(True)
    _, y = plots.drawn_points("train_loss", "scene")
    assert math.isnan(y[2]) and np.isfinite(np.delete(y, 2)).all()
    plots.set_log_y(False)
    _, y = plots.drawn_points("train_loss", "scene")
    assert y[2] == 0.0


def test_legends_sit_outside_the_data(plots):
    feed(plots)
    for plot in plots._all_plots():
        assert plot.legend is None  # no legend box inside any view box
    loss_title = plots.loss_plot.titleLabel.text
    assert "scene" in loss_title and "objects" in loss_title and "best epoch" in loss_title
    metric_title = plots.metric_plot("scene").titleLabel.text
    assert "accuracy" in metric_title and "macro_f1" in metric_title


def test_opening_a_run_draws_at_once(plots, tmp_path):
    import json

    run = tmp_path / "run"
    run.mkdir()
    lines = []
    for g in range(1, 31):
        s = step(g)
        lines.append({"type": "step", **{k: v for k, v in vars(s).items() if k != "steps_per_epoch"}})
        if g % SPE == 0:
            lines.append({"type": "epoch", **vars(epoch(g // SPE - 1, 0))})
    (run / "metrics.jsonl").write_text("".join(json.dumps(r) + "\n" for r in lines))
    from workbench.training.run_store import RunStore

    plots.load_run(RunStore(run))
    # drawn in the same call: no timer tick, no event processing needed
    for kind, task in (("train_loss", "scene"), ("val_loss", "objects"), ("weighted_loss", ""), ("lr", "")):
        assert len(plots.drawn_points(kind, task)[0]) > 0, kind
    np.testing.assert_array_equal(plots.curve_points("val_loss", "scene", axis="time")[0], [21.5, 41.5, 61.5])
    assert plots.best_line_x(plots.loss_plot) == 10.0
    assert plots.curve_item("train_loss", "scene").opts["antialias"] is True


def test_a_long_compared_runs_name_is_shortened_in_the_runs_key(qtbot, plots):
    """One run of six long task names: its key label was 900 px wide, and the window that
    held it grew past a 1,024 px screen."""
    feed(plots)
    other = [vars(step(g)) | {"type": "step"} for g in range(1, 11)]
    long = "depth 0 · " + "+".join(f"task_number_{i}_with_a_long_name" for i in range(6))
    plots.set_compare_runs([(long, other)], current_label="depth 4")
    labels = plots.runs_legend.findChildren(QLabel, "runLegendLabel")
    shown = labels[1].text()
    assert len(shown) == 48 and shown.startswith("depth 0 · task_number_0") and shown.endswith("long_name")
    assert "…" in shown and labels[1].toolTip() == long
    assert labels[0].text() == "depth 4" and labels[0].toolTip() == ""
    assert labels[1].sizeHint().width() < 500


def test_compare_runs_legend_and_line_styles(plots):
    feed(plots)
    other = [vars(step(g)) | {"type": "step"} for g in range(1, 11)]
    other.append(vars(epoch(0, 0)) | {"type": "epoch"})
    plots.set_compare_runs([("depth 2", other), ("dwa", other)], current_label="depth 4")
    assert plots.runs_legend.isVisible()
    texts = [w.text() for w in plots.runs_legend.findChildren(QLabel, "runLegendLabel")]
    assert texts == ["depth 4", "depth 2", "dwa"]
    assert plots.curve_item("train_loss", "scene", "depth 2").opts["pen"].style() == Qt.PenStyle.DashLine
    assert plots.curve_item("train_loss", "scene", "dwa").opts["pen"].style() == Qt.PenStyle.DotLine
    assert plots.curve_item("train_loss", "scene").opts["pen"].style() == Qt.PenStyle.SolidLine
    # compared runs bring their losses, objective, task weights, learning rate and metrics
    # (only the losses and metrics, before: weighting methods could not be compared by their
    # weights), drawn at once and dashed like their losses
    for kind, task in (("lr", ""), ("weighted_loss", ""), ("weight", "scene"), ("weight", "objects")):
        item = plots.curve_item(kind, task, "dwa")
        assert item is not None and item.opts["pen"].style() == Qt.PenStyle.DotLine, (kind, task)
    np.testing.assert_array_equal(plots.drawn_points("weighted_loss", "", "dwa")[0], np.arange(1, 11.0))
    assert plots.curve_item("total_loss", "", "dwa") is None  # drawn as its two parts
    np.testing.assert_array_equal(plots.drawn_points("val_loss", "scene", "dwa")[0], [10.0])
    plots.set_compare_runs([])
    assert not plots.runs_legend.isVisible()


def test_past_the_dash_patterns_compared_runs_are_named_not_drawn(plots):
    """36 compared runs drew each of 4 dash patterns 9 times: no run could be told apart."""
    from workbench.gui.plots_panel import COMPARE_DASHES

    feed(plots)
    other = [vars(step(g)) | {"type": "step"} for g in range(1, 11)]
    runs = [(f"run {i}", other) for i in range(len(COMPARE_DASHES) + 3)]
    plots.set_compare_runs(runs, current_label="shown")
    assert plots.compare_labels() == [f"run {i}" for i in range(len(COMPARE_DASHES))]
    assert plots.curve_item("train_loss", "scene", f"run {len(COMPARE_DASHES)}") is None
    (more,) = plots.runs_legend.findChildren(QLabel, "runLegendNotDrawn")
    assert more.text() == "+ 3 more, not drawn"
    assert f"run {len(COMPARE_DASHES) + 2}" in more.toolTip()
    plots.set_compare_runs(runs[:2])
    assert plots._not_drawn == [] and plots.compare_labels() == ["run 0", "run 1"]


def test_a_task_keeps_its_colour_whichever_run_is_shown_first(plots):
    """Colours followed the order of appearance in the shown view, so comparing A with B
    and then B with A swapped the colours of the tasks both runs had."""

    def records(tasks: tuple[str, ...]) -> list[dict]:
        out = []
        for g in range(1, SPE + 1):
            rec = vars(step(g)) | {"type": "step"}
            rec["losses"] = {t: 1.0 / g for t in tasks}
            rec["weights"] = {t: 1.0 for t in tasks}
            out.append(rec)
        return out

    def pen_colour(task: str, label: str) -> tuple[int, int, int]:
        return plots.curve_item("train_loss", task, label).opts["pen"].color().getRgb()[:3]

    plots.set_compare_runs([("A", records(("seg", "count"))), ("B", records(("count", "scene")))])
    first = {t: pen_colour(t, lab) for t, lab in (("seg", "A"), ("count", "A"), ("scene", "B"))}
    assert len(set(first.values())) == 3  # three tasks, three colours
    plots.clear()
    plots.set_compare_runs([("B", records(("count", "scene"))), ("A", records(("seg", "count")))])
    assert {t: pen_colour(t, lab) for t, lab in (("seg", "A"), ("count", "B"), ("scene", "B"))} == first
    # past ten task names in a session, tasks in view still get colours of their own
    for k in range(4):
        plots.clear()
        plots.set_compare_runs([("C", records(tuple(f"t{k}{i}" for i in range(3))))])
    plots.clear()
    plots.set_compare_runs([("D", records(("seg", "t30", "t31", "new")))])
    colours = [pen_colour(t, "D") for t in ("seg", "t30", "t31", "new")]
    assert len(set(colours)) == 4
    assert colours[0] == first["seg"]  # a task met before keeps its colour where it can


def test_plots_are_never_shown_cut_in_half(qtbot, plots):
    feed(plots)
    other = [vars(step(g)) | {"type": "step"} for g in range(1, 11)]
    for height, width in ((520, 800), (700, 1000), (900, 640)):
        for runs in ([], [("depth 2", other)]):
            plots.set_compare_runs(runs, current_label="depth 4")
            plots.resize(width, height)
            qtbot.waitUntil(lambda: plots._scroll.viewport().height() > 0, timeout=2000)
            plots._fit_rows()
            qtbot.wait(1)  # let the layout settle (no sleep: one event-loop turn)
            plots.layout_widget.ci.layout.activate()
            visible = plots._scroll.viewport().height()
            for plot in plots._all_plots():
                rect = plots.layout_widget.mapFromScene(plot.sceneBoundingRect()).boundingRect()
                top, bottom = rect.top(), rect.bottom()
                inside = bottom <= visible + 2
                outside = top >= visible - 2
                assert inside or outside, (height, bool(runs), plot._short_name, top, bottom, visible)
                # and never wider than the view: long legends shorten, they do not push plots out
                assert rect.right() <= plots.layout_widget.width() + 1, (plot._short_name, rect.right())
    # comparing: the losses sit beside the first metrics, not across the whole width
    plots.set_compare_runs([("depth 2", other)], current_label="depth 4")
    plots.resize(1000, 700)  # two columns (one below TWO_COLUMNS_PX)
    qtbot.waitUntil(lambda: plots._arrangement[2] == 2, timeout=2000)
    plots.layout_widget.ci.layout.activate()
    assert plots.loss_plot.sceneBoundingRect().width() < 0.6 * plots.layout_widget.width()


def test_legends_shorten_to_the_plot_width(qtbot, plots):
    feed(plots)
    other = [vars(step(g)) | {"type": "step"} for g in range(1, 11)]
    plots.set_compare_runs([("depth 2", other)], current_label="depth 4")
    for width in (640, 900, 1400):
        plots.resize(width, 700)
        qtbot.waitUntil(lambda w=width: plots.layout_widget.width() >= min(w, 700) - 20, timeout=2000)
        plots._update_titles()
        for plot in plots._all_plots():
            room = plots._title_room(plot)
            # the title row never asks for more width than its column has
            assert plot.titleLabel.minimumWidth() <= room + 1, (width, plot._short_name, room)
    plots.resize(1400, 700)
    qtbot.waitUntil(lambda: plots.layout_widget.width() > 1200, timeout=2000)
    plots._update_titles()
    assert "thin: training" in plots.loss_plot.titleLabel.text  # room enough: the whole legend
    assert plots.loss_plot.titleLabel.toolTip() == ""
    # too narrow for the key: the shortened legend ends in "…" and the whole is its tooltip
    shortened = 0
    for width in (680, 760, 900):  # two columns
        plots.resize(width, 700)
        qtbot.waitUntil(lambda w=width: abs(plots.layout_widget.width() - w) < 40, timeout=2000)
        plots._update_titles()
        for plot in plots._all_plots():
            text, tip = plot.titleLabel.text, plot.titleLabel.toolTip()
            if tip:
                shortened += 1
                assert text.endswith("…</span>") and "<" not in tip, (width, plot._short_name)
        if "thin: training" not in plots.loss_plot.titleLabel.text:
            assert "thin: training" in plots.loss_plot.titleLabel.toolTip()
    assert shortened > 0


def test_the_loss_legend_takes_a_second_line_before_it_drops_the_line_styles(qtbot, plots):
    """Six tasks at 1,024 px cut the loss plot's key to the task names and "…": which line
    is training and which validation was in a tooltip only. Alone in its row, the loss plot
    now puts its whole legend on two lines when one is too short."""
    feed(plots)
    plots.resize(1400, 700)
    qtbot.waitUntil(lambda: plots.layout_widget.width() > 1200, timeout=2000)
    plots._update_titles()
    wide = plots.loss_plot.titleLabel.text
    assert "<br>" not in wide.split("</b><br>", 1)[1] and "thin: training" in wide  # one line when it fits
    for width in (430, 470):
        plots.resize(width, 700)
        qtbot.waitUntil(lambda w=width: abs(plots.layout_widget.width() - w) < 40, timeout=2000)
        plots._update_titles()
        legend = plots.loss_plot.titleLabel.text.split("</b><br>", 1)[1]
        assert "<br>" in legend and "…" not in legend, (width, legend)
        for key in ("scene", "objects", "thin: training", "●: validation", "best epoch"):
            assert key in legend
        assert plots.loss_plot.titleLabel.toolTip() == ""  # nothing left out
        room = plots._title_room(plots.loss_plot)
        assert plots.loss_plot.titleLabel.minimumWidth() <= room + 1
        # the title row grew by one line: the legend is not clipped
        assert plots.loss_plot.titleLabel.maximumHeight() == 44 + 15


def test_a_long_loss_legend_wraps_to_three_lines_before_it_drops_entries(plots):
    """Six long task names at a 1.5 scale: two lines held two of the six names and "…"."""
    from PySide6.QtGui import QFont, QFontMetrics

    entries = [f"task_with_a_long_name_{i}" for i in range(9)]
    font = QFont(plots.font())
    font.setPointSizeF(8.5)
    four = QFontMetrics(font).horizontalAdvance("   ".join(entries[:4]))
    room = four * 0.95  # three entries a line fit (about 0.75 of it), four do not
    legend = " &nbsp; ".join(entries)
    three = plots._fit([legend, "short"], room, lines=3)
    assert three.count("<br>") == 2 and "…" not in three
    assert three.replace("<br>", " &nbsp; ") == legend  # every entry, whole, in order
    assert [line.count("task_with") for line in three.split("<br>")] == [3, 3, 3]
    two = plots._fit([legend, "short"], room, lines=2)
    assert "<br>" not in two  # it cannot: the shorter variant instead, marked
    assert two == "short &nbsp; …"


def test_task_names_are_shortened_before_a_task_is_dropped_from_a_legend(plots):
    """At 1,024 px, six long task names: the loss legend named one task and "…"."""
    from PySide6.QtGui import QFont, QFontMetrics

    from workbench.gui.plots_panel import _middle_cut

    names = [f"task_number_{i}_with_a_long_descriptive_name" for i in range(6)]
    assert _middle_cut(names[0], 18) == "task_num…tive_name" and _middle_cut("scene", 18) == "scene"
    font = QFont(plots.font())
    font.setPointSizeF(8.5)
    room = QFontMetrics(font).horizontalAdvance("   ".join(names[:2])) * 0.9  # under two whole names a line
    whole = " &nbsp; ".join(names)
    short = " &nbsp; ".join(_middle_cut(n, 18) for n in names)
    fitted = plots._fit([whole, short], room, lines=3)
    assert "…" not in fitted.replace("…", "", 6)  # only the names' own marks: no task dropped
    assert fitted.replace("<br>", " &nbsp; ") == short and fitted.count("<br>") <= 2


def test_a_starting_run_shows_a_note_until_its_first_step(plots):
    started = run_started()
    plots.on_run_started(started)
    assert plots._stack.currentWidget() is plots._empty_note  # no grid of empty plots meanwhile
    assert "exp-1" in plots._empty_note.text()
    plots.on_step(step(1))
    assert plots._stack.currentWidget() is plots._scroll
    plots.clear()
    assert plots._stack.currentWidget() is plots._empty_note


def test_a_new_run_of_the_same_tasks_reuses_the_plots(plots):
    started = run_started()
    plots.on_run_started(started)
    feed(plots, epochs=1, best=(0,))
    first = plots.metric_plot("scene")
    laid_out = plots.relayout_count
    plots.on_run_started(SimpleNamespace(**{**vars(started), "run_dir": "/runs/exp-2"}))
    assert plots.relayout_count == laid_out  # same tasks: no grid layout (it repaints every plot)
    assert plots.metric_plot("scene") is first
    plots.on_run_started(
        SimpleNamespace(
            **{**vars(started), "task_names": ("scene",), "config": {"tasks": [started.config["tasks"][0]]}}
        )
    )
    assert plots.metric_plot("objects") is None and plots.metric_plot("scene") is first
    assert plots.relayout_count == laid_out + 1


def test_new_series_get_their_plot_items_a_few_per_turn(qtbot, plots):
    started = run_started()
    plots.on_run_started(started)
    assert len(plots._pending_curves) > plots.CURVES_PER_TURN  # not all made in one go
    made = len(plots._curves)
    assert made == 0
    qtbot.waitUntil(lambda: not plots._pending_curves, timeout=5000)
    assert len(plots._curves) > made


def test_metric_plots_built_ahead_and_appended_without_a_full_layout(qtbot, plots):
    plots.warm_up(2)
    qtbot.waitUntil(lambda: len(plots._spare_plots) == 2, timeout=5000)
    spares = list(plots._spare_plots)
    laid_out = plots.relayout_count
    feed(plots, epochs=1, best=(0,))
    plots.redraw()
    assert plots.metric_plot("scene") in spares  # taken, not built
    assert plots.relayout_count == laid_out  # appended to the grid, the other plots left alone
    rect = plots.metric_plot("scene").sceneBoundingRect()
    assert rect.width() > 100 and rect.height() > 100


def test_an_empty_metrics_plot_says_why(plots):
    started = SimpleNamespace(
        run_dir="/runs/exp-1", task_names=("scene",), steps_per_epoch=SPE, start_step=0,
        config={"tasks": [{"name": "scene", "kind": "classification"}]},
    )  # fmt: skip
    plots.on_run_started(started)
    for g in range(1, SPE + 1):
        plots.on_step(step(g))
    note = plots.metric_plot("scene")._empty_note
    assert note.isVisible() and "first epoch" in note.toPlainText()
    plots.on_epoch(epoch(0, 0))
    assert not note.isVisible()


def test_runs_table_shows_no_none_for_metrics_not_measured_yet(qtbot, tmp_path, monkeypatch):
    import workbench.training.run_store as run_store
    from workbench.gui import runs_panel as rp

    info = SimpleNamespace(
        path=tmp_path / "r", name="exp", created=1.0, status="running", tasks=("scene",),
        key_metrics={"scene/accuracy": None}, error="", config={},
    )  # fmt: skip
    monkeypatch.setattr(run_store, "list_runs", lambda root: [info])
    panel = rp.RunsPanel(tmp_path)
    qtbot.addWidget(panel)
    panel.refresh()
    item = panel.tree.topLevelItem(0)
    assert item.text(rp.COL_METRICS) == "–" and "None" not in item.toolTip(rp.COL_METRICS)


def test_plots_scrolled_out_of_view_are_drawn_when_they_scroll_in(qtbot):
    from workbench.gui.plots_panel import PlotsPanel

    panel = PlotsPanel()
    panel.resize(1000, 420)  # room for about one row of plots: the rest is scrolled away
    qtbot.addWidget(panel)
    panel.show()
    qtbot.waitExposed(panel)
    feed(panel, reg=lambda g: 0.01 * g)  # a regulariser: one more plot of step data
    panel.redraw(force=True)
    qtbot.wait(20)
    for g in range(3 * SPE + 1, 3 * SPE + 6):
        panel.on_step(step(g, 0.01 * g))
    shown = panel._shown_area()
    step_curves = [
        c for c in panel._curves.values() if c.kind in ("train_loss", "weighted_loss", "lr", "regulariser")
    ]
    hidden = [c for c in step_curves if not panel._plot_rect(c.plot).intersects(shown)]
    seen = [c for c in step_curves if panel._plot_rect(c.plot).intersects(shown)]
    assert hidden and seen
    for _ in range(10):  # ten ticks' worth of incremental redraws
        panel._redraw_next_plot()
    assert all(c.state[0] == len(c.buffer) == 3 * SPE + 5 for c in seen)
    assert all(c.state[0] == 3 * SPE for c in hidden)  # not drawn while out of view
    panel._scroll.verticalScrollBar().setValue(panel._scroll.verticalScrollBar().maximum())
    qtbot.waitUntil(lambda: any(c.state[0] == 3 * SPE + 5 for c in hidden), timeout=3000)


def test_a_plots_first_points_do_not_wait_for_the_pacer(qtbot, plots):
    # the pacer's next frame is a minute away (a tiny budget after a costly frame)
    plots.pacer.budget = 1e-6
    plots.pacer.max_interval_s = 60.0
    plots.pacer.add_cost(0.05)
    plots.pacer.frame_done()
    for g in range(1, 4):
        plots.on_step(step(g))

    def drawn(kinds: tuple[str, ...]) -> list:
        return [c for c in plots._curves.values() if c.kind in kinds and c.state and c.state[0] > 0]

    step_kinds = ("train_loss", "weighted_loss", "lr", "weight")  # every per-step plot
    qtbot.waitUntil(
        lambda: (
            len(drawn(step_kinds)) == len([c for c in plots._curves.values() if c.kind in step_kinds]) > 0
        ),
        timeout=10_000,
    )
    assert plots._blank_plots() == []
    assert not plots.pacer.ready()
    # plots that show points already wait for the pacer: no redraw of theirs before it allows
    before = {id(c): c.state[0] for c in drawn(step_kinds)}
    for g in range(4, SPE + 1):
        plots.on_step(step(g))
    qtbot.wait(600)
    assert {id(c): c.state[0] for c in drawn(step_kinds)} == before
    # the first validation metrics get their plot's first frame at once as well
    plots.on_epoch(epoch(0, 0))
    qtbot.waitUntil(lambda: len(drawn(("metric:accuracy",))) == 1, timeout=10_000)
    assert plots._blank_plots() == []


def test_a_long_runs_legend_wraps_instead_of_widening_the_window(qtbot, plots):
    """Compared runs' labels grow with their number: the legend takes more lines, its
    minimum width stays that of one entry."""
    feed(plots)
    other = [vars(step(g)) | {"type": "step"} for g in range(1, 11)]
    labels = [f"depth {d} · equal_sum · scene+objects+masks · 40 epochs" for d in range(6)]
    plots.set_compare_runs([(label, other) for label in labels], current_label="depth 4 · upgrad · 2 epochs")
    one_entry = max(w.sizeHint().width() for w in plots.runs_legend.children() if hasattr(w, "sizeHint"))
    assert plots.runs_legend.minimumSizeHint().width() <= one_entry + 20
    layout = plots.runs_legend.layout()
    assert layout.heightForWidth(600) > layout.heightForWidth(6000)  # wrapped onto more lines


def test_in_a_narrow_panel_the_controls_wrap_before_the_run_name_is_cut(qtbot, plots):
    """At 1024x768 the run's name shrank to "sh…01" beside the controls row; the row
    wraps onto a second line first, and the name is shown whole."""
    name = "sharing_depth_2-20261201-0001"  # 29 characters: more than the 24 kept
    plots.run_label.setText("depth2-0001")  # a short name always fits whole
    plots.resize(640, 700)
    qtbot.wait(50)
    assert plots.run_label.text() == "depth2-0001"
    plots.run_label.setText(name)
    qtbot.wait(50)
    metrics = plots.run_label.fontMetrics()
    assert plots.run_label.width() >= metrics.averageCharWidth() * 24
    shown = plots.run_label.text()
    assert shown != name and "…" in shown and len(shown) >= 18
    assert plots.run_label.full_text() == name and plots.run_label.toolTip() == name


def test_a_short_panel_never_squeezes_the_wrapped_controls(qtbot, plots):
    """At 200 % scaling the panel had 147 logical pixels: the controls row needed three
    lines and got two, so Auto range and Export sat outside it, unseen."""
    row = plots.auto_button.parentWidget()
    plots.resize(420, 150)
    qtbot.wait(100)
    lines_needed = row.flow.heightForWidth(row.width())
    assert lines_needed > plots.auto_button.height() * 2  # three lines at this width
    assert row.height() >= lines_needed
    for button in (plots.auto_button, plots.export_button):
        assert button.geometry().bottom() <= row.height()  # inside the row: seen


def test_metric_legends_use_the_metrics_labels(plots):
    """ "map_50" is read as "mAP@0.5" wherever a metric is named, as in summary.json."""
    import workbench.tasks  # noqa: F401 - the kinds' labels (the app loads the core in the background)

    started = run_started()
    plots.on_run_started(started)
    for g in range(1, SPE + 1):
        plots.on_step(step(g))
    event = epoch(0, 0)
    event.val_metrics["objects"] = {"map_50": 0.2, "mar_100": 0.1}
    plots.on_epoch(event)
    plots._update_titles()
    text = plots.metric_plot("objects").titleLabel.text
    assert "mAP@0.5" in text and "mAR@100" in text and "map_50" not in text
    assert "macro-F1" in plots.metric_plot("scene").titleLabel.text  # "f1", made at the start


def test_a_narrow_area_shows_one_plot_per_row_and_cuts_none_off(qtbot, plots):
    """Comparing runs of four tasks at 1,024 x 700 left 560 px for the plots: two columns
    asked for 636, and the right column's titles, legends and axes were cut off."""
    tasks = {
        "scene": ("accuracy", "f1"),
        "objects": ("map_50", "map", "mar_100"),
        "masks": ("miou", "miou_fg", "pixel_acc"),
        "count": ("mae", "exact"),
    }
    for g in range(1, 2 * SPE + 1):
        plots.on_step(step(g))
        if g % SPE == 0:
            event = epoch(g // SPE - 1, 0)
            event.val_metrics = {t: dict.fromkeys(names, 0.5) for t, names in tasks.items()}
            plots.on_epoch(event)
    other = [vars(step(g)) | {"type": "step"} for g in range(1, 11)]
    plots.set_compare_runs([("depth 2", other), ("dwa", other)], current_label="depth 4")
    for width, columns in ((580, 1), (1000, 2), (580, 1)):
        plots.resize(width, 700)
        qtbot.waitUntil(lambda w=width: abs(plots._scroll.viewport().width() - (w - 20)) < 60, timeout=2000)
        qtbot.waitUntil(lambda c=columns: plots._arrangement[2] == c, timeout=2000)
        plots._update_titles()
        ci = plots.layout_widget.ci
        ci.layout.activate()
        assert ci.effectiveSizeHint(Qt.SizeHint.MinimumSize).width() <= plots.layout_widget.width() + 1, width
        for plot in plots._all_plots():
            assert plot.titleLabel.minimumWidth() <= plots._title_room(plot) + 1, (width, plot._short_name)


def test_every_compared_task_gets_a_checkbox(plots):
    """The shown run has scene and objects; a compared one also "count": its curves were
    drawn but could not be hidden, as only the shown run's tasks had a checkbox."""
    feed(plots)
    other = []
    for g in range(1, 11):
        record = vars(step(g)) | {"type": "step"}
        record["losses"] = {**record["losses"], "count": 1.0 / g}
        other.append(record)
    plots.set_compare_runs([("depth 2", other)], current_label="depth 4")
    assert set(plots._task_boxes) == {"scene", "objects", "count"}
    plots._flush_curves()
    assert plots.curve_item("train_loss", "count", "depth 2") is not None
    plots.set_task_visible("count", False)
    assert not plots.task_visible("count")
    plots.redraw()
    assert not plots.curve_item("train_loss", "count", "depth 2").isVisible()


def test_the_best_epoch_line_is_drawn_only_on_the_shown_runs_tasks(plots):
    feed(plots)
    other = [vars(step(g)) | {"type": "step"} for g in range(1, 11)]
    record = vars(epoch(0, 0)) | {"type": "epoch"}
    record["val_metrics"] = {**record["val_metrics"], "count": {"mae": 1.0}}
    other.append(record)
    plots.set_compare_runs([("depth 2", other)], current_label="depth 4")
    plots.redraw(force=True)
    assert plots.metric_plot("scene")._best_line.isVisible()
    assert plots.metric_plot("count") is not None and not plots.metric_plot("count")._best_line.isVisible()
    import workbench.tasks  # noqa: F401 - the kinds' labels (the app loads the core in the background)

    plots._update_titles()
    title = plots.metric_plot("count").titleLabel.text
    assert "MAE" in title and "best epoch" not in title  # labelled; no line, so none said
    # closing the comparison: the compared run's task leaves with it
    plots.set_compare_runs([])
    assert plots.metric_plot("count") is None and set(plots._task_boxes) == {"scene", "objects"}


def test_a_long_run_name_keeps_its_name_before_its_start_time(qtbot):
    from workbench.gui.elided_label import ElidedLabel

    label = ElidedLabel(keep_chars=10)
    qtbot.addWidget(label)
    label.setText("cls-count-uncertainty-20261201-094049")
    label.resize(label.fontMetrics().horizontalAdvance("cls-count-uncertainty-2026") + 12, 20)
    label._elide()
    shown = label.text()
    assert shown.startswith("cls-count-uncertainty-") and shown.endswith("…")
    label.setText("plain name without a stamp, long enough to be cut")
    label.resize(80, 20)
    label._elide()
    assert "…" in label.text() and not label.text().endswith("…")  # the middle, as before


def test_eight_tasks_legends_never_widen_the_plots_past_what_is_seen(qtbot, plots):
    """Eight tasks at 1,280 x 800 left the plots about 830 px: the loss plot's and the task
    weights' title rows asked for more, the plots grew wider than the viewport and were cut
    off at the right, and the room for the titles was then measured on the widened plots,
    so they stayed too wide (count and count_l1 never named in the weights' legend)."""
    names = ["scene", "scene_ls", "present", "where", "objects", "masks", "count", "count_l1"]
    for g in range(1, 2 * SPE + 1):
        event = step(g)
        event.losses = {t: 1.0 + k / g for k, t in enumerate(names)}
        event.weights = dict.fromkeys(names, 1.0)
        plots.on_step(event)
        if g % SPE == 0:
            plots.on_epoch(epoch(g // SPE - 1, 0))
    for width in (1400, 840, 700, 840):
        plots.resize(width, 600)
        qtbot.waitUntil(lambda w=width: abs(plots._scroll.viewport().width() - (w - 28)) < 40, timeout=3000)
        qtbot.wait(50)
        viewport = plots._scroll.viewport().width()
        assert plots.layout_widget.width() <= viewport + 1, (width, plots.layout_widget.width(), viewport)
        for plot in (plots.loss_plot, plots.weights_plot):
            shown, whole = plot.titleLabel.text, plot.titleLabel.toolTip() or plot.titleLabel.text
            assert plot.titleLabel.minimumWidth() <= plots._title_room(plot) + 1, (width, plot._short_name)
            # each task is named: in the title row, else in its tooltip, which says "…" is there
            assert all(t in whole for t in names), (width, plot._short_name)
            assert shown.endswith("…</span>") or all(t in shown for t in names)


def test_every_plot_is_final_when_the_run_ends(qtbot, plots):
    """The pacer draws one plot per frame; at a run's end the loss per task still showed an
    epoch-old picture while the plots beside it had the last step."""
    from types import SimpleNamespace

    plots.set_training(SimpleNamespace(config={"train": {"threads": 0}}, device="cpu"))
    plots._timer.stop()  # no frame of the pacer's between the steps and the end
    feed(plots, epochs=2, best=(0, 1))
    assert plots._dirty
    plots.set_training(None)  # the run ended
    qtbot.waitUntil(lambda: not plots._dirty, timeout=2000)
    for (label, kind, task), curve in plots._curves.items():
        if label == "" and kind == "loss":
            xs, _ys = curve.main.getData()
            assert xs is not None and xs[-1] == 2 * SPE, (kind, task)  # the last step is drawn


def test_task_boxes_shorten_long_names_in_their_middle(qtbot):
    """A task box of a 27-character name is cut to 18 characters like the legends, the
    whole name in its tooltip and accessible name: six such boxes took three lines."""
    from workbench.gui.plots_panel import PlotsPanel

    plots = PlotsPanel()
    qtbot.addWidget(plots)
    plots._ensure_task_box("objects_detection_long_name")
    plots._ensure_task_box("masks")
    long_box, short_box = plots._task_boxes["objects_detection_long_name"], plots._task_boxes["masks"]
    # 18 characters: the first 8, "…", the last 9
    assert long_box.text() == "objects_…long_name"
    assert long_box.accessibleName() == "objects_detection_long_name"
    assert "objects_detection_long_name" in long_box.toolTip()
    assert short_box.text() == "masks"


def test_a_plot_title_wider_than_its_plot_shortens_the_task_name(qtbot, monkeypatch):
    """ "Validation metrics: scene_classification_long_name" ran past the plot's right edge
    in the compare view at 1,440 px: the part after ": " is shortened in its middle, the
    whole title on hover."""
    from PySide6.QtGui import QFont, QFontMetrics

    from workbench.gui.plots_panel import PlotsPanel

    plots = PlotsPanel()
    qtbot.addWidget(plots)
    title = "Validation metrics: scene_classification_long_name"
    monkeypatch.setattr(plots, "_title_room", lambda plot: 1000.0)
    assert plots._fitted_title(plots.loss_plot, title) == title
    monkeypatch.setattr(plots, "_title_room", lambda plot: 220.0)
    shown = plots._fitted_title(plots.loss_plot, title)
    font = QFont(plots.font())
    font.setPointSizeF(9.5)
    font.setBold(True)
    assert shown.startswith("Validation metrics: ") and "…" in shown and shown.endswith("e")
    assert QFontMetrics(font).horizontalAdvance(shown) <= 216
    plots._set_title(plots.loss_plot, title, "")
    assert plots.loss_plot.titleLabel.toolTip() == title and "…" in plots._titles[plots.loss_plot][0]
