"""``workbench data check``: what is in an annotated image set, and what is wrong with it.

Detects the format (COCO JSON, Pascal VOC, YOLO, image folders), reads every annotation
with the format's reader and opens every image's header (not the whole image: a check of
thousands of files stays quick), then summarises images, objects and classes per split
and lists each problem with its file and place. A set is usable when some split has
images and there is at least one class; otherwise :class:`DatasetError` says why.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import yaml
from PIL import Image, UnidentifiedImageError

from workbench.data.coco_instances import CocoError, load_coco
from workbench.data.image_folders import FolderError, read_image_folders
from workbench.data.import_report import NOTED, REFUSED, SKIPPED, ImportReport, one_line
from workbench.data.voc_annotations import read_voc_xml
from workbench.data.yolo_dataset_yaml import IMAGE_SUFFIXES, YoloYamlError, label_path, read_data_yaml
from workbench.data.yolo_labels import parse_label_file

FORMATS = ("coco", "voc", "yolo", "folder")


class DatasetError(ValueError):
    """The set cannot be used: one line naming the path and the reason."""


@dataclass
class SplitSummary:
    images: int = 0
    objects: int = 0
    without_annotations: int = 0
    per_class: Counter = field(default_factory=Counter)
    mixed_images: int = 0  # images with objects of more than one class
    with_masks: int = 0  # objects with a mask (polygon, RLE or a mask image)


# The task kinds a set can feed, in the order the report lists them.
TASK_ORDER = ("classification", "detection", "segmentation", "multilabel", "counting", "localization")


@dataclass
class CheckResult:
    format: str
    path: Path
    class_names: list[str]
    splits: dict[str, SplitSummary]
    report: ImportReport

    @property
    def tasks(self) -> list[str]:
        """Task kinds these annotations support: classification from class folders or one
        class per image; detection, multilabel, counting and localization from boxes;
        segmentation from masks."""
        splits = self.splits.values()
        kinds = set()
        if self.format == "folder":
            kinds.add("classification")
        elif any(s.objects for s in splits):
            kinds.update(("detection", "multilabel", "counting", "localization"))
            if not any(s.mixed_images for s in splits):
                kinds.add("classification")
            if any(s.with_masks for s in splits):
                kinds.add("segmentation")
        return [k for k in TASK_ORDER if k in kinds]

    def lines(self, max_problems: int | None = 50) -> list[str]:
        """The report as text lines (problems beyond ``max_problems`` are counted)."""
        names = one_line(", ".join(self.class_names))
        count = f"{len(self.class_names)} class{'es' if len(self.class_names) != 1 else ''}"
        out = [f"format: {self.format} ({self.path}); {count}: {names}"]
        for split, s in self.splits.items():
            out.append(
                f"{split}: {s.images} images, {s.objects} objects, {s.without_annotations} images without annotations"
            )
            if self.format != "folder" or s.per_class:
                counts = ", ".join(f"{name} {s.per_class.get(name, 0)}" for name in self.class_names)
                out.append(f"  per class: {counts}")
        out.append(f"tasks these annotations support: {', '.join(self.tasks) or 'none'}")
        problems = self.report.problems
        if problems:
            kinds = ", ".join(f"{n} {action}" for action, n in sorted(self.report.by_action().items()))
            out.append(f"problems ({len(problems)}: {kinds}):")
            shown = problems if max_problems is None else problems[:max_problems]
            out.extend(f"  {p}" for p in shown)
            if len(shown) < len(problems):
                out.append(f"  ... and {len(problems) - len(shown)} more (--all lists them)")
        else:
            out.append("problems: none")
        return out


def detect_format(path: str | Path) -> str:
    """The format of ``path`` from its layout; raises DatasetError when it cannot tell."""
    path = Path(path)
    if path.is_file():
        if path.suffix.lower() == ".json":
            return "coco"
        if path.suffix.lower() in (".yaml", ".yml"):
            return "yolo"
        raise DatasetError(f"{path}: expected a COCO .json, a YOLO .yaml or a folder")
    if not path.is_dir():
        raise DatasetError(f"{path}: no such file or folder")
    if _yolo_yaml(path) is not None:
        return "yolo"
    if _voc_xml(path):
        return "voc"
    if _coco_json(path) is not None:
        return "coco"
    if any(d.is_dir() and not d.name.startswith(".") for d in path.iterdir()):
        return "folder"
    raise DatasetError(f"{path}: cannot tell the format; pass --format {' | '.join(FORMATS)}")


def check_dataset(path: str | Path, fmt: str | None = None, images: str | Path | None = None) -> CheckResult:
    """Check the set at ``path`` (format detected unless ``fmt``); ``images``: the image
    folder of a COCO file when it is not beside the file or in an ``images/`` folder."""
    path = Path(path)
    fmt = fmt or detect_format(path)
    if fmt not in FORMATS:
        raise DatasetError(f"--format: {fmt!r} is not one of {', '.join(FORMATS)}")
    report = ImportReport()
    result = {"coco": _check_coco, "voc": _check_voc, "yolo": _check_yolo, "folder": _check_folder}[fmt](
        path, report, images
    )
    if not result.class_names:
        raise DatasetError(f"{path}: no classes found ({fmt})")
    if not any(s.images for s in result.splits.values()):
        first = f"; the first: {report.problems[0]}" if report.problems else ""
        raise DatasetError(
            f"{path}: no usable images found ({fmt}; {len(report.problems)} problem(s){first})"
        )
    return result


# ---------------------------------------------------------------------------- formats


def _check_coco(path: Path, report: ImportReport, images: str | Path | None) -> CheckResult:
    json_path = path if path.is_file() else _coco_json(path)
    if json_path is None:
        raise DatasetError(f"{path}: no COCO instances .json found")
    try:
        coco = load_coco(json_path, report)
    except CocoError as exc:
        raise DatasetError(str(exc)) from None
    root = Path(images) if images else _coco_image_root(json_path, [im.file_name for im in coco.images])
    summary = SplitSummary()
    for im in coco.images:
        if _probe(root / im.file_name, report) is None:
            continue
        _count(
            summary, [coco.class_names[i] for i in im.labels], sum(m is not None for m in im.segmentations)
        )
    return CheckResult("coco", json_path, coco.class_names, {"all": summary}, report)


def _check_voc(path: Path, report: ImportReport, _images: object) -> CheckResult:
    annotations = path / "Annotations"
    if annotations.is_dir():
        xmls = sorted(annotations.glob("*.xml"))
        image_dirs = [path / "JPEGImages", path]
    else:  # each .xml beside its image
        xmls = sorted(p for p in path.rglob("*.xml") if not p.name.startswith("."))
        image_dirs = []
    records = {}
    for xml in xmls:
        record = read_voc_xml(xml, report)
        if record is not None:  # ids are file stems in the standard layout, else the path
            records[xml.stem if annotations.is_dir() else str(xml.relative_to(path))] = record
    names = sorted({n for r in records.values() for n in r.names})
    splits: dict[str, list[str]] = {}
    for split in ("train", "val", "trainval", "test"):
        listing = path / "ImageSets" / "Main" / f"{split}.txt"
        lines = _read_list(listing, report) if _is_file(listing) else None
        if lines is not None:
            ids: list[str] = []
            for number, line in enumerate(lines, start=1):
                if not line.strip() or line.lstrip().startswith("#"):
                    continue
                image_id = line.split()[0]
                if image_id in ids:
                    report.add(listing, f"line {number}", f"{image_id} is listed again", SKIPPED)
                elif image_id in records:
                    ids.append(image_id)
                else:
                    report.add(
                        listing, f"line {number}", f"names {image_id}, which has no annotation", SKIPPED
                    )
            splits[split] = ids
    if not splits:
        splits = {"all": list(records)}
    summaries = {}
    for split, ids in splits.items():
        summary = SplitSummary()
        for image_id in ids:
            record = records[image_id]
            folders = image_dirs or [record.xml_path.parent]
            image = _voc_image(record.filename, Path(image_id).stem, folders)
            if image is None:
                report.add(
                    record.xml_path, "", f"its image ({record.filename or image_id}) is missing", SKIPPED
                )
                continue
            if _probe(image, report) is None:
                continue
            # VOC's semantic masks: SegmentationClass/<id>.png (palette PNG, 255 = ignore)
            masks = len(record.names) if _is_file(path / "SegmentationClass" / f"{image_id}.png") else 0
            _count(summary, record.names, masks)
        summaries[split] = summary
    return CheckResult("voc", path, names, summaries, report)


def _check_yolo(path: Path, report: ImportReport, _images: object) -> CheckResult:
    yaml_path = path if path.is_file() else _yolo_yaml(path)
    if yaml_path is None:
        raise DatasetError(f"{path}: no YOLO data.yaml found")
    try:
        spec = read_data_yaml(yaml_path, report)
    except YoloYamlError as exc:
        raise DatasetError(str(exc)) from None
    summaries = {}
    for split, image_files in spec.splits.items():
        summary = SplitSummary()
        labels_seen = set()
        found = 0
        for image in image_files:
            size = _probe(image, report)
            labels = label_path(image)
            labels_seen.add(labels)
            has_labels = _is_file(labels)
            found += has_labels
            if size is None:
                continue
            objects = parse_label_file(labels, *size, len(spec.names), report) if has_labels else []
            objects = objects or []
            _count(
                summary,
                [spec.names[o.class_id] for o in objects],
                sum(o.polygon is not None for o in objects),
            )
        if image_files and not found:
            where = f"{split} ({len(image_files)} images)"
            report.add(yaml_path, where, f"no label files found, e.g. {label_path(image_files[0])}", NOTED)
        for folder in sorted({p.parent for p in labels_seen}):
            for orphan in sorted(set(folder.glob("*.txt")) - labels_seen):
                report.add(orphan, "", "label file without an image", SKIPPED)
        summaries[split] = summary
    return CheckResult("yolo", yaml_path, spec.names, summaries, report)


def _check_folder(path: Path, report: ImportReport, _images: object) -> CheckResult:
    try:
        folders = read_image_folders(path, report)
    except FolderError as exc:
        raise DatasetError(str(exc)) from None
    summaries = {}
    for split, items in folders.splits.items():
        summary = SplitSummary()
        for image, cls in items:
            if _probe(image, report) is not None:
                summary.images += 1
                summary.per_class[folders.class_names[cls]] += 1
        summaries[split] = summary
    return CheckResult("folder", path, folders.class_names, summaries, report)


# ---------------------------------------------------------------------------- helpers


def _count(summary: SplitSummary, class_names: list[str], masks: int = 0) -> None:
    summary.images += 1
    summary.mixed_images += len(set(class_names)) > 1
    summary.with_masks += masks
    summary.objects += len(class_names)
    summary.without_annotations += not class_names
    summary.per_class.update(class_names)


def _probe(image: Path, report: ImportReport) -> tuple[int, int] | None:
    """The image's (width, height) from its header, or None (reported)."""
    try:
        with Image.open(image) as img:
            return img.size
    except FileNotFoundError:
        report.add(image, "", "missing image", SKIPPED)
    except UnidentifiedImageError:
        report.add(image, "", "file content is not an image", SKIPPED)
    except Image.DecompressionBombError as exc:
        report.add(image, "", f"too large to decode safely ({exc})", SKIPPED)
    except (OSError, ValueError) as exc:  # unreadable, a folder, a name too long or with NUL
        report.add(image, "", f"unreadable image: {exc}", SKIPPED)
    return None


