"""Long reads off the GUI thread: a 20,000-step log froze the window for seconds when a run
was opened, and comparing 8 such runs for 13 s. The reading and the building of the plots'
series now run in a helper thread while the event loop keeps going (user input waits)."""

from __future__ import annotations

import json
import threading

import numpy as np
import pytest

pytest.importorskip("pytestqt")

from PySide6.QtCore import QTimer  # noqa: E402


def test_off_thread_returns_the_value_and_keeps_the_event_loop_going(qtbot):
    from workbench.gui.off_thread import off_thread

    fired, seen = [], {}
    QTimer.singleShot(0, lambda: fired.append(threading.current_thread()))
    started = threading.Event()

    def slow():
        seen["thread"] = threading.current_thread()
        started.set()
        # returns only once the GUI thread ran its timer while waiting for it
        for _ in range(500):
            if fired:
                return 42
            threading.Event().wait(0.01)
        return -1

    assert off_thread(slow) == 42
    assert seen["thread"] is not threading.main_thread()
    assert fired == [threading.main_thread()]


def test_off_thread_raises_the_error_in_the_caller_and_nests_inline(qtbot):
    from workbench.gui.off_thread import off_thread

    def broken():
        raise ValueError("metrics.jsonl: damaged")

    with pytest.raises(ValueError, match="damaged"):
        off_thread(broken)
    # a read asked for while another waits runs at once, in the thread that asked
    inner = off_thread(lambda: off_thread(lambda: threading.current_thread()))
    assert inner is not threading.main_thread()
    assert off_thread(lambda: 1) == 1  # the wait count is back to zero


def _records(steps: int, spe: int = 10) -> list[dict]:
    out = []
    for g in range(1, steps + 1):
        out.append(
            {
                "type": "step",
                "epoch": (g - 1) // spe,
                "step": (g - 1) % spe,
                "global_step": g,
                "losses": {"a": 1.0 / g, "b": None if g == 3 else 2.0},
                "weights": {"a": 1.0, "b": 0.5},
                "total_loss": 3.0,
                "weighted_loss": 2.5,
                "regulariser": 0.0,
                "lr": 0.01,
                "elapsed_s": 0.5 * g if g != 5 else None,  # one without: never backwards
            }
        )
        if g % spe == 0:
            out.append(
                {
                    "type": "epoch",
                    "epoch": g // spe - 1,
                    "global_step": g,
                    "val_losses": {"a": 0.5},
                    "val_metrics": {"a": {"accuracy": 0.1 * (g // spe)}},
                    "elapsed_s": 0.5 * g + 0.25,
                }
            )
    out.insert(7, {"type": "step", "global_step": "x"})  # damaged: skipped
    return out


def test_records_stored_in_one_go_equal_point_by_point():
    from workbench.gui.plots_panel import RunSeries

    records = _records(40)
    bulk = RunSeries()
    bulk.add_records(records)
    single = RunSeries()
    single.steps_per_epoch = 10  # what the bulk path finds from the whole log
    for r in records:  # one record at a time: the point-by-point path
        single.add_records([r])
    assert sorted(bulk.buffers) == sorted(single.buffers)
    for key, buf in bulk.buffers.items():
        other = single.buffers[key]
        for axis in range(3):
            np.testing.assert_array_equal(buf.axis_x(axis), other.axis_x(axis), err_msg=str(key))
        np.testing.assert_array_equal(buf.y, other.y, err_msg=str(key))
    assert len(bulk.buffers[("train_loss", "b")]) == 39  # the None at step 3 is no point
    # step 5 had no elapsed_s: its time stays at step 4's 2.0 s (the x column never goes back)
    np.testing.assert_array_equal(bulk.buffers[("train_loss", "a")].axis_x(2)[3:6], [2.0, 2.0, 3.0])
    np.testing.assert_array_equal(
        bulk.buffers[("metric:accuracy", "a")].y, [0.1, 0.2, 0.30000000000000004, 0.4]
    )


def _write_run(path, records) -> None:
    from conftest import tiny_config

    from workbench.training.run_store import RunStore

    path.mkdir(parents=True)
    RunStore(path).write_config(tiny_config(tasks=(("a", "classification"), ("b", "counting"))))
    (path / "metrics.jsonl").write_text("".join(json.dumps(r) + "\n" for r in records))
    (path / "summary.json").write_text(
        json.dumps({"schema_version": 1, "name": path.name, "status": "finished"})
    )


def test_the_window_reads_runs_off_the_gui_thread(window, tmp_path, monkeypatch):
    from workbench.training.run_store import RunStore

    first, second = tmp_path / "r1", tmp_path / "r2"
    _write_run(first, _records(300))
    _write_run(second, _records(200))
    readers = []
    read = RunStore.read_metrics

    def spy(self):
        readers.append(threading.current_thread())
        return read(self)

    monkeypatch.setattr(RunStore, "read_metrics", spy)
    assert window._load_run(first)
    assert readers == [readers[0]] and readers[0] is not threading.main_thread()
    assert len(window.plots.curve_points("train_loss", "a")[0]) == 300
    window.compare_runs([first, second])
    assert len(readers) == 2 and readers[1] is not threading.main_thread()
    assert window.plots.compare_labels()
    label = window.plots.compare_labels()[0]
    assert len(window.plots.drawn_points("val_loss", "a", label)[0]) == 20
