"""A training process of its own: the app's runs train here, not in a thread of the app.

Why a process: training and the GUI in one interpreter share one GIL, so every millisecond
the GUI thread spends drawing in Python is one the training loop may wait for; and a crash in
training (killed, out of memory, a native fault) must not take the window with it. On two
cores the app still trains at 0.94-0.97 of a headless run (the GUI's own CPU, README
"Benchmarks"): the process removed the GIL share, not the CPU share.

One ``TrainWorker`` serves one job at a time and stays alive between jobs, so PyTorch is
imported (and warmed up) once per app session, not once per run. It starts with the
``spawn`` method: a fork of a process running Qt and PyTorch threads is not safe.

Protocol (all through ``multiprocessing`` objects made by the parent):

- ``jobs``: a ``Job`` starts a run; ``None`` ends the worker.
- ``events``: every trainer event (``workbench.training.events``), then ``JobEnded``.
  The worker announces itself with ``WorkerReady`` once PyTorch is warm.
- two shared events make a ``RunControl`` the trainer polls between steps (stop, pause).

The worker stops its run cleanly (checkpoint kept) when its parent dies or on SIGTERM /
SIGHUP; Ctrl-C in the terminal is the parent's to handle, so the worker ignores SIGINT.
"""

from __future__ import annotations

import contextlib
import logging
import multiprocessing as mp
import os
import queue
import signal
import threading
import time
import traceback
from dataclasses import dataclass
from typing import Any

log = logging.getLogger(__name__)

PARENT_CHECK_S = 1.0  # how often the worker looks whether its parent still lives

# The training process runs at a lower CPU priority than the window (Unix nice value added
# to the app's), so that on a machine whose cores training keeps busy the window still gets
# the CPU the moment it needs it: without it, a 20 ms repaint waited behind the trainer's
# threads for 100-200 ms. Training loses no more CPU than the window actually uses.
# ``WORKBENCH_TRAINER_NICE`` overrides it (0: same priority as the app).
TRAINER_NICE = 5
TRAINER_NICE_ENV = "WORKBENCH_TRAINER_NICE"


@dataclass(frozen=True)
class Job:
    """One run for the worker: a new run of ``config`` in the (already made) ``run_dir``,
    or, with ``resume`` True, the resumption of ``run_dir`` (``config`` is then None)."""

    job_id: int
    run_dir: str
    config: Any = None  # ExperimentConfig (picklable dataclasses)
    resume: bool = False
    more_time_s: float | None = None  # a resume's new time budget (as resume --time-limit)


@dataclass(frozen=True)
class JobEnded:
    """The worker's last message for ``job_id``; the trainer's final event came before it."""

    job_id: int


@dataclass(frozen=True)
class WorkerReady:
    """The worker imported PyTorch and warmed it up; ``pid`` is its process id."""

    pid: int
    seconds: float


class TrainWorker:
    """The parent's handle of one training process.

    ``submit(job)`` hands it a run; ``events`` yields the run's events; ``control`` stops or
    pauses it; ``close()`` ends the process. Not thread-safe: one owner (the app's bridge).
    """

    def __init__(self) -> None:
        from workbench.training.control import RunControl

        ctx = mp.get_context("spawn")
        self.jobs: Any = ctx.Queue()
        self.events: Any = ctx.Queue()
        stop, running = ctx.Event(), ctx.Event()
        self.control = RunControl(stop_event=stop, running_event=running)
        self.process = ctx.Process(
            target=serve,
            args=(self.jobs, self.events, stop, running, os.getpid()),
            name="workbench-trainer",
            daemon=True,  # never outlives the app, even if the app forgets to close it
        )
        self.process.start()
        self._next_id = 0
        self.busy_with: int | None = None
        self.ready_pid: int | None = None  # set once the worker said it has loaded PyTorch

    def alive(self) -> bool:
        return self.process.is_alive()

    def submit(
        self, run_dir: str, config: Any = None, resume: bool = False, more_time_s: float | None = None
    ) -> int:
        """Start a run in the worker; returns its job id. Raises RuntimeError when the
        worker is busy or has died."""
        if self.busy_with is not None:
            raise RuntimeError("the training process is busy with another run")
        if not self.alive():
            raise RuntimeError(f"the training process has ended (exit code {self.process.exitcode})")
        self._next_id += 1
        self.control.reset()
        self.busy_with = self._next_id
        self.jobs.put(Job(self._next_id, str(run_dir), config, resume, more_time_s))
        return self._next_id

    def wait_ready(self, timeout: float = 120.0) -> bool:
        """Block until the worker has loaded PyTorch (only while it has no run); False on
        timeout or if it died."""
        deadline = time.monotonic() + timeout
        while self.ready_pid is None and self.alive() and time.monotonic() < deadline:
            self.next_event(0.2)
        return self.ready_pid is not None

    def next_event(self, timeout: float) -> Any:
        """The next message from the worker, or None after ``timeout`` seconds without one."""
        try:
            message = self.events.get(timeout=timeout)
        except queue.Empty:
            return None
        if isinstance(message, JobEnded) and message.job_id == self.busy_with:
            self.busy_with = None
        elif isinstance(message, WorkerReady):
            self.ready_pid = message.pid
        return message

    def close(self, timeout: float = 10.0) -> None:
        """End the worker: after its current run stops (it is asked to), or killed after
        ``timeout`` seconds."""
        if self.alive():
            self.control.request_stop()
            with contextlib.suppress(Exception):
                self.jobs.put(None)
            # an idle worker has nothing to save (it may still be importing PyTorch)
            self.process.join(timeout if self.busy_with is not None else 0.5)
            if self.process.is_alive():
                self.process.kill()
                self.process.join(2.0)
        for q in (self.jobs, self.events):
            q.cancel_join_thread()  # never block the app's exit on a pipe nobody reads
            q.close()


