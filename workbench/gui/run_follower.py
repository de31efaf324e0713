"""Following a run that another process writes: a headless or ``torchrun`` job, on this
machine or a shared folder. Read-only: nothing in the run folder is ever written.

Every ``interval_ms`` the follower reads the lines added to ``metrics.jsonl``
(``MetricsTail``), the sample files of new epochs and the summary's status, and emits them
as the same events a run trained in the app produces, so the plots, the task-conflict view
and the inspector follow it through their live code paths. It stops when the summary says
the run is no longer running or paused, or when the folder is gone (``ended("deleted")``).
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

from PySide6.QtCore import QObject, QTimer, Signal

log = logging.getLogger(__name__)

LIVE = ("running", "paused")


class RunFollower(QObject):
    """Signals: ``step(StepEnded)``, ``epoch(EpochEnded)``, ``samples(SamplesReady)``,
    ``restarted()`` (the log shrank: a resume; reload the run), ``ended(str)`` (the final
    status), ``damaged(int)`` (lines of the log that are not records, left out: the count
    so far, each time it grows)."""

    step = Signal(object)
    epoch = Signal(object)
    samples = Signal(object)
    restarted = Signal()
    ended = Signal(str)
    damaged = Signal(int)  # damaged lines of metrics.jsonl left out so far (said when it grows)

    def __init__(self, run_dir: str | Path, interval_ms: int = 2000, parent: QObject | None = None) -> None:
        super().__init__(parent)
        from workbench.training.metrics_tail import MetricsTail
        from workbench.training.run_store import RunStore

        self.store = RunStore(run_dir)
        self.tail = MetricsTail(self.store.metrics_path)
        self.steps_per_epoch = 0
        self._epochs_seen: set[int] = set()
        self.timer = QTimer(self)
        self.timer.setInterval(interval_ms)
        self.timer.timeout.connect(self.poll)

    def start(self) -> list[dict[str, Any]]:
        """The records logged so far (to draw at once); polling for more begins."""
        records = self.tail.read_new()
        self._epochs_seen = set(self.store.sample_epochs())
        self.timer.start()
        return records

    def stop(self) -> None:
        self.timer.stop()

    def following(self) -> bool:
        return self.timer.isActive()

    def poll(self) -> None:
        """One look at the folder (the timer's slot; callable directly)."""
        from workbench.training.run_lock import lock_is_live, read_lock
        from workbench.training.run_store import record_to_event

        if not self.store.path.is_dir():  # deleted (or moved) while followed: nothing more will come
            self.stop()
            self.ended.emit("deleted")
            return
        try:
            summary = self.store.read_summary()
        except Exception as exc:  # noqa: BLE001 - a summary being replaced: try again
            log.debug("following %s: %s", self.store.path, exc)
            return
        skipped = self.tail.skipped
        records = self.tail.read_new()
        if self.tail.restarted:
            self.restarted.emit()
            return
        if self.tail.skipped > skipped:  # a fresh open says it; following said nothing
            self.damaged.emit(self.tail.skipped)
        for record in records:
            event = record_to_event(record, self._steps_per_epoch(summary))
            if event is None:
                continue
            (self.step if record["type"] == "step" else self.epoch).emit(event)
        for epoch in self.store.sample_epochs():
            if epoch not in self._epochs_seen:
                self._epochs_seen.add(epoch)
                try:
                    self.samples.emit(self.store.load_samples(epoch))
                except Exception as exc:  # noqa: BLE001 - a file being written: next time
                    self._epochs_seen.discard(epoch)
                    log.debug("samples of epoch %d not readable yet: %s", epoch, exc)
        status = self.store.effective_status(summary)
        if status == "unknown" and lock_is_live(read_lock(self.store.path)):
            return  # a summary replaced by something else while its trainer still runs: it rewrites it
        if status not in LIVE:
            self.stop()
            self.ended.emit(status)

    def _steps_per_epoch(self, summary: dict[str, Any]) -> int:
        if not self.steps_per_epoch:
            sizes, cfg = summary.get("data_sizes") or {}, None
            try:
                cfg = self.store.read_config()
            except Exception:  # noqa: BLE001
                return 0
            train = int(sizes.get("train", 0))
            if train and cfg.train.batch_size:
                self.steps_per_epoch = max(1, train // min(cfg.train.batch_size, train))
        return self.steps_per_epoch
