"""Python's cyclic garbage collector, run in the GUI thread only.

CPython collects reference cycles in whichever thread happens to allocate when a
generation's threshold is crossed: in this app, often the training thread or a setup job.
A cycle that holds a Qt object (a widget closed earlier, a finished QThread, a signal
connection's closure) is then destroyed in that thread: Qt objects must be deleted in the
thread they live in, and a QThread's destructor waits for the thread to finish while the
collecting thread holds the GIL. Both were seen in this project's test suite: a segmentation
fault inside "Garbage-collecting" in the trainer thread, and a hang with every thread
waiting on a lock that pytest-timeout could not break. PyQt and PySide users meet the same
(pyqtgraph's examples and the PySide FAQ advise the same cure): switch automatic collection
off and collect from a timer in the GUI thread, with the same generation thresholds.
"""

from __future__ import annotations

import gc

from PySide6.QtCore import QObject, QTimer

INTERVAL_MS = 500


class GuiThreadCollector(QObject):
    """While installed, ``gc`` is disabled and collections run on a timer in the GUI thread,
    by generation, whenever the counts pass the thresholds automatic collection would use."""

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.thresholds = gc.get_threshold()
        self.collections = 0
        self.timer = QTimer(self)
        self.timer.timeout.connect(self.check)
        gc.disable()
        self.timer.start(INTERVAL_MS)

    def check(self) -> None:
        counts = gc.get_count()
        for generation in (2, 1, 0):
            if counts[generation] > self.thresholds[generation]:
                gc.collect(generation)
                self.collections += 1
                return

    def uninstall(self) -> None:
        """Stop the timer, collect everything here, and give collection back to Python."""
        self.timer.stop()
        gc.collect()
        gc.enable()


_INSTALLED: GuiThreadCollector | None = None


def install(app: QObject) -> GuiThreadCollector:
    """Install the collector on ``app`` (the QApplication) once; returns it."""
    global _INSTALLED
    if _INSTALLED is None:
        _INSTALLED = GuiThreadCollector(app)
    return _INSTALLED


def uninstall() -> None:
    """Undo ``install`` (the test suite does so between GUI tests and the others)."""
    global _INSTALLED
    if _INSTALLED is not None:
        _INSTALLED.uninstall()
        _INSTALLED.deleteLater()
        _INSTALLED = None
