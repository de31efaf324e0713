"""TrainingBridge: runs the core Trainer and re-emits its events as Qt signals.

By default the trainer runs in a process of its own (``training/train_worker``): training
and drawing in one interpreter share one GIL, and a crash in training (killed, out of
memory) must not take the window with it. A reader thread takes the worker's events off its queue; in thread mode
(``in_process=False``, or ``WORKBENCH_TRAIN_IN=thread``: debugging, tests that patch the
trainer) the trainer itself runs in a QThread. Either way the thread never touches a widget:
it only emits an internal signal carrying the event object (frozen dataclasses of plain
numbers and numpy arrays); a queued connection delivers it to the bridge in the GUI thread,
which re-emits it on the public signal of its type. Every public signal is therefore
emitted in the GUI thread, in the order the trainer produced the events.

Usable without a window::

    bridge = TrainingBridge()
    bridge.finished.connect(...)
    bridge.start(config, "runs")
    ...
    bridge.stop(); bridge.wait(10_000)
"""

from __future__ import annotations

import contextlib
import copy
import logging
import os
import time
import traceback
from collections.abc import Callable
from pathlib import Path
from typing import Any

from PySide6.QtCore import QCoreApplication, QEventLoop, QObject, Qt, QThread, Signal, Slot

from workbench.training.events import (
    EpochEnded,
    Paused,
    Resumed,
    RunFailed,
    RunFinished,
    RunStarted,
    RunStopped,
    SamplesReady,
    StepEnded,
)

log = logging.getLogger(__name__)

# States of a bridge (``TrainingBridge.state``).
IDLE = "idle"
STARTING = "starting"
RUNNING = "running"
PAUSING = "pausing"
PAUSED = "paused"
STOPPING = "stopping"


class _TrainerThread(QThread):
    """Builds the trainer and runs it; reports every event through ``event``."""

    event = Signal(object)

    def __init__(self, make_trainer: Callable[[Callable[[Any], None]], Any], parent: QObject | None = None):
        super().__init__(parent)
        self._make_trainer = make_trainer

    def run(self) -> None:
        try:
            trainer = self._make_trainer(self.event.emit)
            trainer.run()  # never raises: failures arrive as RunFailed
        except Exception as exc:  # the trainer could not even be built (bad run dir, config, ...)
            log.exception("could not start the trainer")
            self.event.emit(RunFailed(error=f"{type(exc).__name__}: {exc}", origin=traceback.format_exc()))


class _WorkerReader(QThread):
    """Takes one job's events off the training process's queue and reports them through
    ``event``; ends after the job's ``JobEnded``, or with ``RunFailed`` if the process died."""

    event = Signal(object)

    def __init__(self, worker: Any, job_id: int, parent: QObject | None = None, run_dir: Path | None = None):
        super().__init__(parent)
        self._worker = worker
        self._job_id = job_id
        self._run_dir = run_dir

    def run(self) -> None:
        from workbench.training.train_worker import JobEnded, WorkerReady

        while True:
            message = self._worker.next_event(0.25)
            if message is None:
                if self._worker.alive():
                    continue
                message = self._worker.next_event(0.5)  # what it said just before it ended
                if message is None:
                    self.event.emit(process_died(self._worker.process.exitcode, self._run_dir))
                    return
            if isinstance(message, JobEnded):
                if message.job_id == self._job_id:
                    return
                continue  # the end of an older job nobody waited for
            if not isinstance(message, WorkerReady):
                self.event.emit(message)


def process_died(code: int | None, run_dir: Path | None) -> Any:
    """The ``RunFailed`` for a training process that ended without a word (killed, out of
    memory), saying what its run folder keeps. It said "can be resumed" of a folder the
    process had not written yet, which ``resume`` then refused as "an empty folder, not a
    run"; such a run is "not started" now, and its folder goes, as for a refused start."""
    from workbench.training.events import RunFailed

    head = f"the training process ended unexpectedly (exit code {code})"
    if run_dir is None or (run_dir / "checkpoints" / "last.pt").exists():
        return RunFailed(error=f"{head}; the run keeps what it had saved and can be resumed", origin="")
    try:
        held = [p for p in run_dir.iterdir()]
    except OSError:
        held = []
    if all(p.name == ".lock" for p in held):
        for lock in held:  # the dead process's: nothing else trains a folder the app made
            with contextlib.suppress(OSError):
                lock.unlink()
        return RunFailed(
            error=f"{head} before the run began; nothing was saved", origin="", summary={"not_started": True}
        )
    return RunFailed(
        error=f"{head} before its first checkpoint; resuming the run starts it again from the beginning",
        origin="",
    )


