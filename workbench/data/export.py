"""``workbench data export``: write a data source's samples as COCO, Pascal VOC or YOLO.

Meant for the built-in shapes scenes (a set with known ground truth, to try an
importer or another tool on), it works for any source whose samples have boxes. Images
are written as PNG (lossless), so importing the export back gives the same pixels.

- COCO: ``annotations/instances_{train,val}.json`` + ``images/{train,val}/``; each
  object's mask as an RLE (pycocotools) of its class's pixels inside its box; crowd
  regions of a COCO source stay crowd regions (``iscrowd`` 1).
- Pascal VOC: ``Annotations/``, ``JPEGImages/`` (PNG files), ``SegmentationClass/``
  (palette PNGs, index = class + 1, 255 = ignore), ``ImageSets/Main/{train,val}.txt``
  and ``labelmap.txt`` (the class order, as CVAT writes it). Boxes in VOC's 1-based
  convention (xmin = x1 + 1), written with full float precision.
- YOLO: ``data.yaml`` + ``images/{train,val}/`` + ``labels/{train,val}/``; box lines
  (normalised centre and size, 9 decimals). Masks are not written: YOLO's polygons
  cannot hold them exactly.
"""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image

from workbench.data.base import IGNORE_INDEX
from workbench.fsutil import SaveFailed, atomic_write, atomic_write_text, write_reason

EXPORT_FORMATS = ("coco", "voc", "yolo")
SOURCES_FILE = "sources.csv"  # split, the written image's name, its original file (a set from files)


def export_dataset(
    splits: dict[str, Any],
    out: str | Path,
    fmt: str,
    progress: Callable[[str, int, int], None] | None = None,
) -> tuple[Path, list[str], list[str]]:
    """Write ``splits`` ({"train": dataset, "val": dataset}) to folder ``out`` in ``fmt``.

    Returns the path to point ``workbench data check`` or ``[data] path`` at, one line per
    sample left out because its image cannot be decoded, and notes on what the format cannot
    hold (COCO crowd regions: VOC and YOLO leave them out). Raises ValueError for an
    unknown format or a dataset without boxes, SaveFailed (naming the file) when writing
    fails; every file is written whole or not at all.
    """
    from workbench.data.image_io import ImageError

    if fmt not in EXPORT_FORMATS:
        raise ValueError(f"format must be one of {', '.join(EXPORT_FORMATS)}, got {fmt!r}")
    out = Path(out)
    splits = {split: boxes_part(dataset) for split, dataset in splits.items()}
    first = next(iter(splits.values()))
    if "boxes" not in first.info.target_keys:
        raise ValueError("this data has no boxes to export")
    names = list(first.info.class_names)
    writer = {"coco": _CocoWriter, "voc": _VocWriter, "yolo": _YoloWriter}[fmt](out, names)
    skipped = []
    crowds = 0
    sources: list[tuple[str, str, str]] = []
    for split, dataset in splits.items():
        records = getattr(dataset, "records", None)  # a set from files (generated scenes have none)
        for i in range(len(dataset)):
            try:
                sample = dataset.sample(i)
            except ImageError as exc:
                skipped.append(f"{split} image {i}: {exc}; left out")
            else:
                writer.add(split, f"{i:06d}", sample)
                crowds += len(sample.get("crowd_boxes", ()))
                if (
                    records is not None
                    and i < len(records)
                    and getattr(records[i], "image", None) is not None
                ):
                    sources.append((split, f"{i:06d}.png", str(records[i].image)))
            if progress is not None:
                progress(split, i + 1, len(dataset))
    notes = []
    if crowds and fmt != "coco":
        notes.append(
            f"{crowds} crowd region(s) (COCO iscrowd) not written: {fmt.upper()} has no crowd regions"
        )
    path = writer.finish()
    if sources:  # the written names are places in the split: say which file each one was
        import csv
        import io

        buf = io.StringIO()
        table = csv.writer(buf, lineterminator="\n")
        table.writerow(["split", "exported", "source"])
        table.writerows(sources)
        _write_text(out / SOURCES_FILE, buf.getvalue())
    return path, skipped, notes


