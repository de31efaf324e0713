"""Cooperative stop / pause handle, polled by the trainer between steps.

Thread-safe with the default ``threading.Event`` objects; process-safe when given two
``multiprocessing`` events (the app's training process, ``train_worker``).
"""

from __future__ import annotations

import threading
from typing import Any


class RunControl:
    def __init__(self, stop_event: Any = None, running_event: Any = None) -> None:
        self._stop = stop_event if stop_event is not None else threading.Event()
        self._running = (
            running_event if running_event is not None else threading.Event()
        )  # cleared while paused
        self._running.set()

    def reset(self) -> None:
        """Running, no stop asked (before the next run of a reused control)."""
        self._stop.clear()
        self._running.set()

    def request_stop(self) -> None:
        self._stop.set()
        self._running.set()  # wake a paused loop so it can stop

    def pause(self) -> None:
        if not self._stop.is_set():
            self._running.clear()

    def resume(self) -> None:
        self._running.set()

    @property
    def stop_requested(self) -> bool:
        return self._stop.is_set()

    @property
    def paused(self) -> bool:
        return not self._running.is_set()

    def wait_while_paused(self, timeout: float | None = None) -> bool:
        """Block while paused; True once running again (or stopping)."""
        return self._running.wait(timeout)
