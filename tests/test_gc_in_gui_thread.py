"""Cycles holding Qt objects are collected in the GUI thread, never in a worker thread."""

import gc
import threading
import weakref

from PySide6.QtCore import QObject


class _Holder:
    """A reference cycle that owns a QObject (what closures of signal connections make)."""

    def __init__(self, where: list[str]) -> None:
        self.obj = QObject()
        self.me = self
        weakref.finalize(self, lambda: where.append(threading.current_thread().name))


def test_cycles_are_collected_by_the_gui_thread_timer(qtbot, qapp):
    from workbench.gui import gc_in_gui_thread

    collector = gc_in_gui_thread.install(qapp)  # (also installed by the suite for GUI tests)
    assert not gc.isenabled()
    where: list[str] = []
    _Holder(where)

    def allocate() -> None:  # would cross gen-0's threshold many times over with gc enabled
        junk = []
        for i in range(200_000):
            junk.append([i])
            junk[-1].append(junk[-1])  # cycles, to count as garbage

    worker = threading.Thread(target=allocate, name="worker")
    worker.start()
    worker.join()
    assert where == []  # nothing was collected in the worker
    qtbot.waitUntil(lambda: where == ["MainThread"], timeout=10_000)
    assert collector.collections > 0


def test_uninstall_gives_collection_back_to_python(qapp):
    from workbench.gui import gc_in_gui_thread

    gc_in_gui_thread.install(qapp)
    gc_in_gui_thread.uninstall()
    assert gc.isenabled()
