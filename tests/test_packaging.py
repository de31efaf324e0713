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
    # one main category (Science): two made menus list the app twice
    assert [c.text for c in root.findall("categories/category")] == _desktop()["Categories"].strip(";").split(
        ";"
    )
    assert _desktop()["Categories"].split(";")[0] == "Science" and "Education" not in _desktop()["Categories"]
    version = root.find("releases/release").get("version")
    from workbench import __version__

    assert version == __version__


def test_the_entry_matches_the_windows_class_of_pip_app_and_bundle():
    """X11 matches a window to its entry by WM_CLASS: Qt sets it to (argv[0]'s name, the
    application name), "workbench" or "mtl-workbench", and "MTL Workbench" for both; the
    entry named "workbench", which the bundle's window never has."""
    from workbench.gui.main_window import APP_NAME

    assert _desktop()["StartupWMClass"] == APP_NAME


def _program(root: Path, relative: str) -> Path:
    """An executable file at root/relative (what EXEC names must exist)."""
    path = root / relative
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("#!/bin/sh\n")
    path.chmod(0o755)
    return path


def _install(tmp_path: Path, program: str | None, path: str | None = None, cwd: Path | None = None):
    env = {**os.environ, "PREFIX": str(tmp_path / "prefix")}
    env.pop("EXEC", None)
    if program is not None:
        env["EXEC"] = program
    if path is not None:
        env["PATH"] = path
    return subprocess.run(
        ["bash", str(ROOT / "packaging" / "install-desktop.sh")],
        env=env,
        capture_output=True,
        text=True,
        cwd=cwd,
    )


def _entry_lines(tmp_path: Path) -> list[str]:
    return (tmp_path / "prefix" / "share" / "applications" / "mtl-workbench.desktop").read_text().splitlines()


def test_install_desktop_puts_entry_icons_and_metainfo_under_a_prefix(tmp_path):
    program = _program(tmp_path, "opt/mtl/mtl-workbench")
    out = _install(tmp_path, str(program))
    assert out.returncode == 0, out.stderr
    share = tmp_path / "prefix" / "share"
    entry = (share / "applications" / "mtl-workbench.desktop").read_text()
    assert f"Exec={program}\n" in entry and "Icon=mtl-workbench" in entry
    for size in (16, 24, 32, 48, 64, 128, 256):
        assert (share / "icons" / "hicolor" / f"{size}x{size}" / "apps" / "mtl-workbench.png").is_file()
    assert (share / "icons" / "hicolor" / "scalable" / "apps" / "mtl-workbench.svg").is_file()
    # the bundle is not on PATH: the metainfo provides no binary of that name
    meta = ET.parse(share / "metainfo" / "io.github.mtl_workbench.metainfo.xml").getroot()
    assert meta.find("provides") is None and meta.find("launchable").text == "mtl-workbench.desktop"


@pytest.mark.parametrize(
    ("relative", "exec_line", "try_exec"),
    [
        ("opt/mtl/mtl-workbench", "{d}/opt/mtl/mtl-workbench", "{d}/opt/mtl/mtl-workbench"),
        # a space: launchers ran /opt/My; & and | were sed's own ("/opt/RExec=workbenchD/...")
        ("opt/My Apps/mtl-workbench", '"{d}/opt/My Apps/mtl-workbench"', "{d}/opt/My Apps/mtl-workbench"),
        ("opt/R&D/mtl-workbench", '"{d}/opt/R&D/mtl-workbench"', "{d}/opt/R&D/mtl-workbench"),
        ("opt/a|b/x", '"{d}/opt/a|b/x"', "{d}/opt/a|b/x"),
        # inside the quotes \ and $ are escaped (\\, \$), then the file's escape doubles each \
        ("opt/a\\b$c/x", '"{d}/opt/a\\\\\\\\b\\\\$c/x"', "{d}/opt/a\\\\b$c/x"),
    ],
)
def test_install_desktop_quotes_the_program_as_the_desktop_entry_spec_says(
    tmp_path, relative, exec_line, try_exec
):
    program = _program(tmp_path, relative)
    out = _install(tmp_path, str(program))
    assert out.returncode == 0, out.stderr
    lines = _entry_lines(tmp_path)
    assert (
        f"Exec={exec_line.format(d=tmp_path)}" in lines and f"TryExec={try_exec.format(d=tmp_path)}" in lines
    )
    assert len(lines) == len((ROOT / "resources" / "mtl-workbench.desktop").read_text().splitlines())


def test_install_desktop_writes_the_programs_absolute_path(tmp_path):
    """A relative EXEC (from where the script was started), a bare name on PATH, and no
    EXEC (workbench on PATH): the entry holds the absolute path, which a desktop session
    finds whatever its PATH (`Exec=workbench` from a venv was hidden without a word)."""
    program = _program(tmp_path, "dist/mtl-workbench/mtl-workbench")
    out = _install(tmp_path, "dist/mtl-workbench/mtl-workbench", cwd=tmp_path)
    assert out.returncode == 0, out.stderr
    assert f"Exec={program}" in _entry_lines(tmp_path)
    assert f"(the entry runs {program})" in out.stdout
    bin_dir = tmp_path / "bin"
    on_path = _program(tmp_path, "bin/workbench")
    for given in ("workbench", None):
        out = _install(tmp_path, given, path=f"{bin_dir}:{os.environ['PATH']}")
        assert out.returncode == 0, out.stderr
        assert f"Exec={on_path}" in _entry_lines(tmp_path)
        meta = ET.parse(tmp_path / "prefix" / "share" / "metainfo" / "io.github.mtl_workbench.metainfo.xml")
        assert meta.getroot().find("provides/binary").text == "workbench"  # it is on PATH


@pytest.mark.parametrize(
    ("program", "said"),
    [
        ("/opt/x\nName=evil", "control character"),
        ("{d}/nothing/here", "is not a program file (not there, or not executable)"),
        ("not-on-path-xyz", "EXEC=not-on-path-xyz is not on PATH; give its absolute path"),
        ("{d}/100%/x", "holds %, which desktop launchers refuse"),  # GLib refuses it even as %%
    ],
)
def test_install_desktop_refuses_a_program_launchers_cannot_run(tmp_path, program, said):
    _program(tmp_path, "100%/x")
    out = _install(tmp_path, program.format(d=tmp_path))
    assert out.returncode == 2 and said in out.stderr and out.stderr.count("\n") == 1
    assert not (tmp_path / "prefix" / "share" / "applications" / "mtl-workbench.desktop").exists()


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