# ---------------------------------------------------------------- the child's side
def serve(jobs: Any, events: Any, stop: Any, running: Any, parent_pid: int) -> None:
    """The worker process's main function (runs in the child)."""
    from workbench.training.control import RunControl

    control = RunControl(stop_event=stop, running_event=running)
    leaving = threading.Event()  # end after the current run (asked to, or the app is gone)

    def leave(*_: Any) -> None:
        control.request_stop()
        leaving.set()

    lower_priority()  # before PyTorch starts its threads: they inherit it
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the terminal's Ctrl-C is the app's to handle
    for name in ("SIGTERM", "SIGHUP"):
        if hasattr(signal, name):
            signal.signal(getattr(signal, name), leave)
    threading.Thread(target=_watch_parent, args=(parent_pid, leave), name="parent-watch", daemon=True).start()

    started = time.perf_counter()
    from workbench.training.warm_up import warm_up

    warm_up()
    events.put(WorkerReady(os.getpid(), time.perf_counter() - started))
    while not leaving.is_set():
        try:
            job = jobs.get(timeout=PARENT_CHECK_S)
        except queue.Empty:
            continue
        if job is None:
            break
        run_job(job, control, events.put)
        events.put(JobEnded(job.job_id))
    _flush(events)


def trainer_nice() -> int:
    """The nice increment for the training process: ``TRAINER_NICE`` or, when set, the
    integer in ``WORKBENCH_TRAINER_NICE`` (clamped to 0-19; an unreadable value is ignored
    with a warning)."""
    raw = os.environ.get(TRAINER_NICE_ENV, "").strip()
    if not raw:
        return TRAINER_NICE
    try:
        return min(19, max(0, int(raw)))
    except ValueError:
        log.warning("%s=%r is not a whole number; using %d", TRAINER_NICE_ENV, raw, TRAINER_NICE)
        return TRAINER_NICE


def lower_priority() -> int:
    """Add ``trainer_nice()`` to this process's nice value; returns the new value (the old
    one where the platform has no nice or refuses)."""
    increment = trainer_nice()
    if not hasattr(os, "nice"):
        return 0
    try:
        return os.nice(increment)
    except OSError:
        return os.nice(0)


def _flush(events: Any, timeout: float = 5.0) -> None:
    """Let the queued events reach the pipe, but never hang on it: with the app gone (or
    not reading any more) a full pipe would block the feeder thread, and the exit, for good."""
    events.close()
    flusher = threading.Thread(target=events.join_thread, daemon=True)
    flusher.start()
    flusher.join(timeout)
    events.cancel_join_thread()


def run_job(job: Job, control: Any, emit: Any) -> None:
    """Build the trainer for ``job`` and run it; every event goes to ``emit``. Never raises:
    a trainer that cannot even be built is reported as ``RunFailed``."""
    from workbench.training.events import RunFailed

    try:
        from workbench.training.run_store import RunStore
        from workbench.training.trainer import Trainer

        if job.resume:
            trainer = Trainer.for_run_dir(
                job.run_dir, control=control, subscribers=[emit], more_time_s=job.more_time_s
            )
        else:
            trainer = Trainer(job.config, RunStore(job.run_dir), control, subscribers=[emit])
        trainer.run()  # never raises: failures arrive as RunFailed
    except Exception as exc:  # noqa: BLE001 - reported to the app in one line
        log.exception("could not start the trainer")
        emit(RunFailed(error=f"{type(exc).__name__}: {exc}", origin=traceback.format_exc()))


def _watch_parent(parent_pid: int, leave: Any) -> None:
    """Stop the run (checkpoint kept) and end the worker if the app died without saying so."""
    while True:
        time.sleep(PARENT_CHECK_S)
        if os.getppid() != parent_pid:
            leave()
            return
