"""Source "yolo": a YOLO ``data.yaml`` with ``images/`` and ``labels/`` per split.

The YAML is read by :mod:`workbench.data.yolo_dataset_yaml` (names as list or dict,
relative paths, splits as folders or list files), label lines by
:mod:`workbench.data.yolo_labels` (boxes, or polygons from segmentation exports, which
become masks and boxes). An image without a label file is an image with no objects.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import yaml

from workbench.data.annotated_set import AnnotatedSet, ImageRecord
from workbench.data.file_probe import is_file, not_a_file, present, probe_size
from workbench.data.image_set_options import ImageSetOptions
from workbench.data.import_report import (
    NOTED,
    REFUSED,
    SKIPPED,
    ImportReport,
    objects_unknown,
    with_doubled_keys,
)
from workbench.data.real_dataset import register_image_source
from workbench.data.source import DataSourceError
from workbench.data.yolo_dataset_yaml import (
    YoloYamlError,
    image_candidates,
    label_path,
    read_data_yaml,
)
from workbench.data.yolo_labels import parse_label_file


@dataclass
class YoloOptions(ImageSetOptions):
    pass


def find_yolo_yaml(folder: Path) -> Path | None:
    """data.yaml / data.yml, else a small YAML file with 'names' (not any config.yaml)."""
    for candidate in (folder / "data.yaml", folder / "data.yml"):
        if present(candidate):  # not a file (a folder, pipe, broken link): read_data_yaml says so
            return candidate
    for candidate in sorted([*folder.glob("*.yaml"), *folder.glob("*.yml")]):
        try:
            if is_file(candidate) and candidate.stat().st_size < 1_000_000:  # never a FIFO
                with candidate.open(encoding="utf-8-sig", errors="replace") as f:
                    data = yaml.safe_load(f)
                if isinstance(data, dict) and "names" in data:
                    return candidate
        except (OSError, yaml.YAMLError, RecursionError):
            continue
    return None


def _split(
    yaml_path: Path,
    split: str,
    images: list[Path],
    num_classes: int,
    report: ImportReport,
    labels_seen: set[Path],
) -> list[ImageRecord]:
    """The split's records; the label files it reads are added to ``labels_seen``."""
    records = []
    found = 0
    for image in images:
        size = probe_size(image, report)
        labels_file = label_path(image)
        if not is_file(labels_file) and is_file(labels_file.with_suffix(".TXT")):
            labels_file = labels_file.with_suffix(".TXT")  # exported on a case-insensitive system
        labels_seen.add(labels_file)
        has_labels = is_file(labels_file)
        found += has_labels
        if not has_labels and present(labels_file):  # a folder, device or link loop where the labels belong
            report.add(
                labels_file, "", f"not a label file: {not_a_file(labels_file) or 'unreadable'}", REFUSED
            )
            # its objects are unknown, not absent: kept, the image would teach "nothing here"
            report.add(image, "", f"its label file {labels_file.name} cannot be read", SKIPPED)
            continue
        if size is None:
            continue
        objects = parse_label_file(labels_file, *size, num_classes, report) if has_labels else []
        if objects is None:  # an unreadable label file: its objects are unknown, not absent
            report.add(image, "", f"its label file {labels_file.name} cannot be read", SKIPPED)
            continue
        lost = report.skipped_in(labels_file)
        if lost:  # lines that could not be read are objects of unknown place and class
            objects_unknown(report, labels_file, image, lost)
            continue
        records.append(
            ImageRecord(
                image,
                size[0],
                size[1],
                np.array([o.box for o in objects], np.float32).reshape(-1, 4),
                np.array([o.class_id for o in objects], np.int64),
                [o.polygon for o in objects],
            )
        )
    if images and not found:
        where = f"{split} ({len(images)} images)"
        report.add(yaml_path, where, f"no label files found, e.g. {label_path(images[0])}", NOTED)
    return records


def _report_orphans(labels_seen: set[Path], report: ImportReport, read: set[str]) -> None:
    """Label files beside the ones read that no image of any split reads (splits listed by
    files may share one labels/ folder: another split's labels are no orphans). ``read``:
    the real paths of the images read (a link to one of them is read once, under one name)."""
    # './labels/a.txt', 'labels/a.txt' and the absolute path are one file; a label file
    # read under its own name is no orphan even where it cannot be resolved (a broken link)
    named = {os.path.abspath(p) for p in labels_seen}
    real = {os.path.realpath(p) for p in labels_seen}
    folders: dict[str, Path] = {}
    for p in labels_seen:  # each folder once, under the name the set gave it
        folders.setdefault(os.path.realpath(p.parent), p.parent)
    for _, folder in sorted(folders.items()):
        unlisted = []
        for orphan in sorted({*folder.glob("*.txt"), *folder.glob("*.TXT")}):
            if os.path.abspath(orphan) in named or os.path.realpath(orphan) in real:
                continue
            images = [image for image in image_candidates(orphan) if is_file(image)]
            twin = next((image for image in images if os.path.realpath(image) in read), None)
            if twin is not None:  # a second name of an image read under its other name
                report.add(
                    orphan,
                    "",
                    f"not read: {twin.name} is the same image as {os.path.basename(os.path.realpath(twin))} "
                    "(a link), which is read once, with its own label file",
                    NOTED,
                )
            elif images:
                unlisted.append(orphan)  # its image is there, in no split's list: not an orphan
            else:
                report.add(orphan, "", "label file without an image", SKIPPED)
        if unlisted:
            report.add(
                folder,
                "",
                f"{len(unlisted)} labelled image(s) are in no split's list, e.g. {unlisted[0].stem} "
                "(not read: the data.yaml's .txt lists choose the images)",
                NOTED,
            )


def read_yolo_set(path: str | Path, options: YoloOptions | None = None) -> AnnotatedSet:
    """Read the YOLO set at ``path`` (the .yaml, or a folder holding one). Raises DataSourceError."""
    path = Path(path)
    if path.is_dir() and path.suffix.lower() in (".yaml", ".yml"):
        raise DataSourceError(f"{path}: a folder, not a file; expected a YOLO data.yaml")
    # not a folder but something: the file itself (a pipe or a loop is said as what it is)
    yaml_path = find_yolo_yaml(path) if path.is_dir() else path if present(path) else None
    if yaml_path is None:
        raise DataSourceError(f"{path}: no YOLO data.yaml found")
    report = ImportReport()
    try:
        spec = read_data_yaml(yaml_path, report)
        labels_seen: set[Path] = set()
        splits = {
            split: _split(yaml_path, split, images, len(spec.names), report, labels_seen)
            for split, images in spec.splits.items()
        }
        read = {os.path.realpath(image) for images in spec.splits.values() for image in images}
        _report_orphans(labels_seen, report, read)
        return AnnotatedSet("yolo", yaml_path, spec.names, splits, report).audit()
    except (YoloYamlError, DataSourceError) as exc:
        raise DataSourceError(with_doubled_keys(str(exc), report)) from None


register_image_source(
    "yolo",
    "YOLO (data.yaml)",
    "A YOLO data.yaml with images/ and labels/ per split; box or polygon label lines.",
    YoloOptions,
    read_yolo_set,
)
