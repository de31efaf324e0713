"""TrainingBridge: runs the core Trainer in a QThread and re-emits its events as Qt signals.

The trainer thread never touches a widget. Its subscriber only emits an internal signal
carrying the event object (frozen dataclasses of plain numbers and numpy arrays); a queued
connection delivers it to the bridge in the GUI thread, which re-emits it on the public
signal of its type. Every public signal is therefore emitted in the GUI thread, in the
order the trainer produced the events.

Usable without a window::

    bridge = TrainingBridge()
    bridge.finished.connect(...)
    bridge.start(config, "runs")
    ...
    bridge.stop(); bridge.wait(10_000)
"""

from __future__ import annotations

import copy
import logging
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

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._thread: _TrainerThread | None = None
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
        self, config: Any, runs_root: str | Path | None = None, resume_dir: str | Path | None = None
    ) -> Path:
        """Start a new run of ``config`` under ``runs_root``, or resume ``resume_dir``.

        Returns the run directory. Raises RuntimeError if a run is already in progress
        and OSError if the run directory cannot be made.
        """
        if self.is_running():
            raise RuntimeError("a run is already in progress; stop it first")
        from workbench.training.control import RunControl
        from workbench.training.run_store import RunStore

        control = RunControl()
        if resume_dir is not None:
            run_dir = Path(resume_dir)

            def make(emit: Callable[[Any], None]) -> Any:
                from workbench.training.trainer import Trainer

                return Trainer.for_run_dir(run_dir, control=control, subscribers=[emit])
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
