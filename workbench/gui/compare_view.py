"""The comparison table: compared runs side by side above their overlaid curves.

One row per run (the run shown with solid lines first), the columns of
``workbench.analysis.compare.compare_table``: per-task primary metrics at the last epoch,
best epoch, parameters, latency, wall time and each config field that differs. The best
value of a column is bold on a green ground (``higher_is_better`` respected). "Export
CSV…" writes the table with full-precision values.
"""

from __future__ import annotations

import html
from pathlib import Path
from typing import Any

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QBrush, QColor, QFont, QFontMetrics
from PySide6.QtWidgets import (
    QAbstractItemView,
    QFileDialog,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QMessageBox,
    QPushButton,
    QSizePolicy,
    QTableWidget,
    QTableWidgetItem,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from workbench.gui.runs_panel import STATUS_COLOURS

BEST_BACKGROUND = QColor(220, 242, 222)
BEST_FOREGROUND = QColor(20, 20, 20)
SORT_ROLE = Qt.ItemDataRole.UserRole + 1


def _two_lines(title: str) -> str:
    """A header on two lines when that makes the column narrower ("Sharing\ndepth")."""
    if len(title) <= 8 or " " not in title:
        return title
    middle = len(title) // 2
    spaces = [i for i, ch in enumerate(title) if ch == " "]
    cut = min(spaces, key=lambda i: abs(i - middle))
    return title[:cut] + "\n" + title[cut + 1 :]


class _CompactHeader(QHeaderView):
    """A header that keeps room for the sort arrow, not for a square as tall as itself:
    Qt reserves the header's height again beside every title, so two-line titles made
    each column about 35 px wider than its text, and the Status column fell out of the
    table at the default window size."""

    ARROW_PX = 14

    def sectionSizeFromContents(self, logical_index: int):  # noqa: N802 - Qt override
        size = super().sectionSizeFromContents(logical_index)
        if self.isSortIndicatorShown() and self.orientation() == Qt.Orientation.Horizontal:
            size.setWidth(size.width() - size.height() + self.ARROW_PX)
        return size


class _Item(QTableWidgetItem):
    """Sorts numbers as numbers (unknown values last)."""

    def __lt__(self, other: QTableWidgetItem) -> bool:
        a, b = self.data(SORT_ROLE), other.data(SORT_ROLE)
        if a is not None and b is not None:
            return a < b
        if a is not None or b is not None:
            return unknown_last(a is not None, self.tableWidget())
        return self.text().lower() < other.text().lower()


def unknown_last(known_first: bool, view: Any) -> bool:
    """``self < other`` for a known value against an unknown one, such that the unknown
    sorts last in both directions (Qt sorts descending by asking ``other < self``)."""
    header = view.horizontalHeader() if hasattr(view, "horizontalHeader") else view.header() if view else None
    descending = header is not None and header.sortIndicatorOrder() == Qt.SortOrder.DescendingOrder
    return known_first != descending


class CompareView(QWidget):
    """Header, buttons and the comparison table; hidden while nothing is compared."""

    closeRequested = Signal()
    tableToggled = Signal(bool)  # the table shown (True) or folded to its title row

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("CompareView")
        self._table: Any = None
        self.title = QLabel("")
        self.title.setObjectName("compareTitle")
        self.title.setWordWrap(False)
        # never wider than the room it gets (a long title must not squeeze the docks); what
        # does not fit ends in "…", the whole title in its tooltip (_show_title)
        self.title.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)
        self._title_parts = ("", "")
        self.export_button = QPushButton("Export CSV…")
        self.export_button.setToolTip("Save the table with full-precision values as CSV")
        self.export_button.clicked.connect(self._export_dialog)
        self.close_button = QPushButton("Close comparison")
        self.close_button.setToolTip("Remove the compared runs' curves and this table")
        self.close_button.clicked.connect(self.closeRequested)
        # folds the table to its title row: on a 1,024 x 700 screen, six long task names
        # and the table left the plots 65 px
        self.table_button = QToolButton()
        self.table_button.setObjectName("compareTableToggle")
        self.table_button.setCheckable(True)
        self.table_button.setChecked(True)
        self.table_button.setAutoRaise(True)
        self.table_button.setAccessibleName("Show the comparison table")
        self.table_button.toggled.connect(self._on_table_toggled)
        self._show_toggle_state(True)
        top = QHBoxLayout()
        top.setContentsMargins(0, 0, 0, 0)
        top.addWidget(self.table_button)
        top.addWidget(self.title, 1)
        top.addWidget(self.export_button)
        top.addWidget(self.close_button)

        self.grid = QTableWidget(self)
        header = _CompactHeader(Qt.Orientation.Horizontal, self.grid)
        header.setSectionsClickable(True)  # sorting by a click, as the table's own header does
        header.setHighlightSections(True)
        self.grid.setHorizontalHeader(header)
        self.grid.setObjectName("compareTable")
        self.grid.setAccessibleName("Run comparison")
        self.grid.setTabKeyNavigation(False)  # Tab leaves the table; arrows move between cells
        self.grid.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.grid.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.grid.setAlternatingRowColors(True)
        self.grid.verticalHeader().setVisible(False)
        self.grid.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        self.grid.horizontalHeader().setStretchLastSection(False)
        self.grid.setHorizontalScrollMode(QAbstractItemView.ScrollMode.ScrollPerPixel)
        self.grid.setVerticalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAsNeeded)
        self.grid.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Fixed)
        self.grid.verticalHeader().setDefaultSectionSize(self.grid.fontMetrics().height() + 8)
        self.grid.setWordWrap(False)
        self.grid.setTextElideMode(Qt.TextElideMode.ElideMiddle)  # "scene+obj…+tags": both ends kept
        self.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Maximum)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(4, 4, 4, 2)
        layout.setSpacing(3)
        layout.addLayout(top)
        layout.addWidget(self.grid)
        self.setVisible(False)

    # ------------------------------------------------------------------ public
    def set_table(self, table: Any) -> None:
        """Show a ``CompareTable`` (row 0: the run drawn with solid lines)."""
        self._table = table
        grid = self.grid
        grid.setSortingEnabled(False)
        grid.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        grid.clear()
        grid.setColumnCount(len(table.columns))
        grid.setRowCount(len(table.rows))
        for c, column in enumerate(table.columns):
            header = QTableWidgetItem(_two_lines(column.title))
            tip = column.tip
            if column.better:
                tip = (tip + "\n" if tip else "") + f"{column.better} is better; the best value is bold"
            header.setToolTip(tip)
            grid.setHorizontalHeaderItem(c, header)
            best = table.best_rows(c)
            for r in range(len(table.rows)):
                item = _Item(table.text(r, c))
                value = table.rows[r][c]
                if (
                    column.kind != "config"
                    and isinstance(value, (int, float))
                    and not isinstance(value, bool)
                ):
                    item.setData(SORT_ROLE, float(value))
                if column.kind != "text" and column.kind != "config":
                    item.setTextAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
                if r in best:
                    font = QFont(item.font())
                    font.setBold(True)
                    item.setFont(font)
                    item.setBackground(QBrush(BEST_BACKGROUND))
                    # its own dark text: a dark theme's light text was unreadable on it
                    item.setForeground(QBrush(BEST_FOREGROUND))
                    item.setToolTip(f"best {column.title}")
                if column.key == "status" and table.rows[r][c] in STATUS_COLOURS:
                    item.setForeground(QBrush(QColor(STATUS_COLOURS[table.rows[r][c]])))
                if column.key == "run":
                    item.setToolTip(f"{table.facts[r].folder}\n{table.facts[r].path}")
                    if r == 0:
                        font = QFont(item.font())
                        font.setBold(True)
                        item.setFont(font)
                grid.setItem(r, c, item)
        self._cap_wide_columns(table)
        grid.setSortingEnabled(True)
        n = len(table.rows)
        runs = sum(max(1, len(f.seeds)) for f in table.facts)  # a row merged over seeds holds several
        merged = f" in {n} row{'' if n == 1 else 's'} (seeds merged)" if runs != n else ""
        self._title_parts = (
            (
                f"Comparing {runs} run{'s' if runs != 1 else ''}{merged}",
                f" · solid lines: {table.labels[0]} · best value per column in bold",
            )
            if n
            else ("", "")
        )
        self._show_title()
        self._fit_height()
        self.setVisible(n > 0)

    def _show_title(self) -> None:
        """The title elided to the label's width: the bold head, then the rest."""
        head, rest = self._title_parts
        whole = head + rest
        bold = QFont(self.title.font())
        bold.setBold(True)
        head_width = QFontMetrics(bold).horizontalAdvance(head)
        room = max(0, self.title.width() - head_width - 4)
        shown = QFontMetrics(self.title.font()).elidedText(rest, Qt.TextElideMode.ElideRight, room)
        self.title.setText(f"<b>{html.escape(head)}</b>{html.escape(shown)}" if head else "")
        self.title.setToolTip(whole if shown != rest else "")

    def resizeEvent(self, event) -> None:  # noqa: N802 - Qt override
        super().resizeEvent(event)
        if self._title_parts[0]:
            self._show_title()

    def set_table_shown(self, shown: bool) -> None:
        """Show the table, or fold it to the title row (the button's state; emits
        ``tableToggled`` when that changes)."""
        self.table_button.setChecked(shown)

    def table_shown(self) -> bool:
        return self.table_button.isChecked()

    def folded_height(self) -> int:
        """The view's height with its table folded: the title row and the margins."""
        margins = self.layout().contentsMargins()
        row = max(self.title.sizeHint().height(), self.close_button.sizeHint().height())
        return row + margins.top() + margins.bottom()

    def _on_table_toggled(self, shown: bool) -> None:
        self.grid.setVisible(shown)
        self._show_toggle_state(shown)
        self.tableToggled.emit(shown)

    def _show_toggle_state(self, shown: bool) -> None:
        button = self.table_button
        button.setArrowType(Qt.ArrowType.DownArrow if shown else Qt.ArrowType.RightArrow)
        button.setToolTip(
            "Fold the table to this row: the plots get its room" if shown else "Show the comparison table"
        )

    def clear(self) -> None:
        self._table = None
        self.grid.clear()
        self.grid.setRowCount(0)
        self.setVisible(False)

    def table(self) -> Any:
        return self._table

    def cell_text(self, row: int, key: str) -> str:
        """The text shown for run ``row`` (table order) in column ``key`` (tests)."""
        return self._table.text(row, self._table.column(key))

    def is_best(self, row: int, key: str) -> bool:
        return row in self._table.best_rows(self._table.column(key))

    def export_csv(self, path: str | Path) -> None:
        if self._table is None:
            raise ValueError("nothing is compared")
        self._table.write_csv(path)

    # ------------------------------------------------------------------ internals
    WIDE_COLUMN_CHARS = 30  # a text column wider than this many characters is shortened

    def _cap_wide_columns(self, table: Any) -> None:
        """A text or setting column at most ~30 characters wide, its cells shortened in the
        middle and whole in their tooltips: with eight runs, one of six long task names, the
        Tasks column took 60 % of the width and pushed every metric out of sight."""
        grid = self.grid
        header = grid.horizontalHeader()
        cap = grid.fontMetrics().averageCharWidth() * self.WIDE_COLUMN_CHARS
        for c, column in enumerate(table.columns):
            if column.kind not in ("text", "config") or grid.sizeHintForColumn(c) <= cap:
                continue
            header.setSectionResizeMode(c, QHeaderView.ResizeMode.Interactive)  # the user may widen it
            header.resizeSection(c, max(cap, header.sectionSizeHint(c)))
            for r in range(grid.rowCount()):
                item = grid.item(r, c)
                if item is not None and grid.fontMetrics().horizontalAdvance(item.text()) > cap:
                    tip = item.toolTip()
                    item.setToolTip(item.text() + (f"\n{tip}" if tip else ""))

    def _fit_height(self) -> None:
        grid = self.grid
        rows = grid.rowCount()
        base = grid.horizontalHeader().sizeHint().height() + 2 * grid.frameWidth()
        base += grid.horizontalScrollBar().sizeHint().height()  # room for it when columns overflow
        # up to 6 rows when there is room; down to 2 (it scrolls) when the plots need it
        grid.setMaximumHeight(base + sum(grid.rowHeight(r) for r in range(min(rows, 6))))
        grid.setMinimumHeight(base + sum(grid.rowHeight(r) for r in range(min(rows, 2))))

    def _export_dialog(self) -> None:
        if self._table is None:
            return
        path, _ = QFileDialog.getSaveFileName(self, "Export comparison", "compare.csv", "CSV table (*.csv)")
        if not path:
            return
        try:
            self.export_csv(path)
        except OSError as exc:
            QMessageBox.warning(self, "Export failed", f"Could not write {path}:\n{exc}")
