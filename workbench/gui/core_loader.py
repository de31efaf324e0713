"""Load the torch-based core in a background thread after the window shows.

Importing torch, torchvision and torchmetrics takes seconds; doing it on the GUI thread
would freeze the freshly shown window. ``CoreLoader`` imports the modules that hold the
registries (task kinds, backbones, weightings, data sources) and the trainer, then emits
``loaded`` with a small dict of version and device facts for the status bar and About box.
"""

from __future__ import annotations

import contextlib
import importlib
import logging
import sys
import time
import traceback
from typing import Any

from PySide6.QtCore import QThread, Signal

log = logging.getLogger(__name__)

CORE_MODULES = (
    "torch",
    "workbench.training.trainer",
    "workbench.tasks",
    "workbench.models.backbones",
    "workbench.weighting",
    "workbench.data",
    "workbench.training.device",
    "workbench.training.experiment",
)


def loaded_module(name: str) -> Any:
    """The module ``name`` if it has been imported whole, else None; never imports it.

    While the loader thread runs a module's body, ``sys.modules`` already holds it, half
    made (``__spec__._initializing`` is True until its last line ran): a GUI-thread
    reader then found names missing ("partially initialized module"), so every look at
    a core module from the GUI goes through here."""
    module = sys.modules.get(name)
    if module is None or getattr(getattr(module, "__spec__", None), "_initializing", False):
        return None
    return module


def core_is_loaded() -> bool:
    """True once every core module has been imported whole (by the loader or anyone else)."""
    return all(loaded_module(name) is not None for name in CORE_MODULES)


def core_info() -> dict[str, Any]:
    """Versions and devices of the loaded core. Call only once the core is loaded."""
    import torch

    from workbench.training.device import list_devices

    info: dict[str, Any] = {"torch": torch.__version__, "cuda": torch.version.cuda or ""}
    for name in ("torchvision", "torchmetrics"):
        module = loaded_module(name)
        info[name] = getattr(module, "__version__", "") if module else ""
    try:
        info["devices"] = list_devices()
    except Exception as exc:  # a broken driver must not stop the app
        log.warning("could not list devices: %s", exc)
        info["devices"] = [("cpu", "CPU")]
    return info


class CoreLoader(QThread):
    """Imports the core off the GUI thread.

    Signals:
        loaded(dict): ``core_info()`` plus ``seconds`` (how long the imports took).
        failed(str, str): one-line error and the traceback text.
    """

    loaded = Signal(object)
    failed = Signal(str, str)

    def run(self) -> None:  # runs in the loader thread; never touches widgets
        started = time.perf_counter()
        try:
            for name in CORE_MODULES:
                importlib.import_module(name)
            # The optional pieces the GUI shows versions of; absent ones are fine.
            for name in ("torchvision", "torchmetrics"):
                with contextlib.suppress(ImportError):
                    importlib.import_module(name)
            # before any job or run can start: first uses of torch in one thread only
            from workbench.training.warm_up import warm_up

            warm_up()
            info = core_info()
        except Exception as exc:  # reported to the GUI, never raised in a thread
            log.exception("loading the core failed")
            self.failed.emit(f"{type(exc).__name__}: {exc}", traceback.format_exc())
            return
        info["seconds"] = time.perf_counter() - started
        log.info("core loaded in %.1f s", info["seconds"])
        self.loaded.emit(info)
