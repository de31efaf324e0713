"""Loader throughput on real files: the workbench's importer against a bare loop.

Writes N 640x480 JPEGs with a COCO file (1-3 boxes per image), then times, in the same
process and interleaved over several rounds:

- baseline: PIL decode + torchvision resize of the longer side to 224 px (the least any
  loader must do);
- workbench, no cache: ``ImageSetDataset.sample`` with ``cache_mb = 0`` (decode, letterbox
  to 224 with boxes through transforms.v2, targets);
- workbench, warm cache: the same after one pass has filled the cache (the second epoch).

Prints images/s, the ratios to the baseline (goals: >= 0.9 without cache, >= 5 with the
cache warm) and the cache's memory per 1,000 images.

    .venv/bin/python benchmarks/bench_loader.py [--images 200] [--rounds 5]
"""

from __future__ import annotations

import argparse
import json
import statistics
import tempfile
import time
from pathlib import Path

import numpy as np
import torch
from PIL import Image
from torchvision.transforms.v2 import functional as F

from workbench.config import DataConfig
from workbench.data import build_dataset

SIZE = 224


def write_set(root: Path, n: int) -> Path:
    rng = np.random.default_rng(0)
    (root / "images").mkdir(parents=True)
    images, annotations = [], []
    yy, xx = np.mgrid[0:480, 0:640]
    for i in range(n):
        # smooth colour fields plus noise: compresses like a photo, not like a flat image
        base = np.stack([(xx * (i % 7 + 1)) % 256, (yy * (i % 5 + 1)) % 256, (xx + yy + 13 * i) % 256], -1)
        pixels = np.clip(base + rng.normal(0, 12, base.shape), 0, 255).astype(np.uint8)
        Image.fromarray(pixels).save(root / "images" / f"{i:05d}.jpg", quality=90)
        images.append({"id": i + 1, "file_name": f"{i:05d}.jpg", "width": 640, "height": 480})
        for k in range(1 + i % 3):
            annotations.append(
                {
                    "id": len(annotations) + 1,
                    "image_id": i + 1,
                    "category_id": 1 + k,
                    "bbox": [50.0 + 100 * k, 60.0, 120.0, 90.0],
                    "iscrowd": 0,
                    "segmentation": [],
                }
            )
    categories = [{"id": c, "name": f"class{c}"} for c in (1, 2, 3)]
    path = root / "instances.json"
    path.write_text(json.dumps({"images": images, "annotations": annotations, "categories": categories}))
    return path


def bare_loop(files: list[Path]) -> float:
    start = time.perf_counter()
    for f in files:
        with Image.open(f) as img:
            t = torch.from_numpy(np.array(img.convert("RGB"))).permute(2, 0, 1)
        h, w = t.shape[-2:]
        scale = SIZE / max(h, w)
        F.resize(t, [round(h * scale), round(w * scale)], antialias=True)
    return len(files) / (time.perf_counter() - start)


def dataset_pass(data) -> float:
    start = time.perf_counter()
    for i in range(len(data)):
        data.sample(i)
    return len(data) / (time.perf_counter() - start)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--images", type=int, default=200)
    ap.add_argument("--rounds", type=int, default=5)
    args = ap.parse_args()
    torch.set_num_threads(1)  # a loader worker's share; the same for every contender
    with tempfile.TemporaryDirectory() as tmp:
        path = write_set(Path(tmp), args.images)
        options = {"image_size": SIZE, "val_fraction": 0.5, "hflip": 0.0}
        cold = build_dataset(
            DataConfig(source="coco", path=str(path), options={**options, "cache_mb": 0}), "val"
        )
        warm = build_dataset(
            DataConfig(source="coco", path=str(path), options={**options, "cache_mb": 4096}), "val"
        )
        val_files = [r.image for r in cold.records]
        dataset_pass(warm)  # fills the cache: what the first epoch does
        results: dict[str, list[float]] = {"bare": [], "nocache": [], "warm": []}
        for _ in range(args.rounds):
            results["bare"].append(bare_loop(val_files))
            results["nocache"].append(dataset_pass(cold))
            results["warm"].append(dataset_pass(warm))
        med = {k: statistics.median(v) for k, v in results.items()}
        per_1000 = warm.cache._used / len(warm) * 1000 / 2**20
        print(f"{len(val_files)} images of 640x480 (JPEG q90) to {SIZE} px, {args.rounds} rounds, 1 thread")
        print(f"bare loop (PIL decode + torchvision resize): {med['bare']:.0f} img/s")
        print(
            f"workbench, no cache:  {med['nocache']:.0f} img/s   ratio {med['nocache'] / med['bare']:.2f} (goal >= 0.9)"
        )
        print(
            f"workbench, warm cache: {med['warm']:.0f} img/s   ratio {med['warm'] / med['bare']:.2f} (goal >= 5)"
        )
        print(f"cache memory: {per_1000:.0f} MiB per 1,000 images at {SIZE} px")


if __name__ == "__main__":
    main()
