"""Source "auto": the format is detected from the path (see ``format_detect``), then the
set is read by that format's source with the shared image-set options."""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any

from workbench.data.annotated_set import AnnotatedSet
from workbench.data.format_detect import detect_format
from workbench.data.image_set_options import ImageSetOptions
from workbench.data.real_dataset import register_image_source
from workbench.data.source import DATASETS


def read_detected(path: str | Path, options: Any = None) -> AnnotatedSet:
    """Detect the format of ``path`` and read it. Raises DataSourceError."""
    spec = DATASETS.get(detect_format(path))
    shared = dataclasses.asdict(options) if options is not None else {}
    own = spec.Options(
        **{k: v for k, v in shared.items() if k in {f.name for f in dataclasses.fields(spec.Options)}}
    )
    return spec.read(path, own)


_spec = register_image_source(
    "auto",
    "Detect from the path",
    "COCO, Pascal VOC, YOLO or image folders, recognised from the files at the path.",
    ImageSetOptions,
    read_detected,
)
