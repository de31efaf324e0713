"""How long opening and comparing long runs holds up the window.

Writes N run folders (the built-in three-task experiment's config, a summary, and a
metrics log of S steps in the trainer's format, a conflict measurement every 20 steps),
then, in the real main window, opens the first run and compares all N. A 10 ms timer
ticks in the GUI thread meanwhile; the longest gap between its ticks is how long the
window could not repaint or react. Each action runs twice per round, in alternating order:
with the logs read off the GUI thread (``gui.off_thread``, what the app does) and read in
the GUI thread (as before this change, with its faster series building kept). A bare parse of the same logs (read + json.loads per
line) is timed in the same run as the floor.

    python benchmarks/bench_open_runs.py [--runs 8] [--steps 20000] [--rounds 2]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import tempfile
import time
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")


def write_runs(root: Path, runs: int, steps: int, spe: int = 200) -> list[Path]:
    from workbench.config import default_experiment
    from workbench.training.run_store import RunStore

    cfg = default_experiment()
    tasks = [t.name for t in cfg.tasks]
    paths = []
    for k in range(runs):
        cfg.model.sharing_depth = k % 5
        path = root / f"run{k}"
        path.mkdir(parents=True)
        store = RunStore(path)
        store.write_config(cfg)
        (path / "summary.json").write_text(
            json.dumps(
                {"schema_version": 1, "name": f"run{k}", "status": "finished", "epochs_done": steps // spe}
            )
        )
        with open(path / "metrics.jsonl", "w") as f:
            for g in range(1, steps + 1):
                losses = {t: 1.0 / (g + i) for i, t in enumerate(tasks)}
                record = {
                    "type": "step",
                    "epoch": (g - 1) // spe,
                    "step": (g - 1) % spe,
                    "global_step": g,
                    "losses": losses,
                    "weights": dict.fromkeys(tasks, 1.0),
                    "total_loss": sum(losses.values()),
                    "weighted_loss": sum(losses.values()),
                    "regulariser": 0.0,
                    "lr": 0.002,
                    "images_per_s": 150.0,
                    "elapsed_s": 0.2 * g,
                }
                if g % 20 == 0:
                    cos = [
                        [1.0 if i == j else 0.1 * (i - j) for j in range(len(tasks))]
                        for i in range(len(tasks))
                    ]
                    record["conflict"] = {"tasks": tasks, "cos": cos, "norm_ratio": [1.0] * len(tasks)}
                f.write(json.dumps(record) + "\n")
                if g % spe == 0:
                    e = g // spe - 1
                    f.write(
                        json.dumps(
                            {
                                "type": "epoch",
                                "epoch": e,
                                "global_step": g,
                                "val_losses": dict.fromkeys(tasks, 0.5),
                                "val_metrics": {t: {"m1": 0.1 * e, "m2": 0.2} for t in tasks},
                                "elapsed_s": 0.2 * g + 1.0,
                            }
                        )
                        + "\n"
                    )
        paths.append(path)
    return paths


def bare_parse(paths: list[Path]) -> float:
    start = time.perf_counter()
    for path in paths:
        with open(path / "metrics.jsonl", "rb") as f:
            [json.loads(line) for line in f]
    return time.perf_counter() - start


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--runs", type=int, default=8)
    ap.add_argument("--steps", type=int, default=20000)
    ap.add_argument("--rounds", type=int, default=2)
    args = ap.parse_args()

    from PySide6.QtCore import QEventLoop, QSettings, QTimer
    from PySide6.QtWidgets import QApplication

    app = QApplication([])
    import workbench.gui.main_window as mw
    from workbench.gui import off_thread as real

    def spin(ms: int) -> None:
        loop = QEventLoop()
        QTimer.singleShot(ms, loop.quit)
        loop.exec()

    with tempfile.TemporaryDirectory() as tmp:
        paths = write_runs(Path(tmp) / "runs", args.runs, args.steps)
        size = sum((p / "metrics.jsonl").stat().st_size for p in paths) / 2**20
        print(f"{args.runs} runs of {args.steps} steps ({size:.0f} MiB of metrics logs)")
        window = mw.MainWindow(
            settings=QSettings(str(Path(tmp) / "s.ini"), QSettings.Format.IniFormat),
            runs_root=Path(tmp) / "runs",
        )
        window.confirm_close = lambda: True
        loop = QEventLoop()
        window.coreLoaded.connect(loop.quit)
        window.show()
        loop.exec()
        ticks: list[float] = []
        timer = QTimer()
        timer.setInterval(10)
        timer.timeout.connect(lambda: ticks.append(time.perf_counter()))
        timer.start()
        spin(500)
        results: dict[tuple[str, str], list[tuple[float, float]]] = {}
        floors = []
        for r in range(args.rounds):
            modes = ("off", "inline") if r % 2 == 0 else ("inline", "off")
            for mode in modes:
                mw.off_thread = real.off_thread if mode == "off" else (lambda fn, name="": fn())
                for action, call in (
                    ("open 1 run", lambda: window._load_run(paths[0])),
                    (f"compare {args.runs} runs", lambda: window.compare_runs(paths)),
                ):
                    window.clear_comparison()
                    spin(300)
                    start = time.perf_counter()
                    ticks[:] = [start]  # the gap up to the first tick after the call counts
                    call()
                    took = time.perf_counter() - start
                    spin(1500)  # what the call left queued (curves made a few per turn) counts too
                    gaps = [b - a for a, b in zip(ticks, ticks[1:], strict=False)]
                    results.setdefault((action, mode), []).append((took, max(gaps) if gaps else took))
            floors.append(bare_parse(paths))
        mw.off_thread = real.off_thread
        print(
            f"bare parse of all {args.runs} logs (read + json.loads per line): {statistics.median(floors):.2f} s"
        )
        for action in ("open 1 run", f"compare {args.runs} runs"):
            off = results[(action, "off")]
            inline = results[(action, "inline")]
            off_gap = statistics.median(g for _, g in off)
            in_gap = statistics.median(g for _, g in inline)
            print(
                f"{action}: call {statistics.median(t for t, _ in off):.2f} s (read in the GUI thread: "
                f"{statistics.median(t for t, _ in inline):.2f} s); longest GUI stall {off_gap * 1000:.0f} ms "
                f"against {in_gap * 1000:.0f} ms read in the GUI thread ({off_gap / in_gap:.2f}x)"
            )
        timer.stop()
        window.close()
    app.quit()


if __name__ == "__main__":
    main()
