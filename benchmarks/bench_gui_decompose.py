"""Where does the app's training slowdown come from? Each mode trains in a fresh process.

Modes (bench_gui's experiment: default model, 80 steps, default torch threads), run in
alternating rounds; the first mode is the baseline of the printed ratios:

    cli       ``workbench train`` in a subprocess (bench_gui's headless baseline)
    headless  the Trainer in the main thread of a process of its own
    pythread  the Trainer in a plain Python thread (no Qt)
    worker    the app's training process (``train_worker.TrainWorker``: spawned, nice +5,
              warmed up, events through a queue), driven without Qt
    worker0   the same at nice 0 (``WORKBENCH_TRAINER_NICE=0``)
    bridge    the app's TrainingBridge (QThread, queued signals), no window
    app       the main window plotting live (bench_gui's app round)
    follow    ``workbench train`` in a subprocess while the main window follows its folder live

Run under a real X server:
    xvfb-run -a -s "-screen 0 1440x900x24" python benchmarks/bench_gui_decompose.py
Environment: MODES (comma-separated, default all six), ROUNDS (default 3), STEPS (default 80).
"""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path[:0] = [str(HERE), str(HERE.parent)]

MODES = os.environ.get("MODES", "cli,headless,pythread,bridge,app").split(",")


def trained_images_per_s(mode: str, root: Path) -> float:
    import bench_gui as bg

    cfg = bg.bench_config(int(os.environ.get("STEPS", 80)))
    if mode == "cli":
        return bg.headless_round(cfg, root)
    if mode in ("headless", "pythread"):
        import threading

        from workbench.training.run_store import RunStore
        from workbench.training.trainer import Trainer

        store = RunStore.create(root, cfg.name)
        if mode == "headless":
            Trainer(cfg, store).run()
        else:
            events: list[object] = []
            thread = threading.Thread(target=lambda: Trainer(cfg, store, subscribers=[events.append]).run())
            thread.start()
            thread.join()
        return bg.images_per_s(store.path, cfg.train.batch_size)

    if mode in ("worker", "worker0"):
        return worker_round(cfg, root, nice_zero=mode == "worker0")

    from PySide6.QtCore import QEventLoop, QSettings
    from PySide6.QtWidgets import QApplication

    app = QApplication([])
    if mode == "bridge":
        from workbench.gui.worker import TrainingBridge

        bridge = TrainingBridge()
        loop = QEventLoop()
        bridge.runningChanged.connect(lambda running: None if running else loop.quit())
        bridge.start(cfg, root)
        loop.exec()
        bridge.wait(10_000)
        return bg.images_per_s(bridge.run_dir, cfg.train.batch_size)

    from workbench.gui.app import configure_app
    from workbench.gui.main_window import MainWindow

    configure_app(app)
    window = MainWindow(settings=QSettings(str(root / "s.ini"), QSettings.Format.IniFormat), runs_root=root)
    window.confirm_close = lambda: True
    window.resize(1440, 900)
    window.show()
    while not window.core_ready:
        app.processEvents()
        time.sleep(0.01)
    if window.bridge.in_process:  # the training process has loaded PyTorch before timing starts
        from workbench.gui.worker import idle_worker

        idle_worker().wait_ready()
    if mode == "follow":
        return follow_round(window, app, cfg, root)
    return bg.gui_round(window, app, cfg, [])


def worker_round(cfg, root: Path, nice_zero: bool) -> float:
    """The app's training process with nobody drawing: its events are read and dropped."""
    import bench_gui as bg

    from workbench.training.run_store import RunStore
    from workbench.training.train_worker import TRAINER_NICE_ENV, JobEnded, TrainWorker

    if nice_zero:
        os.environ[TRAINER_NICE_ENV] = "0"
    worker = TrainWorker()
    worker.wait_ready()
    store = RunStore.create(root, cfg.name)
    worker.submit(str(store.path), cfg)
    while not isinstance(worker.next_event(1.0), JobEnded):
        if not worker.alive():
            raise RuntimeError("the training process died")
    worker.close()
    return bg.images_per_s(store.path, cfg.train.batch_size)


def follow_round(window, app, cfg, root: Path) -> float:
    """The training in a process of its own; the window follows its folder through RunFollower."""
    import bench_gui as bg
    from PySide6.QtCore import QEventLoop, QTimer

    from workbench.experiment_check import save_config

    path = root / "bench.toml"
    save_config(cfg, path)
    proc = subprocess.Popen(
        [sys.executable, "-m", "workbench.cli", "train", str(path), "--out", str(root), "--quiet"],
        stdout=subprocess.PIPE,
        text=True,
    )
    run_dir = None
    while run_dir is None:
        line = proc.stdout.readline()
        if "run directory: " in line:
            run_dir = Path(line.split("run directory: ")[1].strip())
    while not (run_dir / "summary.json").exists():
        time.sleep(0.05)
    window.open_run(run_dir)
    loop = QEventLoop()
    poll = QTimer()
    poll.setInterval(100)
    poll.timeout.connect(lambda: loop.quit() if proc.poll() is not None else None)
    poll.start()
    loop.exec()
    proc.wait()
    return bg.images_per_s(run_dir, cfg.train.batch_size)


def main() -> None:
    results: dict[str, list[float]] = {mode: [] for mode in MODES}
    for r in range(int(os.environ.get("ROUNDS", 3))):
        # ABBA: the machine's speed drifts within minutes; a fixed order would bias the ratios
        for mode in MODES if r % 2 == 0 else MODES[::-1]:
            with tempfile.TemporaryDirectory() as tmp:
                out = subprocess.run(
                    [sys.executable, __file__, mode, tmp], capture_output=True, text=True, check=False
                )
            lines = out.stdout.strip().splitlines()
            if out.returncode != 0 or not lines:
                print(f"round {r + 1} {mode}: failed\n{out.stderr[-2000:]}")
                continue
            results[mode].append(float(lines[-1]))
            print(
                f"round {r + 1} {mode}: {results[mode][-1]:.1f} img/s, load {os.getloadavg()[0]:.2f}",
                flush=True,
            )
    base = statistics.median(results[MODES[0]])
    for mode in MODES:
        if results[mode]:
            median = statistics.median(results[mode])
            print(f"{mode}: median {median:.1f} img/s, {median / base:.3f} of {MODES[0]}")


if __name__ == "__main__":
    if len(sys.argv) == 3:
        print(trained_images_per_s(sys.argv[1], Path(sys.argv[2])), flush=True)
        os._exit(0)  # skip Qt and OpenMP teardown
    main()
