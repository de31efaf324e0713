"""Image folders for classification: ``root/<class>/<image>``, with ``root/train/<class>/``
and ``root/val/<class>/`` (or ``valid``, ``validation``) when the set is already split, as
torchvision's ImageFolder and most exports lay them out. Class names are the folder names,
sorted; class folders may hold sub-folders. Hidden files and folders (``.DS_Store``,
``.ipynb_checkpoints``) are ignored; images outside a class folder, empty class folders and
links to missing files are reported (a class folder with no usable image is then left out
of the classes by ``folder_source``).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from workbench.data.file_probe import is_file, not_a_file
from workbench.data.import_report import NOTED, SKIPPED, ImportReport
from workbench.data.yolo_dataset_yaml import IMAGE_SUFFIXES

VAL_NAMES = ("val", "valid", "validation")


class FolderError(ValueError):
    """The folder cannot be a classification set: one line naming it."""


@dataclass
class FolderSet:
    root: Path
    class_names: list[str]
    # "train" / "val" when split on disk, else "all" -> (image file, class index), sorted
    splits: dict[str, list[tuple[Path, int]]]


def read_image_folders(root: str | Path, report: ImportReport) -> FolderSet:
    """Raises FolderError when ``root`` is not a folder or has fewer than 2 class folders."""
    root = Path(root)
    if not root.is_dir():
        raise FolderError(f"{root}: not a folder")
    # split folders in any case ("Train/", "VAL/"): never taken for classes
    by_lower: dict[str, Path] = {}
    for d in sorted(_visible_dirs(root)):
        by_lower.setdefault(d.name.lower(), d)
    vals = [by_lower[n] for n in VAL_NAMES if n in by_lower]
    val = vals[0] if vals else None
    train = by_lower.get("train")
    if len(vals) > 1:
        report.add(
            root, "", f"{' and '.join(v.name + '/' for v in vals)} both exist; {val.name}/ is used", NOTED
        )
    if train is not None and val:
        split_dirs = {"train": train, "val": val}
    elif train is not None and _visible_dirs(train):
        # train/<class>/ without a validation folder: a share of train is held out
        split_dirs = {"train": train}
        report.add(
            root,
            "",
            f"{train.name}/ without a validation folder: a share of the training images is held out",
            NOTED,
        )
    else:
        split_dirs = {"all": root}
    classes = sorted({d.name for base in split_dirs.values() for d in _visible_dirs(base)})
    if len(classes) < 2:
        found = f" ({classes[0]})" if classes else ""
        raise FolderError(
            f"{root}: found {len(classes)} class folder(s){found}; class folders label classification "
            "and multilabel tasks, which need at least 2 classes"
        )
    index = {name: i for i, name in enumerate(classes)}
    splits: dict[str, list[tuple[Path, int]]] = {}
    for split, base in split_dirs.items():
        items = []
        for stray in sorted(p for p in base.iterdir() if p.is_file() and _is_image(p)):
            report.add(stray, "", "image outside a class folder", SKIPPED)
        for folder in sorted(_visible_dirs(base)):
            images = sorted(p for p in folder.rglob("*") if _is_image(p) and not _hidden(p, folder))
            # named like an image but no file (a broken link, a loop, a folder, a pipe): said,
            # where a pipe or a folder named x.png was dropped without a word
            for odd in sorted(p for p in folder.rglob("*") if _odd_image_name(p, folder)):
                report.add(odd, "", not_a_file(odd) or "not a file", SKIPPED)
            if not images:
                report.add(folder, "", "class folder without images", SKIPPED)
            items.extend((p, index[folder.name]) for p in images)
        splits[split] = items
    return FolderSet(root, classes, splits)


def _visible_dirs(base: Path) -> list[Path]:
    return [d for d in base.iterdir() if d.is_dir() and not d.name.startswith(".")]


def _is_image(path: Path) -> bool:
    return path.suffix.lower() in IMAGE_SUFFIXES and is_file(path) and not path.name.startswith(".")


def _odd_image_name(path: Path, below: Path) -> bool:
    """Named like an image, not hidden, but not a regular file."""
    return (
        path.suffix.lower() in IMAGE_SUFFIXES
        and not path.name.startswith(".")
        and not _hidden(path, below)
        and not is_file(path)
    )


def _hidden(path: Path, below: Path) -> bool:
    return any(part.startswith(".") for part in path.relative_to(below).parts)
