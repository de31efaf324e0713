"""Throughput of the synthetic shapes generator on one core.

Usage: python benchmarks/bench_shapes.py [--seconds 1.0]

Prints images/s at 64, 128 and 256 px (default options otherwise), and two baselines
measured in the same run at 128 px: ``np.full`` of a uint8 image, and a PIL image with one
ellipse drawn. The ratios say how far generation is from "just making an image".
"""

from __future__ import annotations

import os

for _var in ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS", "NUMEXPR_NUM_THREADS"):
    os.environ[_var] = "1"

import argparse  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402
from pathlib import Path  # noqa: E402

import numpy as np  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from workbench.data.shapes import ShapesDataset, ShapesOptions  # noqa: E402


def rate(make_one, seconds: float) -> float:
    """Calls of ``make_one(i)`` per second, timed over about ``seconds`` after a short warm-up."""
    for i in range(200):
        make_one(i)
    done, start = 0, time.perf_counter()
    while True:
        for _ in range(100):
            make_one(done)
            done += 1
        elapsed = time.perf_counter() - start
        if elapsed >= seconds:
            return done / elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=1.0, help="timing per measurement")
    args = parser.parse_args()
    if hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, {min(os.sched_getaffinity(0))})  # one core

    def full(_i: int) -> np.ndarray:
        return np.full((128, 128, 3), 127, np.uint8)

    from PIL import Image, ImageDraw

    def pil_ellipse(i: int) -> np.ndarray:
        im = Image.new("RGB", (128, 128), (40, 90, 140))
        ImageDraw.Draw(im).ellipse((10 + i % 20, 20, 80, 90), fill=(230, 200, 30))
        return np.asarray(im)

    base_full = rate(full, args.seconds)
    base_pil = rate(pil_ellipse, args.seconds)
    print(f"baseline np.full 128px:        {base_full:10.0f} img/s")
    print(f"baseline PIL one ellipse 128px: {base_pil:10.0f} img/s")
    results = {}
    for size in (64, 128, 256):
        ds = ShapesDataset(ShapesOptions(image_size=size, train_size=10**9), "train")
        results[size] = rate(ds.sample, args.seconds)
        print(f"shapes {size:3d}px (default options): {results[size]:8.0f} img/s")
    print(f"shapes 128px / np.full:        {results[128] / base_full:.3f}")
    print(f"shapes 128px / PIL ellipse:    {results[128] / base_pil:.3f}")


if __name__ == "__main__":
    main()
