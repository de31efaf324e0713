"""Curves panel, curve buffer, spec renderer and prediction inspector (offscreen Qt)."""

from __future__ import annotations

import csv
import os
import subprocess
import sys
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

import numpy as np  # noqa: E402
import pytest  # noqa: E402

pytest.importorskip("pytestqt")

from PySide6.QtCore import Qt  # noqa: E402
from PySide6.QtWidgets import QMessageBox  # noqa: E402

from workbench.gui.curve_buffer import CurveBuffer, peak_downsample  # noqa: E402
from workbench.training.events import EpochEnded, SamplesReady, StepEnded  # noqa: E402

REPO = Path(__file__).resolve().parents[1]
TASKS = ("scene", "objects")
CLASS_NAMES = ("circle", "square", "triangle", "diamond")


# ---------------------------------------------------------------------------- helpers


def step_event(g: int, spe: int = 10) -> StepEnded:
    losses = {"scene": 2.0 / g + 0.01 * (g % 3), "objects": 5.0 / g + 0.02 * (g % 2)}
    return StepEnded(
        epoch=(g - 1) // spe,
        step=(g - 1) % spe,
        global_step=g,
        steps_per_epoch=spe,
        losses=losses,
        weights={"scene": 1.0 + 0.01 * g, "objects": 1.0 - 0.01 * g},
        total_loss=sum(losses.values()),
        lr=1e-3 * (1 - g / 100),
        images_per_s=100.0,
        eta_s=1.0,
    )


def epoch_event(epoch: int, g: int) -> EpochEnded:
    return EpochEnded(
        epoch=epoch,
        global_step=g,
        train_losses={"scene": 1.0 / (epoch + 1), "objects": 2.0 / (epoch + 1)},
        val_losses={"scene": 1.5 / (epoch + 1), "objects": 2.5 / (epoch + 1)},
        val_metrics={
            "scene": {"accuracy": 0.5 + 0.1 * epoch},
            "objects": {"map": 0.1 * epoch, "map_50": 0.2 * epoch},
        },
        is_best=True,
        seconds=1.0,
    )


