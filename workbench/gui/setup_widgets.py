"""Small widgets for the setup panel: exact float spin boxes, collapsible sections and
editors generated from a dataclass (task options, weighting parameters).

Nothing here imports torch; the panel builds these before PyTorch has loaded.
"""

from __future__ import annotations

import dataclasses
import math
import typing
from typing import Any

from PySide6.QtCore import QEvent, QObject, QRectF, Qt, Signal
from PySide6.QtGui import QColor, QPainter, QPen
from PySide6.QtWidgets import (
    QAbstractSpinBox,
    QCheckBox,
    QComboBox,
    QDoubleSpinBox,
    QFormLayout,
    QLineEdit,
    QSizePolicy,
    QSlider,
    QSpinBox,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from workbench.gui.typed_number import RefusesAloud

INT_LIMIT = 2**31 - 1


def format_float(value: float) -> str:
    """The shortest text that reads back as exactly ``value`` ("0.002", "1e-5", "12000")."""
    text = repr(float(value))
    if text.endswith(".0"):
        text = text[:-2]
    return text.replace("e-0", "e-").replace("e+0", "e+")


def nice_step(value: float, steps: int) -> float:
    """Move ``value`` ``steps`` places along the 1-2-5 sequence (..., 1e-3, 2e-3, 5e-3, 1e-2, ...)."""
    if value <= 0:
        return 1e-5 if steps > 0 else 0.0
    exponent = math.floor(math.log10(value))
    # candidates around the value, in increasing order
    seq = [m * 10.0**e for e in range(exponent - 1, exponent + 2) for m in (1, 2, 5)]
    seq = [float(f"{s:.12g}") for s in seq]
    current = value
    for _ in range(abs(steps)):
        if steps > 0:
            bigger = [s for s in seq if s > current * (1 + 1e-9)]
            current = bigger[0] if bigger else current * 2
        else:
            smaller = [s for s in seq if s < current * (1 - 1e-9)]
            current = smaller[-1] if smaller else current / 2
        exponent = math.floor(math.log10(current))
        seq = [float(f"{m * 10.0**e:.12g}") for e in range(exponent - 1, exponent + 2) for m in (1, 2, 5)]
    return current


class FloatSpinBox(RefusesAloud, QDoubleSpinBox):
    """A double spin box that keeps the exact value it is given and shows it shortest-form.

    ``log_step`` steps along 1-2-5 (learning rates, weight decay); otherwise it adds
    ``step`` and rounds away float noise (0.1 + 0.2 shows as 0.3). A decimal comma reads as
    a point; a value that cannot be kept is refused aloud (``typed_number``).
    """

    refused = Signal(str)
    is_integer = False

    def __init__(
        self,
        minimum: float = 0.0,
        maximum: float = 1e9,
        step: float = 0.1,
        *,
        log_step: bool = False,
        special: str = "",
        suffix: str = "",
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self.setDecimals(323)  # Qt rounds to this many decimals: with 323 no double changes
        self.setRange(minimum, maximum)
        self.setSingleStep(step)
        self._log_step = log_step
        if special:
            self.setSpecialValueText(special)
        if suffix:
            self.setSuffix(suffix)
        self.setKeyboardTracking(True)
        self.setMinimumWidth(84)
        self.setAccelerated(True)

    def textFromValue(self, value: float) -> str:  # noqa: N802 - Qt override
        return format_float(value)

    def stepBy(self, steps: int) -> None:  # noqa: N802 - Qt override
        if self._log_step:
            new = nice_step(self.value(), steps)
        else:
            new = round(self.value() + steps * self.singleStep(), 10)
        self.setValue(min(max(new, self.minimum()), self.maximum()))
        self.selectAll()


class IntSpinBox(RefusesAloud, QSpinBox):
    """A spin box of whole numbers that refuses aloud what it cannot keep ("-5" where 1 is
    the minimum, "1,5", "1e-12"): Qt's own dropped the minus or the comma and kept 5 or 15."""

    refused = Signal(str)
    is_integer = True


class WideIntSpinBox(RefusesAloud, QDoubleSpinBox):
    """Whole numbers past Qt's 32-bit QSpinBox (seeds up to 2**32 - 1): a double spin box
    without decimals, exact to 2**53. A seed of 4294967295 showed as 0 in a QSpinBox
    while the run used 4294967295, and typing it was refused."""

    refused = Signal(str)
    is_integer = True

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setDecimals(0)

    def textFromValue(self, value: float) -> str:  # noqa: N802 - Qt override
        return str(int(value))

    def int_value(self) -> int:
        return int(self.value())


def int_spin(
    minimum: int, maximum: int, step: int = 1, special: str = "", suffix: str = ""
) -> QAbstractSpinBox:
    """A whole-number box from ``minimum`` to ``maximum``: a QSpinBox, or a
    ``WideIntSpinBox`` when ``maximum`` is past what a QSpinBox holds (``INT_LIMIT``)."""
    box = WideIntSpinBox() if maximum > INT_LIMIT else IntSpinBox()
    box.setRange(minimum, maximum)
    box.setSingleStep(step)
    if special:
        box.setSpecialValueText(special)
    if suffix:
        box.setSuffix(suffix)
    box.setAccelerated(True)
    box.setMinimumWidth(70)
    return box


class _WheelGuard(QObject):
    """Scrolling the panel must not change a spin box or combo the mouse passes over."""

    def eventFilter(self, obj: QObject, event: QEvent) -> bool:  # noqa: N802 - Qt override
        if event.type() == QEvent.Type.Wheel and isinstance(obj, QWidget) and not obj.hasFocus():
            event.ignore()
            return True
        return False


_GUARD: _WheelGuard | None = None


def guard_wheel(widget: QWidget) -> QWidget:
    """Let wheel events scroll the surrounding area unless ``widget`` has focus."""
    global _GUARD
    if _GUARD is None:
        _GUARD = _WheelGuard()
    if isinstance(widget, (QAbstractSpinBox, QComboBox, QSlider)):
        widget.setFocusPolicy(Qt.FocusPolicy.StrongFocus)
        widget.installEventFilter(_GUARD)
    return widget


class CollapsibleSection(QWidget):
    """A titled section whose body folds away under a header button."""

    toggled = Signal(bool)

    def __init__(self, title: str, expanded: bool = True, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.header = QToolButton()
        self.header.setText(title)
        self.header.setToolTip(f"show or hide the {title.lower()} settings")
        self.header.setCheckable(True)
        self.header.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextBesideIcon)
        self.header.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Fixed)
        self.header.setAutoRaise(True)
        self.header.setObjectName("sectionHeader")
        font = self.header.font()
        font.setBold(True)
        self.header.setFont(font)
        self.body = QWidget()
        self.body.setObjectName("sectionBody")
        lay = QVBoxLayout(self)
        lay.setContentsMargins(0, 0, 0, 0)
        lay.setSpacing(2)
        lay.addWidget(self.header)
        lay.addWidget(self.body)
        self.header.toggled.connect(self._on_toggled)
        self.header.setChecked(expanded)
        self._on_toggled(expanded)

    def _on_toggled(self, on: bool) -> None:
        self.header.setArrowType(Qt.ArrowType.DownArrow if on else Qt.ArrowType.RightArrow)
        self.body.setVisible(on)
        self.toggled.emit(on)

    def is_expanded(self) -> bool:
        return self.header.isChecked()

    def set_expanded(self, on: bool) -> None:
        self.header.setChecked(on)


def _label(name: str) -> str:
    return name.replace("_", " ")


def _field_types(cls: type) -> dict[str, Any]:
    try:
        return typing.get_type_hints(cls)
    except Exception:  # unresolvable annotation: fall back to the defaults' types
        return {}


def is_integer_box(editor: QWidget) -> bool:
    """Whether ``editor`` is a spin box of whole numbers (QSpinBox or WideIntSpinBox)."""
    return isinstance(editor, QSpinBox) or bool(getattr(editor, "is_integer", False))


def apply_field_meta(editor: QWidget, meta: Any) -> None:
    """Spin-box range, unit and tooltip from a field's metadata (``workbench.config.FieldMeta``):
    the limits are declared once, with the field, and every form reads them here."""
    if isinstance(editor, (QSpinBox, QDoubleSpinBox)):
        integer = is_integer_box(editor)
        low = meta.ge if meta.ge is not None else meta.gt
        high = meta.le if meta.le is not None else meta.lt
        if integer and meta.ge is None and meta.gt is not None:
            low = meta.gt + 1
        if integer and meta.le is None and meta.lt is not None:
            high = meta.lt - 1
        specials = [
            v
            for v, _ in getattr(meta, "special", ())
            if isinstance(v, (int, float)) and not isinstance(v, bool)
        ]
        if low is not None:
            low = min([low, *specials])
            editor.setMinimum(int(low) if integer else float(low))
            # an excluded end (lr > 0) is refused aloud on leaving, as the others are
            editor.open_low = not integer and meta.ge is None and meta.gt is not None and low == meta.gt
        if high is not None:
            high = max([high, *specials])
            editor.open_high = not integer and meta.le is None and meta.lt is not None and high == meta.lt
            if isinstance(editor, QSpinBox):
                high = min(high, INT_LIMIT)  # a wider field gets a WideIntSpinBox (int_spin)
            editor.setMaximum(int(high) if integer else float(high))
        if getattr(meta, "unit", "") and not editor.suffix():  # "128 px", not a bare "128"
            editor.setSuffix(f" {meta.unit}")
    if getattr(meta, "help", ""):
        editor.setToolTip(meta.help)


class DataclassForm(QWidget):
    """Editors generated from a dataclass's fields: int, float, bool and str.

    ``set_values(d)`` shows ``d`` over the defaults; ``values()`` gives back every key of
    the last ``d`` plus each field that now differs from its default, so a dict round-trips
    exactly (``{}`` stays ``{}`` until something is changed). Keys the dataclass does not
    know, and values of the wrong type, are kept untouched (validation reports them).
    """

    changed = Signal()
    fieldChanged = Signal(str)  # the name of the field the user edited (before ``changed``)

    def __init__(self, cls: type, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.cls = cls
        self.fields = [f for f in dataclasses.fields(cls) if f.init]
        hints = _field_types(cls)
        self.defaults: dict[str, Any] = {}
        self.editors: dict[str, QWidget] = {}
        self._kinds: dict[str, type] = {}
        self._labels: dict[str, str] = {}
        self._given: dict[str, Any] = {}
        self._raw: dict[str, Any] = {}
        self._filling = False
        form = QFormLayout(self)
        form.setContentsMargins(0, 0, 0, 0)
        form.setFieldGrowthPolicy(QFormLayout.FieldGrowthPolicy.AllNonFixedFieldsGrow)
        form.setRowWrapPolicy(QFormLayout.RowWrapPolicy.DontWrapRows)
        for f in self.fields:
            default = f.default if f.default is not dataclasses.MISSING else None
            if default is None and f.default_factory is not dataclasses.MISSING:  # type: ignore[misc]
                default = f.default_factory()  # type: ignore[misc]
            tp = hints.get(f.name, type(default))
            meta = f.metadata.get("workbench")
            editor = self._make_editor(
                f.name, tp, default, getattr(meta, "choices", ()), getattr(meta, "le", None)
            )
            if editor is None:
                continue
            if meta is not None:  # limits, label and help declared once, with the field
                apply_field_meta(editor, meta)
            self.defaults[f.name] = default
            self.editors[f.name] = editor
            self._kinds[f.name] = tp
            label = getattr(meta, "label", "") or _label(f.name)
            self._labels[f.name] = label
            form.addRow(label, editor)
        self._form = form

    def set_field_visible(self, name: str, visible: bool) -> None:
        """Show or hide field ``name``'s row (label and editor); its value is kept."""
        if name in self.editors:
            self._form.setRowVisible(self.editors[name], visible)

    def label_of(self, name: str) -> str:
        """The label of field ``name``'s row (its declared label), or the name itself."""
        return self._labels.get(name, name)

    def _make_editor(
        self, name: str, tp: Any, default: Any, choices: tuple = (), high: float | None = None
    ) -> QWidget | None:
        if tp is str and choices:
            combo = QComboBox()
            for choice in choices:
                combo.addItem(str(choice), choice)
            combo.setCurrentIndex(max(0, combo.findData(default)))
            combo.activated.connect(lambda _=None, n=name: self._edited(n))
            return guard_wheel(combo)
        if tp is bool:
            box = QCheckBox()
            box.setChecked(bool(default))
            box.toggled.connect(lambda _=None, n=name: self._edited(n))
            return box
        if tp is int:  # a declared maximum past a QSpinBox's (a seed) makes a wide box
            box = int_spin(-1_000_000_000, max(1_000_000_000, int(high or 0)))
            box.setValue(int(default or 0))
            box.valueChanged.connect(lambda _=None, n=name: self._edited(n))
            return guard_wheel(box)
        if tp is float:
            d = abs(float(default or 0.0))
            step = 0.05 if 0 < d < 1 else (0.1 if d <= 10 else 1.0)
            box = FloatSpinBox(-1e9, 1e9, step)
            box.setValue(float(default or 0.0))
            box.valueChanged.connect(lambda _=None, n=name: self._edited(n))
            return guard_wheel(box)
        if tp is str:
            edit = QLineEdit(str(default or ""))
            edit.textEdited.connect(lambda _=None, n=name: self._edited(n))
            return edit
        return None  # lists, dicts ...: not editable here, kept through _given

    def _edited(self, name: str) -> None:
        if self._filling:
            return
        self._raw.pop(name, None)
        self.fieldChanged.emit(name)
        self.changed.emit()

    def is_empty(self) -> bool:
        return not self.editors

    def editor(self, name: str) -> QWidget | None:
        return self.editors.get(name)

    def _show(self, name: str, value: Any) -> bool:
        editor, tp = self.editors[name], self._kinds[name]
        if tp is bool:
            if not isinstance(value, bool):
                return False
            editor.setChecked(value)
        elif tp is int:
            if isinstance(value, bool) or not isinstance(value, int):
                return False
            if not editor.minimum() <= value <= editor.maximum():  # kept as given: validation says it
                return False
            editor.setValue(value)
        elif tp is float:
            if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
                return False
            editor.setValue(float(value))
            if editor.value() != float(value):
                return False
        elif isinstance(editor, QComboBox):
            index = editor.findData(value) if isinstance(value, str) else -1
            if index < 0:
                return False
            editor.setCurrentIndex(index)
        elif tp is str:
            if not isinstance(value, str):
                return False
            editor.setText(value)
        return True

    def set_values(self, values: dict[str, Any]) -> None:
        self._filling = True
        try:
            self._given = dict(values)
            self._raw = {}
            for name in self.editors:
                value = values.get(name, self.defaults[name])
                if not self._show(name, value):
                    self._show(name, self.defaults[name])
                    self._raw[name] = value
        finally:
            self._filling = False

    def _current(self, name: str) -> Any:
        editor, tp = self.editors[name], self._kinds[name]
        if tp is bool:
            return editor.isChecked()
        if tp is int:
            return int(editor.value())
        if tp is float:
            return float(editor.value())
        if isinstance(editor, QComboBox):
            return editor.currentData()
        return editor.text()

    def values(self) -> dict[str, Any]:
        out = dict(self._given)  # unknown keys and non-editable fields stay as given
        for name in self.editors:
            if name in self._raw:
                out[name] = self._raw[name]
                continue
            value = self._current(name)
            if name in self._given or value != self.defaults[name]:
                out[name] = value
        return out


class InvalidOutline(QWidget):
    """A red frame painted over a widget that holds a bad value.

    A child of the marked widget that covers it, transparent to the mouse, painted last:
    the widget keeps its native look (spin-box arrows, combo arrows) and its size, unlike a
    style-sheet border, which switches the widget to style-sheet rendering.
    """

    COLOUR = QColor(208, 49, 45)

    def __init__(self, target: QWidget) -> None:
        super().__init__(target)
        self.setObjectName("invalidOutline")
        self.setAttribute(Qt.WidgetAttribute.WA_TransparentForMouseEvents)
        self.setAttribute(Qt.WidgetAttribute.WA_NoSystemBackground)
        self.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        self._target = target
        target.installEventFilter(self)
        self.setGeometry(target.rect())
        self.raise_()
        self.show()

    def eventFilter(self, obj: QObject, event: QEvent) -> bool:  # noqa: N802 - Qt override
        if obj is self._target and event.type() in (QEvent.Type.Resize, QEvent.Type.Show):
            self.setGeometry(self._target.rect())
            self.raise_()
        elif obj is self._target and event.type() == QEvent.Type.ChildAdded:
            self.raise_()
        return False

    def paintEvent(self, event) -> None:  # noqa: N802 - Qt override
        painter = QPainter(self)
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        pen = QPen(self.COLOUR, 2)
        painter.setPen(pen)
        painter.setBrush(Qt.BrushStyle.NoBrush)
        painter.drawRoundedRect(QRectF(self.rect()).adjusted(1, 1, -1, -1), 3, 3)
        painter.end()

    def remove(self) -> None:
        self._target.removeEventFilter(self)
        self.hide()
        self.deleteLater()


def mark_invalid(widget: QWidget, on: bool) -> None:
    """Outline ``widget`` in red (``on``) or remove the outline; sets its ``invalid`` property too."""
    widget.setProperty("invalid", bool(on))
    outline = widget.findChild(InvalidOutline, "invalidOutline", Qt.FindChildOption.FindDirectChildrenOnly)
    if on and outline is None:
        InvalidOutline(widget)
    elif not on and outline is not None:
        outline.setObjectName("")
        outline.remove()


def is_outlined(widget: QWidget) -> bool:
    outline = widget.findChild(InvalidOutline, "invalidOutline", Qt.FindChildOption.FindDirectChildrenOnly)
    return outline is not None and outline.isVisible()
