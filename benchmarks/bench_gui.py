"""What the desktop app costs: launch time, training speed with the window plotting, stalls.

1. Launch: seconds from starting a Python process to the main window being exposed on
   screen, against a bare PySide6 QMainWindow measured the same way (goal <= 1 s).
2. Throughput: the same experiment trained headless (``workbench train`` in a process of
   its own) and from the app (its training process, live curves, inspector), in rounds of
   alternating order (ABBA);
   images/s comes from the step timestamps in each run's metrics.jsonl (goal >= 0.97 in
   every round). ``--bracket N`` puts each app run between two headless runs and, in turn,
   a headless run in the app's place: the null that says whether this host can judge a
   3 % effect in a single round at all.
3. Stall (goal: none over 100 ms), measured without waking the GUI thread more often than
   the app does (``LoopWatch``): the CPU time of every turn of its event loop (input waits
   at least that long), and the lateness of a 250 ms heartbeat timer (a woken GUI thread
   waiting for a core). The earlier probe, a 20 ms timer (``--probe-ms 20``), cost 0.55 %
   of a core itself (bench_gui_replay --probe-ms 20) and preempted a training thread 50
   times a second: it lowered the very ratio it sat beside.

``--profile`` adds, for the app rounds: a cProfile of the GUI thread (top functions by
cumulative time) and a watchdog thread that samples the GUI thread's stack whenever the
20 ms timer is more than 50 ms late, printing where the longest stalls were spent.

Run under a real X server for honest drawing costs, e.g.
    xvfb-run -a -s "-screen 0 1440x900x24" python benchmarks/bench_gui.py
Without DISPLAY it falls back to the offscreen platform.
"""

from __future__ import annotations

import argparse
import collections
import cProfile
import io
import json
import os
import pstats
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

if not os.environ.get("DISPLAY"):
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

LAUNCH_APP = r"""
import sys, time
t0 = float(sys.argv[1])
from PySide6.QtCore import QSettings
from PySide6.QtWidgets import QApplication
from workbench.gui.app import configure_app
from workbench.gui.main_window import MainWindow
app = QApplication([])
configure_app(app)
w = MainWindow(settings=QSettings(sys.argv[2], QSettings.Format.IniFormat), runs_root=sys.argv[3])
w.show()
while w.windowHandle() is None or not w.windowHandle().isExposed():
    app.processEvents()
app.processEvents()
print(time.time() - t0)
sys.stdout.flush()
import os; os._exit(0)
"""

LAUNCH_BARE = r"""
import sys, time
t0 = float(sys.argv[1])
from PySide6.QtWidgets import QApplication, QMainWindow
app = QApplication([])
w = QMainWindow(); w.resize(1280, 800); w.show()
while w.windowHandle() is None or not w.windowHandle().isExposed():
    app.processEvents()
app.processEvents()
print(time.time() - t0)
sys.stdout.flush()
import os; os._exit(0)
"""


def launch_seconds(script: str, tmp: str) -> float:
    # An installed app starts from cached bytecode; with PYTHONDONTWRITEBYTECODE set (as on
    # some CI hosts) every launch would compile ~50 modules again (+0.3 s here).
    env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
    t0 = time.time()
    out = subprocess.run(
        [sys.executable, "-c", script, repr(t0), os.path.join(tmp, "s.ini"), os.path.join(tmp, "runs")],
        capture_output=True,
        text=True,
        check=True,
        env=env,
    )
    return float(out.stdout.strip().splitlines()[-1])


def bench_config(steps: int, threads: int = 0):
    from workbench.config import default_experiment

    cfg = default_experiment()
    cfg.name = "bench-gui"
    cfg.data.options["train_size"] = 32 * steps
    cfg.data.options["val_size"] = 64
    cfg.train.epochs = 1
    cfg.train.num_samples = 8
    cfg.train.device = "cpu"
    cfg.train.threads = threads  # 0: torch's default (one per core)
    return cfg


