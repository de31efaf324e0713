"""The app's training process (training/train_worker.py) and the bridge that follows it."""

from __future__ import annotations

import dataclasses
import json
import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from tests.conftest import GUI_RUN_TIMEOUT_MS, tiny_config
from workbench.training.events import RunFailed, RunFinished, RunStarted, RunStopped, StepEnded
from workbench.training.run_store import RunStore
from workbench.training.train_worker import JobEnded, TrainWorker, WorkerReady


def longer(cfg, epochs: int = 50):
    """Enough steps that a test can act while the run trains."""
    return dataclasses.replace(cfg, train=dataclasses.replace(cfg.train, epochs=epochs))


def drain(worker: TrainWorker, until=JobEnded, timeout: float = 120.0) -> list:
    """The worker's messages up to and including the first of type ``until``."""
    out, deadline = [], time.monotonic() + timeout
    while time.monotonic() < deadline:
        message = worker.next_event(0.5)
        if message is not None:
            out.append(message)
            if isinstance(message, until):
                return out
    raise AssertionError(f"no {until.__name__} within {timeout} s; got {[type(m).__name__ for m in out]}")


@pytest.fixture
def worker():
    w = TrainWorker()
    yield w
    w.close()
    assert not w.alive()


def test_worker_trains_two_runs_in_one_process(worker, tmp_path):
    ready = drain(worker, until=WorkerReady)[-1]
    assert ready.pid == worker.process.pid != os.getpid()
    for n in range(2):
        store = RunStore.create(tmp_path, f"run{n}")
        job = worker.submit(str(store.path), tiny_config())
        events = drain(worker)
        kinds = [type(e) for e in events]
        assert kinds[0] is RunStarted and kinds[-2] is RunFinished and events[-1] == JobEnded(job)
        # 48 images, batch 16: 3 steps an epoch, 2 epochs, numbered 1..6 in order
        assert [e.global_step for e in events if isinstance(e, StepEnded)] == [1, 2, 3, 4, 5, 6]
        saved = json.loads((store.path / "summary.json").read_text())
        assert saved["status"] == "finished" and saved["epochs_done"] == 2
        assert worker.busy_with is None
    assert worker.process.pid == ready.pid  # PyTorch was loaded once for both runs


@pytest.mark.skipif(not Path("/proc/self/task").is_dir(), reason="needs Linux per-thread priorities")
def test_the_training_process_runs_below_the_windows_priority(worker, monkeypatch):
    """Every thread of the worker, PyTorch's included (made after the nice call), sits
    TRAINER_NICE above the app's nice value, so a repaint never waits behind training."""
    from workbench.training.train_worker import TRAINER_NICE

    drain(worker, until=WorkerReady)
    own = os.getpriority(os.PRIO_PROCESS, 0)
    expected = min(19, own + TRAINER_NICE)
    tids = os.listdir(f"/proc/{worker.process.pid}/task")
    assert len(tids) >= 2  # the parent watcher, PyTorch's pool, the queue's feeder
    assert {os.getpriority(os.PRIO_PROCESS, int(t)) for t in tids} == {expected}


@pytest.mark.parametrize(("raw", "expected"), [("", 5), ("0", 0), ("3", 3), ("40", 19), ("-4", 0), ("x", 5)])
def test_trainer_nice_reads_the_environment(monkeypatch, raw, expected):
    from workbench.training import train_worker

    monkeypatch.setenv(train_worker.TRAINER_NICE_ENV, raw)
    assert train_worker.TRAINER_NICE == 5
    assert train_worker.trainer_nice() == expected


def test_worker_refuses_a_second_job_while_busy(worker, tmp_path):
    store = RunStore.create(tmp_path, "busy")
    worker.submit(str(store.path), longer(tiny_config()))
    with pytest.raises(RuntimeError, match="busy"):
        worker.submit(str(store.path), tiny_config())
    worker.control.request_stop()
    assert isinstance(drain(worker)[-2], RunStopped)


