"""A diagram of the multi-task network at the chosen sharing depth.

Top to bottom: the input, the shared trunk stages, then one column per task with its own
copies of the remaining stages and its head, each with its parameter count; a summary
compares the total with independent networks. Painted with QPainter; no torch.
"""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import QEvent, QPointF, QRectF, QSize, Qt
from PySide6.QtGui import QColor, QFont, QFontMetrics, QHelpEvent, QPainter, QPainterPath, QPen
from PySide6.QtWidgets import QSizePolicy, QToolTip, QWidget

SHARED_FILL = QColor(198, 222, 255)
SHARED_EDGE = QColor(50, 100, 180)
BRANCH_FILL = QColor(255, 226, 194)
BRANCH_EDGE = QColor(190, 110, 30)
INPUT_FILL = QColor(225, 225, 225)
INPUT_EDGE = QColor(110, 110, 110)
BOX_TEXT = QColor(20, 20, 20)

TASK_COLOURS = (
    (230, 25, 75),
    (60, 180, 75),
    (0, 130, 200),
    (245, 130, 48),
    (145, 30, 180),
    (0, 128, 128),
    (240, 50, 230),
    (128, 128, 0),
)


def human(n: int | float) -> str:
    """1179960 -> '1.18M', 66820 -> '66.8k', 820 -> '820'."""
    n = float(n)
    for unit, size in (("G", 1e9), ("M", 1e6), ("k", 1e3)):
        if abs(n) >= size:
            v = n / size
            text = f"{v:.3g}" if v < 1000 else f"{v:.0f}"
            return f"{text}{unit}"
    return f"{n:.0f}"


