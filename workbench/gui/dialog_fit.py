"""Dialog sizes and buttons that suit small screens and the keyboard.

``resize_within_screen``: a dialog asks for a comfortable size but never more than the
screen it is on can show (a 900 x 800 results dialog put its buttons below a 768-pixel
screen). ``no_enter_default``: a dialog whose OK starts long work (a sweep of fifteen
trainings, an export) must not start it from an Enter typed in one of its fields.
"""

from __future__ import annotations

from PySide6.QtCore import QEvent, QObject, Qt
from PySide6.QtGui import QGuiApplication
from PySide6.QtWidgets import QApplication, QDialog, QPushButton, QWidget

SCREEN_MARGIN = (40, 80)  # room left for the window frame and a panel (px)


def resize_within_screen(widget: QWidget, width: int, height: int) -> None:
    """``widget.resize(width, height)``, each side cut to the available screen area."""
    screen = widget.screen() or QGuiApplication.primaryScreen()
    if screen is not None:
        area = screen.availableGeometry()
        width = min(width, max(200, area.width() - SCREEN_MARGIN[0]))
        height = min(height, max(150, area.height() - SCREEN_MARGIN[1]))
    widget.resize(width, height)


class _NoEnter(QObject):
    def eventFilter(self, obj, event) -> bool:  # noqa: N802 - Qt override
        if event.type() == QEvent.Type.KeyPress and event.key() in (Qt.Key.Key_Return, Qt.Key.Key_Enter):
            # a focused button still takes Enter: the user chose it
            return not isinstance(QApplication.focusWidget(), QPushButton)
        return False


def no_enter_default(dialog: QDialog) -> None:
    """Enter typed in a field of ``dialog`` presses no button (QDialogButtonBox makes its
    OK the default when shown, whatever autoDefault says): OK needs a click, Space, or
    Enter on the focused button itself."""
    dialog._no_enter = _NoEnter(dialog)  # kept alive with the dialog
    dialog.installEventFilter(dialog._no_enter)
