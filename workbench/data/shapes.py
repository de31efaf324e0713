"""Built-in synthetic "shapes" scenes, generated on the fly and deterministic per index.

A scene is a noisy coloured background, a few thin distractor strokes (``clutter``) and
``min_objects..max_objects`` filled shapes of the first ``num_classes`` classes of
``CLASS_NAMES``, each with its own colour (so the class is the *shape*, never the colour).
The scene class is the class of the largest object, where "size" is the side of an
object's box (``max(width, height)``); the largest side is always at least
``LARGEST_RATIO`` times the second largest so the label is never ambiguous. Object boxes
overlap little: the intersection of two boxes is at most ``MAX_OVERLAP`` of the smaller
box (so their IoU is below 0.1 and no object hides inside another's box). An object that
does not fit is shrunk, then dropped; only when dropping it would leave fewer than
``min_objects`` (very crowded settings) is it placed where it overlaps least.

The random stream is consumed in a fixed order (background, layout, colours, clutter), so
changing ``noise`` or ``clutter`` changes the pixels but never the objects or the targets.

Every image depends only on ``(data_seed, split, index)``: train and val draw from
different streams, and nothing is stored on disk. Speed comes from

- one ``random.Random`` per sample (cheap to seed; scalar draws in plain Python, and only
  ``random()`` is used, whose sequence Python guarantees across versions);
- shape stamps (boolean masks per class and pixel size) built once and cached;
- a per-dataset noise bank built once from ``data_seed``; a background is one uint8 add
  of a randomly offset crop of it and a base colour (the bank is offset so it never
  overflows).
"""

from __future__ import annotations

import math
import operator
import random
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

import numpy as np

from workbench.config import SEED_MAX, ConfigError, setting
from workbench.data.base import ALL_TARGETS, DataInfo
from workbench.data.source import DATASETS, DataSource

CLASS_NAMES: tuple[str, ...] = (
    "circle",
    "square",
    "triangle",
    "diamond",
    "cross",
    "hexagon",
    "ring",
    "star",
)

SPLIT_IDS = {"train": 0, "val": 1}

LARGEST_RATIO = 1.25  # side of the largest object / side of the second largest, at least
MAX_OVERLAP = 0.15  # intersection of two boxes / area of the smaller box, at most
MIN_PX = 5  # smallest object side in pixels (smaller shapes are not recognisable)
CONTRAST = 80  # object colour vs background colour: this much in some channel, twice this summed
PLACE_TRIES = 12  # random positions tried before an object is shrunk
SHRINK = 0.8  # factor applied to an object that could not be placed


# --------------------------------------------------------------------------- stamps


def _shape_distance(cls: int, u: np.ndarray, v: np.ndarray) -> np.ndarray:
    """Approximate signed distance (<= 0 inside) to shape ``cls`` filling the square [-1, 1]^2.

    ``u`` grows to the right and ``v`` downwards. Every shape touches all four sides.
    """
    au, av = np.abs(u), np.abs(v)
    if cls == 0:  # circle
        return np.sqrt(u * u + v * v) - 1.0
    if cls == 1:  # square
        return np.maximum(au, av) - 1.0
    if cls == 2:  # triangle, apex up
        return np.maximum(v - 1.0, (2.0 * au - v - 1.0) / math.sqrt(5.0))
    if cls == 3:  # diamond
        return (au + av - 1.0) / math.sqrt(2.0)
    if cls == 4:  # cross (plus sign)
        w = 0.34
        return np.minimum(np.maximum(au - w, av - 1.0), np.maximum(au - 1.0, av - w))
    if cls == 5:  # hexagon, flat top and bottom
        return np.maximum(av - 1.0, (2.0 * au + av - 2.0) / math.sqrt(5.0))
    if cls == 6:  # ring
        return np.abs(np.sqrt(u * u + v * v) - 0.72) - 0.28
    if cls == 7:  # five-pointed star, one point up, stretched to fill the square
        return _star_distance(u, v)
    raise ValueError(f"unknown shape class {cls}")