STEP_GAPS: list[str] = []  # per run: median step time and the longest gap between two steps


def images_per_s(run_dir: Path, batch: int) -> float:
    times = []
    for line in (run_dir / "metrics.jsonl").read_text().splitlines():
        record = json.loads(line)
        if record["type"] == "step":
            times.append(record["time"])
    times = times[2:]  # the first steps warm up allocators
    gaps = [b - a for a, b in zip(times, times[1:], strict=False)]
    if gaps:  # a slow round: every step slower, or one long pause?
        STEP_GAPS.append(f"step {statistics.median(gaps) * 1000:.0f} ms, longest {max(gaps) * 1000:.0f} ms")
    return batch * (len(times) - 1) / (times[-1] - times[0])


def headless_round(cfg, root: Path) -> float:
    """``workbench train`` in its own process, as a user would run it headless.

    (Training in this process's main thread would also leave an OpenMP thread team
    behind that slows the app's worker thread later: the app never computes there.)
    """
    from workbench.experiment_check import save_config

    path = root / "bench.toml"
    save_config(cfg, path)
    out = subprocess.run(
        [sys.executable, "-m", "workbench.cli", "train", str(path), "--out", str(root), "--quiet"],
        capture_output=True,
        text=True,
        check=True,
    )
    run_dir = Path(out.stdout.split("run directory: ")[1].splitlines()[0])
    return images_per_s(run_dir, cfg.train.batch_size)


GUI_SHARE: list[float] = []  # CPU time of the GUI thread / wall time, per app round
APP_SHARE: list[float] = []  # CPU time of the whole app process (every thread) / wall time
X_SHARE: list[float] = []  # CPU time of the X server / wall time (nan when not found)


def x_server_pid() -> int | None:
    """The pid of the Xvfb (or Xorg) process drawing our window, if this user can see it."""
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                comm = Path(f"/proc/{entry}/comm").read_text().strip()
            except OSError:
                continue
            if comm in ("Xvfb", "Xorg"):
                return int(entry)
    return None


def process_cpu_s(pid: int | None) -> float:
    """User + system CPU seconds of ``pid`` from /proc (nan when unreadable)."""
    if pid is None:
        return float("nan")
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return float("nan")
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


ROUND_MAX_STALL: list[float] = []  # longest busy stretch or heartbeat lateness (ms), per app round
ROUND_MAX_LATE: list[float] = []  # the heartbeat's largest lateness (ms), per app round
PLOT_REFRESH_S: list[float] = []  # seconds between two redraws of one plot, per app round


class LoopWatch:
    """The GUI thread's stalls, with no timer of its own waking the thread often.

    ``busy``: the CPU time (ms) the GUI thread spent in each turn of its event loop, from
    one ``aboutToBlock`` of the dispatcher to the next (Qt's glib dispatcher emits it before
    each wait; the work a wake-up brings runs between two of them). Input arriving during
    a turn waits at least that long.
    ``late``: how late (ms) each tick of a 250 ms heartbeat came; it also catches a GUI
    thread that was woken but waited for a core, or for the X server.
    ``probe_ms`` (optional) adds the old probe: a timer of that period whose lateness
    counts as ``late`` too (20 ms: comparable with earlier figures, but it costs 0.55 % of
    a core itself and preempts a training thread 50 times a second).
    """

    HEARTBEAT_MS = 250

    def __init__(self, probe_ms: int = 0) -> None:
        from PySide6.QtCore import QAbstractEventDispatcher, QElapsedTimer, Qt, QTimer

        self.busy: list[float] = []
        self.late: list[float] = []
        self.on_tick = None  # called at each timer tick (StallSampler's heartbeat)
        self._dispatcher = QAbstractEventDispatcher.instance()
        self._clock = QElapsedTimer()
        self._period = probe_ms or self.HEARTBEAT_MS
        self._timer = QTimer()
        self._timer.setTimerType(Qt.TimerType.PreciseTimer)
        self._timer.setInterval(self._period)
        self._timer.timeout.connect(self._tick)
        self._last = 0
        self._cpu = 0.0

    def start(self) -> None:
        self._dispatcher.aboutToBlock.connect(self._blocking)
        self._clock.start()
        self._last = self._clock.nsecsElapsed()
        self._cpu = time.thread_time()
        self._timer.start()

    def stop(self) -> None:
        self._timer.stop()
        self._dispatcher.aboutToBlock.disconnect(self._blocking)

    def _blocking(self) -> None:
        cpu = time.thread_time()
        self.busy.append((cpu - self._cpu) * 1000)
        self._cpu = cpu

    def _tick(self) -> None:
        now = self._clock.nsecsElapsed()
        self.late.append(max(0.0, (now - self._last) / 1e6 - self._period))
        self._last = now
        if self.on_tick is not None:
            self.on_tick()

    def longest(self) -> float:
        return max(self.busy + self.late, default=0.0)


