"""The large view of one image with its predictions (and truth), text lines included."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

import numpy as np
from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QKeySequence, QPixmap, QShortcut
from PySide6.QtWidgets import (
    QComboBox,
    QDialog,
    QFileDialog,
    QHBoxLayout,
    QLabel,
    QMessageBox,
    QPushButton,
    QScrollArea,
    QVBoxLayout,
    QWidget,
)

from workbench.gui.spec_renderer import SpecRenderer

if TYPE_CHECKING:  # workbench.tasks' package import loads torch; only the types are needed
    from workbench.tasks.drawing import DrawSpec

LARGE_VIEW_TARGET_PX = 720  # the longer side of the shown image, at most 4x its size
ZOOMS = (1.0, 2.0, 3.0, 4.0, 6.0, 8.0)


def large_scale(height: int, width: int) -> float:
    """3-4x for small images, less for large ones, never below 1."""
    return float(min(4.0, max(1.0, LARGE_VIEW_TARGET_PX / max(1, height, width))))


class ImageViewDialog(QDialog):
    """A non-modal window showing one image at 3-4x with all its specs, detailed."""

    navigate = Signal(int)  # -1 previous, +1 next (the gallery answers with show_image)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Prediction")
        self.setModal(False)
        self._image: np.ndarray | None = None
        self._specs: Sequence[DrawSpec] = ()
        self._renderer = SpecRenderer()

        self.title = QLabel("")
        self.title.setObjectName("viewTitle")  # bold (workbench.qss)
        font = self.title.font()
        font.setBold(True)
        self.title.setFont(font)
        self.title.setWordWrap(True)
        self.picture = QLabel()
        self.picture.setAlignment(Qt.AlignmentFlag.AlignCenter)
        scroll = QScrollArea()
        scroll.setWidgetResizable(True)
        scroll.setWidget(self.picture)
        scroll.setAlignment(Qt.AlignmentFlag.AlignCenter)

        self.prev_button = QPushButton("◀ Previous")
        self.next_button = QPushButton("Next ▶")
        self.prev_button.clicked.connect(lambda: self.navigate.emit(-1))
        self.next_button.clicked.connect(lambda: self.navigate.emit(1))
        self.zoom_combo = QComboBox()
        for factor in ZOOMS:
            self.zoom_combo.addItem(f"{factor:g}×", factor)
        self.zoom_combo.setToolTip("Zoom (3-4× by default)")
        self.zoom_combo.currentIndexChanged.connect(self._render)
        self._zoom: float | None = None  # None: automatic (large_scale)
        self.save_button = QPushButton("Save PNG…")
        self.save_button.clicked.connect(self._save)
        close = QPushButton("Close")
        close.clicked.connect(self.close)
        buttons = QHBoxLayout()
        buttons.addWidget(self.prev_button)
        buttons.addWidget(self.next_button)
        buttons.addStretch(1)
        buttons.addWidget(QLabel("Zoom"))
        buttons.addWidget(self.zoom_combo)
        buttons.addWidget(self.save_button)
        buttons.addWidget(close)
        QShortcut(QKeySequence(Qt.Key.Key_Left), self, activated=lambda: self.navigate.emit(-1))
        QShortcut(QKeySequence(Qt.Key.Key_Right), self, activated=lambda: self.navigate.emit(1))

        layout = QVBoxLayout(self)
        layout.addWidget(self.title)
        layout.addWidget(scroll, 1)
        layout.addLayout(buttons)

    def show_image(
        self,
        title: str,
        image: np.ndarray,
        specs: Sequence[DrawSpec],
        renderer: SpecRenderer,
        can_navigate: bool = True,
    ) -> None:
        """Render ``image`` with ``specs`` (detailed, 3-4x) and bring the window up."""
        self._image = image
        self._specs = tuple(specs)
        self._renderer = renderer.with_options(detailed=True, show_text=True, font_px=0)
        first = not self.isVisible()
        if first:  # a fresh window starts at the automatic zoom; later images keep the user's
            h, w = image.shape[:2]
            auto = large_scale(h, w)
            index = min(range(len(ZOOMS)), key=lambda i: abs(ZOOMS[i] - auto))
            self.zoom_combo.blockSignals(True)
            self.zoom_combo.setCurrentIndex(index)
            self.zoom_combo.blockSignals(False)
        self.title.setText(title)
        self.prev_button.setVisible(can_navigate)
        self.next_button.setVisible(can_navigate)
        self._render()
        if first:
            pixmap = self.picture.pixmap()
            self.resize(min(max(pixmap.width() + 60, 520), 1400), min(pixmap.height() + 110, 1000))
            self.show()
        self.raise_()

    def scale(self) -> float:
        return float(self.zoom_combo.currentData())

    def _render(self, *_: object) -> None:
        if self._image is None:
            return
        try:
            pixmap = self._renderer.render_pixmap(self._image, self._specs, scale=self.scale())
        except Exception as exc:  # noqa: BLE001 - specs come from task kinds' draw (extension code)
            # the bare image and the reason in the title, not a traceback from inside a slot
            pixmap = self._renderer.render_pixmap(self._image, (), scale=self.scale())
            title = self.title.text().split(" · ⚠ ")[0]
            self.title.setText(f"{title} · ⚠ the drawing could not be painted: {type(exc).__name__}: {exc}")
        self.picture.setPixmap(pixmap)

    def pixmap(self) -> QPixmap:
        return self.picture.pixmap()

    def _save(self) -> None:
        if self._image is None:
            return
        path, _ = QFileDialog.getSaveFileName(self, "Save image", "prediction.png", "PNG image (*.png)")
        if not path:
            return
        if not self.picture.pixmap().save(path, "PNG"):
            QMessageBox.warning(self, "Save failed", f"Could not write {path}.")
