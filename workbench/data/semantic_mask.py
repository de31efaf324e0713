"""One semantic mask per image from whatever masks its annotations have.

Values follow the workbench's convention: 0 background, c + 1 for class c,
``IGNORE_INDEX`` (255) for pixels whose class is unknown. Per-object masks (COCO polygons
or RLE, YOLO polygons) are painted largest first, so a small object lying on a large one
stays visible. An object that has a box but no mask, in an image whose other objects
have masks, makes its box "ignore" rather than background: its pixels are not known to be
background. A Pascal VOC palette PNG is read as it is (its index v is class v - 1).
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np
from PIL import Image

from workbench.data.annotated_set import ImageRecord
from workbench.data.base import IGNORE_INDEX
from workbench.data.coco_instances import decode_mask
from workbench.data.image_io import ImageError

# 16- and 32-bit grayscale PNGs: some tools save class masks so; read when every value
# fits a class index (0-255)
WIDE_MASK_MODES = ("I;16", "I;16L", "I;16B", "I;16N", "I")


def narrow_mask(img: Image.Image) -> np.ndarray:
    """A 16- or 32-bit grayscale class mask as (H, W) uint8, same values.

    Raises ValueError naming the largest value when one does not fit 0-255."""
    values = np.array(img)
    low, high = (int(values.min()), int(values.max())) if values.size else (0, 0)
    if low < 0 or high > 255:
        raise ValueError(
            f"a {16 if img.mode.startswith('I;16') else 32}-bit grayscale mask with values {low} to {high}: "
            "class indices must fit 0-255 "
            "(save it as 8-bit grayscale or palette)"
        )
    return values.astype(np.uint8)


def semantic_mask(
    record: ImageRecord,
    num_classes: int,
    colours: dict[tuple[int, int, int], int] | None = None,
    note: Callable[[Path, str], None] | None = None,
) -> np.ndarray | None:
    """(height, width) uint8 mask of ``record`` in its file's pixel frame, or None when
    the image has objects but none of them has a mask (no segmentation label).

    An object whose mask cannot be decoded, or decodes to another size than the image's,
    counts as an object without a mask (its box is "ignore"). ``colours`` maps the RGB
    colours of a mask saved as an RGB image (CVAT's export) to mask indices.

    Raises ImageError for a mask file that cannot be read, is not a class mask, or whose
    size differs from the image's. ``note(file, text)`` hears of mask values that are no
    class of the set (they become "ignore")."""
    if record.mask_file is not None:
        return _palette_mask(record, num_classes, colours, note)
    height, width = record.height, record.width
    if len(record.labels) and not record.has_mask:
        return None
    mask = np.zeros((height, width), np.uint8)
    order = []
    for box, label, seg in zip(record.boxes, record.labels.tolist(), record.segmentations, strict=False):
        own = _decoded(seg, height, width)
        if own is None:  # no mask, or one that cannot be used: the box is not known to be background
            mask[_box_slice(box, height, width)] = IGNORE_INDEX
        else:
            order.append((int(own.sum()), label, own))
    order.sort(key=lambda item: -item[0])  # largest first: small objects stay on top
    for _area, label, own in order:
        mask[own] = label + 1
    for box, seg, _label in record.ignore:  # crowd regions: neither an object nor background
        own = _decoded(seg, height, width)
        if own is None:
            mask[_box_slice(box, height, width)] = IGNORE_INDEX
        else:
            mask[own] = IGNORE_INDEX
    return mask


def _box_slice(box, height: int, width: int) -> tuple[slice, slice]:
    """The pixels a box (x1, y1, x2, y2) covers, cut to the image: a negative corner must
    not count from the far edge as Python's slices do."""
    x1, y1, x2, y2 = (float(v) for v in box)
    top, left = min(max(int(y1), 0), height), min(max(int(x1), 0), width)
    bottom, right = min(max(int(np.ceil(y2)), 0), height), min(max(int(np.ceil(x2)), 0), width)
    return slice(top, bottom), slice(left, right)


def _decoded(seg: object, height: int, width: int) -> np.ndarray | None:
    if seg is None:
        return None
    try:
        own = _object_mask(seg, height, width)
    except (ValueError, TypeError, IndexError, KeyError):  # a damaged RLE or polygon
        return None
    return own if own.shape == (height, width) else None


def _object_mask(seg: object, height: int, width: int) -> np.ndarray:
    if isinstance(seg, np.ndarray):  # a YOLO polygon (k >= 3, 2) in pixels
        # rasterised as COCO polygons are (pycocotools): PIL's outline took the right and
        # bottom edge pixels too, so one object's mask grew by a pixel on two sides as YOLO
        return decode_mask([seg.astype(np.float64).reshape(-1).tolist()], height, width)
    return decode_mask(seg, height, width)


def _palette_mask(
    record: ImageRecord,
    num_classes: int,
    colours: dict[tuple[int, int, int], int] | None,
    note: Callable[[Path, str], None] | None = None,
) -> np.ndarray:
    path = record.mask_file
    try:
        with Image.open(path) as img:
            if img.mode in ("RGB", "RGBA") and colours:
                mask = _from_colours(np.array(img.convert("RGB")), colours)
            elif img.mode in WIDE_MASK_MODES:
                mask = narrow_mask(img)
            elif img.mode not in ("P", "L"):
                raise ImageError(
                    path,
                    f"a class mask must be a palette or grayscale PNG (or RGB with a labelmap.txt), got mode {img.mode}",
                )
            else:
                mask = np.array(img, dtype=np.uint8)
    except (OSError, ValueError) as exc:
        if isinstance(exc, ImageError):
            raise
        raise ImageError(path, f"unreadable mask: {exc}") from None
    if mask.shape != (record.height, record.width):
        raise ImageError(
            path, f"mask is {mask.shape[1]}x{mask.shape[0]} but its image is {record.width}x{record.height}"
        )
    unknown = (mask > num_classes) & (mask != IGNORE_INDEX)
    if unknown.any():  # a class the set does not have (another labelmap?): not learned, and said
        if note is not None:
            values = sorted(int(v) for v in np.unique(mask[unknown]))
            shown = ", ".join(map(str, values[:5])) + (" ..." if len(values) > 5 else "")
            note(
                path,
                f"mask values {shown} are no class of this set (0 background, 1-{num_classes}, {IGNORE_INDEX} ignore); "
                f"{int(unknown.sum())} pixels are ignored",
            )
        mask[unknown] = IGNORE_INDEX
    return mask


def _from_colours(rgb: np.ndarray, colours: dict[tuple[int, int, int], int]) -> np.ndarray:
    """An RGB class mask to indices; colours not in the map are "ignore"."""
    codes = (rgb[..., 0].astype(np.int32) << 16) | (rgb[..., 1].astype(np.int32) << 8) | rgb[..., 2]
    out = np.full(codes.shape, IGNORE_INDEX, np.uint8)
    for (r, g, b), index in colours.items():
        out[codes == ((r << 16) | (g << 8) | b)] = index
    return out
