"""What a number typed into a spin box means, and saying so when it cannot be kept.

Qt's spin boxes drop a keystroke they cannot use and, on leaving the field, quietly go
back to the last valid value: "0,5" became 5 (the comma dropped), "-5" became 5 (the minus
dropped), "15" for a learning rate of at most 1 became the old value, with nothing said.
Here a decimal comma is a decimal point in float fields, anything that looks like a number
being typed is allowed to stand while typing, and on leaving the field (or Enter) a value
that cannot be kept is refused aloud: a tooltip at the field names the typed text, the
reason and the value kept, and the box's ``refused`` signal carries the same line, as do
the callbacks given to ``on_refused`` (the main window's status bar: spin boxes are made in
many places, task rows and method forms among them).
"""

from __future__ import annotations

import re
from collections.abc import Callable

from PySide6.QtCore import QPoint, QRect
from PySide6.QtGui import QValidator
from PySide6.QtWidgets import QAbstractSpinBox, QToolTip

_listeners: list[Callable[[str], None]] = []


def on_refused(callback: Callable[[str], None]) -> Callable[[], None]:
    """Call ``callback(line)`` for every refused entry in any spin box; returns the undo."""
    _listeners.append(callback)
    return lambda: _listeners.remove(callback) if callback in _listeners else None


# characters of a number being typed: digits, sign, point or comma, exponent
_NUMBER_CHARS = re.compile(r"[0-9+\-.,eE]*")
_WHOLE = re.compile(r"[+-]?\d+")
# one to three digits (not starting with 0), a comma, three digits: a decimal comma or a
# thousands separator? ("0,005" is not ambiguous: no thousands group starts with 0)
_THOUSANDS = re.compile(r"[+-]?[1-9]\d{0,2},\d{3}")


def parse_typed(text: str, integer: bool) -> float | int | None:
    """The number ``text`` means, or None. Floats take one decimal comma for a point
    ("0,5" is 0.5); whole numbers take neither (a thousands separator is ambiguous)."""
    raw = text.strip()
    if integer:
        return int(raw) if _WHOLE.fullmatch(raw) else None
    if _THOUSANDS.fullmatch(raw):  # "1,000": a thousand in English, 1.0 with a decimal comma
        return None
    if raw.count(",") == 1 and "." not in raw:
        raw = raw.replace(",", ".")
    try:
        value = float(raw)
    except ValueError:
        return None
    return value if value == value and abs(value) != float("inf") else None


# what a float field reads as a number that is not finite: kept as typed until the field is
# left, then refused naming it (the letters were dropped as typed: "nan" read as empty)
_NOT_FINITE = ("nan", "inf", "+inf", "-inf", "infinity", "+infinity", "-infinity")


def in_range(
    value: float, minimum: float, maximum: float, open_low: bool = False, open_high: bool = False
) -> bool:
    """``minimum <= value <= maximum``, an end excluded where the field's limit is one
    (a learning rate > 0: 0 is out)."""
    above = value > minimum if open_low else value >= minimum
    below = value < maximum if open_high else value <= maximum
    return above and below


def typing_state(
    raw: str,
    value: float | int | None,
    minimum: float,
    maximum: float,
    open_low: bool = False,
    open_high: bool = False,
) -> QValidator.State:
    """Acceptable for a number in range; Intermediate for what may become one, or one out
    of range (refused aloud when the field is left); Invalid (the keystroke is dropped) for
    anything else, such as letters."""
    if value is not None:
        ok = in_range(value, minimum, maximum, open_low, open_high)
        return QValidator.State.Acceptable if ok else QValidator.State.Intermediate
    if _NUMBER_CHARS.fullmatch(raw) or any(word.startswith(raw.strip().lower()) for word in _NOT_FINITE):
        return QValidator.State.Intermediate
    return QValidator.State.Invalid


def refusal(
    raw: str,
    value: float | int | None,
    minimum: float,
    maximum: float,
    integer: bool,
    open_low: bool = False,
    open_high: bool = False,
) -> str:
    """Why ``raw`` cannot be kept (one phrase)."""
    if not raw.strip():
        return "a value is needed"
    if value is None:
        if not integer and raw.strip().lower() in _NOT_FINITE:
            return "not a finite number"
        if not integer and _THOUSANDS.fullmatch(raw.strip()):
            whole, part = raw.strip().split(",")
            return f"{whole}{part} or {whole}.{part}? write it without the comma"
        return "not a whole number" if integer else "not a number"
    if value < minimum or (open_low and value == minimum):
        return (
            f"must be above {_show(minimum, integer)}"
            if open_low
            else f"below the minimum {_show(minimum, integer)}"
        )
    if open_high and value == maximum:
        return f"must be below {_show(maximum, integer)}"
    return f"above the maximum {_show(maximum, integer)}"


