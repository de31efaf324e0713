"""Source "auto": the format is detected from the path (see ``format_detect``), then the
set is read by that format's source with the shared image-set options."""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any

from workbench.data.annotated_set import AnnotatedSet
from workbench.data.coco_source import CocoOptions
from workbench.data.format_detect import detect_format
from workbench.data.real_dataset import register_image_source
from workbench.data.source import DATASETS, DataSourceError


@dataclasses.dataclass
class AutoOptions(CocoOptions):
    """The options every format takes, and COCO's own (``image_root``, ``val_annotations``):
    which ones apply is known only once the format is detected."""


def read_detected(path: str | Path, options: Any = None) -> AnnotatedSet:
    """Detect the format of ``path`` and read it. Raises DataSourceError, also for an option
    of another format's set (``image_root`` given for a VOC folder)."""
    fmt = detect_format(path)
    spec = DATASETS.get(fmt)
    shared = dataclasses.asdict(options) if options is not None else {}
    known = {f.name for f in dataclasses.fields(spec.Options)}
    defaults = {f.name: f.default for f in dataclasses.fields(AutoOptions)}
    stray = [k for k, v in shared.items() if k not in known and v != defaults.get(k)]
    if stray:
        raise DataSourceError(
            f"data.options.{stray[0]} applies to COCO sets only; {path} was detected as {spec.label}"
        )
    from workbench.data.annotated_set import unusable
    from workbench.data.dataset_check import note_other_layouts, other_layouts_hint

    try:
        result = spec.read(path, spec.Options(**{k: v for k, v in shared.items() if k in known}))
    except DataSourceError as exc:
        raise DataSourceError(other_layouts_hint(str(exc), path, fmt)) from None
    problem = unusable(result)
    if problem:  # refused here, naming the other layouts, before a split says "no images"
        raise DataSourceError(other_layouts_hint(problem, path, fmt))
    note_other_layouts(result, fmt, path)
    return result


_spec = register_image_source(
    "auto",
    "Detect from the path",
    "COCO, Pascal VOC, YOLO or image folders, recognised from the files at the path.",
    AutoOptions,
    read_detected,
)
