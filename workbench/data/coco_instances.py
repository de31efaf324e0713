"""COCO instance annotations (the ``instances_*.json`` layout): images, boxes, masks.

Reference: the COCO data format, https://cocodataset.org/#format-data. Boxes are
``[x, y, width, height]`` in pixels; ``segmentation`` is a list of polygons, an RLE
(``iscrowd`` regions, counts as a list or as COCO's compressed string) or an empty list
(no mask). Masks are decoded with pycocotools.

Category ids may be any integers (starting at 0 or 1, with gaps): they map to contiguous
class indices in ascending id order. Two categories with one name stay apart (the second
is named "name (id N)"). Bad annotations are left out and reported; only a file that is
not COCO JSON at all raises :class:`CocoError`.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from pycocotools import mask as mask_utils

from workbench.data.file_probe import not_a_file, present
from workbench.data.import_report import DROPPED, NOTED, SKIPPED, ImportReport


class CocoError(ValueError):
    """The file cannot be read as COCO JSON: one line naming the file (and line, column)."""


@dataclass
class CocoImage:
    """One image: ``file_name`` as written (may contain sub-folders), size in pixels,
    ``boxes`` (N, 4) float32 x1, y1, x2, y2, ``labels`` (N,) int64 class indices,
    ``segmentations`` the N raw COCO segmentations (None: no mask), ``crowd`` (N,) bool."""

    image_id: int
    file_name: str
    width: int
    height: int
    boxes: np.ndarray = field(default_factory=lambda: np.zeros((0, 4), np.float32))
    labels: np.ndarray = field(default_factory=lambda: np.zeros((0,), np.int64))
    segmentations: list[Any] = field(default_factory=list)
    crowd: np.ndarray = field(default_factory=lambda: np.zeros((0,), bool))
    places: list[str] = field(default_factory=list)  # "annotation 7" per object, for messages
    lost: int = 0  # its annotations that could not be read: what the image holds is unknown
    first_lost: str = ""  # the first of them, "annotation 3: unknown category_id 5"

    def unreadable(self, where: str, why: str) -> None:
        """One of its objects cannot be read (counted even when the same words were said
        of another object: the report lists identical problems once)."""
        self.lost += 1
        self.first_lost = self.first_lost or f"{where}: {why}"


@dataclass
class CocoSet:
    class_names: list[str]
    category_ids: list[int]  # class index -> COCO category id
    images: list[CocoImage]


def load_coco(path: str | Path, report: ImportReport) -> CocoSet:
    """Read a COCO instances file. Raises CocoError for unreadable or non-COCO JSON."""
    path = Path(path)
    why = not_a_file(path) if present(path) else None
    if why is not None:  # a FIFO or a device: reading it could wait for ever; a folder, a loop
        raise CocoError(f"{path}: {why}")
    try:
        data = json.loads(path.read_text(encoding="utf-8-sig"))
    except json.JSONDecodeError as exc:
        raise CocoError(
            f"{path}: not valid JSON at line {exc.lineno}, column {exc.colno}: {exc.msg}"
        ) from None
    except UnicodeDecodeError:
        raise CocoError(f"{path}: not a text file (not UTF-8)") from None
    except RecursionError:
        raise CocoError(f"{path}: JSON nested too deeply") from None
    except OSError as exc:
        raise CocoError(f"{path}: cannot read: {exc.strerror or exc}") from None
    if not isinstance(data, dict) or not isinstance(data.get("images"), list):
        raise CocoError(f"{path}: not COCO instances JSON (no 'images' list)")
    for key in ("annotations", "categories"):
        if data.get(key) is not None and not isinstance(data[key], list):
            raise CocoError(f"{path}: '{key}' must be a list, got {type(data[key]).__name__}")

    categories = [
        {**c, "id": _as_id(c["id"])} for c in data.get("categories") or [] if _category_ok(c, path, report)
    ]
    categories.sort(key=lambda c: c["id"])
    unique = []
    for c in categories:
        if unique and unique[-1]["id"] == c["id"]:
            report.add(path, "categories", f"duplicate category id {c['id']}", SKIPPED)
        else:
            unique.append(c)
    categories = unique
    names: list[str] = []
    for c in categories:
        name = str(c.get("name") or f"category {c['id']}")
        names.append(name if name not in names else f"{name} (id {c['id']})")
    index = {c["id"]: i for i, c in enumerate(categories)}

    images: dict[int, CocoImage] = {}
    for i, im in enumerate(data["images"]):
        where = f"image {_short(im.get('id', f'#{i}'))}" if isinstance(im, dict) else f"images[{i}]"
        if not isinstance(im, dict) or _as_id(im.get("id")) is None or not _file_name_ok(im.get("file_name")):
            report.add(path, where, "image entry without an integer 'id' and a usable 'file_name'", SKIPPED)
            continue
        im = {**im, "id": _as_id(im["id"])}  # 3, 3.0 and "3" are one id, as a reader of the file means
        if im["id"] in images:
            first = images[im["id"]].file_name
            report.add(path, where, f"duplicate image id ({im['file_name']}; the id is {first}'s)", SKIPPED)
            continue
        width, height = _int(im.get("width")), _int(im.get("height"))
        unusable = [
            k for k, v in (("width", width), ("height", height)) if im.get(k) not in (None, 0) and not v
        ]
        if unusable:  # absent or 0 means unknown (the file tells); declared nonsense is worth a note
            declared = ", ".join(f"{k} {_short(im.get(k))}" for k in unusable)
            report.add(
                path,
                where,
                f"declared {declared} is not a positive whole size; the file's size is used",
                NOTED,
            )
        images[im["id"]] = CocoImage(im["id"], str(im["file_name"]), width, height)

    rows: dict[int, list[tuple[list[float], int, Any, bool]]] = {k: [] for k in images}
    seen_ids: dict[Any, Any] = {}  # annotation id -> the annotation first listed with it
    for i, ann in enumerate(data.get("annotations") or []):
        where = (
            f"annotation {_short(ann.get('id', f'#{i}'))}" if isinstance(ann, dict) else f"annotations[{i}]"
        )
        if not isinstance(ann, dict):
            report.add(path, where, "not an object", SKIPPED)
            continue
        ann_id = ann.get("id")
        if _is_int(ann_id) and ann_id in seen_ids:
            # an exact copy is one object listed twice; different content under one id is two
            # objects (kept), but tools that index by id (pycocotools) keep only the last
            if seen_ids[ann_id] == ann:
                report.add(path, where, "the same annotation is listed again", SKIPPED)
                continue
            report.add(path, where, f"annotation id {ann_id} is used twice; both objects are kept", NOTED)
        elif _is_int(ann_id):
            seen_ids[ann_id] = ann
        image_id, category_id = ann.get("image_id"), ann.get("category_id")
        image = images.get(_as_id(image_id))
        if image is None:
            report.add(path, where, f"image_id {_short(image_id)} is not among the images", SKIPPED)
            continue
        if _as_id(category_id) not in index:
            image.unreadable(where, f"unknown category_id {_short(category_id)}")
            report.add(path, where, f"unknown category_id {_short(category_id)}", SKIPPED)
            continue
        box, why = _box(ann.get("bbox"))
        if box is None:
            if why.startswith("zero-area"):  # a degenerate box: the object has no extent
                report.add(path, where, why, DROPPED)
            else:  # an object of unknown place: its image's objects are unknown
                image.unreadable(where, why)
                report.add(path, where, why, SKIPPED)
            continue
        # not checked against the declared size: the file's real size decides (the reader)
        segmentation = _segmentation(ann.get("segmentation"), path, where, report)
        crowd = _crowd(ann.get("iscrowd", 0), path, where, report)
        rows[image.image_id].append((box, index[_as_id(category_id)], segmentation, crowd, where))

    for image_id, image in images.items():
        if rows[image_id]:
            image.boxes = np.array([r[0] for r in rows[image_id]], np.float32)
            image.labels = np.array([r[1] for r in rows[image_id]], np.int64)
            image.segmentations = [r[2] for r in rows[image_id]]
            image.crowd = np.array([r[3] for r in rows[image_id]], bool)
            image.places = [r[4] for r in rows[image_id]]
    return CocoSet(names, [c["id"] for c in categories], list(images.values()))


# Polygon vertices may lie outside the image (the mask is cut to it), but pycocotools
# rasterises the whole outline: coordinates of 1e8 took 72 s and 15 GB for one object, and
# 1e9 crashed the process. A vertex further out than this many image sides is an error.
POLYGON_REACH = 4
UNKNOWN_SIDE = 25_000  # the side assumed while an image's size is not known yet


def polygon_too_far(poly: list[float], width: int, height: int) -> bool:
    """Whether a vertex of ``poly`` ([x1, y1, x2, y2, ...] pixels) lies more than
    POLYGON_REACH image sides outside a ``width`` x ``height`` image (0: not known)."""
    side = max(width, height) or UNKNOWN_SIDE
    reach = POLYGON_REACH * side
    xs, ys = poly[0::2], poly[1::2]
    return (
        min(xs) < -reach
        or min(ys) < -reach
        or max(xs) > (width or side) + reach
        or max(ys) > (height or side) + reach
    )


def far_polygon_message(poly: list[float], width: int, height: int) -> str:
    extreme = max((abs(float(v)) for v in poly), default=0.0)
    size = f"the {width}x{height} image" if width and height else "any image"
    return f"polygon coordinates (up to {extreme:.4g}) lie far outside {size}; mask part left out"


def decode_mask(segmentation: Any, height: int, width: int) -> np.ndarray:
    """A COCO segmentation (polygons or RLE) as a (height, width) bool mask."""
    if isinstance(segmentation, list):
        rles = mask_utils.frPyObjects(segmentation, height, width)
        rle = mask_utils.merge(rles)
    elif isinstance(segmentation.get("counts"), list):
        rle = mask_utils.frPyObjects(segmentation, height, width)
    else:
        rle = dict(segmentation)
        if isinstance(rle["counts"], str):
            rle["counts"] = rle["counts"].encode("ascii")
    return mask_utils.decode(rle).astype(bool)


def rle_counts(text: str) -> list[int] | None:
    """The run lengths of COCO's compressed RLE string, or None when it is not one.

    The format of pycocotools' ``rleFrString`` (cocoapi ``maskApi.c``): each number is a
    little-endian series of 5-bit groups in characters 48-111 (bit 0x20: more follows; bit
    0x10 of the last group: negative), and from the third number on each is stored as the
    difference from the one two before it. pycocotools decodes a damaged string into
    uninitialised memory or fails late; this reads it first to check it."""
    counts: list[int] = []
    value = shift = 0
    for char in text:
        c = ord(char) - 48
        if not 0 <= c < 64:
            return None
        value |= (c & 0x1F) << shift
        shift += 5
        if c & 0x20:
            continue
        if c & 0x10:
            value |= -1 << shift
        if len(counts) > 2:
            value += counts[-2]
        counts.append(value)
        value = shift = 0
    return counts if shift == 0 else None  # a number cut off in the middle


def rle_damage(counts: Any, size: list[int]) -> str | None:
    """Why an RLE's counts cannot describe a ``size`` = [height, width] mask, else None:
    they must decode, be non-negative and add up to height x width pixels."""
    runs = rle_counts(counts) if isinstance(counts, str) else list(counts)
    if runs is None:
        return "not a COCO compressed RLE string"
    if any(r < 0 for r in runs):
        return "a negative run length"
    total, pixels = sum(runs), size[0] * size[1]
    if total != pixels:
        return f"runs cover {total} pixels, the mask has {pixels}"
    return None


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _as_id(value: Any) -> int | None:
    """An image or category id: an integer, a whole float (3.0, as numpy-based exporters
    write it; pycocotools matches it to 3) or a string of digits ("3"); else None."""
    if _is_int(value):
        return value
    if isinstance(value, float) and math.isfinite(value) and value.is_integer():
        return int(value)
    if isinstance(value, str) and value.strip().isdigit():
        return int(value.strip())
    return None


def _number(value: Any) -> float | None:
    """A finite float from a JSON number (not a bool), else None (also for 10**400)."""
    if not isinstance(value, (int, float)) or isinstance(value, bool):
        return None
    try:
        number = float(value)
    except OverflowError:
        return None
    return number if math.isfinite(number) else None


def _short(value: Any) -> str:
    """A value for a message: repr on one line, at most 60 characters."""
    text = repr(value).replace("\n", " ")
    return text if len(text) <= 60 else text[:57] + "..."


def _file_name_ok(name: Any) -> bool:
    return isinstance(name, str) and 0 < len(name) <= 1024 and "\0" not in name


def _category_ok(c: Any, path: Path, report: ImportReport) -> bool:
    if isinstance(c, dict) and _as_id(c.get("id")) is not None:
        return True
    report.add(path, "categories", f"category without an integer id: {_short(c)}", SKIPPED)
    return False


def _int(value: Any) -> int:
    """A size from the JSON, 0 when absent or unusable (then the image file tells)."""
    number = _number(value)
    return int(number) if number is not None and 0 < number < 2**31 else 0


def _crowd(value: Any, path: Path, where: str, report: ImportReport) -> bool:
    """COCO's ``iscrowd``: 0 or 1 (false/true, and "0"/"1" as some converters write them).
    Anything else is read as 0, with a note: ``bool("0")`` made every object of such a file
    a crowd region, which no task trains on."""
    if isinstance(value, bool):
        return value
    if isinstance(value, (int, float)) and value in (0, 1):  # 1.0 too, as numpy writes it
        return bool(value)
    if isinstance(value, str) and value.strip().lower() in ("0", "1", "0.0", "1.0", "true", "false"):
        return value.strip().lower() in ("1", "1.0", "true")
    report.add(path, where, f"iscrowd {_short(value)} is not 0 or 1; read as 0 (an object)", NOTED)
    return False


def _box(bbox: Any) -> tuple[list[float] | None, str]:
    """([x1, y1, x2, y2], "") of a COCO bbox, not yet cut to the image (its declared size
    may be wrong, or in the stored frame of an EXIF-rotated photo: the file's size decides),
    or (None, why): "zero-area ..." for a degenerate box, else an unreadable one (not 4
    finite numbers, or a negative width or height: no box at all)."""
    numbers = [_number(v) for v in bbox] if isinstance(bbox, list) and len(bbox) == 4 else [None]
    if any(v is None for v in numbers):
        return None, f"bbox must be 4 finite numbers [x, y, width, height], got {_short(bbox)}"
    x, y, w, h = numbers
    if w < 0 or h < 0:
        return None, f"negative box size (width {w:g}, height {h:g})"
    if w == 0 or h == 0:
        return None, f"zero-area box (width {w:g}, height {h:g})"
    return [x, y, x + w, y + h], ""


def _segmentation(
    seg: Any, path: Path, where: str, report: ImportReport, image: CocoImage | None = None
) -> Any:
    """The segmentation to keep, or None (no mask) when absent, empty or unusable."""
    if seg is None or seg == []:
        return None
    if isinstance(seg, dict):
        size, counts = seg.get("size"), seg.get("counts")
        size_ok = (
            isinstance(size, list) and len(size) == 2 and all(_is_int(v) and 0 < v < 2**31 for v in size)
        )
        counts_ok = isinstance(counts, str) or (
            isinstance(counts, list) and all(_is_int(v) and v >= 0 for v in counts)
        )
        if size_ok and counts_ok:
            if (
                image is not None
                and image.width
                and image.height
                and seg["size"] != [image.height, image.width]
            ):
                report.add(
                    path,
                    where,
                    f"RLE size {seg['size']} is not the image's [{image.height}, {image.width}]; mask left out",
                    SKIPPED,
                )
                return None
            damage = rle_damage(counts, seg["size"])
            if damage:
                report.add(path, where, f"RLE counts are damaged ({damage}); mask left out", SKIPPED)
                return None
            return seg
        report.add(
            path, where, "RLE segmentation needs 'counts' and a 'size' of 2 positive integers", SKIPPED
        )
        return None
    if isinstance(seg, list):
        polygons = []
        width, height = (image.width, image.height) if image is not None else (0, 0)
        for poly in seg:
            if not (
                isinstance(poly, list)
                and len(poly) >= 6
                and len(poly) % 2 == 0
                and all(_number(v) is not None for v in poly)
            ):
                report.add(
                    path, where, "polygon with too few points (or not numbers); mask part left out", SKIPPED
                )
            elif polygon_too_far(poly, width, height):
                report.add(path, where, far_polygon_message(poly, width, height), SKIPPED)
            else:
                polygons.append(poly)
        return polygons or None
    report.add(path, where, f"segmentation of an unknown form: {str(seg)[:60]}", SKIPPED)
    return None
