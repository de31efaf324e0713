"""A stop asked for while a data set is read: honoured between two images, not after all.

Reading a large set (3,000 files: 16 s, minutes on a loaded machine or a cold disk) came
before a run's first step, and a Stop in the app waited for all of it. The reader asks
``check_stop()`` once per image; a caller that can be stopped wraps the read in
``stop_reading_when(flag)``. Without that wrapper ``check_stop()`` does nothing, so
``workbench data check`` and the tests read as before.

The flag is held in a context variable: a run reading in one thread never sees another
thread's stop.
"""

from __future__ import annotations

import contextlib
import contextvars
from collections.abc import Callable, Iterator

_should_stop: contextvars.ContextVar[Callable[[], bool] | None] = contextvars.ContextVar(
    "workbench_read_stop", default=None
)


class ReadStopped(Exception):
    """The read was stopped on request before it ended; nothing it read is used."""


@contextlib.contextmanager
def stop_reading_when(should_stop: Callable[[], bool]) -> Iterator[None]:
    """Within the block, ``check_stop()`` raises ``ReadStopped`` once ``should_stop()`` is true."""
    token = _should_stop.set(should_stop)
    try:
        yield
    finally:
        _should_stop.reset(token)


def check_stop() -> None:
    """Raise ``ReadStopped`` if the read in progress was asked to stop (see the module)."""
    should_stop = _should_stop.get()
    if should_stop is not None and should_stop():
        raise ReadStopped("stopped while reading the data, before the run's first step")
