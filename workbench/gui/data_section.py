"""The setup's data section: which source, where its files are, and its options.

``DataSection`` takes the registered data sources (``workbench.data.source.DataSource``,
Qt-free specs) and generates one options form per source from the source's ``Options``
dataclass (labels, limits, choices and help as declared there). After every change it
summarises the data off the GUI thread (``workbench.data.set_summary.summarise``): the
detected format, classes and split sizes, a class histogram, the tasks the annotations
support, and the import report's problems in a list.
"""

from __future__ import annotations

import copy
import functools
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from PySide6.QtCore import QRectF, QSize, Qt, QTimer, Signal
from PySide6.QtGui import QPainter, QPalette
from PySide6.QtWidgets import (
    QComboBox,
    QFileDialog,
    QFormLayout,
    QLabel,
    QLineEdit,
    QListWidget,
    QSizePolicy,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from workbench.gui.setup_bindings import _edit_row
from workbench.gui.setup_jobs import LatestJob
from workbench.gui.setup_widgets import DataclassForm, guard_wheel

MAX_PROBLEMS_SHOWN = 500


class ClassHistogram(QWidget):
    """Horizontal bars: one per class, its count written at the bar's end.

    Up to ``MAX_ROWS`` classes are drawn in the set's class order. A set with more shows
    its ``MAX_ROWS - 1`` largest classes, largest first, and a last row saying how many
    more there are and their largest count (every class is in the tooltip): cutting the
    list at a fixed class index hid classes with objects while showing empty ones."""

    ROW = 16
    MAX_ROWS = 12

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._counts: list[tuple[str, int]] = []
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Fixed)

    def set_counts(self, counts: dict[str, int]) -> None:
        self._counts = list(counts.items())
        shown, more = self.rows()
        rows = len(shown) + (1 if more else 0)
        self.setFixedHeight(self.ROW * rows + 4 if self._counts else 0)
        self.setToolTip("\n".join(f"{name}: {n}" for name, n in self._counts))
        self.update()

    def counts(self) -> list[tuple[str, int]]:
        return list(self._counts)

    def rows(self) -> tuple[list[tuple[str, int]], str]:
        """The (name, count) rows drawn, and the note of the classes left out ("" if none)."""
        if len(self._counts) <= self.MAX_ROWS:
            return list(self._counts), ""
        ranked = sorted(self._counts, key=lambda item: -item[1])  # stable: ties keep class order
        shown, rest = ranked[: self.MAX_ROWS - 1], ranked[self.MAX_ROWS - 1 :]
        most = max(n for _, n in rest)
        each = "without objects" if most == 0 else f"with at most {most} objects each"
        return shown, f"+ {len(rest)} more classes {each} (hover for all)"

    def sizeHint(self) -> QSize:  # noqa: N802 - Qt override
        return QSize(200, self.height())

    def paintEvent(self, _event) -> None:  # noqa: N802 - Qt override
        if not self._counts:
            return
        p = QPainter(self)
        fm = p.fontMetrics()
        shown, more = self.rows()
        label_w = min(max(fm.horizontalAdvance(n) for n, _ in shown) + 6, self.width() // 3)
        number_w = fm.horizontalAdvance(str(max(n for _, n in shown))) + 6
        bar_w = max(1, self.width() - label_w - number_w)
        top = max(n for _, n in shown) or 1
        colour = self.palette().color(QPalette.ColorRole.Highlight)
        for i, (name, n) in enumerate(shown):
            y = 2 + i * self.ROW
            # elidedText measures in fractions of a pixel: asked for the widest name's own
            # rounded width it cut that name; only a name wider than the column is elided
            if fm.horizontalAdvance(name) > label_w - 6:
                name = fm.elidedText(name, Qt.TextElideMode.ElideRight, label_w - 6)
            p.drawText(
                QRectF(0, y, label_w - 2, self.ROW),
                Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter,
                name,
            )
            width = bar_w * n / top
            p.fillRect(QRectF(label_w, y + 3, width, self.ROW - 6), colour)
            p.drawText(
                QRectF(label_w + width + 3, y, number_w, self.ROW), Qt.AlignmentFlag.AlignVCenter, str(n)
            )
        if more:
            p.setPen(self.palette().color(QPalette.ColorGroup.Disabled, QPalette.ColorRole.WindowText))
            y = 2 + len(shown) * self.ROW
            p.drawText(
                QRectF(0, y, self.width(), self.ROW),
                Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter,
                fm.elidedText(more, Qt.TextElideMode.ElideRight, self.width()),
            )
        p.end()


class DataSection(QWidget):
    """Edits ``[data] source``, ``path`` and ``options``; see the module docstring."""

    changed = Signal(str)  # the config path edited: data.source, data.path or data.options.<name>
    summaryChanged = Signal(object)  # DataSummary, or None while unknown / on error

    def __init__(self, sources: Sequence[Any], parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.sources = {s.name: s for s in sources}
        self._filling = False
        self._input_size = 0
        self.summary: Any = None
        self.failure = ""  # why the current data cannot be used ("" when it can, or not known yet)
        self._summary_key: tuple | None = None
        self._shown_key: tuple | None = None

        lay = QVBoxLayout(self)
        lay.setContentsMargins(0, 0, 0, 0)
        lay.setSpacing(4)
        form = QFormLayout()
        form.setContentsMargins(0, 0, 0, 0)
        form.setFieldGrowthPolicy(QFormLayout.FieldGrowthPolicy.AllNonFixedFieldsGrow)
        self.source_combo = guard_wheel(QComboBox())
        for spec in sources:
            self.source_combo.addItem(spec.label, spec.name)
            self.source_combo.setItemData(
                self.source_combo.count() - 1, spec.description, Qt.ItemDataRole.ToolTipRole
            )
        self.source_combo.activated.connect(lambda *_: self._on_source())
        from workbench.config import DataConfig, field_meta  # plain Python: no torch

        self.source_combo.setToolTip(field_meta(DataConfig, "source").help)
        form.addRow("Source", self.source_combo)

        self.path_edit = QLineEdit()
        self.path_edit.setPlaceholderText("annotation file or data set folder")
        self.path_edit.setToolTip(
            "A COCO .json, a YOLO data.yaml, or a folder (VOC, YOLO, COCO, class folders)"
        )
        self.path_edit.textEdited.connect(lambda *_: self._on_edit("data.path"))
        self.file_button = QToolButton(text="File…")
        self.file_button.setToolTip("choose an annotation file (COCO .json, YOLO .yaml)")
        self.file_button.clicked.connect(self._choose_file)
        self.folder_button = QToolButton(text="Folder…")
        self.folder_button.setToolTip("choose the data set's folder")
        self.folder_button.clicked.connect(self._choose_folder)
        self.path_row = _edit_row(self.path_edit, self.file_button, self.folder_button)
        form.addRow("Path", self.path_row)
        self._form = form
        lay.addLayout(form)

        self.description = QLabel()
        self.description.setWordWrap(True)
        self.description.setEnabled(False)  # the palette's dimmed text: a hint, not a value
        lay.addWidget(self.description)

        self.forms: dict[str, DataclassForm] = {}
        # only the current source's form is shown (a stacked widget would keep the height
        # of the tallest form)
        self.stack = QWidget()
        stack_layout = QVBoxLayout(self.stack)
        stack_layout.setContentsMargins(0, 0, 0, 0)
        for spec in sources:
            options_form = DataclassForm(spec.Options)
            for name, editor in options_form.editors.items():
                guard_wheel(editor)
                del name
            options_form.fieldChanged.connect(lambda field, n=spec.name: self._on_options(n, field))
            self.forms[spec.name] = options_form
            options_form.setVisible(False)
            stack_layout.addWidget(options_form)
        lay.addWidget(self.stack)

        self.summary_label = QLabel("")
        self.summary_label.setWordWrap(True)
        self.summary_label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        lay.addWidget(self.summary_label)
        self.histogram = ClassHistogram()
        lay.addWidget(self.histogram)
        self.problems = QListWidget()
        self.problems.setMaximumHeight(124)
        self.problems.setWordWrap(True)  # a problem is read whole, not scrolled sideways
        self.problems.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.problems.setToolTip(
            "problems the importer found: each names its file and place, and what was done"
        )
        self.problems.setVisible(False)
        lay.addWidget(self.problems)

        self._job = LatestJob(self)
        self._job.done.connect(self._on_summary)
        self._job.failed.connect(self._on_summary_failed)
        self._timer = QTimer(self, singleShot=True, interval=350, timeout=self._submit)
        self._show_source()

    # ------------------------------------------------------------ values

    def set_data(self, source: str, path: str, options: dict[str, Any]) -> None:
        """Show a data config's one source (an unknown source name is kept, shown as such)."""
        self._filling = True
        try:
            index = self.source_combo.findData(source)
            if index < 0:
                self.source_combo.addItem(f"{source} (not available here)", source)
                index = self.source_combo.count() - 1
            self.source_combo.setCurrentIndex(index)
            self.path_edit.setText(path)
            for name, options_form in self.forms.items():
                options_form.set_values(copy.deepcopy(options) if name == source else {})
        finally:
            self._filling = False
        self._show_source()
        self.request_summary()

    def values(self) -> tuple[str, str, dict[str, Any]]:
        """(source, path, options) as the form shows them."""
        source = self.source_combo.currentData()
        spec = self.sources.get(source)
        path = self.path_edit.text() if spec is None or spec.needs_path else ""
        options_form = self.forms.get(source)
        return source, path, options_form.values() if options_form is not None else {}

    def set_input_size(self, size: int) -> None:
        """``model.input_size`` (0: the source's own), which previews and summaries use."""
        if size != self._input_size:
            self._input_size = size
            self.request_summary()

    def widget_for(self, path: str) -> QWidget | None:
        """The editor of a config path under ``data`` (for error marks)."""
        if path == "data.source":
            return self.source_combo
        if path == "data.path":
            return self.path_edit
        if path.startswith("data.options."):
            options_form = self.forms.get(self.source_combo.currentData())
            name = path.split(".")[2]
            return options_form.editor(name) if options_form is not None else None
        return None

    def open_path(self, path: str) -> None:
        """Point the section at ``path`` with format detection (the app's "Open dataset…")."""
        auto = self.source_combo.findData("auto")
        if auto >= 0:
            self.source_combo.setCurrentIndex(auto)
        self.path_edit.setText(path)
        self._show_source()
        self._on_edit("data.path")

    # ------------------------------------------------------------ editing

    def _on_source(self) -> None:
        self._show_source()
        self._on_edit("data.source")

    def _on_options(self, source: str, field: str) -> None:
        if source == self.source_combo.currentData():
            self._on_edit(f"data.options.{field}")

    def _on_edit(self, path: str) -> None:
        if self._filling:
            return
        self.request_summary()
        self.changed.emit(path)

    def _show_source(self) -> None:
        source = self.source_combo.currentData()
        spec = self.sources.get(source)
        needs_path = spec is None or spec.needs_path
        self._form.setRowVisible(self.path_row, needs_path)
        self.description.setText(spec.description if spec is not None else "not a source of this version")
        options_form = self.forms.get(source)
        for form in self.forms.values():
            form.setVisible(form is options_form)
        self.stack.setVisible(options_form is not None and not options_form.is_empty())

    def _choose_file(self) -> None:
        start = self.path_edit.text() or str(Path.home())
        path, _ = QFileDialog.getOpenFileName(
            self, "Annotation file", start, "Annotations (*.json *.yaml *.yml);;All files (*)"
        )
        if path:
            self.path_edit.setText(path)
            self._on_edit("data.path")

    def _choose_folder(self) -> None:
        start = self.path_edit.text() or str(Path.home())
        path = QFileDialog.getExistingDirectory(self, "Data set folder", start)
        if path:
            self.path_edit.setText(path)
            self._on_edit("data.path")

    # ------------------------------------------------------------ summary

    def request_summary(self) -> None:
        source, path, options = self.values()
        key = (source, path, repr(sorted(options.items())), self._input_size)
        if key == self._summary_key:
            return
        self._summary_key = key
        self.summary_label.setText("reading the data set…")  # at once: what was shown is not this data
        self._timer.start()

    def reread(self) -> None:
        """Read the data again although its settings did not change (files changed on disk:
        a run refused data that this section had read as fine)."""
        self._summary_key = None
        self.request_summary()

    def _submit(self) -> None:
        from workbench.config import DataConfig
        from workbench.data.set_summary import summarise

        source, path, options = self.values()
        spec = self.sources.get(source)
        if spec is None or (spec.needs_path and not path.strip()):
            self._show_summary(None, "choose the data set's file or folder" if spec is not None else "")
            return
        cfg = DataConfig(source=source, path=path, options=copy.deepcopy(options))
        self.summary_label.setText("reading the data set…")
        self._job.submit(self._summary_key, functools.partial(summarise, cfg, self._input_size))

    def _on_summary(self, key: tuple, summary: Any) -> None:
        if key == self._summary_key:
            self._shown_key = key
            self.failure = summary.unusable() if hasattr(summary, "unusable") else ""
            self._show_summary(summary, "")

    def _on_summary_failed(self, key: tuple, message: str) -> None:
        if key == self._summary_key:
            self._shown_key = key
            self.failure = message
            self._show_summary(None, f"cannot use this data: {message}")

    def reading(self) -> bool:
        """Whether the files the values point at have not been read yet (Start waits for
        them; generated data, whose options the config check covers, never waits)."""
        spec = self.sources.get(self.source_combo.currentData())
        reads_files = spec is None or spec.needs_path
        return reads_files and self._summary_key is not None and self._shown_key != self._summary_key

    def current_summary(self) -> Any:
        """The summary of the values shown now; None while it is read, or when it failed."""
        return self.summary if self._shown_key == self._summary_key else None

    def current_failure(self) -> str:
        """Why the data shown now cannot be trained on ("" when it can or is not read yet)."""
        return self.failure if self._shown_key == self._summary_key else ""

    # the detected format's own options: the others' rows are hidden (a VOC folder showed
    # COCO's "Validation JSON") unless they hold a value, which the reader then refuses
    FORMAT_ONLY_OPTIONS = {"image_root": "coco", "val_annotations": "coco"}

    def _show_format_options(self, summary: Any) -> None:
        form = self.forms.get("auto")
        if form is None:
            return
        detected = getattr(summary, "format", None)
        values = form.values()
        for name, fmt in self.FORMAT_ONLY_OPTIONS.items():
            set_value = values.get(name) not in (None, "", form.defaults.get(name))
            form.set_field_visible(name, detected in (None, fmt) or set_value)

    def _show_summary(self, summary: Any, message: str) -> None:
        self.summary = summary
        self._show_format_options(summary)
        if summary is None:
            self.summary_label.setText(message)
            self.histogram.set_counts({})
            self.problems.clear()
            self.problems.setVisible(False)
        else:
            tasks = ", ".join(summary.tasks) if summary.tasks else ""
            self.summary_label.setText(
                summary.headline() + (f"\ntasks these annotations support: {tasks}" if tasks else "")
            )
            self.histogram.set_counts(summary.per_class)
            self.problems.clear()
            for text in summary.problems[:MAX_PROBLEMS_SHOWN]:
                self.problems.addItem(text)
                self.problems.item(self.problems.count() - 1).setToolTip(text)
            if len(summary.problems) > MAX_PROBLEMS_SHOWN:
                self.problems.addItem(
                    f"… and {len(summary.problems) - MAX_PROBLEMS_SHOWN} more (workbench data check --all)"
                )
            self.problems.setVisible(bool(summary.problems))
        self.summaryChanged.emit(summary)

    def summary_ready(self) -> bool:
        """True when the summary shown is that of the current values."""
        return (
            self._summary_key is not None
            and self._shown_key == self._summary_key
            or (self._summary_key is not None and not self._timer.isActive() and not self._job.busy())
        )

    def shutdown(self, timeout_ms: int = 10000) -> None:
        self._timer.stop()
        self._job.wait(timeout_ms)
