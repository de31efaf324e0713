"""Source "coco": a COCO instances JSON file and its image folder.

Boxes, polygon and RLE masks (``iscrowd`` too) and contiguous class ids come from
:mod:`workbench.data.coco_instances`. The image root is ``image_root`` when given, else
where most listed files are found: beside the JSON, in ``images/`` next to it or next to
its folder, or in a folder named after the file's split (``instances_val2017.json`` ->
``val2017/``). Validation images come from ``val_annotations`` (a second JSON with the
same categories; ``instances_train*.json`` finds its ``instances_val*.json`` partner by
itself) or from a seeded share of the first file.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from workbench.config import setting
from workbench.data.annotated_set import AnnotatedSet, ImageRecord
from workbench.data.class_names import names_text
from workbench.data.coco_instances import CocoError, far_polygon_message, load_coco, polygon_too_far
from workbench.data.file_probe import is_file, not_a_file, present, probe_size, same_file_key
from workbench.data.image_set_options import ImageSetOptions
from workbench.data.import_report import NOTED, SKIPPED, ImportReport, clip_box, objects_unknown
from workbench.data.real_dataset import register_image_source
from workbench.data.source import DataSourceError


@dataclass
class CocoOptions(ImageSetOptions):
    image_root: str = setting(
        "",
        "Image folder",
        "Folder the file_name entries are relative to; empty: found beside the JSON.",
        is_path=True,
        path_kind="folder",
    )
    val_annotations: str = setting(
        "",
        "Validation JSON",
        "A second COCO file for validation; empty: a held-out share of the first.",
        is_path=True,
        path_kind="file",
    )


def find_coco_json(folder: Path) -> Path | None:
    """A COCO instances file in ``folder`` or its ``annotations/`` folder (instances_* first;
    captions and keypoint files without categories are passed over)."""
    candidates = [*sorted(folder.glob("*.json")), *sorted((folder / "annotations").glob("*.json"))]
    candidates = [p for p in candidates if is_file(p)]  # opening a FIFO named x.json waits for ever
    candidates.sort(key=lambda p: not p.name.startswith("instances"))
    for candidate in candidates:
        try:
            with candidate.open(encoding="utf-8-sig", errors="replace") as f:
                head = f.read(65536)
        except OSError:
            continue
        if head.lstrip().startswith("{") and '"images"' in head and '"categories"' in head:
            return candidate
    for candidate in candidates:  # categories far down a big file
        try:
            with candidate.open(encoding="utf-8-sig", errors="replace") as f:
                if '"images"' in f.read(65536):
                    return candidate
        except OSError:
            continue
    return None


def coco_image_root(json_path: Path, file_names: list[str]) -> Path:
    """Where most of the images are: beside the JSON, in ``images/`` next to it or next to
    its folder, or in a folder named after the file's split, judged on up to 200 names
    spread over the list."""
    split = json_path.stem.split("_")[-1]
    parents = [json_path.parent, json_path.parent.parent]
    candidates = [json_path.parent] + [p / name for p in parents for name in ("images", split) if name]
    step = max(1, len(file_names) // 200)
    sample = file_names[::step][:200]
    best, best_count = json_path.parent, 0
    for root in candidates:
        count = sum(is_file(root / name) for name in sample)
        if count > best_count:
            best, best_count = root, count
    return best


def _records(json_path: Path, image_root: str, report: ImportReport) -> tuple[list[str], list[ImageRecord]]:
    try:
        coco = load_coco(json_path, report)
    except CocoError as exc:
        raise DataSourceError(str(exc)) from None
    root = (
        Path(image_root) if image_root else coco_image_root(json_path, [im.file_name for im in coco.images])
    )
    records = []
    crowds = 0
    paths = []
    for im in coco.images:
        path = root / im.file_name
        if "\\" in im.file_name and not path.exists():  # written on Windows: sub\a.png
            path = root / im.file_name.replace("\\", "/")
        paths.append(path)
    # a file with objects that cannot be read is left out under every listing of it: kept
    # under another image id, it would teach background over those objects all the same
    unknown = {
        _same_file_key(path): im.image_id for im, path in zip(coco.images, paths, strict=True) if im.lost
    }
    for im, path in zip(coco.images, paths, strict=True):
        if im.lost:
            objects_unknown(report, json_path, path, im.lost, im.first_lost)
            continue
        if (other := unknown.get(_same_file_key(path))) is not None:
            report.add(
                json_path,
                f"image {im.image_id}",
                f"{path.name} is listed again as image {other}, whose objects cannot be read: left out "
                "under both",
                SKIPPED,
            )
            continue
        size = probe_size(path, report)
        if size is None:
            continue
        width, height = size
        if (im.width and im.width != width) or (im.height and im.height != height):
            report.add(
                json_path,
                f"image {im.image_id}",
                f"declared {im.width}x{im.height} but the file is {width}x{height}; "
                "annotations checked against the file's size",
                NOTED,
            )
        # every box is cut to the file's real (upright) size, not to the declared one: a
        # wrong declaration (or the stored frame of an EXIF-rotated photo) lost boxes that
        # lie inside the picture; what lies outside it is cut or left out, and said
        keep, boxes = _fit_boxes(im, width, height, report, json_path)
        labels, crowd = im.labels[keep], im.crowd[keep] if len(im.crowd) == len(im.labels) else im.crowd
        segmentations = [im.segmentations[k] for k in keep] if len(im.segmentations) == len(im.labels) else []
        # every mask against the file's real (upright) size too: a declared one may be wrong
        segmentations = [
            _mask_for_file(m, width, height, report, json_path, im.places[k] if k < len(im.places) else "")
            for k, m in zip(keep, segmentations, strict=True)
        ]
        ignore = []
        if len(crowd) == len(labels) and crowd.any():  # as pycocotools: a crowd is no object
            crowds += int(crowd.sum())
            ignore = [(boxes[k], segmentations[k], int(labels[k])) for k in np.flatnonzero(crowd)]
            objects = np.flatnonzero(~crowd)
            boxes, labels = boxes[objects], labels[objects]
            segmentations = [segmentations[k] for k in objects]
        records.append(ImageRecord(path, width, height, boxes, labels, segmentations, ignore=ignore))
    if crowds:
        report.add(
            json_path,
            "",
            f"{crowds} crowd region(s) (iscrowd = 1) are not objects: not trained on as detections, "
            "left out of counting and the class counts; a detection on one is neither a hit nor a "
            "false positive in mAP (as pycocotools), and their pixels are ignored for segmentation",
            NOTED,
        )
    return coco.class_names, records


def _same_file_key(path: Path) -> str:
    """One key for every name of one file (a link, ``a/../b``), as the audit compares them."""
    return same_file_key(path)


def _fit_boxes(im, width, height, report, json_path) -> tuple[list[int], np.ndarray]:
    """The objects of ``im`` with a box inside the ``width`` x ``height`` file (their
    indices) and those boxes cut to it."""
    kept, fitted = [], []
    for k, box in enumerate(im.boxes.tolist()):
        where = im.places[k] if k < len(im.places) else f"image {im.image_id}, object {k + 1}"
        box = clip_box(box, width, height, report, json_path, where)
        if box is not None:
            kept.append(k)
            fitted.append(box)
    return kept, np.array(fitted, np.float32).reshape(-1, 4)


def _mask_for_file(segmentation, width, height, report, json_path, where):
    """The segmentation checked against the image file's real size (the JSON did not give
    it, or gave another): an RLE of another size, or a polygon reaching far outside,
    is left out (the object keeps its box)."""
    if isinstance(segmentation, dict) and segmentation.get("size") != [height, width]:
        report.add(
            json_path,
            where,
            f"RLE size {segmentation.get('size')} is not the image's [{height}, {width}]; mask left out",
            SKIPPED,
        )
        return None
    if isinstance(segmentation, list):
        kept = []
        for poly in segmentation:
            if polygon_too_far(poly, width, height):
                report.add(json_path, where, far_polygon_message(poly, width, height), SKIPPED)
            else:
                kept.append(poly)
        return kept or None
    return segmentation


def _split_word(name: str, split: str) -> bool:
    """Whether a file name names ``split`` ("instances_val2017.json": val; "interval": not)."""
    return re.search(rf"(?<![a-z]){split}", name.lower()) is not None


def _partners(json_path: Path, own: str, other: str) -> list[Path]:
    """The files beside ``json_path`` that may hold its ``other`` split: its name with
    ``own`` put as ``other`` first (where anything is there), then every other .json whose
    name says ``other`` after the same start (instances_val.json beside
    instances_train2017.json; never captions_train2017.json or person_keypoints_*)."""
    exact = json_path.with_name(re.sub(rf"(?<![a-zA-Z]){own}", other, json_path.name, count=1, flags=re.I))
    found = re.search(rf"(?<![a-z]){own}", json_path.name.lower())
    start = json_path.name[: found.start()].lower() if found else ""
    others = sorted(
        p
        for p in json_path.parent.glob("*.json")
        if p != exact
        and p != json_path
        and p.name.lower().startswith(start)
        and _split_word(p.name[len(start) :], other)
    )
    return [exact, *others] if present(exact) else others


def _refuse_broken(candidates: list[Path], what: str, beside: Path) -> None:
    """A folder, a pipe, a broken or looping link where the set's other file belongs."""
    for candidate in candidates:
        why = not_a_file(candidate) if present(candidate) else None
        if why is not None:
            raise DataSourceError(f"{candidate}: {why} (the {what} annotations beside {beside.name})")


