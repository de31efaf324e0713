"""Task conflict, live: the latest cosine matrix of the task gradients as a heatmap, the
cosine of each task pair over the steps, and the shares of negative cosines; where the run
measures it, the latest lookahead task affinity (TAG) as a second heatmap.

Fed by the ``conflict`` entries of step events (``ConflictSample.as_dict()``) or of a
run's metrics log; redrawn on a timer, never per event. Torch-free.
"""

from __future__ import annotations

import html
from collections.abc import Iterable
from typing import Any

import numpy as np
from PySide6.QtCore import Qt, QTimer
from PySide6.QtGui import QFont
from PySide6.QtWidgets import QHBoxLayout, QLabel, QSizePolicy, QVBoxLayout, QWidget

from workbench.gui.plot_axis import PlotAxis
from workbench.gui.plots_panel import TASK_COLOURS
from workbench.gui.plotting_lib import pg

EMPTY_NOTE = (
    "No task-conflict measurements yet. They are taken every <i>Measure conflict every</i> steps "
    "(Setup → Weighting) when two or more tasks share layers (sharing depth above 0)."
)


MAX_DOTS = 400  # measurements per pair drawn with a dot each; more: the line alone


class ConflictView(QWidget):
    """Heatmap of the latest task-gradient cosines and the cosine of each pair over steps."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.steps: list[int] = []
        self.samples: list[dict[str, Any]] = []
        # kept up to date per measurement, so a redraw never walks the whole run again
        self._pairs: dict[str, tuple[list[int], list[float]]] = {}
        self._negative: dict[str, int] = {}
        self._affinity: dict[tuple[str, str], list[float]] = {}  # (source, target) -> [sum, count]
        self._dirty = False
        self._series_title = ""  # what the pair plot's title shows (set only when it changes)
        lay = QVBoxLayout(self)
        lay.setContentsMargins(6, 6, 6, 6)
        self.note = QLabel(EMPTY_NOTE)
        self.note.setWordWrap(True)
        lay.addWidget(self.note)
        # the plots are made when the tab is first shown: most sessions never open it, and
        # making them cost a tenth of a second of the window's first show
        self._row = QHBoxLayout()
        lay.addLayout(self._row, 1)
        self._plots: dict[str, Any] | None = None
        self.cell_text: list[pg.TextItem] = []
        self.affinity_text: list[pg.TextItem] = []
        self.curves: dict[str, pg.PlotDataItem] = {}
        self.series_legend = QLabel("")
        self.series_legend.setWordWrap(True)
        self.series_legend.setAlignment(Qt.AlignmentFlag.AlignHCenter)
        self.series_legend.hide()  # shown with the plots it names
        self.stats = QLabel("")
        self.stats.setWordWrap(True)
        self.stats.setSizePolicy(QSizePolicy.Policy.Preferred, QSizePolicy.Policy.Maximum)
        lay.addWidget(self.stats)
        self.timer = QTimer(self)
        self.timer.setInterval(400)
        self.timer.timeout.connect(self._redraw_if_shown)
        self.timer.start()
        self._show_empty(True)

    # -------------------------------------------------------------- plots, made once
    def _ensure_plots(self) -> dict[str, Any]:
        if self._plots is not None:
            return self._plots
        left = QVBoxLayout()
        self._row.addLayout(left, 2)
        heat_widget, heat, image = _heatmap(
            "Latest cosine of task gradients on the shared layers<br>red: aligned (+1), blue: conflicting (-1)"
        )
        left.addWidget(heat_widget, 1)
        affinity_widget, affinity_plot, affinity_image = _heatmap(
            "Latest lookahead task affinity (TAG)<br>red: the row task's step lowers the column's loss"
        )
        left.addWidget(affinity_widget, 1)
        # the pairs' legend in a label that wraps: as the plot's title it set the plot's
        # minimum width, and a 1,024 px window cut off its last pairs
        series_widget = QWidget()
        series_box = QVBoxLayout(series_widget)
        series_box.setContentsMargins(0, 0, 0, 0)
        series_box.setSpacing(2)
        series_box.addWidget(self.series_legend)
        self.series_legend.show()
        series_plot = pg.GraphicsLayoutWidget()
        series_plot.setBackground("w")
        series_box.addWidget(series_plot, 1)
        step_axis = PlotAxis("bottom")
        step_axis.whole_numbers = True  # the first measurement alone must not tick step 99.8
        series = series_plot.addPlot(axisItems={"bottom": step_axis})
        series.setLabel("bottom", "step")
        series.setLabel("left", "cosine")
        series.setYRange(-1.0, 1.0)
        series.showGrid(x=True, y=True, alpha=0.3)
        series.addLine(y=0.0, pen=pg.mkPen((120, 120, 120), style=pg.QtCore.Qt.PenStyle.DashLine))
        self._row.addWidget(series_widget, 3)
        self._plots = {
            "heat_widget": heat_widget,
            "heat": heat,
            "image": image,
            "affinity_widget": affinity_widget,
            "affinity_plot": affinity_plot,
            "affinity_image": affinity_image,
            "series_widget": series_widget,
            "series": series,
        }
        self._show_empty(not self.samples)
        return self._plots

    heat_widget = property(lambda self: self._ensure_plots()["heat_widget"])
    heat = property(lambda self: self._ensure_plots()["heat"])
    image = property(lambda self: self._ensure_plots()["image"])
    affinity_widget = property(lambda self: self._ensure_plots()["affinity_widget"])
    affinity_plot = property(lambda self: self._ensure_plots()["affinity_plot"])
    affinity_image = property(lambda self: self._ensure_plots()["affinity_image"])
    series_widget = property(lambda self: self._ensure_plots()["series_widget"])
    series = property(lambda self: self._ensure_plots()["series"])

    # -------------------------------------------------------------- input
    def clear(self) -> None:
        self.steps.clear()
        self.samples.clear()
        self._pairs.clear()
        self._negative.clear()
        self._affinity.clear()
        for curve in self.curves.values():
            self.series.removeItem(curve)
        self.curves.clear()
        self.series_legend.setText("")
        self._series_title = ""
        self.stats.setText("")
        self._dirty = True

    def add(self, step: int, conflict: dict[str, Any] | None) -> None:
        if not (isinstance(conflict, dict) and conflict.get("tasks") and conflict.get("cos")):
            return
        try:
            tasks, cos = list(conflict["tasks"]), conflict["cos"]
            pairs = [
                (f"{tasks[i]} × {tasks[j]}", float(cos[i][j]))
                for i in range(len(tasks))
                for j in range(i + 1, len(tasks))
            ]
            Z = conflict.get("affinity")
            affinity = (
                [((a, b), float(Z[i][j])) for i, a in enumerate(tasks) for j, b in enumerate(tasks)]
                if Z
                else []
            )
        except (TypeError, ValueError, IndexError, KeyError):
            return  # a damaged measurement (a hand-edited log): not drawn
        self.steps.append(int(step))
        self.samples.append(conflict)
        for pair, value in pairs:
            xs, ys = self._pairs.setdefault(pair, ([], []))
            xs.append(int(step))
            ys.append(value)
            self._negative[pair] = self._negative.get(pair, 0) + (value < 0)
        for key, value in affinity:
            total = self._affinity.setdefault(key, [0.0, 0])
            total[0] += value
            total[1] += 1
        self._dirty = True

    def on_step(self, event: Any) -> None:
        self.add(event.global_step, getattr(event, "conflict", None))

    def add_records(self, records: Iterable[dict[str, Any]]) -> None:
        for r in records:
            if r.get("type") == "step" and "conflict" in r:
                self.add(r.get("global_step", 0), r.get("conflict"))
        self._redraw_if_shown()  # a hidden tab draws when it is shown

    # -------------------------------------------------------------- drawing
    def _show_empty(self, empty: bool) -> None:
        self.note.setVisible(empty)
        if self._plots is None:
            return  # nothing to hide yet
        self.heat_widget.setVisible(not empty)
        self.series_widget.setVisible(not empty)
        self.affinity_widget.setVisible(
            not empty and "affinity" in (self.samples[-1] if self.samples else {})
        )

    def pairs(self) -> dict[str, tuple[list[int], list[float]]]:
        """'a × b' -> (steps, cosines) over every measurement that had both tasks (copies)."""
        return {pair: (list(xs), list(ys)) for pair, (xs, ys) in self._pairs.items()}

    def _redraw_if_shown(self) -> None:
        # a hidden tab costs nothing; showEvent brings it up to date
        if self.isVisible():
            self._redraw()

    def showEvent(self, event) -> None:  # noqa: N802 - Qt override
        super().showEvent(event)
        self._ensure_plots()
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
        self.cell_text = _draw_matrix(self.heat, self.image, self.cell_text, tasks, cos, 1.0, "{:+.2f}")
        if "affinity" in latest:
            Z = np.asarray(latest["affinity"], dtype=float)
            bound = max(float(np.abs(Z).max()), 1e-9)  # the colours span the largest |Z| either way
            # two significant digits: affinities span decades (1e-5 off the diagonal, 1e-2 on it)
            self.affinity_text = _draw_matrix(
                self.affinity_plot, self.affinity_image, self.affinity_text, tasks, Z, bound, "{:+.2g}"
            )
        legend = []
        for k, (pair, (xs, ys)) in enumerate(self._pairs.items()):
            colour, style, mark = pair_style(k)
            curve = self.curves.get(pair)
            if curve is None:
                curve = self.series.plot(
                    pen=pg.mkPen(colour, width=2, style=style), symbolBrush=colour, symbolPen=None
                )
                curve.setDownsampling(auto=True, method="peak")  # a long run: min/max per pixel
                curve.setClipToView(True)
                self.curves[pair] = curve
            # a dot per measurement while they can be told apart; thousands of dots cost
            # seconds to draw and show nothing the line does not
            curve.setSymbol("o" if len(xs) <= MAX_DOTS else None)
            curve.setSymbolSize(4)
            curve.setData(np.asarray(xs, np.float64), np.asarray(ys, np.float64))
            entry = f"{mark} {html.escape(_short_pair(pair))}".replace(" ", "&nbsp;")  # a pair never splits
            legend.append(f"<span style='color: rgb{colour}'>{entry}</span>")
        # the label wraps between pairs: six tasks have 15, which one line cut off at the edge
        title = " &nbsp; ".join(legend)
        if title != self._series_title:  # set only when it changes: a new text lays the view out
            self._series_title = title
            self.series_legend.setText(title)
            self.series_legend.setToolTip("\n".join(self._pairs))  # the full names
        self.stats.setText(self._stats_html())
        self.stats.setToolTip(self.summary_text())

    def _stats_html(self) -> str:
        """``summary_text`` laid out for the panel: the pairs in three columns (six tasks
        make fifteen pairs; one line each pushed the plots off the panel)."""
        lines = self.summary_text().split("\n")
        head, pairs, tail = lines[0], lines[1:-1], lines[-1:]
        if self.mean_affinity():  # the affinity line follows the norm ratios
            pairs, tail = lines[1:-2], lines[-2:]
        columns = 3 if len(pairs) > 4 else 1
        # long task names shortened (the tooltip has them whole): one name of 40 letters,
        # which does not wrap, made the window wider than a 1,024 px screen
        if columns == 1:
            cells = [
                html.escape(_short_pair(p.split(": ", 1)[0]) + ": " + p.split(": ", 1)[1]) for p in pairs
            ]
        else:  # many pairs: the numbers alone, the words said once (ten pairs filled the panel)
            head += " Per pair: the mean cosine, and the share of measurements with a negative one."
            cells = [
                html.escape(f"{_short_pair(pair)}: {np.mean(ys):+.2f}, {self._negative[pair] / len(ys):.0%}")
                for pair, (_, ys) in self._pairs.items()
            ]
        tasks = list(self.samples[-1]["tasks"])
        if any(_short(t) != t for t in tasks):
            tail = [_shorten_names(t, tasks) for t in tail]
        if len(tasks) >= 4 or any(_short(t) != t for t in tasks):  # the matrix may say 1..T alone
            head += " Tasks: " + ", ".join(f"{k + 1} {_short(t)}" for k, t in enumerate(tasks)) + "."
        rows = [cells[i : i + columns] for i in range(0, len(cells), columns)]
        table = "".join(
            "<tr>" + "".join(f"<td style='padding-right: 18px'>{c}</td>" for c in row) + "</tr>"
            for row in rows
        )
        return f"{html.escape(head)}<table cellspacing='0'>{table}</table>" + "<br>".join(
            html.escape(t) for t in tail
        )

    def summary_text(self) -> str:
        parts = []
        for pair, (_, ys) in self._pairs.items():
            negative = self._negative[pair] / len(ys)
            parts.append(
                f"{pair}: mean cosine {np.mean(ys):+.2f}, negative in {negative:.0%} of measurements"
            )
        latest = self.samples[-1]
        ratios = ", ".join(
            f"{t} {r:.2f}" for t, r in zip(latest["tasks"], latest["norm_ratio"], strict=False)
        )
        n = len(self.samples)
        # one line each: fifteen pairs in one paragraph could not be read
        text = "\n".join(
            [
                f"{n} measurement{'s' if n != 1 else ''}.",
                *(f"{part}." for part in parts),
                f"Latest gradient-norm ratio to the mean: {ratios}.",
            ]
        )
        affinity = self.mean_affinity()
        if affinity:
            text += (
                "\nMean lookahead affinity: "
                + ", ".join(f"{a} → {b} {z:+.2g}" for (a, b), z in affinity.items() if a != b)
                + "."
            )
        return text

    def mean_affinity(self) -> dict[tuple[str, str], float]:
        """(source, target) -> mean of Z[source][target] over the measurements that had it."""
        return {k: total / count for k, (total, count) in self._affinity.items()}


# Past the palette's ten colours (five tasks), pairs repeat a colour with another line
# style: eight tasks have 28 pairs, and three of them were drawn in the same blue.
PAIR_LINES = (
    (Qt.PenStyle.SolidLine, "━━"),
    (Qt.PenStyle.DashLine, "╺╸"),
    (Qt.PenStyle.DotLine, "┅┅"),
)


def pair_style(k: int) -> tuple[tuple[int, int, int], Qt.PenStyle, str]:
    """Colour, line style and legend mark of the ``k``-th pair (0-based): distinct for the
    first 30 pairs (eight tasks have 28)."""
    colours = len(TASK_COLOURS)
    style, mark = PAIR_LINES[(k // colours) % len(PAIR_LINES)]
    return TASK_COLOURS[k % colours], style, mark


NAME_CHARS = 16  # a task name longer than this is shortened in the panel (whole in tooltips)


def _short(name: str) -> str:
    return name if len(name) <= NAME_CHARS else name[: NAME_CHARS - 1] + "…"


def _short_pair(pair: str) -> str:
    """'a × b' with each task name shortened (task names hold no spaces)."""
    return " × ".join(_short(p) for p in pair.split(" × "))


def _shorten_names(text: str, tasks: list[str]) -> str:
    for t in sorted(tasks, key=len, reverse=True):  # a name inside another is replaced after it
        text = text.replace(t, _short(t))
    return text


def _heatmap(title: str) -> tuple[QWidget, pg.PlotItem, pg.ImageItem]:
    """A square task x task heatmap with a diverging colour map (blue - white - red),
    under its caption. The caption is a label that wraps: as the plot's title it made the
    plot wider than a 1,024 px window left it, and the last column was cut off."""
    box = QWidget()
    lay = QVBoxLayout(box)
    lay.setContentsMargins(0, 0, 0, 0)
    lay.setSpacing(2)
    caption = QLabel(title)
    caption.setWordWrap(True)
    caption.setAlignment(Qt.AlignmentFlag.AlignHCenter)
    lay.addWidget(caption)
    widget = pg.GraphicsLayoutWidget()
    widget.setBackground("w")
    widget.setMinimumWidth(180)
    lay.addWidget(widget, 1)
    plot = widget.addPlot()
    plot.setAspectLocked(True)
    plot.invertY(True)
    plot.hideButtons()
    plot.setMouseEnabled(False, False)
    image = pg.ImageItem()
    image.setLookupTable(pg.colormap.get("CET-D1").getLookupTable(nPts=256))
    image.setLevels((-1.0, 1.0))
    plot.addItem(image)
    return box, plot, image


def _draw_matrix(
    plot: pg.PlotItem,
    image: pg.ImageItem,
    old_text: list[pg.TextItem],
    tasks: list[str],
    values: np.ndarray,
    bound: float,
    fmt: str,
) -> list[pg.TextItem]:
    """Show ``values`` (T x T, row i at the top) coloured over [-bound, bound], each cell's
    number written in it; returns the new cell labels."""
    image.setImage(values.T, autoLevels=False)  # ImageItem is (x, y): columns first
    image.setLevels((-bound, bound))  # (setImage's own levels= keeps earlier levels)
    for item in old_text:
        plot.removeItem(item)
    font = QFont()
    font.setPointSize(9)
    cells = []
    for i in range(len(tasks)):
        for j in range(len(tasks)):
            text = pg.TextItem(fmt.format(values[i, j]), color=(0, 0, 0), anchor=(0.5, 0.5))
            text.setFont(font)
            text.setPos(j + 0.5, i + 0.5)
            plot.addItem(text)
            cells.append(text)
    plot._matrix_tasks = list(tasks)  # type: ignore[attr-defined]  # for _fit_matrix
    plot._matrix_cells = cells  # type: ignore[attr-defined]
    if not getattr(plot, "_fits_on_resize", False):
        plot.vb.sigResized.connect(lambda _vb, p=plot: _fit_matrix(p))
        plot._fits_on_resize = True  # type: ignore[attr-defined]
    plot.setRange(xRange=(0, len(tasks)), yRange=(0, len(tasks)), padding=0.02)
    _fit_matrix(plot)
    return cells


def _fit_matrix(plot: pg.PlotItem) -> None:
    """Cell numbers and task names as the cells' size allows: with five tasks at 1,024 px
    the numbers ran into each other ("+1.0-0.1+0.1") and so did the names under the columns.
    Numbers that do not fit are left out (the colour stays); names that do not fit under
    their column become 1..T there, and the rows say "1 scene" ..."""
    from PySide6.QtGui import QFontMetrics

    tasks: list[str] = getattr(plot, "_matrix_tasks", [])
    if not tasks:
        return
    # the view keeps its cells square: their side is set by the shorter of width and height
    # (the width alone took cells of 49.6 px where they were 14.7 px, in a short pane)
    x_px, y_px = plot.vb.viewPixelSize()
    cell_px = 1.0 / max(x_px, y_px) if x_px > 0 and y_px > 0 else plot.vb.width() / len(tasks)
    font = QFont()
    font.setPointSize(9)
    metrics = QFontMetrics(font)
    for text in getattr(plot, "_matrix_cells", []):
        text.setVisible(metrics.horizontalAdvance(text.toPlainText()) + 4 <= cell_px)
    axis_font = QFontMetrics(
        plot.getAxis("bottom").font() if hasattr(plot.getAxis("bottom"), "font") else font
    )
    names = [_short(t) for t in tasks]
    fits = all(axis_font.horizontalAdvance(t) + 6 <= cell_px for t in names)
    # rows lower than a line of text: numbers alone (the names ran over each other)
    tall = axis_font.height() <= cell_px
    plot.getAxis("bottom").setTicks([[(k + 0.5, t if fits else str(k + 1)) for k, t in enumerate(names)]])
    plot.getAxis("left").setTicks(
        [[(k + 0.5, t if fits else f"{k + 1} {t}" if tall else str(k + 1)) for k, t in enumerate(names)]]
    )
    plot.vb.setToolTip("\n".join(f"{k + 1} {t}" for k, t in enumerate(tasks)))