class StallSampler:
    """Samples the GUI thread's stack while its heartbeat is late (where do stalls go?)."""

    def __init__(self, threshold_s: float = 0.05) -> None:
        self.threshold_s = threshold_s
        self.beat = time.perf_counter()
        self.main_id = threading.main_thread().ident
        self.stalls: list[tuple[float, list[str]]] = []  # (duration, sampled stacks)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join()

    def _run(self) -> None:
        samples: list[str] = []
        started = None
        while not self._stop.wait(0.02):
            late = time.perf_counter() - self.beat
            if late > self.threshold_s:
                if started is None:
                    started, samples = self.beat, []
                frame = sys._current_frames().get(self.main_id)
                parts = []
                while frame is not None and len(parts) < 12:  # cheap: no source lines read
                    code = frame.f_code
                    parts.append(f"{Path(code.co_filename).name}:{frame.f_lineno}:{code.co_name}")
                    frame = frame.f_back
                if parts:
                    samples.append(" <- ".join(parts))
            elif started is not None:
                self.stalls.append((self.beat - started, samples))
                started = None

    def report(self, top: int = 6) -> None:
        if not self.stalls:
            print(f"stall sampler: no stall over {self.threshold_s * 1000:.0f} ms")
            return
        worst = sorted(self.stalls, key=lambda s: -s[0])[:top]
        print(f"stall sampler: {len(self.stalls)} stalls over {self.threshold_s * 1000:.0f} ms; the longest:")
        for duration, samples in worst:
            common = collections.Counter(samples).most_common(2)
            print(f"  {duration * 1000:.0f} ms, {len(samples)} samples:")
            for stack, count in common:
                print(f"    {count}x {stack}")


def gui_round(
    window, app, cfg, stalls: list[float], sampler: StallSampler | None = None, probe_ms: int = 0
) -> float:
    """One training run from the app; appends the CPU time (ms) of each turn of the event
    loop to ``stalls``."""
    from PySide6.QtCore import QEventLoop

    window.setup.set_config(cfg)
    app.processEvents()
    if sampler is not None and not probe_ms:
        probe_ms = 20  # the sampler needs a heartbeat that often
    watch = LoopWatch(probe_ms)
    if sampler is not None:
        watch.on_tick = lambda: setattr(sampler, "beat", time.perf_counter())
    watch.start()
    loop = QEventLoop()
    window.bridge.runningChanged.connect(lambda running: None if running else loop.quit())
    window.start_run()
    run_dir = window.bridge.run_dir
    xpid = x_server_pid()
    cpu0, app0, x0, wall0 = time.thread_time(), time.process_time(), process_cpu_s(xpid), time.perf_counter()
    frames0 = window.plots.redraw_count
    if window.bridge.is_running():
        loop.exec()  # the app's own event loop, as in normal use
    wall = time.perf_counter() - wall0
    GUI_SHARE.append((time.thread_time() - cpu0) / wall)
    APP_SHARE.append((time.process_time() - app0) / wall)
    X_SHARE.append((process_cpu_s(xpid) - x0) / wall)
    plots = max(1, len({c.plot for c in window.plots._curves.values()}))
    PLOT_REFRESH_S.append(wall * plots / max(1, window.plots.redraw_count - frames0))
    watch.stop()
    stalls.extend(watch.busy)
    ROUND_MAX_STALL.append(watch.longest())
    ROUND_MAX_LATE.append(max(watch.late, default=0.0))
    window.bridge.wait(10_000)
    return images_per_s(Path(run_dir), cfg.train.batch_size)


