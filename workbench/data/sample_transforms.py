"""Fit real images to the model's square input, with their boxes and masks, and augment.

Built on torchvision.transforms.v2 with tv_tensors, so boxes and masks move with the image:

- ``letterbox`` (default): scale the longer side to ``size``, keep the aspect ratio, pad
  the rest equally on both sides (image with grey 114 as YOLO does, masks with 255, the
  ignore index, so padding never counts as background);
- ``stretch``: resize to ``size`` x ``size`` (aspect ratio not kept).

Training augmentation (each optional) works on the fitted sample, so a cache of fitted
images serves every epoch: scale jitter (zoom by a random factor in ``scale_range``,
then a random ``size`` x ``size`` crop, or padding at a random place when zoomed out),
horizontal flip, colour jitter (brightness, contrast, saturation; hue is left alone
because colour can be a class cue). Boxes are clipped to the crop; boxes that end up with
no area are removed with their labels (``SanitizeBoundingBoxes``); boxes that keep some
area but shrink under 1 px a side are grown to 1 px, so small objects are never lost.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass

import numpy as np
import torch
from torchvision import tv_tensors
from torchvision.transforms import v2

PAD_IMAGE = 114
PAD_MASK = 255  # the segmentation ignore index


@dataclass(frozen=True)
class Augment:
    """Training augmentation; the defaults do nothing."""

    hflip: float = 0.0  # probability of a horizontal flip
    scale_range: tuple[float, float] = (1.0, 1.0)  # random zoom factor after fitting
    color: float = 0.0  # brightness/contrast/saturation jitter strength (0-1)


def fit_sample(
    image: np.ndarray,
    boxes: np.ndarray,
    labels: np.ndarray,
    mask: np.ndarray | None,
    size: int,
    mode: str = "letterbox",
    augment: Augment | None = None,
    generator: torch.Generator | None = None,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray | None]:
    """One sample to ``size`` x ``size``.

    image (H, W, 3) uint8; boxes (N, 4) float32 x1, y1, x2, y2 in pixels; labels (N,) int64;
    mask (H, W) uint8 class map or None. Returns them in the same forms at the new size
    (boxes under 1 px a side grown to 1 px; boxes with no area removed with their labels). ``generator`` makes the
    augmentation reproducible. Raises ValueError for an unknown ``mode``.
    """
    if mode not in ("letterbox", "stretch"):
        raise ValueError(f"mode must be 'letterbox' or 'stretch', got {mode!r}")
    out = _fit(_as_tv(image, boxes, labels, mask), size, mode)
    if _may_degenerate(out["boxes"]):
        out = _SANITIZE(_grow_tiny(out))
    fitted = _as_numpy(out, mask is not None)
    if augment is None:
        return fitted
    return augment_sample(*fitted, augment=augment, generator=generator)


def augment_sample(
    image: np.ndarray,
    boxes: np.ndarray,
    labels: np.ndarray,
    mask: np.ndarray | None,
    augment: Augment,
    generator: torch.Generator | None = None,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray | None]:
    """Training augmentation of a fitted square sample (same forms in and out, same size).

    ``generator`` makes it reproducible and leaves torch's global generator as it was."""
    size = image.shape[0]
    steps = _augmentations(augment, size)
    if not steps:
        return image, boxes, labels, mask
    state = torch.get_rng_state()
    if generator is not None:  # v2 draws from the global generator
        torch.set_rng_state(generator.get_state())
    try:
        out = v2.Compose([*_zoom(augment, size), *steps])(_as_tv(image, boxes, labels, mask))
        out = v2.ClampBoundingBoxes()(out)
        out = _SANITIZE(_grow_tiny(out))
    finally:
        if generator is not None:
            generator.set_state(torch.get_rng_state())
            torch.set_rng_state(state)
    return _as_numpy(out, mask is not None)


_SANITIZE = v2.SanitizeBoundingBoxes(labels_getter=lambda s: s["labels"])


def _grow_tiny(sample: dict) -> dict:
    """Boxes that still have some area but less than 1 px a side (a 12 px object of a
    1,024 px photo at 64 px, or one zoomed out) grown to 1 px about their centre, inside
    the image: SanitizeBoundingBoxes would drop them, and the image's object count (the
    counting task's target) with them, without a word. Boxes with no area at all (cropped
    away) are left for it to drop."""
    boxes = sample["boxes"]
    if boxes.numel() == 0:
        return sample
    height, width = boxes.canvas_size
    data = boxes.as_subclass(torch.Tensor).clone()
    sides = data[:, 2:] - data[:, :2]
    tiny = torch.isfinite(data).all(dim=1) & (sides > 0).all(dim=1) & (sides < 1.0).any(dim=1)
    if not bool(tiny.any()):
        return sample
    for axis, limit in ((0, width), (1, height)):
        low, high = data[tiny, axis], data[tiny, axis + 2]
        short = high - low < 1.0
        start = ((low + high) / 2 - 0.5).clamp(0.0, max(0.0, limit - 1.0))
        data[tiny, axis] = torch.where(short, start, low)
        data[tiny, axis + 2] = torch.where(short, start + 1.0, high)
    return {**sample, "boxes": tv_tensors.wrap(data, like=boxes)}


