"""The setup's task list: one row per registered task kind (``TaskRow``), in the
config's order, plus the tasks a row cannot show (a second task of one kind, an unknown
kind), kept as they are and named in a note."""

from __future__ import annotations

import copy
from collections.abc import Sequence
from typing import Any

from PySide6.QtCore import Signal
from PySide6.QtWidgets import QCheckBox, QHBoxLayout, QVBoxLayout, QWidget

from workbench.config import TaskConfig
from workbench.gui.setup_bindings import _hint
from workbench.gui.task_row import TaskRow


class TasksSection(QWidget):
    """Edits ``[[tasks]]``. The rows appear once ``set_kinds`` gets the task kinds."""

    changed = Signal(str)  # "tasks.<kind>"

    def __init__(self, loading_text: str, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.rows: dict[str, TaskRow] = {}
        self.order: list[TaskRow | TaskConfig] = []
        self.kept: dict[str, dict[str, Any]] = {}  # kind -> task fields its row could not hold
        lay = QVBoxLayout(self)
        lay.setContentsMargins(0, 0, 0, 0)
        header = QHBoxLayout()
        header.setContentsMargins(0, 0, 0, 0)
        self.header_labels = [_hint("task"), _hint("name"), _hint("loss weight")]
        header.addWidget(self.header_labels[0])
        header.addWidget(self.header_labels[1], 1)
        header.addWidget(self.header_labels[2])
        header.addSpacing(24)
        self.tasks_header = QWidget()
        self.tasks_header.setLayout(header)
        lay.addWidget(self.tasks_header)
        self.tasks_box = QWidget()
        self.tasks_layout = QVBoxLayout(self.tasks_box)
        self.tasks_layout.setContentsMargins(0, 0, 0, 0)
        self.tasks_layout.setSpacing(2)
        lay.addWidget(self.tasks_box)
        self.tasks_note = _hint(loading_text)
        lay.addWidget(self.tasks_note)

    def set_kinds(self, kinds: Sequence[Any]) -> None:
        """One row per task kind class (``workbench.tasks`` registry entries)."""
        probe = QCheckBox()
        width = max(probe.fontMetrics().horizontalAdvance(k.kind) for k in kinds) + 34 if kinds else 0
        for cls in kinds:
            row = TaskRow(cls, width)
            row.reset()
            row.changed.connect(lambda k=cls.kind: self.changed.emit(f"tasks.{k}"))
            row.check.toggled.connect(lambda _on, k=cls.kind: self._grey(k))
            self.rows[cls.kind] = row
        self.header_labels[0].setFixedWidth(width)
        self.header_labels[2].setFixedWidth(self.rows[kinds[0].kind].weight.maximumWidth() if kinds else 60)

    def set_tasks(self, tasks: list[TaskConfig]) -> None:
        """Show ``tasks`` in their order; kinds not among them follow, switched off."""
        self.kept = {}
        order: list[TaskRow | TaskConfig] = []
        used: set[str] = set()
        for row in self.rows.values():
            row.reset()
        for task in tasks:
            row = self.rows.get(task.kind)
            if row is None or task.kind in used:
                order.append(copy.deepcopy(task))
                continue
            used.add(task.kind)
            kept = row.fill(task)
            if kept:
                self.kept[task.kind] = {f: copy.deepcopy(getattr(task, f)) for f in kept}
            order.append(row)
        order.extend(row for kind, row in self.rows.items() if kind not in used)
        self.order = order
        self._layout()

    def tasks(self) -> tuple[list[TaskConfig], list[TaskRow | TaskConfig]]:
        """(the tasks shown, and for each the row or kept task it comes from)."""
        tasks, sources = [], []
        for entry in self.order:
            if isinstance(entry, TaskRow):
                if not entry.check.isChecked():
                    continue
                task = entry.task_config()
                for field, value in self.kept.get(entry.kind, {}).items():
                    setattr(task, field, copy.deepcopy(value))
                tasks.append(task)
            else:
                tasks.append(copy.deepcopy(entry))
            sources.append(entry)
        return tasks, sources

    def offer(self, target_keys: frozenset[str] | None, kinds: Any) -> None:
        """Grey out the rows whose targets the data does not have (None: data unknown).
        A ticked one stays usable until it is unticked: the setup names it as the problem,
        and unticking is the way out."""
        self._unsupported = {}
        for kind in self.rows:
            key = kinds.get(kind).target_key
            if target_keys is not None and key not in target_keys:
                self._unsupported[kind] = f"this data has no '{key}' annotations for a {kind} task"
        for kind in self.rows:
            self._grey(kind)

    def _grey(self, kind: str) -> None:
        row = self.rows[kind]
        why = getattr(self, "_unsupported", {}).get(kind, "")
        row.setEnabled(not why or row.check.isChecked())
        row.setToolTip(why + ("; untick it" if why and row.check.isChecked() else ""))

    def _layout(self) -> None:
        while self.tasks_layout.count():
            self.tasks_layout.takeAt(0)
        for entry in self.order:
            if isinstance(entry, TaskRow):
                self.tasks_layout.addWidget(entry)
                entry.show()
        extras = [e for e in self.order if not isinstance(e, TaskRow)]
        if extras:
            names = ", ".join(f"{t.name!r} ({t.kind})" for t in extras)
            self.tasks_note.setText(f"Also in this config, kept but not editable here: {names}")
            self.tasks_note.setVisible(True)
        else:
            self.tasks_note.setVisible(False)
