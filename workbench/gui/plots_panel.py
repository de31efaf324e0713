"""Live training curves: losses, the training objective, task weights, learning rate, metrics.

Events only append points to ``CurveBuffer``s (each point with three x values: global
step, epoch and wall time) and mark the panel dirty; a QTimer redraws one plot per tick,
paced so drawing stays under a small share of a core. A change of what the plots mean
(x axis, log y, normalise, a hidden task, smoothing, a run opened or compared) redraws
every plot at once, so labels and data never disagree for more than one frame. Each
curve is created once and updated with ``setData`` on a bounded, min/max downsampled view
of its points (the visible x range only, once the user zooms), so long runs stay fluid.

Legends never sit over data: each plot names its series in its title row (colours per
task or metric), and compared runs are told apart by line style in a row above the plots.

Torch-free: importing this module never loads torch.
"""

from __future__ import annotations

import csv
import html
import math
import os
import re
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from PySide6.QtCore import QPointF, QRect, Qt, QTimer, Signal
from PySide6.QtGui import QColor, QFont, QFontMetrics, QPainter, QPen, QPixmap, QTextDocument
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QFileDialog,
    QGraphicsItem,
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

from workbench.gui.core_loader import loaded_module
from workbench.gui.curve_buffer import CurveBuffer
from workbench.gui.elided_label import ElidedLabel
from workbench.gui.flow_layout import FlowLayout, FlowRow, group_row
from workbench.gui.plot_axis import PlotAxis, format_clock
from workbench.gui.plotting_lib import pg
from workbench.gui.redraw_pacer import (
    BUDGET_CORES_SPARE,
    MeteredLayoutWidget,
    RedrawPacer,
    draw_budget_for_run,
)
from workbench.gui.steady_view_box import SteadyViewBox

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
# Compared runs: the current run is solid, each other run has a dash pattern of its own.
COMPARE_DASHES = (
    Qt.PenStyle.DashLine,
    Qt.PenStyle.DotLine,
    Qt.PenStyle.DashDotLine,
    Qt.PenStyle.DashDotDotLine,
)
BEST_COLOUR = (20, 20, 20)  # no task's or metric's colour (the palette's green hid it)
OBJECTIVE_COLOUR = (60, 60, 60)
REGULARISER_COLOUR = (148, 103, 189)

# The x axes every point carries: index into a CurveBuffer's x columns.
AXES = ("step", "epoch", "time")
AXIS_NAMES = {"step": "step", "epoch": "epoch", "time": "wall time (m:ss)"}

KINDS = ("train_loss", "val_loss", "weight", "lr", "total_loss", "weighted_loss", "regulariser")
SMOOTHED_KINDS = frozenset({"train_loss", "weighted_loss", "weight", "regulariser"})  # per-step series
NORMALISED_KINDS = frozenset({"train_loss", "val_loss", "weighted_loss"})
RUN_WIDE_KINDS = frozenset({"lr", "total_loss", "weighted_loss", "regulariser"})  # stored under task ""
STORED_ONLY_KINDS = frozenset({"total_loss"})  # kept (CSV, tests); drawn as its two parts
# what a compared run overlays: its losses, the objective and its regulariser, the task
# weights and the learning rate (what sets weighting methods and sharing depths apart),
# plus every metric; its total loss is drawn as those two parts, as for the shown run
COMPARED_KINDS = frozenset({"train_loss", "val_loss", "weighted_loss", "regulariser", "weight", "lr"})

_FG = "#303030"
_MUTED = "#6a6a6a"
_BG = "w"
_TITLE_ROW_PX = 44  # title line + legend line
_LEGEND_LINE_PX = 15  # each further legend line (8.5 pt)
TASK_NAME_CUTS = (18, 10)  # a plot's legend tries task names shortened to these lengths in turn
RUN_LEGEND_CHARS = 48  # a compared run's name in the runs key, shortened in its middle beyond this
_LOSS_LEGEND_LINES = 3  # the loss plot's legend, alone in its row, may wrap to this many lines
EMPTY_NOTE = "No curves yet: start a run (F5) or open one from the Runs panel."


def _plain(legend: str) -> str:
    """A legend's HTML as plain text (its tooltip)."""
    return html.unescape(re.sub(r"<[^>]+>", "", legend.replace("&nbsp;", " "))).strip()


def _rgb(colour: tuple[int, int, int]) -> str:
    return f"rgb({colour[0]},{colour[1]},{colour[2]})"


# ---------------------------------------------------------------------------- data


def _finite_or_none(value: Any) -> float | None:
    if value is None or isinstance(value, bool):
        return None
    try:
        return float(value)
    except (TypeError, ValueError):
        return None