def test_stop_and_pause_cross_the_process_boundary(worker, tmp_path):
    store = RunStore.create(tmp_path, "control")
    worker.submit(str(store.path), longer(tiny_config()))
    drain(worker, until=StepEnded)
    worker.control.pause()
    # the step in flight ends (seconds on a loaded machine), then the trainer waits
    from workbench.training.events import Paused

    drain(worker, until=Paused, timeout=60.0)
    time.sleep(1.0)
    assert not [m for m in iter(lambda: worker.next_event(0.2), None) if isinstance(m, StepEnded)]
    worker.control.resume()
    drain(worker, until=StepEnded)
    worker.control.request_stop()
    events = drain(worker)
    assert isinstance(events[-2], RunStopped)
    saved = json.loads((store.path / "summary.json").read_text())
    assert saved["status"] == "stopped"
    assert store.last_checkpoint.exists()


def test_a_run_that_cannot_start_is_reported_not_raised(worker, tmp_path):
    worker.submit(str(tmp_path / "no-such-run"), None, resume=True)
    events = drain(worker)
    assert isinstance(events[-2], RunFailed) and "no-such-run" in events[-2].error
    assert worker.alive()  # the worker serves the next job


def test_the_worker_ignores_the_terminals_ctrl_c(worker, tmp_path):
    drain(worker, until=WorkerReady)
    os.kill(worker.process.pid, signal.SIGINT)
    time.sleep(0.5)
    assert worker.alive()


def test_sigterm_stops_the_run_and_ends_the_worker(worker, tmp_path):
    store = RunStore.create(tmp_path, "term")
    worker.submit(str(store.path), longer(tiny_config()))
    drain(worker, until=StepEnded)
    os.kill(worker.process.pid, signal.SIGTERM)
    events = drain(worker)
    assert isinstance(events[-2], RunStopped)
    worker.process.join(30)
    assert worker.process.exitcode == 0
    assert json.loads((store.path / "summary.json").read_text())["status"] == "stopped"


def test_the_worker_stops_its_run_when_the_app_dies(tmp_path):
    """An app killed mid-run (no chance to say so): its training process saves a checkpoint,
    marks the run stopped and ends, within a few seconds."""
    script = textwrap.dedent(
        f"""
        import dataclasses, os, sys
        sys.path.insert(0, {str(Path(__file__).resolve().parent.parent)!r})
        from tests.conftest import tiny_config
        from workbench.training.events import StepEnded
        from workbench.training.run_store import RunStore
        from workbench.training.train_worker import TrainWorker

        if __name__ == "__main__":
            cfg = tiny_config()
            cfg = dataclasses.replace(cfg, train=dataclasses.replace(cfg.train, epochs=200))
            worker = TrainWorker()
            store = RunStore.create({str(tmp_path)!r}, "orphan")
            worker.submit(str(store.path), cfg)
            while not isinstance(worker.next_event(1.0), StepEnded):
                pass
            print(worker.process.pid, store.path, flush=True)
            os._exit(0)  # no clean-up at all: as if killed
        """
    )
    path = tmp_path / "app.py"
    path.write_text(script)
    # the training process inherits stdout: read the one line, not up to the end of the pipe
    app = subprocess.Popen([sys.executable, str(path)], stdout=subprocess.PIPE, text=True)
    pid, run_dir = app.stdout.readline().split()
    assert app.wait(60) == 0
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and _alive(int(pid)):
        time.sleep(0.2)
    assert not _alive(int(pid)), "the orphaned training process kept running"
    saved = json.loads((Path(run_dir) / "summary.json").read_text())
    assert saved["status"] == "stopped"
    assert RunStore(run_dir).last_checkpoint.exists()


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    # a zombie (exited, not yet reaped by init) counts as gone
    try:
        state = Path(f"/proc/{pid}/stat").read_text().split(")")[-1].split()[0]
    except OSError:
        return False
    return state != "Z"


# ------------------------------------------------------------------ the bridge in process mode
def test_bridge_trains_in_another_process_and_signals_in_the_gui_thread(qtbot, tmp_path):
    from PySide6.QtCore import QThread
    from PySide6.QtWidgets import QApplication

    from workbench.gui.worker import TrainingBridge

    bridge = TrainingBridge(in_process=True)
    pids, threads = [], []
    gui = QApplication.instance().thread()
    bridge.runStarted.connect(lambda ev: pids.append(bridge.worker.process.pid))
    bridge.stepEnded.connect(lambda ev: threads.append(QThread.currentThread() == gui))
    with qtbot.waitSignal(bridge.finished, timeout=GUI_RUN_TIMEOUT_MS) as done:
        run_dir = bridge.start(tiny_config(), tmp_path)
    assert bridge.wait(30_000)
    assert pids and pids[0] != os.getpid()
    assert threads and all(threads)
    assert done.args[0].summary["status"] == "finished"
    assert json.loads((run_dir / "summary.json").read_text())["status"] == "finished"
    assert bridge.state == "idle" and not bridge.is_running()