def _may_degenerate(boxes: torch.Tensor) -> bool:
    """Whether SanitizeBoundingBoxes could remove a box (one under 1 px a side, or not
    finite); when none is, the pass is skipped (it costs more than the fit of a small image)."""
    if boxes.numel() == 0:
        return False
    sides = boxes[:, 2:] - boxes[:, :2]
    return bool((sides < 1.0).any()) or not bool(torch.isfinite(boxes).all())


def _tensor(array: np.ndarray) -> torch.Tensor:
    """A tensor of ``array``; cached arrays are read-only, and transforms may write: copy those."""
    return torch.from_numpy(array if array.flags.writeable and array.flags.c_contiguous else np.array(array))


def _as_tv(image: np.ndarray, boxes: np.ndarray, labels: np.ndarray, mask: np.ndarray | None) -> dict:
    height, width = image.shape[:2]
    sample = {
        "image": tv_tensors.Image(_tensor(image).permute(2, 0, 1)),
        "boxes": tv_tensors.BoundingBoxes(
            torch.as_tensor(boxes, dtype=torch.float32).reshape(-1, 4),
            format="XYXY",
            canvas_size=(height, width),
        ),
        "labels": torch.as_tensor(labels, dtype=torch.int64).reshape(-1),
    }
    if mask is not None:
        sample["mask"] = tv_tensors.Mask(_tensor(mask))
    return sample


def _as_numpy(out: dict, with_mask: bool) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray | None]:
    return (
        out["image"].permute(1, 2, 0).contiguous().numpy(),
        out["boxes"].numpy().astype(np.float32).reshape(-1, 4),
        out["labels"].numpy().astype(np.int64),
        out["mask"].numpy().astype(np.uint8) if with_mask else None,
    )


@functools.lru_cache(maxsize=256)
def _resize(height: int, width: int) -> v2.Transform:
    return v2.Resize((height, width), antialias=True)


@functools.lru_cache(maxsize=256)
def _pad(left: int, top: int, right: int, bottom: int) -> v2.Transform:
    return v2.Pad([left, top, right, bottom], fill={tv_tensors.Image: PAD_IMAGE, tv_tensors.Mask: PAD_MASK})


def fit_scales(width: int, height: int, size: int, mode: str = "letterbox") -> tuple[float, float]:
    """(sx, sy): how ``fit_sample`` scales x and y of a ``width`` x ``height`` image fitted to
    ``size``. Letterbox rounds each new side to whole pixels, so its two scales differ
    slightly (72 x 90 at 64 px: 51/72 and 64/90); stretch scales each side to ``size``."""
    width, height = max(1, width), max(1, height)
    if mode == "stretch":
        return size / width, size / height
    scale = size / max(height, width)
    return max(1, round(width * scale)) / width, max(1, round(height * scale)) / height


def _fit(sample: dict, size: int, mode: str) -> dict:
    # the transforms are made once per geometry: building them costs more than small images
    height, width = sample["image"].shape[-2:]
    if mode == "stretch":
        return _resize(size, size)(sample) if (height, width) != (size, size) else sample
    scale = size / max(height, width)
    new_h, new_w = max(1, round(height * scale)), max(1, round(width * scale))
    if (new_h, new_w) != (height, width):
        sample = _resize(new_h, new_w)(sample)
    left, top = (size - new_w) // 2, (size - new_h) // 2
    padding = (left, top, size - new_w - left, size - new_h - top)
    return _pad(*padding)(sample) if any(padding) else sample


_FILL = {tv_tensors.Image: PAD_IMAGE, tv_tensors.Mask: PAD_MASK, "others": 0}


def _zoom(augment: Augment, size: int) -> list:
    low, high = augment.scale_range
    if (low, high) == (1.0, 1.0):
        return []
    factor = float(torch.empty(1).uniform_(low, high))
    side = max(1, round(size * factor))
    return [v2.Resize((side, side), antialias=True), v2.RandomCrop(size, pad_if_needed=True, fill=_FILL)]


def _augmentations(augment: Augment, size: int) -> list:
    """The flip and colour steps; a list with a no-op when only the zoom is on."""
    steps: list = []
    if augment.hflip > 0:
        steps.append(v2.RandomHorizontalFlip(p=augment.hflip))
    if augment.color > 0:
        c = augment.color
        steps.append(v2.ColorJitter(brightness=c, contrast=c, saturation=c))
    if not steps and augment.scale_range != (1.0, 1.0):
        steps.append(v2.Identity())
    return steps
