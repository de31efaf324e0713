"""Are the system libraries the desktop app needs present? Standard library only.

Qt's X11 platform plugin (xcb) loads a dozen system libraries that a fresh Debian or
Ubuntu does not have (``libxcb-cursor0`` first among them); without them Qt aborts with
"Could not load the Qt platform plugin". This check names the missing Debian packages and
prints the one command that installs them. It runs before the virtual environment exists
(``make run`` calls it with the system Python before the 2.5-minute install) and again when
the app starts on X11, so the user reads a line, not a Qt abort.

    python3 workbench/system_check.py        # exit 0: ready; 1: prints what to install
"""

from __future__ import annotations

import ctypes
import os
import shutil
import sys

# soname the xcb platform plugin (or Qt GUI) links -> the Debian/Ubuntu package with it
XCB_LIBRARIES = {
    "libxcb-cursor.so.0": "libxcb-cursor0",
    "libxcb-icccm.so.4": "libxcb-icccm4",
    "libxcb-keysyms.so.1": "libxcb-keysyms1",
    "libxcb-image.so.0": "libxcb-image0",
    "libxcb-render-util.so.0": "libxcb-render-util0",
    "libxcb-randr.so.0": "libxcb-randr0",
    "libxcb-shape.so.0": "libxcb-shape0",
    "libxcb-xfixes.so.0": "libxcb-xfixes0",
    "libxcb-xkb.so.1": "libxcb-xkb1",
    "libxcb-sync.so.1": "libxcb-sync1",
    "libxcb-shm.so.0": "libxcb-shm0",
    "libxcb-render.so.0": "libxcb-render0",
    "libxcb-util.so.1": "libxcb-util1",
    "libxcb.so.1": "libxcb1",
    "libX11-xcb.so.1": "libx11-xcb1",
    "libxkbcommon.so.0": "libxkbcommon0",
    "libxkbcommon-x11.so.0": "libxkbcommon-x11-0",
    "libfontconfig.so.1": "libfontconfig1",
    "libfreetype.so.6": "libfreetype6",
    "libdbus-1.so.3": "libdbus-1-3",
    "libglib-2.0.so.0": "libglib2.0-0",
    "libEGL.so.1": "libegl1",
    "libGL.so.1": "libgl1",
}


def missing_packages(libraries: dict[str, str] | None = None) -> list[str]:
    """Debian packages whose library the dynamic loader cannot find, in table order."""
    missing = []
    for soname, package in (libraries or XCB_LIBRARIES).items():
        try:
            ctypes.CDLL(soname)
        except OSError:
            if package not in missing:
                missing.append(package)
    return missing


def install_command(packages: list[str]) -> str:
    sudo = "" if hasattr(os, "geteuid") and os.geteuid() == 0 else "sudo "
    return f"{sudo}apt-get install -y {' '.join(packages)}"


def needs_x11() -> bool:
    """True when Qt would use its xcb plugin: Linux, not offscreen, no Wayland platform chosen."""
    if not sys.platform.startswith("linux"):
        return False
    platform = os.environ.get("QT_QPA_PLATFORM", "")
    if platform and not platform.startswith("xcb"):
        return False
    return not (os.environ.get("WAYLAND_DISPLAY") and platform == "" and not os.environ.get("DISPLAY"))


def problem() -> str:
    """One line describing what stops the window from opening here, or "" when nothing does."""
    if not needs_x11():
        return ""
    packages = missing_packages()
    if packages:
        where = "Debian/Ubuntu" if shutil.which("apt-get") else "your distribution (Debian names)"
        return (
            f"the desktop app needs system libraries that are missing: {', '.join(packages)}; "
            f"install them on {where} with: {install_command(packages)}"
        )
    if not os.environ.get("DISPLAY") and not os.environ.get("WAYLAND_DISPLAY"):
        return "no display: DISPLAY is not set (run it in a desktop session, or under xvfb-run)"
    if not os.environ.get("WAYLAND_DISPLAY"):
        return x_server_problem(os.environ["DISPLAY"])
    return ""


def x_server_problem(display: str, timeout_s: float = 2.0) -> str:
    """ "" when the X server ``display`` names ("[host]:N[.S]") takes a connection, else one
    line saying so: Qt aborts on a display that does not answer, blaming missing libraries
    (a stale DISPLAY after an SSH session or a closed Xvfb is the common case). A form this
    does not know is left to Qt."""
    import re
    import socket

    if display.startswith("/"):  # a socket path (XQuartz's launchd DISPLAY)
        path = display.rsplit(":", 1)[0]
        return (
            "" if os.path.exists(path) else f"no display: DISPLAY={display} names a socket that is not there"
        )
    if ":" not in display:  # Xlib reads nothing else as a display; Qt aborts on it
        return f"no display: DISPLAY={display} is not a display name ([host]:N[.S], e.g. :0)"
    match = re.fullmatch(r"(?:(?P<host>[^:/]*)/?(?:unix)?)?:(?P<number>\d+)(?:\.\d+)?", display)
    if match is None:
        return ""
    host, number = match.group("host") or "", int(match.group("number"))
    try:
        if host in ("", "unix"):
            path = f"/tmp/.X11-unix/X{number}"
            addresses = [f"\0{path}", path] if sys.platform.startswith("linux") else [path]
            for address in addresses:  # Xorg listens on the abstract socket and the file
                with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as sock:
                    sock.settimeout(timeout_s)
                    try:
                        sock.connect(address)
                        return ""
                    except OSError:
                        continue
            reason = f"nothing listens on {path}"
        else:
            with socket.create_connection((host, 6000 + number), timeout=timeout_s):
                return ""
    except OSError as exc:
        reason = exc.strerror or str(exc) or type(exc).__name__
    return (
        f"no display: no X server answers at DISPLAY={display} ({reason}); "
        "start one, or set DISPLAY to a running one (or run it under xvfb-run)"
    )


def main() -> int:
    text = problem()
    if text:
        print(f"error: {text}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
