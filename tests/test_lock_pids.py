"""A lock's PID that no process of this host can be (true, 1.5, 10**20, a zombie) does not
keep a run "running": a 10**20 PID gave "OverflowError: Python int too large" for resume and
eval, and blamed summary.json in the runs list; a zombie's lock refused the resume."""

from __future__ import annotations

import json
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from workbench.training.run_lock import LOCK_NAME, lock_is_live, read_lock


def _lock(tmp_path, pid):
    (tmp_path / LOCK_NAME).write_text(
        json.dumps({"pid": pid, "host": socket.gethostname(), "started": time.time()})
    )
    return read_lock(tmp_path)


@pytest.mark.parametrize("pid", [10**20, True, 1.5, -3, 0, "12"])
def test_a_pid_no_process_can_have_makes_no_live_lock(tmp_path, pid):
    assert _lock(tmp_path, pid) is None


def test_a_zombie_holds_no_lock(tmp_path):
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    for _ in range(200):  # ended, not yet waited for: a zombie
        state = Path(f"/proc/{child.pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
        if state == "Z":
            break
        time.sleep(0.02)
    try:
        assert state == "Z"
        info = _lock(tmp_path, child.pid)
        assert info is not None and not lock_is_live(info)
    finally:
        child.wait()


def test_a_live_process_holds_its_lock(tmp_path):
    import os

    info = _lock(tmp_path, os.getpid())
    assert info is not None and lock_is_live(info)