def _show(limit: float, integer: bool) -> str:
    from workbench.config import format_bound  # plain Python

    return str(int(limit)) if integer else format_bound(limit)


class RefusesAloud:
    """Mixin for a QSpinBox or QDoubleSpinBox subclass that sets ``is_integer`` and defines
    ``refused = Signal(str)``: it reads typed text (``parse_typed``), judges it while typing
    (``typing_state``) and refuses aloud on leaving. A refused entry puts back the value the
    field had before this edit (keyboard tracking applied "1" on the way to "15"), not Qt's
    last valid prefix."""

    last_refusal = ""
    is_integer = False
    open_low = False  # the minimum itself is out (a limit declared as gt, not ge)
    open_high = False  # the maximum itself is out (lt)
    _before: float | int | None = None

    def _strip(self: QAbstractSpinBox, text: str) -> str:
        text = text.strip()
        suffix = self.suffix().strip()
        if suffix and text.endswith(suffix):
            text = text[: -len(suffix)].strip()
        return text

    def raw_text(self: QAbstractSpinBox) -> str:
        return self._strip(self.lineEdit().text())

    def typed_value(self, raw: str) -> float | int | None:
        return parse_typed(raw, integer=self.is_integer)

    def valueFromText(self: QAbstractSpinBox, text: str) -> float | int:  # noqa: N802 - Qt override
        raw = self._strip(text)
        if self.specialValueText() and raw == self.specialValueText():
            return self.minimum()
        value = self.typed_value(raw)
        return self.value() if value is None else value

    def validate(self: QAbstractSpinBox, text: str, pos: int) -> QValidator.State:
        raw = self._strip(text)
        special = self.specialValueText()
        if special and raw == special:
            return QValidator.State.Acceptable
        if special and special.startswith(raw) and raw:
            return QValidator.State.Intermediate
        return typing_state(
            raw, self.typed_value(raw), self.minimum(), self.maximum(), self.open_low, self.open_high
        )

    def _refused_line(self: QAbstractSpinBox) -> str:
        raw = self.raw_text()
        special = self.specialValueText()
        if special and raw == special:
            return ""
        value = self.typed_value(raw)
        if value is not None and in_range(
            value, self.minimum(), self.maximum(), self.open_low, self.open_high
        ):
            return ""
        before = self.value() if self._before is None else self._before
        kept = special if special and before == self.minimum() else self.textFromValue(before)
        shown = f"“{raw}”" if raw.strip() else "An empty field"
        why = refusal(
            raw, value, self.minimum(), self.maximum(), self.is_integer, self.open_low, self.open_high
        )
        return f"{shown}: {why}; kept {kept}"

    def _leave(self: QAbstractSpinBox, event, base) -> None:
        line = self._refused_line()
        base(event)  # Qt settles the text (its last valid prefix, when refused)
        if line:
            if self._before is not None:
                self.setValue(self._before)
            name = self.accessibleName() or self.toolTip().split(".")[0]
            self.last_refusal = f"{name}: {line}" if name else line
            QToolTip.showText(self.mapToGlobal(QPoint(0, self.height())), line, self, QRect(), 6000)
            self.refused.emit(self.last_refusal)
            for listener in list(_listeners):
                listener(self.last_refusal)
        self._before = self.value()

    def fixup(self, text: str) -> str:
        return text  # Qt's fixup drops thousands separators: "1,5" became 15

    def focusInEvent(self, event) -> None:  # noqa: N802 - Qt override
        self._before = self.value()
        super().focusInEvent(event)

    def focusOutEvent(self, event) -> None:  # noqa: N802 - Qt override
        self._leave(event, super().focusOutEvent)

    def keyPressEvent(self, event) -> None:  # noqa: N802 - Qt override
        from PySide6.QtCore import Qt

        if event.key() in (Qt.Key.Key_Return, Qt.Key.Key_Enter):
            self._leave(event, super().keyPressEvent)
        else:
            super().keyPressEvent(event)
