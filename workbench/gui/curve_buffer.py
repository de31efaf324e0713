"""Append-only point storage for live curves, plus cheap views for drawing.

``CurveBuffer`` keeps x/y in growable float64 arrays (capacity doubles, so appends are
O(1) amortised) and hands out read-only views, never copies, of the stored points. A
buffer may keep several x columns for the same y (``axes``: e.g. step, epoch and wall
time), so the plots can switch their x axis without re-reading anything.
``downsampled`` bounds the number of points a plot item receives (min/max per bin, so
spikes survive), and ``ema`` smooths incrementally: only points added since the last
call are filtered. Qt-free and torch-free.
"""

from __future__ import annotations

import math

import numpy as np

_MIN_CAPACITY = 64


class CurveBuffer:
    """Growable (x, y) float64 arrays with O(1) amortised append."""

    __slots__ = ("_xs", "_y", "_n", "_sorted", "_ema_alpha", "_ema", "_ema_n", "_ema_state")

    def __init__(self, capacity: int = _MIN_CAPACITY, axes: int = 1) -> None:
        capacity = max(_MIN_CAPACITY, int(capacity))
        self._xs = [np.empty(capacity, np.float64) for _ in range(max(1, int(axes)))]
        self._y = np.empty(capacity, np.float64)
        self._n = 0
        # per x column: it never decreased, so visible ranges can be found by bisection
        self._sorted = [True] * len(self._xs)
        self._ema_alpha = -1.0
        self._ema = np.empty(0, np.float64)
        self._ema_n = 0
        self._ema_state = math.nan

    # -- storage
    def __len__(self) -> int:
        return self._n

    @property
    def axes(self) -> int:
        return len(self._xs)

    def _reserve(self, needed: int) -> None:
        capacity = len(self._y)
        if needed <= capacity:
            return
        while capacity < needed:
            capacity *= 2
        grown = []
        for old in [*self._xs, self._y]:
            new = np.empty(capacity, np.float64)
            new[: self._n] = old[: self._n]
            grown.append(new)
        self._xs, self._y = grown[:-1], grown[-1]

    def append(self, x: float, y: float, *more_x: float) -> None:
        """Add a point; ``more_x`` are its other x values (default: ``x``)."""
        n = self._n
        if n == len(self._y):
            self._reserve(n + 1)
        for i, column in enumerate(self._xs):
            value = float(x if i == 0 or i > len(more_x) else more_x[i - 1])
            if n and value < column[n - 1]:
                self._sorted[i] = False
            column[n] = value
        self._y[n] = float(y)
        self._n = n + 1

    def extend(self, xs, ys, *more_xs) -> None:
        ys = np.asarray(ys, np.float64).reshape(-1)
        columns = [np.asarray(xs, np.float64).reshape(-1)]
        for i in range(1, len(self._xs)):
            columns.append(
                np.asarray(more_xs[i - 1], np.float64).reshape(-1) if i <= len(more_xs) else columns[0]
            )
        for column in columns:
            if len(column) != len(ys):
                raise ValueError(f"x and y differ in length: {len(column)} vs {len(ys)}")
        if not len(ys):
            return
        n = self._n
        self._reserve(n + len(ys))
        for i, (column, values) in enumerate(zip(self._xs, columns, strict=True)):
            if (n and values[0] < column[n - 1]) or np.any(np.diff(values) < 0):
                self._sorted[i] = False
            column[n : n + len(values)] = values
        self._y[n : n + len(ys)] = ys
        self._n = n + len(ys)

    def clear(self) -> None:
        self._n = 0
        self._sorted = [True] * len(self._xs)
        self._ema_alpha = -1.0
        self._ema_n = 0

    @property
    def x(self) -> np.ndarray:
        """Read-only view of the stored x values (the first x column)."""
        return self.axis_x(0)

    def axis_x(self, axis: int) -> np.ndarray:
        """Read-only view of x column ``axis``."""
        view = self._xs[axis][: self._n]
        view.flags.writeable = False
        return view

    @property
    def y(self) -> np.ndarray:
        """Read-only view of the stored y values."""
        view = self._y[: self._n]
        view.flags.writeable = False
        return view

    @property
    def is_sorted(self) -> bool:
        return self._sorted[0]

    def first_y(self) -> float:
        return float(self._y[0]) if self._n else math.nan

    # -- views for drawing
    def ema(self, alpha: float) -> np.ndarray:
        """Exponential moving average of y (s_0 = y_0, s_t = a*s_{t-1} + (1-a)*y_t), cached.

        Only the points added since the last call are filtered; non-finite values are
        skipped (the average holds its value across them).
        """
        alpha = float(alpha)
        if alpha <= 0.0:
            return self.y
        if alpha != self._ema_alpha:
            self._ema_alpha = alpha
            self._ema_n = 0
            self._ema_state = math.nan
        if len(self._ema) < len(self._y):
            grown = np.empty(len(self._y), np.float64)
            grown[: self._ema_n] = self._ema[: self._ema_n]
            self._ema = grown
        start = self._ema_n
        if start < self._n:
            out, self._ema_state = _ema_block(self._y[start : self._n], alpha, self._ema_state)
            self._ema[start : self._n] = out
            self._ema_n = self._n
        view = self._ema[: self._n]
        view.flags.writeable = False
        return view

    def visible_slice(self, x_range: tuple[float, float] | None, axis: int = 0) -> slice:
        """Index range covering ``x_range`` plus one point either side (all when unsorted)."""
        if x_range is None or not self._sorted[axis] or self._n == 0:
            return slice(0, self._n)
        lo, hi = x_range
        x = self._xs[axis][: self._n]
        start = max(0, int(np.searchsorted(x, lo, side="left")) - 1)
        stop = min(self._n, int(np.searchsorted(x, hi, side="right")) + 1)
        return slice(start, stop)

    def downsampled(
        self,
        max_points: int,
        y: np.ndarray | None = None,
        x_range: tuple[float, float] | None = None,
        axis: int = 0,
    ) -> tuple[np.ndarray, np.ndarray]:
        """At most ``max_points`` points (+2 end points) of the curve, min/max per bin.

        ``y`` replaces the stored y values (e.g. ``self.ema(a)``); ``x_range`` limits the
        result to the visible part of a sorted curve; ``axis`` picks the x column.
        """
        ys = self.y if y is None else y
        sl = self.visible_slice(x_range, axis)
        return peak_downsample(self.axis_x(axis)[sl], ys[sl], max_points)