def test_killed_training_process_fails_the_run_and_the_next_one_works(qtbot, window, tiny):
    w = window
    assert w.bridge.in_process
    w.setup.set_config(longer(tiny, epochs=100))
    qtbot.waitUntil(w.act_start.isEnabled, timeout=10_000)
    with qtbot.waitSignal(w.bridge.stepEnded, timeout=GUI_RUN_TIMEOUT_MS):
        w.start_run()
    victim = w.bridge.worker.process.pid
    run_dir = w.bridge.run_dir
    with qtbot.waitSignal(w.errorShown, timeout=GUI_RUN_TIMEOUT_MS) as shown:
        os.kill(victim, signal.SIGKILL)
    assert "ended unexpectedly" in shown.args[1] and "-9" in shown.args[1]
    if not (run_dir / "checkpoints" / "last.pt").exists():  # killed in its first epoch
        assert "before its first checkpoint; resuming the run starts it again" in shown.args[1]
    assert w.bridge.wait(30_000)
    assert RunStore(run_dir).effective_status() == "interrupted"
    for box in w.error_dialogs():
        box.accept()
    w.setup.set_config(tiny)
    qtbot.waitUntil(w.act_start.isEnabled, timeout=10_000)
    with qtbot.waitSignal(w.bridge.finished, timeout=GUI_RUN_TIMEOUT_MS):
        w.start_run()
    assert w.bridge.wait(30_000)
    assert w.bridge.worker.process.pid != victim


def test_a_run_failing_in_the_process_shows_its_error(qtbot, window, tiny, tmp_path):
    """The failure text and its origin travel from the training process to the dialog: here
    a resume whose checkpoint was overwritten with garbage."""
    from workbench.training.control import RunControl
    from workbench.training.trainer import Trainer

    control = RunControl()
    store = RunStore.create(tmp_path / "made", "broken")
    stop_at_once = lambda ev: control.request_stop() if isinstance(ev, StepEnded) else None  # noqa: E731
    assert Trainer(tiny, store, control, subscribers=[stop_at_once]).run()["status"] == "stopped"
    store.last_checkpoint.write_bytes(b"not a checkpoint")
    w = window
    with qtbot.waitSignal(w.errorShown, timeout=GUI_RUN_TIMEOUT_MS) as shown:
        w.resume_run(store.path)
    assert "last.pt" in shown.args[1], shown.args
    assert w.bridge.wait(30_000)
    assert w.bridge.worker.alive()  # the process serves the next run
    assert json.loads((store.path / "summary.json").read_text())["status"] == "stopped"


def test_a_killed_training_process_says_what_its_run_folder_keeps(tmp_path):
    """Killed before it wrote anything, the run was said to "keep what it had saved and can
    be resumed"; `resume` then refused the folder as "an empty folder, not a run"."""
    from workbench.gui.worker import process_died

    empty = tmp_path / "run-empty"
    empty.mkdir()
    (empty / ".lock").write_text("12345")  # the dead process's lock
    failed = process_died(-9, empty)
    assert (
        failed.error
        == "the training process ended unexpectedly (exit code -9) before the run began; nothing was saved"
    )
    assert failed.summary == {"not_started": True}  # the app's "Run not started", its folder removed
    assert list(empty.iterdir()) == []  # the stale lock went, so the folder can go
    begun = tmp_path / "run-begun"
    begun.mkdir()
    (begun / "summary.json").write_text("{}")
    assert process_died(-9, begun).error.endswith(
        "before its first checkpoint; resuming the run starts it again from the beginning"
    )
    (begun / "checkpoints").mkdir()
    (begun / "checkpoints" / "last.pt").write_bytes(b"x")
    assert process_died(137, begun).error.endswith("; the run keeps what it had saved and can be resumed")
    assert not process_died(-9, begun).summary