def _val_partner(json_path: Path, report: ImportReport) -> Path | None:
    """The validation file of ``instances_train2017.json``: ``instances_val2017.json``
    beside it, else the one other val-named .json there (noted); None when none is."""
    if not _split_word(json_path.name, "train"):
        return None
    exact = json_path.with_name(re.sub(r"(?<![a-zA-Z])train", "val", json_path.name, count=1, flags=re.I))
    _refuse_broken([exact], "validation", json_path)  # the one its name points to, not a file
    files = [c for c in _partners(json_path, "train", "val") if is_file(c)]
    if not files:
        return None
    if files[0] == exact:
        return exact
    if len(files) == 1:
        report.add(
            json_path, "", f"paired with {files[0].name} beside it as its validation annotations", NOTED
        )
        return files[0]
    report.add(
        json_path,
        "",
        f"{len(files)} validation files beside it ({', '.join(f.name for f in files[:3])}): none is read; "
        "give one as the validation JSON",
        NOTED,
    )
    return None


def read_coco_set(path: str | Path, options: CocoOptions | None = None) -> AnnotatedSet:
    """Read the COCO set at ``path`` (a .json, or a folder holding one). Raises DataSourceError."""
    options = options or CocoOptions()
    path = Path(path)
    if path.is_dir() and path.suffix.lower() == ".json":
        raise DataSourceError(f"{path}: a folder, not a file; expected a COCO instances .json")
    # not a folder but something: the file itself (a pipe or a loop is said as what it is)
    json_path = find_coco_json(path) if path.is_dir() else path if present(path) else None
    if json_path is None:
        raise DataSourceError(f"{path}: no COCO instances .json found")
    report = ImportReport()
    if _split_word(json_path.name, "val") and not _split_word(json_path.name, "train"):
        # a val file: from a folder, found because its train partner was not recognised
        # (that one is damaged, and the set must not quietly become its validation images
        # alone); given by its own path, used as the user chose, and said
        candidates = _partners(json_path, "val", "train")
        _refuse_broken(candidates, "training", json_path)
        train = next((c for c in candidates if is_file(c)), None)
        if train is not None and path.is_dir():
            try:
                load_coco(train, ImportReport())
            except CocoError as exc:
                raise DataSourceError(f"{exc} (the training annotations beside {json_path.name})") from None
            json_path = train
        elif path.is_dir():
            report.add(
                json_path,
                "",
                "the only annotations found are validation ones (no training file such as "
                f"{json_path.name.replace('val', 'train', 1)} beside it): its images are split into train and val",
                NOTED,
            )
        else:
            report.add(
                json_path,
                "",
                "validation annotations used as the whole set, its images split into train and val "
                "(to keep them apart, give the training file with this one as the validation JSON)",
                NOTED,
            )
    names, records = _records(json_path, options.image_root, report)
    splits = {"all": records}
    val_path = Path(options.val_annotations) if options.val_annotations else _val_partner(json_path, report)
    if val_path is not None:
        val_names, val_records = _records(val_path, options.image_root, report)
        if val_names != names:
            raise DataSourceError(
                f"{val_path}: its categories ({names_text(val_names, 5)}) differ from "
                f"{json_path.name}'s ({names_text(names, 5)})"
            )
        splits = {"train": records, "val": val_records}
    return AnnotatedSet("coco", json_path, names, splits, report).audit()


register_image_source(
    "coco",
    "COCO instances (JSON)",
    "A COCO instances .json with boxes, polygons or RLE masks, and its images.",
    CocoOptions,
    read_coco_set,
)
