"""Which annotation format a path holds, from its layout (never from file names alone)."""

from __future__ import annotations

from pathlib import Path

from workbench.data.coco_source import find_coco_json
from workbench.data.file_probe import not_a_file, present
from workbench.data.source import DATASETS, DataSourceError
from workbench.data.voc_source import has_voc_xml
from workbench.data.yolo_source import find_yolo_yaml


def image_formats() -> list[str]:
    """The registered sources that read annotated images (coco, voc, yolo, folder, ...)."""
    return [n for n in DATASETS.names() if DATASETS.get(n).read is not None and n != "auto"]


def other_layouts(path: str | Path, chosen: str) -> list[str]:
    """The annotation formats besides ``chosen`` whose files a folder also holds (a YOLO
    data.yaml beside VOC XML files): the set is read as ``chosen``, and that is worth saying."""
    path = Path(path)
    if not path.is_dir():
        return []
    found = {
        "yolo": find_yolo_yaml(path) is not None,
        "voc": has_voc_xml(path),
        "coco": find_coco_json(path) is not None,
        "folder": has_class_folders(path),
    }
    return [DATASETS.get(name).label for name, present in found.items() if present and name != chosen]


# Folders of the other layouts, never a class
_LAYOUT_FOLDERS = frozenset(
    {"images", "labels", "annotations", "jpegimages", "imagesets", "segmentationclass", "segmentationobject"}
)


def has_class_folders(path: Path) -> bool:
    """Whether ``path`` holds a sub-folder with image files in it (class folders), one that
    is no part of another layout (images/, labels/, Annotations/ ...). Looks at a few
    entries of each folder only: a check, not a scan."""
    from itertools import islice

    from workbench.data.yolo_dataset_yaml import IMAGE_SUFFIXES

    try:
        for sub in islice((d for d in path.iterdir() if d.is_dir()), 50):
            name = sub.name.lower()
            if name.startswith(".") or name in _LAYOUT_FOLDERS or name.startswith(("train", "val", "test")):
                continue  # another layout's folder, or a split's (COCO's val2017/)
            if any(f.suffix.lower() in IMAGE_SUFFIXES for f in islice(sub.iterdir(), 50)):
                return True
    except OSError:
        return False
    return False


def detect_format(path: str | Path) -> str:
    """coco, voc, yolo or folder for ``path``; raises DataSourceError when it cannot tell.

    A .json file is COCO and a .yaml YOLO; a folder is YOLO when it holds a data.yaml,
    VOC when it has Annotations/ or VOC XML files, COCO when it holds an instances JSON,
    else image folders when it has sub-folders (``other_layouts`` says what else it holds)."""
    path = Path(path)
    if path.is_file():
        if path.suffix.lower() == ".json":
            return "coco"
        if path.suffix.lower() in (".yaml", ".yml"):
            return "yolo"
        raise DataSourceError(f"{path}: expected a COCO .json, a YOLO .yaml or a folder")
    if not path.is_dir():
        if path.exists():  # a device, pipe or socket
            raise DataSourceError(
                f"{path}: not a regular file or folder; expected a COCO .json, a YOLO .yaml or a folder"
            )
        if present(path):  # a broken or looping link: what it is, not "no such file"
            raise DataSourceError(f"{path}: {not_a_file(path)}")
        raise DataSourceError(f"{path}: no such file or folder")
    if path.suffix.lower() in (".json", ".yaml", ".yml"):  # a folder named like the file it should be
        raise DataSourceError(f"{path}: a folder, not a file; expected a COCO .json or a YOLO .yaml")
    if find_yolo_yaml(path) is not None:
        return "yolo"
    if has_voc_xml(path):
        return "voc"
    if find_coco_json(path) is not None:
        return "coco"
    if (path / "labels").is_dir() and ((path / "images").is_dir() or (path / "classes.txt").is_file()):
        # YOLO's labels without the data.yaml that names the classes and splits
        names = path / "classes.txt"
        hint = f" (its class names: the lines of {names.name})" if names.is_file() else ""
        raise DataSourceError(
            f"{path}: looks like a YOLO set (labels/) but has no data.yaml; write one with 'names'{hint} "
            "and 'train' / 'val' image folders, e.g. train: images/train"
        )
    named = sorted([*path.glob("instances*.json"), *(path / "annotations").glob("instances*.json")])
    if named:  # named like COCO's files but not one: say so, not "found 1 class folder"
        why = not_a_file(named[0])
        if why is not None:
            raise DataSourceError(f"{named[0]}: {why}; expected a COCO annotation file")
        raise DataSourceError(
            f"{named[0]}: not a COCO annotation file (a JSON object with 'images', 'annotations' and "
            "'categories'); if the folder holds class folders, choose the format 'folder'"
        )
    if any(d.is_dir() and not d.name.startswith(".") for d in path.iterdir()):
        return "folder"
    raise DataSourceError(f"{path}: cannot tell the format; pass --format {' | '.join(image_formats())}")
