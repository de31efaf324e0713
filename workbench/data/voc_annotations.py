"""Pascal VOC annotation files (``Annotations/*.xml``, or each ``.xml`` beside its image).

Reference: the VOC2012 development kit, section "Annotation". Boxes are ``<bndbox>`` with
``xmin ymin xmax ymax`` in 1-based pixel numbers (the first column is 1); they become
0-based continuous corners as Detectron2 reads them: x1 = xmin - 1, y1 = ymin - 1,
x2 = xmax, y2 = ymax; an ``xmin`` or ``ymin`` below 1 but not negative (the 0 of the many
tools that write 0-based VOC) is the image's edge, x1 = 0. Coordinates may be written as floats. A ``<size>`` of 0 x 0 (or none)
means the size comes from the image file. ``<difficult>1</difficult>`` objects are kept and
flagged (VOC's evaluation ignores them).

Problems are reported with the file and the object's number; only the caller decides
what to do with a file that is refused (malformed XML).
"""

from __future__ import annotations

import math
import xml.etree.ElementTree as ET
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from workbench.data.file_probe import not_a_file, present
from workbench.data.import_report import DROPPED, NOTED, REFUSED, SKIPPED, ImportReport


@dataclass
class VocRecord:
    """One annotation file. ``filename``: the image named in it (may be empty);
    ``width``/``height``: pixels, 0 when unknown; ``boxes`` (N, 4) float32 x1, y1, x2, y2;
    ``names`` the N class names as written; ``difficult`` (N,) bool."""

    xml_path: Path
    filename: str
    width: int
    height: int
    boxes: np.ndarray = field(default_factory=lambda: np.zeros((0, 4), np.float32))
    names: list[str] = field(default_factory=list)
    difficult: np.ndarray = field(default_factory=lambda: np.zeros((0,), bool))
    lost: int = 0  # objects that could not be read: what the image holds is unknown
    places: list[str] = field(default_factory=list)  # "object 2" per kept box, for messages


def read_voc_xml(path: str | Path, report: ImportReport) -> VocRecord | None:
    """Parse one VOC XML file; None (reported as refused) when it is not well-formed XML
    or has no ``<annotation>`` root."""
    path = Path(path)
    if present(path) and (problem := not_a_file(path)) is not None:  # a FIFO here hung the read
        report.add(path, "", problem, REFUSED)
        return None
    try:
        root = ET.parse(path).getroot()
    except (ValueError, LookupError) as exc:  # a declared encoding expat cannot read (utf-32, utf-7)
        report.add(path, "", f"cannot read its declared encoding: {exc}", REFUSED)
        return None
    except ET.ParseError as exc:
        line, column = exc.position
        reason = str(exc).split(": line ")[0]  # expat's own words: "not well-formed (invalid token)"
        report.add(path, f"line {line}, column {column}", f"malformed XML: {reason}", REFUSED)
        return None
    except OSError as exc:
        report.add(path, "", f"cannot read: {exc.strerror or exc}", REFUSED)
        return None
    if root.tag != "annotation":
        report.add(path, "", f"root element is <{root.tag}>, not <annotation>", REFUSED)
        return None
    sizes = root.findall("size")
    width = _size(sizes, "width", path, report)
    height = _size(sizes, "height", path, report)
    filenames = _texts([root], "filename")
    if len(set(filenames)) > 1:  # which image the boxes belong to is unknown
        report.add(path, "", f"{len(filenames)} different <filename> ({_listed(filenames)})", REFUSED)
        return None
    record = VocRecord(path, filenames[0] if filenames else "", width, height)
    boxes, names, difficult = [], [], []
    for number, obj in enumerate(root.findall("object"), start=1):
        where = f"object {number}"
        # a tag written twice with different values: the first was used without a word, and
        # which is meant is unknown; written twice alike, it is read
        names_given = _texts([obj], "name")
        boxes_given = [_box_texts(b) for b in obj.findall("bndbox")]
        flags = [f.lower() for f in _texts([obj], "difficult")]
        differ = next(
            (
                (tag, shown)
                for tag, given, shown in (
                    ("name", names_given, names_given),
                    ("bndbox", boxes_given, [" ".join(b) for b in boxes_given]),
                    ("difficult", flags, flags),
                )
                if len(set(given)) > 1
            ),
            None,
        )
        if differ is not None:
            tag, shown = differ
            report.add(
                path, where, f"{len(shown)} different <{tag}> in one object ({_listed(shown)})", SKIPPED
            )
            continue
        name = (obj.findtext("name") or "").strip()
        if not name:
            report.add(path, where, "object without a <name>", SKIPPED)
            continue
        box = _box(obj.find("bndbox"), path, where, report)
        if box is None:
            continue
        boxes.append(box)
        names.append(name)
        record.places.append(where)
        flag = (obj.findtext("difficult") or "0").strip().lower()
        if flag not in ("0", "1", "true", "false", ""):
            report.add(path, where, f"<difficult> {flag!r} is not 0 or 1; read as 0", NOTED)
        difficult.append(flag in ("1", "true"))
    record.lost = report.skipped_in(path)  # objects that could not be read
    if boxes:
        record.boxes = np.array(boxes, np.float32)
        record.names = names
        record.difficult = np.array(difficult, bool)
    return record


