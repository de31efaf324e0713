"""The suite's hang watchdog names a hung test on the last line and ends its process."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

WATCHDOG = Path(__file__).with_name("hang_watchdog.py")


def test_watchdog_reports_and_kills_a_hung_process(tmp_path):
    dump = tmp_path / "dump.txt"
    # a "test process" stuck in a C call that holds the GIL would look the same from outside
    hung = subprocess.Popen(
        [
            sys.executable,
            "-c",
            textwrap.dedent(
                f"""
                import faulthandler, signal, threading, time
                f = open({str(dump)!r}, "w")
                faulthandler.register(signal.SIGUSR1, file=f, all_threads=True)
                def spin_forever():
                    while True:
                        time.sleep(0.01)
                threading.Thread(target=spin_forever, name="worker", daemon=True).start()
                spin_forever()
                """
            ),
        ]
    )
    report = tmp_path / "report.txt"
    try:
        with open(report, "w") as err_file:
            watchdog = subprocess.Popen(
                [sys.executable, str(WATCHDOG), str(hung.pid), str(dump)],
                stdin=subprocess.PIPE,
                stderr=err_file,
                text=True,
            )
            watchdog.stdin.write("S 60 tests/test_a.py::test_finishes\nE\n")  # ended in time
            watchdog.stdin.write("S 1 tests/test_b.py::test_hangs\n")
            watchdog.stdin.flush()  # stdin stays open: its end would mean that the suite ended
            watchdog.wait(90)
            watchdog.stdin.close()
        err = report.read_text()
        killed = hung.wait(30)  # by the watchdog
    finally:
        hung.kill()  # never left behind when something above failed
    assert killed == -9, err
    lines = err.strip().splitlines()
    assert lines[-1].startswith("HANG: tests/test_b.py::test_hangs did not finish in 1 s")
    assert "test_a" not in err
    assert "spin_forever" in err  # every thread's stack is printed
    summary = [
        line for line in lines if line.startswith("  Thread 0x") or line.startswith("  Current thread")
    ]
    assert len(summary) == 2 and all("spin_forever" in line for line in summary)


def test_watchdog_exits_quietly_when_the_suite_ends():
    watchdog = subprocess.Popen(
        [sys.executable, str(WATCHDOG), "999999999", "/nonexistent"],
        stdin=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    _, err = watchdog.communicate("S 1 tests/test_a.py::test_x\nE\n", timeout=30)
    assert watchdog.returncode == 0 and err == ""
