"""``workbench data check``: what is in an annotated image set, and what is wrong with it.

Detects the format (COCO JSON, Pascal VOC, YOLO, image folders) and reads the set with
the same reader training uses (each format's source module): every annotation is
parsed and every image's header opened (not the whole image, so a check of thousands of
files stays quick). The result summarises images, objects and classes per split and
lists each problem with its file and place. A set is usable when some split has images,
there is at least one class and neither of a train/val pair the set names is empty; otherwise :class:`DatasetError` says why.
"""

from __future__ import annotations

from pathlib import Path

from workbench.data.annotated_set import TASK_ORDER, AnnotatedSet, SplitSummary, empty_named_split, unusable
from workbench.data.format_detect import detect_format, image_formats, other_layouts
from workbench.data.import_report import NOTED
from workbench.data.source import DATASETS, DataSourceError

CheckResult = AnnotatedSet  # what a check returns: the set as training would read it

__all__ = ["TASK_ORDER", "CheckResult", "DatasetError", "SplitSummary", "check_dataset", "detect_format"]


class DatasetError(DataSourceError):
    """The set cannot be used: one line naming the path and the reason."""


def note_other_layouts(result: AnnotatedSet, fmt: str, path: str | Path) -> None:
    """Note, in the set's report, the other formats whose files the folder ``path`` (the
    one given, its format detected) also holds."""
    others = other_layouts(path, fmt)
    if others:
        result.report.add(
            path,
            "",
            f"the folder also holds {' and '.join(others)} files; read as {DATASETS.get(fmt).label} "
            "(choose the format to read it as another)",
            NOTED,
        )


def other_layouts_hint(problem: str, path: str | Path, fmt: str) -> str:
    """``problem`` (the detected format's set is unusable) with the other formats the folder
    holds and how to choose one: a stray Annotations/ folder was read as VOC and refused
    without a word of the COCO file beside it."""
    others = [
        name
        for name in ("coco", "yolo", "voc", "folder")
        if name != fmt and DATASETS.get(name).label in other_layouts(path, fmt)
    ]
    if not others and fmt == "folder":  # the last guess: no annotation layout was recognised
        return (
            f"{problem} (read as {DATASETS.get(fmt).label}, as no annotation layout was recognised; "
            f"choose the format if it is another: {' | '.join(image_formats())})"
        )
    if not others:
        return problem
    labels = " and ".join(DATASETS.get(name).label for name in others)
    return (
        f"{problem}; read as {DATASETS.get(fmt).label}, but the folder also holds the layout of {labels}: "
        f'choose that format (--format {others[0]}, or data.source = "{others[0]}")'
    )


def check_dataset(path: str | Path, fmt: str | None = None, images: str | Path | None = None) -> AnnotatedSet:
    """Check the set at ``path`` (format detected unless ``fmt``); ``images``: the image
    folder of a COCO file when it is not beside the file or in an ``images/`` folder.

    Raises DatasetError (one line) when the set cannot be read or has nothing usable."""
    path = Path(path)
    fmt_given = bool(fmt)
    try:
        fmt = fmt or detect_format(path)
    except DataSourceError as exc:
        raise DatasetError(str(exc)) from None
    if fmt not in image_formats():
        raise DatasetError(f"--format: {fmt!r} is not one of {', '.join(image_formats())}")
    spec = DATASETS.get(fmt)
    if images and fmt != "coco":
        raise DatasetError(f"--images applies to COCO files only; {path} is {spec.label}")
    if images and not Path(images).is_dir():
        raise DatasetError(f"--images: {images}: no such folder")
    options = spec.Options(image_root=str(images)) if images else spec.Options()
    try:
        result = spec.read(path, options)
    except DataSourceError as exc:
        raise DatasetError(str(exc) if fmt_given else other_layouts_hint(str(exc), path, fmt)) from None
    if not fmt_given:
        note_other_layouts(result, fmt, path)
    problem = unusable(result)
    if problem:
        raise DatasetError(problem if fmt_given else other_layouts_hint(problem, path, fmt))
    for split in ("train", "val"):  # the one training would refuse, refused here too
        problem = empty_named_split(result, split)
        if problem:
            raise DatasetError(problem)
    return result
