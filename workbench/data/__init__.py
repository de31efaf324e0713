"""Data sources. ``DATASETS`` maps a source name to ``build(data_config, split) -> Dataset``."""

from __future__ import annotations

from workbench.registry import Registry

DATASETS: Registry = Registry("data source")

from workbench.data import shapes as _shapes  # noqa: E402,F401  (registers "shapes")


def build_dataset(data_config, split: str):
    """Build the dataset of ``data_config.source`` for ``split`` ("train" or "val")."""
    return DATASETS.get(data_config.source)(data_config, split)
