"""Render an image and its ``DrawSpec``s (workbench.tasks.drawing) with QPainter.

Generic on purpose: masks, boxes and text lines are drawn the same way whatever task
kind made them, so a new task kind needs no GUI code.

- masks: predicted masks as filled colour overlays (class 0 left clear) at ``mask_opacity``;
  ground-truth masks as class outlines, so both read at once;
- boxes: predictions solid in their colour with a filled "label score" tag; ground truth
  dashed; a box with an ``error`` gets a thicker pen and a red "!" badge (the error text
  joins the tag in ``detailed`` mode);
- texts: one line each in a band under the image, red with a cross when ``error``.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING

import numpy as np
from PySide6.QtCore import QPointF, QRect, QRectF, Qt
from PySide6.QtGui import QBrush, QColor, QFont, QFontMetrics, QImage, QPainter, QPen, QPixmap

if TYPE_CHECKING:  # workbench.tasks' package import loads torch; only the types are needed
    from workbench.tasks.drawing import DrawBox, DrawMask, DrawSpec


ERROR_COLOUR = QColor(211, 47, 47)
TEXT_COLOUR = QColor(33, 33, 33)
BAND_COLOUR = QColor(250, 250, 250)


@dataclass(frozen=True)
class RenderOptions:
    scale: float = 1.0
    show_truth: bool = True
    score_threshold: float = 0.0  # a box with a score below it is hidden
    mask_opacity: float = 0.45
    show_text: bool = True
    detailed: bool = False  # large view: error reasons in tags, truth labels, bigger font
    font_px: int = 0  # 0: chosen from the output size


def numpy_to_qimage(image: np.ndarray) -> QImage:
    """A QImage that owns a copy of a uint8 (H, W, 3) or (H, W) array."""
    array = np.asarray(image)
    if array.dtype != np.uint8:
        array = np.clip(array, 0, 255).astype(np.uint8)
    if array.ndim == 2:
        array = np.repeat(array[:, :, None], 3, axis=2)
    if array.ndim != 3 or array.shape[2] not in (3, 4):
        raise ValueError(f"expected an (H, W, 3) image, got shape {array.shape}")
    if array.shape[2] == 4:
        array = array[:, :, :3]
    array = np.ascontiguousarray(array)
    height, width = array.shape[:2]
    return QImage(array.data, width, height, 3 * width, QImage.Format.Format_RGB888).copy()


def box_visible(box: DrawBox, options: RenderOptions) -> bool:
    if box.truth and not options.show_truth:
        return False
    return not (box.score is not None and box.score < options.score_threshold)


def _nearest_resize(classes: np.ndarray, height: int, width: int) -> np.ndarray:
    rows = np.minimum((np.arange(height) + 0.5) * classes.shape[0] / height, classes.shape[0] - 1).astype(
        np.intp
    )
    cols = np.minimum((np.arange(width) + 0.5) * classes.shape[1] / width, classes.shape[1] - 1).astype(
        np.intp
    )
    return classes[rows][:, cols]


def _mask_overlay(mask: DrawMask, height: int, width: int, opacity: float) -> QImage | None:
    """RGBA overlay at display size: filled for predictions, outlines for ground truth."""
    classes = np.asarray(mask.classes)
    if classes.ndim != 2 or classes.size == 0:
        return None
    classes = _nearest_resize(classes.astype(np.int64), height, width)
    n_colours = max(1, len(mask.colours))
    lut = np.zeros((max(n_colours, int(classes.max()) + 1), 4), np.uint8)
    for i in range(1, len(lut)):
        r, g, b = mask.colours[i % n_colours] if mask.colours else (255, 0, 0)
        lut[i] = (r, g, b, 255)
    rgba = lut[np.clip(classes, 0, len(lut) - 1)]
    if mask.truth:
        edge = np.zeros(classes.shape, bool)
        edge[:-1, :] |= classes[:-1, :] != classes[1:, :]
        edge[1:, :] |= classes[1:, :] != classes[:-1, :]
        edge[:, :-1] |= classes[:, :-1] != classes[:, 1:]
        edge[:, 1:] |= classes[:, 1:] != classes[:, :-1]
        # the outline of a class is drawn in its colour; background-side edge pixels stay clear
        keep = edge & (classes > 0)
        rgba[..., 3] = np.where(keep, 255, 0).astype(np.uint8)
    else:
        rgba[..., 3] = np.where(classes > 0, int(round(255 * max(0.0, min(1.0, opacity)))), 0).astype(
            np.uint8
        )
    rgba = np.ascontiguousarray(rgba)
    return QImage(rgba.data, width, height, 4 * width, QImage.Format.Format_RGBA8888).copy()


class SpecRenderer:
    """Draws images with their specs. Stateless apart from its options."""

    def __init__(self, options: RenderOptions | None = None) -> None:
        self.options = options or RenderOptions()

    def with_options(self, **changes) -> SpecRenderer:
        return SpecRenderer(replace(self.options, **changes))

    # -- filtering (also used by tests and the panel)
    def visible_boxes(self, specs: Iterable[DrawSpec]) -> list[DrawBox]:
        return [box for spec in specs for box in spec.boxes if box_visible(box, self.options)]

    def visible_masks(self, specs: Iterable[DrawSpec]) -> list[DrawMask]:
        return [m for spec in specs for m in spec.masks if self.options.show_truth or not m.truth]

    def text_lines(self, specs: Iterable[DrawSpec]) -> list[tuple[str, bool]]:
        return [(t.text, t.error) for spec in specs for t in spec.texts]

    # -- rendering
    def render_pixmap(self, image: np.ndarray, specs: Sequence[DrawSpec], **changes) -> QPixmap:
        return QPixmap.fromImage(self.render(image, specs, **changes))

    def render(self, image: np.ndarray, specs: Sequence[DrawSpec], **changes) -> QImage:
        """The image at ``scale`` with every spec drawn; text lines in a band underneath."""
        opts = replace(self.options, **changes) if changes else self.options
        base = numpy_to_qimage(image)
        src_h, src_w = base.height(), base.width()
        width = max(1, round(src_w * opts.scale))
        height = max(1, round(src_h * opts.scale))
        font = QFont()
        font.setPixelSize(opts.font_px or (13 if opts.detailed else max(9, min(12, width // 18))))
        metrics = QFontMetrics(font)
        # Lines wrap rather than elide, in thumbnails too: a cut-off "(truth: tri…" hides
        # exactly the part the user is looking for.
        lines = self._layout_lines(self.text_lines(specs) if opts.show_text else [], metrics, width, True)
        band = (sum(h for _, _, h in lines) + 6) if lines else 0

        out = QImage(width, height + band, QImage.Format.Format_ARGB32_Premultiplied)
        out.fill(BAND_COLOUR)
        painter = QPainter(out)
        try:
            painter.setRenderHint(QPainter.RenderHint.Antialiasing, True)
            painter.setRenderHint(QPainter.RenderHint.SmoothPixmapTransform, opts.scale < 1.0)
            painter.drawImage(QRectF(0, 0, width, height), base, QRectF(0, 0, src_w, src_h))
            for spec in specs:
                for mask in spec.masks:
                    if mask.truth and not opts.show_truth:
                        continue
                    overlay = _mask_overlay(mask, height, width, opts.mask_opacity)
                    if overlay is not None:
                        painter.drawImage(0, 0, overlay)
            painter.setFont(font)
            boxes = [b for spec in specs for b in spec.boxes if box_visible(b, opts)]
            # truth first, so predictions (and their tags) sit on top
            for box in sorted(boxes, key=lambda b: not b.truth):
                self._draw_box(painter, box, opts, metrics, width, height)
            # tags after every box, each where it covers no tag placed before it (predictions
            # first: theirs keep their place above the box); two "blue · missed" tags of
            # neighbouring boxes were drawn over each other and over a third
            placed: list[QRectF] = []
            for box in sorted(boxes, key=lambda b: b.truth):
                self._draw_tag(painter, box, opts, metrics, width, height, placed)
            if lines:
                painter.setPen(QPen(QColor(210, 210, 210)))
                painter.drawLine(0, height, width, height)
                y = height + 3
                for text, error, line_h in lines:
                    painter.setPen(QPen(ERROR_COLOUR if error else TEXT_COLOUR))
                    flags = int(Qt.AlignmentFlag.AlignVCenter) | _wrap_flag(text, metrics, max(10, width - 6))
                    painter.drawText(QRectF(3, y, width - 6, line_h), flags, text)
                    y += line_h
        finally:
            painter.end()
        return out

    @staticmethod
    def _layout_lines(
        lines: list[tuple[str, bool]], metrics: QFontMetrics, width: int, wrap: bool
    ) -> list[tuple[str, bool, int]]:
        """(shown text, error, height): wrapped to the width, or elided when ``wrap`` is off."""
        out = []
        avail = max(10, width - 6)
        for text, error in lines:
            shown = ("✗ " if error else "") + text
            if wrap:
                rect = metrics.boundingRect(
                    QRect(0, 0, avail, 100000), _wrap_flag(shown, metrics, avail), shown
                )
                out.append((shown, error, rect.height() + 1))
            else:
                out.append(
                    (
                        metrics.elidedText(shown, Qt.TextElideMode.ElideRight, avail),
                        error,
                        metrics.height() + 1,
                    )
                )
        return out

    @staticmethod
    def _draw_box(
        painter: QPainter, box: DrawBox, opts: RenderOptions, metrics: QFontMetrics, width: int, height: int
    ) -> None:
        x0, y0, x1, y1 = _box_px(box, opts.scale, width, height)
        colour = QColor(*box.colour)
        pen_w = 1.6 if box.truth else 2.0
        if box.error:
            pen_w += 1.4
        pen = QPen(colour, pen_w)
        if box.truth:
            pen.setStyle(Qt.PenStyle.DashLine)
            pen.setDashPattern([4.0, 3.0])
        painter.setPen(pen)
        painter.setBrush(Qt.BrushStyle.NoBrush)
        rect = QRectF(x0, y0, max(1.0, x1 - x0), max(1.0, y1 - y0))
        painter.drawRect(rect)

        if box.error:
            r = max(5.0, metrics.height() * 0.55)
            centre = QPointF(min(width - r, max(r, x1)), min(height - r, max(r, y0 if box.truth else y1)))
            painter.setPen(QPen(QColor(255, 255, 255), 1.2))
            painter.setBrush(QBrush(ERROR_COLOUR))
            painter.drawEllipse(centre, r, r)
            painter.setPen(QPen(QColor(255, 255, 255)))
            painter.drawText(
                QRectF(centre.x() - r, centre.y() - r, 2 * r, 2 * r), Qt.AlignmentFlag.AlignCenter, "!"
            )

    @staticmethod
    def _draw_tag(
        painter: QPainter,
        box: DrawBox,
        opts: RenderOptions,
        metrics: QFontMetrics,
        width: int,
        height: int,
        placed: list[QRectF],
    ) -> None:
        """The box's tag (class, score, error) at ``place_tag``'s place; added to ``placed``."""
        if box.truth and not opts.detailed:
            return
        label = box.label
        if box.score is not None and f"{box.score:.2f}" not in label:
            label = f"{label} {box.score:.2f}"
        if box.error and opts.detailed:
            label = f"{label} · {box.error}"
        colour = QColor(*box.colour)
        size = (metrics.horizontalAdvance(label) + 6.0, float(metrics.height()))
        tag = place_tag(_box_px(box, opts.scale, width, height), size, box.truth, (width, height), placed)
        placed.append(tag)
        if box.truth:  # outlined on white, so it does not hide predictions' tags
            painter.setPen(QPen(colour, 1))
            painter.setBrush(QBrush(QColor(255, 255, 255, 220)))
            painter.drawRect(tag)
            painter.setPen(QPen(TEXT_COLOUR))
        else:  # filled in the box colour
            painter.setPen(Qt.PenStyle.NoPen)
            painter.setBrush(QBrush(colour))
            painter.drawRect(tag)
            luminance = 0.299 * colour.red() + 0.587 * colour.green() + 0.114 * colour.blue()
            painter.setPen(QPen(QColor(0, 0, 0) if luminance > 150 else QColor(255, 255, 255)))
        painter.drawText(tag.adjusted(3, 0, -3, 0), Qt.AlignmentFlag.AlignVCenter, label)


def _box_px(box: DrawBox, scale: float, width: int, height: int) -> tuple[float, float, float, float]:
    """The box's corners in the drawn image's pixels, clipped to it."""
    x0, y0, x1, y1 = (float(v) * scale for v in box.xyxy)
    x0, x1 = sorted((max(0.0, min(width - 1.0, x0)), max(0.0, min(width - 1.0, x1))))
    y0, y1 = sorted((max(0.0, min(height - 1.0, y0)), max(0.0, min(height - 1.0, y1))))
    return x0, y0, x1, y1


TAG_STEPS = 4  # how many tag heights a tag may move out from its box to find room


def place_tag(
    box: tuple[float, float, float, float],
    size: tuple[float, float],
    truth: bool,
    bounds: tuple[int, int],
    placed: list[QRectF],
) -> QRectF:
    """Where a box's tag of ``size`` (w, h) goes: the first of its places that covers no
    tag in ``placed`` (a prediction's above its box, then inside its top, below, inside
    its bottom; a truth's below first), each at the box's left then right edge, then the
    same places stepped a tag's height further out; where every place covers one, the
    place that covers least. Kept inside ``bounds`` (width, height)."""
    x0, y0, x1, y1 = box
    w, h = size
    width, height = bounds
    ys = [y1 + 1, y0 - h, y1 - h, y0] if truth else [y0 - h, y0, y1 + 1, y1 - h]
    xs = [x0, x1 - w]
    steps = [k * h for k in range(TAG_STEPS + 1)]  # a few only: thumbnails draw many boxes
    best: tuple[float, QRectF] | None = None
    for step in steps:
        for y in ys:
            shifted = y + step if y >= y1 - h else y - step  # out from the box's side
            for x in xs:
                tag = QRectF(
                    min(max(0.0, x), max(0.0, width - w)), min(max(0.0, shifted), max(0.0, height - h)), w, h
                )
                covered = sum(_area(tag.intersected(other)) for other in placed)
                if covered == 0:
                    return tag
                if best is None or covered < best[0]:
                    best = (covered, tag)
    assert best is not None
    return best[1]


def _area(rect: QRectF) -> float:
    return max(0.0, rect.width()) * max(0.0, rect.height()) if not rect.isEmpty() else 0.0


def _wrap_flag(text: str, metrics: QFontMetrics, width: int) -> int:
    """Wrap at spaces; a line with a word wider than ``width`` (a 168-letter class name) is
    wrapped anywhere instead, which word wrapping alone cut off without a sign."""
    if any(metrics.horizontalAdvance(word) > width for word in text.split()):
        return int(Qt.TextFlag.TextWrapAnywhere)
    return int(Qt.TextFlag.TextWordWrap)
