"""What a data source provides: per-index samples and the targets every task kind reads.

A sample (``Dataset.sample(i)``) is a dict of numpy values:

- ``image``: uint8 (H, W, 3)
- ``scene_class``: int, class of the scene (classification)
- ``presence``: float32 (C,), 1 where a class is present (multilabel)
- ``boxes``: float32 (N, 4) xyxy pixels; ``labels``: int64 (N,) class ids (detection);
  N may be 0 (an image with no objects)
- ``largest_box``: float32 (4,) xyxy pixels of the largest object (localization)
- ``mask``: uint8 (H, W), 0 = background, c + 1 = class c, ``IGNORE_INDEX`` = not labelled
  (segmentation)
- ``count``: int, number of objects (counting)
- ``crowd_boxes`` float32 (M, 4), ``crowd_labels`` int64 (M,): optional, regions that are
  no object (COCO's ``iscrowd``); mAP ignores detections on them (pycocotools' rule)

A target that is missing or None means "this image is not labelled for that": an image
with no objects has no scene class and no largest box; a partly labelled data set leaves
out whole targets. ``collate`` turns this into per-sample masks, ``targets["has"][key]``
(bool (B,)), and the task kinds leave unlabelled samples out of their loss and metrics.

``collate`` stacks samples into a batch: ``images`` as a uint8 tensor (B, 3, H, W) and
``targets`` as tensors (lists of tensors for boxes/labels) plus the ``has`` masks.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Protocol

import numpy as np
import torch

ALL_TARGETS = frozenset({"scene_class", "presence", "boxes", "largest_box", "mask", "count"})
IGNORE_INDEX = 255  # mask value of unlabelled pixels (Pascal VOC's convention)


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


def _placeholder(key: str, like: Any) -> np.ndarray | int | float:
    """A stand-in for a missing target, shaped like a present one (masked out later)."""
    if key in ("scene_class", "count"):
        return 0
    return np.zeros_like(np.asarray(like))


def collate(
    samples: list[dict[str, Any]], keys: frozenset[str] | None = None
) -> tuple[torch.Tensor, dict[str, Any]]:
    """Stack samples into (images, targets). Images stay uint8; the model normalises.

    ``keys`` limits the targets to those the tasks read (default: all the samples have).
    ``targets["has"][key]`` is a bool tensor (B,): which samples have that target. A key
    no sample has appears only in ``has`` (all False).
    """
    images = torch.from_numpy(np.stack([s["image"] for s in samples])).permute(0, 3, 1, 2)
    wanted = ALL_TARGETS if keys is None else ALL_TARGETS & set(keys)
    targets: dict[str, Any] = {"has": {}}
    problems = [p for s in samples for p in s.get("problems", ())]
    if problems:  # found in a loader process: the trainer adds them to the run's report
        targets["problems"] = problems
    for key in sorted(wanted):
        flags = [s.get(key) is not None for s in samples]
        targets["has"][key] = torch.tensor(flags, dtype=torch.bool)
        if not any(flags):
            continue
        like = next(s[key] for s in samples if s.get(key) is not None)
        values = [s[key] if ok else _placeholder(key, like) for s, ok in zip(samples, flags, strict=True)]
        if key == "scene_class":
            targets[key] = torch.tensor([int(v) for v in values], dtype=torch.long)
        elif key == "count":
            targets[key] = torch.tensor([float(v) for v in values], dtype=torch.float32)
        elif key in ("presence", "largest_box"):
            targets[key] = torch.from_numpy(np.stack(values).astype(np.float32))
        elif key == "mask":
            targets[key] = torch.from_numpy(np.stack(values)).long()
        elif key == "boxes":
            targets["boxes"] = [torch.from_numpy(np.asarray(v, np.float32).reshape(-1, 4)) for v in values]
            targets["labels"] = [
                torch.from_numpy(np.asarray(s.get("labels") if ok else [], np.int64).reshape(-1))
                for s, ok in zip(samples, flags, strict=True)
            ]
            if any("crowd_boxes" in s for s in samples):
                targets["crowd_boxes"] = [
                    torch.from_numpy(np.asarray(s.get("crowd_boxes", ()), np.float32).reshape(-1, 4))
                    for s in samples
                ]
                targets["crowd_labels"] = [
                    torch.from_numpy(np.asarray(s.get("crowd_labels", ()), np.int64).reshape(-1))
                    for s in samples
                ]
    return images, targets


def subset_targets(targets: dict[str, Any], keep: torch.Tensor) -> dict[str, Any]:
    """The targets of the samples where ``keep`` (bool (B,)) is True."""
    out: dict[str, Any] = {}
    for key, value in targets.items():
        if key == "has":
            out[key] = {k: v[keep.to(v.device)] for k, v in value.items()}
        elif isinstance(value, list):
            flags = keep.tolist()
            out[key] = [v for v, k in zip(value, flags, strict=True) if k]
        else:
            out[key] = value[keep.to(value.device)]
    return out


def move_targets(targets: dict[str, Any], device: torch.device) -> dict[str, Any]:
    moved: dict[str, Any] = {}
    for key, value in targets.items():
        if isinstance(value, dict):
            moved[key] = move_targets(value, device)
        elif isinstance(value, list):
            moved[key] = [v.to(device, non_blocking=True) for v in value]
        else:
            moved[key] = value.to(device, non_blocking=True)
    return moved
