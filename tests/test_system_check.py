"""The system-library check behind `make run` (issue 6, item 17)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from workbench import system_check


def test_missing_library_names_its_package_and_the_command(monkeypatch):
    monkeypatch.setattr(
        system_check, "XCB_LIBRARIES", {"libxcb.so.1": "libxcb1", "libnot-there.so.7": "libnot-there7"}
    )
    monkeypatch.setenv("QT_QPA_PLATFORM", "xcb")
    monkeypatch.setenv("DISPLAY", ":0")
    text = system_check.problem()
    assert "libnot-there7" in text and "libxcb1" not in text.split(":")[1]
    assert "apt-get install -y libnot-there7" in text


def test_offscreen_needs_nothing(monkeypatch):
    monkeypatch.setattr(system_check, "XCB_LIBRARIES", {"libnot-there.so.7": "libnot-there7"})
    monkeypatch.setenv("QT_QPA_PLATFORM", "offscreen")
    assert system_check.problem() == ""


def test_runs_with_the_system_python_and_no_project_imports():
    # `make run` calls it before the virtual environment exists.
    source = Path(system_check.__file__).read_text()
    assert "from workbench" not in source and "import workbench" not in source
    done = subprocess.run(
        [sys.executable, "-I", system_check.__file__],
        capture_output=True,
        text=True,
        env={"QT_QPA_PLATFORM": "offscreen"},
    )
    assert done.returncode == 0 and done.stderr == ""


def test_the_app_entry_point_prints_one_line_instead_of_a_qt_abort(monkeypatch, capsys):
    from workbench import cli

    monkeypatch.setattr(
        system_check, "problem", lambda: "the desktop app needs system libraries that are missing: x"
    )
    assert cli.main([]) == 1
    err = capsys.readouterr().err
    assert err == "error: the desktop app needs system libraries that are missing: x\n"