def step_times(run_dir: Path) -> list[float]:
    """Wall-clock times (s since the epoch) at which each training step was logged."""
    times = []
    for line in (run_dir / "metrics.jsonl").read_text().splitlines():
        record = json.loads(line)
        if record["type"] == "step":
            times.append(record["time"])
    return times


def paired_split(times: list[float], toggles: list[tuple[float, bool]]) -> tuple[float, float, int]:
    """Mean step time (s) while the window was live and while it was hidden, and the number
    of segments: each step is put in the segment it ended in, a segment's first step is
    left out (it straddles the switch), and so are pauses over 3x the median (validation)."""
    gaps = [(b, b - a) for a, b in zip(times, times[1:], strict=False)]
    if not gaps:
        return float("nan"), float("nan"), 0
    limit = 3 * statistics.median(g for _, g in gaps)
    sums = {True: [0.0, 0], False: [0.0, 0]}
    segments = 0
    for k, (start, live) in enumerate(toggles):
        end = toggles[k + 1][0] if k + 1 < len(toggles) else float("inf")
        inside = [g for t, g in gaps if start <= t < end][1:]
        inside = [g for g in inside if g <= limit]
        if inside:
            segments += 1
            sums[live][0] += sum(inside)
            sums[live][1] += len(inside)
    mean = {v: (sums[v][0] / sums[v][1] if sums[v][1] else float("nan")) for v in (True, False)}
    return mean[True], mean[False], segments


def paired_round(window, app, cfg, segment_s: float) -> tuple[float, float, int]:
    """One app run whose window is shown (plotting live) and hidden (drawing nothing) in
    turns of ``segment_s`` seconds; returns ``paired_split`` of its steps. Host drift is
    slower than a segment, so the live/hidden ratio is the window's cost at a resolution
    the headless comparison cannot reach on a shared machine."""
    from PySide6.QtCore import QEventLoop, QTimer

    window.setup.set_config(cfg)
    app.processEvents()
    toggles: list[tuple[float, bool]] = []

    cpu = {True: 0.0, False: 0.0}  # GUI thread CPU seconds while live / hidden
    wall = {True: 0.0, False: 0.0}
    mark = [time.thread_time(), time.perf_counter()]

    def switch() -> None:
        live = not (toggles[-1][1] if toggles else False)
        cpu[not live] += time.thread_time() - mark[0]
        wall[not live] += time.perf_counter() - mark[1]
        window.setVisible(live)
        mark[:] = [time.thread_time(), time.perf_counter()]
        toggles.append((time.time(), live))

    timer = QTimer()
    timer.setInterval(int(segment_s * 1000))
    timer.timeout.connect(switch)
    loop = QEventLoop()
    window.bridge.runningChanged.connect(lambda running: None if running else loop.quit())
    window.start_run()
    run_dir = window.bridge.run_dir
    toggles.append((time.time(), True))
    timer.start()
    if window.bridge.is_running():
        loop.exec()
    timer.stop()
    print(
        f"  GUI thread {100 * cpu[True] / max(wall[True], 1e-9):.2f} % of a core while live, "
        f"{100 * cpu[False] / max(wall[False], 1e-9):.2f} % while hidden"
    )
    window.setVisible(True)
    window.bridge.wait(10_000)
    return paired_split(step_times(Path(run_dir))[2:], toggles)


HOST_SPREAD_LIMIT = 0.06  # the baseline's own spread above which a 3 % effect is not measurable


