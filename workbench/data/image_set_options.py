"""Options every annotated-image source shares (COCO, VOC, YOLO, image folders, auto).

Declared once as field metadata: config validation and the setup form both read them.
"""

from __future__ import annotations

from dataclasses import dataclass

from workbench.config import SEED_MAX, setting


@dataclass
class ImageSetOptions:
    image_size: int = setting(
        256,
        "Image size",
        "Side the images are fitted to (model.input_size overrides it).",
        unit="px",
        ge=32,
        le=1024,
    )
    resize: str = setting(
        "letterbox",
        "Resize",
        "letterbox: keep the aspect ratio and pad; stretch: resize to a square.",
        choices=("letterbox", "stretch"),
    )
    val_fraction: float = setting(
        0.2,
        "Validation share",
        "Share of the images held out for validation when the set has no validation split.",
        gt=0.0,
        lt=1.0,
    )
    split_seed: int = setting(
        0,
        "Split seed",
        "Seed of that held-out split; the augmentation draws follow it too.",
        ge=0,
        le=SEED_MAX,
    )
    max_images: int = setting(
        0,
        "Image limit",
        "Use at most this many images per split (a quick try); 0 = all.",
        ge=0,
        le=10_000_000,
    )
    hflip: float = setting(
        0.5, "Flip", "Probability of a horizontal flip of a training image.", ge=0.0, le=1.0
    )
    scale_jitter: float = setting(
        0.0,
        "Scale jitter",
        "Training images are zoomed by a random factor in [1 - s, 1 + s] (0 = off).",
        ge=0.0,
        le=0.9,
    )
    color_jitter: float = setting(
        0.0, "Colour jitter", "Brightness, contrast and saturation jitter of training images.", ge=0.0, le=1.0
    )
    cache_mb: int = setting(
        1024,
        "Cache",
        "Decoded, resized images kept in memory between epochs; the rest go to disk beside the "
        "run. 0 = no cache.",
        unit="MB",
        ge=0,
        le=1_000_000,
    )
