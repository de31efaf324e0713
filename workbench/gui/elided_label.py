"""A one-line label that shortens its text with "…" rather than widening its window."""

from __future__ import annotations

import os
import re

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QLabel, QSizePolicy, QWidget

# The stamp ``RunStore.create`` ends a run folder's name with (and what follows it)
_RUN_STAMP = re.compile(r"-\d{8}-\d{6}(?:-\d+)?(?: \(.*\))?$")


class ElidedLabel(QLabel):
    """A one-line label that shortens its text with "…" instead of demanding its full width.

    It keeps room for up to ``keep_chars`` average characters of its text, so that in a
    narrow window the controls beside it wrap before the name shrinks to "sh…00".
    """

    def __init__(
        self, text: str = "", parent: QWidget | None = None, keep_chars: int = 0, path: bool = False
    ) -> None:
        super().__init__(parent)
        self._full = ""
        self._keep_chars = keep_chars
        self._path = path  # a path: its last part kept whole where it fits, the rest shortened
        self.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)
        self.setMinimumWidth(60)
        self.setText(text)

    def setText(self, text: str) -> None:  # noqa: N802 - Qt override
        self._full = text
        self.setToolTip(text)
        metrics = self.fontMetrics()
        keep = min(metrics.horizontalAdvance(text) + 4, metrics.averageCharWidth() * self._keep_chars)
        self.setMinimumWidth(max(60, keep))
        self._elide()

    def full_text(self) -> str:
        return self._full

    def resizeEvent(self, event) -> None:  # noqa: N802 - Qt override
        super().resizeEvent(event)
        self._elide()

    def _elide(self) -> None:
        width = max(10, self.width() - 2)
        metrics = self.fontMetrics()
        if self._path:
            head, sep, last = self._full.rpartition(os.sep)
            room = width - metrics.horizontalAdvance(sep + last)
            if sep and room > metrics.horizontalAdvance("Folder: /…"):
                super().setText(metrics.elidedText(head, Qt.TextElideMode.ElideMiddle, room) + sep + last)
                return
        if _RUN_STAMP.search(self._full):
            # a run folder's name: the name first, then as much of its start time as fits
            # (eliding the middle cut "cls-count-…201-094049", the name and the date halved)
            super().setText(metrics.elidedText(self._full, Qt.TextElideMode.ElideRight, width))
            return
        super().setText(metrics.elidedText(self._full, Qt.TextElideMode.ElideMiddle, width))
