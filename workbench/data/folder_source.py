"""Source "folder": image folders for classification, ``root/<class>/<image>``.

With ``root/train/<class>/`` and ``root/val/<class>/`` (or ``valid``, ``validation``) the
split on disk is used; otherwise a seeded share is held out. Folders are read by
:mod:`workbench.data.image_folders`.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from pathlib import Path

from workbench.data.annotated_set import AnnotatedSet, ImageRecord
from workbench.data.file_probe import probe_size
from workbench.data.image_folders import FolderError, read_image_folders
from workbench.data.image_set_options import ImageSetOptions
from workbench.data.import_report import NOTED, ImportReport
from workbench.data.real_dataset import register_image_source
from workbench.data.source import DataSourceError


@dataclass
class FolderOptions(ImageSetOptions):
    pass


def read_folder_set(path: str | Path, options: FolderOptions | None = None) -> AnnotatedSet:
    """Read the class folders under ``path``. Raises DataSourceError."""
    report = ImportReport()
    try:
        folders = read_image_folders(path, report)
    except FolderError as exc:
        raise DataSourceError(str(exc)) from None
    splits = {}
    for split, items in folders.splits.items():
        records = []
        for image, cls in items:
            size = probe_size(image, report)
            if size is not None:
                records.append(ImageRecord(image, size[0], size[1], image_class=cls))
        splits[split] = records
    aset = AnnotatedSet("folder", Path(path), folders.class_names, splits, report)
    # the audit first (a class folder of links to another's images is empty after it),
    # then the classes left out, then the note of classes without training images: a
    # folder that is no class is no class without training images either
    aset = _classes_with_images(aset.audit(classes=False))
    aset.note_untrained_classes()
    return aset


def _classes_with_images(aset: AnnotatedSet) -> AnnotatedSet:
    """Leave out the class folders with no usable image in any split (empty, only broken
    files, or a link to another class folder whose images are all listed already): a
    class the network could never see would only dilute its metrics. torchvision's
    ImageFolder refuses such a set; here it is reported and the rest is used.

    Raises DataSourceError when fewer than 2 classes remain."""
    used = sorted({r.image_class for records in aset.splits.values() for r in records})
    if len(used) == len(aset.class_names) or not used:  # no image at all: the callers say why
        return aset
    dropped = [n for i, n in enumerate(aset.class_names) if i not in set(used)]
    said = {p.file for p in aset.report.problems}
    for name in dropped:
        # the class's folders: root/<class>, or <split>/<class> in each split folder
        folders = [f for f in (aset.path / name, *(d / name for d in _subfolders(aset.path))) if f.is_dir()]
        for folder in folders or [aset.path / name]:
            if str(folder) not in said:  # an empty folder is said once, as empty
                aset.report.add(folder, "", "no usable image of its own: not a class", NOTED)
    if len(used) < 2:
        raise DataSourceError(
            f"{aset.path}: {len(used)} class folder(s) with usable images; a classification set needs "
            f"at least 2 (left out: {', '.join(dropped)})"
        )
    new_index = {old: new for new, old in enumerate(used)}
    aset.class_names = [aset.class_names[i] for i in used]
    aset.splits = {
        split: [dataclasses.replace(r, image_class=new_index[r.image_class]) for r in records]
        for split, records in aset.splits.items()
    }
    return aset


def _subfolders(path: Path) -> list[Path]:
    try:
        return sorted(d for d in path.iterdir() if d.is_dir())
    except OSError:
        return []


register_image_source(
    "folder",
    "Image folders (classification)",
    "root/<class>/<image>, with train/ and val/ when the set is split.",
    FolderOptions,
    read_folder_set,
)