class RunSeries:
    """Every point of one run, each with its step, epoch and wall-time x.

    ``on_new(kind, task, buffer)`` is called when a series gets its first point; ``accept``
    limits which kinds are kept (compared runs keep COMPARED_KINDS and metrics).
    """

    def __init__(
        self,
        on_new: Callable[[str, str, CurveBuffer], None] | None = None,
        accept: Callable[[str], bool] | None = None,
    ) -> None:
        self.buffers: dict[tuple[str, str], CurveBuffer] = {}
        self.steps_per_epoch = 0
        self.epoch_x: dict[int, tuple[float, float, float]] = {}
        self.best_epoch = -1
        self.regulariser_seen = False
        self._on_new = on_new
        self._accept = accept
        self._mono0: float | None = None
        self._wall0: float | None = None
        self._last_elapsed = 0.0
        self._pending: dict[tuple[str, str], list[float]] | None = None  # step, epoch, time, y, ...

    def buffer(self, kind: str, task: str) -> CurveBuffer | None:
        key = (kind, "" if kind in RUN_WIDE_KINDS else task)
        buf = self.buffers.get(key)
        if buf is None:
            if self._accept is not None and not self._accept(kind):
                return None
            buf = self.buffers[key] = CurveBuffer(axes=len(AXES))
            if self._on_new is not None:
                self._on_new(kind, key[1], buf)
        return buf

    def _add(self, kind: str, task: str, xs: tuple[float, float, float], value: Any) -> None:
        y = _finite_or_none(value)
        if y is None:  # undefined on this validation set (or not a number): no point
            return
        if self._pending is not None:  # add_records: collected, stored in one go per series
            self._pending.setdefault((kind, "" if kind in RUN_WIDE_KINDS else task), []).extend((*xs, y))
            return
        buf = self.buffer(kind, task)
        if buf is not None:
            buf.append(xs[0], y, xs[1], xs[2])

    def _store_pending(self) -> None:
        pending, self._pending = self._pending or {}, None
        for (kind, task), rows in pending.items():
            buf = self.buffer(kind, task)
            if buf is not None:
                columns = np.array(rows, np.float64).reshape(-1, 4).T  # step, epoch, time, y
                buf.extend(columns[0], columns[3], columns[1], columns[2])

    def _elapsed(self, elapsed: Any, wall: Any) -> float:
        """Training seconds: the core's ``elapsed_s``; else from the record's or our own clock."""
        value = _finite_or_none(elapsed)
        if value is None:
            wall_value = _finite_or_none(wall)
            if wall_value is not None:
                if self._wall0 is None:
                    self._wall0 = wall_value
                value = wall_value - self._wall0
            else:
                now = time.monotonic()
                if self._mono0 is None:
                    self._mono0 = now
                value = now - self._mono0
        value = max(value, self._last_elapsed)  # never backwards (keeps the x column sorted)
        self._last_elapsed = value
        return value

    def add_step(
        self,
        epoch: int,
        step: int,
        global_step: int,
        steps_per_epoch: int,
        losses: dict[str, Any],
        weights: dict[str, Any],
        total: Any,
        weighted: Any,
        regulariser: Any,
        lr: Any,
        elapsed: Any = None,
        wall: Any = None,
    ) -> None:
        spe = int(steps_per_epoch or 0) or self.steps_per_epoch or (int(step) + 1)
        self.steps_per_epoch = max(self.steps_per_epoch, spe) if not steps_per_epoch else spe
        xs = (float(global_step), int(epoch) + (int(step) + 1) / max(1, spe), self._elapsed(elapsed, wall))
        for task, value in (losses or {}).items():
            self._add("train_loss", task, xs, value)
        for task, value in (weights or {}).items():
            self._add("weight", task, xs, value)
        if weighted is None:  # a log from before the objective was split: all of it is the sum
            weighted, regulariser = total, 0.0
        self._add("total_loss", "", xs, total)
        self._add("weighted_loss", "", xs, weighted)
        self._add("regulariser", "", xs, regulariser if regulariser is not None else 0.0)
        reg = _finite_or_none(regulariser)
        if reg:
            self.regulariser_seen = True
        self._add("lr", "", xs, lr)

    def add_epoch(
        self,
        epoch: int,
        global_step: int,
        val_losses: dict[str, Any],
        val_metrics: dict[str, dict[str, Any]],
        is_best: bool = False,
        best_epoch: Any = None,
        elapsed: Any = None,
        wall: Any = None,
    ) -> None:
        xs = (float(global_step), float(int(epoch) + 1), self._elapsed(elapsed, wall))
        self.epoch_x[int(epoch)] = xs
        for task, value in (val_losses or {}).items():
            self._add("val_loss", task, xs, value)
        for task, metrics in (val_metrics or {}).items():
            for name, value in (metrics or {}).items():
                self._add(f"metric:{name}", task, xs, value)
        best = _finite_or_none(best_epoch)
        if best is not None:
            self.best_epoch = int(best)
        elif is_best:
            self.best_epoch = int(epoch)

    def add_records(self, records: Iterable[dict[str, Any]]) -> None:
        """Replay metrics.jsonl records; damaged or unknown ones are skipped. The points are
        collected first and stored once per series (a long log: 4x faster than point by point)."""
        self._pending = {}
        try:
            self._replay(records)
        finally:
            self._store_pending()

    def _replay(self, records: Iterable[dict[str, Any]]) -> None:
        records = [r for r in records if isinstance(r, dict)]
        if not self.steps_per_epoch:
            steps = [r.get("step") for r in records if r.get("type") == "step"]
            steps = [s for s in steps if isinstance(s, int)]
            if steps:
                self.steps_per_epoch = max(steps) + 1
        epochs_seen = 0
        for r in records:
            try:
                if r.get("type") == "step":
                    g = int(r["global_step"])
                    spe = self.steps_per_epoch or g
                    self.add_step(
                        r.get("epoch", (g - 1) // spe),
                        r.get("step", (g - 1) % spe),
                        g,
                        0,
                        r.get("losses") or {},
                        r.get("weights") or {},
                        r.get("total_loss"),
                        r.get("weighted_loss"),
                        r.get("regulariser"),
                        r.get("lr"),
                        r.get("elapsed_s"),
                        r.get("time"),
                    )
                elif r.get("type") == "epoch":
                    epochs_seen += 1
                    self.add_epoch(
                        r.get("epoch", epochs_seen - 1),
                        r["global_step"],
                        r.get("val_losses") or {},
                        r.get("val_metrics") or {},
                        bool(r.get("is_best")),
                        r.get("best_epoch"),
                        r.get("elapsed_s"),
                        r.get("time"),
                    )
            except (KeyError, TypeError, ValueError, AttributeError):
                continue  # a record of an older / damaged log

    def reference(self, task: str) -> float:
        """The divisor of "normalise": the task's first finite, non-zero training loss."""
        for kind in ("train_loss", "val_loss"):
            buf = self.buffers.get((kind, task))
            if buf is not None and len(buf):
                y = buf.y
                ok = np.flatnonzero(np.isfinite(y) & (y != 0))
                if len(ok):
                    return float(y[ok[0]])
        return 1.0

    def own_first(self, kind: str, task: str) -> float:
        buf = self.buffers.get((kind, task))
        if buf is None or not len(buf):
            return 1.0
        y = buf.y
        ok = np.flatnonzero(np.isfinite(y) & (y != 0))
        return float(y[ok[0]]) if len(ok) else 1.0


def compared(kind: str) -> bool:
    """Whether a compared run keeps series ``kind`` (COMPARED_KINDS and the metrics)."""
    return kind in COMPARED_KINDS or kind.startswith("metric:")


def series_from_records(records: Iterable[dict[str, Any]], for_compare: bool = False) -> RunSeries:
    """A run's series built from its metrics.jsonl records, ready to hand to ``load_run`` or
    ``set_compare_runs``; Qt-free, so a helper thread may build it (``gui.off_thread``)."""
    series = RunSeries(accept=compared if for_compare else None)
    series.add_records(records)
    return series


@dataclass
class _Curve:
    buffer: CurveBuffer
    run: RunSeries
    plot: pg.PlotItem
    main: pg.PlotDataItem
    faint: pg.PlotDataItem | None  # raw points drawn behind a smoothed curve
    kind: str
    task: str
    compare: str = ""  # label of the compared run, "" for the current run
    state: tuple = field(default_factory=tuple)  # what was last drawn (skip unchanged curves)


def _check_kind(kind: str, task: str) -> tuple[str, str]:
    if kind not in KINDS and not kind.startswith("metric:"):
        raise KeyError(f"unknown curve kind {kind!r}; expected one of {KINDS} or 'metric:<name>'")
    return kind, ("" if kind in RUN_WIDE_KINDS else task)


def _line_pixmap(colour: QColor, style: Qt.PenStyle, width: int = 34, height: int = 12) -> QPixmap:
    pixmap = QPixmap(width, height)
    pixmap.fill(Qt.GlobalColor.transparent)
    painter = QPainter(pixmap)
    painter.setRenderHint(QPainter.RenderHint.Antialiasing)
    pen = QPen(colour, 2)
    pen.setStyle(style)
    painter.setPen(pen)
    painter.drawLine(1, height // 2, width - 1, height // 2)
    painter.end()
    return pixmap


# ---------------------------------------------------------------------------- the panel


class PlotsPanel(QWidget):
    """A grid of live plots with smoothing, log-y, normalisation, x axis choice, export, compare."""

    REDRAW_INTERVAL_MS = 125  # ~8 Hz
    MAX_DRAWN_POINTS = 4000  # per curve and redraw (min/max pairs keep the spikes)
    POINTS_PER_PIXEL = 2  # a min/max pair per pixel column: all an antialiased line can show

    redrawn = Signal()  # after each redraw that changed something (tests, status)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("PlotsPanel")
        self._curves: dict[tuple[str, str, str], _Curve] = {}  # (compare label, kind, task)
        self._task_order: list[str] = []  # the legend's order (the shown run's tasks first)
        # a task keeps its colour for the whole session, whichever run is shown or compared
        # first (cleared never: the slot is the order in which the session met the name)
        self._colour_slots: dict[str, int] = {}
        self._fitted: dict[tuple[tuple[str, ...], int], str] = {}  # (legend variants, room) -> shown
        self._task_boxes: dict[str, QCheckBox] = {}
        self._metric_plots: dict[str, pg.PlotItem] = {}
        self._metric_order: dict[str, list[str]] = {}  # task -> metric names (colour index)
        self._kinds: dict[str, str] = {}  # task -> kind, for the metrics' labels
        self._compare: dict[str, RunSeries] = {}
        self._compare_labels: list[str] = []
        self._not_drawn: list[str] = []  # compared runs past the dash patterns: table only
        self._current_label = ""
        self._run: RunSeries = self._new_run()
        self._dirty = False
        self._next_plot = 0  # round-robin position of the timer's incremental redraw
        self.redraw_count = 0
        self.full_redraw_count = 0
        self._alpha = 0.0
        self._log_y = False
        self._normalise = False
        self._axis = "step"
        self._regulariser_shown = False
        self._titles: dict[pg.PlotItem, tuple[str, str]] = {}
        self._labelled: dict[str, dict[str, int]] = {}  # task -> labelled train / val samples
        self._arrangement: tuple = ()
        self.relayout_count = 0
        self._stale_metric_plots: set[str] = set()  # kept through clear() for the next run's tasks
        self._pending_curves: list[tuple] = []  # curves to create, a few per event-loop turn
        self._spare_plots: list[pg.PlotItem] = []  # metric plots built ahead (warm_up)
        self._spares_wanted = 0

        self._build_controls()
        self._build_plots()

        layout = QVBoxLayout(self)
        layout.setContentsMargins(4, 4, 4, 4)
        layout.setSpacing(4)
        layout.addLayout(self._controls)
        layout.addLayout(self._tasks_row)
        layout.addWidget(self.runs_legend)
        # Until a run has points, a note stands in for the empty grid of plots: painting
        # that grid costs a third of a second, which would delay the window's first show.
        self._empty_note = QLabel(EMPTY_NOTE)
        self._empty_note.setObjectName("emptyNote")
        self._empty_note.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self._stack = QStackedWidget()
        self._stack.addWidget(self._empty_note)
        self._stack.addWidget(self._scroll)
        self._stack.installEventFilter(self)  # its width decides the columns while plots are hidden
        layout.addWidget(self._stack, 1)

        self._timer = QTimer(self)
        self._timer.setTimerType(Qt.TimerType.PreciseTimer)
        self._timer.setInterval(self.REDRAW_INTERVAL_MS)
        self._timer.timeout.connect(self._on_timer)
        self._timer.start()
        # A full redraw requested by a control, coalesced into one per event-loop turn.
        self._full_timer = QTimer(self)
        self._full_timer.setSingleShot(True)
        self._full_timer.setInterval(0)
        self._full_timer.timeout.connect(self._full_redraw)
        self._curve_timer = QTimer(self)
        self._curve_timer.setSingleShot(True)
        self._curve_timer.setInterval(0)
        self._curve_timer.timeout.connect(self._make_some_curves)

        self.smoothing_slider.setValue(60)  # 0.6: readable by default, raw points stay visible

    # ------------------------------------------------------------------ building
    def _build_controls(self) -> None:
        self._controls = QHBoxLayout()
        self._controls.setSpacing(8)
        self.run_label = ElidedLabel("No run", keep_chars=24)
        self.run_label.setObjectName("runLabel")
        self._controls.addWidget(self.run_label, 1)
        self._controls.addSpacing(12)
        # the controls wrap onto a second line in a narrow window instead of widening it
        controls = FlowRow(spacing=8)
        self._controls.addWidget(controls)

        smoothing = group_row(QLabel("Smoothing"))
        self.smoothing_slider = QSlider(Qt.Orientation.Horizontal)
        self.smoothing_slider.setRange(0, 99)
        self.smoothing_slider.setFixedWidth(120)
        self.smoothing_slider.setAccessibleName("Smoothing")
        self.smoothing_slider.setToolTip("Exponential moving average of per-step curves (0 = raw)")
        self.smoothing_slider.valueChanged.connect(self._on_smoothing)
        smoothing.layout().addWidget(self.smoothing_slider)
        self.smoothing_value = QLabel("0.00")
        self.smoothing_value.setMinimumWidth(self.smoothing_value.fontMetrics().horizontalAdvance("0.000"))
        smoothing.layout().addWidget(self.smoothing_value)
        controls.addWidget(smoothing)

        axis = group_row(QLabel("x axis"))
        self.axis_combo = QComboBox()
        self.axis_combo.setObjectName("axisCombo")
        self.axis_combo.setAccessibleName("x axis")
        for key in AXES:
            self.axis_combo.addItem(AXIS_NAMES[key], key)
        self.axis_combo.setToolTip(
            "What the x axis counts: optimiser steps, epochs (validation points at whole "
            "epochs) or training wall time"
        )
        self.axis_combo.currentIndexChanged.connect(lambda _i: self.set_x_axis(self.axis_combo.currentData()))
        axis.layout().addWidget(self.axis_combo)
        controls.addWidget(axis)

        self.log_box = QCheckBox("Log y")
        self.log_box.setToolTip(
            "Logarithmic y axis on the loss and objective plots. Only series that cannot be "
            "negative are on those plots; points at or below 0 are left out."
        )
        self.log_box.toggled.connect(self.set_log_y)
        controls.addWidget(self.log_box)

        self.normalise_box = QCheckBox("Normalise")
        self.normalise_box.setToolTip(
            "Divide each task's losses, training and validation alike,\n"
            "by that task's first training loss: tasks compare on one scale,\n"
            "and validation reads against training.\n"
            "The objective Σ wᵢ·Lᵢ is divided by its own first value; the regulariser is not scaled."
        )
        self.normalise_box.toggled.connect(self.set_normalise)
        controls.addWidget(self.normalise_box)

        self.auto_button = QPushButton("Auto range")
        self.auto_button.setToolTip("Fit every plot to the data it shows again")
        self.auto_button.clicked.connect(self.auto_range)
        controls.addWidget(self.auto_button)

        self.export_button = QToolButton()
        self.export_button.setText("Export")
        self.export_button.setPopupMode(QToolButton.ToolButtonPopupMode.InstantPopup)
        menu = QMenu(self.export_button)
        menu.addAction("Plots as PNG…", lambda: self._export_dialog("png"))
        menu.addAction("Plots as SVG…", lambda: self._export_dialog("svg"))
        menu.addAction("Points as CSV…", lambda: self._export_dialog("csv"))
        self.export_button.setMenu(menu)
        controls.addWidget(self.export_button)

        # second row: task show/hide boxes (coloured: the legend of every per-task plot),
        # then the crosshair read-out on the right
        # (the boxes wrap: six tasks with long names must not widen the window)
        self._tasks_row = QHBoxLayout()
        self._tasks_row.setSpacing(10)
        self._task_flow = FlowRow(spacing=10)
        self._tasks_label = QLabel("Tasks:")
        self._task_flow.addWidget(self._tasks_label)
        self._tasks_row.addWidget(self._task_flow)
        self._tasks_label.setVisible(False)
        self.readout = ElidedLabel("", keep_chars=0)
        self.readout.setObjectName("readout")
        self.readout.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.readout.setAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        self._tasks_row.addWidget(self.readout, 1)

        # third row (compare mode): which line style is which run
        # wraps onto more lines as runs are added: never wider than the window
        self.runs_legend = QWidget()
        self.runs_legend.setObjectName("runsLegend")
        self._runs_legend_layout = FlowLayout(self.runs_legend, spacing=6)
        self.runs_legend.setVisible(False)

    def _styled_plot(self, short: str, y_label: str = "") -> pg.PlotItem:
        plot = pg.PlotItem(
            viewBox=SteadyViewBox(), axisItems={"left": PlotAxis("left"), "bottom": PlotAxis("bottom")}
        )
        for name in ("left", "bottom"):
            axis = plot.getAxis(name)
            axis.setPen(pg.mkPen("#707070"))
            axis.setTextPen(pg.mkPen(_FG))
            axis.enableAutoSIPrefix(False)
            # Fixed axis sizes: a tick label growing by a digit must not lay the whole grid
            # out again (that repaints every plot at once, a stall while training).
            axis.setStyle(autoExpandTextSpace=False)
            # Replaying an axis's tick labels cost ~3 ms a paint, and each curve redraw
            # repainted its plot's axes (bench_gui --profile): keep them as a pixmap that is
            # redrawn only when the axis changes (pyqtgraph calls update() then).
            axis.setCacheMode(QGraphicsItem.CacheMode.DeviceCoordinateCache)
        plot.getAxis("left").setWidth(62)
        plot.setLabel("bottom", AXIS_NAMES[self._axis], color=_FG)
        plot.getAxis("bottom").time_mode = self._axis == "time"
        plot.getAxis("bottom").whole_numbers = self._axis != "epoch"
        if y_label:
            plot.setLabel("left", y_label, color=_FG)
        plot.showGrid(x=True, y=True, alpha=0.18)
        vb = plot.getViewBox()
        vb.sigXRangeChanged.connect(self._on_range_changed)
        vb.setMouseEnabled(x=True, y=True)
        vb.setAutoVisible(y=True)  # y fits what is visible of x after a zoom
        # crosshair
        vline = pg.InfiniteLine(angle=90, movable=False, pen=pg.mkPen((90, 90, 90, 140), width=1))
        hline = pg.InfiniteLine(angle=0, movable=False, pen=pg.mkPen((90, 90, 90, 140), width=1))
        for line in (vline, hline):
            line.setVisible(False)
            line.setZValue(100)
            plot.addItem(line, ignoreBounds=True)
        plot._crosshair = (vline, hline)  # type: ignore[attr-defined]
        plot._short_name = short  # type: ignore[attr-defined]
        plot._best_line = None  # type: ignore[attr-defined]
        return plot

    def _add_best_line(self, plot: pg.PlotItem) -> None:
        line = pg.InfiniteLine(
            angle=90, movable=False, pen=pg.mkPen(BEST_COLOUR, width=1.5, style=Qt.PenStyle.DashLine)
        )
        line.setZValue(5)
        line.setVisible(False)
        plot.addItem(line, ignoreBounds=True)
        plot._best_line = line  # type: ignore[attr-defined]

    def _title_room(self, plot: pg.PlotItem) -> float:
        """Pixels a title line of ``plot`` may take (its column, less the axis and margins)."""
        columns = 1 if plot is self.loss_plot and not self._compare_labels else self._columns()
        # the width seen, not the plots' own: a title too wide had widened them past the
        # viewport (8 tasks' legends), and a room measured on them then kept it too wide
        seen = self._visible_width()
        width = self.layout_widget.width() if seen is None else seen
        return max(120.0, width / columns - 62 - 30)

    def _fitted_title(self, plot: pg.PlotItem, title: str) -> str:
        """The title, or where it is wider than the plot its part after ": " shortened in the
        middle ("Validation metrics: scene_cl…long_name"): a long task name ran past the
        plot's right edge at 1,440 px."""
        room = self._title_room(plot) - 4
        font = QFont(self.font())
        font.setPointSizeF(9.5)
        font.setBold(True)
        metrics = QFontMetrics(font)
        if room <= 0 or metrics.horizontalAdvance(title) <= room:
            return title
        head, sep, tail = title.partition(": ")
        left = room - metrics.horizontalAdvance(head + sep)
        if sep and left > metrics.horizontalAdvance("xx…xx"):
            return head + sep + metrics.elidedText(tail, Qt.TextElideMode.ElideMiddle, int(left))
        return metrics.elidedText(title, Qt.TextElideMode.ElideRight, int(room))

    def _fitting(self, plot: pg.PlotItem, variants: list[str]) -> str:
        """The first legend variant that fits the plot's width on one line (else the last).
        The loss plot, alone in its row, may take up to three lines for the whole legend:
        its line styles (thin: training, ●: validation) were cut to "…" with six tasks at
        1,024 px, and four of six long task names at a 1.5 scale on two lines."""
        room = self._title_room(plot)
        lines = _LOSS_LEGEND_LINES if plot is self.loss_plot and not self._compare_labels else 1
        key = (tuple(variants), round(room), lines)
        if (known := self._fitted.get(key)) is not None:  # measuring is the costly part
            return known
        if len(self._fitted) > 500:
            self._fitted.clear()
        self._fitted[key] = fitted = self._fit(variants, room, lines)
        return fitted

    def _fit(self, variants: list[str], room: float, lines: int = 1) -> str:
        font = QFont(self.font())
        font.setPointSizeF(8.5)
        metrics = QFontMetrics(font)

        doc = QTextDocument()
        doc.setDefaultFont(font)
        doc.setDocumentMargin(0)

        def width(legend: str) -> float:
            # laid out as the title draws it: glyphs such as "━━" come from a fallback font
            # whose widths plain font metrics miss (a legend "fitting" 480 px took 488)
            doc.setHtml(legend)
            return max(doc.idealWidth(), metrics.horizontalAdvance(_plain(legend)))

        for i, legend in enumerate(variants):
            # a shorter variant says it left something out: "…", the whole in the tooltip
            shown = legend if i == 0 or legend.endswith("…") else f"{legend} &nbsp; …"
            if width(shown) <= room:
                return shown
            if lines >= 2:  # the legend on up to ``lines`` lines, entries kept whole
                rows: list[list[str]] = [[]]
                for entry in legend.split(" &nbsp; "):
                    if rows[-1] and width(" &nbsp; ".join([*rows[-1], entry])) > room:
                        rows.append([])
                    rows[-1].append(entry)
                if len(rows) <= lines and all(width(" &nbsp; ".join(row)) <= room for row in rows):
                    return "<br>".join(" &nbsp; ".join(row) for row in rows)
        # none fits: the last one's entries, as many as fit, and "…" for the rest (the
        # title row would otherwise widen the plot past its column, which is cut off)
        entries = variants[-1].split(" &nbsp; ")
        while len(entries) > 1 and width(" &nbsp; ".join([*entries, "…"])) > room:
            entries.pop()
        return (
            " &nbsp; ".join([*entries, "…"])
            if len(entries) < len(variants[-1].split(" &nbsp; "))
            else variants[-1]
        )

    def _set_title(self, plot: pg.PlotItem, title: str, legend: str | list[str] = "") -> None:
        """Title and legend line above the plot (never over its data, never wider than the plot)."""
        whole = legend[0] if isinstance(legend, list) and legend else legend
        if isinstance(legend, list):
            legend = self._fitting(plot, legend)
        # the whole legend on hover when the title row had to shorten it
        cut = legend.replace("<br>", " &nbsp; ") != whole  # two lines leave nothing out
        shown = self._fitted_title(plot, title)
        tip = "\n".join(t for t in (title if shown != title else "", _plain(whole) if cut else "") if t)
        plot.titleLabel.setToolTip(tip)
        title = shown
        if self._titles.get(plot) == (title, legend):
            return
        self._titles[plot] = (title, legend)
        text = f"<b>{html.escape(title)}</b>"
        if legend:
            text += f"<br><span style='font-size:8.5pt; color:{_MUTED}'>{legend}</span>"
        plot.setTitle(text, color=_FG, size="9.5pt")
        height = _TITLE_ROW_PX + _LEGEND_LINE_PX * legend.count("<br>")  # a legend on several lines
        plot.titleLabel.setMaximumHeight(height)
        plot.layout.setRowFixedHeight(0, height)

    def _build_plots(self) -> None:
        # drawing's share of a core: redraw_pacer.draw_budget, set per run (set_training)
        self.pacer = RedrawPacer(self.REDRAW_INTERVAL_MS / 1000, budget=BUDGET_CORES_SPARE)
        self.layout_widget = MeteredLayoutWidget(self.pacer)
        self.layout_widget.setBackground(_BG)
        self.layout_widget.ci.setSpacing(6)
        self._scroll = QScrollArea()
        self._scroll.setWidgetResizable(True)
        self._scroll.setFrameShape(QScrollArea.Shape.NoFrame)
        self._scroll.setWidget(self.layout_widget)
        # both take the focus (arrow keys scroll): a screen reader names them by these
        self._scroll.setAccessibleName("Training curves")
        self.layout_widget.setAccessibleName("Plots of the losses, task weights and metrics")
        self._scroll.viewport().installEventFilter(self)
        self._scroll.verticalScrollBar().valueChanged.connect(self._on_scrolled)
        self.layout_widget.installEventFilter(self)

        self.loss_plot = self._styled_plot("loss", "loss")
        self._add_best_line(self.loss_plot)
        self.objective_plot = self._styled_plot("objective", "loss")
        self.total_plot = self.objective_plot  # the name of earlier versions
        self.regulariser_plot = self._styled_plot("regulariser", "value")
        self.weights_plot = self._styled_plot("weights", "weight")
        self.weights_plot.vb.setLimits(minYRange=0.02)  # equal weights: no ticks of float noise
        self.lr_plot = self._styled_plot("learning rate", "lr")
        self._fixed_plots = [
            self.loss_plot,
            self.objective_plot,
            self.regulariser_plot,
            self.weights_plot,
            self.lr_plot,
        ]
        self._log_plots = [self.loss_plot, self.objective_plot]  # never a series that can be < 0
        self._update_titles()
        self._relayout()
        self.layout_widget.scene().sigMouseMoved.connect(self._on_mouse_moved)

    def _grid_plots(self) -> list[pg.PlotItem]:
        grid = [self.objective_plot, self.weights_plot]
        if self._regulariser_shown:
            grid.append(self.regulariser_plot)
        grid.append(self.lr_plot)
        metrics = list(self._metric_plots.values())
        # comparing: the plots that hold every run (losses, metrics) come first
        return metrics + grid if self._compare_labels else grid + metrics

    # Two plots per row from this width of the visible area on; below it one, so that a
    # title and its legend fit (at 560 px, two columns cut the right one off)
    TWO_COLUMNS_PX = 660

    def _visible_width(self) -> int | None:
        """The width the plots are seen in; None while the panel is being built."""
        # hidden behind the "waiting" note, the viewport keeps a stale size: the stack's tells
        stack = getattr(self, "_stack", None)
        if stack is None:
            return None
        return self._scroll.viewport().width() if self._scroll.isVisible() else stack.width() - 20

    def _columns(self) -> int:
        width = self._visible_width()
        if width is None:  # the first layout, while the panel is built: as at its usual size
            return 2
        return 2 if width >= self.TWO_COLUMNS_PX else 1

    def _relayout(self) -> None:
        """Loss plot across the top, then the others two per row (comparing: all two per
        row); one per row where the area is narrower than ``TWO_COLUMNS_PX``.

        Laying the grid out again repaints every plot: done only when the arrangement changed.
        """
        columns = self._columns()
        arrangement = (bool(self._compare_labels), tuple(id(p) for p in self._grid_plots()), columns)
        if arrangement == self._arrangement:
            self._fit_rows()
            return
        old, self._arrangement = self._arrangement, arrangement
        ci = self.layout_widget.ci
        if old and old[0] == arrangement[0] and old[2] == columns and arrangement[1][: len(old[1])] == old[1]:
            # plots only appended (a new task's metrics): place them, leave the others be
            grid = self._grid_plots()
            first = 0 if self._compare_labels else 1
            offset = 1 if self._compare_labels else 0  # comparing: the loss plot is cell 0
            for i in range(len(old[1]), len(grid)):
                j = i + offset
                ci.addItem(grid[i], row=first + j // columns, col=j % columns)
            self._rows = first + (len(grid) + offset + columns - 1) // columns
            self._equal_rows()
            self._fit_rows()
            return
        self.relayout_count += 1
        for item in list(ci.items):
            ci.removeItem(item)
        grid = self._grid_plots()
        if self._compare_labels:  # comparing: losses beside the first metrics, two per row
            grid = [self.loss_plot, *grid]
            first = 0
        else:
            ci.addItem(self.loss_plot, row=0, col=0, colspan=columns)
            first = 1
        for i, plot in enumerate(grid):
            ci.addItem(plot, row=first + i // columns, col=i % columns)
        for column in (0, 1):  # equal columns, whatever the titles' lengths; an unused one empty
            ci.layout.setColumnStretchFactor(column, 1 if column < columns else 0)
            ci.layout.setColumnPreferredWidth(column, 10 if column < columns else 0)
        self._rows = first + (len(grid) + columns - 1) // columns
        self._equal_rows()
        self._fit_rows()

    def _equal_rows(self, height: float | None = None) -> None:
        """Every row the same height, whatever its titles: the layout shared the height out
        by the plots' preferred heights, so a loss legend on two lines made its row 29 px
        taller than the visible area, and its x axis was cut off. ``height``: the grid's."""
        layout = self.layout_widget.ci.layout
        rows = getattr(self, "_rows", 1)
        height = self.layout_widget.minimumHeight() if height is None else height
        _left, top, _right, bottom = layout.getContentsMargins()
        row = (height - top - bottom - layout.verticalSpacing() * (rows - 1)) / max(1, rows)
        for r in range(max(rows, layout.rowCount())):
            if r < rows and row > 0:
                layout.setRowFixedHeight(r, row)
            else:
                layout.setRowMinimumHeight(r, 0)
                layout.setRowMaximumHeight(r, 0)

    MIN_ROW_PX = 175

    def header_height(self) -> int:
        """Pixels above the plots at the panel's width: the controls, the task boxes and
        the compared runs' key, with the margins and spacing between them."""
        layout = self.layout()
        margins = layout.contentsMargins()
        width = max(1, self.width() - margins.left() - margins.right())
        heights = []
        for i in range(layout.count()):
            item = layout.itemAt(i)
            if item.widget() is self._stack or item.isEmpty():
                continue
            # a wrapping row's height at this width (its size hints are those of its narrowest)
            heights.append(
                item.heightForWidth(width) if item.hasHeightForWidth() else item.sizeHint().height()
            )
        return margins.top() + margins.bottom() + sum(heights) + layout.spacing() * len(heights)

    def _fit_rows(self) -> None:
        """Rows as tall as whole rows fit the visible area: no plot is shown cut in half."""
        rows = getattr(self, "_rows", 1)
        visible = self._scroll.viewport().height()
        fit = max(1, visible // self.MIN_ROW_PX)
        if rows <= fit or visible < self.MIN_ROW_PX:
            height = rows * self.MIN_ROW_PX
        else:
            height = int(rows * visible / fit)
        if self.layout_widget.minimumHeight() != height:
            self.layout_widget.setMinimumHeight(height)
            self._equal_rows(height)

    def eventFilter(self, obj, event) -> bool:  # noqa: N802 - Qt override
        if obj in (self._scroll.viewport(), self._stack) and event.type() == event.Type.Resize:
            if self._arrangement and self._arrangement[2] != self._columns():
                self._relayout()  # crossed TWO_COLUMNS_PX: one column or two
            self._fit_rows()
            self._update_titles()  # the plots may be held wider than what is seen
        elif obj is self.layout_widget and event.type() == event.Type.Resize:
            self._update_titles()  # legends shorten to the new width
        return super().eventFilter(obj, event)

    def _all_plots(self) -> list[pg.PlotItem]:
        return [self.loss_plot, *self._grid_plots()]

    def _metric_plot(self, task: str, relayout: bool = True) -> pg.PlotItem:
        plot = self._metric_plots.get(task)
        if plot is not None:
            if task in self._stale_metric_plots:  # the last run's plot for a task of this name
                self._stale_metric_plots.discard(task)
                plot.enableAutoRange()
            return plot
        plot = self._spare_plots.pop() if self._spare_plots else self._new_metric_plot()
        plot._short_name = f"{task} metrics"
        self._metric_plots[task] = plot
        if relayout:
            self._relayout()
        return plot

    def _new_metric_plot(self) -> pg.PlotItem:
        plot = self._styled_plot("metrics", "value")
        plot.vb.setLimits(minYRange=1e-3)
        plot.vb.nonnegative_y = True  # every metric is >= 0
        self._add_best_line(plot)
        # says why the plot is empty until the first validation (hidden once there are values)
        note = pg.TextItem("values come after the first epoch's validation", color=_MUTED, anchor=(0.5, 0.5))
        note.setPos(0.5, 0.5)
        plot.addItem(note, ignoreBounds=True)
        plot._empty_note = note  # type: ignore[attr-defined]
        return plot

    def _update_empty_notes(self) -> None:
        for task, plot in self._metric_plots.items():
            has_values = any(
                len(buf) for (kind, t), buf in self._run.buffers.items() if t == task and kind.startswith("metric:")
            ) or any(
                len(buf) for run in self._compare.values() for (kind, t), buf in run.buffers.items()
                if t == task and kind.startswith("metric:")
            )  # fmt: skip
            plot._empty_note.setVisible(not has_values)

    def warm_up(self, spares: int = 3) -> None:
        """Build a few metric plots ahead, one per idle moment: a run's start then takes them
        instead of building its plots in one go (a stall of a few hundred ms on 2 cores)."""
        self._spares_wanted = spares
        QTimer.singleShot(50, self._build_spare)

    def _build_spare(self) -> None:
        if len(self._spare_plots) + len(self._metric_plots) < self._spares_wanted:
            self._spare_plots.append(self._new_metric_plot())
            QTimer.singleShot(100, self._build_spare)

    def _prune_metric_plots(self) -> None:
        """Drop the metric plots of the last run's tasks this run does not have."""
        if self._stale_metric_plots:
            for task in self._stale_metric_plots:
                plot = self._metric_plots.pop(task, None)
                self._metric_order.pop(task, None)
                if plot is not None:  # kept for a later task
                    self._spare_plots.append(plot)
            self._stale_metric_plots.clear()
            self._update_titles()
        self._relayout()

    # ------------------------------------------------------------------ legends in titles
    def _legend_entry(self, colour: tuple[int, int, int], text: str, mark: str = "━━") -> str:
        return f"<span style='color:{_rgb(colour)}'>{mark}</span>&nbsp;{html.escape(text)}"

    def _update_titles(self) -> None:
        tasks = [t for t in self._task_order]

        def task_legend_of(chars: int) -> str:  # long task names shortened in their middle
            return " &nbsp; ".join(
                self._legend_entry(self._task_colour(t), _middle_cut(t, chars)) for t in tasks
            )

        task_legend = task_legend_of(10**6)
        # every task named before any is dropped: six long names at a 1.5 scale kept one
        cut = list(dict.fromkeys([task_legend, *(task_legend_of(n) for n in TASK_NAME_CUTS)]))
        best = self._legend_entry(BEST_COLOUR, "best epoch", "┆")
        own = {task for _kind, task in self._run.buffers if task}  # the shown run's tasks
        loss_legends = list(
            dict.fromkeys(
                " &nbsp; ".join(p for p in parts if p)
                for parts in (
                    *((legend, "thin: training", "●: validation", best) for legend in cut),
                    (task_legend, "●: validation", best),
                    *((legend,) for legend in cut),
                )
            )
        )
        self._set_title(self.loss_plot, "Loss per task", loss_legends)
        # each with shorter variants: a narrow window (1,024 px screens) gives a plot ~220 px
        self._set_title(
            self.objective_plot,
            "Training objective",
            [
                self._legend_entry(OBJECTIVE_COLOUR, "Σ wᵢ·Lᵢ: the weighted sum of the task losses"),
                self._legend_entry(OBJECTIVE_COLOUR, "Σ wᵢ·Lᵢ"),
            ],
        )
        self._set_title(
            self.regulariser_plot,
            "Weighting regulariser (linear y)",
            [
                self._legend_entry(REGULARISER_COLOUR, "added to Σ wᵢ·Lᵢ in the total; can be below 0"),
                self._legend_entry(REGULARISER_COLOUR, "added to Σ wᵢ·Lᵢ"),
            ],
        )
        self._set_title(self.weights_plot, "Task weights", cut)  # fitted like the rest
        self._set_title(self.lr_plot, "Learning rate")
        for task, plot in self._metric_plots.items():
            names = self._metric_order.get(task, [])
            entries = [
                self._legend_entry(self._metric_colour(task, n), self._metric_label(task, n)) for n in names
            ]
            # a task only compared runs have: no best-epoch line (the shown run's), none said
            mark = best if not own or task in own else ""
            legends = (
                [" &nbsp; ".join([*entries, mark]).removesuffix(" &nbsp; "), " &nbsp; ".join(entries)]
                if entries
                else ["values follow the first epoch's validation"]
            )
            counts = self._labelled.get(task)
            if counts and entries:  # per-task sample counts: with partial labels they differ
                n = f"labelled: {counts.get('train', 0):,} train / {counts.get('val', 0):,} val"
                legends = [" &nbsp; ".join([*entries, best, n]), *legends]
            self._set_title(plot, f"Validation metrics: {task}", legends)

    def _metric_label(self, task: str, name: str) -> str:
        """The metric's label ("map_50" -> "mAP@0.5") from its task kind, else its name."""
        registry = loaded_module("workbench.tasks")  # loaded with the core; never imported here
        try:
            if task in self._kinds:
                return registry.TASK_KINDS.get(self._kinds[task]).metric_label(name)
            # a compared run's task: the label every kind with this metric agrees on
            labels = {
                kind.metric_label(name)
                for kind in (registry.TASK_KINDS.get(n) for n in registry.TASK_KINDS.names())
                if name in kind.metric_names
            }
            return labels.pop() if len(labels) == 1 else name
        except Exception:  # noqa: BLE001 - an unknown task or kind keeps the name
            return name

    def _rebuild_runs_legend(self) -> None:
        layout = self._runs_legend_layout
        while layout.count():
            item = layout.takeAt(0)
            if item.widget() is not None:
                item.widget().deleteLater()
        if not self._compare_labels:
            self.runs_legend.setVisible(False)
            return
        layout.addWidget(QLabel("Runs:"))
        colour = QColor(70, 70, 70)
        entries = [(self._current_label or "this run", Qt.PenStyle.SolidLine)]
        entries += [
            (label, COMPARE_DASHES[i % len(COMPARE_DASHES)]) for i, label in enumerate(self._compare_labels)
        ]
        for label, style in entries:
            entry = QWidget()  # the line sample and its run stay together on one line
            row = QHBoxLayout(entry)
            row.setContentsMargins(0, 0, 10, 0)
            row.setSpacing(6)
            sample = QLabel()
            sample.setPixmap(_line_pixmap(colour, style))
            # a label names what differs (tasks, method ...): a run of six long task names
            # made it 900 px, wider than a 1,024 px screen's window, which it then widened
            text = QLabel(_middle_cut(label, RUN_LEGEND_CHARS))
            text.setToolTip(label if len(label) > RUN_LEGEND_CHARS else "")
            text.setObjectName("runLegendLabel")
            row.addWidget(sample)
            row.addWidget(text)
            layout.addWidget(entry)
        if self._not_drawn:
            more = QLabel(f"+ {len(self._not_drawn)} more, not drawn")
            more.setObjectName("runLegendNotDrawn")
            more.setToolTip(
                f"One dash pattern per run: the curves of the first {len(COMPARE_DASHES)} compared runs are "
                "drawn; the compare table holds every run (runs that differ only in their seed in one "
                "row). Not drawn: " + ", ".join(self._not_drawn) + ". Compare fewer runs to see theirs."
            )
            layout.addWidget(more)
        self.runs_legend.setVisible(True)

    # ------------------------------------------------------------------ tasks / colours
    def _task_colour(self, task: str) -> tuple[int, int, int]:
        if not task:
            return OBJECTIVE_COLOUR
        if task not in self._task_order:
            self._task_order.append(task)
        slot = self._colour_slots.get(task)
        n = len(TASK_COLOURS)
        shown = {self._colour_slots[t] % n for t in self._task_order if t != task and t in self._colour_slots}
        if slot is None or (slot % n in shown and len(shown) < n):
            # a colour no task in view has; first one no other name of the session had (past
            # ten names the slots wrapped, and "f" took "scene"'s blue beside it)
            remembered = {s % n for t, s in self._colour_slots.items() if t != task}
            free = [i for i in range(n) if i not in shown]
            slot = min(free, key=lambda i: (i in remembered, i)) if free else len(self._colour_slots)
            self._colour_slots[task] = slot
        return TASK_COLOURS[slot % n]

    def _metric_colour(self, task: str, metric: str) -> tuple[int, int, int]:
        names = self._metric_order.setdefault(task, [])
        if metric not in names:
            names.append(metric)
        return TASK_COLOURS[names.index(metric) % len(TASK_COLOURS)]

    def _ensure_task_box(self, task: str) -> None:
        if not task or task in self._task_boxes:
            return
        colour = self._task_colour(task)
        # a long name shortened in its middle as in the legends (whole in the tooltip):
        # six of 27 characters took three lines of a 1,024 px window's plot room
        box = QCheckBox(_middle_cut(task, TASK_NAME_CUTS[0]))
        box.setAccessibleName(task)
        box.setObjectName("taskBox")
        box.setChecked(True)
        # the task's colour (data, not style): through the palette, no style sheet
        palette = box.palette()
        palette.setColor(palette.ColorRole.WindowText, QColor(*colour))
        palette.setColor(palette.ColorRole.ButtonText, QColor(*colour))
        box.setPalette(palette)
        font = box.font()
        font.setBold(True)
        box.setFont(font)
        box.setToolTip(f"Show or hide the curves of task {task!r}")
        box.toggled.connect(self._on_view_option)
        self._task_flow.addWidget(box)
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
    def _new_run(self) -> RunSeries:
        return RunSeries(on_new=lambda kind, task, buf: self._queue_curve("", kind, task, buf, self._run))

    CURVES_PER_TURN = 4  # plot items made per event-loop turn (~5 ms each)

    def _queue_curve(self, compare: str, kind: str, task: str, buffer: CurveBuffer, run: RunSeries) -> None:
        """A new series: its plot item is made soon, a few per event-loop turn (never a burst)."""
        if kind in STORED_ONLY_KINDS:
            return
        if not compare:
            self._ensure_task_box(task)
            self._task_colour(task)
            if kind.startswith("metric:"):
                self._metric_colour(task, kind.split(":", 1)[1])
        self._pending_curves.append((compare, kind, task, buffer, run))
        if not self._curve_timer.isActive():
            self._curve_timer.start()

    def _make_some_curves(self) -> None:
        batch, self._pending_curves = (
            self._pending_curves[: self.CURVES_PER_TURN],
            self._pending_curves[self.CURVES_PER_TURN :],
        )
        for args in batch:
            self._make_curve(*args)
        if batch:
            self._update_titles()
        if self._pending_curves:
            self._curve_timer.start()
        self._update_best_lines()
        self._dirty = True
        self._kick_if_blank()  # a new curve may hold points already

    def _flush_curves(self) -> None:
        """Make every pending plot item now (before a full redraw or a query)."""
        self._curve_timer.stop()
        pending, self._pending_curves = self._pending_curves, []
        for args in pending:
            self._make_curve(*args)
        if pending:
            self._update_titles()
            self._update_best_lines()

    def _plot_for(self, kind: str, task: str) -> pg.PlotItem:
        if kind.startswith("metric:"):
            return self._metric_plot(task)
        return {
            "train_loss": self.loss_plot,
            "val_loss": self.loss_plot,
            "weighted_loss": self.objective_plot,
            "regulariser": self.regulariser_plot,
            "weight": self.weights_plot,
            "lr": self.lr_plot,
        }[kind]

    def _make_curve(self, compare: str, kind: str, task: str, buffer: CurveBuffer, run: RunSeries) -> None:
        if kind in STORED_ONLY_KINDS:
            return
        if not compare:
            self._ensure_task_box(task)
        colour = self._task_colour(task) if task else OBJECTIVE_COLOUR
        if kind == "regulariser":
            colour = REGULARISER_COLOUR
        faint = None
        dash = Qt.PenStyle.SolidLine
        if compare:
            index = self._compare_labels.index(compare) if compare in self._compare_labels else 0
            dash = COMPARE_DASHES[index % len(COMPARE_DASHES)]
        plot = self._plot_for(kind, task)
        common = {"antialias": True, "connect": "finite"}
        if kind.startswith("metric:"):
            metric = kind.split(":", 1)[1]
            colour = self._metric_colour(task, metric)
            main = pg.PlotDataItem(
                pen=pg.mkPen(colour, width=2, style=dash),
                symbol=None if compare else "o",
                symbolSize=5,
                symbolBrush=colour,
                symbolPen=None,
                **common,
            )
            main.setZValue(20)
        elif kind == "val_loss":
            main = pg.PlotDataItem(
                pen=pg.mkPen(colour, width=3, style=dash),
                symbol="o",
                symbolSize=6 if compare else 7,
                symbolBrush=colour,
                symbolPen=pg.mkPen("w", width=1),
                **common,
            )
            main.setZValue(20)
        else:
            main = pg.PlotDataItem(pen=pg.mkPen(colour, width=1.6, style=dash), **common)
            main.setZValue(10)
            if kind in SMOOTHED_KINDS and not compare:
                # the faint raw curve is not antialiased: invisible at its opacity, a third of the cost
                faint = pg.PlotDataItem(
                    pen=pg.mkPen((*colour, 55), width=1), antialias=False, connect="finite"
                )
                faint.setZValue(1)
        for item in (faint, main):
            if item is not None:
                plot.addItem(item)
                # Each curve keeps its last paint as a pixmap: coming back to the Curves tab
                # (every plot exposed at once) then blits instead of repainting every curve,
                # 118 -> 17 ms for 5 plots of 10k points; a redraw with new data costs the same
                # (benchmarks/bench_plots.py, "tab return").
                for part in (item.curve, item.scatter):
                    part.setCacheMode(QGraphicsItem.CacheMode.DeviceCoordinateCache)
        self._curves[(compare, kind, task)] = _Curve(buffer, run, plot, main, faint, kind, task, compare)
        # titles: once per batch of curves by the callers (per curve, comparing 36 runs
        # fitted 3,851 legends, ~2 s of a 5 s freeze)

    def _remove_curve(self, key: tuple[str, str, str]) -> None:
        curve = self._curves.pop(key)
        for item in (curve.main, curve.faint):
            if item is not None:
                curve.plot.removeItem(item)

    # ------------------------------------------------------------------ public API
    def core_loaded(self) -> None:
        """The core is there (runs can start): build a few metric plots ahead, in idle moments."""
        self.warm_up()

    def shutdown(self) -> None:
        """Stop the redraw timers (the main window calls this on close)."""
        self._timer.stop()
        self._full_timer.stop()
        self._curve_timer.stop()

    def clear(self) -> None:
        """Forget every point, curve, metric plot and compared run."""
        self._labelled = {}
        for key in list(self._curves):
            self._remove_curve(key)
        self._pending_curves.clear()
        # metric plots stay (hidden behind the note) for a next run with the same tasks:
        # building and laying them out again is the costliest part of a run's start
        self._stale_metric_plots = set(self._metric_plots)
        for plot in self._metric_plots.values():
            plot._best_line.setVisible(False)
        self._metric_order.clear()
        self._compare.clear()
        self._compare_labels = []
        self._not_drawn = []
        self._current_label = ""
        self._run = self._new_run()
        self._task_order = []
        for box in self._task_boxes.values():
            self._task_flow.flow.removeWidget(box)
            box.deleteLater()
        self._task_boxes.clear()
        self._tasks_label.setVisible(False)
        self._regulariser_shown = False
        self.run_label.setText("No run")
        self.readout.setText("")
        self._rebuild_runs_legend()
        self._update_titles()
        self._relayout()
        for plot in self._fixed_plots:
            plot.enableAutoRange()
            if plot._best_line is not None:
                plot._best_line.setVisible(False)
        self._empty_note.setText(EMPTY_NOTE)
        self._stack.setCurrentWidget(self._empty_note)
        self._dirty = True

    def _show_plots(self) -> None:
        """The grid instead of the note, once there is something to draw."""
        if self._stack.currentWidget() is not self._scroll:
            self._stack.setCurrentWidget(self._scroll)

    def set_training(self, event: Any | None) -> None:
        """A run trains on this machine (``event``: its ``RunStarted``, or anything with its
        ``config`` dict and ``device``) or none does any more (None): drawing then takes
        ``draw_budget`` of a core, less while training keeps every core busy."""
        if event is None:
            self.pacer.budget = BUDGET_CORES_SPARE
            # the run's end shows every plot final at once: one plot per frame left some
            # (the loss per task) a frame or more behind the others when the run ended
            if self._dirty or self._pending_curves:
                self._full_timer.start()
        else:
            self.pacer.budget = draw_budget_for_run(event.config, event.device, os.cpu_count())

    def on_run_started(self, event: Any) -> None:
        """A new (or resumed) run: start empty, or from the run's log when resuming."""
        self.clear()
        for task in event.task_names:
            self._task_colour(task)
            self._ensure_task_box(task)
        self._run.steps_per_epoch = int(event.steps_per_epoch or 0)
        self.run_label.setText(Path(event.run_dir).name or "run")
        self._empty_note.setText(f"Waiting for the first training step of {Path(event.run_dir).name}…")
        # every task's metrics plot now: laying the grid out again at the first epoch's
        # end would repaint every plot at once, a stall in the middle of training
        kinds = {
            t.get("name"): t.get("kind") for t in (event.config or {}).get("tasks", []) if isinstance(t, dict)
        }
        self._kinds = dict(kinds)
        registry = loaded_module("workbench.tasks")  # loaded by now; never imported from here
        # Every curve the run will have, now (empty): creating plot items costs milliseconds
        # each, which at the first epoch's end (a dozen at once) would stall the window.
        for task in event.task_names:
            self._metric_plot(task, relayout=False)
            for kind in ("train_loss", "weight", "val_loss"):
                self._run.buffer(kind, task)
            try:  # the metric names too: the titles are final before the first epoch ends
                for name in registry.TASK_KINDS.get(kinds[task]).metric_names:
                    self._run.buffer(f"metric:{name}", task)
            except Exception:  # noqa: BLE001 - an unknown kind only costs a later title update
                pass
        for kind in ("weighted_loss", "regulariser", "lr", "total_loss"):
            self._run.buffer(kind, "")
        self._prune_metric_plots()
        self._update_empty_notes()
        self._update_titles()
        self._update_titles()
        if event.start_step > 0:
            from workbench.training.run_store import RunStore

            records = RunStore(event.run_dir).read_metrics()
            self._run.add_records([r for r in records if r.get("global_step", 0) <= event.start_step])
            self._after_bulk_load()

    def on_step(self, event: Any) -> None:
        self._run.add_step(
            event.epoch,
            event.step,
            event.global_step,
            event.steps_per_epoch,
            event.losses,
            event.weights,
            event.total_loss,
            getattr(event, "weighted_loss", None),
            getattr(event, "regulariser", None),
            event.lr,
            getattr(event, "elapsed_s", None),
        )
        self._check_regulariser()
        self._show_plots()
        self._dirty = True
        self._kick_if_blank()

    def on_epoch(self, event: Any) -> None:
        labelled = dict(getattr(event, "labelled", None) or {})
        if labelled and labelled != self._labelled:
            self._labelled = labelled
            self._update_titles()
        self._run.add_epoch(
            event.epoch,
            event.global_step,
            event.val_losses,
            event.val_metrics,
            bool(getattr(event, "is_best", False)),
            getattr(event, "best_epoch", None),
            getattr(event, "elapsed_s", None),
        )
        self._update_best_lines()
        self._update_empty_notes()
        self._show_plots()
        self._dirty = True
        self._kick_if_blank()

    def add_points(self, kind: str, task: str, xs, ys) -> None:
        """Bulk-append points to a curve of the current run (x is the step; epoch and time follow it)."""
        kind, task = _check_kind(kind, task)
        buf = self._run.buffer(kind, task)
        xs = np.asarray(xs, np.float64)
        spe = self._run.steps_per_epoch or 1
        buf.extend(xs, ys, xs / spe, xs)
        self._show_plots()
        self._dirty = True

    def load_run(
        self, store: Any, records: list[dict[str, Any]] | None = None, series: RunSeries | None = None
    ) -> None:
        """Show a run from disk (its metrics.jsonl, or ``records`` already read from it, or
        the ``series`` already built from them: ``series_from_records``), drawn at once."""
        self.clear()
        try:
            cfg = store.read_config()
            self._kinds = {t.name: t.kind for t in cfg.tasks}
            for task in cfg.tasks:
                self._task_colour(task.name)
                self._ensure_task_box(task.name)
        except Exception:  # noqa: BLE001 - a missing/broken config only costs the colour order
            pass
        self.run_label.setText(Path(store.path).name)
        if series is None:
            self._run.add_records(store.read_metrics() if records is None else records)
        else:
            self._run = self._adopt("", series)
        self._after_bulk_load()

    def _adopt(self, compare: str, series: RunSeries) -> RunSeries:
        """A series built elsewhere: its curves queued, its new series from now on too."""
        series._on_new = lambda kind, task, buf, _c=compare, _s=series: self._queue_curve(
            _c, kind, task, buf, _s
        )
        for (kind, task), buf in series.buffers.items():
            self._queue_curve(compare, kind, task, buf, series)
        return series

    def replay_records(self, records: list[dict[str, Any]]) -> None:
        """Add logged records to the current run (the live run re-shown from its log)."""
        self._run.add_records(records)
        self._after_bulk_load()

    def set_empty_note(self, text: str) -> None:
        """Why a run shown without any logged record has no curves (its log lost, say)."""
        if not any(len(buf) for buf in self._run.buffers.values()):
            self._empty_note.setText(text)

    def _after_bulk_load(self) -> None:
        self._flush_curves()  # makes (or reuses) the metric plots of this run's tasks
        self._prune_metric_plots()
        self._update_empty_notes()
        if any(len(buf) for buf in self._run.buffers.values()):
            self._show_plots()
        else:
            self._empty_note.setText("This run has no logged steps yet.")
        self._check_regulariser()
        self._update_best_lines()
        self._update_titles()
        self._full_redraw(autorange=True)

    def set_compare_runs(
        self, runs: list[tuple[str, list[dict] | RunSeries]], current_label: str = ""
    ) -> None:
        """Overlay other runs' losses and validation metrics, one dash pattern per run: each
        given by its records or its series (``series_from_records(records, for_compare=True)``).
        The first ``len(COMPARE_DASHES)`` runs are drawn; the runs legend names the others.

        ``current_label`` names the run already shown (solid lines) in the runs legend.
        """
        for key in [k for k in self._curves if k[0]]:
            self._remove_curve(key)
        self._compare.clear()
        if not runs:
            self._drop_compared_tasks()
        # one dash pattern per run: past the patterns there are, runs could not be told
        # apart (36 runs drew 9 of each, and took seconds); the compare table lists them all
        self._not_drawn = [label for label, _ in runs[len(COMPARE_DASHES) :]]
        runs = runs[: len(COMPARE_DASHES)]
        reorder = bool(self._compare_labels) != bool(runs)
        self._compare_labels = [label for label, _ in runs]
        self._current_label = current_label
        if reorder:
            self._relayout()
        for label, given in runs:
            series = given if isinstance(given, RunSeries) else series_from_records(given, for_compare=True)
            self._compare[label] = self._adopt(label, series)
            for _kind, task in list(series.buffers):  # the other runs' tasks can be hidden too
                self._ensure_task_box(task)
        self._rebuild_runs_legend()
        self._update_titles()
        if runs:
            self._show_plots()
        self._full_redraw(autorange=True)
        self._update_empty_notes()

    def _drop_compared_tasks(self) -> None:
        """Closing a comparison: the checkboxes and metric plots of tasks only the compared
        runs had go (they stayed, empty, with the curves' legends)."""
        own = {task for _kind, task in self._run.buffers if task}
        if not own:
            return
        for task in [t for t in self._task_boxes if t not in own]:
            box = self._task_boxes.pop(task)
            self._task_flow.flow.removeWidget(box)
            box.deleteLater()
        if task_plots := [t for t in self._metric_plots if t not in own]:
            self._stale_metric_plots.update(task_plots)
            self._prune_metric_plots()
        self._task_order = [t for t in self._task_order if t in own]
        self._update_titles()

    def compare_labels(self) -> list[str]:
        return list(self._compare_labels)

    def curve_points(self, kind: str, task: str = "", axis: str = "step") -> tuple[np.ndarray, np.ndarray]:
        """The exact stored (un-smoothed) points of a curve of the current run (copies)."""
        key = _check_kind(kind, task)
        buf = self._run.buffers.get(key)
        if buf is None:
            return np.zeros(0), np.zeros(0)
        return buf.axis_x(AXES.index(axis)).copy(), buf.y.copy()

    def drawn_points(self, kind: str, task: str = "", compare: str = "") -> tuple[np.ndarray, np.ndarray]:
        """What the curve item was last given to draw (smoothed / normalised / downsampled)."""
        kind, task = _check_kind(kind, task)
        self._flush_curves()
        curve = self._curves.get((compare, kind, task))
        if curve is None or curve.main.xData is None:
            return np.zeros(0), np.zeros(0)
        return np.asarray(curve.main.xData), np.asarray(curve.main.yData)

    def curve_item(self, kind: str, task: str = "", compare: str = "") -> pg.PlotDataItem | None:
        kind, task = _check_kind(kind, task)
        self._flush_curves()
        curve = self._curves.get((compare, kind, task))
        return curve.main if curve is not None else None

    def series_keys(self) -> list[tuple[str, str]]:
        return sorted(self._run.buffers)

    def best_epoch(self) -> int:
        return self._run.best_epoch

    def best_line_x(self, plot: pg.PlotItem) -> float | None:
        """Where the best-epoch marker of ``plot`` is (None when hidden)."""
        line = plot._best_line
        if line is None or not line.isVisible():
            return None
        return float(line.value())

    def regulariser_shown(self) -> bool:
        return self._regulariser_shown

    def metric_plot(self, task: str) -> pg.PlotItem | None:
        self._flush_curves()
        return self._metric_plots.get(task)

    # -- view options
    def set_smoothing(self, alpha: float) -> None:
        self.smoothing_slider.setValue(round(max(0.0, min(0.99, alpha)) * 100))

    def smoothing(self) -> float:
        return self._alpha

    def x_axis(self) -> str:
        return self._axis

    def set_x_axis(self, axis: str) -> None:
        """ "step", "epoch" or "time": labels and data change together."""
        if axis not in AXES:
            raise ValueError(f"unknown x axis {axis!r}; expected one of {AXES}")
        if self.axis_combo.currentData() != axis:
            self.axis_combo.setCurrentIndex(AXES.index(axis))  # re-enters through the combo
            return
        if axis == self._axis:
            return
        self._axis = axis
        for plot in self._all_plots() + [self.regulariser_plot]:
            plot.setLabel("bottom", AXIS_NAMES[axis], color=_FG)
            plot.getAxis("bottom").time_mode = axis == "time"
            plot.getAxis("bottom").whole_numbers = axis != "epoch"
            plot.getAxis("bottom").picture = None
            plot.enableAutoRange(axis="x")
        self._update_best_lines()
        self._full_redraw(autorange=True)

    def set_log_y(self, on: bool) -> None:
        if self.log_box.isChecked() != bool(on):
            self.log_box.setChecked(bool(on))  # re-enters through toggled
            return
        self._log_y = bool(on)
        for plot in self._log_plots:
            plot.setLogMode(y=self._log_y)
        self._full_redraw(autorange=True)

    def set_normalise(self, on: bool) -> None:
        if self.normalise_box.isChecked() != bool(on):
            self.normalise_box.setChecked(bool(on))
            return
        self._normalise = bool(on)
        for plot in self._log_plots:
            plot.setLabel("left", "loss ÷ first loss" if self._normalise else "loss", color=_FG)
        self._full_redraw(autorange=True)

    def auto_range(self) -> None:
        self._full_redraw(autorange=True, x_too=True)

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
        """Every stored point: series, task, step, epoch, elapsed_s, y (compared runs as 'compare/<label>/<kind>')."""
        with open(path, "w", newline="", encoding="utf-8") as fh:
            writer = csv.writer(fh)
            writer.writerow(["series", "task", "step", "epoch", "elapsed_s", "y"])
            groups = [("", self._run)] + [(label, self._compare[label]) for label in self._compare_labels]
            for label, run in groups:
                for (kind, task), buf in sorted(run.buffers.items()):
                    series = f"compare/{label}/{kind}" if label else kind
                    columns = [buf.axis_x(i).tolist() for i in range(len(AXES))] + [buf.y.tolist()]
                    for step, epoch, elapsed, y in zip(*columns, strict=True):
                        writer.writerow([series, task, repr(step), repr(epoch), repr(elapsed), repr(y)])

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
        self._full_timer.start()  # coalesces a slider drag into one redraw per event-loop turn

    def _on_view_option(self, *_: Any) -> None:
        self._full_redraw(autorange=True)

    def _check_regulariser(self) -> None:
        if self._run.regulariser_seen and not self._regulariser_shown:
            self._regulariser_shown = True
            self._relayout()

    def _update_best_lines(self) -> None:
        best = self._run.best_epoch
        xs = self._run.epoch_x.get(best) if best >= 0 else None
        own = {task for _kind, task in self._run.buffers}  # the shown run's tasks
        plots = [(None, self.loss_plot), *self._metric_plots.items()]
        for task, plot in plots:
            line = plot._best_line
            if line is None:
                continue
            if xs is None or (task is not None and own and task not in own):
                line.setVisible(False)  # a compared run's task: not the shown run's best epoch
                continue
            line.setValue(xs[AXES.index(self._axis)])
            line.setVisible(True)

    def showEvent(self, event) -> None:  # noqa: N802 - Qt override
        super().showEvent(event)
        self._dirty = True

    def _blank_plots(self) -> list[pg.PlotItem]:
        """Plots that show no point yet but have some to show, in drawing order.

        Their first frame does not wait for the pacer: with drawing at 1 % of a core a new
        run's plots came up one every 2 s, and an empty plot beside a running run reads as
        broken. Each plot gets one such frame, one per timer tick, so there is no burst."""
        drawn: set[int] = set()
        pending: list[pg.PlotItem] = []
        for curve in self._curves.values():
            if curve.state and curve.state[0] > 0 and curve.state[1]:
                drawn.add(id(curve.plot))
            elif len(curve.buffer) > 0 and self.task_visible(curve.task) and curve.plot not in pending:
                pending.append(curve.plot)
        pending = [plot for plot in pending if id(plot) not in drawn]
        area = self._shown_area() if pending else None
        if area is not None:  # scrolled out of view: drawn when it scrolls in
            pending = [plot for plot in pending if self._plot_rect(plot).intersects(area)]
        return pending

    def _kick_if_blank(self) -> None:
        # new data may have reached an empty plot: tick soon instead of when the pacer's
        # next frame is due
        if (
            self._timer.isActive()
            and self._timer.remainingTime() > self.REDRAW_INTERVAL_MS
            and self._blank_plots()
        ):
            self._timer.start(self.REDRAW_INTERVAL_MS)

    def _on_timer(self) -> None:
        # The timer ticks at the base rate; the pacer skips ticks while frames are costly,
        # and each tick updates one plot, so no single paint stalls the event loop.
        if not (self._dirty and self.isVisible()):
            return
        blank = [] if self.pacer.ready() else self._blank_plots()
        if blank or self.pacer.ready():
            t0 = time.perf_counter()
            self._redraw_next_plot(first=blank[0] if blank else None)
            self.pacer.add_cost(time.perf_counter() - t0)
            self.pacer.frame_done()
            # tick when the next frame is due, not at the base rate in between: every
            # wake-up of the GUI thread preempts a training thread on a busy machine
            # (a precise timer, +10 ms: a coarse one fired up to 5 % early, found the frame
            # not yet due and waited a whole interval more: plots went twice as stale)
            interval = max(self.REDRAW_INTERVAL_MS, int(self.pacer.interval_s * 1000) + 10)
            if blank and len(blank) > 1:  # more plots still wait for their first points
                interval = self.REDRAW_INTERVAL_MS
            self._timer.setInterval(interval)

    def _full_redraw(self, autorange: bool = False, x_too: bool = False) -> None:
        """Every curve now (what the plots mean changed), then fit y (and x) to what is shown."""
        self._full_timer.stop()
        self._flush_curves()
        if autorange:  # before drawing: an x range that is to be fitted must not clip the data
            for plot in self._all_plots():
                if x_too:
                    plot.enableAutoRange()
                else:
                    plot.enableAutoRange(axis="y")
        self.redraw(force=True)
        self.full_redraw_count += 1
        if autorange:
            for plot in self._all_plots():
                plot.vb.updateAutoRange()

    def redraw(self, force: bool = False) -> None:
        """Push every changed curve to its item now; ``force`` redraws all of them."""
        self._flush_curves()
        self._dirty = False
        changed = False
        for curve in list(self._curves.values()):
            changed |= self._update_curve(curve, force)
        self.redraw_count += 1
        if changed:
            self.redrawn.emit()

    def _redraw_next_plot(self, first: pg.PlotItem | None = None) -> None:
        """Update the curves of the next plot (round robin) that has changes, or of
        ``first`` (a plot's first points, see ``_blank_plots``)."""
        plots: list[pg.PlotItem] = []
        for curve in self._curves.values():
            if curve.plot not in plots:
                plots.append(curve.plot)
        if not plots:
            self._dirty = False
            return
        shown = self._shown_area()
        if first is not None:
            for curve in list(self._curves.values()):
                if curve.plot is first:
                    self._update_curve(curve, False)
            self.redraw_count += 1
            self.redrawn.emit()
            return
        for k in range(len(plots)):
            plot = plots[(self._next_plot + k) % len(plots)]
            if shown is not None and not self._plot_rect(plot).intersects(shown):
                continue  # scrolled out of view: drawn when it scrolls in (_on_scrolled)
            changed = False
            for curve in list(self._curves.values()):
                if curve.plot is plot:
                    changed |= self._update_curve(curve, False)
            if changed:
                self._next_plot = (self._next_plot + k + 1) % len(plots)
                self.redraw_count += 1
                self.redrawn.emit()
                return  # other plots may still be pending: stay dirty
        self._dirty = False  # a full cycle found nothing (more) to draw
        self.redraw_count += 1

    def _shown_area(self) -> QRect | None:
        """The part of the plot grid the scroll area shows, in the grid's coordinates."""
        if self._stack.currentWidget() is not self._scroll:
            return None
        top = self._scroll.verticalScrollBar().value()
        return QRect(0, top, self.layout_widget.width(), self._scroll.viewport().height())

    def _plot_rect(self, plot: pg.PlotItem) -> QRect:
        return self.layout_widget.mapFromScene(plot.sceneBoundingRect()).boundingRect()

    def _on_scrolled(self, *_: Any) -> None:
        # plots coming into view may be behind: draw them at the next tick
        self._dirty = True
        self._timer.start(self.REDRAW_INTERVAL_MS)

    def _scale(self, curve: _Curve) -> float:
        if curve.kind in ("train_loss", "val_loss"):
            return curve.run.reference(curve.task)
        return curve.run.own_first(curve.kind, curve.task)

    def _update_curve(self, curve: _Curve, force: bool) -> bool:
        visible = self.task_visible(curve.task)
        vb = curve.plot.getViewBox()
        x_range = None if vb.autoRangeEnabled()[0] else tuple(vb.viewRange()[0])
        smooth = self._alpha if curve.kind in SMOOTHED_KINDS else 0.0
        normalise = self._normalise and curve.kind in NORMALISED_KINDS
        scale = self._scale(curve) if normalise else 1.0
        log = self._log_y and curve.plot in self._log_plots
        limit = self._max_points(curve.plot)
        state = (len(curve.buffer), visible, smooth, scale, log, self._axis, x_range, limit)
        if state == curve.state and not force:
            return False
        curve.state = state
        curve.main.setVisible(visible)
        if curve.faint is not None:
            curve.faint.setVisible(visible and smooth > 0)
        if not visible:
            return True
        buf = curve.buffer
        axis = AXES.index(self._axis)
        y_all = buf.ema(smooth) if smooth > 0 else buf.y
        x, y = buf.downsampled(limit, y_all, x_range, axis)
        curve.main.setData(x, self._transform(y, scale, log))
        if curve.faint is not None and smooth > 0:
            fx, fy = buf.downsampled(limit, None, x_range, axis)
            curve.faint.setData(fx, self._transform(fy, scale, log))
        return True

    def _max_points(self, plot: pg.PlotItem) -> int:
        """Points worth drawing: two per pixel column of the plot (antialiasing costs per point)."""
        width = int(plot.vb.width())
        if width <= 0:
            return self.MAX_DRAWN_POINTS
        return max(400, min(self.MAX_DRAWN_POINTS, self.POINTS_PER_PIXEL * width))

    @staticmethod
    def _transform(y: np.ndarray, scale: float, log: bool) -> np.ndarray:
        if scale != 1.0 and math.isfinite(scale) and scale != 0:
            y = y / scale
        if log and len(y) and not np.all(y > 0):
            y = np.where(y > 0, y, np.nan)  # nothing at or below 0 on a log axis
        return y

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
        if self._axis == "time":
            where = f"time {format_clock(x)}"
        elif self._axis == "epoch":
            where = f"epoch {x:.2f}"
        else:
            where = f"step {x:,.0f}"
        self.readout.setText(f"{hovered._short_name}: {where}, y {y:.4g}")

    def closeEvent(self, event) -> None:  # noqa: N802 - Qt override
        self.shutdown()
        super().closeEvent(event)


def _middle_cut(text: str, chars: int) -> str:
    """``text`` at most ``chars`` characters, shortened in its middle with "…" (both ends
    tell runs apart: "depth 4 · scene_cl…tags")."""
    if len(text) <= chars:
        return text
    head = (chars - 1) // 2
    return f"{text[:head]}…{text[len(text) - (chars - 1 - head) :]}"
