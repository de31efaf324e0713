"""Application resources: icon, .desktop entry and stylesheet, through the app's own lookup.

``workbench.gui.app_resources`` reads them with ``importlib.resources`` from the package
``workbench_resources`` (the top-level ``resources/`` folder); the wheel test checks that
an installed, non-editable wheel carries them and that the same lookup finds them there.
"""

from __future__ import annotations

import configparser
import os
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest
import tomllib

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

REPO = Path(__file__).resolve().parents[1]


def test_icon_desktop_and_stylesheet_are_found_by_the_app_lookup(qapp):
    from PySide6.QtGui import QImage

    from workbench.gui import app_resources as ar

    svg = ar.icon_svg().read_bytes()
    assert svg.lstrip().startswith(b"<?xml") and b"<svg" in svg
    for size in ar.ICON_SIZES:
        image = QImage.fromData(ar.icon_png(size).read_bytes(), "PNG")
        assert (image.width(), image.height()) == (size, size)
        # the PNG is the SVG rendered at that size (re-render and compare a few pixels)
        fresh = ar.render_icon(svg, size)
        for x, y in ((size // 2, size // 2), (size // 4, size // 3), (1, 1)):
            assert abs(image.pixelColor(x, y).red() - fresh.pixelColor(x, y).red()) <= 2
    icon = ar.app_icon()
    assert sorted(s.width() for s in icon.availableSizes()) == list(ar.ICON_SIZES)
    sheet = ar.stylesheet()
    assert "QLabel#banner" in sheet and "QLabel#runsMessage" in sheet
    assert "QSpinBox" not in sheet  # input widgets keep their native style (arrows)


def test_desktop_entry_is_valid_and_names_the_command():
    from workbench.gui import app_resources as ar

    parser = configparser.ConfigParser(interpolation=None)
    parser.optionxform = str  # keys are case-sensitive
    parser.read_string(ar.desktop_entry())
    entry = parser["Desktop Entry"]
    assert entry["Type"] == "Application" and entry["Name"] == "MTL Workbench"
    scripts = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]["scripts"]
    assert entry["Exec"] in scripts  # the installed command
    assert entry["Icon"] == ar.APP_ID and entry["Terminal"] == "false"
    assert entry["Categories"].endswith(";")


def test_the_app_gets_its_icon_and_stylesheet(qapp):
    from workbench.gui.app import configure_app

    previous = qapp.styleSheet()
    try:
        configure_app(qapp)
        assert not qapp.windowIcon().isNull()
        assert "QLabel#banner" in qapp.styleSheet()
        assert qapp.desktopFileName() == "mtl-workbench"
    finally:
        qapp.setStyleSheet(previous)


def test_every_package_is_listed_in_pyproject():
    """pyproject lists its packages (to ship resources/ as a package): none may be missing."""
    config = tomllib.loads((REPO / "pyproject.toml").read_text())["tool"]["setuptools"]
    listed = set(config["packages"])
    found = {
        ".".join(p.relative_to(REPO).parts)
        for p in (REPO / "workbench").rglob("*")
        if p.is_dir() and "__pycache__" not in p.parts and any(p.glob("*.py"))
    } | {"workbench"}
    missing = sorted(found - listed)
    assert not missing, f"add {missing} to [tool.setuptools] packages in pyproject.toml"
    assert config["package-dir"]["workbench_resources"] == "resources"


@pytest.mark.slow
def test_an_installed_wheel_carries_the_resources(tmp_path):
    """Build a wheel (no build isolation: offline), install it into a folder, look them up there."""
    build = subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", "--no-build-isolation", str(REPO), "-w",
         str(tmp_path / "wheel")],
        capture_output=True, text=True, cwd=tmp_path, timeout=300,
    )  # fmt: skip
    assert build.returncode == 0, build.stderr[-2000:]
    wheel = next((tmp_path / "wheel").glob("*.whl"))
    names = zipfile.ZipFile(wheel).namelist()
    for name in ("workbench.qss", "mtl-workbench.desktop", "mtl-workbench.svg", "mtl-workbench-256.png"):
        assert f"workbench_resources/{name}" in names
    target = tmp_path / "site"
    install = subprocess.run(
        [sys.executable, "-m", "pip", "install", "-q", "--no-deps", "--target", str(target), str(wheel)],
        capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert install.returncode == 0, install.stderr[-2000:]
    code = (
        "import sys; sys.path = [p for p in sys.path if 'site-packages' in p or 'lib/python' in p];"
        f"sys.path.insert(0, {str(target)!r});"
        "import workbench_resources, workbench.gui.app_resources as ar;"
        f"assert workbench_resources.__file__.startswith({str(target)!r}), workbench_resources.__file__;"
        "print(len(ar.stylesheet()), len(ar.desktop_entry()), len(ar.icon_png(16).read_bytes()))"
    )
    run = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, cwd=tmp_path, timeout=120
    )
    assert run.returncode == 0, run.stderr[-2000:]
    sizes = [int(v) for v in run.stdout.split()]
    assert all(v > 100 for v in sizes)


def test_stylesheet_text_colours_follow_the_palette_unless_they_bring_their_background():
    """Fixed greys (#303030 on a dark theme's #2b2b2b) made the comparison's title and the
    runs legend invisible: a rule that fixes a text colour fixes its background too."""
    import re

    qss = (Path(__file__).parents[1] / "resources" / "workbench.qss").read_text()
    qss = re.sub(r"/\*.*?\*/", "", qss, flags=re.S)
    rules = re.findall(r"([^{}]+)\{([^}]*)\}", qss)
    assert rules
    for selector, body in rules:
        colour = re.search(r"(?<![-\w])color:\s*([^;]+)", body)
        if colour and not colour.group(1).strip().startswith("palette("):
            # the banner's states: its base rule sets the background
            own = "background" in body or selector.strip().startswith("QLabel#banner")
            assert own, f"{selector.strip()}: color {colour.group(1).strip()} without a background"
