"""Small pieces of the setup form: one config field bound to one widget, and the form's
layout helpers (hint labels, form layouts, pairs, combos that keep unknown values)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from PySide6.QtCore import Qt
from PySide6.QtGui import QFont, QPalette
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QSpinBox,
    QWidget,
)

from workbench.gui.setup_widgets import FloatSpinBox, guard_wheel


def _hint(text: str = "") -> QLabel:
    label = QLabel(text)
    label.setObjectName("hint")
    label.setWordWrap(True)
    font = QFont(label.font())
    font.setPointSizeF(max(7.0, font.pointSizeF() * 0.92))
    label.setFont(font)
    pal = label.palette()
    pal.setColor(QPalette.ColorRole.WindowText, pal.color(QPalette.ColorRole.PlaceholderText))
    label.setPalette(pal)
    return label


def _form() -> QFormLayout:
    form = QFormLayout()
    form.setContentsMargins(6, 2, 2, 6)
    form.setFieldGrowthPolicy(QFormLayout.FieldGrowthPolicy.AllNonFixedFieldsGrow)
    form.setRowWrapPolicy(QFormLayout.RowWrapPolicy.DontWrapRows)
    form.setLabelAlignment(Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter)
    return form


def _pair(a: QWidget, b: QWidget, sep: str = "–") -> QWidget:
    box = QWidget()
    lay = QHBoxLayout(box)
    lay.setContentsMargins(0, 0, 0, 0)
    lay.setSpacing(4)
    lay.addWidget(a, 1)
    lay.addWidget(QLabel(sep))
    lay.addWidget(b, 1)
    return box


def _edit_row(edit: QWidget, *buttons: QWidget) -> QWidget:
    """A line edit that takes the room, with its buttons ("…", "File…") beside it."""
    row = QWidget()
    lay = QHBoxLayout(row)
    lay.setContentsMargins(0, 0, 0, 0)
    lay.setSpacing(3)
    lay.addWidget(edit, 1)
    for button in buttons:
        lay.addWidget(button)
    return row


def _combo(items: list[tuple[str, str]]) -> QComboBox:
    combo = QComboBox()
    for value, label in items:
        combo.addItem(label, value)
    combo.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon)
    combo.setMinimumContentsLength(10)
    return guard_wheel(combo)


EXTRA_ROLE = Qt.ItemDataRole.UserRole + 1  # marks combo items added to hold an unknown value


def _select_data(combo: QComboBox, value: Any, extra_text: str = "{} (not available here)") -> None:
    """Select the item holding ``value``; add a marked item for a value the list lacks."""
    for i in reversed(range(combo.count())):
        if combo.itemData(i, EXTRA_ROLE) and combo.itemData(i) != value:
            combo.removeItem(i)
    index = combo.findData(value)
    if index < 0:
        combo.addItem(extra_text.format(value), value)
        index = combo.count() - 1
        combo.setItemData(index, True, EXTRA_ROLE)
    combo.setCurrentIndex(index)


class _Binding:
    """One config field shown by one widget: how to read it, write it and watch it."""

    def __init__(
        self, widget: QWidget, get: Callable[[], Any], put: Callable[[Any], bool], signal: Any
    ) -> None:
        self.widget = widget
        self.get = get
        self.put = put  # returns False when the widget cannot hold the value
        self.signal = signal


def _bind_int(box: QSpinBox) -> _Binding:
    def put(v: Any) -> bool:
        if isinstance(v, bool) or not isinstance(v, int) or not box.minimum() <= v <= box.maximum():
            return False
        box.setValue(v)
        return True

    return _Binding(box, lambda: int(box.value()), put, box.valueChanged)


def _bind_float(box: FloatSpinBox) -> _Binding:
    def put(v: Any) -> bool:
        if isinstance(v, bool) or not isinstance(v, (int, float)) or not box.minimum() <= v <= box.maximum():
            return False
        box.setValue(float(v))
        return box.value() == float(v)

    return _Binding(box, lambda: float(box.value()), put, box.valueChanged)


def _bind_bool(box: QCheckBox) -> _Binding:
    def put(v: Any) -> bool:
        if not isinstance(v, bool):
            return False
        box.setChecked(v)
        return True

    return _Binding(box, box.isChecked, put, box.toggled)


def _bind_text(edit: QLineEdit) -> _Binding:
    def put(v: Any) -> bool:
        if not isinstance(v, str):
            return False
        edit.setText(v)
        return True

    return _Binding(edit, edit.text, put, edit.textEdited)


def _bind_combo(
    combo: QComboBox, extra_text: Callable[[], str] = lambda: "{} (not available here)"
) -> _Binding:
    def put(v: Any) -> bool:
        _select_data(combo, v, extra_text())
        return True

    return _Binding(combo, combo.currentData, put, combo.activated)