def _is_file(path: Path) -> bool:
    """Path.is_file that answers False instead of raising (no permission, name too long, NUL)."""
    try:
        return path.is_file()
    except (OSError, ValueError):
        return False


def _read_list(path: Path, report: ImportReport) -> list[str] | None:
    try:
        return path.read_text(encoding="utf-8-sig").splitlines()
    except UnicodeDecodeError:
        report.add(path, "", "not a text file (not UTF-8)", REFUSED)
    except OSError as exc:
        report.add(path, "", f"cannot read: {exc.strerror or exc}", REFUSED)
    return None


def _yolo_yaml(folder: Path) -> Path | None:
    """data.yaml / data.yml, else a small YAML file with 'names' (not any config.yaml)."""
    for candidate in (folder / "data.yaml", folder / "data.yml"):
        if _is_file(candidate):
            return candidate
    for candidate in sorted([*folder.glob("*.yaml"), *folder.glob("*.yml")]):
        try:
            if candidate.stat().st_size < 1_000_000:
                with candidate.open(encoding="utf-8-sig", errors="replace") as f:
                    data = yaml.safe_load(f)
                if isinstance(data, dict) and "names" in data:
                    return candidate
        except (OSError, yaml.YAMLError):
            continue
    return None


def _voc_xml(folder: Path) -> bool:
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


