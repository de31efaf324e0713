"""A module another thread is still importing is not handed to the GUI thread.

The core loader imports torch and the trainer in a thread while the window is up. During
that time ``sys.modules`` already holds the trainer, half made, and the runs list took it
and failed ("partially initialized module ... has no attribute 'normalised_config'"),
printing a traceback."""

from __future__ import annotations

import importlib
import sys
import threading

from workbench.gui.core_loader import loaded_module

SLOW_MODULE = """
import threading
started = threading.Event()
proceed = threading.Event()
started.set()
proceed.wait(10)
def normalised_config(config):
    return config
"""


def test_a_module_being_imported_is_not_returned(tmp_path, monkeypatch):
    (tmp_path / "slow_core_mod.py").write_text(SLOW_MODULE)
    monkeypatch.syspath_prepend(str(tmp_path))
    importer = threading.Thread(target=importlib.import_module, args=("slow_core_mod",))
    importer.start()
    try:
        for _ in range(1000):  # until its body runs (it is in sys.modules from then on)
            if "slow_core_mod" in sys.modules and hasattr(sys.modules["slow_core_mod"], "proceed"):
                break
            threading.Event().wait(0.01)
        half = sys.modules["slow_core_mod"]
        assert not hasattr(half, "normalised_config")  # the state the runs list met
        assert loaded_module("slow_core_mod") is None
        half.proceed.set()
        importer.join(10)
        whole = loaded_module("slow_core_mod")
        assert whole is half and whole.normalised_config({"a": 1}) == {"a": 1}
    finally:
        sys.modules.get("slow_core_mod") and sys.modules["slow_core_mod"].proceed.set()
        importer.join(10)
        sys.modules.pop("slow_core_mod", None)


def test_never_imported_is_none_and_never_imports():
    assert loaded_module("workbench_no_such_module_xyz") is None
    assert "workbench_no_such_module_xyz" not in sys.modules


def test_runs_list_names_runs_while_the_trainer_is_half_imported(monkeypatch, tmp_path):
    """The runs list, asked to name runs while the trainer module is mid-import, names them
    from their folders without a traceback."""
    import types

    from workbench.gui.runs_panel import RunsPanel

    half = types.ModuleType("workbench.training.trainer")
    half.__spec__ = importlib.machinery.ModuleSpec("workbench.training.trainer", None)
    half.__spec__._initializing = True  # what importlib sets while the module's body runs
    monkeypatch.setitem(sys.modules, "workbench.training.trainer", half)
    errors = []
    monkeypatch.setattr("workbench.gui.runs_panel.log.exception", lambda *a, **k: errors.append(a))
    from workbench.training.run_store import RunInfo

    infos = [
        RunInfo(
            path=tmp_path / f"exp-{depth}",
            name="exp",
            created=0.0,
            status="finished",
            tasks=("a",),
            key_metrics={},
            config={"name": "exp", "model": {"sharing_depth": depth}},
        )
        for depth in (1, 2)
    ]
    names = RunsPanel._names(infos)
    assert errors == []
    assert names == ["exp · depth 1", "exp · depth 2"]
