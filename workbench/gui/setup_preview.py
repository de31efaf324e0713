"""A strip of sample scenes with their ground truth (boxes in class colours, optional masks)."""

from __future__ import annotations

from typing import Any

import numpy as np
from PySide6.QtCore import QRectF, Qt, Signal
from PySide6.QtGui import QColor, QFont, QImage, QPainter, QPen, QPixmap
from PySide6.QtWidgets import QCheckBox, QGridLayout, QHBoxLayout, QLabel, QSizePolicy, QVBoxLayout, QWidget

THUMB = 84  # logical pixels per preview


def _palette_colour(class_id: int) -> tuple[int, int, int]:
    from workbench.tasks.drawing import class_colour  # imports torch via workbench.tasks

    return class_colour(class_id)


def _qimage(rgb: np.ndarray) -> QImage:
    rgb = np.ascontiguousarray(rgb, dtype=np.uint8)
    h, w, _ = rgb.shape
    return QImage(rgb.data, w, h, 3 * w, QImage.Format.Format_RGB888).copy()


def render_sample(sample: dict[str, Any], size: int, show_mask: bool, dpr: float = 1.0) -> QPixmap:
    """The scene scaled to ``size`` logical pixels with its boxes (and mask) drawn on top."""
    image = np.asarray(sample["image"])
    h, w = image.shape[:2]
    if show_mask:
        mask = np.asarray(sample["mask"])
        blended = image.astype(np.float32)
        for cls in np.unique(mask):
            if cls == 0:
                continue
            colour = np.array(_palette_colour(int(cls) - 1), np.float32)
            sel = mask == cls
            blended[sel] = 0.45 * blended[sel] + 0.55 * colour
        image = blended.clip(0, 255).astype(np.uint8)
    px = max(1, int(round(size * dpr)))
    scaled = _qimage(image).scaled(
        px, px, Qt.AspectRatioMode.KeepAspectRatio, Qt.TransformationMode.SmoothTransformation
    )
    pixmap = QPixmap.fromImage(scaled)
    pixmap.setDevicePixelRatio(dpr)
    painter = QPainter(pixmap)
    painter.setRenderHint(QPainter.RenderHint.Antialiasing)
    sx = scaled.width() / dpr / w
    sy = scaled.height() / dpr / h
    for box, label in zip(np.asarray(sample["boxes"]).reshape(-1, 4), np.asarray(sample["labels"]).reshape(-1), strict=False):
        x0, y0, x1, y1 = (float(v) for v in box)
        painter.setPen(QPen(QColor(*_palette_colour(int(label))), 1.6))
        painter.setBrush(Qt.BrushStyle.NoBrush)
        painter.drawRect(QRectF(x0 * sx, y0 * sy, (x1 - x0) * sx, (y1 - y0) * sy))
    painter.end()
    return pixmap


class SamplePreview(QWidget):
    """Four validation scenes with ground truth; ``set_samples`` redraws them."""

    maskToggled = Signal(bool)

    def __init__(self, count: int = 4, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._samples: list[dict[str, Any]] = []
        self._labels: list[QLabel] = []
        grid = QGridLayout()
        grid.setContentsMargins(0, 0, 0, 0)
        grid.setHorizontalSpacing(4)
        for i in range(count):
            label = QLabel()
            label.setFixedSize(THUMB, THUMB)
            label.setAlignment(Qt.AlignmentFlag.AlignCenter)
            label.setFrameShape(QLabel.Shape.StyledPanel)
            self._labels.append(label)
            grid.addWidget(label, 0, i)
        grid.setColumnStretch(count, 1)
        self.mask_box = QCheckBox("show masks")
        self.mask_box.toggled.connect(self._redraw)
        self.mask_box.toggled.connect(self.maskToggled)
        self.note = QLabel()
        self.note.setWordWrap(True)
        small = QFont(self.note.font())
        small.setPointSizeF(max(7.0, small.pointSizeF() * 0.9))
        self.note.setFont(small)
        self.note.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Preferred)
        bottom = QHBoxLayout()
        bottom.setContentsMargins(0, 0, 0, 0)
        bottom.addWidget(self.mask_box)
        bottom.addWidget(self.note, 1)
        lay = QVBoxLayout(self)
        lay.setContentsMargins(0, 0, 0, 0)
        lay.setSpacing(3)
        lay.addLayout(grid)
        lay.addLayout(bottom)
        self.set_message("Loading PyTorch…")

    def set_message(self, text: str) -> None:
        """Replace the images by a message (before the core loads, or on an error)."""
        self._samples = []
        for i, label in enumerate(self._labels):
            label.clear()
            label.setText(text if i == 0 else "")
            label.setWordWrap(True)
        self.note.setText("")

    def set_busy(self, busy: bool) -> None:
        self.note.setText("generating…" if busy else self._summary())

    def _summary(self) -> str:
        if not self._samples:
            return ""
        h, w = np.asarray(self._samples[0]["image"]).shape[:2]
        return f"val scenes, {w}×{h} px"

    def set_samples(self, samples: list[dict[str, Any]]) -> None:
        self._samples = list(samples)
        self._redraw()
        self.note.setText(self._summary())

    def _redraw(self) -> None:
        if not self._samples:
            return
        dpr = self.devicePixelRatioF()
        for i, label in enumerate(self._labels):
            if i < len(self._samples):
                s = self._samples[i]
                label.setPixmap(render_sample(s, THUMB - 4, self.mask_box.isChecked(), dpr))
                names = s.get("class_names", ())
                objects = [
                    names[int(c)] if 0 <= int(c) < len(names) else str(int(c)) for c in np.asarray(s["labels"]).reshape(-1)
                ]
                label.setToolTip(f"val scene {i}: " + (", ".join(objects) or "no objects"))
            else:
                label.clear()

    def pixmaps(self) -> list[QPixmap]:
        """The pixmaps shown now (for tests)."""
        out = []
        for label in self._labels:
            pm = label.pixmap()
            if pm is not None and not pm.isNull():
                out.append(pm)
        return out
