"""``workbench --version``: the versions a bug report needs, read without starting Qt.

Each line is ``name version``; a package that is not installed says so instead of failing,
so the command also works where the desktop extras are missing (a headless GPU machine).
"""

from __future__ import annotations

import importlib.metadata
import platform

from workbench import __version__


def _dist(name: str) -> str:
    try:
        return importlib.metadata.version(name)
    except importlib.metadata.PackageNotFoundError:
        return "not installed"


def version_lines() -> list[str]:
    """The app, Python, PyTorch (with its CUDA build and the GPUs seen), torchvision and Qt."""
    lines = [f"workbench {__version__}", f"Python {platform.python_version()} ({platform.machine()})"]
    try:
        import torch

        cuda = torch.version.cuda or "none (CPU build)"
        lines.append(f"torch {torch.__version__}, CUDA build {cuda}")
        if torch.cuda.is_available():
            names = ", ".join(torch.cuda.get_device_name(i) for i in range(torch.cuda.device_count()))
            lines.append(f"GPUs: {names}")
        else:
            lines.append("GPUs: none available")
    except ImportError:
        lines.append("torch not installed")
    lines.append(f"torchvision {_dist('torchvision')}")
    # The core never imports Qt: a PySide6 wheel carries the Qt of its own version number.
    pyside = _dist("PySide6-Essentials")
    if pyside == "not installed":
        pyside = _dist("PySide6")
    if pyside == "not installed":
        lines.append("Qt not installed (no PySide6): the headless commands still work")
    else:
        lines.append(f"Qt {pyside} (PySide6 {pyside})")
    return lines
