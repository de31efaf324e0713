"""Qt-free drawing specs: what to draw on an image, as plain data.

A task kind turns a prediction and its target into a ``DrawSpec``; the GUI renders any
spec the same way, so a new task kind needs no GUI code.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

# One colour per class id (RGB), reused cyclically.
PALETTE: tuple[tuple[int, int, int], ...] = (
    (230, 25, 75),
    (60, 180, 75),
    (0, 130, 200),
    (245, 130, 48),
    (145, 30, 180),
    (70, 240, 240),
    (240, 50, 230),
    (210, 245, 60),
    (250, 190, 212),
    (0, 128, 128),
)


def class_colour(class_id: int) -> tuple[int, int, int]:
    return PALETTE[int(class_id) % len(PALETTE)]


@dataclass(frozen=True)
class DrawBox:
    xyxy: tuple[float, float, float, float]  # pixels in the image as shown
    label: str
    colour: tuple[int, int, int]
    score: float | None = None  # None for ground truth
    truth: bool = False  # ground truth boxes are drawn dashed
    error: str = ""  # "", "missed", "false positive", "wrong class"


@dataclass(frozen=True)
class DrawMask:
    classes: np.ndarray  # (H, W) int class ids, 0 = background
    colours: tuple[tuple[int, int, int], ...]  # colour of class id i at index i
    truth: bool = False


@dataclass(frozen=True)
class DrawText:
    text: str  # e.g. "scene: circle (truth: circle)"
    error: bool = False


@dataclass(frozen=True)
class DrawSpec:
    task: str
    boxes: tuple[DrawBox, ...] = ()
    masks: tuple[DrawMask, ...] = ()
    texts: tuple[DrawText, ...] = ()
    has_error: bool = False
    extra: dict = field(default_factory=dict)