def boxes_part(dataset: Any) -> Any:
    """The one source with boxes of several (``[[data.sources]]``, partial labels): an
    image of another source is unlabelled for boxes, not an image without objects, so only
    that source is written. Raises ValueError when no source or more than one has boxes."""
    parts = getattr(dataset, "parts", None)
    if parts is None:
        return dataset
    with_boxes = [d for d, keys in parts if "boxes" in keys]
    if not with_boxes:
        raise ValueError("no data source of this experiment has boxes to export")
    if len(with_boxes) > 1:
        raise ValueError(
            f"{len(with_boxes)} data sources have boxes; export one at a time (a config with that source alone)"
        )
    return with_boxes[0]


def _write_text(path: Path, text: str) -> None:
    """Whole or not at all (a full disk leaves no half file); SaveFailed names the file."""
    _folder(path)
    atomic_write_text(path, text)


def _folder(path: Path) -> None:
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise SaveFailed(path.parent, write_reason(path.parent, exc)) from exc


def _save_png(path: Path, pixels: np.ndarray, palette: list[int] | None = None) -> None:
    _folder(path)
    img = Image.fromarray(pixels)
    if palette is not None:
        img = img.convert("P") if img.mode != "P" else img
        img.putpalette(palette)
    atomic_write(path, lambda fh: img.save(fh, format="PNG"))


def _palette(num_classes: int) -> list[int]:
    """VOC-like colours: background black, classes distinct, 255 white."""
    colours = [0, 0, 0]
    for c in range(1, 256):
        if c == IGNORE_INDEX:
            colours += [224, 224, 192]
        else:
            r = g = b = 0
            v = c
            for bit in range(8):
                r |= ((v >> 0) & 1) << (7 - bit)
                g |= ((v >> 1) & 1) << (7 - bit)
                b |= ((v >> 2) & 1) << (7 - bit)
                v >>= 3
            colours += [r, g, b]
    return colours


def _box_rle(mask: np.ndarray, box: list[float], value: int) -> dict[str, Any]:
    """COCO's compressed RLE of the pixels of ``mask`` equal to ``value`` inside ``box``."""
    from pycocotools import mask as mask_utils

    x1, y1, x2, y2 = box
    own = np.zeros(mask.shape, np.uint8, order="F")
    r0, r1 = int(np.floor(y1)), int(np.ceil(y2))
    c0, c1 = int(np.floor(x1)), int(np.ceil(x2))
    own[r0:r1, c0:c1] = mask[r0:r1, c0:c1] == value
    rle = mask_utils.encode(np.asfortranarray(own))
    return {"size": rle["size"], "counts": rle["counts"].decode("ascii")}


class _CocoWriter:
    def __init__(self, out: Path, names: list[str]) -> None:
        self.out, self.names = out, names
        self.data: dict[str, dict[str, Any]] = {}
        self.next_ann = 1

    def add(self, split: str, stem: str, s: dict[str, Any]) -> None:
        d = self.data.setdefault(split, {"images": [], "annotations": []})
        image = s["image"]
        h, w = image.shape[:2]
        file_name = f"{split}/{stem}.png"
        _save_png(self.out / "images" / file_name, image)
        image_id = len(d["images"]) + 1
        d["images"].append({"id": image_id, "file_name": file_name, "width": w, "height": h})
        mask = s.get("mask")
        # objects, then crowd regions (a COCO source's iscrowd groups), each with its pixels
        # inside its box: its class's for an object, the ignored ones for a crowd
        regions = [
            (box, label, 0) for box, label in zip(s["boxes"].tolist(), s["labels"].tolist(), strict=True)
        ]
        regions += [
            ([float(v) for v in box], int(label), 1)
            for box, label in zip(s.get("crowd_boxes", ()), s.get("crowd_labels", ()), strict=True)
        ]
        for box, label, crowd in regions:
            x1, y1, x2, y2 = box
            ann = {
                "id": self.next_ann,
                "image_id": image_id,
                "category_id": int(label) + 1,
                "bbox": [x1, y1, x2 - x1, y2 - y1],
                "area": (x2 - x1) * (y2 - y1),
                "iscrowd": crowd,
                "segmentation": [],
            }
            if mask is not None:
                ann["segmentation"] = _box_rle(mask, box, IGNORE_INDEX if crowd else label + 1)
            elif crowd:
                del ann["segmentation"]  # a crowd without pixels: its box (our reader's rule)
            d["annotations"].append(ann)
            self.next_ann += 1

    def finish(self) -> Path:
        folder = self.out / "annotations"
        # COCO's categories carry a supercategory; the workbench knows none, and invents none
        categories = [{"id": i + 1, "name": n, "supercategory": ""} for i, n in enumerate(self.names)]
        for split, d in self.data.items():
            d["categories"] = categories
            _write_text(folder / f"instances_{split}.json", json.dumps(d))
        return folder / "instances_train.json"


