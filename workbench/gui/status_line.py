"""The main window's status bar: a message longer than its room ends in "…", whole in the tooltip.

QStatusBar clips a long message at the first permanent widget, mid-word and without a
mark: "Showing run six-tasks-…-114040 (finis" lost the run's state, the part that
mattered. Here a message is shortened to the room left of the permanent widgets: a name
it holds (``show_named``: a run's folder name, up to 100 characters) first, in its
middle, then the message's end, marked "…"; the whole text is the bar's tooltip. It is
shortened again when the bar or a permanent widget changes size (a label's text grew),
keeping what is left of the message's timeout.
"""

from __future__ import annotations

import time

from PySide6.QtCore import QEvent, QObject, Qt
from PySide6.QtGui import QResizeEvent, QShowEvent
from PySide6.QtWidgets import QStatusBar, QWidget

_LEFT_PX = 6  # QStatusBar draws its message this far from the left edge
_GAP_PX = 8  # kept free before the first permanent widget
_NAME_MIN_CHARS = 12  # a name is not shortened below this many characters ("abcde…vwxyz")


class StatusLine(QStatusBar):
    """``QStatusBar`` whose messages are shortened, marked "…", to the room they have."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._parts = ("", "", "")  # the message: text before a name, the name, text after
        self._deadline: float | None = None  # time.monotonic() when it times out; None: never
        self._permanent: list[QWidget] = []
        self.messageChanged.connect(self._on_message_changed)

    def addPermanentWidget(self, widget: QWidget, stretch: int = 0) -> None:  # noqa: N802 - Qt API
        self._permanent.append(widget)
        widget.installEventFilter(self)
        super().addPermanentWidget(widget, stretch)

    def full_message(self) -> str:
        """The message shown now, whole (``currentMessage()`` may be shortened)."""
        return "".join(self._parts) if self.currentMessage() else ""

    def message_room(self) -> int:
        """Pixels the message may take: from its left margin to the first permanent widget shown."""
        lefts = [w.geometry().left() for w in self._permanent if w.isVisible()]
        right = min(lefts, default=self.width())
        return max(0, right - _LEFT_PX - _GAP_PX)

    def showMessage(self, text: str, timeout: int = 0) -> None:  # noqa: N802 - Qt API
        self.show_named(text, "", "", timeout)

    def show_named(self, before: str, name: str, after: str, timeout: int = 0) -> None:
        """Show ``before + name + after``; when it does not fit, ``name`` is shortened in its
        middle first (to no fewer than 12 characters), then the message's end. ``timeout``
        in ms; 0: until replaced."""
        self._parts = (before, name, after)
        self._deadline = time.monotonic() + timeout / 1000 if timeout > 0 else None
        self._show(timeout)

    def _shortened(self) -> str:
        before, name, after = self._parts
        whole = before + name + after
        if not self.isVisible():  # a hidden bar has no width yet: shortened when shown
            return whole
        metrics = self.fontMetrics()
        room = self.message_room()
        if metrics.horizontalAdvance(whole) <= room:
            return whole
        if name:
            rest = metrics.horizontalAdvance(before + after)
            floor = metrics.horizontalAdvance(name[:_NAME_MIN_CHARS])
            name = metrics.elidedText(name, Qt.TextElideMode.ElideMiddle, max(room - rest, floor))
        return metrics.elidedText(before + name + after, Qt.TextElideMode.ElideRight, room)

    def _show(self, timeout: int) -> None:
        shown = self._shortened()
        whole = "".join(self._parts)
        self.setToolTip(whole if shown != whole else "")
        super().showMessage(shown, timeout)

    def _on_message_changed(self, message: str) -> None:
        if not message:  # cleared or timed out
            self._parts = ("", "", "")
            self._deadline = None
            self.setToolTip("")

    def resizeEvent(self, event: QResizeEvent) -> None:  # noqa: N802 - Qt override
        super().resizeEvent(event)
        self._reshow()

    def showEvent(self, event: QShowEvent) -> None:  # noqa: N802 - Qt override
        super().showEvent(event)
        self._reshow()

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:  # noqa: N802 - Qt override
        if event.type() in (QEvent.Type.Move, QEvent.Type.Resize, QEvent.Type.Show, QEvent.Type.Hide):
            self._reshow()
        return False

    def _reshow(self) -> None:
        if not any(self._parts) or not self.currentMessage():
            return
        left = 0
        if self._deadline is not None:
            left = int((self._deadline - time.monotonic()) * 1000)
            if left <= 0:
                return  # its timer clears it
        self._show(left)