def host_verdict(headless: list[float]) -> str:
    """Whether this run can judge the 0.97 goal: the identical headless rounds' spread
    ((max - min) / median of their img/s) must stay under ``HOST_SPREAD_LIMIT``."""
    if len(headless) < 2:
        return "host: one headless round, its spread unknown"
    spread = (max(headless) - min(headless)) / statistics.median(headless)
    if spread <= HOST_SPREAD_LIMIT:
        return (
            f"host: headless rounds within {spread * 100:.1f} % of each other: the ratio can judge the goal"
        )
    return (
        f"host: headless rounds spread {spread * 100:.1f} % (> {HOST_SPREAD_LIMIT * 100:.0f} %): "
        "the machine's speed moved more than the effect measured; this run cannot judge the goal"
    )


def bracket_ratios(headless: list[float], middles: list[float]) -> list[float]:
    """Each middle run's speed against the geometric mean of the headless runs either side
    of it: ``middles[i] / sqrt(headless[i] * headless[i + 1])``. A drift of the host that is
    linear in time over the three runs cancels (to first order), which a ratio against one
    neighbour does not. Raises ValueError unless there is one more headless run than middles."""
    if len(headless) != len(middles) + 1:
        raise ValueError(
            f"{len(middles)} middle runs need {len(middles) + 1} headless runs, not {len(headless)}"
        )
    return [m / (a * b) ** 0.5 for m, a, b in zip(middles, headless, headless[1:], strict=False)]


def bracket_verdict(app: list[float], null: list[float], goal: float = 0.97) -> str:
    """What a bracketed run shows: the app's median ratio against ``goal``, and how many
    rounds fall below it for the app and for an identical headless run in the app's place
    (the null). When the null itself falls below the goal in some rounds, a per-round goal
    is finer than this host can measure, and the median is what can be judged."""
    below_app = sum(r < goal for r in app)
    below_null = sum(r < goal for r in null)
    head = (
        f"app/headless (bracketed) median {statistics.median(app):.3f}, rounds {min(app):.3f}-{max(app):.3f}; "
        f"headless/headless in the same places median {statistics.median(null):.3f}, "
        f"rounds {min(null):.3f}-{max(null):.3f}; below {goal}: app {below_app} of {len(app)}, "
        f"null {below_null} of {len(null)}"
    )
    met = statistics.median(app) >= goal
    if below_null:
        tail = (
            f"; the identical null falls below {goal} too, so single rounds cannot judge the goal: "
            f"the median {'meets' if met else 'misses'} it"
        )
    else:
        tail = f"; every round {'meets' if below_app == 0 else 'does not meet'} the goal"
    return head + tail


def bracket_rounds(window, app, cfg, root: Path, pairs: int, settle_s: float) -> None:
    """``pairs`` app runs and ``pairs`` headless runs alternate in the middle of a chain of
    headless runs (H M H M H ...): each middle's ratio is against its two neighbours
    (``bracket_ratios``), and the headless middles measure, in the same run and at the same
    places, how far an identical run strays (the null)."""
    headless: list[float] = []
    middles: list[float] = []
    kinds: list[str] = []
    stalls: list[float] = []
    settle(app, settle_s)
    headless.append(headless_round(cfg, root))
    for i in range(2 * pairs):
        settle(app, settle_s)
        if i % 2 == 0:
            busy: list[float] = []
            middles.append(gui_round(window, app, cfg, busy))
            kinds.append("app")
            stalls.append(ROUND_MAX_STALL[-1])
        else:
            middles.append(headless_round(cfg, root))
            kinds.append("headless")
        settle(app, settle_s)
        headless.append(headless_round(cfg, root))
        ratio = bracket_ratios(headless[-2:], middles[-1:])[0]
        extra = (
            f", longest stall {stalls[-1]:.0f} ms, GUI thread {GUI_SHARE[-1] * 100:.1f} % of a core"
            if kinds[-1] == "app"
            else ""
        )
        print(
            f"middle {i + 1} ({kinds[-1]}): {middles[-1]:.1f} img/s between headless {headless[-2]:.1f} and "
            f"{headless[-1]:.1f}: ratio {ratio:.3f}{extra}, load {os.getloadavg()[0]:.2f}",
            flush=True,
        )
    ratios = bracket_ratios(headless, middles)
    app_r = [r for r, k in zip(ratios, kinds, strict=True) if k == "app"]
    null_r = [r for r, k in zip(ratios, kinds, strict=True) if k == "headless"]
    print(bracket_verdict(app_r, null_r))
    print(
        f"longest event-loop stall per app run: {', '.join(f'{x:.0f}' for x in stalls)} ms; goal: none over 100 ms"
    )


