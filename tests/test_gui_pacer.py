"""RedrawPacer: frames are spaced so drawing stays under its share of a core."""

import pytest

from workbench.gui.redraw_pacer import RedrawPacer


def test_cheap_frames_run_at_the_base_rate():
    pacer = RedrawPacer(base_interval_s=0.125, budget=0.05)
    pacer.add_cost(0.002)
    pacer.frame_done(now=10.0)
    assert pacer.interval_s == 0.125
    assert not pacer.ready(now=10.1) and pacer.ready(now=10.126)


def test_costly_frames_are_spaced_to_the_budget_and_capped():
    pacer = RedrawPacer(base_interval_s=0.125, budget=0.05, max_interval_s=2.0)
    pacer.add_cost(0.020)
    pacer.add_cost(0.020)  # update + paint of one frame
    pacer.frame_done(now=0.0)
    assert abs(pacer.interval_s - 0.8) < 1e-9  # 40 ms is 5 % of 0.8 s
    assert not pacer.ready(now=0.79) and pacer.ready(now=0.81)
    for _ in range(20):
        pacer.add_cost(0.5)
        pacer.frame_done(now=1.0)
    assert pacer.interval_s == 2.0


def test_cost_estimate_follows_cheaper_frames():
    pacer = RedrawPacer(base_interval_s=0.1, budget=0.05)
    pacer.add_cost(0.1)
    pacer.frame_done(now=0.0)
    for i in range(30):
        pacer.add_cost(0.001)
        pacer.frame_done(now=float(i))
    assert pacer.interval_s == 0.1


def test_one_costly_frame_delays_only_the_next_one():
    pacer = RedrawPacer(base_interval_s=0.125, budget=0.03, max_interval_s=2.0)
    pacer.add_cost(0.009)
    pacer.frame_done(now=0.0)
    assert pacer.interval_s == pytest.approx(0.3)  # 9 ms is 3 % of 0.3 s
    pacer.add_cost(0.150)  # a relayout repainted every plot
    pacer.frame_done(now=1.0)
    assert pacer.interval_s == 2.0  # 150 ms / 3 % = 5 s, capped at 2 s
    assert not pacer.ready(now=2.9) and pacer.ready(now=3.01)
    pacer.add_cost(0.009)
    pacer.frame_done(now=3.0)
    assert pacer.interval_s == pytest.approx(0.3)  # back at once, not after a dozen frames


def test_draw_budget_is_smallest_while_cpu_training_keeps_every_core_busy():
    from workbench.gui.redraw_pacer import (
        BUDGET_CORES_BUSY,
        BUDGET_CORES_SPARE,
        draw_budget,
        draw_budget_for_run,
    )

    assert BUDGET_CORES_BUSY < BUDGET_CORES_SPARE
    assert draw_budget("cpu", 0, 2) == BUDGET_CORES_BUSY  # PyTorch's default: one thread per core
    assert draw_budget("cpu", 2, 2) == BUDGET_CORES_BUSY
    assert draw_budget("cpu", 4, 2) == BUDGET_CORES_BUSY  # more threads than cores: still busy
    assert draw_budget("CPU", 0, None) == BUDGET_CORES_BUSY  # core count unknown: assume busy
    assert draw_budget("cpu", 1, 2) == BUDGET_CORES_SPARE  # a core left for the window
    assert draw_budget("cuda:0", 0, 2) == BUDGET_CORES_SPARE  # the GPU computes
    assert draw_budget("cuda", 0, 64) == BUDGET_CORES_SPARE
    # from a run's config dict (RunStarted.config); unreadable thread counts count as default
    assert draw_budget_for_run({"train": {"threads": 1}}, "cpu", 8) == BUDGET_CORES_SPARE
    assert draw_budget_for_run({"train": {"threads": "x"}}, "cpu", 8) == BUDGET_CORES_BUSY
    assert draw_budget_for_run(None, "cpu", 8) == BUDGET_CORES_BUSY
    assert draw_budget_for_run({}, "cuda:1", 8) == BUDGET_CORES_SPARE
