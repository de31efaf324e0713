"""A torchrun worker stops when its launcher is killed with SIGKILL (it trained on as an
orphan): the worker asks Linux for SIGTERM at its parent's death."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

import pytest

pytestmark = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="prctl is Linux's")

CHILD = """
import signal, sys, time
from pathlib import Path
from workbench.training.parent_death import stop_with_parent
marker = Path(sys.argv[1])
def on_term(signum, frame):
    marker.write_text("stopped")
    sys.exit(0)
signal.signal(signal.SIGTERM, on_term)
assert stop_with_parent()
marker.with_suffix(".ready").write_text("ready")
time.sleep(60)
marker.write_text("orphan: slept on")
"""

PARENT = """
import subprocess, sys, time
subprocess.Popen([sys.executable, "-c", sys.argv[1], sys.argv[2]])
time.sleep(60)
"""


def test_a_worker_gets_sigterm_when_its_launcher_is_killed(tmp_path):
    marker = tmp_path / "child.txt"
    parent = subprocess.Popen([sys.executable, "-c", PARENT, CHILD, str(marker)])
    try:
        deadline = time.monotonic() + 60
        while not marker.with_suffix(".ready").exists():
            assert time.monotonic() < deadline, "the child never started"
            time.sleep(0.05)
        os.kill(parent.pid, signal.SIGKILL)  # the launcher goes without a word to its children
        parent.wait(timeout=10)
        deadline = time.monotonic() + 20
        while not marker.exists():
            assert time.monotonic() < deadline, "the orphan did not get SIGTERM"
            time.sleep(0.05)
        assert marker.read_text() == "stopped"
    finally:
        if parent.poll() is None:
            parent.kill()
