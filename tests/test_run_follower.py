"""Following a run another process writes: the log tail, and the app's read-only live view."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from conftest import GUI_RUN_TIMEOUT_MS, tiny_config

from workbench.experiment_check import save_config
from workbench.training.metrics_tail import MetricsTail


def _line(step: int) -> str:
    return json.dumps({"type": "step", "epoch": 0, "step": step, "global_step": step + 1}) + "\n"


def test_tail_hands_out_complete_lines_once_and_starts_over_after_a_cut(tmp_path):
    path = tmp_path / "metrics.jsonl"
    tail = MetricsTail(path)
    assert tail.read_new() == []  # no file yet
    path.write_text(_line(0) + _line(1) + _line(2)[:10])  # the third line is being written
    assert [r["step"] for r in tail.read_new()] == [0, 1]
    with open(path, "a") as f:
        f.write(_line(2)[10:] + "not json\n")
    assert [r["step"] for r in tail.read_new()] == [2] and tail.skipped == 1
    assert tail.read_new() == [] and not tail.restarted
    path.write_text(_line(0))  # a resume cut the log back
    assert [r["step"] for r in tail.read_new()] == [0] and tail.restarted


def test_the_app_follows_a_headless_run_until_it_stops(qtbot, window, tmp_path):
    from workbench.gui.redraw_pacer import BUDGET_CORES_BUSY, BUDGET_CORES_SPARE

    cfg = tiny_config()
    cfg.train.epochs = 200  # runs until stopped
    save_config(cfg, tmp_path / "exp.toml")
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).parents[1])}
    job = subprocess.Popen(
        [sys.executable, "-m", "workbench", "train", "exp.toml", "--out", "elsewhere", "--quiet"],
        cwd=tmp_path,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    try:
        deadline = time.monotonic() + 120
        run_dir = None
        while time.monotonic() < deadline:
            runs = list((tmp_path / "elsewhere").glob("*/metrics.jsonl"))
            if runs and runs[0].read_text().count("\n") >= 2:
                run_dir = runs[0].parent
                break
            time.sleep(0.2)
        assert run_dir is not None, "the headless run did not start"
        before = {
            p.name for p in run_dir.iterdir() if p.is_file() and p.name != ".lock"
        }  # the job drops its lock
        window.show_run(run_dir)
        qtbot.waitUntil(lambda: window.following() == run_dir, timeout=GUI_RUN_TIMEOUT_MS)
        follower = window._follower
        # the job trains on this machine's CPU: drawing it gets the frugal budget of a run
        # trained in the app, until it ends
        assert window.plots.pacer.budget == BUDGET_CORES_BUSY
        with qtbot.waitSignal(follower.step, timeout=GUI_RUN_TIMEOUT_MS):
            pass  # a step written after the window opened the run arrives through the live path
        with qtbot.waitSignal(follower.epoch, timeout=GUI_RUN_TIMEOUT_MS):
            pass
        job.send_signal(signal.SIGTERM)  # the job stops after its step, keeping a checkpoint
        with qtbot.waitSignal(follower.ended, timeout=GUI_RUN_TIMEOUT_MS) as ended:
            pass
        assert ended.args == ["stopped"]
        assert window.following() is None
        assert window.plots.pacer.budget == BUDGET_CORES_SPARE
        assert job.wait(60) == 128 + signal.SIGTERM  # stopped, not finished
        after = {p.name for p in run_dir.iterdir() if p.is_file()}
        assert before <= after  # the app removed nothing
        # resumed by another process while still shown: followed again (it stayed frozen)
        job = subprocess.Popen(
            [sys.executable, "-m", "workbench", "resume", str(run_dir), "--quiet"],
            cwd=tmp_path,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
        )
        qtbot.waitUntil(lambda: window.following() == run_dir, timeout=GUI_RUN_TIMEOUT_MS)
        job.send_signal(signal.SIGTERM)
        qtbot.waitUntil(lambda: window.following() is None, timeout=GUI_RUN_TIMEOUT_MS)
        assert job.wait(60) == 128 + signal.SIGTERM
    finally:
        if job.poll() is None:
            job.kill()
            job.wait()


def test_a_followed_run_deleted_while_shown_is_said_and_let_go(qtbot, window, tmp_path):
    import shutil

    from workbench.gui.run_follower import RunFollower
    from workbench.training.run_store import RunStore

    run = tmp_path / "run"
    run.mkdir()
    RunStore(run).write_config(tiny_config())
    follower = RunFollower(run)
    follower.start()
    shutil.rmtree(run)
    with qtbot.waitSignal(follower.ended) as ended:
        follower.poll()
    assert ended.args == ["deleted"] and not follower.following()
    window._shown_run = run
    window._on_followed_end(run, "deleted")
    assert window._shown_run is None and window.windowTitle().endswith("run (moved or deleted)")
    assert "was moved or deleted while shown" in window.statusBar().full_message()


def test_a_summary_garbled_while_its_trainer_runs_does_not_end_the_following(qtbot, tmp_path):
    """A summary.json replaced by JSON of the wrong types (status 42, name ["a"]) read as
    "ended (unknown)", and the app stopped following a run that went on training."""
    import json

    from workbench.gui.run_follower import RunFollower
    from workbench.training.run_lock import RunLock
    from workbench.training.run_store import RunStore, read_run_info

    run = tmp_path / "run"
    run.mkdir()
    RunStore(run).write_config(tiny_config())
    (run / "summary.json").write_text(json.dumps({"schema_version": 1, "status": 42, "name": ["a"]}))
    lock = RunLock(run)
    lock.acquire()  # this process stands for the trainer
    follower = RunFollower(run)
    ended = []
    follower.ended.connect(ended.append)
    follower.start()
    follower.poll()
    assert ended == [] and follower.following()
    assert read_run_info(run).name == "run"  # not "['a']"
    lock.release()
    follower.poll()  # no trainer left: a status nobody will correct ends it
    assert ended == ["unknown"]


def test_a_damaged_line_of_a_followed_log_is_said_once_it_appears(qtbot, tmp_path):
    """Opening a run says "N damaged line(s) of metrics.jsonl were left out"; following
    one left such a line out without a word (MetricsTail counted it, nobody read the count)."""
    import json

    from workbench.gui.run_follower import RunFollower
    from workbench.training.run_lock import RunLock
    from workbench.training.run_store import RunStore

    run = tmp_path / "run"
    run.mkdir()
    RunStore(run).write_config(tiny_config())
    (run / "summary.json").write_text(json.dumps({"schema_version": 1, "status": "running", "name": "run"}))
    lock = RunLock(run)
    lock.acquire()
    step = {
        "type": "step",
        "epoch": 0,
        "step": 0,
        "global_step": 1,
        "losses": {"scene": 1.0},
        "total_loss": 1.0,
    }
    (run / "metrics.jsonl").write_text(json.dumps(step) + "\n")
    follower = RunFollower(run)
    damaged: list[int] = []
    follower.damaged.connect(damaged.append)
    follower.start()
    follower.poll()
    assert damaged == []
    with (run / "metrics.jsonl").open("a") as log:
        log.write('{"type": "step", "glob\n' + json.dumps({**step, "global_step": 2}) + "\n")
    follower.poll()
    assert damaged == [1]
    follower.poll()  # nothing new: not said again
    assert damaged == [1]
    lock.release()
    follower.stop()