def _texts(parents: list[ET.Element], tag: str) -> list[str]:
    """The stripped text of every ``<tag>`` child of ``parents``, in file order."""
    return [(child.text or "").strip() for parent in parents for child in parent.findall(tag)]


def _number_or_text(text: str) -> float | str:
    try:
        return float(text)
    except ValueError:
        return text


def _box_texts(bndbox: ET.Element) -> tuple[str, ...]:
    """A ``<bndbox>``'s corners as written (numbers compared as numbers), for telling two apart."""
    return tuple(
        str(_number_or_text(t)) for tag in ("xmin", "ymin", "xmax", "ymax") for t in _texts([bndbox], tag)
    )


def _listed(texts: list[str]) -> str:
    return ", ".join(repr(t) for t in texts[:3]) + (", …" if len(texts) > 3 else "")


def _size(sizes: list[ET.Element], tag: str, path: Path, report: ImportReport) -> int:
    """``<size><tag>`` in pixels; 0 (the image file's size is used) when absent, 0, not a
    positive number, or written twice with different values (the one meant is unknown),
    the last two reported: a tool that writes ``-3`` may write other nonsense."""
    texts = _texts(sizes, tag)
    if len(set(texts)) > 1:
        report.add(
            path,
            f"size/{tag}",
            f"{len(texts)} different values ({_listed(texts)}); the image's own size is used",
            NOTED,
        )
        return 0
    text = texts[0] if texts else ""
    try:
        value = float(text)
    except ValueError:
        value = None
    if value is not None and math.isfinite(value) and value > 0:
        return int(value)
    if text and value != 0:
        report.add(
            path, f"size/{tag}", f"{text!r} is not a positive number; the image's own size is used", NOTED
        )
    return 0


def _box(bndbox: ET.Element | None, path: Path, where: str, report: ImportReport) -> list[float] | None:
    if bndbox is None:
        report.add(path, where, "object without a <bndbox>", SKIPPED)
        return None
    values = []
    for tag in ("xmin", "ymin", "xmax", "ymax"):
        given = _texts([bndbox], tag)
        if len({_number_or_text(t) for t in given}) > 1:  # "82.0" and "82" are one value
            report.add(
                path, where, f"{len(given)} different <{tag}> in one <bndbox> ({_listed(given)})", SKIPPED
            )
            return None
        text = given[0] if given else ""
        if not text:
            report.add(path, where, f"empty or missing <{tag}>", SKIPPED)
            return None
        try:
            value = float(text)
        except ValueError:
            report.add(path, where, f"<{tag}> {text!r} is not a number", SKIPPED)
            return None
        if not math.isfinite(value):
            report.add(path, where, f"<{tag}> is NaN or infinite", SKIPPED)
            return None
        values.append(value)
    xmin, ymin, xmax, ymax = values
    # A 0 is a 0-based writer's first column or row (CVAT, most converters): VOC's own
    # numbering starts at 1, so read as 1-based it is one pixel past the edge, and every box
    # drawn to the left or top edge was reported "outside the image (clipped)". It is the edge.
    xmin, ymin = (1.0 if 0.0 <= v < 1.0 else v for v in (xmin, ymin))
    box = [xmin - 1.0, ymin - 1.0, xmax, ymax]
    if box[2] <= box[0] or box[3] <= box[1]:
        # swapped corners, not a degenerate box (1-based and inclusive: xmax = xmin - 1 is width 0)
        inverted = xmax < xmin - 1 or ymax < ymin - 1
        report.add(
            path,
            where,
            f"{'inverted' if inverted else 'zero-area'} box (xmin {xmin:g}, xmax {xmax:g}, ymin {ymin:g}, ymax {ymax:g})",
            # corners the wrong way round are no box: an object of unknown place (its image is
            # left out); a box of zero width is degenerate, dropped alone
            SKIPPED if inverted else DROPPED,
        )
        return None
    # not cut to <size> here: a wrong declaration (or the stored frame of an EXIF-rotated
    # photo) lost boxes inside the picture; the reader cuts them to the file's real size
    return box
