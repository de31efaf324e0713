"""The data-source extension point: one module per source registers a :class:`DataSource`.

A source owns its ``Options`` dataclass (limits, choices and help declared once as field
metadata with ``workbench.config.setting``, read by validation and by the setup form), says
which targets it can provide, and builds a dataset per split. Nothing outside
``workbench/data/`` names a particular source: the experiment builder, the CLI and the GUI
go through ``DATASETS`` and the spec's fields.

To add a source: write ``workbench/data/<name>_source.py`` with an Options dataclass and a
``build(options, path, split)`` function, register it with ``DATASETS.register(name)``
(a ``DataSource(...)``), and import the module in ``workbench/data/__init__.py``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from workbench.config import ConfigError, from_dict, validate_fields
from workbench.registry import Registry


@dataclass(frozen=True)
class DataSource:
    """A registered data source.

    ``Options``: dataclass of the source's options (``[data.options]``), every field with
    ``setting`` metadata, one of them ``image_size`` (px, the side the images are fitted
    to; ``model.input_size`` overrides it). ``build(options, path, split)`` returns a
    dataset for split "train" or "val" and raises ``DataSourceError`` (one line naming the
    file) when the data cannot be read. ``needs_path``: the source reads ``[data] path``.
    ``train_size_field``: the option that counts training images, when there is one
    (preflight names it). ``check(options, where)``: rules across options, raising
    ConfigError. ``read(path, options)``: for annotated-image sources, the
    ``AnnotatedSet`` (what ``workbench data check`` reports).
    """

    name: str
    label: str
    description: str
    Options: type
    build: Callable[[Any, str, str], Any]
    needs_path: bool = True
    train_size_field: str = ""
    check: Callable[[Any, str], None] | None = None
    read: Callable[[Any, Any], Any] | None = None  # annotated-image sources: (path, options) -> AnnotatedSet

    def parse_options(self, raw: dict[str, Any], where: str = "data.options") -> Any:
        """``raw`` (a TOML table) as this source's Options; raises ConfigError naming the
        field (unknown keys, wrong types, values outside the declared limits)."""
        if not isinstance(raw, dict):
            raise ConfigError(where, f"expected a table, got {type(raw).__name__}")
        options = from_dict(self.Options, raw, where)
        validate_fields(options, where)
        if self.check is not None:
            self.check(options, where)
        return options


class DataSourceError(ValueError):
    """Data that cannot be used: one line naming the file or folder and the reason."""


DATASETS: Registry[DataSource] = Registry("data source")
