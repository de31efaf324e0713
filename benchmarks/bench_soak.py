"""A long soak of the desktop app training with live plots: memory growth and GUI stalls.

The window trains the default experiment for ``--minutes`` (its time limit), with short
epochs so that validation, sample images, checkpoints and epoch-end redraws happen every
few seconds, and switches between its tabs every ``--tab-s`` seconds as a user would.
Every ``--sample-s`` seconds it records:

- resident memory (VmRSS) of the app process and of its training process, in MiB;
- the event-loop stall: lateness of a 20 ms QTimer in the GUI thread (max and p99 of the
  interval);
- steps and epochs done, and the 1-minute load average (stalls on a busy machine are
  partly waiting for a core, not the app's own work).

The samples go to ``--csv``; the summary gives the memory growth from the end of the
first ``--warm-min`` minutes to the end (MiB and MiB/h, least-squares slope), the longest
stall and how many intervals had one over 100 ms, with the GUI thread's stack sampled
during the longest stalls (``StallSampler`` from bench_gui).

Run under a real X server for honest drawing costs:
    xvfb-run -a -s "-screen 0 1440x900x24" python benchmarks/bench_soak.py --minutes 60
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

if not os.environ.get("DISPLAY"):
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_gui import StallSampler  # noqa: E402


def rss_mib(pid: int | str = "self") -> float:
    """Resident set size of a process in MiB (``VmRSS`` in /proc; Linux only)."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024.0
    except OSError:
        pass
    return float("nan")


def slope_per_hour(minutes: list[float], values: list[float]) -> float:
    """Least-squares slope of values against time, per hour (MiB/h for memory)."""
    if len(minutes) < 2:
        return float("nan")
    mx, my = statistics.fmean(minutes), statistics.fmean(values)
    sxx = sum((x - mx) ** 2 for x in minutes)
    sxy = sum((x - mx) * (y - my) for x, y in zip(minutes, values, strict=True))
    return 60.0 * sxy / sxx if sxx else float("nan")


