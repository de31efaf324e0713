"""What a data source provides: per-index samples and the targets every task kind reads.

A sample (``Dataset.sample(i)``) is a dict of numpy values:

- ``image``: uint8 (H, W, 3)
- ``scene_class``: int, class of the scene (classification)
- ``presence``: float32 (C,), 1 where a class is present (multilabel)
- ``boxes``: float32 (N, 4) xyxy pixels; ``labels``: int64 (N,) class ids (detection)
- ``largest_box``: float32 (4,) xyxy pixels of the largest object (localization)
- ``mask``: uint8 (H, W), 0 = background, c + 1 = class c (segmentation)
- ``count``: int, number of objects (counting)

``collate`` stacks samples into a batch: ``images`` as a uint8 tensor (B, 3, H, W) in
channels-last memory and ``targets`` as tensors (lists of tensors for boxes/labels).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Protocol

import numpy as np
import torch

ALL_TARGETS = frozenset({"scene_class", "presence", "boxes", "largest_box", "mask", "count"})


@dataclass(frozen=True)
class DataInfo:
    image_size: int
    num_classes: int  # object classes, background excluded
    class_names: tuple[str, ...]
    target_keys: frozenset[str] = ALL_TARGETS


class Dataset(Protocol):
    info: DataInfo

    def __len__(self) -> int: ...

    def sample(self, index: int) -> dict[str, Any]: ...


def collate(
    samples: list[dict[str, Any]], keys: frozenset[str] | None = None
) -> tuple[torch.Tensor, dict[str, Any]]:
    """Stack samples into (images, targets). Images stay uint8; the model normalises.

    ``keys`` limits the targets to those the tasks read (default: all the samples have).
    """
    images = torch.from_numpy(np.stack([s["image"] for s in samples])).permute(0, 3, 1, 2)
    keys = samples[0].keys() if keys is None else samples[0].keys() & keys
    targets: dict[str, Any] = {}
    if "scene_class" in keys:
        targets["scene_class"] = torch.tensor([int(s["scene_class"]) for s in samples], dtype=torch.long)
    if "presence" in keys:
        targets["presence"] = torch.from_numpy(np.stack([s["presence"] for s in samples]).astype(np.float32))
    if "boxes" in keys:
        targets["boxes"] = [
            torch.from_numpy(np.asarray(s["boxes"], np.float32).reshape(-1, 4)) for s in samples
        ]
        targets["labels"] = [torch.from_numpy(np.asarray(s["labels"], np.int64).reshape(-1)) for s in samples]
    if "largest_box" in keys:
        targets["largest_box"] = torch.from_numpy(
            np.stack([s["largest_box"] for s in samples]).astype(np.float32)
        )
    if "mask" in keys:
        targets["mask"] = torch.from_numpy(np.stack([s["mask"] for s in samples])).long()
    if "count" in keys:
        targets["count"] = torch.tensor([float(s["count"]) for s in samples], dtype=torch.float32)
    return images, targets


def move_targets(targets: dict[str, Any], device: torch.device) -> dict[str, Any]:
    moved: dict[str, Any] = {}
    for key, value in targets.items():
        if isinstance(value, list):
            moved[key] = [v.to(device, non_blocking=True) for v in value]
        else:
            moved[key] = value.to(device, non_blocking=True)
    return moved
