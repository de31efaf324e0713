"""What the window itself costs while a run trains, without the noise of training beside it.

bench_gui's throughput ratio (app / headless) moves by +-5 % from round to round on a shared
two-core machine, so it cannot tell a 1 % change in the window's cost. This benchmark
measures that cost directly: it records the events of one real training run (in a process
of its own), then replays them into the main window at their recorded times, through the
same bridge signals a live run uses, and reads the CPU time of the GUI thread (and of the
X server) over the replay. Nothing else competes for the CPU, so the figure repeats to a
few hundredths of a percent.

On a machine whose cores training keeps busy, each CPU-second the window takes is roughly
a second some training thread waits (a parallel op waits for its slowest thread), so the
GUI thread's share of one core is what the app loses against a headless run.

    xvfb-run -a -s "-screen 0 1440x900x24" python benchmarks/bench_gui_replay.py [--rounds 3] [--profile]
"""

from __future__ import annotations

import argparse
import cProfile
import io
import os
import pickle
import pstats
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path[:0] = [str(HERE), str(HERE.parent)]

if not os.environ.get("DISPLAY"):
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

RECORD = r"""
import pickle, sys, time
sys.path[:0] = [sys.argv[3]]
import bench_gui as bg
from workbench.training.run_store import RunStore
from workbench.training.trainer import Trainer
cfg = bg.bench_config(int(sys.argv[2]))
cfg.train.epochs = 2
events = []
t0 = time.perf_counter()
store = RunStore.create(sys.argv[1], cfg.name)
Trainer(cfg, store, subscribers=[lambda e: events.append((time.perf_counter() - t0, e))]).run()
with open(sys.argv[1] + "/events.pkl", "wb") as f:
    pickle.dump((cfg, events), f)
"""


def record(root: Path, steps: int) -> tuple:
    subprocess.run([sys.executable, "-c", RECORD, str(root), str(steps), str(HERE)], check=True)
    with open(root / "events.pkl", "rb") as f:
        return pickle.load(f)


