"""packaging/: the PyInstaller spec, desktop integration, AppStream metainfo, the bundle's smoke test."""

from __future__ import annotations

import configparser
import os
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

ROOT = Path(__file__).parents[1]
BUNDLE = ROOT / "dist" / "mtl-workbench" / "mtl-workbench"


def _desktop() -> configparser.SectionProxy:
    parser = configparser.ConfigParser(interpolation=None)
    parser.optionxform = str
    parser.read(ROOT / "resources" / "mtl-workbench.desktop")
    return parser["Desktop Entry"]


def test_metainfo_names_the_desktop_entry_and_its_icon():
    tree = ET.parse(ROOT / "packaging" / "io.github.mtl_workbench.metainfo.xml")
    root = tree.getroot()
    assert root.tag == "component" and root.get("type") == "desktop-application"
    for tag in ("id", "metadata_license", "name", "summary", "description"):
        assert root.findtext(tag) or root.find(tag) is not None, tag
    assert root.find("launchable").text == "mtl-workbench.desktop"
    assert root.find("icon").text == _desktop()["Icon"]
    assert root.find("provides/binary").text == _desktop()["Exec"].split()[0]
    version = root.find("releases/release").get("version")
    from workbench import __version__

    assert version == __version__


def test_install_desktop_puts_entry_icons_and_metainfo_under_a_prefix(tmp_path):
    env = {**os.environ, "PREFIX": str(tmp_path), "EXEC": "/opt/mtl/mtl-workbench"}
    out = subprocess.run(
        ["bash", str(ROOT / "packaging" / "install-desktop.sh")], env=env, capture_output=True, text=True
    )
    assert out.returncode == 0, out.stderr
    share = tmp_path / "share"
    entry = (share / "applications" / "mtl-workbench.desktop").read_text()
    assert "Exec=/opt/mtl/mtl-workbench\n" in entry and "Icon=mtl-workbench" in entry
    for size in (16, 24, 32, 48, 64, 128, 256):
        assert (share / "icons" / "hicolor" / f"{size}x{size}" / "apps" / "mtl-workbench.png").is_file()
    assert (share / "icons" / "hicolor" / "scalable" / "apps" / "mtl-workbench.svg").is_file()
    assert (share / "metainfo" / "io.github.mtl_workbench.metainfo.xml").is_file()


@pytest.mark.parametrize(
    ("program", "exec_line", "try_exec"),
    [
        ("/opt/mtl/mtl-workbench", "/opt/mtl/mtl-workbench", "/opt/mtl/mtl-workbench"),
        # a space: launchers ran /opt/My; & and | were sed's own ("/opt/RExec=workbenchD/...")
        ("/opt/My Apps/mtl-workbench", '"/opt/My Apps/mtl-workbench"', "/opt/My Apps/mtl-workbench"),
        ("/opt/R&D/mtl-workbench", '"/opt/R&D/mtl-workbench"', "/opt/R&D/mtl-workbench"),
        ("/opt/a|b/x", '"/opt/a|b/x"', "/opt/a|b/x"),
        ("/opt/100%/x", '"/opt/100%%/x"', "/opt/100%/x"),  # % is a field code: doubled
        # inside the quotes \ and $ are escaped (\\, \$), then the file's escape doubles each \
        ("/opt/a\\b$c/x", '"/opt/a\\\\\\\\b\\\\$c/x"', "/opt/a\\\\b$c/x"),
    ],
)
def test_install_desktop_quotes_the_program_as_the_desktop_entry_spec_says(
    tmp_path, program, exec_line, try_exec
):
    env = {**os.environ, "PREFIX": str(tmp_path), "EXEC": program}
    out = subprocess.run(
        ["bash", str(ROOT / "packaging" / "install-desktop.sh")], env=env, capture_output=True, text=True
    )
    assert out.returncode == 0, out.stderr
    lines = (tmp_path / "share" / "applications" / "mtl-workbench.desktop").read_text().splitlines()
    assert f"Exec={exec_line}" in lines and f"TryExec={try_exec}" in lines
    assert len(lines) == len((ROOT / "resources" / "mtl-workbench.desktop").read_text().splitlines())


