"""YOLO label files: one object per line, coordinates normalised to the image (0-1).

    class cx cy w h                 a box (centre, width, height)
    class x1 y1 x2 y2 ... xk yk     a polygon of k >= 3 points (segmentation exports)

as written by Ultralytics and the tools that export to it (Roboflow, CVAT, Label Studio).
A line that cannot be used is left out and reported with its file and line number; nothing
raises for bad content (only for a file that cannot be read as text).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from workbench.data.import_report import CLIPPED, DROPPED, REFUSED, SKIPPED, ImportReport, beyond_rounding


@dataclass(frozen=True)
class YoloObject:
    """``class_id`` in 0..num_classes-1; ``box``: (4,) float32 x1, y1, x2, y2 in pixels;
    ``polygon``: (k, 2) float32 x, y in pixels, or None for a box line."""

    class_id: int
    box: np.ndarray
    polygon: np.ndarray | None = None


def parse_label_file(
    path: str | Path, width: int, height: int, num_classes: int, report: ImportReport
) -> list[YoloObject] | None:
    """The objects of one label file for an image of ``width`` x ``height`` pixels.

    Returns None (and reports the file as refused) when the file is unreadable or not
    UTF-8 text; an empty file is an image with no objects.
    """
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8-sig")
    except UnicodeDecodeError:
        report.add(path, "", "not a text file (not UTF-8)", REFUSED)
        return None
    except OSError as exc:
        report.add(path, "", f"cannot read: {exc.strerror or exc}", REFUSED)
        return None
    objects = []
    for number, line in enumerate(text.splitlines(), start=1):
        if line.strip():
            obj = parse_line(line, width, height, num_classes, report, path, number)
            if obj is not None:
                objects.append(obj)
    return objects


# A normalised coordinate or size above this is no fraction of the image: a box partly
# outside reaches a little past 1, a value of 35 is a pixel.
PIXELS_ABOVE = 2.0


def parse_line(
    line: str, width: int, height: int, num_classes: int, report: ImportReport, path: object, number: int
) -> YoloObject | None:
    """One label line to an object, or None (reported) when it cannot be used."""
    where = f"line {number}"
    fields = line.split()
    try:
        values = [float(f) for f in fields]
    except ValueError:
        bad = next(f for f in fields if not _is_number(f))
        report.add(path, where, f"{bad!r} is not a number", SKIPPED)
        return None
    if not all(math.isfinite(v) for v in values):
        report.add(path, where, "NaN or infinite value", SKIPPED)
        return None
    n = len(values)
    if n != 5 and (n < 7 or n % 2 == 0):
        expected = "5 values (class cx cy w h) or 1 + 2k values with k >= 3 (a polygon)"
        if n == 3:
            message = "polygon with too few points (1; at least 3)"
        elif n == 6:
            message = f"6 values (a prediction file with confidences?); expected {expected}"
        else:
            message = f"{n} values; expected {expected}"
        report.add(path, where, message, SKIPPED)
        return None
    cls = values[0]
    if cls != int(cls):
        report.add(path, where, f"class id {fields[0]} is not a whole number", SKIPPED)
        return None
    if not 0 <= cls < num_classes:
        report.add(path, where, f"class id {fields[0]} out of range 0-{num_classes - 1}", SKIPPED)
        return None
    largest = max(abs(v) for v in values[1:])
    if largest > PIXELS_ABOVE:
        # no fraction of the image is that large: pixels (or another tool's format), so the
        # object's place is unknown, not outside the image
        report.add(
            path,
            where,
            f"coordinates up to {largest:g} are not fractions 0-1 of the image size "
            "(pixel values? YOLO lines are normalised)",
            SKIPPED,
        )
        return None
    scale = np.array([width, height], dtype=np.float64)
    if n == 5:
        cx, cy, w, h = values[1:]
        if w < 0 or h < 0:  # no box at all: an object of unknown place (its image is left out)
            report.add(path, where, f"negative box size (width {w:g}, height {h:g})", SKIPPED)
            return None
        if w == 0 or h == 0:
            report.add(path, where, f"zero-area box (width {w:g}, height {h:g})", DROPPED)
            return None
        corners = np.array([[cx - w / 2, cy - h / 2], [cx + w / 2, cy + h / 2]])
        clipped = np.clip(corners, 0.0, 1.0)
        if not np.array_equal(clipped, corners):
            if np.any(clipped[1] - clipped[0] <= 0):
                report.add(path, where, "box entirely outside the image", DROPPED)
                return None
            if beyond_rounding(float(np.abs((clipped - corners) * scale).max())):
                report.add(path, where, "box outside the image", CLIPPED)
        box = (clipped * scale).reshape(4).astype(np.float32)
        return YoloObject(int(cls), box)
    points = np.array(values[1:], dtype=np.float64).reshape(-1, 2)
    clipped = np.clip(points, 0.0, 1.0)
    pixels = clipped * scale
    if _area(pixels) <= 0:
        # one report per object: nothing of it inside, or nothing of it to begin with (it was
        # said twice, first as "clipped")
        outside = _area(points * scale) > 0
        report.add(
            path,
            where,
            "polygon entirely outside the image" if outside else "polygon with zero area",
            DROPPED,
        )
        return None
    if beyond_rounding(float(np.abs((clipped - points) * scale).max())):
        report.add(path, where, "polygon outside the image", CLIPPED)
    box = np.concatenate([pixels.min(axis=0), pixels.max(axis=0)]).astype(np.float32)
    return YoloObject(int(cls), box, pixels.astype(np.float32))


def _is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


def _area(points: np.ndarray) -> float:
    """Shoelace area of a polygon (k, 2)."""
    x, y = points[:, 0], points[:, 1]
    return 0.5 * abs(float(np.dot(x, np.roll(y, -1)) - np.dot(y, np.roll(x, -1))))