# The app's training processes: one, unless several windows train at once.
_WORKERS: list[Any] = []


def train_in_process_default() -> bool:
    """Whether bridges train in a separate process unless told otherwise
    (``WORKBENCH_TRAIN_IN=thread`` says no)."""
    return os.environ.get("WORKBENCH_TRAIN_IN", "process").strip().lower() != "thread"


def idle_worker() -> Any:
    """A training process with no run, started if there is none (starting returns at once;
    PyTorch loads in the child). Dead ones are let go."""
    from workbench.training.train_worker import TrainWorker

    for worker in list(_WORKERS):
        if not worker.alive():
            _WORKERS.remove(worker)
            worker.close(0)
    for worker in _WORKERS:
        if worker.busy_with is None:
            return worker
    worker = TrainWorker()
    _WORKERS.append(worker)
    return worker


def close_workers(timeout: float = 10.0) -> None:
    """End the training processes (at the app's exit); a run still in one stops first."""
    while _WORKERS:
        _WORKERS.pop().close(timeout)


class TrainingBridge(QObject):
    """One training run at a time, in a background thread.

    Signals (each carries the core event object):
        runStarted(RunStarted), stepEnded(StepEnded), epochEnded(EpochEnded),
        samplesReady(SamplesReady), paused(Paused), resumed(Resumed),
        finished(RunFinished), stopped(RunStopped), failed(RunFailed).
        runningChanged(bool): a run thread began (True) or has ended and all its events
        were delivered (False).
        stateChanged(str): one of idle, starting, running, pausing, paused, stopping.
    """

    runStarted = Signal(object)
    stepEnded = Signal(object)
    epochEnded = Signal(object)
    samplesReady = Signal(object)
    paused = Signal(object)
    resumed = Signal(object)
    finished = Signal(object)
    stopped = Signal(object)
    failed = Signal(object)
    runningChanged = Signal(bool)
    stateChanged = Signal(str)

    def __init__(self, parent: QObject | None = None, in_process: bool | None = None) -> None:
        super().__init__(parent)
        self.in_process = train_in_process_default() if in_process is None else in_process
        self.worker: Any = None  # the training process of the current (or last) run
        self._thread: QThread | None = None
        self._control: Any = None
        self._run_dir: Path | None = None
        self._state = IDLE
        self._signals = {
            RunStarted: self.runStarted,
            StepEnded: self.stepEnded,
            EpochEnded: self.epochEnded,
            SamplesReady: self.samplesReady,
            Paused: self.paused,
            Resumed: self.resumed,
            RunFinished: self.finished,
            RunStopped: self.stopped,
            RunFailed: self.failed,
        }

    # ------------------------------------------------------------------ queries
    @property
    def run_dir(self) -> Path | None:
        """The directory of the current (or last) run."""
        return self._run_dir

    @property
    def state(self) -> str:
        return self._state

    def is_running(self) -> bool:
        """True from ``start`` until the thread ended and its last event was delivered."""
        return self._thread is not None

    def is_paused(self) -> bool:
        return self._state in (PAUSING, PAUSED)

    # ------------------------------------------------------------------ control
    def start(
        self,
        config: Any,
        runs_root: str | Path | None = None,
        resume_dir: str | Path | None = None,
        more_time_s: float | None = None,
    ) -> Path:
        """Start a new run of ``config`` under ``runs_root``, or resume ``resume_dir``
        (``more_time_s``: its new time budget, as ``resume --time-limit``).

        Returns the run directory. Raises RuntimeError if a run is already in progress
        and OSError if the run directory cannot be made.
        """
        if self.is_running():
            raise RuntimeError("a run is already in progress; stop it first")
        from workbench.training.control import RunControl
        from workbench.training.run_store import RunStore

        if self.in_process:
            return self._start_in_process(config, runs_root, resume_dir, more_time_s)

        control = RunControl()
        if resume_dir is not None:
            run_dir = Path(resume_dir)

            def make(emit: Callable[[Any], None]) -> Any:
                from workbench.training.trainer import Trainer

                return Trainer.for_run_dir(
                    run_dir, control=control, subscribers=[emit], more_time_s=more_time_s
                )
        else:
            if config is None or runs_root is None:
                raise ValueError("a new run needs a config and a runs folder")
            cfg = copy.deepcopy(config)  # later edits in the GUI must not reach the running trainer
            store = RunStore.create(runs_root, cfg.name)
            run_dir = store.path

            def make(emit: Callable[[Any], None]) -> Any:
                from workbench.training.trainer import Trainer

                return Trainer(cfg, store, control, subscribers=[emit])

        thread = _TrainerThread(make, self)
        thread.setObjectName(f"trainer:{run_dir.name}")
        return self._launch(thread, control, run_dir)

    def prepare(self) -> None:
        """Start the training process ahead of the first run (PyTorch loads there meanwhile)."""
        if self.in_process:
            idle_worker()

    def _start_in_process(
        self,
        config: Any,
        runs_root: str | Path | None,
        resume_dir: str | Path | None,
        more_time_s: float | None = None,
    ) -> Path:
        from workbench.training.run_store import RunStore

        if resume_dir is not None:
            run_dir, cfg = Path(resume_dir), None
        else:
            if config is None or runs_root is None:
                raise ValueError("a new run needs a config and a runs folder")
            cfg = copy.deepcopy(config)
            run_dir = RunStore.create(runs_root, cfg.name).path
        worker = self.worker = idle_worker()
        job_id = worker.submit(str(run_dir), cfg, resume=resume_dir is not None, more_time_s=more_time_s)
        reader = _WorkerReader(worker, job_id, self, run_dir)
        reader.setObjectName(f"trainer-events:{run_dir.name}")
        return self._launch(reader, worker.control, run_dir)

    def _launch(self, thread: QThread, control: Any, run_dir: Path) -> Path:
        thread.event.connect(self._dispatch, Qt.ConnectionType.QueuedConnection)
        thread.finished.connect(self._on_thread_finished, Qt.ConnectionType.QueuedConnection)
        self._thread = thread
        self._control = control
        self._run_dir = run_dir
        self._set_state(STARTING)
        thread.start()
        self.runningChanged.emit(True)
        return run_dir

    def pause(self) -> None:
        """Ask the trainer to pause before its next step (``paused`` follows)."""
        if self._control is not None and self._state in (STARTING, RUNNING):
            self._control.pause()
            self._set_state(PAUSING)

    def resume(self) -> None:
        if self._control is not None and self._state in (PAUSING, PAUSED):
            self._control.resume()
            self._set_state(RUNNING)

    def toggle_pause(self) -> None:
        if self.is_paused():
            self.resume()
        else:
            self.pause()

    def stop(self) -> None:
        """Ask the trainer to stop; it saves its checkpoint, then ``stopped`` follows."""
        if self._control is not None and self.is_running():
            self._control.request_stop()
            self._set_state(STOPPING)

    def wait(self, timeout_ms: int = 30_000, process_events: bool = True) -> bool:
        """Join the run thread; True once it ended (or none runs), False on timeout.

        While waiting, the GUI's events are processed (unless ``process_events`` is False)
        so the window stays painted. On success every pending event of the run has been
        delivered through the public signals and ``runningChanged(False)`` was emitted.
        """
        thread = self._thread
        if thread is None:
            return True
        deadline = time.monotonic() + timeout_ms / 1000
        # The queued end may be handled while we process events (the slot joins the thread
        # and lets the object go): stop polling the old object then.
        while self._thread is thread and not thread.wait(20):
            if process_events:
                QCoreApplication.processEvents(QEventLoop.ProcessEventsFlag.AllEvents, 20)
            if time.monotonic() >= deadline:
                return False
        # Deliver the events still queued for us (the last ones and the thread's end).
        QCoreApplication.sendPostedEvents(self, 0)
        if self._thread is thread:  # queued end not delivered (e.g. no event loop): finish here
            self._on_thread_finished()
        return True

    # ------------------------------------------------------------------ GUI-thread slots
    @Slot(object)
    def _dispatch(self, event: Any) -> None:
        if isinstance(event, RunStarted):
            self._run_dir = Path(event.run_dir)
            if self._state not in (PAUSING, STOPPING):
                self._set_state(RUNNING)
        elif isinstance(event, Paused) and self._state != STOPPING:
            self._set_state(PAUSED)
        elif isinstance(event, Resumed) and self._state != STOPPING:
            self._set_state(RUNNING)
        signal = self._signals.get(type(event))
        if signal is None:
            log.warning("unknown trainer event %r", type(event).__name__)
            return
        signal.emit(event)

    @Slot()
    def _on_thread_finished(self) -> None:
        thread = self._thread
        sender = self.sender()
        if thread is None or (sender is not None and sender is not thread):
            return  # already handled by wait(), or an end of an older thread
        self._thread = None
        self._control = None
        thread.wait()  # ``finished`` comes just before the thread really ends: join it first
        thread.deleteLater()
        self._set_state(IDLE)
        self.runningChanged.emit(False)

    def _set_state(self, state: str) -> None:
        if state != self._state:
            self._state = state
            self.stateChanged.emit(state)