def _star_distance(u: np.ndarray, v: np.ndarray) -> np.ndarray:
    outer, inner = 1.0, 0.45
    angles = -math.pi / 2 + np.arange(10) * math.pi / 5
    radii = np.where(np.arange(10) % 2 == 0, outer, inner)
    px, py = radii * np.cos(angles), radii * np.sin(angles)
    # stretch the star's own bounding box onto [-1, 1]^2
    x_lo, x_hi, y_lo, y_hi = px.min(), px.max(), py.min(), py.max()
    px = (px - x_lo) / (x_hi - x_lo) * 2.0 - 1.0
    py = (py - y_lo) / (y_hi - y_lo) * 2.0 - 1.0
    # union of five convex kites: centre, inner vertex, tip, next inner vertex
    best = None
    for k in range(5):
        tip = 2 * k
        quad = [(0.0, 0.0), (px[tip - 1], py[tip - 1]), (px[tip], py[tip]), (px[tip + 1], py[tip + 1])]
        d = _convex_distance(quad, u, v)
        best = d if best is None else np.minimum(best, d)
    return best


def _convex_distance(poly: list[tuple[float, float]], u: np.ndarray, v: np.ndarray) -> np.ndarray:
    """Max over edges of the signed distance to the edge line (<= 0 inside), any winding."""
    area2 = 0.0
    for i in range(len(poly)):
        (x0, y0), (x1, y1) = poly[i], poly[(i + 1) % len(poly)]
        area2 += x0 * y1 - x1 * y0
    sign = 1.0 if area2 > 0 else -1.0
    out = None
    for i in range(len(poly)):
        (x0, y0), (x1, y1) = poly[i], poly[(i + 1) % len(poly)]
        ex, ey = x1 - x0, y1 - y0
        length = math.hypot(ex, ey)
        # outward normal for a counter-clockwise (in these axes) polygon is (ey, -ex)
        d = sign * ((u - x0) * ey - (v - y0) * ex) / length
        out = d if out is None else np.maximum(out, d)
    return out


@lru_cache(maxsize=4096)
def stamp(cls: int, size: int) -> np.ndarray:
    """Boolean (h, w) mask of shape ``cls`` drawn in a ``size`` square, cropped to its tight box.

    A pixel is in when its centre lies within about half a pixel of the shape, so thin
    corners (a triangle's apex) still reach the square's edges; for every class and size
    the tight box is the full ``size x size`` square.
    """
    c = (np.arange(size, dtype=np.float64) + 0.5) * (2.0 / size) - 1.0
    u, v = c[None, :], c[:, None]
    inside = _shape_distance(cls, u, v) <= 1.0 / size
    rows, cols = np.flatnonzero(inside.any(1)), np.flatnonzero(inside.any(0))
    out = np.ascontiguousarray(inside[rows[0] : rows[-1] + 1, cols[0] : cols[-1] + 1])
    out.setflags(write=False)
    return out


# --------------------------------------------------------------------------- background