def test_install_desktop_refuses_a_program_with_a_newline(tmp_path):
    env = {**os.environ, "PREFIX": str(tmp_path), "EXEC": "/opt/x\nName=evil"}
    out = subprocess.run(
        ["bash", str(ROOT / "packaging" / "install-desktop.sh")], env=env, capture_output=True, text=True
    )
    assert out.returncode == 2 and "control character" in out.stderr
    assert not (tmp_path / "share" / "applications" / "mtl-workbench.desktop").exists()


def test_dialog_commands_run_the_bundle_itself_when_frozen(monkeypatch):
    """The bundle's executable is the workbench command and knows no ``-m``: the baselines,
    sweep and export dialogs could not start their commands in it."""
    from workbench.gui.command_dialog import workbench_command

    assert workbench_command(["sweep", "a.toml"]) == (sys.executable, ["-m", "workbench", "sweep", "a.toml"])
    monkeypatch.setattr(sys, "frozen", True, raising=False)
    assert workbench_command(["sweep", "a.toml"]) == (sys.executable, ["sweep", "a.toml"])


def test_every_core_folder_is_a_package_the_bundle_finds():
    """collect_submodules walks packages: a folder without __init__.py (workbench/training
    was one) is skipped, and its modules, loaded by name, were missing from the bundle."""
    folders = [p for p in (ROOT / "workbench").rglob("*") if p.is_dir() and p.name != "__pycache__"]
    assert folders and [p for p in folders if not (p / "__init__.py").is_file()] == []


def test_spec_is_python_and_names_files_that_exist():
    text = (ROOT / "packaging" / "mtl-workbench.spec").read_text()
    compile(text, "mtl-workbench.spec", "exec")
    assert (ROOT / "packaging" / "launcher.py").is_file()
    assert (ROOT / "resources" / "mtl-workbench-256.png").is_file()
    assert 'collect_submodules("workbench")' in text  # the registries' modules are found


def _smoke(command: list[str]) -> subprocess.CompletedProcess:
    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen"}
    return subprocess.run([*command, "--smoke-test"], env=env, capture_output=True, text=True, timeout=300)


def test_smoke_test_shows_the_window_loads_pytorch_and_quits():
    out = _smoke([sys.executable, "-m", "workbench"])
    assert out.returncode == 0, out.stderr[-2000:]
    assert "smoke test: window shown after" in out.stdout and "PyTorch loaded after" in out.stdout
    assert "training process ready after" in out.stdout  # the spawned trainer starts too


@pytest.mark.skipif(not BUNDLE.is_file(), reason="no bundle: build it with `make package`")
def test_the_bundle_starts_and_quits_cleanly():
    out = _smoke([str(BUNDLE)])
    assert out.returncode == 0, out.stderr[-2000:]
    assert "smoke test: window shown after" in out.stdout
    assert "training process ready after" in out.stdout  # multiprocessing works frozen
    version = subprocess.run([str(BUNDLE), "--version"], capture_output=True, text=True, timeout=120)
    assert version.returncode == 0 and version.stdout.startswith("workbench ")


def test_sigterm_closes_the_app_cleanly():
    """``kill`` (or a logout) ended the app at once: the training process was left to the
    resource tracker ("16 leaked semaphore objects"). It now closes the window the normal
    way, without asking, and exits 0."""
    import signal
    import time

    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen"}
    app = subprocess.Popen(
        [sys.executable, "-m", "workbench"],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        deadline = time.monotonic() + 240
        seen = ""
        while "window shown" not in seen and time.monotonic() < deadline:  # logged on stderr
            line = app.stderr.readline()
            if not line:
                break
            seen += line
        assert "window shown" in seen, seen[-2000:]
        time.sleep(2)  # PyTorch loading and the training process starting, as a user would see
        app.send_signal(signal.SIGTERM)
        _out, err = app.communicate(timeout=120)
    finally:
        if app.poll() is None:
            app.kill()
    assert app.returncode == 0, err[-2000:]
    assert "leaked semaphore" not in err and "Traceback" not in err, err[-2000:]
