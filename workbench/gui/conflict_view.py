"""Task conflict, live: the latest cosine matrix of the task gradients as a heatmap, the
cosine of each task pair over the steps, and the shares of negative cosines.

Fed by the ``conflict`` entries of step events (``ConflictSample.as_dict()``) or of a
run's metrics log; redrawn on a timer, never per event. Torch-free.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QTimer
from PySide6.QtGui import QFont
from PySide6.QtWidgets import QHBoxLayout, QLabel, QSizePolicy, QVBoxLayout, QWidget

from workbench.gui.plots_panel import TASK_COLOURS

EMPTY_NOTE = (
    "No task-conflict measurements yet. They are taken every <i>Measure conflict every</i> steps "
    "(Setup → Weighting) when two or more tasks share layers (sharing depth above 0)."
)


class ConflictView(QWidget):
    """Heatmap of the latest task-gradient cosines and the cosine of each pair over steps."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.steps: list[int] = []
        self.samples: list[dict[str, Any]] = []
        self._dirty = False
        lay = QVBoxLayout(self)
        lay.setContentsMargins(6, 6, 6, 6)
        self.note = QLabel(EMPTY_NOTE)
        self.note.setWordWrap(True)
        lay.addWidget(self.note)
        row = QHBoxLayout()
        lay.addLayout(row, 1)
        self.heat_widget = pg.GraphicsLayoutWidget()
        self.heat_widget.setBackground("w")
        self.heat_widget.setMinimumWidth(260)
        self.heat = self.heat_widget.addPlot()
        self.heat.setTitle(
            "Latest cosine of task gradients on the shared layers<br>red: aligned (+1), blue: conflicting (-1)",
            size="9pt",
        )
        self.heat.setAspectLocked(True)
        self.heat.invertY(True)
        self.heat.hideButtons()
        self.heat.setMouseEnabled(False, False)
        self.image = pg.ImageItem()
        self.image.setLookupTable(pg.colormap.get("CET-D1").getLookupTable(nPts=256))
        self.image.setLevels((-1.0, 1.0))
        self.heat.addItem(self.image)
        self.cell_text: list[pg.TextItem] = []
        row.addWidget(self.heat_widget, 2)
        self.series_widget = pg.GraphicsLayoutWidget()
        self.series_widget.setBackground("w")
        self.series = self.series_widget.addPlot()
        self.series.setLabel("bottom", "step")
        self.series.setLabel("left", "cosine")
        self.series.setYRange(-1.0, 1.0)
        self.series.showGrid(x=True, y=True, alpha=0.3)
        self.series.addLine(y=0.0, pen=pg.mkPen((120, 120, 120), style=pg.QtCore.Qt.PenStyle.DashLine))
        self.curves: dict[str, pg.PlotDataItem] = {}
        row.addWidget(self.series_widget, 3)
        self.stats = QLabel("")
        self.stats.setWordWrap(True)
        self.stats.setSizePolicy(QSizePolicy.Policy.Preferred, QSizePolicy.Policy.Maximum)
        lay.addWidget(self.stats)
        self.timer = QTimer(self)
        self.timer.setInterval(400)
        self.timer.timeout.connect(self._redraw_if_shown)
        self.timer.start()
        self._show_empty(True)

    # -------------------------------------------------------------- input
    def clear(self) -> None:
        self.steps.clear()
        self.samples.clear()
        for curve in self.curves.values():
            self.series.removeItem(curve)
        self.curves.clear()
        self.series.setTitle("")
        self.stats.setText("")
        self._dirty = True

    def add(self, step: int, conflict: dict[str, Any] | None) -> None:
        if isinstance(conflict, dict) and conflict.get("tasks") and conflict.get("cos"):
            self.steps.append(int(step))
            self.samples.append(conflict)
            self._dirty = True

    def on_step(self, event: Any) -> None:
        self.add(event.global_step, getattr(event, "conflict", None))

    def add_records(self, records: Iterable[dict[str, Any]]) -> None:
        for r in records:
            if r.get("type") == "step" and "conflict" in r:
                self.add(r.get("global_step", 0), r.get("conflict"))
        self._redraw()

    # -------------------------------------------------------------- drawing
    def _show_empty(self, empty: bool) -> None:
        self.note.setVisible(empty)
        self.heat_widget.setVisible(not empty)
        self.series_widget.setVisible(not empty)

    def pairs(self) -> dict[str, tuple[list[int], list[float]]]:
        """'a × b' -> (steps, cosines) over every measurement that had both tasks."""
        out: dict[str, tuple[list[int], list[float]]] = {}
        for step, s in zip(self.steps, self.samples, strict=True):
            tasks = s["tasks"]
            for i in range(len(tasks)):
                for j in range(i + 1, len(tasks)):
                    xs, ys = out.setdefault(f"{tasks[i]} × {tasks[j]}", ([], []))
                    xs.append(step)
                    ys.append(float(s["cos"][i][j]))
        return out

    def _redraw_if_shown(self) -> None:
        # a hidden tab costs nothing; showEvent brings it up to date
        if self.isVisible():
            self._redraw()

    def showEvent(self, event) -> None:  # noqa: N802 - Qt override
        super().showEvent(event)
        self._redraw()

    def _redraw(self) -> None:
        if not self._dirty:
            return
        self._dirty = False
        self._show_empty(not self.samples)
        if not self.samples:
            return
        latest = self.samples[-1]
        tasks = list(latest["tasks"])
        cos = np.asarray(latest["cos"], dtype=float)
        self.image.setImage(cos.T, levels=(-1.0, 1.0))  # ImageItem is (x, y): columns first
        for item in self.cell_text:
            self.heat.removeItem(item)
        self.cell_text = []
        font = QFont()
        font.setPointSize(9)
        for i in range(len(tasks)):
            for j in range(len(tasks)):
                text = pg.TextItem(f"{cos[i, j]:+.2f}", color=(0, 0, 0), anchor=(0.5, 0.5))
                text.setFont(font)
                text.setPos(j + 0.5, i + 0.5)
                self.heat.addItem(text)
                self.cell_text.append(text)
        ticks = [(k + 0.5, t) for k, t in enumerate(tasks)]
        self.heat.getAxis("bottom").setTicks([ticks])
        self.heat.getAxis("left").setTicks([ticks])
        self.heat.setRange(xRange=(0, len(tasks)), yRange=(0, len(tasks)), padding=0.02)
        legend = []
        for k, (pair, (xs, ys)) in enumerate(self.pairs().items()):
            colour = TASK_COLOURS[k % len(TASK_COLOURS)]
            curve = self.curves.get(pair)
            if curve is None:
                curve = self.series.plot(
                    pen=pg.mkPen(colour, width=2),
                    symbol="o",
                    symbolSize=4,
                    symbolBrush=colour,
                    symbolPen=None,
                )
                self.curves[pair] = curve
            curve.setData(xs, ys)
            legend.append(f"<span style='color: rgb{colour}'>━━ {pair}</span>")
        self.series.setTitle("&nbsp;&nbsp;".join(legend), size="9pt")
        self.stats.setText(self.summary_text())

    def summary_text(self) -> str:
        pairs = self.pairs()
        parts = []
        for pair, (_, ys) in pairs.items():
            negative = sum(1 for y in ys if y < 0) / len(ys)
            parts.append(
                f"{pair}: mean cosine {np.mean(ys):+.2f}, negative in {negative:.0%} of measurements"
            )
        latest = self.samples[-1]
        ratios = ", ".join(
            f"{t} {r:.2f}" for t, r in zip(latest["tasks"], latest["norm_ratio"], strict=False)
        )
        return (
            f"{len(self.samples)} measurements. "
            + "; ".join(parts)
            + f". Latest gradient-norm ratio to the mean: {ratios}."
        )
