"""Source "folder": image folders for classification, ``root/<class>/<image>``.

With ``root/train/<class>/`` and ``root/val/<class>/`` (or ``valid``, ``validation``) the
split on disk is used; otherwise a seeded share is held out. Folders are read by
:mod:`workbench.data.image_folders`.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from workbench.data.annotated_set import AnnotatedSet, ImageRecord
from workbench.data.file_probe import probe_size
from workbench.data.image_folders import FolderError, read_image_folders
from workbench.data.image_set_options import ImageSetOptions
from workbench.data.import_report import ImportReport
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
    return AnnotatedSet("folder", Path(path), folders.class_names, splits, report).audit()


register_image_source(
    "folder",
    "Image folders (classification)",
    "root/<class>/<image>, with train/ and val/ when the set is split.",
    FolderOptions,
    read_folder_set,
)
