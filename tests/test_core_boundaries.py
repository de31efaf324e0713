"""The core never imports Qt; the GUI module tree is the only Qt client."""

import subprocess
import sys
from pathlib import Path

CORE_MODULES = [
    "workbench.config",
    "workbench.cli",
    "workbench.training.trainer",
    "workbench.training.run_store",
    "workbench.tasks",
    "workbench.weighting",
    "workbench.models.multitask",
    "workbench.data",
]


def test_core_never_imports_qt():
    code = (
        "import sys\n"
        + "".join(f"import {m}\n" for m in CORE_MODULES)
        + "bad = sorted(m for m in sys.modules if m.split('.')[0] in ('PySide6', 'pyqtgraph', 'shiboken6'))\n"
        + "print(','.join(bad))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == ""


def test_no_qt_import_statements_outside_gui():
    root = Path(__file__).resolve().parents[1] / "workbench"
    offenders = []
    for path in root.rglob("*.py"):
        if "gui" in path.relative_to(root).parts:
            continue
        text = path.read_text(encoding="utf-8")
        if "import PySide6" in text or "from PySide6" in text or "import pyqtgraph" in text:
            offenders.append(str(path))
    assert offenders == []
