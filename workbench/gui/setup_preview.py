"""A strip of sample scenes with their ground truth (boxes in class colours, optional masks)."""

from __future__ import annotations

from typing import Any

import numpy as np
from PySide6.QtCore import QEvent, QPointF, QRectF, Qt, Signal
from PySide6.QtGui import QColor, QFont, QHelpEvent, QImage, QPainter, QPen, QPixmap
from PySide6.QtWidgets import QCheckBox, QHBoxLayout, QLabel, QSizePolicy, QToolTip, QVBoxLayout, QWidget

THUMB = 84  # initial height of the strip; thumbnails follow the width


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
    if show_mask and sample.get("mask") is not None:
        mask = np.asarray(sample["mask"])
        blended = image.astype(np.float32)
        for cls in np.unique(mask):
            if cls == 0 or cls == 255:  # background; unlabelled or padding
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
    for box, label in zip(
        np.asarray(sample["boxes"]).reshape(-1, 4), np.asarray(sample["labels"]).reshape(-1), strict=False
    ):
        x0, y0, x1, y1 = (float(v) for v in box)
        painter.setPen(QPen(QColor(*_palette_colour(int(label))), 1.6))
        painter.setBrush(Qt.BrushStyle.NoBrush)
        painter.drawRect(QRectF(x0 * sx, y0 * sy, (x1 - x0) * sx, (y1 - y0) * sy))
    scene = sample.get("scene_class")
    names = sample.get("class_names") or ()
    if scene is not None and not len(np.asarray(sample["boxes"])) and 0 <= int(scene) < len(names):
        # an image-level label (class folders): its name in the corner
        text = str(names[int(scene)])
        rect = QRectF(
            2, 2, min(scaled.width() / dpr - 4, painter.fontMetrics().horizontalAdvance(text) + 6), 15
        )
        painter.fillRect(rect, QColor(0, 0, 0, 150))
        painter.setPen(QColor(255, 255, 255))
        painter.drawText(rect, Qt.AlignmentFlag.AlignCenter, text)
    painter.end()
    return pixmap


class _Strip(QWidget):
    """The thumbnails side by side, as large as the width allows (48..112 px)."""

    GAP = 4

    def __init__(self, columns: int, rows: int = 1, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.columns, self.rows = columns, rows
        self.count = columns * rows
        self.samples: list[dict[str, Any]] = []
        self.show_mask = False
        self.message = ""
        self._pixmaps: list[QPixmap] = []
        self._rendered_for: tuple | None = None
        self.version = 0  # bumped with every new set of samples
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Fixed)
        self.setMinimumWidth(columns * 48 + (columns - 1) * self.GAP)
        self.setFixedHeight(self._height(THUMB))

    def thumb(self) -> int:
        side = (self.width() - (self.columns - 1) * self.GAP) // self.columns
        return int(max(48, min(112, side)))

    def _height(self, thumb: int) -> int:
        return self.rows * thumb + (self.rows - 1) * self.GAP

    def resizeEvent(self, event) -> None:  # noqa: N802 - Qt override
        super().resizeEvent(event)
        if self.height() != self._height(self.thumb()):
            self.setFixedHeight(self._height(self.thumb()))

    def pixmaps(self) -> list[QPixmap]:
        self._render()
        return list(self._pixmaps)

    def _render(self) -> None:
        key = (self.thumb(), self.show_mask, self.version, self.devicePixelRatioF())
        if key == self._rendered_for:
            return
        self._rendered_for = key
        size, dpr = self.thumb(), self.devicePixelRatioF()
        self._pixmaps = [render_sample(s, size, self.show_mask, dpr) for s in self.samples[: self.count]]

    def rects(self) -> list[QRectF]:
        t = self.thumb()
        step = t + self.GAP
        return [
            QRectF((i % self.columns) * step, (i // self.columns) * step, t, t) for i in range(self.count)
        ]

    def paintEvent(self, event) -> None:  # noqa: N802 - Qt override
        p = QPainter(self)
        pal = self.palette()
        rects = self.rects()
        if not self.samples:
            p.setPen(pal.color(pal.ColorRole.Mid))
            for r in rects:
                p.drawRect(r.adjusted(0.5, 0.5, -0.5, -0.5))
            p.setPen(pal.color(pal.ColorRole.PlaceholderText))
            p.drawText(
                QRectF(0, 0, self.width(), self.height()),
                Qt.AlignmentFlag.AlignCenter | Qt.TextFlag.TextWordWrap,
                self.message,
            )
            return
        self._render()
        for r, pm in zip(rects, self._pixmaps, strict=False):
            p.drawPixmap(r.topLeft(), pm)
            p.setPen(pal.color(pal.ColorRole.Mid))
            p.drawRect(r.adjusted(0.5, 0.5, -0.5, -0.5))

    def event(self, event: QEvent) -> bool:
        if event.type() == QEvent.Type.ToolTip and isinstance(event, QHelpEvent):
            for i, r in enumerate(self.rects()):
                if i < len(self.samples) and r.contains(QPointF(event.pos())):
                    QToolTip.showText(event.globalPos(), _describe(self.samples[i], i), self)
                    return True
            QToolTip.hideText()
            return True
        return super().event(event)


def _describe(sample: dict[str, Any], index: int) -> str:
    names = sample.get("class_names", ())
    objects = [
        names[int(c)] if 0 <= int(c) < len(names) else str(int(c))
        for c in np.asarray(sample["labels"]).reshape(-1)
    ]
    return f"val image {index}: " + (", ".join(objects) or "no objects")


class SamplePreview(QWidget):
    """A grid of validation images with their ground truth (``columns`` x ``rows``);
    ``set_samples`` redraws them."""

    maskToggled = Signal(bool)

    def __init__(self, columns: int = 4, rows: int = 2, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.strip = _Strip(columns, rows)
        self.mask_box = QCheckBox("show masks")
        self.mask_box.setToolTip("draw the segmentation masks over the preview images")
        self.mask_box.toggled.connect(self._on_mask)
        self.note = QLabel()
        small = QFont(self.note.font())
        small.setPointSizeF(max(7.0, small.pointSizeF() * 0.92))
        self.note.setFont(small)
        bottom = QHBoxLayout()
        bottom.setContentsMargins(0, 0, 0, 0)
        bottom.addWidget(self.mask_box)
        bottom.addStretch(1)
        bottom.addWidget(self.note)
        lay = QVBoxLayout(self)
        lay.setContentsMargins(0, 0, 0, 0)
        lay.setSpacing(3)
        lay.addWidget(self.strip)
        lay.addLayout(bottom)
        self.set_message("Loading PyTorch…")

    def _on_mask(self, on: bool) -> None:
        self.strip.show_mask = on
        self.strip.update()
        self.maskToggled.emit(on)

    def set_message(self, text: str) -> None:
        """Replace the images by a message (before the core loads, or on an error)."""
        self.strip.samples = []
        self.strip.message = text
        self.strip.update()
        self.note.setText("")

    def set_busy(self, busy: bool) -> None:
        self.note.setText("generating…" if busy else self._summary())

    def _summary(self) -> str:
        if not self.strip.samples:
            return ""
        h, w = np.asarray(self.strip.samples[0]["image"]).shape[:2]
        return f"val images, {w}×{h} px"

    def set_samples(self, samples: list[dict[str, Any]]) -> None:
        self.strip.samples = list(samples)
        self.strip.version += 1
        self.strip.update()
        self.note.setText(self._summary())

    def pixmaps(self) -> list[QPixmap]:
        """The pixmaps shown now (for tests)."""
        return self.strip.pixmaps() if self.strip.samples else []