def progress(run_dir: Path) -> tuple[int, int]:
    """(steps, epochs) logged so far in a run's metrics.jsonl."""
    steps = epochs = 0
    try:
        with open(run_dir / "metrics.jsonl", encoding="utf-8") as fh:
            for line in fh:
                if '"type": "step"' in line or '"type":"step"' in line:
                    steps += 1
                elif '"type": "epoch"' in line or '"type":"epoch"' in line:
                    epochs += 1
    except OSError:
        pass
    return steps, epochs


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--minutes", type=float, default=60.0)
    parser.add_argument("--sample-s", type=float, default=30.0)
    parser.add_argument("--tab-s", type=float, default=120.0, help="switch tabs this often (0: never)")
    parser.add_argument("--warm-min", type=float, default=5.0, help="memory growth is measured after this")
    parser.add_argument("--epoch-steps", type=int, default=60, help="training steps per epoch")
    parser.add_argument("--csv", default="", help="write the samples here")
    args = parser.parse_args()

    from PySide6.QtCore import QElapsedTimer, QEventLoop, QSettings, QTimer
    from PySide6.QtWidgets import QApplication

    from workbench.config import default_experiment
    from workbench.gui.app import configure_app
    from workbench.gui.main_window import MainWindow

    app = QApplication.instance() or QApplication([])
    configure_app(app)
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp) / "runs"
        root.mkdir()
        window = MainWindow(
            settings=QSettings(os.path.join(tmp, "s.ini"), QSettings.Format.IniFormat), runs_root=root
        )
        window.confirm_close = lambda: True
        window.resize(1440, 900)
        window.show()
        while not window.core_ready:
            app.processEvents()
            time.sleep(0.01)
        trainer_pid: int | None = None
        if window.bridge.in_process:
            from workbench.gui.worker import idle_worker

            worker = idle_worker()
            worker.wait_ready()
            trainer_pid = worker.ready_pid

        cfg = default_experiment()
        cfg.name = "soak"
        cfg.data.options["train_size"] = cfg.train.batch_size * args.epoch_steps
        cfg.data.options["val_size"] = 64
        cfg.train.epochs = 10_000  # the time limit ends the run
        cfg.train.time_limit_s = args.minutes * 60.0
        cfg.train.num_samples = 8
        cfg.train.device = "cpu"
        window.setup.set_config(cfg)
        app.processEvents()

        clock = QElapsedTimer()
        clock.start()
        last = [clock.nsecsElapsed()]
        interval: list[float] = []  # timer lateness (ms) since the last sample
        sampler = StallSampler(threshold_s=0.1)

        def tick() -> None:
            now = clock.nsecsElapsed()
            interval.append(max(0.0, (now - last[0]) / 1e6 - 20.0))
            last[0] = now
            sampler.beat = time.perf_counter()

        beat = QTimer()
        beat.setInterval(20)
        beat.timeout.connect(tick)

        rows: list[dict[str, float]] = []
        t0 = time.perf_counter()
        run_dir: list[Path] = []

        def sample() -> None:
            lateness = sorted(interval)
            interval.clear()
            steps, epochs = progress(run_dir[0]) if run_dir else (0, 0)
            row = {
                "minute": (time.perf_counter() - t0) / 60.0,
                "app_rss_mib": rss_mib(),
                "trainer_rss_mib": rss_mib(trainer_pid) if trainer_pid else float("nan"),
                "stall_max_ms": lateness[-1] if lateness else 0.0,
                "stall_p99_ms": lateness[int(0.99 * (len(lateness) - 1))] if lateness else 0.0,
                "steps": steps,
                "epochs": epochs,
                "load1": os.getloadavg()[0],
            }
            rows.append(row)
            print(
                f"{row['minute']:6.1f} min  app {row['app_rss_mib']:7.1f} MiB  trainer {row['trainer_rss_mib']:7.1f} MiB  "
                f"stall max {row['stall_max_ms']:6.1f} ms p99 {row['stall_p99_ms']:5.1f} ms  "
                f"steps {steps:6d} epochs {epochs:4d}  load {row['load1']:.2f}",
                flush=True,
            )

        def switch_tab() -> None:
            window.tabs.setCurrentIndex((window.tabs.currentIndex() + 1) % window.tabs.count())

        sampling = QTimer()
        sampling.setInterval(int(args.sample_s * 1000))
        sampling.timeout.connect(sample)
        tabs = QTimer()
        tabs.setInterval(int(max(1.0, args.tab_s) * 1000))
        tabs.timeout.connect(switch_tab)

        loop = QEventLoop()
        window.bridge.runningChanged.connect(lambda running: None if running else loop.quit())
        window.start_run()
        if window.bridge.run_dir is None:
            sys.exit("bench_soak: the app did not start the run (see its status bar or error dialog)")
        run_dir.append(Path(window.bridge.run_dir))
        beat.start()
        sampler.start()
        sample()
        sampling.start()
        if args.tab_s > 0:
            tabs.start()
        if window.bridge.is_running():
            loop.exec()
        sample()
        for timer in (beat, sampling, tabs):
            timer.stop()
        sampler.stop()
        window.bridge.wait(30_000)
        summary = json.loads((run_dir[0] / "summary.json").read_text())

        if args.csv:
            with open(args.csv, "w", newline="", encoding="utf-8") as fh:
                writer = csv.DictWriter(fh, fieldnames=list(rows[0]))
                writer.writeheader()
                for row in rows:
                    writer.writerow({k: round(v, 2) for k, v in row.items()})

        warm = [r for r in rows if r["minute"] >= args.warm_min] or rows
        minutes = [r["minute"] for r in warm]
        print(
            f"\nsoak: {rows[-1]['minute']:.1f} min, {rows[-1]['steps']} steps, {rows[-1]['epochs']} epochs, "
            f"run status {summary.get('status')}"
        )
        for key, name in (("app_rss_mib", "app process"), ("trainer_rss_mib", "training process")):
            values = [r[key] for r in warm]
            print(
                f"memory, {name}: {rows[0][key]:.0f} MiB at start, {warm[0][key]:.0f} MiB at "
                f"{warm[0]['minute']:.0f} min, {warm[-1][key]:.0f} MiB at the end "
                f"({warm[-1][key] - warm[0][key]:+.1f} MiB; slope {slope_per_hour(minutes, values):+.1f} MiB/h)"
            )
        stalls = [r["stall_max_ms"] for r in rows]
        over = sum(1 for s in stalls if s > 100.0)
        print(
            f"event-loop stall: longest {max(stalls):.0f} ms; median of the per-interval p99 "
            f"{statistics.median(r['stall_p99_ms'] for r in rows):.1f} ms; "
            f"{over} of {len(rows)} intervals had a stall over 100 ms; "
            f"median load {statistics.median(r['load1'] for r in rows):.2f} on {os.cpu_count()} CPUs"
        )
        sampler.report()
        window.close()
        app.processEvents()


if __name__ == "__main__":
    main()
