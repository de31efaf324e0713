"""Names for screen readers: every control that takes the focus says what it is.

A control without an accessible name is read out by its value ("small_cnn", "0.60") or
not at all (an icon button, a slider). Most controls sit beside a label that says what
they are; this gives each unnamed one the text of that label (a QLabel whose buddy it is,
or its QFormLayout label), else the first line of its tooltip, else its placeholder.
Forms add rows later (tasks, a method's parameters), so ``name_unnamed`` is run again
after they change; a name set by hand is never replaced.
"""

from __future__ import annotations

from PySide6.QtCore import QObject, Qt
from PySide6.QtWidgets import (
    QAbstractButton,
    QApplication,
    QDialog,
    QFormLayout,
    QLabel,
    QLayout,
    QLineEdit,
    QTabBar,
    QWidget,
)


def _label_text(label: QLabel) -> str:
    return " ".join(label.text().replace("&", "").split()).rstrip(":")


def _form_label(widget: QWidget) -> str:
    """The label of ``widget``'s form row, also where the row's field is a container of
    several controls (a path field and its "File…" button): the field gets the label, not
    its tooltip's help text."""
    for field in (widget, widget.parentWidget()):
        parent = field.parentWidget() if field is not None else None
        for form in _forms(parent.layout() if parent is not None else None):
            label = form.labelForField(field)
            if isinstance(label, QLabel):
                return _label_text(label)
    return ""


def _forms(layout: QLayout | None) -> list[QFormLayout]:
    """The form layouts in ``layout`` and the layouts nested in it (a section's form sits
    inside its box layout)."""
    if layout is None:
        return []
    found = [layout] if isinstance(layout, QFormLayout) else []
    for i in range(layout.count()):
        child = layout.itemAt(i).layout()
        if child is not None:
            found += _forms(child)
    return found


def accessible_name_for(widget: QWidget, buddies: dict[int, str]) -> str:
    """The name a screen reader should give ``widget``: its label's text, else its
    tooltip's first line, else its placeholder; "" when nothing says what it is."""
    name = buddies.get(id(widget)) or _form_label(widget)
    if name:
        return name
    if isinstance(widget, QAbstractButton) and widget.text().strip(" .…&"):
        return ""  # a button with words is read by them
    tip = widget.toolTip().strip()
    if tip:
        return tip.splitlines()[0][:120]
    if isinstance(widget, QLineEdit) and widget.placeholderText():
        return widget.placeholderText()
    return ""


def name_unnamed(root: QWidget) -> int:
    """Give every focusable control under ``root`` without an accessible name the name
    ``accessible_name_for`` finds; the number named."""
    buddies = {
        id(label.buddy()): _label_text(label)
        for label in root.findChildren(QLabel)
        if label.buddy() is not None
    }
    named = 0
    for widget in root.findChildren(QWidget):
        if not widget.focusPolicy() & Qt.FocusPolicy.TabFocus or widget.accessibleName():
            continue
        if isinstance(widget, QLabel) or widget.focusProxy() is not None:
            continue  # a label is read by its text; a spin box's line edit by its spin box
        name = accessible_name_for(widget, buddies)
        if name:
            widget.setAccessibleName(name)
            named += 1
    return named


def unnamed_controls(root: QWidget) -> list[QWidget]:
    """Focusable, shown controls under ``root`` that a screen reader could not name (tests)."""
    out = []
    for widget in root.findChildren(QWidget):
        if not widget.focusPolicy() & Qt.FocusPolicy.TabFocus or not widget.isVisible():
            continue
        if (
            isinstance(widget, (QLabel, QTabBar))
            or widget.focusProxy() is not None
            or widget.accessibleName()
        ):
            continue  # a label is read by its text, a tab bar by its tabs' texts
        if isinstance(widget, QAbstractButton) and widget.text().strip(" .…&"):
            continue
        out.append(widget)
    return out


class DialogNamer(QObject):
    """Names the controls of every dialog as the focus enters it (the sweep and export
    dialogs, Qt's own file dialogs), before Qt tells a screen reader which control has the
    focus; the main window names its own. Connected to ``QApplication.focusChanged``: it
    runs once per focus change, where an application-wide event filter ran for every event
    of the app (5,000 while the window first showed)."""

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        app = QApplication.instance()
        if isinstance(app, QApplication):
            app.focusChanged.connect(self._focus_changed)

    def _focus_changed(self, _old: QWidget | None, new: QWidget | None) -> None:
        window = new.window() if new is not None else None
        if isinstance(window, QDialog):
            name_unnamed(window)  # again each time: a file dialog adds controls as it browses