@lru_cache(maxsize=4)
def noise_bank(data_seed: int, image_size: int, noise: float) -> tuple[np.ndarray, int]:
    """A (2S, 2S, 3) uint8 noise texture in [0, 2A] and its amplitude A (= round(127 * noise)).

    Half fine grain, half smooth blotches; built once per (seed, size, noise).
    """
    amp = int(round(127 * float(noise)))
    n = 2 * image_size
    if amp == 0:
        return np.zeros((n, n, 3), np.uint8), 0
    rng = np.random.default_rng([int(data_seed) % (1 << 63), 7919, image_size])
    fine = rng.standard_normal((n, n, 3), dtype=np.float32)
    cell = max(2, image_size // 16)
    low = rng.standard_normal((n // cell + 2, n // cell + 2, 3), dtype=np.float32)
    # bilinear upsampling of the coarse grid
    pos = (np.arange(n, dtype=np.float32) + 0.5) / cell
    i0 = pos.astype(np.int64)
    f = (pos - i0)[:, None]
    rows = low[i0] * (1 - f)[:, :, None] + low[i0 + 1] * f[:, :, None]
    coarse = rows[:, i0] * (1 - f.T)[:, :, None] + rows[:, i0 + 1] * f.T[:, :, None]
    coarse /= coarse.std() + 1e-6
    tex = 0.6 * fine + 0.8 * coarse
    tex /= tex.std() + 1e-6
    tex = np.clip(tex / 2.5, -1.0, 1.0)  # +-2.5 sigma -> +-1
    bank = np.ascontiguousarray(np.rint((tex + 1.0) * amp).astype(np.uint8))
    bank.setflags(write=False)
    return bank, amp


# --------------------------------------------------------------------------- dataset


@dataclass
class ShapesOptions:
    """Knobs of the built-in synthetic "shapes" scenes (``[data.options]`` of source "shapes")."""

    image_size: int = setting(128, "Image size", "Side of the square scenes.", unit="px", ge=32, le=1024)
    num_classes: int = setting(
        4, "Shape classes", "How many shape classes appear (circle, square, ...).", ge=2, le=8
    )
    min_objects: int = setting(
        1, "Fewest objects", "Fewest objects per scene; 0 allows empty scenes.", ge=0, le=20
    )
    max_objects: int = setting(
        4, "Most objects", "Most objects per scene (at least the fewest).", ge=1, le=20
    )
    min_size: float = setting(
        0.12, "Smallest object", "Smallest object side, as a fraction of the image side.", ge=0.05, le=0.9
    )
    max_size: float = setting(
        0.40, "Largest object", "Largest object side, as a fraction of the image side.", ge=0.05, le=0.9
    )
    noise: float = setting(
        0.08, "Noise", "Background noise amplitude (0 = flat, 1 = strong).", ge=0.0, le=1.0
    )
    clutter: int = setting(2, "Clutter", "Distractor strokes per scene.", ge=0, le=50)
    train_size: int = setting(5000, "Training images", "Scenes per training epoch.", ge=1, le=1_000_000)
    val_size: int = setting(500, "Validation images", "Scenes in the validation set.", ge=1, le=100_000)
    data_seed: int = setting(
        0, "Data seed", "Seed of the scenes; the same seed gives the same images.", ge=0, le=SEED_MAX
    )


class ShapesDataset:
    """Synthetic scenes of coloured shapes; see the module docstring for the rules."""

    def __init__(self, options: ShapesOptions, split: str) -> None:
        if split not in SPLIT_IDS:
            raise ValueError(f"unknown split {split!r}; choose 'train' or 'val'")
        if not 1 <= options.num_classes <= len(CLASS_NAMES):
            raise ValueError(f"num_classes must be in 1..{len(CLASS_NAMES)}, got {options.num_classes}")
        if options.min_objects < 0 or options.max_objects < max(1, options.min_objects):
            raise ValueError(
                f"need 0 <= min_objects <= max_objects and max_objects >= 1, got "
                f"{options.min_objects}..{options.max_objects}"
            )
        self.options = options
        self.split = split
        self.split_id = SPLIT_IDS[split]
        self.info = DataInfo(
            image_size=int(options.image_size),
            num_classes=int(options.num_classes),
            class_names=CLASS_NAMES[: options.num_classes],
            target_keys=ALL_TARGETS,
        )
        self._size = int(options.train_size if split == "train" else options.val_size)
        self._bank, self._amp = noise_bank(
            int(options.data_seed), int(options.image_size), float(options.noise)
        )
        self._seed_base = ((int(options.data_seed) % (1 << 64)) * 4 + self.split_id) << 40

    def __len__(self) -> int:
        return self._size

    def __repr__(self) -> str:
        return f"ShapesDataset(split={self.split!r}, len={self._size}, options={self.options!r})"

    def sample(self, index: int) -> dict[str, Any]:
        index = operator.index(index)
        if not 0 <= index < self._size:
            raise IndexError(f"index {index} out of range for {self.split} split of size {self._size}")
        return self._generate(random.Random(self._seed_base + index))

    # ---------------------------------------------------------------- generation

    def _generate(self, rng: random.Random) -> dict[str, Any]:
        o = self.options
        S = self.info.image_size
        C = self.info.num_classes
        rnd = rng.random
        amp = self._amp

        # draw order of the random stream: background, layout, colours, clutter. Layout never
        # depends on noise or clutter, and clutter never changes anything drawn before it.
        lo, span = amp, 256 - 2 * amp  # base colour kept ``amp`` away from 0 and 255
        base = (lo + int(rnd() * span), lo + int(rnd() * span), lo + int(rnd() * span))
        oy, ox, flip = int(rnd() * (S + 1)), int(rnd() * (S + 1)), rnd() < 0.5

        # object sizes (pixels): the largest first, the others at most side_L / 1.25
        n = o.min_objects + int(rnd() * (o.max_objects - o.min_objects + 1))
        lo_px = max(MIN_PX, int(round(o.min_size * S)))
        hi_px = max(lo_px, int(round(o.max_size * S)))
        hi_px = min(hi_px, S)
        classes = [int(rnd() * C) for _ in range(n)]
        if n == 0:
            sizes = []
        elif n == 1:
            sizes = [lo_px + int(rnd() * (hi_px - lo_px + 1))]
        else:
            first_lo = min(hi_px, max(lo_px, math.ceil(lo_px * LARGEST_RATIO)))
            big = first_lo + int(rnd() * (hi_px - first_lo + 1))
            big = min(S, max(big, math.ceil(MIN_PX * LARGEST_RATIO)))
            side = max(stamp(classes[0], big).shape)
            cap = (side * 4) // 5  # largest side / 1.25, rounded down
            others_lo = min(lo_px, cap)
            sizes = [big] + [others_lo + int(rnd() * (cap - others_lo + 1)) for _ in range(n - 1)]
            # place big ones first: they are the hardest to fit
            rest = sorted(zip(sizes[1:], classes[1:], strict=True), key=lambda t: -t[0])
            sizes = [big] + [s for s, _ in rest]
            classes = [classes[0]] + [c for _, c in rest]

        # placement with rejection; shrink on failure, drop only above min_objects
        placed: list[tuple[int, int, int, np.ndarray]] = []  # (class, x0, y0, stamp)
        rects: list[tuple[int, int, int, int]] = []
        for k in range(n):
            cls, size = classes[k], sizes[k]
            remaining_needed = o.min_objects - len(placed)
            best = None
            while True:
                st = stamp(cls, size)
                h, w = st.shape
                found = None
                for _ in range(PLACE_TRIES):
                    x0 = int(rnd() * (S - w + 1))
                    y0 = int(rnd() * (S - h + 1))
                    worst = _worst_overlap(rects, x0, y0, x0 + w, y0 + h)
                    if worst <= MAX_OVERLAP:
                        found = (x0, y0)
                        break
                    if best is None or worst < best[0]:
                        best = (worst, size, x0, y0)
                if found is not None or size <= MIN_PX or k == 0:
                    break
                size = max(MIN_PX, int(size * SHRINK))
            if found is None and k > 0:
                if remaining_needed <= 0:
                    continue  # drop: the scene already has enough objects
                _, size, x0, y0 = best  # type: ignore[misc]
                st = stamp(cls, size)
                h, w = st.shape
                found = (x0, y0)
            x0, y0 = found  # type: ignore[misc]  (the first object always fits)
            placed.append((cls, x0, y0, st))
            rects.append((x0, y0, x0 + w, y0 + h))

        # listing (and drawing) order is random, so the first object is not always the largest
        order = list(range(len(placed)))
        for i in range(len(order) - 1, 0, -1):  # Fisher-Yates on random() only (stable across Pythons)
            j = int(rnd() * (i + 1))
            order[i], order[j] = order[j], order[i]
        colours = [_contrasting_colour(rnd, base) for _ in order]

        # background: the base colour plus an offset crop of the noise bank
        img = np.empty((S, S, 3), np.uint8)
        if amp:
            crop = self._bank[oy : oy + S, ox : ox + S]
            if flip:
                crop = crop[::-1]
            # add over (S, 3S) views: pixel rows stay contiguous, so numpy's inner loop runs
            # over 3S bytes rather than 3 channels (tens of times faster)
            offset = np.broadcast_to(np.array([b - amp for b in base], np.uint8), (S, 3)).reshape(-1)
            np.add(crop.reshape(S, 3 * S), offset, out=img.reshape(S, 3 * S))
        else:
            img[...] = base
        if o.clutter > 0:
            self._draw_clutter(img, rng, base)

        mask = np.zeros((S, S), np.uint8)
        boxes = np.empty((len(order), 4), np.float32)
        labels = np.empty(len(order), np.int64)
        for j, i in enumerate(order):
            cls, x0, y0, st = placed[i]
            h, w = st.shape
            img[y0 : y0 + h, x0 : x0 + w][st] = colours[j]
            mask[y0 : y0 + h, x0 : x0 + w][st] = cls + 1
            boxes[j] = rects[i]
            labels[j] = cls
        presence = np.zeros(C, np.float32)
        presence[labels] = 1.0
        # An empty scene has no largest object: no scene class and no largest box
        # (those tasks skip the image; see ``collate``'s per-sample ``has`` masks).
        empty = not placed
        return {
            "image": img,
            "scene_class": None if empty else int(placed[0][0]),
            "presence": presence,
            "boxes": boxes,
            "labels": labels,
            "largest_box": None if empty else boxes[order.index(0)].copy(),
            "mask": mask,
            "count": len(order),
        }

    def _draw_clutter(self, img: np.ndarray, rng: random.Random, base: tuple[int, int, int]) -> None:
        """Thin straight or bent strokes, 1-2 px wide, in contrasting colours (not in targets)."""
        S = img.shape[0]
        rnd = rng.random
        segs: list[tuple[float, float, float, float, int]] = []  # x0, y0, x1, y1, colour index
        colours = []
        for s in range(self.options.clutter):
            colours.append(_contrasting_colour(rnd, base))
            x, y = rnd() * (S - 1), rnd() * (S - 1)
            length = (0.08 + 0.22 * rnd()) * S
            angle = rnd() * 2.0 * math.pi
            parts = 1 if rnd() < 0.5 else 2
            for _ in range(parts):
                seg = length / parts
                x1 = min(S - 1.0, max(0.0, x + seg * math.cos(angle)))
                y1 = min(S - 1.0, max(0.0, y + seg * math.sin(angle)))
                segs.append((x, y, x1, y1, s))
                x, y = x1, y1
                angle += (0.5 + rnd()) * (1 if rnd() < 0.5 else -1)
        width2 = [rnd() < 0.5 for _ in range(self.options.clutter)]
        arr = np.array(segs, np.float64)
        x0, y0, x1, y1 = arr[:, 0], arr[:, 1], arr[:, 2], arr[:, 3]
        owner = arr[:, 4].astype(np.int64)
        npts = np.maximum(np.abs(x1 - x0), np.abs(y1 - y0)).astype(np.int64) + 2
        total = int(npts.sum())
        seg_of = np.repeat(np.arange(len(segs)), npts)
        starts = np.cumsum(npts) - npts
        t = (np.arange(total) - starts[seg_of]) / (npts - 1)[seg_of]
        xs = np.rint(x0[seg_of] + t * (x1 - x0)[seg_of]).astype(np.int64)
        ys = np.rint(y0[seg_of] + t * (y1 - y0)[seg_of]).astype(np.int64)
        cols = np.array(colours, np.uint8)[owner[seg_of]]
        img[ys, xs] = cols
        thick = np.array(width2, bool)[owner[seg_of]]
        if thick.any():
            steep = (np.abs(y1 - y0) > np.abs(x1 - x0))[seg_of][thick]
            xs2, ys2 = xs[thick] + steep, ys[thick] + ~steep
            np.minimum(xs2, S - 1, out=xs2)
            np.minimum(ys2, S - 1, out=ys2)
            img[ys2, xs2] = cols[thick]


def _worst_overlap(rects: list[tuple[int, int, int, int]], x0: int, y0: int, x1: int, y1: int) -> float:
    """Largest intersection / smaller-box area between (x0, y0, x1, y1) and ``rects``."""
    worst = 0.0
    area = (x1 - x0) * (y1 - y0)
    for a0, b0, a1, b1 in rects:
        iw = min(x1, a1) - max(x0, a0)
        if iw <= 0:
            continue
        ih = min(y1, b1) - max(y0, b0)
        if ih <= 0:
            continue
        r = iw * ih / min(area, (a1 - a0) * (b1 - b0))
        if r > worst:
            worst = r
    return worst


def _contrasting_colour(rnd, base: tuple[int, int, int]) -> tuple[int, int, int]:
    """A random colour at least CONTRAST from ``base`` in some channel and 2*CONTRAST summed."""
    for _ in range(8):
        c = (int(rnd() * 256), int(rnd() * 256), int(rnd() * 256))
        d = (abs(c[0] - base[0]), abs(c[1] - base[1]), abs(c[2] - base[2]))
        if max(d) >= CONTRAST and d[0] + d[1] + d[2] >= 2 * CONTRAST:
            return c
    return (0 if base[0] >= 128 else 255, 0 if base[1] >= 128 else 255, 0 if base[2] >= 128 else 255)


def _check(options: ShapesOptions, where: str) -> None:
    if options.max_objects < options.min_objects:
        raise ConfigError(
            f"{where}.max_objects",
            f"must be >= {where}.min_objects ({options.min_objects}), got {options.max_objects}",
        )
    if options.max_size < options.min_size:
        raise ConfigError(
            f"{where}.max_size", f"must be >= {where}.min_size ({options.min_size}), got {options.max_size}"
        )


def build_shapes(options: ShapesOptions, path: str, split: str) -> ShapesDataset:
    """Registry entry: the shapes dataset of ``options`` for ``split`` (``path`` unused)."""
    return ShapesDataset(options, split)


DATASETS.register("shapes")(
    DataSource(
        name="shapes",
        label="shapes (built-in synthetic scenes)",
        description="Coloured shapes on noisy backgrounds, generated on the fly: every task kind, "
        "no files needed.",
        Options=ShapesOptions,
        build=build_shapes,
        needs_path=False,
        train_size_field="train_size",
        check=_check,
    )
)