def feed(panel, steps: int = 30, spe: int = 10) -> None:
    for g in range(1, steps + 1):
        panel.on_step(step_event(g, spe))
        if g % spe == 0:
            panel.on_epoch(epoch_event(g // spe - 1, g))


@pytest.fixture
def plots(qtbot):
    from workbench.gui.plots_panel import PlotsPanel

    panel = PlotsPanel()
    panel.pacer.budget = 1.0  # redraw at the base rate: these tests check content, not pacing
    panel.resize(1000, 800)
    qtbot.addWidget(panel)
    panel.show()
    qtbot.waitExposed(panel)
    return panel


def wait_redraw(qtbot, panel) -> None:
    """Let the panel's own timer redraw every plot (one plot per tick; never a bare sleep)."""
    before = panel.redraw_count
    panel._mark_all_dirty()
    qtbot.waitUntil(lambda: panel.redraw_count > before and not panel._dirty, timeout=10000)


# ---------------------------------------------------------------------------- start-up rule


def test_gui_modules_import_without_torch():
    code = (
        "import sys\n"
        "import workbench.gui.plots_panel, workbench.gui.inspector_panel, workbench.gui.image_view\n"
        "import workbench.gui.spec_renderer, workbench.gui.curve_buffer\n"
        "bad = [m for m in ('torch', 'torchvision', 'torchmetrics') if m in sys.modules]\n"
        "assert not bad, bad\n"
    )
    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen"}
    result = subprocess.run(
        [sys.executable, "-c", code], cwd=REPO, env=env, capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 0, result.stderr


# ---------------------------------------------------------------------------- curve buffer


def test_curve_buffer_grows_and_keeps_points():
    buf = CurveBuffer(capacity=4)
    for i in range(1000):
        buf.append(i, i * 0.5)
    buf.extend(np.arange(1000, 1500), np.arange(1000, 1500) * 0.5)
    assert len(buf) == 1500
    np.testing.assert_array_equal(buf.x, np.arange(1500, dtype=float))
    np.testing.assert_array_equal(buf.y, np.arange(1500) * 0.5)
    with pytest.raises(ValueError):
        buf.x[0] = 5.0  # views are read-only


def test_curve_buffer_ema_matches_reference_incrementally():
    rng = np.random.default_rng(1)
    values = rng.normal(size=3001)
    buf = CurveBuffer()
    buf.extend(np.arange(2000), values[:2000])
    buf.ema(0.9)
    buf.extend(np.arange(2000, 3001), values[2000:])
    smoothed = buf.ema(0.9)
    ref, s = [], values[0]
    for v in values:
        s = 0.9 * s + 0.1 * v
        ref.append(s)
    np.testing.assert_allclose(smoothed, ref, rtol=0, atol=1e-9)
    np.testing.assert_array_equal(buf.y, values)  # smoothing never touches the points


def test_peak_downsample_bounds_points_and_keeps_extremes():
    x = np.arange(100_000, dtype=float)
    y = np.sin(x / 500.0)
    y[54_321] = 10.0  # a spike must survive
    dx, dy = peak_downsample(x, y, 1000)
    assert len(dx) <= 1002
    assert dy.max() == 10.0 and dx[0] == 0 and dx[-1] == 99_999
    assert np.all(np.diff(dx) > 0)


# ---------------------------------------------------------------------------- plots panel


def test_curve_points_hold_exactly_the_emitted_points(plots):
    feed(plots, steps=30)
    events = [step_event(g) for g in range(1, 31)]
    for task in TASKS:
        x, y = plots.curve_points("train_loss", task)
        np.testing.assert_array_equal(x, np.arange(1, 31, dtype=float))
        np.testing.assert_array_equal(y, [e.losses[task] for e in events])
        x, y = plots.curve_points("weight", task)
        np.testing.assert_array_equal(y, [e.weights[task] for e in events])
        x, y = plots.curve_points("val_loss", task)
        np.testing.assert_array_equal(x, [10.0, 20.0, 30.0])  # epochs at their global step
        np.testing.assert_array_equal(y, [epoch_event(e, 0).val_losses[task] for e in range(3)])
    np.testing.assert_array_equal(plots.curve_points("total_loss", "")[1], [e.total_loss for e in events])
    np.testing.assert_array_equal(plots.curve_points("lr", "")[1], [e.lr for e in events])
    x, y = plots.curve_points("metric:map_50", "objects")
    np.testing.assert_array_equal(x, [10.0, 20.0, 30.0])
    np.testing.assert_allclose(y, [0.0, 0.2, 0.4])
    assert len(plots.curve_points("metric:accuracy", "objects")[0]) == 0
    with pytest.raises(KeyError):
        plots.curve_points("nonsense", "scene")


def test_smoothing_changes_drawing_not_stored_points(qtbot, plots):
    feed(plots, steps=50)
    stored = plots.curve_points("train_loss", "scene")
    plots.set_smoothing(0.0)
    wait_redraw(qtbot, plots)
    raw_x, raw_y = plots.drawn_points("train_loss", "scene")
    np.testing.assert_array_equal(raw_y, stored[1])
    plots.set_smoothing(0.9)
    wait_redraw(qtbot, plots)
    sx, sy = plots.drawn_points("train_loss", "scene")
    np.testing.assert_array_equal(sx, stored[0])
    assert not np.allclose(sy, stored[1])
    assert sy[0] == stored[1][0]
    np.testing.assert_array_equal(plots.curve_points("train_loss", "scene")[1], stored[1])
    # the faint raw curve behind the smoothed one carries the raw points
    faint = plots._curves[("", "train_loss", "scene")].faint
    assert faint.isVisible()
    np.testing.assert_array_equal(faint.yData, stored[1])


def test_toggles_change_the_drawing(qtbot, plots):
    feed(plots, steps=30)
    plots.set_smoothing(0.0)
    plots.set_normalise(True)
    wait_redraw(qtbot, plots)
    _, y = plots.drawn_points("train_loss", "objects")
    assert y[0] == pytest.approx(1.0)
    _, vy = plots.drawn_points("val_loss", "objects")
    # validation is divided by the task's first TRAINING loss (5.0 / 1 + 0.02 = 5.02), not its own
    assert vy[0] == pytest.approx(2.5 / 5.02)
    _, lr = plots.drawn_points("lr", "")
    np.testing.assert_array_equal(lr, plots.curve_points("lr", "")[1])  # not a loss: never normalised

    plots.set_log_y(True)
    wait_redraw(qtbot, plots)
    assert plots.loss_plot.ctrl.logYCheck.isChecked()
    plots.set_log_y(False)
    plots.set_normalise(False)
    wait_redraw(qtbot, plots)
    _, y = plots.drawn_points("train_loss", "objects")
    np.testing.assert_array_equal(y, plots.curve_points("train_loss", "objects")[1])

    plots.set_task_visible("scene", False)
    wait_redraw(qtbot, plots)
    assert not plots._curves[("", "train_loss", "scene")].main.isVisible()
    assert plots._curves[("", "train_loss", "objects")].main.isVisible()
    plots.set_task_visible("scene", True)
    plots.auto_range()
    wait_redraw(qtbot, plots)
    assert plots._curves[("", "train_loss", "scene")].main.isVisible()


def test_crosshair_readout(qtbot, plots):
    feed(plots, steps=30)
    wait_redraw(qtbot, plots)
    centre = plots.loss_plot.vb.sceneBoundingRect().center()
    plots._on_mouse_moved(centre)
    assert plots.readout.text().startswith("loss: step")
    plots._on_mouse_moved(plots.loss_plot.vb.sceneBoundingRect().topLeft() - centre)
    assert plots.readout.text() == ""


def test_csv_export_round_trip(qtbot, plots, tmp_path):
    feed(plots, steps=20)
    path = tmp_path / "curves.csv"
    plots.export_csv(path)
    with open(path, newline="", encoding="utf-8") as fh:
        rows = list(csv.DictReader(fh))
    assert set(rows[0]) == {"series", "task", "step", "epoch", "elapsed_s", "y"}
    for kind, task in plots.series_keys():
        got = [
            (float(r["step"]), float(r["epoch"]), float(r["y"]))
            for r in rows
            if r["series"] == kind and r["task"] == task
        ]
        x, y = plots.curve_points(kind, task)
        epoch = plots.curve_points(kind, task, axis="epoch")[0]
        assert got == list(zip(x.tolist(), epoch.tolist(), y.tolist(), strict=True))
    assert len(rows) == sum(len(plots.curve_points(k, t)[0]) for k, t in plots.series_keys())


def test_png_and_svg_export(qtbot, plots, tmp_path):
    feed(plots, steps=20)
    wait_redraw(qtbot, plots)
    plots.export_png(tmp_path / "curves.png")
    plots.export_svg(tmp_path / "curves.svg")
    from PySide6.QtGui import QImage

    image = QImage(str(tmp_path / "curves.png"))
    assert not image.isNull() and image.width() > 200
    svg = (tmp_path / "curves.svg").read_text(encoding="utf-8")
    assert "<svg" in svg and len(svg) > 1000


def test_many_points_redraw_is_bounded(qtbot, plots):
    n = 200_000
    x = np.arange(1, n + 1, dtype=float)
    plots.add_points("train_loss", "scene", x, np.exp(-x / 50_000) + 0.05 * np.sin(x))
    plots.add_points("weighted_loss", "", x, np.exp(-x / 50_000))
    wait_redraw(qtbot, plots)
    assert len(plots.curve_points("train_loss", "scene")[0]) == n
    for kind, task in (("train_loss", "scene"), ("weighted_loss", "")):
        dx, dy = plots.drawn_points(kind, task)
        assert 0 < len(dx) <= plots.MAX_DRAWN_POINTS + 2
        assert dx[0] == 1 and dx[-1] == n
    # a zoom draws the visible part only, in full detail
    plots.loss_plot.setXRange(1000, 1500, padding=0)
    wait_redraw(qtbot, plots)
    dx, _ = plots.drawn_points("train_loss", "scene")
    assert dx[0] >= 998 and dx[-1] <= 1502 and len(dx) >= 500


def test_compare_runs_overlay_dashed(qtbot, plots):
    feed(plots, steps=20)
    other = [
        {"type": "step", "global_step": g, "losses": {"scene": 3.0 / g, "objects": 1.0}} for g in range(1, 11)
    ] + [{"type": "epoch", "global_step": 10, "val_metrics": {"scene": {"accuracy": 0.9}}}]
    plots.set_compare_runs([("baseline", other)])
    wait_redraw(qtbot, plots)
    x, y = plots.drawn_points("train_loss", "scene", compare="baseline")
    np.testing.assert_array_equal(x, np.arange(1, 11, dtype=float))
    curve = plots._curves[("baseline", "train_loss", "scene")]
    assert curve.main.opts["pen"].style() == Qt.PenStyle.DashLine
    assert ("baseline", "metric:accuracy", "scene") in plots._curves
    plots.set_compare_runs([])
    assert not [k for k in plots._curves if k[0]]
    np.testing.assert_array_equal(plots.curve_points("train_loss", "scene")[0], np.arange(1, 21, dtype=float))


def test_load_run_replays_metrics(qtbot, plots, tmp_path):
    from workbench.training.run_store import RunStore, event_to_record

    store = RunStore.create(tmp_path, "replay")
    for g in range(1, 21):
        store.append_metrics(event_to_record(step_event(g)))
        if g % 10 == 0:
            store.append_metrics(event_to_record(epoch_event(g // 10 - 1, g)))
    store.close()
    plots.load_run(store)
    np.testing.assert_array_equal(
        plots.curve_points("train_loss", "objects")[0], np.arange(1, 21, dtype=float)
    )
    np.testing.assert_array_equal(plots.curve_points("metric:accuracy", "scene")[1], [0.5, 0.6])
    plots.clear()
    assert plots.series_keys() == []


# ---------------------------------------------------------------------------- spec renderer


def test_renderer_masks_boxes_and_text(qtbot):
    from workbench.gui.spec_renderer import RenderOptions, SpecRenderer
    from workbench.tasks.drawing import DrawBox, DrawMask, DrawSpec, DrawText

    image = np.zeros((32, 32, 3), np.uint8)
    classes = np.zeros((32, 32), np.int64)
    classes[:, 16:] = 1
    spec = DrawSpec(
        task="t",
        masks=(DrawMask(classes, ((0, 0, 0), (0, 255, 0))),),
        boxes=(
            DrawBox((2, 2, 10, 10), "a", (255, 0, 0), score=0.9),
            DrawBox((2, 2, 10, 10), "a", (255, 0, 0), score=0.1),
            DrawBox((2, 2, 12, 12), "a", (255, 0, 0), truth=True, error="missed"),
        ),
        texts=(DrawText("t: right"), DrawText("t: wrong", error=True)),
    )
    renderer = SpecRenderer(RenderOptions(scale=2.0, score_threshold=0.5, mask_opacity=1.0, show_text=True))
    assert [b.score for b in renderer.visible_boxes([spec])] == [0.9, None]
    assert len(renderer.with_options(show_truth=False).visible_boxes([spec])) == 1
    out = renderer.render(image, [spec])
    assert out.width() == 64 and out.height() > 64  # the text band is under the image
    left, right = out.pixelColor(4, 60), out.pixelColor(60, 60)
    assert (left.red(), left.green(), left.blue()) == (0, 0, 0)  # class 0 stays clear
    assert right.green() == 255 and right.red() == 0
    thumb = renderer.render(image, [spec], scale=1.0, show_text=False)
    assert (thumb.width(), thumb.height()) == (32, 32)


def test_a_word_wider_than_the_image_wraps_instead_of_being_cut(qtbot):
    """A 168-letter class name under a thumbnail showed its first 30 letters and no sign of
    the rest: word wrapping cannot break a word. Such a line wraps anywhere; the band grows."""
    from workbench.gui.spec_renderer import RenderOptions, SpecRenderer
    from workbench.tasks.drawing import DrawSpec, DrawText

    image = np.zeros((64, 64, 3), np.uint8)
    renderer = SpecRenderer(RenderOptions(scale=1.0, show_text=True, font_px=10))
    short = renderer.render(image, [DrawSpec(task="t", texts=(DrawText("t truth: cat"),))])
    long_name = "very_long_class_name_" * 8
    long = renderer.render(image, [DrawSpec(task="t", texts=(DrawText(f"t truth: {long_name}"),))])
    line = short.height() - 64  # one line's band
    assert long.height() - 64 >= 4 * (line - 6)  # 168 letters of ~6 px in 58 px: many lines


# ---------------------------------------------------------------------------- inspector


def detection_task():
    from workbench.data.base import DataInfo
    from workbench.tasks.detection import Detection

    info = DataInfo(image_size=64, num_classes=len(CLASS_NAMES), class_names=CLASS_NAMES)
    return Detection("objects", {}, info)


def detection_samples(epoch: int = 0) -> SamplesReady:
    truth = {"boxes": np.array([[4, 4, 24, 24], [30, 30, 60, 60]], np.float32), "labels": np.array([0, 1])}
    perfect = {
        "boxes": np.array([[4, 4, 24, 24], [30, 30, 60, 60], [40, 2, 60, 20]], np.float32),
        "scores": np.array([0.9, 0.6, 0.1], np.float32),
        "labels": np.array([0, 1, 2]),
    }
    wrong = {  # the second object gets the wrong class
        "boxes": np.array([[4, 4, 24, 24], [30, 30, 60, 60]], np.float32),
        "scores": np.array([0.9, 0.8], np.float32),
        "labels": np.array([0, 3]),
    }
    images = np.full((2, 64, 64, 3), 120, np.uint8)
    return SamplesReady(
        epoch=epoch,
        images=images,
        targets={"objects": [truth, truth]},
        predictions={"objects": [perfect, wrong]},
    )


@pytest.fixture
def inspector(qtbot):
    from workbench.gui.inspector_panel import InspectorPanel

    panel = InspectorPanel()
    panel.resize(900, 600)
    qtbot.addWidget(panel)
    panel.show()
    panel.set_tasks([detection_task()])
    panel.on_samples(detection_samples())
    return panel


def boxes_of(panel):
    boxes = panel.visible_boxes()
    return sorted(b.score for b in boxes if not b.truth), sum(b.truth for b in boxes)


def test_inspector_threshold_and_truth_toggle(qtbot, inspector):
    assert inspector.epochs() == [0]
    assert inspector.shown_indices() == [0, 1]
    inspector.set_score_threshold(0.3)
    inspector.refresh()
    assert boxes_of(inspector) == (pytest.approx([0.6, 0.9]), 2)
    inspector.set_score_threshold(0.7)
    qtbot.waitUntil(lambda: boxes_of(inspector)[0] == pytest.approx([0.9]), timeout=3000)
    assert boxes_of(inspector)[1] == 2
    inspector.set_show_truth(False)
    qtbot.waitUntil(lambda: boxes_of(inspector)[1] == 0, timeout=3000)
    assert boxes_of(inspector)[0] == pytest.approx([0.9])
    inspector.set_score_threshold(0.05)
    qtbot.waitUntil(lambda: len(boxes_of(inspector)[0]) == 3, timeout=3000)


def test_inspector_only_errors_filter(qtbot, inspector):
    inspector.set_score_threshold(0.3)
    inspector.set_only_errors(True)
    qtbot.waitUntil(lambda: inspector.shown_indices() == [1], timeout=3000)
    assert "1 with errors" in inspector.status.text()
    errors = {b.error for b in inspector.visible_boxes()}
    assert "wrong class" in errors
    inspector.set_task_visible("objects", False)  # no visible task: nothing is wrong
    qtbot.waitUntil(lambda: inspector.shown_indices() == [], timeout=3000)
    assert inspector.stack.currentWidget() is inspector.placeholder
    inspector.set_task_visible("objects", True)
    inspector.set_only_errors(False)
    qtbot.waitUntil(lambda: inspector.shown_indices() == [0, 1], timeout=3000)


def test_hidden_inspector_renders_only_when_shown(qtbot, inspector, monkeypatch):
    drawn = []
    real = inspector.specs_for
    monkeypatch.setattr(inspector, "specs_for", lambda *a, **k: drawn.append(a[1]) or real(*a, **k))
    inspector.hide()
    inspector.on_samples(detection_samples(epoch=1))  # mid-training, another tab in front
    assert drawn == [] and inspector.current_epoch() == 1  # selected, not drawn yet
    inspector.show()
    qtbot.waitExposed(inspector)
    assert drawn == [0, 1]  # drawn once, on show
    assert inspector.gallery.count() == 2 and inspector.shown_indices() == [0, 1]


@pytest.mark.parametrize(
    ("draw", "said"),
    [
        (
            lambda *a: 1 / 0,
            "task 'objects' (detection) cannot draw image 1: ZeroDivisionError: division by zero",
        ),
        (
            lambda *a: "boxes",
            "task 'objects' (detection) cannot draw image 1: TypeError: draw() must return a DrawSpec, got str",
        ),
    ],
)
def test_a_task_whose_draw_fails_is_named_in_the_status_and_the_gallery_still_shows(
    qtbot, inspector, monkeypatch, draw, said
):
    """A task kind's draw is extension code: any exception (not only the four it used to
    catch) is named once in the status line, the images are still shown without that task,
    and nothing escapes into Qt's paint (a traceback on stderr, nothing in the window)."""
    task = inspector._tasks["objects"]
    monkeypatch.setattr(task, "draw", draw)
    inspector.refresh(force=True)
    assert inspector.shown_indices() == [0, 1] and inspector.gallery.count() == 2
    assert inspector.status.full_text() == f"⚠ {said} · 2 of 2 images · 0 with errors"
    assert inspector.status.toolTip() == said
    assert inspector.last_error == said
    monkeypatch.undo()
    inspector.refresh(force=True)  # fixed: the warning goes with the next gallery
    assert "⚠" not in inspector.status.full_text()


def test_a_spec_that_cannot_be_painted_leaves_the_bare_image_and_says_so(qtbot, inspector, monkeypatch):
    from workbench.tasks.drawing import DrawBox, DrawSpec

    task = inspector._tasks["objects"]
    bad = DrawSpec(task="objects", boxes=[DrawBox(xyxy=("a", 0, 1, 1), label="x", colour=(1, 2, 3))])
    monkeypatch.setattr(task, "draw", lambda *a: bad)
    inspector.refresh(force=True)
    assert inspector.gallery.count() == 2
    assert inspector.status.full_text().startswith(
        "⚠ task 'objects': its drawing of image 1 could not be painted: "
    )
    inspector._view_index = 0  # the large view of the same image: bare, the reason in its title
    inspector._refresh_view()
    assert "image 1 of 2 · ⚠ the drawing could not be painted: " in inspector.view.title.text()
    assert inspector.view.pixmap().width() >= 64
    inspector.view.close()


def test_inspector_epochs_and_large_view(qtbot, inspector):
    inspector.on_samples(detection_samples(epoch=2))
    assert inspector.epochs() == [0, 2] and inspector.current_epoch() == 2
    inspector.select_epoch(0)
    assert inspector.current_epoch() == 0
    item = inspector.gallery.item(1)
    rect = inspector.gallery.visualItemRect(item)
    qtbot.mouseClick(inspector.gallery.viewport(), Qt.MouseButton.LeftButton, pos=rect.center())
    qtbot.waitUntil(lambda: inspector.view is not None and inspector.view.isVisible(), timeout=3000)
    assert "image 2 of 2" in inspector.view.title.text()
    assert inspector.view.pixmap().width() >= 3 * 64
    inspector.view.navigate.emit(1)
    assert "image 1 of 2" in inspector.view.title.text()
    inspector.view.close()


def test_open_corrupt_image_reports_and_does_not_raise(qtbot, inspector, tmp_path, monkeypatch):
    shown = []
    monkeypatch.setattr(QMessageBox, "warning", staticmethod(lambda *args, **kw: shown.append(args[1:3])))
    bad = tmp_path / "broken.png"
    bad.write_bytes(b"\x89PNG\r\n\x1a\n this is not an image")
    assert inspector.open_image(bad) is False
    assert len(shown) == 1 and shown[0][1].count(str(bad)) == 1  # named once, not twice
    # a readable image without a checkpoint: a clear message as well, no crash
    from PIL import Image

    good = tmp_path / "fine.png"
    Image.new("RGB", (40, 30), (10, 200, 30)).save(good)
    assert inspector.open_image(good) is False
    assert len(shown) == 2 and "checkpoint" in shown[1][1]


def test_open_image_runs_the_checkpoint(qtbot, inspector, tmp_path, monkeypatch):
    import torch
    from PIL import Image

    from workbench.config import DataConfig, ExperimentConfig, TaskConfig
    from workbench.training.experiment import build_experiment

    monkeypatch.setattr(
        QMessageBox, "warning", staticmethod(lambda *a, **k: pytest.fail(f"message: {a[1:3]}"))
    )
    cfg = ExperimentConfig(
        name="open",
        data=DataConfig(options=dict(image_size=64, train_size=8, val_size=8)),
        tasks=[TaskConfig(name="scene", kind="classification"), TaskConfig(name="objects", kind="detection")],
    )
    ckpt = tmp_path / "best.pt"
    torch.save({"model": build_experiment(cfg, with_data=False).model.state_dict()}, ckpt)
    inspector.set_checkpoint(ckpt, cfg)
    photo = tmp_path / "photo.png"
    Image.new("RGB", (100, 80), (200, 30, 30)).save(photo)
    with qtbot.waitSignal(inspector.imageOpened, timeout=60_000):
        assert inspector.open_image(photo) is True  # the model runs in a background thread
        assert inspector.predicting()
    assert inspector.view.isVisible() and "photo.png" in inspector.view.title.text()
    _, image, specs = inspector._opened
    assert image.shape == (64, 64, 3)  # the run's input size
    # letterboxed, not stretched: 100x80 -> 64x51 (scale 0.64), centred with 6 grey rows above
    from workbench.gui.inspector_panel import LETTERBOX_FILL

    assert (image[:6] == LETTERBOX_FILL).all() and (image[57:] == LETTERBOX_FILL).all()
    assert (image[6:57] == (200, 30, 30)).all()
    assert {s.task for s in specs} == {"scene", "objects"}
    assert not any(b.truth for s in specs for b in s.boxes)  # predictions only
    # best.pt removed since the run was opened: last.pt runs ("No such file" before)
    ckpt.rename(tmp_path / "last.pt")
    with qtbot.waitSignal(inspector.imageOpened, timeout=60_000):
        assert inspector.open_image(photo) is True
    assert "predictions of last.pt" in inspector.view.title.text()
    # both gone: one line that says so (it was "last.pt: No such file or directory")
    (tmp_path / "last.pt").unlink()
    said = []
    monkeypatch.setattr(inspector, "_error", lambda title, text: said.append((title, text)))
    assert inspector.open_image(photo) is True
    qtbot.waitUntil(lambda: bool(said), timeout=30_000)
    ((title, text),) = said
    assert title == "Inference failed" and text.endswith(
        f"{tmp_path}: best.pt and last.pt are no longer there (deleted or moved since the run was opened): "
        "there are no weights to run"
    )


def test_letterbox_keeps_the_aspect_ratio():
    from workbench.gui.inspector_panel import LETTERBOX_FILL, letterbox

    tall = np.zeros((120, 40, 3), np.uint8)
    tall[:, :, 1] = 255
    out = letterbox(tall, 60)  # scale 0.5 -> 20 x 60, centred: 20 grey columns either side
    assert out.shape == (60, 60, 3)
    assert (out[:, :20] == LETTERBOX_FILL).all() and (out[:, 40:] == LETTERBOX_FILL).all()
    assert (out[:, 20:40, 1] == 255).all()
    square = np.full((30, 30, 3), 7, np.uint8)
    assert (letterbox(square, 60) == 7).all()  # a square image fills the square


def test_a_run_without_samples_or_with_a_damaged_config_says_so(qtbot, tmp_path):
    """A finished run whose samples/ is gone said "No predictions yet. Start a run"; one whose
    config.toml is damaged raised into the window's open (a traceback on stderr)."""
    from workbench.config import DataConfig, ExperimentConfig, TaskConfig
    from workbench.gui.inspector_panel import InspectorPanel
    from workbench.training.run_store import RunStore

    cfg = ExperimentConfig(
        name="disk",
        data=DataConfig(options=dict(image_size=64, train_size=8, val_size=8)),
        tasks=[TaskConfig(name="objects", kind="detection")],
    )
    store = RunStore.create(tmp_path, "disk")
    store.write_config(cfg)
    store.write_summary({"name": "disk", "status": "finished", "epochs_done": 2})
    panel = InspectorPanel()
    qtbot.addWidget(panel)
    panel.show()
    panel.core_loaded()
    panel.load_run(store)
    text = panel.placeholder.text()
    assert text.startswith(
        f"This run validated 2 epoch(s), but {store.path / 'samples'} holds no samples file"
    )
    store.config_path.write_text("name = = 1\n", encoding="utf-8")
    panel.load_run(store)  # no exception
    assert "config.toml" in panel.placeholder.text() and "fix the file" in panel.placeholder.text()
    assert not panel.open_button.isEnabled()


def test_inspector_load_run_from_disk(qtbot, tmp_path):
    from workbench.config import DataConfig, ExperimentConfig, TaskConfig
    from workbench.gui.inspector_panel import InspectorPanel
    from workbench.training.run_store import RunStore

    cfg = ExperimentConfig(
        name="disk",
        data=DataConfig(options=dict(image_size=64, train_size=8, val_size=8)),
        tasks=[TaskConfig(name="objects", kind="detection")],
    )
    store = RunStore.create(tmp_path, "disk")
    store.write_config(cfg)
    store.save_samples(detection_samples(epoch=0))
    store.save_samples(detection_samples(epoch=1))
    panel = InspectorPanel()
    qtbot.addWidget(panel)
    panel.show()
    panel.load_run(store)
    assert panel.epochs() == [0, 1] and panel.current_epoch() == 1
    assert panel.shown_indices() == [0, 1]
    assert not panel.open_button.isEnabled()  # no checkpoint yet
    store.checkpoint_dir.mkdir()
    (store.last_checkpoint).write_bytes(b"")
    (store.best_checkpoint).write_bytes(b"")
    panel.load_run(store)
    assert panel._checkpoint == store.best_checkpoint and panel.open_button.isEnabled()
    panel.select_epoch(0)
    assert boxes_of(panel)[1] == 2
    # the run's own detection threshold is the slider's (it stayed at 0.30, while the
    # export and the run's drawing used the option)
    cfg.tasks[0].options = {"score_threshold": 0.6}
    store.write_config(cfg)
    panel.load_run(store)
    assert panel.score_threshold() == pytest.approx(0.6)


def test_a_long_live_run_keeps_only_the_newest_epochs_of_samples_in_memory(qtbot, tmp_path):
    """Older epochs are dropped from memory once their file is in the run folder and read
    back when chosen; without the folder nothing is dropped (it could not come back)."""
    from workbench.gui.inspector_panel import InspectorPanel
    from workbench.training.run_store import RunStore

    store = RunStore.create(tmp_path, "live")
    panel = InspectorPanel()
    qtbot.addWidget(panel)
    keep = InspectorPanel.SAMPLES_IN_MEMORY
    panel.set_run_folder(store)
    for epoch in range(keep + 3):
        samples = detection_samples(epoch=epoch)
        store.save_samples(samples)  # the trainer saves before it announces the epoch
        panel.on_samples(samples)
    held = sorted(e for e, event in panel._samples.items() if event is not None)
    assert held == list(range(3, keep + 3))  # the newest ones
    assert panel.epochs() == list(range(keep + 3))  # every epoch still offered
    panel.select_epoch(0)  # read back from the folder
    assert panel.current_epoch() == 0 and panel._current_event.epoch == 0
    assert panel._samples[0] is not None and sum(e is not None for e in panel._samples.values()) == keep
    unsaved = InspectorPanel()
    qtbot.addWidget(unsaved)
    for epoch in range(keep + 2):
        unsaved.on_samples(detection_samples(epoch=epoch))
    assert all(event is not None for event in unsaved._samples.values())


def test_many_tasks_wrap_instead_of_widening_the_window(qtbot, inspector):
    """Six tasks with long names made the Predictions tab (and the curves' task row) wider
    than a 1,024-pixel screen: their boxes now wrap onto more lines."""
    from workbench.data.base import DataInfo
    from workbench.gui.plots_panel import PlotsPanel
    from workbench.tasks.detection import Detection

    info = DataInfo(image_size=64, num_classes=len(CLASS_NAMES), class_names=CLASS_NAMES)
    names = [f"objects_in_the_scene_{i}" for i in range(6)]  # each box ~ 260 px wide
    inspector.set_tasks([Detection(name, {}, info) for name in names])
    boxes = list(inspector._task_boxes.values())
    one_line = sum(b.sizeHint().width() for b in boxes)
    assert one_line > 1200
    assert inspector.minimumSizeHint().width() < 600
    inspector.resize(560, 600)
    qtbot.waitUntil(lambda: boxes[-1].y() > boxes[0].y())  # wrapped onto a second line
    assert all(b.geometry().right() <= inspector.width() for b in boxes)

    plots = PlotsPanel()
    qtbot.addWidget(plots)
    for name in names:
        plots._ensure_task_box(name)
    # the curves' boxes shorten these names to 18 characters, and still want one line of
    # about 900 px
    assert sum(b.sizeHint().width() for b in plots._task_boxes.values()) > 800
    assert plots.minimumSizeHint().width() < 600


def test_open_image_uses_the_runs_classes_whatever_became_of_its_data(
    qtbot, inspector, tmp_path, monkeypatch
):
    """The network is built for the classes the run learned (summary.json), without reading
    the data folder: a class added there since gave heads of another shape, and a folder
    moved away made the finished run impossible to open at all."""
    import shutil

    from conftest import finished_folder_run
    from PIL import Image

    root = tmp_path / "set"
    store = finished_folder_run(root, tmp_path / "runs")
    photo = tmp_path / "photo.png"
    Image.new("RGB", (24, 24), (200, 30, 30)).save(photo)
    monkeypatch.setattr(
        QMessageBox, "warning", staticmethod(lambda *a, **k: pytest.fail(f"message: {a[1:3]}"))
    )

    (root / "green").mkdir()  # a class added since the run
    for i in range(6):
        Image.new("RGB", (24, 24), (30, 200, 30)).save(root / "green" / f"{i}.png")
    inspector.load_run(store)
    with qtbot.waitSignal(inspector.imageOpened, timeout=60_000):
        assert inspector.open_image(photo) is True
    (task,) = inspector._model[1]
    assert task.data.class_names == ("blue", "red")

    shutil.move(root, tmp_path / "elsewhere")  # the data folder gone
    inspector.load_run(store)
    assert inspector.epochs() == [0]  # the run opens: its saved predictions are there
    with qtbot.waitSignal(inspector.imageOpened, timeout=60_000):
        assert inspector.open_image(photo) is True


def test_box_tags_are_placed_where_they_cover_no_other_tag():
    """Two "blue · missed" tags of neighbouring boxes were drawn over each other and over a
    third. A tag goes to the first of its places that covers no tag placed before it."""
    from PySide6.QtCore import QRectF

    from workbench.gui.spec_renderer import place_tag

    placed: list[QRectF] = []
    box, size, bounds = (10.0, 10.0, 30.0, 30.0), (20.0, 10.0), (100, 100)
    first = place_tag(box, size, False, bounds, placed)
    assert first == QRectF(10, 0, 20, 10)  # above the box
    placed.append(first)
    second = place_tag(box, size, False, bounds, placed)
    assert second == QRectF(10, 10, 20, 10)  # inside its top: touching, not covering
    placed.append(second)
    truth = place_tag(box, size, True, bounds, placed)
    assert truth == QRectF(10, 31, 20, 10)  # a truth's tag below its box
    placed.append(truth)
    # at the image's right edge, kept inside it
    edge = place_tag((90.0, 50.0, 99.0, 60.0), (30.0, 10.0), False, bounds, placed)
    assert edge == QRectF(70, 40, 30, 10)
    # every place taken: the one that covers least
    crowded = [QRectF(0, 0, 100, 100)]
    assert place_tag(box, size, False, bounds, crowded).intersected(crowded[0]).width() == 20


def test_tags_of_neighbouring_missed_boxes_do_not_cover_each_other(qtbot):
    """Rendered: three missed truth boxes side by side, their tags all readable (no pixel of
    one tag's rectangle under another)."""
    from workbench.gui.spec_renderer import SpecRenderer
    from workbench.tasks.drawing import DrawBox, DrawSpec

    boxes = [
        DrawBox(
            xyxy=(x, 20, x + 12, 40), label="blue · missed", colour=(40, 80, 220), truth=True, error="missed"
        )
        for x in (10, 20, 30)
    ]
    renderer = SpecRenderer().with_options(detailed=True, scale=4.0)
    rects = []
    import workbench.gui.spec_renderer as sr

    real = sr.place_tag

    def spy(*args):
        rect = real(*args)
        rects.append(rect)
        return rect

    sr.place_tag = spy
    try:
        renderer.render(np.zeros((64, 64, 3), np.uint8), [DrawSpec(task="objects", boxes=tuple(boxes))])
    finally:
        sr.place_tag = real
    assert len(rects) == 3
    for i, a in enumerate(rects):
        for b in rects[i + 1 :]:
            assert a.intersected(b).isEmpty(), (a, b)
