"""One semantic mask per image from whatever masks its annotations have.

Values follow the workbench's convention: 0 background, c + 1 for class c,
``IGNORE_INDEX`` (255) for pixels whose class is unknown. Per-object masks (COCO polygons
or RLE, YOLO polygons) are painted largest first, so a small object lying on a large one
stays visible. An object that has a box but no mask, in an image whose other objects
have masks, makes its box "ignore" rather than background: its pixels are not known to be
background. A Pascal VOC palette PNG is read as it is (its index v is class v - 1).
"""

from __future__ import annotations

import numpy as np
from PIL import Image, ImageDraw

from workbench.data.annotated_set import ImageRecord
from workbench.data.base import IGNORE_INDEX
from workbench.data.coco_instances import decode_mask
from workbench.data.image_io import ImageError


def semantic_mask(record: ImageRecord, num_classes: int) -> np.ndarray | None:
    """(height, width) uint8 mask of ``record`` in its file's pixel frame, or None when
    the image has objects but none of them has a mask (no segmentation label).

    Raises ImageError for a mask file that cannot be read or whose size differs from the
    image's."""
    if record.mask_file is not None:
        return _palette_mask(record, num_classes)
    height, width = record.height, record.width
    if len(record.labels) and not record.has_mask:
        return None
    mask = np.zeros((height, width), np.uint8)
    order = []
    for box, label, seg in zip(record.boxes, record.labels.tolist(), record.segmentations, strict=False):
        x1, y1, x2, y2 = (float(v) for v in box)
        area = max(0.0, x2 - x1) * max(0.0, y2 - y1)
        if seg is None:
            mask[int(y1) : int(np.ceil(y2)), int(x1) : int(np.ceil(x2))] = IGNORE_INDEX
        else:
            order.append((area, label, seg))
    order.sort(key=lambda item: -item[0])
    for _area, label, seg in order:
        mask[_object_mask(seg, height, width)] = label + 1
    return mask


def _object_mask(seg: object, height: int, width: int) -> np.ndarray:
    if isinstance(seg, np.ndarray):  # a YOLO polygon (k, 2) in pixels
        canvas = Image.new("1", (width, height), 0)
        ImageDraw.Draw(canvas).polygon([(float(x), float(y)) for x, y in seg], fill=1, outline=1)
        return np.asarray(canvas, dtype=bool)
    return decode_mask(seg, height, width)


def _palette_mask(record: ImageRecord, num_classes: int) -> np.ndarray:
    path = record.mask_file
    try:
        with Image.open(path) as img:
            if img.mode not in ("P", "L"):
                raise ImageError(
                    path, f"a class mask must be a palette or grayscale PNG, got mode {img.mode}"
                )
            mask = np.array(img, dtype=np.uint8)
    except (OSError, ValueError) as exc:
        if isinstance(exc, ImageError):
            raise
        raise ImageError(path, f"unreadable mask: {exc}") from None
    if mask.shape != (record.height, record.width):
        raise ImageError(
            path, f"mask is {mask.shape[1]}x{mask.shape[0]} but its image is {record.width}x{record.height}"
        )
    mask[(mask > num_classes) & (mask != IGNORE_INDEX)] = IGNORE_INDEX  # unknown classes: not learned
    return mask
