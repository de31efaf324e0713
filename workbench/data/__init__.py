"""Data sources. ``DATASETS`` maps a source name to its :class:`~workbench.data.source.DataSource`.

Each source module registers itself when imported here; nothing else in the project names
a particular source.
"""

from __future__ import annotations

import dataclasses
from typing import Any

from workbench.data import auto_source as _auto  # noqa: E402,F401
from workbench.data import coco_source as _coco  # noqa: E402,F401
from workbench.data import folder_source as _folder  # noqa: E402,F401

# each module registers its source
from workbench.data import shapes as _shapes  # noqa: E402,F401,I001
from workbench.data import voc_source as _voc  # noqa: E402,F401
from workbench.data import yolo_source as _yolo  # noqa: E402,F401
from workbench.data.source import DATASETS, DataSource, DataSourceError

__all__ = ["DATASETS", "DataSource", "DataSourceError", "build_dataset", "source_options"]


def source_options(source: Any, input_size: int = 0) -> Any:
    """The parsed Options of a source config (``SourceConfig`` or ``DataConfig``), with
    ``model.input_size`` applied when it is set (images are fitted to the input size)."""
    spec = DATASETS.get(source.source)
    options = spec.parse_options(source.options)
    if input_size:
        options = dataclasses.replace(options, image_size=int(input_size))
    return options


def build_dataset(source: Any, split: str, input_size: int = 0) -> Any:
    """The dataset of one source config for ``split`` ("train" or "val").

    Raises DataSourceError (unreadable data, one line) or ConfigError (bad options)."""
    spec = DATASETS.get(source.source)
    return spec.build(source_options(source, input_size), source.path, split)
