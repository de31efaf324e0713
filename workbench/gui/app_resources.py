"""The application's resources: icon, Linux .desktop entry and stylesheet.

The files live in the top-level ``resources/`` folder of the project, which is installed
as the package ``workbench_resources`` (``[tool.setuptools]`` in pyproject.toml), and are
read here through ``importlib.resources`` only: the same lookup works in a checkout, an
editable install and an installed wheel. A missing file is logged, never fatal: the app
then runs with Qt's default icon and look.

``python -m workbench.gui.app_resources --render-icons`` re-renders the PNG icons from the
SVG with Qt (run it after editing the SVG).
"""

from __future__ import annotations

import argparse
import logging
from importlib import resources
from importlib.abc import Traversable
from pathlib import Path

from PySide6.QtCore import QByteArray, QSize
from PySide6.QtGui import QGuiApplication, QIcon, QImage, QPainter, QPixmap

log = logging.getLogger(__name__)

PACKAGE = "workbench_resources"
APP_ID = "mtl-workbench"  # icon name, .desktop file name and Wayland app id
ICON_SIZES = (16, 24, 32, 48, 64, 128, 256)
STYLESHEET = "workbench.qss"
DESKTOP_FILE = f"{APP_ID}.desktop"


def resource(name: str) -> Traversable:
    """A resource file by its path inside ``resources/`` (e.g. "mtl-workbench.svg")."""
    node = resources.files(PACKAGE)
    for part in name.split("/"):
        node = node.joinpath(part)
    return node


def icon_svg() -> Traversable:
    return resource(f"{APP_ID}.svg")


def icon_png(size: int) -> Traversable:
    return resource(f"{APP_ID}-{size}.png")


def stylesheet() -> str:
    """The Qt stylesheet of the whole application ("" when it cannot be read)."""
    try:
        return resource(STYLESHEET).read_text(encoding="utf-8")
    except (OSError, ModuleNotFoundError) as exc:
        log.warning("stylesheet %s not found: %s", STYLESHEET, exc)
        return ""


def desktop_entry() -> str:
    """The freedesktop .desktop entry (for packagers: install it as ``mtl-workbench.desktop``)."""
    return resource(DESKTOP_FILE).read_text(encoding="utf-8")


def app_icon() -> QIcon:
    """The application icon at every rendered size (an empty icon when none can be read)."""
    icon = QIcon()
    for size in ICON_SIZES:
        try:
            data = icon_png(size).read_bytes()
        except (OSError, ModuleNotFoundError) as exc:
            log.warning("icon %s-%d.png not found: %s", APP_ID, size, exc)
            continue
        pixmap = QPixmap()
        if pixmap.loadFromData(QByteArray(data), "PNG"):
            icon.addPixmap(pixmap)
    return icon


def apply_app_resources(app: QGuiApplication) -> None:
    """Give ``app`` its icon, stylesheet and desktop id (called by ``app.configure_app``)."""
    app.setDesktopFileName(APP_ID)
    icon = app_icon()
    if not icon.isNull():
        app.setWindowIcon(icon)
    sheet = stylesheet()
    if sheet and hasattr(app, "setStyleSheet"):
        app.setStyleSheet(sheet)


def render_icon(svg: bytes, size: int) -> QImage:
    """The SVG drawn at ``size`` x ``size`` px on a transparent ground."""
    from PySide6.QtSvg import QSvgRenderer

    renderer = QSvgRenderer(QByteArray(svg))
    if not renderer.isValid():
        raise ValueError("the icon SVG cannot be read")
    image = QImage(QSize(size, size), QImage.Format.Format_ARGB32_Premultiplied)
    image.fill(0)
    painter = QPainter(image)
    painter.setRenderHint(QPainter.RenderHint.Antialiasing)
    painter.setRenderHint(QPainter.RenderHint.SmoothPixmapTransform)
    renderer.render(painter)
    painter.end()
    return image


def render_icon_pngs(out_dir: str | Path, svg_path: str | Path | None = None) -> list[Path]:
    """Write ``mtl-workbench-<size>.png`` for every size of ``ICON_SIZES`` from the SVG."""
    svg = Path(svg_path).read_bytes() if svg_path else icon_svg().read_bytes()
    out = Path(out_dir)
    written = []
    for size in ICON_SIZES:
        path = out / f"{APP_ID}-{size}.png"
        if not render_icon(svg, size).save(str(path), "PNG"):
            raise OSError(f"cannot write {path}")
        written.append(path)
    return written


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--render-icons", action="store_true", help="render the PNG icons from the SVG")
    parser.add_argument("--out", default=str(Path(__file__).resolve().parents[2] / "resources"))
    args = parser.parse_args(argv)
    if args.render_icons:
        QGuiApplication.instance() or QGuiApplication([])
        svg = Path(args.out) / f"{APP_ID}.svg"
        for path in render_icon_pngs(args.out, svg if svg.exists() else None):
            print(path)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