def settle(app, seconds: float) -> None:
    """Before a measured run: write back what the last run left dirty, then let the app's
    event loop idle for ``seconds`` (the last run's checkpoints are flushed by the kernel up to
    30 s later, on the same two cores as the next run)."""
    if seconds <= 0:
        return
    os.sync()
    deadline = time.perf_counter() + seconds
    while time.perf_counter() < deadline:
        app.processEvents()
        time.sleep(0.05)


def renice_process(pid: int, value: int) -> None:
    """Set every thread of ``pid`` to the nice value ``value`` (Linux: nice is per thread)."""
    for tid in os.listdir(f"/proc/{pid}/task"):
        os.setpriority(os.PRIO_PROCESS, int(tid), value)


def nice_ab_rounds(window, app, cfg, root: Path, rounds: int, values: list[int]) -> None:
    """Per round: one headless run, then one app run per nice value of the training process
    (order alternating between rounds); ratios and stalls per value."""
    pid = window.bridge.worker.process.pid if window.bridge.worker else None
    if pid is None:
        from workbench.gui.worker import idle_worker

        pid = idle_worker().process.pid
    ratios: dict[int, list[float]] = {v: [] for v in values}
    stalls: dict[int, list[float]] = {v: [] for v in values}
    for r in range(rounds):
        h = headless_round(cfg, root)
        order = values if r % 2 == 0 else values[::-1]
        for v in order:
            renice_process(pid, v)
            busy: list[float] = []
            g = gui_round(window, app, cfg, busy)
            ratios[v].append(g / h)
            stalls[v].append(ROUND_MAX_STALL[-1])
            busy.sort()
            p99 = busy[int(0.99 * (len(busy) - 1))] if busy else float("nan")
            print(
                f"round {r + 1} nice {v}: headless {h:.1f} img/s, app {g:.1f} img/s, ratio {g / h:.3f}, "
                f"busy stretch p99 {p99:.1f} ms, longest stall {stalls[v][-1]:.0f} ms, CPU % of a core: GUI thread "
                f"{GUI_SHARE[-1] * 100:.1f}, app {APP_SHARE[-1] * 100:.1f}, X {X_SHARE[-1] * 100:.1f}, "
                f"load {os.getloadavg()[0]:.2f}",
                flush=True,
            )
    for v in values:
        print(
            f"nice {v}: ratio median {statistics.median(ratios[v]):.3f} (rounds {min(ratios[v]):.3f}-"
            f"{max(ratios[v]):.3f}); longest stall per round {', '.join(f'{x:.0f}' for x in stalls[v])} ms"
        )


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rounds", type=int, default=4)
    parser.add_argument("--steps", type=int, default=80)
    parser.add_argument("--launches", type=int, default=3)
    parser.add_argument("--profile", action="store_true", help="profile the GUI thread in the app rounds")
    parser.add_argument(
        "--threads",
        type=int,
        default=0,
        help="torch threads in both (0: default); 1 on a machine shared with other work",
    )
    parser.add_argument(
        "--nice-ab",
        type=str,
        default="",
        metavar="A,B",
        help="compare the training process's nice value A against B in alternating app rounds "
        "(renices its threads: going back down needs root)",
    )
    parser.add_argument(
        "--probe-ms",
        type=int,
        default=0,
        help="also time stalls with a timer of this period in the GUI thread (20: the old probe)",
    )
    parser.add_argument(
        "--paired",
        type=float,
        default=0.0,
        metavar="SECONDS",
        help="app rounds only, the window shown and hidden in turns of SECONDS within each run: "
        "step time live / hidden (use with --steps 400)",
    )
    parser.add_argument(
        "--null",
        action="store_true",
        help="the noise floor: two headless runs per round, no app; the ratio of the second to the first",
    )
    parser.add_argument(
        "--bracket",
        type=int,
        default=0,
        metavar="N",
        help="N app runs and N headless runs alternating between headless runs (H A H H H A H ...): "
        "each against its two neighbours, the headless middles as the null",
    )
    parser.add_argument(
        "--settle",
        type=float,
        default=0.0,
        metavar="SECONDS",
        help="before each measured run: sync the disks, then idle this long",
    )
    args = parser.parse_args()
    platform = os.environ.get("QT_QPA_PLATFORM", "xcb" if os.environ.get("DISPLAY") else "?")
    print(f"platform: {platform}")

    with tempfile.TemporaryDirectory() as tmp:
        app_s, bare_s = [], []
        if args.launches:  # unmeasured: writes the bytecode caches and warms the disk cache
            launch_seconds(LAUNCH_APP, tmp)
        for _ in range(args.launches):
            bare_s.append(launch_seconds(LAUNCH_BARE, tmp))
            app_s.append(launch_seconds(LAUNCH_APP, tmp))
        if app_s:
            print(
                f"launch to visible window: app {statistics.median(app_s):.2f} s, bare QMainWindow "
                f"{statistics.median(bare_s):.2f} s (ratio {statistics.median(app_s) / statistics.median(bare_s):.2f}); "
                "goal <= 1 s"
            )
        if args.rounds < 1:
            return

        from PySide6.QtCore import QSettings
        from PySide6.QtWidgets import QApplication

        from workbench.gui.app import configure_app
        from workbench.gui.main_window import MainWindow

        app = QApplication.instance() or QApplication([])
        configure_app(app)
        root = Path(tmp) / "runs"
        root.mkdir(parents=True, exist_ok=True)
        window = MainWindow(
            settings=QSettings(os.path.join(tmp, "b.ini"), QSettings.Format.IniFormat), runs_root=root
        )
        window.confirm_close = lambda: True
        window.resize(1440, 900)
        window.show()
        while not window.core_ready:
            app.processEvents()
            time.sleep(0.01)
        if window.bridge.in_process:  # its PyTorch import must not overlap a headless round
            from workbench.gui.worker import idle_worker

            idle_worker().wait_ready()
        print(f"app trains in {'a process of its own' if window.bridge.in_process else 'a thread'}")
        cfg = bench_config(args.steps, args.threads)
        headless, gui, busy = [], [], []
        profile = cProfile.Profile() if args.profile else None
        sampler = StallSampler() if args.profile else None
        if sampler is not None:
            sampler.start()
        print(f"load before the rounds: {os.getloadavg()[0]:.2f} (1-min average, {os.cpu_count()} CPUs)")
        if args.null:
            ratios = []
            for r in range(args.rounds):
                settle(app, args.settle)
                a = headless_round(cfg, root)
                settle(app, args.settle)
                b = headless_round(cfg, root)
                ratios.append(b / a)
                print(f"round {r + 1}: headless {a:.1f} then {b:.1f} img/s, ratio {b / a:.3f}", flush=True)
            print(
                f"headless/headless: median {statistics.median(ratios):.3f}, rounds {min(ratios):.3f}-{max(ratios):.3f}"
            )
            window.close()
            app.processEvents()
            return
        if args.paired:
            ratios = []
            for r in range(args.rounds):
                live, hidden, segments = paired_round(window, app, cfg, args.paired)
                ratios.append(hidden / live)
                print(
                    f"round {r + 1}: step {live * 1000:.1f} ms with the window live, {hidden * 1000:.1f} ms hidden "
                    f"({segments} segments of {args.paired:g} s): training speed live/hidden {hidden / live:.3f}",
                    flush=True,
                )
            print(
                f"training speed with the window live / hidden: median {statistics.median(ratios):.3f}, "
                f"rounds {min(ratios):.3f}-{max(ratios):.3f}"
            )
            window.close()
            app.processEvents()
            return
        if args.bracket:
            bracket_rounds(window, app, cfg, root, args.bracket, args.settle)
            window.close()
            app.processEvents()
            return
        if args.nice_ab:
            nice_ab_rounds(window, app, cfg, root, args.rounds, [int(v) for v in args.nice_ab.split(",")])
            window.close()
            app.processEvents()
            return
        for r in range(args.rounds):
            # ABBA order (headless first in even rounds, the app first in odd ones): the
            # shared machine's speed drifts by 10-20 % within minutes, and a fixed order
            # would turn that drift into a bias of the ratio
            if r % 2 == 0:
                settle(app, args.settle)
                headless.append(headless_round(cfg, root))
            settle(app, args.settle)
            if profile is not None:
                profile.enable()
            gui.append(gui_round(window, app, cfg, busy, sampler, args.probe_ms))
            if profile is not None:
                profile.disable()
            if r % 2 == 1:
                settle(app, args.settle)
                headless.append(headless_round(cfg, root))
                STEP_GAPS[-2:] = STEP_GAPS[-1:] + STEP_GAPS[-2:-1]  # headless first, as in the line below
            print(
                f"round {r + 1}: headless {headless[-1]:.1f} img/s, app {gui[-1]:.1f} img/s, "
                f"ratio {gui[-1] / headless[-1]:.3f}, longest stall {ROUND_MAX_STALL[-1]:.0f} ms, "
                f"headless {STEP_GAPS[-2]}, app {STEP_GAPS[-1]}, "
                f"GUI thread {GUI_SHARE[-1] * 100:.1f} % of a core, app process {APP_SHARE[-1] * 100:.1f} %, "
                f"load {os.getloadavg()[0]:.2f}"
            )
        h, g = statistics.median(headless), statistics.median(gui)
        ratios = [a / b for a, b in zip(gui, headless, strict=True)]
        busy.sort()
        p99 = busy[int(0.99 * (len(busy) - 1))] if busy else float("nan")
        print(
            f"training throughput app/headless: median of ratios {statistics.median(ratios):.3f}, "
            f"rounds {min(ratios):.3f}-{max(ratios):.3f} ({g:.1f} vs {h:.1f} img/s medians); goal >= 0.97 every round"
        )
        print(host_verdict(headless))
        print(
            f"CPU during training, % of one core: GUI thread {statistics.median(GUI_SHARE) * 100:.1f}, "
            f"app process (all threads) {statistics.median(APP_SHARE) * 100:.1f}, "
            f"X server {statistics.median(X_SHARE) * 100:.1f}"
        )
        print(f"each live plot redrawn every {statistics.median(PLOT_REFRESH_S):.1f} s (median of rounds)")
        print(
            f"event-loop stall during training: CPU per loop turn p99 {p99:.1f} ms, max {busy[-1] if busy else 0:.1f} ms "
            f"over {len(busy)} turns; {args.probe_ms or LoopWatch.HEARTBEAT_MS} ms timer late by at most "
            f"{max(ROUND_MAX_LATE, default=0):.1f} ms; goal: none over 100 ms"
        )
        if sampler is not None:
            sampler.stop()
            sampler.report()
        if profile is not None:
            out = io.StringIO()
            pstats.Stats(profile, stream=out).sort_stats("cumulative").print_stats(35)
            print("GUI thread profile (app rounds, cumulative):")
            print(out.getvalue())
            out = io.StringIO()
            pstats.Stats(profile, stream=out).sort_stats("tottime").print_stats(25)
            print("GUI thread profile (app rounds, own time):")
            print(out.getvalue())
        window.close()
        app.processEvents()


if __name__ == "__main__":
    main()
