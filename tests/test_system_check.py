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


def test_a_display_no_x_server_answers_is_one_line_not_a_qt_abort(monkeypatch):
    """DISPLAY=:77 with no server: Qt aborted (exit 134) blaming libxcb-cursor0, which was
    installed. A display that answers (here a TCP listener standing in for an X server's
    port 6000 + N) passes; one that refuses is said, with what to do."""
    import socket

    with socket.socket() as server:
        server.bind(("127.0.0.1", 0))
        server.listen(1)
        port = server.getsockname()[1]
        assert system_check.x_server_problem(f"127.0.0.1:{port - 6000}") == ""
    closed = system_check.x_server_problem(f"127.0.0.1:{port - 6000}.0")
    assert closed.startswith(f"no display: no X server answers at DISPLAY=127.0.0.1:{port - 6000}.0 (")
    assert closed.endswith("start one, or set DISPLAY to a running one (or run it under xvfb-run)")
    number = next(n for n in range(90, 200) if not Path(f"/tmp/.X11-unix/X{n}").exists())
    assert system_check.x_server_problem(f":{number}") == (
        f"no display: no X server answers at DISPLAY=:{number} (nothing listens on /tmp/.X11-unix/X{number}); "
        "start one, or set DISPLAY to a running one (or run it under xvfb-run)"
    )
    # no colon: no display name Xlib reads (Qt aborted on DISPLAY=garbage)
    assert system_check.x_server_problem("garbage") == (
        "no display: DISPLAY=garbage is not a display name ([host]:N[.S], e.g. :0)"
    )
    assert system_check.x_server_problem("decnet::0") == ""  # a form it does not know: left to Qt
    monkeypatch.setattr(system_check, "XCB_LIBRARIES", {})
    monkeypatch.setattr(system_check, "needs_x11", lambda: True)
    monkeypatch.delenv("WAYLAND_DISPLAY", raising=False)
    monkeypatch.setenv("DISPLAY", f":{number}")
    assert system_check.problem().startswith(f"no display: no X server answers at DISPLAY=:{number} ")
