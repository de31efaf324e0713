"""Live training curves: losses, task weights, validation metrics and learning rate.

Events only append points to ``CurveBuffer``s and mark the panel dirty; a QTimer redraws
at a fixed rate (about 8 Hz) when something changed, so a fast trainer never waits on
drawing. Each curve is created once and updated with ``setData`` on a bounded, min/max
downsampled view of its points (the visible x range only, once the user zooms), so runs
of a million steps stay fluid.

Torch-free: importing this module (or ``workbench.training.run_store``) never loads torch.
"""

from __future__ import annotations

import csv
import math
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QPointF, Qt, QTimer, Signal
from PySide6.QtWidgets import (
    QCheckBox,
    QFileDialog,
    QHBoxLayout,
    QLabel,
    QMenu,
    QMessageBox,
    QPushButton,
    QScrollArea,
    QSlider,
    QStackedWidget,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from workbench.gui.curve_buffer import CurveBuffer
from workbench.gui.redraw_pacer import MeteredLayoutWidget, RedrawPacer
from workbench.training.events import EpochEnded, RunStarted, StepEnded

# Task colours (Tableau 10): the same task has the same colour in every plot.
TASK_COLOURS: tuple[tuple[int, int, int], ...] = (
    (31, 119, 180),
    (255, 127, 14),
    (44, 160, 44),
    (214, 39, 40),
    (148, 103, 189),
    (140, 86, 75),
    (227, 119, 194),
    (127, 127, 127),
    (188, 189, 34),
    (23, 190, 207),
)
# Compare runs: one dash pattern per overlaid run.
COMPARE_DASHES = (
    Qt.PenStyle.DashLine,
    Qt.PenStyle.DotLine,
    Qt.PenStyle.DashDotLine,
    Qt.PenStyle.DashDotDotLine,
)

KINDS = ("train_loss", "val_loss", "weight", "lr", "total_loss")  # plus "metric:<name>"
SMOOTHED_KINDS = frozenset({"train_loss", "total_loss", "weight"})  # per-step series
NORMALISED_KINDS = frozenset({"train_loss", "val_loss", "total_loss"})
RUN_WIDE_KINDS = frozenset({"lr", "total_loss"})  # not per task: stored under task ""

_FG = "#303030"
_BG = "w"


class _LogFriendlyAxis(pg.AxisItem):
    """In log mode, label only the 1-2-5 ticks of a decade, so dense minor ticks never overlap."""

    def logTickStrings(self, values, scale, spacing):  # noqa: N802 - pyqtgraph override
        strings = super().logTickStrings(values, scale, spacing)
        if len(values) <= 3:
            return strings
        kept = []
        for value, text in zip(values, strings, strict=False):
            mantissa = 10 ** (float(value) - math.floor(float(value)))
            kept.append(text if any(abs(mantissa - m) < 1e-6 * m for m in (1.0, 2.0, 5.0)) else "")
        return kept if sum(1 for t in kept if t) >= 2 else strings


@dataclass
class _Curve:
    buffer: CurveBuffer
    plot: pg.PlotItem
    main: pg.PlotDataItem
    faint: pg.PlotDataItem | None  # raw points drawn behind a smoothed curve
    kind: str
    task: str
    compare: str = ""  # label of the compared run, "" for the current run
    state: tuple = field(default_factory=tuple)  # what was last drawn (skip unchanged curves)


def _normalise_kind(kind: str, task: str) -> tuple[str, str]:
    if kind not in KINDS and not kind.startswith("metric:"):
        raise KeyError(f"unknown curve kind {kind!r}; expected one of {KINDS} or 'metric:<name>'")
    return kind, ("" if kind in RUN_WIDE_KINDS else task)


def _first_scale(y: np.ndarray) -> float:
    """The first finite, non-zero value (the divisor of 'normalise by first value')."""
    finite = np.flatnonzero(np.isfinite(y) & (y != 0))
    return float(y[finite[0]]) if len(finite) else 1.0


class PlotsPanel(QWidget):
    """A grid of live plots with smoothing, log-y, normalisation, export and compare mode."""

    REDRAW_INTERVAL_MS = 125  # ~8 Hz
    MAX_DRAWN_POINTS = 4000  # per curve and redraw (min/max pairs keep the spikes)

    redrawn = Signal()  # after each redraw that changed something (tests, status)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._series: dict[tuple[str, str], CurveBuffer] = {}
        self._curves: dict[tuple[str, str, str], _Curve] = {}  # (compare label, kind, task)
        self._task_order: list[str] = []
        self._task_boxes: dict[str, QCheckBox] = {}
        self._metric_plots: dict[str, pg.PlotItem] = {}
        self._metric_order: dict[str, list[str]] = {}  # task -> metric names (colour index)
        self._compare_labels: list[str] = []
        self._dirty = False
        self._next_plot = 0  # round-robin position of the timer's incremental redraw
        self.redraw_count = 0
        self._alpha = 0.0
        self._log_y = False
        self._normalise = False

        self._build_controls()
        self._build_plots()

        layout = QVBoxLayout(self)
        layout.setContentsMargins(4, 4, 4, 4)
        layout.setSpacing(4)
        layout.addLayout(self._controls)
        layout.addLayout(self._tasks_row)
        # Until a run has points, a note stands in for the empty grid of plots: painting
        # that grid costs a third of a second, which would delay the window's first show.
        self._empty_note = QLabel("No curves yet: start a run (F5) or open one from the Runs panel.")
        self._empty_note.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self._empty_note.setStyleSheet("color: #666")
        self._stack = QStackedWidget()
        self._stack.addWidget(self._empty_note)
        self._stack.addWidget(self._scroll)
        layout.addWidget(self._stack, 1)

        self._timer = QTimer(self)
        self._timer.setInterval(self.REDRAW_INTERVAL_MS)
        self._timer.timeout.connect(self._on_timer)
        self._timer.start()

        self.smoothing_slider.setValue(60)  # 0.6: readable by default, raw points stay visible

    # ------------------------------------------------------------------ building
    def _build_controls(self) -> None:
        self._controls = QHBoxLayout()
        self._controls.setSpacing(8)
        self.run_label = QLabel("No run")
        self.run_label.setStyleSheet("font-weight: bold")
        self._controls.addWidget(self.run_label)
        self._controls.addSpacing(12)

        self._controls.addWidget(QLabel("Smoothing"))
        self.smoothing_slider = QSlider(Qt.Orientation.Horizontal)
        self.smoothing_slider.setRange(0, 99)
        self.smoothing_slider.setFixedWidth(140)
        self.smoothing_slider.setToolTip("Exponential moving average of per-step curves (0 = raw)")
        self.smoothing_slider.valueChanged.connect(self._on_smoothing)
        self._controls.addWidget(self.smoothing_slider)
        self.smoothing_value = QLabel("0.00")
        self.smoothing_value.setMinimumWidth(self.smoothing_value.fontMetrics().horizontalAdvance("0.000"))
        self._controls.addWidget(self.smoothing_value)

        self.log_box = QCheckBox("Log y")
        self.log_box.setToolTip("Logarithmic y axis on the loss plots")
        self.log_box.toggled.connect(self.set_log_y)
        self._controls.addWidget(self.log_box)

        self.normalise_box = QCheckBox("Normalise")
        self.normalise_box.setToolTip(
            "Divide each loss curve by its first value, so tasks compare on one scale"
        )
        self.normalise_box.toggled.connect(self.set_normalise)
        self._controls.addWidget(self.normalise_box)

        self.auto_button = QPushButton("Auto range")
        self.auto_button.setToolTip("Fit every plot to its data again")
        self.auto_button.clicked.connect(self.auto_range)
        self._controls.addWidget(self.auto_button)

        self.export_button = QToolButton()
        self.export_button.setText("Export")
        self.export_button.setPopupMode(QToolButton.ToolButtonPopupMode.InstantPopup)
        menu = QMenu(self.export_button)
        menu.addAction("Plots as PNG…", lambda: self._export_dialog("png"))
        menu.addAction("Plots as SVG…", lambda: self._export_dialog("svg"))
        menu.addAction("Points as CSV…", lambda: self._export_dialog("csv"))
        self.export_button.setMenu(menu)
        self._controls.addWidget(self.export_button)

        self._controls.addStretch(1)

        # second row: task show/hide boxes, then the crosshair read-out on the right
        self._tasks_row = QHBoxLayout()
        self._tasks_row.setSpacing(10)
        self._tasks_label = QLabel("Tasks:")
        self._tasks_row.addWidget(self._tasks_label)
        self._tasks_row.addStretch(1)
        self._tasks_label.setVisible(False)
        self.readout = QLabel("")
        self.readout.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.readout.setAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        self.readout.setStyleSheet("color: #444")
        self._tasks_row.addWidget(self.readout)

    def _styled_plot(self, title: str, short: str, x_label: str = "step", y_label: str = "") -> pg.PlotItem:
        plot = pg.PlotItem(axisItems={"left": _LogFriendlyAxis("left")})
        plot.setTitle(title, color=_FG, size="10pt")
        for name in ("left", "bottom"):
            axis = plot.getAxis(name)
            axis.setPen(pg.mkPen("#707070"))
            axis.setTextPen(pg.mkPen(_FG))
            axis.enableAutoSIPrefix(False)
        plot.setLabel("bottom", x_label, color=_FG)
        if y_label:
            plot.setLabel("left", y_label, color=_FG)
        plot.showGrid(x=True, y=True, alpha=0.18)
        plot.setClipToView(True)
        plot.setDownsampling(auto=True, mode="peak")
        plot.getViewBox().sigXRangeChanged.connect(self._on_range_changed)
        plot.getViewBox().setMouseEnabled(x=True, y=True)
        # crosshair
        vline = pg.InfiniteLine(angle=90, movable=False, pen=pg.mkPen((90, 90, 90, 140), width=1))
        hline = pg.InfiniteLine(angle=0, movable=False, pen=pg.mkPen((90, 90, 90, 140), width=1))
        for line in (vline, hline):
            line.setVisible(False)
            line.setZValue(100)
            plot.addItem(line, ignoreBounds=True)
        plot._crosshair = (vline, hline)  # type: ignore[attr-defined]
        plot._short_name = short  # type: ignore[attr-defined]
        return plot

    @staticmethod
    def _legend(plot: pg.PlotItem, corner: str = "top-right") -> pg.LegendItem:
        offset = {"top-right": (-8, 8), "bottom-right": (-8, -8), "top-left": (8, 8)}[corner]
        legend = plot.addLegend(
            offset=offset,
            labelTextColor=_FG,
            labelTextSize="8pt",
            brush=pg.mkBrush(255, 255, 255, 190),
            pen=pg.mkPen(200, 200, 200),
            verSpacing=-4,
        )
        return legend

    def _build_plots(self) -> None:
        self.pacer = RedrawPacer(self.REDRAW_INTERVAL_MS / 1000)
        self.layout_widget = MeteredLayoutWidget(self.pacer)
        self.layout_widget.setBackground(_BG)
        self.layout_widget.ci.setSpacing(6)
        self._scroll = QScrollArea()
        self._scroll.setWidgetResizable(True)
        self._scroll.setFrameShape(QScrollArea.Shape.NoFrame)
        self._scroll.setWidget(self.layout_widget)

        self.loss_plot = self._styled_plot(
            "Loss per task: training per step (lines), validation per epoch (● thick)", "loss", y_label="loss"
        )
        self._legend(self.loss_plot)
        self.total_plot = self._styled_plot("Total (weighted) training loss", "total loss", y_label="loss")
        self.weights_plot = self._styled_plot("Task weights", "weights", y_label="weight")
        self.weights_plot.vb.setLimits(minYRange=0.02)  # equal weights: no ticks of float noise
        self._legend(self.weights_plot)
        self.lr_plot = self._styled_plot("Learning rate", "learning rate", y_label="lr")
        ci = self.layout_widget.ci
        ci.addItem(self.loss_plot, row=0, col=0, colspan=2)
        ci.addItem(self.total_plot, row=1, col=0)
        ci.addItem(self.weights_plot, row=1, col=1)
        ci.addItem(self.lr_plot, row=2, col=0)
        self._fixed_plots = [self.loss_plot, self.total_plot, self.weights_plot, self.lr_plot]
        self._log_plots = [self.loss_plot, self.total_plot]
        self.layout_widget.scene().sigMouseMoved.connect(self._on_mouse_moved)
        self._update_min_height()

    def _all_plots(self) -> list[pg.PlotItem]:
        return self._fixed_plots + list(self._metric_plots.values())

    def _update_min_height(self) -> None:
        rows = 3 + max(0, (len(self._metric_plots) - 1 + 1) // 2)
        self.layout_widget.setMinimumHeight(rows * 185)

    def _metric_plot(self, task: str) -> pg.PlotItem:
        plot = self._metric_plots.get(task)
        if plot is not None:
            return plot
        plot = self._styled_plot(f"Validation metrics: {task}", f"{task} metrics", y_label="value")
        self._legend(plot, "bottom-right")  # most metrics rise: the lower right stays free
        plot.vb.setLimits(minYRange=1e-3)
        slot = len(self._metric_plots)  # slot 0 is beside the learning rate
        row, col = (2, 1) if slot == 0 else (3 + (slot - 1) // 2, (slot - 1) % 2)
        self.layout_widget.ci.addItem(plot, row=row, col=col)
        self._metric_plots[task] = plot
        self._update_min_height()
        return plot

    # ------------------------------------------------------------------ tasks / colours
    def _task_colour(self, task: str) -> tuple[int, int, int]:
        if not task:
            return (60, 60, 60)
        if task not in self._task_order:
            self._task_order.append(task)
        return TASK_COLOURS[self._task_order.index(task) % len(TASK_COLOURS)]

    def _ensure_task_box(self, task: str) -> None:
        if not task or task in self._task_boxes:
            return
        colour = self._task_colour(task)
        box = QCheckBox(task)
        box.setChecked(True)
        box.setStyleSheet(f"QCheckBox {{ color: rgb{colour}; font-weight: bold; }}")
        box.setToolTip(f"Show or hide the curves of task {task!r}")
        box.toggled.connect(self._mark_all_dirty)
        self._tasks_row.insertWidget(self._tasks_row.count() - 2, box)  # before stretch + read-out
        self._task_boxes[task] = box
        self._tasks_label.setVisible(True)

    def set_task_visible(self, task: str, visible: bool) -> None:
        box = self._task_boxes.get(task)
        if box is not None:
            box.setChecked(visible)

    def task_visible(self, task: str) -> bool:
        box = self._task_boxes.get(task)
        return True if box is None else box.isChecked()

    # ------------------------------------------------------------------ curves
    def _make_curve(self, compare: str, kind: str, task: str, buffer: CurveBuffer) -> _Curve:
        self._stack.setCurrentWidget(self._scroll)
        self._ensure_task_box(task)
        colour = self._task_colour(task)
        name = task or kind.replace("_", " ")
        faint = None
        dash = Qt.PenStyle.SolidLine
        if compare:
            index = self._compare_labels.index(compare) if compare in self._compare_labels else 0
            dash = COMPARE_DASHES[index % len(COMPARE_DASHES)]
        if kind.startswith("metric:"):
            plot = self._metric_plot(task)
            metric = kind.split(":", 1)[1]
            names = self._metric_order.setdefault(task, [])
            if metric not in names:
                names.append(metric)
            colour = TASK_COLOURS[names.index(metric) % len(TASK_COLOURS)]
            name = metric
            pen = pg.mkPen(colour, width=2, style=dash)
            main = pg.PlotDataItem(
                pen=pen, symbol=None if compare else "o", symbolSize=5, symbolBrush=colour, symbolPen=None
            )
        elif kind == "val_loss":
            plot = self.loss_plot
            main = pg.PlotDataItem(
                pen=pg.mkPen(colour, width=3, style=dash),
                symbol="o",
                symbolSize=7,
                symbolBrush=colour,
                symbolPen=pg.mkPen("w", width=1),
            )
            main.setZValue(20)
        else:
            plot = {
                "train_loss": self.loss_plot,
                "total_loss": self.total_plot,
                "weight": self.weights_plot,
                "lr": self.lr_plot,
            }[kind]
            main = pg.PlotDataItem(pen=pg.mkPen(colour, width=1.6, style=dash))
            main.setZValue(10)
            if kind in SMOOTHED_KINDS:
                faint = pg.PlotDataItem(pen=pg.mkPen((*colour, 55), width=1, style=dash))
                faint.setZValue(1)
        for item in (faint, main):
            if item is None:
                continue
            item.setDownsampling(auto=True, method="peak")
            item.setClipToView(True)
            plot.addItem(item)
        legend = plot.legend
        show_in_legend = kind not in ("val_loss", "total_loss", "lr") or compare
        if legend is not None and show_in_legend:
            legend.addItem(main, f"{compare}: {name}" if compare else name)
            # one row per run: as many columns as the current run has entries
            columns = (
                len(self._metric_order.get(task, [])) if kind.startswith("metric:") else len(self._task_order)
            )
            legend.setColumnCount(max(1, min(4, columns)))
        curve = _Curve(buffer, plot, main, faint, kind, task, compare)
        self._curves[(compare, kind, task)] = curve
        return curve

    def _buffer(self, kind: str, task: str) -> CurveBuffer:
        key = (kind, task)
        buf = self._series.get(key)
        if buf is None:
            buf = CurveBuffer()
            self._series[key] = buf
            self._make_curve("", kind, task, buf)
        return buf

    def _remove_curve(self, key: tuple[str, str, str]) -> None:
        curve = self._curves.pop(key)
        for item in (curve.main, curve.faint):
            if item is None:
                continue
            if curve.plot.legend is not None:
                curve.plot.legend.removeItem(item)
            curve.plot.removeItem(item)

    # ------------------------------------------------------------------ public API
    def core_loaded(self) -> None:
        """Nothing here needs torch; present for the main window's uniform hook."""

    def shutdown(self) -> None:
        """Stop the redraw timer (the main window calls this on close)."""
        self._timer.stop()

    def clear(self) -> None:
        """Forget every point, curve, metric plot and compared run."""
        for key in list(self._curves):
            self._remove_curve(key)
        for plot in self._metric_plots.values():
            self.layout_widget.ci.removeItem(plot)
        self._metric_plots.clear()
        self._metric_order.clear()
        self._series.clear()
        self._compare_labels = []
        self._task_order = []
        for box in self._task_boxes.values():
            self._tasks_row.removeWidget(box)
            box.deleteLater()
        self._task_boxes.clear()
        self._tasks_label.setVisible(False)
        self.run_label.setText("No run")
        self.readout.setText("")
        self._update_min_height()
        for plot in self._fixed_plots:
            plot.enableAutoRange()
        self._dirty = True

    def on_run_started(self, event: RunStarted) -> None:
        """A new (or resumed) run: start empty, or from the run's log when resuming."""
        self.clear()
        for task in event.task_names:
            self._task_colour(task)
            self._ensure_task_box(task)
        self.run_label.setText(Path(event.run_dir).name or "run")
        if event.start_step > 0:
            from workbench.training.run_store import RunStore

            self._replay(
                [
                    r
                    for r in RunStore(event.run_dir).read_metrics()
                    if r.get("global_step", 0) <= event.start_step
                ]
            )

    def on_step(self, event: StepEnded) -> None:
        x = float(event.global_step)
        for task, value in event.losses.items():
            self._buffer("train_loss", task).append(x, value)
        for task, value in event.weights.items():
            self._buffer("weight", task).append(x, value)
        self._buffer("total_loss", "").append(x, event.total_loss)
        self._buffer("lr", "").append(x, event.lr)
        self._dirty = True

    def on_epoch(self, event: EpochEnded) -> None:
        x = float(event.global_step)
        for task, value in event.val_losses.items():
            self._buffer("val_loss", task).append(x, value)
        for task, metrics in event.val_metrics.items():
            for name, value in metrics.items():
                self._buffer(f"metric:{name}", task).append(x, value)
        self._dirty = True

    def add_points(self, kind: str, task: str, xs, ys) -> None:
        """Bulk-append points to a curve of the current run (same storage as the events)."""
        kind, task = _normalise_kind(kind, task)
        self._buffer(kind, task).extend(xs, ys)
        self._dirty = True

    def load_run(self, store: Any) -> None:
        """Show a run from disk: replays its metrics.jsonl through on_step / on_epoch."""
        self.clear()
        try:
            cfg = store.read_config()
            for task in cfg.tasks:
                self._task_colour(task.name)
                self._ensure_task_box(task.name)
        except Exception:  # noqa: BLE001 - a missing/broken config only costs the colour order
            pass
        self.run_label.setText(Path(store.path).name)
        self._replay(store.read_metrics())

    def _replay(self, records: list[dict]) -> None:
        from workbench.training.run_store import record_to_event

        for record in records:
            try:
                event = record_to_event(record)
            except (KeyError, TypeError):
                continue  # a record of an older / damaged log
            if isinstance(event, StepEnded):
                self.on_step(event)
            elif isinstance(event, EpochEnded):
                self.on_epoch(event)
        self._dirty = True

    def set_compare_runs(self, runs: list[tuple[str, list[dict]]]) -> None:
        """Overlay other runs' training loss and validation metrics as dashed curves."""
        for key in [k for k in self._curves if k[0]]:
            self._remove_curve(key)
        self._compare_labels = [label for label, _ in runs]
        for label, records in runs:
            buffers: dict[tuple[str, str], CurveBuffer] = {}

            def buf(kind: str, task: str, _buffers=buffers, _label=label) -> CurveBuffer:
                b = _buffers.get((kind, task))
                if b is None:
                    b = _buffers[(kind, task)] = CurveBuffer()
                    self._make_curve(_label, kind, task, b)
                return b

            for record in records:
                kind = record.get("type")
                x = float(record.get("global_step", 0))
                if kind == "step":
                    for task, value in (record.get("losses") or {}).items():
                        buf("train_loss", task).append(x, value)
                elif kind == "epoch":
                    for task, metrics in (record.get("val_metrics") or {}).items():
                        for name, value in metrics.items():
                            buf(f"metric:{name}", task).append(x, value)
        self._mark_all_dirty()

    def curve_points(self, kind: str, task: str = "") -> tuple[np.ndarray, np.ndarray]:
        """The exact stored (un-smoothed) points of a curve of the current run (copies)."""
        key = _normalise_kind(kind, task)
        buf = self._series.get(key)
        if buf is None:
            return np.zeros(0), np.zeros(0)
        return buf.x.copy(), buf.y.copy()

    def drawn_points(self, kind: str, task: str = "", compare: str = "") -> tuple[np.ndarray, np.ndarray]:
        """What the curve item was last given to draw (smoothed / normalised / downsampled)."""
        kind, task = _normalise_kind(kind, task)
        curve = self._curves.get((compare, kind, task))
        if curve is None or curve.main.xData is None:
            return np.zeros(0), np.zeros(0)
        return np.asarray(curve.main.xData), np.asarray(curve.main.yData)

    def series_keys(self) -> list[tuple[str, str]]:
        return sorted(self._series)

    # -- view options
    def set_smoothing(self, alpha: float) -> None:
        self.smoothing_slider.setValue(round(max(0.0, min(0.99, alpha)) * 100))

    def smoothing(self) -> float:
        return self._alpha

    def set_log_y(self, on: bool) -> None:
        if self.log_box.isChecked() != bool(on):
            self.log_box.setChecked(bool(on))  # re-enters through toggled
            return
        self._log_y = bool(on)
        for plot in self._log_plots:
            plot.setLogMode(y=self._log_y)
            plot.enableAutoRange(axis="y")
        self._mark_all_dirty()

    def set_normalise(self, on: bool) -> None:
        if self.normalise_box.isChecked() != bool(on):
            self.normalise_box.setChecked(bool(on))
            return
        self._normalise = bool(on)
        for plot in self._log_plots:
            plot.setLabel("left", "loss / first value" if self._normalise else "loss", color=_FG)
            plot.enableAutoRange(axis="y")
        self._mark_all_dirty()

    def auto_range(self) -> None:
        for plot in self._all_plots():
            plot.enableAutoRange()
        self._mark_all_dirty()

    # -- export
    def export_png(self, path: str | Path, width: int = 0) -> None:
        self._stack.setCurrentWidget(self._scroll)
        import pyqtgraph.exporters as exporters

        self.redraw(force=True)
        exporter = exporters.ImageExporter(self.layout_widget.scene())
        if width:
            exporter.parameters()["width"] = int(width)
        exporter.export(str(path))

    def export_svg(self, path: str | Path) -> None:
        self._stack.setCurrentWidget(self._scroll)
        import pyqtgraph.exporters as exporters

        self.redraw(force=True)
        scene = self.layout_widget.scene()
        try:
            exporters.SVGExporter(scene).export(str(path))
        except ValueError:
            # pyqtgraph <= 0.14.0 cannot parse the closed paths ("... Z") that Qt >= 6.8
            # writes (pyqtgraph issue #3495); render the scene with Qt's own SVG generator.
            self._render_svg(scene, Path(path))

    def _render_svg(self, scene, path: Path) -> None:
        from PySide6.QtCore import QRectF, QSize
        from PySide6.QtGui import QPainter
        from PySide6.QtSvg import QSvgGenerator

        rect = scene.sceneRect()
        generator = QSvgGenerator()
        generator.setFileName(str(path))
        generator.setSize(QSize(int(rect.width()), int(rect.height())))
        generator.setViewBox(QRectF(0, 0, rect.width(), rect.height()))
        generator.setTitle("Training curves")
        painter = QPainter()
        if not painter.begin(generator):
            raise OSError(f"cannot write {path}")
        try:
            scene.render(painter, QRectF(0, 0, rect.width(), rect.height()), rect)
        finally:
            painter.end()
        if not path.exists():
            raise OSError(f"cannot write {path}")

    def export_csv(self, path: str | Path) -> None:
        """Every stored point: columns series, task, x, y (compared runs as 'compare/<label>/<kind>')."""
        with open(path, "w", newline="", encoding="utf-8") as fh:
            writer = csv.writer(fh)
            writer.writerow(["series", "task", "x", "y"])
            for (kind, task), buf in sorted(self._series.items()):
                for x, y in zip(buf.x.tolist(), buf.y.tolist(), strict=True):
                    writer.writerow([kind, task, repr(x), repr(y)])
            for (compare, kind, task), curve in sorted(self._curves.items()):
                if not compare:
                    continue
                buf = curve.buffer
                for x, y in zip(buf.x.tolist(), buf.y.tolist(), strict=True):
                    writer.writerow([f"compare/{compare}/{kind}", task, repr(x), repr(y)])

    def _export_dialog(self, kind: str) -> None:
        filters = {"png": "PNG image (*.png)", "svg": "SVG image (*.svg)", "csv": "CSV table (*.csv)"}
        path, _ = QFileDialog.getSaveFileName(self, "Export curves", f"curves.{kind}", filters[kind])
        if not path:
            return
        try:
            {"png": self.export_png, "svg": self.export_svg, "csv": self.export_csv}[kind](path)
        except OSError as exc:
            QMessageBox.warning(self, "Export failed", f"Could not write {path}:\n{exc}")

    # ------------------------------------------------------------------ drawing
    def _mark_all_dirty(self, *_: Any) -> None:
        self._dirty = True

    def _on_range_changed(self, *_: Any) -> None:
        self._dirty = True  # visible slice may change; unchanged curves are skipped cheaply

    def _on_smoothing(self, value: int) -> None:
        self._alpha = value / 100.0
        self.smoothing_value.setText(f"{self._alpha:.2f}")
        self._dirty = True

    def showEvent(self, event) -> None:  # noqa: N802 - Qt override
        super().showEvent(event)
        self._dirty = True

    def _on_timer(self) -> None:
        # The timer ticks at the base rate; the pacer skips ticks while frames are costly,
        # and each tick updates one plot, so no single paint stalls the event loop.
        if self._dirty and self.isVisible() and self.pacer.ready():
            t0 = time.perf_counter()
            self._redraw_next_plot()
            self.pacer.add_cost(time.perf_counter() - t0)
            self.pacer.frame_done()

    def redraw(self, force: bool = False) -> None:
        """Push every changed curve to its item now; ``force`` redraws all of them."""
        self._dirty = False
        changed = False
        for curve in self._curves.values():
            changed |= self._update_curve(curve, force)
        self.redraw_count += 1
        if changed:
            self.redrawn.emit()

    def _redraw_next_plot(self) -> None:
        """Update the curves of the next plot (round robin) that has changes."""
        plots: list[pg.PlotItem] = []
        for curve in self._curves.values():
            if curve.plot not in plots:
                plots.append(curve.plot)
        if not plots:
            self._dirty = False
            return
        for k in range(len(plots)):
            plot = plots[(self._next_plot + k) % len(plots)]
            changed = False
            for curve in self._curves.values():
                if curve.plot is plot:
                    changed |= self._update_curve(curve, False)
            if changed:
                self._next_plot = (self._next_plot + k + 1) % len(plots)
                self.redraw_count += 1
                self.redrawn.emit()
                return  # other plots may still be pending: stay dirty
        self._dirty = False  # a full cycle found nothing (more) to draw
        self.redraw_count += 1

    def _update_curve(self, curve: _Curve, force: bool) -> bool:
        visible = self.task_visible(curve.task)
        vb = curve.plot.getViewBox()
        x_range = None if vb.autoRangeEnabled()[0] else tuple(vb.viewRange()[0])
        smooth = self._alpha if curve.kind in SMOOTHED_KINDS else 0.0
        normalise = self._normalise and curve.kind in NORMALISED_KINDS
        state = (len(curve.buffer), visible, smooth, normalise, x_range)
        if state == curve.state and not force:
            return False
        curve.state = state
        curve.main.setVisible(visible)
        if curve.faint is not None:
            curve.faint.setVisible(visible and smooth > 0)
        if not visible:
            return True
        buf = curve.buffer
        scale = _first_scale(buf.y) if normalise else 1.0
        y_all = buf.ema(smooth) if smooth > 0 else buf.y
        x, y = buf.downsampled(self.MAX_DRAWN_POINTS, y_all, x_range)
        if normalise:
            y = y / scale
        curve.main.setData(x, y)
        if curve.faint is not None and smooth > 0:
            fx, fy = buf.downsampled(self.MAX_DRAWN_POINTS, None, x_range)
            curve.faint.setData(fx, fy / scale if normalise else fy)
        return True

    # ------------------------------------------------------------------ crosshair
    def _on_mouse_moved(self, pos: QPointF) -> None:
        hovered = None
        for plot in self._all_plots():
            inside = plot.sceneBoundingRect().contains(pos) and plot.vb.sceneBoundingRect().contains(pos)
            vline, hline = plot._crosshair
            vline.setVisible(inside)
            hline.setVisible(inside)
            if inside:
                hovered = plot
        if hovered is None:
            self.readout.setText("")
            return
        point = hovered.vb.mapSceneToView(pos)
        x, y = point.x(), point.y()
        vline, hline = hovered._crosshair
        vline.setPos(x)
        hline.setPos(y)
        if hovered in self._log_plots and self._log_y:
            y = 10.0**y if y < 300 else math.inf
        self.readout.setText(f"{hovered._short_name}: step {x:,.0f}, y {y:.4g}")

    def closeEvent(self, event) -> None:  # noqa: N802 - Qt override
        self._timer.stop()
        super().closeEvent(event)
