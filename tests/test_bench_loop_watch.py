"""bench_gui's stall measurement: a busy turn of the event loop is timed, idle waits are not."""

import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "benchmarks"))


def _spin(seconds: float) -> None:
    end = time.thread_time() + seconds
    while time.thread_time() < end:
        pass


def test_loop_watch_times_busy_turns_not_idle_waits(qtbot):
    import bench_gui
    from PySide6.QtCore import QTimer

    watch = bench_gui.LoopWatch()
    watch.start()
    QTimer.singleShot(50, lambda: _spin(0.12))  # one slot keeps the GUI thread busy 120 ms
    qtbot.wait(900)  # ... in 0.9 s otherwise spent waiting
    watch.stop()
    turns = sorted(watch.busy)
    assert turns[-1] >= 115  # the busy turn, in ms of CPU
    assert turns[-2] < 50  # no other turn came near it: waiting costs no CPU
    assert sum(turns) < 120 + 80
    assert 2 <= len(watch.late) <= 4  # the 250 ms heartbeat: 3 ticks in 0.9 s
    assert watch.longest() >= turns[-1]
