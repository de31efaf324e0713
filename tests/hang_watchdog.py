"""A watchdog process for the test suite: reports a test that hangs, and ends the run.

pytest-timeout's thread method cannot fire when the hang holds Python's GIL (a deadlock
inside a C extension), and pytest's faulthandler_timeout only dumps stacks and lets the
suite stall until CI kills it with no name on the output. This process needs nothing from
the test process: ``conftest.py`` starts it and writes one line per test to its stdin
(``S <seconds> <nodeid>`` at the start, ``E`` at the end). If a test outlives its seconds, the
watchdog makes the test process dump every thread's Python stack (faulthandler on SIGUSR1,
to a file), adds the native stacks when py-spy is installed and allowed, prints it all with
a one-line summary per thread and, last, the test's name, then kills the test process.
"""

from __future__ import annotations

import os
import select
import shutil
import signal
import subprocess
import sys
import time


def _summary(dump: str) -> list[str]:
    """One line per thread of a faulthandler dump: its name line and its three newest frames."""
    lines, current = [], None
    for raw in dump.splitlines():
        line = raw.strip()
        if line.startswith(("Thread 0x", "Current thread 0x")):
            current = [line.removesuffix(" (most recent call first):")]
            lines.append(current)
        elif current is not None and line.startswith("File ") and len(current) < 4:
            current.append(line.replace("File ", "").split("/")[-1])
    return ["  " + " <- ".join(parts) for parts in lines]


def report(pid: int, nodeid: str, seconds: float, dump_path: str) -> None:
    out = sys.stderr
    print(f"\n==== hang watchdog: {nodeid} still running after {seconds:.0f} s ====", file=out, flush=True)
    try:
        os.kill(pid, signal.SIGUSR1)
    except OSError:
        return
    time.sleep(3)
    dump = ""
    try:
        with open(dump_path, encoding="utf-8", errors="replace") as f:
            dump = f.read()
    except OSError:
        pass
    print(dump, file=out, flush=True)
    spy = shutil.which("py-spy") or os.path.join(os.path.dirname(sys.executable), "py-spy")
    if os.path.exists(spy):
        try:
            native = subprocess.run(
                [spy, "dump", "--native", "--pid", str(pid)], capture_output=True, text=True, timeout=60
            )
            print(native.stdout + native.stderr, file=out, flush=True)
        except (OSError, subprocess.SubprocessError) as exc:
            print(f"py-spy failed: {exc}", file=out, flush=True)
    print("threads (newest frame first):", file=out)
    print("\n".join(_summary(dump)), file=out)
    print(
        f"HANG: {nodeid} did not finish in {seconds:.0f} s; the test process is killed.", file=out, flush=True
    )
    os.kill(pid, signal.SIGKILL)


def main() -> None:
    pid, dump_path = int(sys.argv[1]), sys.argv[2]
    deadline, nodeid, seconds, buffer = None, "", 0.0, b""
    fd = sys.stdin.fileno()
    while True:
        wait = None if deadline is None else max(0.0, deadline - time.monotonic())
        ready, _, _ = select.select([fd], [], [], wait)
        if not ready:
            report(pid, nodeid, seconds, dump_path)
            return
        chunk = os.read(fd, 4096)
        if not chunk:  # the test process ended
            return
        buffer += chunk
        while b"\n" in buffer:
            line, buffer = buffer.split(b"\n", 1)
            text = line.decode("utf-8", "replace")
            if text.startswith("S "):
                _, secs, nodeid = text.split(" ", 2)
                seconds = float(secs)
                deadline = time.monotonic() + seconds
            elif text == "E":
                deadline = None


if __name__ == "__main__":
    main()
