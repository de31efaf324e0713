"""Run a slow read (a long metrics log, several runs to compare) outside the GUI thread
while the window keeps painting.

``off_thread(fn)`` runs ``fn`` in a Python thread and, until it returns, lets the event
loop handle everything but user input (timers, repaints, the live run's events), so a
20,000-step log no longer freezes the window for a second or more. Clicks and keys wait
until it is done: nothing can start a second read or act on a half-loaded view. A read
started while another one waits runs at once in the calling thread (no nested waits).
The caller gets ``fn``'s result, or its exception raised again in the GUI thread.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import TypeVar

from PySide6.QtCore import QCoreApplication, QEventLoop, Qt
from PySide6.QtWidgets import QApplication

T = TypeVar("T")

_waiting = 0  # reads in progress in this (GUI) thread
POLL_S = 0.01  # how often the GUI thread looks up from the wait: the repaint latency


def off_thread(fn: Callable[[], T], name: str = "workbench-read") -> T:
    """``fn()``, computed in a helper thread while the event loop runs without user input.

    Raises whatever ``fn`` raised."""
    global _waiting
    if _waiting or QCoreApplication.instance() is None:
        return fn()
    outcome: dict[str, object] = {}

    def target() -> None:
        try:
            outcome["value"] = fn()
        except BaseException as exc:  # noqa: BLE001 - handed to the GUI thread
            outcome["error"] = exc

    thread = threading.Thread(target=target, name=name, daemon=True)
    _waiting += 1
    QApplication.setOverrideCursor(Qt.CursorShape.BusyCursor)
    try:
        thread.start()
        while thread.is_alive():
            QCoreApplication.processEvents(QEventLoop.ProcessEventsFlag.ExcludeUserInputEvents)
            thread.join(POLL_S)  # waits with the GIL released: the reader runs
    finally:
        QApplication.restoreOverrideCursor()
        _waiting -= 1
    if "error" in outcome:
        raise outcome["error"]  # type: ignore[misc]
    return outcome["value"]  # type: ignore[return-value]