def _coco_json(folder: Path) -> Path | None:
    """A COCO instances file in ``folder`` or its ``annotations/`` folder (instances_* first;
    captions and keypoint files without categories are passed over)."""
    candidates = [*sorted(folder.glob("*.json")), *sorted((folder / "annotations").glob("*.json"))]
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


def _coco_image_root(json_path: Path, file_names: list[str]) -> Path:
    """Where most of the images are: beside the JSON, in ``images/`` next to it or next to
    its folder, or in a folder named after the file's split (``instances_val2017.json`` ->
    ``val2017/``), judged on up to 200 names spread over the list."""
    split = json_path.stem.split("_")[-1]
    parents = [json_path.parent, json_path.parent.parent]
    candidates = [json_path.parent] + [p / name for p in parents for name in ("images", split) if name]
    step = max(1, len(file_names) // 200)
    sample = file_names[::step][:200]
    best, best_count = json_path.parent, 0
    for root in candidates:
        count = sum(_is_file(root / name) for name in sample)
        if count > best_count:
            best, best_count = root, count
    return best


def _voc_image(filename: str, image_id: str, folders: list[Path]) -> Path | None:
    for folder in folders:
        if filename and (folder / filename).is_file():
            return folder / filename
        for suffix in IMAGE_SUFFIXES:
            for candidate in (folder / f"{image_id}{suffix}", folder / f"{image_id}{suffix.upper()}"):
                if candidate.is_file():
                    return candidate
    return None
