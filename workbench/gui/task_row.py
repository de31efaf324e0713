"""One task kind in the setup's task list: include it, name it, weight its loss, edit its
options (a form generated from the kind's ``Options`` dataclass)."""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import QCheckBox, QHBoxLayout, QLineEdit, QToolButton, QVBoxLayout, QWidget

from workbench.config import TaskConfig
from workbench.gui.setup_bindings import _hint
from workbench.gui.setup_widgets import DataclassForm, FloatSpinBox, guard_wheel

# names given to a task kind when it is switched on (the defaults of the built-in experiment)
DEFAULT_TASK_NAMES = {
    "classification": "scene",
    "detection": "objects",
    "segmentation": "masks",
    "counting": "count",
    "localization": "largest",
    "multilabel": "present",
}


class TaskRow(QWidget):
    """One task kind: include it, name it, weight its loss and edit its options."""

    changed = Signal()

    def __init__(self, kind_cls: Any, check_width: int = 0, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.kind_cls = kind_cls
        self.kind = kind_cls.kind
        self.check = QCheckBox(self.kind)
        self.check.setToolTip(
            f"{self.kind}: {kind_cls.description}\nmetrics: {', '.join(kind_cls.metric_label(m) for m in kind_cls.metric_names)}"
        )
        if check_width:
            self.check.setFixedWidth(check_width)
        self.name_edit = QLineEdit()
        self.name_edit.setPlaceholderText("name")
        self.name_edit.setToolTip("task name: ASCII letters, digits, _ or -; used in plots and metric names")
        self.name_edit.setMinimumWidth(60)
        self.weight = FloatSpinBox(0.0, 1000.0, 0.1)
        self.weight.setMinimumWidth(62)
        self.weight.setMaximumWidth(80)
        self.weight.setToolTip("loss weight (used by the 'static' weighting method)")
        guard_wheel(self.weight)
        self.options_button = QToolButton()
        self.options_button.setCheckable(True)
        self.options_button.setArrowType(Qt.ArrowType.RightArrow)
        self.options_button.setAutoRaise(True)
        self.options_button.setToolTip(f"show the {self.kind} task's options")
        # each row's controls say which task they belong to (six rows read alike before)
        self.name_edit.setAccessibleName(f"{self.kind} task name")
        self.weight.setAccessibleName(f"{self.kind} task loss weight")
        self.options_button.setAccessibleName(f"{self.kind} task options")
        top = QHBoxLayout()
        top.setContentsMargins(0, 0, 0, 0)
        top.setSpacing(4)
        top.addWidget(self.check)
        top.addWidget(self.name_edit, 1)
        top.addWidget(self.weight)
        top.addWidget(self.options_button)
        self.body = QWidget()
        body = QVBoxLayout(self.body)
        body.setContentsMargins(22, 0, 0, 4)
        body.setSpacing(2)
        body.addWidget(_hint(kind_cls.description))
        self.options = DataclassForm(kind_cls.Options)
        if self.options.is_empty():
            body.addWidget(_hint("no options"))
        body.addWidget(self.options)
        self.body.setVisible(False)
        lay = QVBoxLayout(self)
        lay.setContentsMargins(0, 0, 0, 0)
        lay.setSpacing(1)
        lay.addLayout(top)
        lay.addWidget(self.body)
        self.options_button.toggled.connect(self.show_options)
        self.check.toggled.connect(self._sync_enabled)
        self.check.toggled.connect(self.changed)
        self.name_edit.textEdited.connect(self.changed)
        self.weight.valueChanged.connect(self.changed)
        self.options.changed.connect(self.changed)
        for name, editor in self.options.editors.items():
            guard_wheel(editor)
            # read out, and named in a refusal, with the task ("Hidden units" in four rows)
            editor.setAccessibleName(f"{self.kind} task: {self.options.label_of(name)}")
        self._sync_enabled()

    def show_options(self, on: bool) -> None:
        if self.options_button.isChecked() != on:
            self.options_button.setChecked(on)
            return
        self.options_button.setArrowType(Qt.ArrowType.DownArrow if on else Qt.ArrowType.RightArrow)
        self.body.setVisible(on)

    def _sync_enabled(self) -> None:
        on = self.check.isChecked()
        for w in (self.name_edit, self.weight, self.options):
            w.setEnabled(on)

    def reset(self) -> None:
        self.check.setChecked(False)
        self.name_edit.setText(DEFAULT_TASK_NAMES.get(self.kind, self.kind))
        self.weight.setValue(1.0)
        self.options.set_values({})

    def fill(self, task: TaskConfig) -> list[str]:
        """Show ``task``; returns the fields that could not be shown (kept by the panel)."""
        kept = []
        self.check.setChecked(True)
        if isinstance(task.name, str):
            self.name_edit.setText(task.name)
        else:
            kept.append("name")
        w = task.loss_weight
        if isinstance(w, (int, float)) and not isinstance(w, bool) and 0.0 <= w <= 1000.0:
            self.weight.setValue(float(w))
            if self.weight.value() != float(w):
                kept.append("loss_weight")
        else:
            kept.append("loss_weight")
        self.options.set_values(task.options if isinstance(task.options, dict) else {})
        return kept

    def task_config(self) -> TaskConfig:
        return TaskConfig(
            name=self.name_edit.text(),
            kind=self.kind,
            loss_weight=float(self.weight.value()),
            options=self.options.values(),
        )