class _VocWriter:
    def __init__(self, out: Path, names: list[str]) -> None:
        self.out, self.names = out, names
        self.ids: dict[str, list[str]] = {}
        self.palette = _palette(len(names))

    def add(self, split: str, stem: str, s: dict[str, Any]) -> None:
        image_id = f"{split}_{stem}"
        self.ids.setdefault(split, []).append(image_id)
        image = s["image"]
        h, w = image.shape[:2]
        _save_png(self.out / "JPEGImages" / f"{image_id}.png", image)
        if s.get("mask") is not None:
            _save_png(
                self.out / "SegmentationClass" / f"{image_id}.png", s["mask"].astype(np.uint8), self.palette
            )
        root = ET.Element("annotation")
        ET.SubElement(root, "filename").text = f"{image_id}.png"
        size = ET.SubElement(root, "size")
        for tag, value in (("width", w), ("height", h), ("depth", 3)):
            ET.SubElement(size, tag).text = str(value)
        for box, label in zip(s["boxes"].tolist(), s["labels"].tolist(), strict=True):
            obj = ET.SubElement(root, "object")
            ET.SubElement(obj, "name").text = self.names[int(label)]
            ET.SubElement(obj, "difficult").text = "0"
            bnd = ET.SubElement(obj, "bndbox")
            x1, y1, x2, y2 = box
            for tag, value in (("xmin", x1 + 1.0), ("ymin", y1 + 1.0), ("xmax", x2), ("ymax", y2)):
                ET.SubElement(bnd, tag).text = repr(float(value))
        path = self.out / "Annotations" / f"{image_id}.xml"
        _folder(path)
        atomic_write(path, lambda fh: ET.ElementTree(root).write(fh, encoding="utf-8", xml_declaration=True))

    def finish(self) -> Path:
        main = self.out / "ImageSets" / "Main"
        for split, ids in self.ids.items():
            _write_text(main / f"{split}.txt", "".join(f"{i}\n" for i in ids))
        lines = ["# label:color_rgb:parts:actions", "background:0,0,0::"]
        for i, name in enumerate(self.names, start=1):
            r, g, b = self.palette[3 * i : 3 * i + 3]
            lines.append(f"{name}:{r},{g},{b}::")
        _write_text(self.out / "labelmap.txt", "\n".join(lines) + "\n")
        return self.out


class _YoloWriter:
    def __init__(self, out: Path, names: list[str]) -> None:
        self.out, self.names = out, names
        self.splits: set[str] = set()

    def add(self, split: str, stem: str, s: dict[str, Any]) -> None:
        self.splits.add(split)
        image = s["image"]
        h, w = image.shape[:2]
        _save_png(self.out / "images" / split / f"{stem}.png", image)
        lines = []
        for box, label in zip(s["boxes"].tolist(), s["labels"].tolist(), strict=True):
            x1, y1, x2, y2 = box
            cx, cy, bw, bh = (x1 + x2) / 2 / w, (y1 + y2) / 2 / h, (x2 - x1) / w, (y2 - y1) / h
            lines.append(f"{int(label)} {cx:.9f} {cy:.9f} {bw:.9f} {bh:.9f}")
        path = self.out / "labels" / split / f"{stem}.txt"
        _write_text(path, "".join(f"{line}\n" for line in lines))

    def finish(self) -> Path:
        import yaml

        data = {"path": ".", "names": list(self.names)}
        for split in sorted(self.splits):
            data[split] = f"images/{split}"
        path = self.out / "data.yaml"
        _write_text(path, yaml.safe_dump(data, sort_keys=False))
        return path