class Replayer:
    """Stands in for the Trainer in the bridge's thread: emits recorded events on time."""

    events: list = []

    def __init__(self, cfg, store, control=None, subscribers=()) -> None:
        self.store = store
        self.control = control
        self.emit = subscribers[0]

    def run(self) -> None:
        import dataclasses

        from workbench.training.events import RunStarted

        t0 = time.perf_counter()
        for at, event in self.events:
            if self.control is not None and self.control.stop_requested:
                break
            delay = at - (time.perf_counter() - t0)
            if delay > 0:
                time.sleep(delay)
            if isinstance(event, RunStarted):
                event = dataclasses.replace(event, run_dir=str(self.store.path))
            self.emit(event)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--steps", type=int, default=80, help="steps per epoch (two epochs)")
    parser.add_argument("--profile", action="store_true", help="cProfile of the GUI thread")
    parser.add_argument("--budget", type=float, help="the plots' drawing budget (share of a core) to try")
    parser.add_argument(
        "--probe-ms", type=int, default=0, help="also run bench_gui's stall timer at this period"
    )
    parser.add_argument("--events", type=Path, help="replay this recording (made once if missing)")
    args = parser.parse_args()

    import bench_gui as bg

    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        if args.events is not None and args.events.exists():
            with open(args.events, "rb") as f:
                cfg, events = pickle.load(f)
        else:
            cfg, events = record(root / "recorded", args.steps)
            if args.events is not None:
                with open(args.events, "wb") as f:
                    pickle.dump((cfg, events), f)
        Replayer.events = events
        print(f"recorded {len(events)} events over {events[-1][0]:.1f} s of training")

        from PySide6.QtCore import QEventLoop, QSettings, QTimer
        from PySide6.QtWidgets import QApplication

        import workbench.gui.redraw_pacer as pacer_module
        import workbench.training.trainer as trainer_module
        from workbench.gui.app import configure_app
        from workbench.gui.main_window import MainWindow

        if args.budget is not None:  # the budget while a run keeps every core busy
            pacer_module.BUDGET_CORES_BUSY = args.budget

        app = QApplication.instance() or QApplication([])
        configure_app(app)
        window = MainWindow(
            settings=QSettings(str(root / "b.ini"), QSettings.Format.IniFormat), runs_root=root / "runs"
        )
        window.confirm_close = lambda: True
        window.bridge.in_process = False  # the replayer runs in the bridge's thread
        trainer_module.Trainer = Replayer  # what the bridge builds in that thread
        window.resize(1440, 900)
        window.show()
        while not window.core_ready:
            app.processEvents()
            time.sleep(0.01)
        xpid = bg.x_server_pid()
        profile = cProfile.Profile() if args.profile else None
        gui, xs, refresh = [], [], []
        for r in range(args.rounds):
            window.setup.set_config(cfg)
            app.processEvents()
            loop = QEventLoop()
            window.bridge.runningChanged.connect(lambda running, loop=loop: None if running else loop.quit())
            cpu0, x0, wall0 = time.thread_time(), bg.process_cpu_s(xpid), time.perf_counter()
            frames0 = window.plots.redraw_count
            if profile is not None:
                profile.enable()
            probe = QTimer()
            if args.probe_ms:
                probe.setInterval(args.probe_ms)
                probe.timeout.connect(lambda: time.perf_counter())
                probe.start()
            # how long after the first step (and the first epoch) each plot shows its first points
            first_step: list[float] = []
            first_drawn: dict[int, float] = {}

            def on_step(_event, first_step=first_step) -> None:
                if not first_step:
                    first_step.append(time.perf_counter())

            def on_redrawn(first_drawn=first_drawn) -> None:
                for curve in window.plots._curves.values():
                    if curve.state and curve.state[0] > 0 and id(curve.plot) not in first_drawn:
                        first_drawn[id(curve.plot)] = time.perf_counter()

            window.bridge.stepEnded.connect(on_step)
            window.plots.redrawn.connect(on_redrawn)
            window.start_run()
            if window.bridge.is_running():
                loop.exec()
            window.bridge.stepEnded.disconnect(on_step)
            window.plots.redrawn.disconnect(on_redrawn)
            if profile is not None:
                profile.disable()
            wall = time.perf_counter() - wall0
            probe.stop()
            gui.append((time.thread_time() - cpu0) / wall)
            xs.append((bg.process_cpu_s(xpid) - x0) / wall)
            plots = max(1, len({c.plot for c in window.plots._curves.values()}))
            refresh.append(wall * plots / max(1, window.plots.redraw_count - frames0))
            print(
                f"round {r + 1}: {wall:.1f} s, GUI thread {gui[-1] * 100:.2f} % of a core, "
                f"X server {xs[-1] * 100:.2f} %, each of {plots} plots redrawn every {refresh[-1]:.1f} s "
                f"(a frame costs {window.plots.pacer.frame_cost_s * 1000:.0f} ms); plots first drawn "
                + ", ".join(f"{t - first_step[0]:.1f}" for t in sorted(first_drawn.values()))
                + " s after the first step",
                flush=True,
            )
        print(
            f"GUI thread while a run trains: median {statistics.median(gui) * 100:.2f} % of one core "
            f"(rounds {min(gui) * 100:.2f}-{max(gui) * 100:.2f}); X server {statistics.median(xs) * 100:.2f} %; "
            f"each plot redrawn every {statistics.median(refresh):.1f} s"
        )
        if profile is not None:
            for key, count in (("cumulative", 40), ("tottime", 25)):
                out = io.StringIO()
                pstats.Stats(profile, stream=out).sort_stats(key).print_stats(count)
                print(f"GUI thread profile ({key}):")
                print(out.getvalue())
        window.close()
        app.processEvents()
        os._exit(0)  # the recorded run's OpenMP team must not delay the exit


if __name__ == "__main__":
    main()
