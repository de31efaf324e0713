"""bench_gui's measurements: stalls (a busy turn of the event loop is timed, idle waits are
not) and the paired live/hidden split of one run's steps."""

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

    qtbot.wait(200)  # one-off work of a new event loop (fonts, platform) before measuring
    import gc

    gc.collect()  # the earlier tests' garbage (trained models) is not collected inside a turn
    watch = bench_gui.LoopWatch()
    cpu0 = time.thread_time()
    watch.start()
    QTimer.singleShot(50, lambda: _spin(0.12))  # one slot keeps the GUI thread busy 120 ms
    qtbot.wait(900)  # ... in 0.9 s otherwise spent waiting
    watch.stop()
    used_ms = (time.thread_time() - cpu0) * 1000
    turns = sorted(watch.busy)
    assert turns[-1] >= 115  # the busy turn, in ms of CPU
    assert sum(turns) <= used_ms + 1  # turns are CPU time of this thread, never wall time
    assert sum(turns) < 0.6 * 900  # the waiting between turns is not counted
    # the 250 ms heartbeat: 3 ticks in 0.9 s; on a loaded machine a tick comes late and Qt
    # drops the ones it missed (one tick late by 388 ms was seen while the suite ran)
    assert 1 <= len(watch.late) <= 4
    assert watch.longest() >= turns[-1]


def test_paired_split_assigns_steps_to_segments_and_drops_switches_and_pauses():
    import bench_gui

    # steps every 1 s while live, every 2 s once hidden at 5.5 s, then a validation pause
    times = [0, 1, 2, 3, 4, 5, 6, 8, 10, 12, 30]
    live, hidden, segments = bench_gui.paired_split(times, [(0.0, True), (5.5, False)])
    # live: gaps ending at 1..5 s, the first dropped -> 1 s; hidden: gaps ending at 6, 8,
    # 10, 12 s, the first (straddling the switch) dropped -> 2 s; the 18 s pause is over 3x
    # the median gap (1 s) and left out
    assert (live, hidden, segments) == (1.0, 2.0, 2)


def test_host_verdict_refuses_to_judge_when_identical_baselines_disagree():
    import bench_gui

    # spread = (max - min) / median: (152 - 148) / 150 = 2.7 %: within the 6 % limit
    assert "within 2.7 %" in bench_gui.host_verdict([150.0, 148.0, 152.0, 150.0])
    # (165 - 147.6) / 152.95 = 11.4 %: the host moved more than a 3 % effect
    verdict = bench_gui.host_verdict([157.4, 148.5, 165.1, 147.6])
    assert "spread 11.4 %" in verdict and "cannot judge" in verdict
    assert "unknown" in bench_gui.host_verdict([150.0])


def test_bracket_ratios_are_against_the_geometric_mean_of_both_neighbours():
    import bench_gui
    import pytest

    # H 100, M 99, H 121, M 110, H 100: 99 / sqrt(100 * 121) = 99 / 110 = 0.9;
    # 110 / sqrt(121 * 100) = 110 / 110 = 1.0
    assert bench_gui.bracket_ratios([100.0, 121.0, 100.0], [99.0, 110.0]) == pytest.approx([0.9, 1.0])
    # a host speeding up linearly, 100 -> 120, with a middle run at its mid-point speed 110:
    # sqrt(100 * 120) = 109.54..., ratio 1.0042 (a one-sided ratio would say 1.10 or 0.917)
    assert bench_gui.bracket_ratios([100.0, 120.0], [110.0])[0] == pytest.approx(110 / 12000**0.5)
    with pytest.raises(ValueError, match="2 middle runs need 3 headless runs, not 2"):
        bench_gui.bracket_ratios([100.0, 120.0], [1.0, 2.0])


def test_bracket_verdict_judges_the_median_when_the_null_misses_single_rounds():
    import bench_gui

    # the null (identical headless runs) dips below 0.97 once: single rounds cannot judge
    text = bench_gui.bracket_verdict([0.99, 0.96, 1.01, 0.98], [1.00, 0.95, 1.02, 0.99])
    assert "median 0.985" in text  # (0.98 + 0.99) / 2
    assert "app 1 of 4, null 1 of 4" in text
    assert "single rounds cannot judge the goal: the median meets it" in text
    # a clean null and an app below the goal in one round: that round counts
    text = bench_gui.bracket_verdict([0.99, 0.96, 1.01, 0.98], [1.00, 0.99, 1.02, 0.99])
    assert "every round does not meet the goal" in text
    assert "misses" not in bench_gui.bracket_verdict([0.98, 0.99], [0.98, 0.99])
    assert "median misses it" in bench_gui.bracket_verdict([0.90, 0.99], [0.95, 0.99])