def peak_downsample(x: np.ndarray, y: np.ndarray, max_points: int) -> tuple[np.ndarray, np.ndarray]:
    """Keep each bin's minimum and maximum (in order), plus the first and last point.

    Returns the inputs unchanged when they already fit in ``max_points``.
    """
    n = len(x)
    max_points = max(4, int(max_points))
    if n <= max_points:
        return x, y
    bins = (max_points - 2) // 2
    size = -(-n // bins)  # ceil
    bins = -(-n // size)
    pad = bins * size - n
    yy = y
    if pad:
        yy = np.concatenate([y, np.full(pad, y[-1])])
    grid = yy.reshape(bins, size)
    # nan-safe: replace non-finite values so argmin/argmax pick real points where present
    finite = np.isfinite(grid)
    low = np.where(finite, grid, np.inf).argmin(axis=1)
    high = np.where(finite, grid, -np.inf).argmax(axis=1)
    first = np.minimum(low, high)
    second = np.maximum(low, high)
    base = np.arange(bins) * size
    idx = np.empty(2 * bins, np.int64)
    idx[0::2] = base + first
    idx[1::2] = base + second
    idx = np.minimum(idx, n - 1)
    idx = np.concatenate([[0], idx, [n - 1]])
    keep = np.ones(len(idx), bool)
    keep[1:] = np.diff(idx) != 0  # drop repeats (min == max, padded tail)
    idx = idx[keep]
    return x[idx], y[idx]


def _ema_block(values: np.ndarray, alpha: float, state: float) -> tuple[np.ndarray, float]:
    """EMA of ``values`` continuing from ``state`` (nan: start from the first finite value).

    Vectorised: blocks short enough that alpha**-k stays representable are filtered with
    cumulative sums; the carry from block to block is a short scalar loop.
    """
    out = np.empty(len(values), np.float64)
    finite = np.isfinite(values)
    if not finite.all():
        # rare (diverging runs): plain loop keeps the semantics simple
        s = state
        for i, v in enumerate(values):
            if math.isfinite(v):
                s = v if math.isnan(s) else alpha * s + (1.0 - alpha) * v
            out[i] = s
        return out, s
    vals = values
    if math.isnan(state):
        state = float(vals[0])
    block = max(1, min(4096, int(math.log(1e-9) / math.log(alpha)))) if alpha < 1.0 else 1
    n = len(vals)
    nb = -(-n // block)
    padded = np.zeros(nb * block, np.float64)
    padded[:n] = vals
    grid = padded.reshape(nb, block)
    k = np.arange(block, dtype=np.float64)
    decay = alpha ** (k + 1)  # weight of the carried-in state at position k
    inv = alpha ** (-k)
    # within-block EMA from zero state: s_k = (1-a) * sum_{j<=k} a^(k-j) x_j
    within = (1.0 - alpha) * np.cumsum(grid * inv, axis=1) * (alpha**k)
    last = within[:, -1]
    carry_in = np.empty(nb, np.float64)
    s = state
    tail = alpha**block
    for b in range(nb):
        carry_in[b] = s
        s = tail * s + last[b]
    result = within + carry_in[:, None] * decay[None, :]
    out[:] = result.reshape(-1)[:n]
    return out, float(out[-1])