class ArchitectureView(QWidget):
    """Input -> shared stages -> per-task copied stages + head, with parameter counts."""

    MARGIN = 8
    ROW = 34  # box height
    GAP = 12  # vertical gap between rows
    COL_GAP = 6

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._num_stages = 4
        self._channels: list[int] | None = None
        self._strides: list[int] | None = None
        self._depth = 4
        self._tasks: list[str] = []
        self._input_size = 0
        self._counts: dict[str, Any] | None = None
        self._status = ""
        self._tips: list[tuple[QRectF, str]] = []
        self._elided: list[str] = []  # texts the last paint had to shorten (none, by design)
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Fixed)
        self.setMouseTracking(True)
        self._update_geometry()

    # ----------------------------------------------------------------- state

    def set_architecture(
        self,
        num_stages: int,
        depth: int,
        task_names: list[str],
        channels: list[int] | None = None,
        strides: list[int] | None = None,
        input_size: int = 0,
    ) -> None:
        """The structure to draw; ``depth`` is the number of shared stages (0..num_stages)."""
        self._num_stages = max(0, int(num_stages))
        self._depth = max(0, min(int(depth), self._num_stages))
        self._tasks = list(task_names)
        self._channels = list(channels) if channels else None
        self._strides = list(strides) if strides else None
        self._input_size = int(input_size)
        self._update_geometry()
        self.update()

    def set_counts(self, counts: dict[str, Any] | None, status: str = "") -> None:
        """Counts as from ``setup_jobs.counts_at``; None with ``status`` ("computing…", an error)."""
        self._counts = dict(counts) if counts is not None else None
        self._status = status
        self._update_geometry()
        self.update()

    def counts(self) -> dict[str, Any] | None:
        """The counts currently drawn (None while computing or on error)."""
        return dict(self._counts) if self._counts is not None else None

    def status(self) -> str:
        return self._status

    def depth(self) -> int:
        return self._depth

    # ---------------------------------------------------------------- layout

    def _rows(self) -> int:
        # input, stages, heads
        return 1 + self._num_stages + 1

    def _footer_lines(self) -> int:
        return max(3, len(self._footer_text(self.width() - 2 * self.MARGIN)))

    def elided_texts(self) -> list[str]:
        """Texts the last paint had to cut (tests: empty at any width down to the minimum)."""
        return list(self._elided)

    def _column_min_width(self) -> int:
        """Narrowest task column in which the task's name and parameter count fit whole."""
        small_bold = QFontMetrics(self._bold(self._scaled_font(0.75)))
        fm = QFontMetrics(self.font())
        widest = max((small_bold.horizontalAdvance(name) for name in self._tasks), default=0)
        count = fm.horizontalAdvance("000M")
        return max(36, widest + 10, count + 4)

    def _min_width(self) -> int:
        n = len(self._tasks)
        columns = n * self._column_min_width() + max(0, n - 1) * self.COL_GAP if n else 0
        return max(240, 2 * self.MARGIN + columns)

    def _update_geometry(self) -> None:
        self.setMinimumWidth(self._min_width())
        self.setFixedHeight(self._height())
        self.updateGeometry()

    def sizeHint(self) -> QSize:  # noqa: N802 - Qt override
        return QSize(max(380, self._min_width()), self._height())

    def minimumSizeHint(self) -> QSize:  # noqa: N802 - Qt override
        return QSize(self._min_width(), self._height())

    def resizeEvent(self, event) -> None:  # noqa: N802 - Qt override
        super().resizeEvent(event)
        height = self._height()  # the footer wraps to more lines when narrow
        if height != self.height():
            self.setFixedHeight(height)

    def _height(self) -> int:
        fm = QFontMetrics(self.font())
        line = fm.height()
        rows = self._rows()
        return int(
            2 * self.MARGIN
            + rows * self.ROW
            + (rows - 1) * self.GAP
            + line
            + 4
            + self._footer_lines() * line
            + 8
        )

    def changeEvent(self, event: QEvent) -> None:  # noqa: N802 - Qt override
        super().changeEvent(event)
        if event.type() == QEvent.Type.FontChange:
            self._update_geometry()

    def event(self, event: QEvent) -> bool:
        if event.type() == QEvent.Type.ToolTip and isinstance(event, QHelpEvent):
            pos = QPointF(event.pos())
            for rect, tip in reversed(self._tips):
                if rect.contains(pos):
                    QToolTip.showText(event.globalPos(), tip, self)
                    return True
            QToolTip.hideText()
            event.ignore()
            return True
        return super().event(event)

    # ------------------------------------------------------------- painting

    def _stage_labels(self, i: int) -> list[list[str]]:
        """Label variants for stage ``i`` (0-based), longest first; each a list of lines."""
        n = i + 1
        if self._channels and self._strides and i < len(self._channels):
            c, s = self._channels[i], self._strides[i]
            return [
                [f"stage {n}, {c} ch, /{s}"],
                [f"stage {n}", f"{c} ch, /{s}"],
                [f"s{n}", f"{c}, /{s}"],
                [f"s{n}"],
            ]
        return [[f"stage {n}"], [f"s{n}"]]

    def _box(
        self,
        p: QPainter,
        rect: QRectF,
        variants: list[list[str]],
        fill: QColor,
        edge: QColor,
        tip: str,
        bold_first: bool = False,
    ) -> None:
        p.setPen(QPen(edge, 1.2))
        p.setBrush(fill)
        p.drawRoundedRect(rect, 5, 5)
        inner = int(rect.width() - 6)  # whole pixels, the same in the fit test and the drawing
        chosen, font = variants[-1], self._scaled_font(0.75)
        found = False
        for scale in (1.0, 0.88, 0.75):  # smaller type before shorter labels run out
            f = self._scaled_font(scale)
            fm, fmb = QFontMetrics(f), QFontMetrics(self._bold(f))
            max_lines = max(1, int((rect.height() - 2) // fm.height()))
            for lines in variants:
                if len(lines) > max_lines:
                    continue
                widths = [
                    (fmb if (bold_first and k == 0) else fm).horizontalAdvance(t) for k, t in enumerate(lines)
                ]
                # a 2 px margin: elidedText lays the text out itself and can need a pixel
                # or two more than horizontalAdvance says (seen: "stage 3, 128 ch, /…")
                if max(widths) <= inner - 2:
                    chosen, font, found = lines, f, True
                    break
            if found:
                break
        fm = QFontMetrics(font)
        bold = self._bold(font)
        fmb = QFontMetrics(bold)
        p.setPen(BOX_TEXT)
        total_h = len(chosen) * fm.height()
        y = rect.center().y() - total_h / 2
        for k, text in enumerate(chosen):
            f = bold if (bold_first and k == 0) else font
            metrics = fmb if (bold_first and k == 0) else fm
            p.setFont(f)
            text = self._fit(metrics, text, inner)
            p.drawText(QRectF(rect.left() + 3, y, inner, fm.height()), Qt.AlignmentFlag.AlignCenter, text)
            y += fm.height()
        p.setFont(self.font())
        self._tips.append((QRectF(rect), tip))

    def _fit(self, fm: QFontMetrics, text: str, width: float) -> str:
        """``text`` elided to ``width`` (recorded: the layout is meant never to need it)."""
        out = fm.elidedText(text, Qt.TextElideMode.ElideRight, int(width))
        if out != text:
            self._elided.append(text)
        return out

    def _scaled_font(self, scale: float) -> QFont:
        font = QFont(self.font())
        if scale != 1.0:
            size = font.pointSizeF()
            if size > 0:
                font.setPointSizeF(max(6.5, size * scale))
            else:
                font.setPixelSize(max(8, int(font.pixelSize() * scale)))
        return font

    @staticmethod
    def _bold(font: QFont) -> QFont:
        bold = QFont(font)
        bold.setBold(True)
        return bold

    def _stage_tip(self, i: int, shared: bool) -> str:
        parts = [f"stage {i + 1}"]
        if self._channels and i < len(self._channels):
            parts.append(f"{self._channels[i]} channels, stride {self._strides[i]}")
        if self._counts and i < len(self._counts.get("stage_params", [])):
            parts.append(f"{self._counts['stage_params'][i]:,} parameters" + ("" if shared else " per copy"))
        parts.append("shared by all tasks" if shared else "one copy per task")
        return "\n".join(parts)

    def paintEvent(self, event) -> None:  # noqa: N802 - Qt override
        self._tips = []
        self._elided = []
        p = QPainter(self)
        p.setRenderHint(QPainter.RenderHint.Antialiasing)
        pal = self.palette()
        p.fillRect(self.rect(), pal.base())
        fm = QFontMetrics(self.font())
        line = fm.height()
        m = self.MARGIN
        width = self.width() - 2 * m
        n_tasks = len(self._tasks)
        # shared boxes leave room on the right for the bracket with the shared count
        label_room = QFontMetrics(self.font()).horizontalAdvance("000.0M") + 14
        wide = max(120.0, min(width * 0.8, width - label_room))
        x_wide = m + (width - label_room - wide) / 2 if width - label_room > wide else m
        y = float(m)

        # input
        size = self._input_size
        in_text = f"input {size}×{size}×3" if size else "input"
        input_rect = QRectF(x_wide, y, wide, self.ROW)
        self._box(
            p,
            input_rect,
            [[in_text]],
            INPUT_FILL,
            INPUT_EDGE,
            "the image batch (uint8, normalised in the model)",
        )
        prev_bottom = [QPointF(input_rect.center().x(), input_rect.bottom())]
        y += self.ROW + self.GAP

        # shared stages
        shared_top = y
        for i in range(self._depth):
            rect = QRectF(x_wide, y, wide, self.ROW)
            self._arrow(p, prev_bottom[0], QPointF(rect.center().x(), rect.top()))
            self._box(p, rect, self._stage_labels(i), SHARED_FILL, SHARED_EDGE, self._stage_tip(i, True))
            prev_bottom = [QPointF(rect.center().x(), rect.bottom())]
            y += self.ROW + self.GAP
        if self._depth:
            self._bracket(p, shared_top, y - self.GAP, x_wide, wide)

        # per-task columns
        if n_tasks == 0:
            p.setPen(pal.color(pal.ColorRole.PlaceholderText))
            p.drawText(QRectF(m, y, width, self.ROW), Qt.AlignmentFlag.AlignCenter, "no task chosen")
        else:
            col_w = (width - (n_tasks - 1) * self.COL_GAP) / n_tasks
            source = prev_bottom[0]
            per_task = self._counts["per_task"] if self._counts else None
            for k, name in enumerate(self._tasks):
                x = m + k * (col_w + self.COL_GAP)
                yy = y
                top = source
                for i in range(self._depth, self._num_stages):
                    rect = QRectF(x, yy, col_w, self.ROW)
                    self._arrow(p, top, QPointF(rect.center().x(), rect.top()))
                    self._box(
                        p, rect, self._stage_labels(i), BRANCH_FILL, BRANCH_EDGE, self._stage_tip(i, False)
                    )
                    top = QPointF(rect.center().x(), rect.bottom())
                    yy += self.ROW + self.GAP
                # heads sit on one row, below the deepest stage row
                head_y = y + (self._num_stages - self._depth) * (self.ROW + self.GAP)
                rect = QRectF(x, head_y, col_w, self.ROW)
                self._arrow(p, top, QPointF(rect.center().x(), rect.top()))
                colour = QColor(*TASK_COLOURS[k % len(TASK_COLOURS)])
                fill = QColor(colour)
                fill.setAlpha(60)
                tip = f"head of task {name!r}"
                if self._counts and k < len(self._counts.get("head_params", [])):
                    tip += f"\n{self._counts['head_params'][k]:,} parameters in the head"
                if per_task is not None and k < len(per_task):
                    tip += f"\n{per_task[k]:,} parameters of its own (branch + head)"
                self._box(p, rect, [[name, "head"], [name]], fill, colour, tip, bold_first=True)
                # the task's own parameter count under its head
                count_rect = QRectF(x, rect.bottom() + 2, col_w, line)
                p.setPen(pal.color(pal.ColorRole.Text))
                text = human(per_task[k]) if per_task is not None and k < len(per_task) else "…"
                p.drawText(count_rect, Qt.AlignmentFlag.AlignCenter, self._fit(fm, text, col_w))

        # footer summary
        rows = self._rows()
        fy = m + rows * self.ROW + (rows - 1) * self.GAP + line + 8
        self._footer(p, QRectF(m, fy, width, self._footer_lines() * line), fm)
        p.end()

    def _footer_text(self, width: int) -> list[str]:
        """The summary lines, wrapped at " · " so none is cut at this width."""
        c = self._counts
        if c is None:
            return []
        own = sum(c["per_task"])
        parts = [
            (
                " · ",
                [f"shared {human(c['shared'])}", f"tasks' own {human(own)}", f"total {human(c['total'])}"],
            ),
        ]
        if c["independent"]:
            saved = 1.0 - c["total"] / c["independent"]
            rel = f"{saved:.0%} fewer" if saved > 0.0005 else "same size"
            parts.append((" ", ["independent networks:", f"{human(c['independent'])} ({rel})"]))
        parts.append(
            (" · ", [f"backbone {human(c['backbone'])}", f"depth {c['depth']} of {c['num_stages']} shared"])
        )
        fm = QFontMetrics(self.font())
        lines: list[str] = []
        for sep, pieces in parts:
            line = ""
            for piece in pieces:
                candidate = f"{line}{sep}{piece}" if line else piece
                if line and fm.horizontalAdvance(candidate) > width:
                    lines.append(line)
                    line = piece
                else:
                    line = candidate
            lines.append(line)
        return lines

    def _footer(self, p: QPainter, rect: QRectF, fm: QFontMetrics) -> None:
        pal = self.palette()
        c = self._counts
        if c is None:
            p.setPen(pal.color(pal.ColorRole.PlaceholderText))
            text = self._status or "computing…"
            p.drawText(rect, Qt.AlignmentFlag.AlignLeft | Qt.TextFlag.TextWordWrap, text)
            return
        p.setPen(pal.color(pal.ColorRole.Text))
        y = rect.top()
        for text in self._footer_text(int(rect.width())):
            p.drawText(
                QRectF(rect.left(), y, rect.width(), fm.height()),
                Qt.AlignmentFlag.AlignLeft,
                self._fit(fm, text, rect.width()),
            )
            y += fm.height()
        tip = (
            f"shared: {c['shared']:,}\n"
            + "".join(f"{n}: {v:,}\n" for n, v in zip(self._tasks, c["per_task"], strict=False))
            + f"total: {c['total']:,}\nindependent networks: {c['independent']:,}"
        )
        self._tips.append((QRectF(rect), tip))

    def _arrow(self, p: QPainter, a: QPointF, b: QPointF) -> None:
        pen = QPen(self.palette().color(self.palette().ColorRole.Mid), 1.3)
        p.setPen(pen)
        if abs(a.x() - b.x()) < 0.5:
            p.drawLine(a, b)
        else:
            path = QPainterPath(a)
            mid = (a.y() + b.y()) / 2
            path.cubicTo(QPointF(a.x(), mid), QPointF(b.x(), mid), b)
            p.setBrush(Qt.BrushStyle.NoBrush)
            p.drawPath(path)
        # arrow head
        p.setBrush(pen.color())
        head = QPainterPath(b)
        head.lineTo(b.x() - 3.5, b.y() - 5)
        head.lineTo(b.x() + 3.5, b.y() - 5)
        head.closeSubpath()
        p.drawPath(head)

    def _bracket(self, p: QPainter, top: float, bottom: float, x_wide: float, wide: float) -> None:
        """A label beside the shared block: "shared" and its parameter count."""
        x = x_wide + wide + 4
        room = self.width() - self.MARGIN - x
        if room < 30:
            return
        p.setPen(QPen(SHARED_EDGE, 1.2))
        p.drawLine(QPointF(x, top), QPointF(x + 3, top))
        p.drawLine(QPointF(x + 3, top), QPointF(x + 3, bottom))
        p.drawLine(QPointF(x, bottom), QPointF(x + 3, bottom))
        fm = QFontMetrics(self.font())
        label = "shared"
        if self._counts:
            label = human(self._counts["shared"])
        text = self._fit(fm, label, room - 8)
        p.drawText(
            QRectF(x + 6, (top + bottom) / 2 - fm.height() / 2, room - 6, fm.height()),
            Qt.AlignmentFlag.AlignLeft,
            text,
        )
