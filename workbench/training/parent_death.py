"""A torchrun worker stops when its launcher dies.

torchrun's agent forwards SIGINT and SIGTERM to its workers, but killed with SIGKILL (an
out-of-memory kill, ``kill -9``, a job scheduler's hard stop) it can forward nothing: the
workers trained on as orphans, holding their GPUs, their run folder's lock and the port.
Linux can send a signal to a process when its parent dies (``prctl(PR_SET_PDEATHSIG)``,
see prctl(2)); a worker asks for SIGTERM, which the CLI takes as Stop: it ends after the
current step with a checkpoint, as after Ctrl-C.
"""

from __future__ import annotations

import ctypes
import os
import signal
import sys

PR_SET_PDEATHSIG = 1  # <linux/prctl.h>


def stop_with_parent(sig: int = signal.SIGTERM) -> bool:
    """Ask for ``sig`` when this process's parent dies. True when the request took hold
    (Linux); False elsewhere, or where libc has no ``prctl``. A parent that died before
    the request (its child then belongs to init or a subreaper) sends the signal at once."""
    if not sys.platform.startswith("linux"):
        return False
    parent = os.getppid()
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        if libc.prctl(PR_SET_PDEATHSIG, int(sig), 0, 0, 0) != 0:
            return False
    except (OSError, AttributeError):
        return False
    if os.getppid() != parent:  # the launcher was gone before the request
        os.kill(os.getpid(), sig)
    return True
