"""pyqtgraph, imported once without its optional CUDA display path.

pyqtgraph's ``RawImageWidget`` imports ``cuda.bindings.runtime`` when pyqtgraph is
imported, if the module is installed (PyTorch's CUDA wheels bring it). The app never uses
that widget, and the import cost 0.1-0.25 s of the window's first show on this machine
(``python -X importtime``). The block lasts only for pyqtgraph's own import: PyTorch, loaded
later, imports the bindings as usual.
"""

from __future__ import annotations

import sys
from types import ModuleType


def _import_pyqtgraph() -> ModuleType:
    if "pyqtgraph" in sys.modules:
        return sys.modules["pyqtgraph"]
    blocked = "cuda.bindings" not in sys.modules
    if blocked:
        sys.modules["cuda.bindings"] = None  # type: ignore[assignment]  # ImportError, which pyqtgraph expects
    try:
        import pyqtgraph
    finally:
        if blocked and "cuda.bindings" in sys.modules and sys.modules["cuda.bindings"] is None:
            del sys.modules["cuda.bindings"]
    return pyqtgraph


pg = _import_pyqtgraph()
