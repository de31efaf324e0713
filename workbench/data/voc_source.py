"""Source "voc": Pascal VOC folders, or XML files beside their images.

Standard layout: ``Annotations/*.xml``, ``JPEGImages/``, splits in ``ImageSets/Main/`` (or
``ImageSets/Segmentation/``) ``train.txt`` / ``val.txt``, and semantic masks in
``SegmentationClass/<id>.png`` (palette PNGs, 255 = ignore). The common export variant
keeps each ``.xml`` beside its image (to any depth). Boxes come from
:mod:`workbench.data.voc_annotations` (1-based to 0-based, float coordinates, empty tags
reported). When the XML gives no size (0 x 0) the image file's size is used and boxes are
clipped to it.

Classes (and so what a mask index v means: class v - 1): those of a ``labelmap.txt``
beside Annotations/ in its order (CVAT's export; names found only in the XML follow,
noted); else, with a SegmentationClass folder and every name one of the 20 Pascal VOC
classes, those 20 in VOC's order (the benchmark's indices); else the names found, sorted.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image

from workbench.data.annotated_set import AnnotatedSet, ImageRecord
from workbench.data.class_names import names_text
from workbench.data.file_probe import is_file, not_a_file, present, probe_size, read_list
from workbench.data.image_set_options import ImageSetOptions
from workbench.data.import_report import NOTED, REFUSED, SKIPPED, ImportReport, clip_box, objects_unknown
from workbench.data.real_dataset import register_image_source
from workbench.data.semantic_mask import WIDE_MASK_MODES, narrow_mask
from workbench.data.source import DataSourceError
from workbench.data.voc_annotations import VocRecord, read_voc_xml
from workbench.data.yolo_dataset_yaml import IMAGE_SUFFIXES

VOC_CLASSES = (
    "aeroplane", "bicycle", "bird", "boat", "bottle", "bus", "car", "cat", "chair", "cow",
    "diningtable", "dog", "horse", "motorbike", "person", "pottedplant", "sheep", "sofa",
    "train", "tvmonitor",
)  # fmt: skip


@dataclass
class VocOptions(ImageSetOptions):
    pass


def has_voc_xml(folder: Path) -> bool:
    """An Annotations/ folder, or some .xml file (to 2 levels down) with an <annotation> root."""
    if (folder / "Annotations").is_dir():
        return True
    for candidate in [*folder.glob("*.xml"), *folder.glob("*/*.xml")][:50]:
        try:
            with candidate.open(encoding="utf-8", errors="replace") as f:
                if "<annotation" in f.read(4096):
                    return True
        except OSError:
            continue
    return False


def _image_file(filename: str, image_id: str, folders: list[Path]) -> Path | None:
    for folder in folders:
        if filename and is_file(folder / filename):
            return folder / filename
        for suffix in IMAGE_SUFFIXES:
            for candidate in (folder / f"{image_id}{suffix}", folder / f"{image_id}{suffix.upper()}"):
                if is_file(candidate):
                    return candidate
    return None


def _unusable_image(filename: str, image_id: str, folders: list[Path]) -> tuple[Path, str] | None:
    """The first path where ``_image_file`` looked that holds something other than a
    regular file, and why it is no image; None when nothing is there."""
    for folder in folders:
        names = [filename] if filename else []
        names += [f"{image_id}{s}" for s in IMAGE_SUFFIXES] + [
            f"{image_id}{s.upper()}" for s in IMAGE_SUFFIXES
        ]
        for name in names:
            candidate = folder / name
            if present(candidate) and (why := not_a_file(candidate)) is not None:
                return candidate, why
    return None


def _split_ids(path: Path, records: dict[str, VocRecord], report: ImportReport) -> dict[str, list[str]]:
    splits: dict[str, list[str]] = {}
    for folder in ("Main", "Segmentation"):
        for split in ("train", "val"):
            listing = path / "ImageSets" / folder / f"{split}.txt"
            if not present(listing):
                continue
            if (problem := not_a_file(listing)) is not None and split not in splits:
                # a folder, pipe or loop named like the list: the split is named but cannot
                # be read, so it holds nothing (it vanished, its images unused, unsaid)
                report.add(listing, "", problem, REFUSED)
                splits[split] = []
                continue
            if problem is not None:
                continue
            if split in splits:  # both Main/ and Segmentation/ list this split: Main's is used
                report.add(
                    listing,
                    "",
                    f"ImageSets/Main/{split}.txt is used for the {split} split, not this list",
                    NOTED,
                )
                continue
            lines = read_list(listing, report)
            if lines is None:  # reported: a named split that cannot be read holds nothing
                splits[split] = []
                continue
            ids: list[str] = []
            for number, line in enumerate(lines, start=1):
                if not line.strip() or line.lstrip().startswith("#"):
                    continue
                # an id is the line's first word ("2008_000123 -1" in a class list), unless
                # the whole line names an image: ids with spaces ("ä b 02") were cut
                whole = line.strip()
                image_id = whole if whole in records else line.split()[0]
                if image_id not in records and whole != image_id:
                    image_id = whole  # say the line as written, not its first word
                if image_id in ids:
                    report.add(listing, f"line {number}", f"{image_id} is listed again", SKIPPED)
                elif image_id in records:
                    ids.append(image_id)
                elif is_file(xml := path / "Annotations" / f"{image_id}.xml"):
                    # it has one, refused above (malformed, no usable size ...): say that
                    report.add(
                        listing,
                        f"line {number}",
                        f"names {image_id}, whose annotation {xml.relative_to(path)} could not be used",
                        SKIPPED,
                    )
                else:
                    report.add(
                        listing, f"line {number}", f"names {image_id}, which has no annotation", SKIPPED
                    )
            splits[split] = ids
    main = path / "ImageSets" / "Main"
    if not splits and main.is_dir():
        per_class = sorted(
            p.name for p in main.glob("*_*.txt") if p.stem.rsplit("_", 1)[-1] in ("train", "val")
        )
        if per_class:  # VOC's class lists hold the split too, but only train.txt / val.txt are read
            report.add(
                main,
                "",
                f"per-class lists ({per_class[0]} ...) but no train.txt or val.txt: the set is split by "
                "val_fraction instead; write train.txt and val.txt (an image id a line) to keep this split",
                NOTED,
            )
    return splits


def _labelmap(path: Path, report: ImportReport) -> list[tuple[str, tuple[int, int, int] | None]] | None:
    """(class name, RGB colour or None) in mask-index order from a CVAT-style
    ``labelmap.txt`` (``name:r,g,b:parts:actions`` per line; ``background`` first, left out)."""
    lines = read_list(path, report)
    if lines is None:
        return None
    out: list[tuple[str, tuple[int, int, int] | None]] = []
    for line in lines:
        text = line.strip()
        if not text or text.startswith("#"):
            continue
        fields = text.split(":")
        name = fields[0].strip()
        colour = _colour(fields[1]) if len(fields) > 1 else None
        if name and name != "background" and name not in [n for n, _ in out]:
            out.append((name, colour))
    return out


def _colour(text: str) -> tuple[int, int, int] | None:
    parts = text.split(",")
    if len(parts) == 3 and all(p.strip().isdigit() and int(p) < 256 for p in parts):
        r, g, b = (int(p) for p in parts)
        return r, g, b
    return None


def _mask_ok(mask_file: Path, width: int, height: int, rgb_ok: bool, report: ImportReport) -> bool:
    """A SegmentationClass file fit to use (its header: a class mask of the image's size);
    else reported, and the image is kept without a mask."""
    if (problem := not_a_file(mask_file)) is not None:
        report.add(mask_file, "", f"{problem}; the image is kept without a mask", SKIPPED)
        return False
    wide = ""  # a 16-bit mask's values that fit no class index
    try:
        with Image.open(mask_file) as img:
            mode, size = img.mode, img.size
            if mode in WIDE_MASK_MODES:  # its values are checked now, not mid-training
                try:
                    narrow_mask(img)
                except ValueError as exc:
                    wide = str(exc)
    except (OSError, ValueError) as exc:
        report.add(mask_file, "", f"unreadable mask ({exc}); the image is kept without a mask", SKIPPED)
        return False
    if wide:
        report.add(mask_file, "", f"{wide}; the image is kept without a mask", SKIPPED)
        return False
    if mode not in ("P", "L", *WIDE_MASK_MODES) and not (rgb_ok and mode in ("RGB", "RGBA")):
        hint = (
            ""
            if rgb_ok or mode not in ("RGB", "RGBA")
            else " (an RGB mask needs a labelmap.txt with the colours)"
        )
        report.add(
            mask_file, "", f"mode {mode} is not a class mask{hint}; the image is kept without a mask", SKIPPED
        )
        return False
    if size != (width, height):
        report.add(
            mask_file,
            "",
            f"mask is {size[0]}x{size[1]} but its image is {width}x{height}; the image is kept without a mask",
            SKIPPED,
        )
        return False
    return True


def read_voc_set(path: str | Path, options: VocOptions | None = None) -> AnnotatedSet:
    """Read the VOC set in folder ``path``. Raises DataSourceError."""
    path = Path(path)
    if not path.is_dir():
        raise DataSourceError(f"{path}: a Pascal VOC set is a folder")
    report = ImportReport()
    annotations = path / "Annotations"
    standard = annotations.is_dir()
    xmls = (
        sorted(annotations.glob("*.xml"))
        if standard
        else sorted(p for p in path.rglob("*.xml") if not p.name.startswith("."))
    )
    records: dict[str, VocRecord] = {}
    for xml in xmls:
        record = read_voc_xml(xml, report)
        if record is not None:  # ids are file stems in the standard layout, else the path
            records[xml.stem if standard else str(xml.relative_to(path))] = record
    found = {n for r in records.values() for n in r.names}
    hard = sum(int(r.difficult.sum()) for r in records.values())
    if hard:  # legal and common (VOC2007 marks ~10 %); said once, for the whole set
        report.add(
            path,
            "difficult",
            f"{hard} object(s) marked <difficult>: trained and scored like the others "
            "(VOC's own evaluation leaves them out)",
            NOTED,
        )
    with_masks = standard and (path / "SegmentationClass").is_dir()
    labelmap_path = path / "labelmap.txt"
    labelmap = None
    if present(labelmap_path):
        if (problem := not_a_file(labelmap_path)) is not None:
            report.add(labelmap_path, "", problem, REFUSED)
        else:
            labelmap = _labelmap(labelmap_path, report)
            if labelmap == []:
                report.add(labelmap_path, "", "lists no class", REFUSED)
        if not labelmap and with_masks:
            # it says what each mask index means: without it VOC's 20 classes were assumed,
            # and a cat/dog/bird set's index 1 trained as "aeroplane", without a word
            with_masks = False
            report.add(
                path / "SegmentationClass",
                "",
                "masks left out: labelmap.txt, which says what their indices mean, cannot be used; "
                "mend it or remove it",
                REFUSED,
            )
    listed = [name for name, _ in labelmap] if labelmap else None
    if listed:
        names = listed + sorted(found - set(listed))
        for extra in sorted(found - set(listed)):
            report.add(
                path / "labelmap.txt", "", f"class {extra!r} is in the annotations but not listed", NOTED
            )
    elif with_masks and found <= set(VOC_CLASSES) and found:
        names = list(VOC_CLASSES)
    else:
        names = sorted(found)
        strangers = sorted(found - set(VOC_CLASSES))
        if with_masks and found & set(VOC_CLASSES) and strangers:
            # one misspelt name changes what every mask index means: said, with the way out
            report.add(
                path,
                "classes",
                f"{names_text(strangers, 3)} {'is' if len(strangers) == 1 else 'are'} not among VOC's 20 "
                "classes, so the classes are the names sorted, not VOC's order, and the "
                "SegmentationClass indices are read in that order; a labelmap.txt gives the order",
                NOTED,
            )
    index = {n: i for i, n in enumerate(names)}
    colours = (
        {colour: names.index(name) + 1 for name, colour in labelmap if colour is not None}
        if labelmap
        else None
    )
    if colours is not None:
        colours[(0, 0, 0)] = 0  # background
    ids_by_split = _split_ids(path, records, report) or {"all": list(records)}
    image_dirs = [path / "JPEGImages", path] if standard else []
    splits: dict[str, list[ImageRecord]] = {}
    for split, ids in ids_by_split.items():
        out = []
        for image_id in ids:
            voc = records[image_id]
            image = _image_file(voc.filename, Path(image_id).stem, image_dirs or [voc.xml_path.parent])
            if image is None:
                # something there by the name, but no file (a folder, pipe or loop): said as such
                there = _unusable_image(
                    voc.filename, Path(image_id).stem, image_dirs or [voc.xml_path.parent]
                )
                said = (
                    f"its image {there[0]} is {there[1]}"
                    if there
                    else (f"its image ({voc.filename or image_id}) is missing")
                )
                report.add(voc.xml_path, "", said, SKIPPED)
                continue
            if voc.lost:
                objects_unknown(report, voc.xml_path, image, voc.lost)
                continue
            size = probe_size(image, report)
            if size is None:
                continue
            width, height = size
            if voc.width and voc.height and (voc.width, voc.height) != (width, height):
                report.add(
                    voc.xml_path,
                    "size",
                    f"declares {voc.width}x{voc.height} but the image is {width}x{height}; boxes checked against the image's size",
                    NOTED,
                )
            boxes, labels = [], []
            for number, (box, name) in enumerate(zip(voc.boxes.tolist(), voc.names, strict=True), start=1):
                # the object's number in the file, not among the boxes kept
                where = voc.places[number - 1] if number <= len(voc.places) else f"object {number}"
                box = clip_box(box, width, height, report, voc.xml_path, where)
                if box is not None:
                    boxes.append(box)
                    labels.append(index[name])
            mask_file = path / "SegmentationClass" / f"{Path(image_id).stem}.png"
            has_mask = (
                standard
                and with_masks
                and present(mask_file)  # a folder, pipe or loop is said, not taken for no mask
                and _mask_ok(mask_file, width, height, colours is not None, report)
            )
            out.append(
                ImageRecord(
                    image,
                    width,
                    height,
                    np.array(boxes, np.float32).reshape(-1, 4),
                    np.array(labels, np.int64),
                    [None] * len(labels),
                    mask_file if has_mask else None,
                )
            )
        splits[split] = out
    return AnnotatedSet("voc", path, names, splits, report, colours).audit()


register_image_source(
    "voc",
    "Pascal VOC (XML)",
    "Pascal VOC Annotations/*.xml (or XML beside each image), with SegmentationClass masks.",
    VocOptions,
    read_voc_set,
)
