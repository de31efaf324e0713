"""What listing the runs folder costs the app's GUI thread, with and without the cache.

The Runs panel lists its folder every 3 s while a run trains (``LIVE_POLL_MS``). This
makes N run folders with a summary and config of the size a real run writes (copied from
a short run trained here first), then times ``list_runs`` with every run parsed
(``read_run_info``, the cache emptied each time) against the cached listing, in
alternating rounds, and prints the ratio.

    python benchmarks/bench_runs_list.py [--runs 300] [--rounds 5]
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import tempfile
import time
from pathlib import Path

from workbench.config import default_experiment
from workbench.training import run_store
from workbench.training.run_store import RunStore
from workbench.training.trainer import Trainer


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--runs", type=int, default=300)
    ap.add_argument("--rounds", type=int, default=5)
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        cfg = default_experiment()
        cfg.data.options.update(train_size=32, val_size=16, image_size=64)
        cfg.train.epochs, cfg.train.num_samples, cfg.train.device = 1, 0, "cpu"
        model_run = RunStore.create(Path(tmp) / "src", "model")
        Trainer(cfg, model_run).run()
        root = Path(tmp) / "runs"
        root.mkdir()
        for i in range(args.runs):
            folder = root / f"run-{i:04d}"
            folder.mkdir()
            for name in ("summary.json", "config.toml"):
                shutil.copy(model_run.path / name, folder / name)
        size = (model_run.path / "summary.json").stat().st_size
        print(f"{args.runs} runs, summary.json {size / 1024:.1f} KiB each")
        cold, warm = [], []
        run_store.list_runs(root)
        for _ in range(args.rounds):
            run_store._INFO_CACHE.clear()
            t0 = time.perf_counter()
            run_store.list_runs(root)
            cold.append(time.perf_counter() - t0)
            t0 = time.perf_counter()
            run_store.list_runs(root)
            warm.append(time.perf_counter() - t0)
        c, w = statistics.median(cold), statistics.median(warm)
        print(
            f"list_runs: every run parsed {c * 1000:.1f} ms, cached {w * 1000:.1f} ms "
            f"(median of {args.rounds} rounds; ratio {c / w:.1f}x)"
        )


if __name__ == "__main__":
    main()
