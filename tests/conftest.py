"""Shared test set-up: offscreen Qt, few threads, tiny experiments."""

from __future__ import annotations

import os
import tempfile

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
os.environ.setdefault("OMP_NUM_THREADS", "2")
# The app's default settings (QSettings, ~/.config/mtl-workbench) and anything a test starts
# in a subprocess go to a folder of the test session's own: an offscreen window must never
# save its layout over the user's. The folder is made once: a second import of this file
# (as ``tests.conftest``) and the subprocesses tests start inherit it instead of making their
# own, and only the session that made it removes it (``pytest_unconfigure``).
_INHERITED = os.environ.get("XDG_CONFIG_HOME", "")
if os.path.basename(_INHERITED).startswith("workbench-tests-config-"):
    _CONFIG_HOME, _OWN_CONFIG_HOME = _INHERITED, False
else:
    import atexit
    import shutil

    _CONFIG_HOME, _OWN_CONFIG_HOME = tempfile.mkdtemp(prefix="workbench-tests-config-"), True
    os.environ["XDG_CONFIG_HOME"] = _CONFIG_HOME
    # again at exit, after everything registered later: matplotlib (imported by the ONNX
    # exporter's dependencies) makes its folder there again while the interpreter shuts down
    atexit.register(shutil.rmtree, _CONFIG_HOME, ignore_errors=True)

import pytest  # noqa: E402

from workbench.config import DataConfig, ExperimentConfig, OptimConfig, TaskConfig, TrainConfig  # noqa: E402


def tiny_config(tasks=(("scene", "classification"), ("n", "counting")), **train) -> ExperimentConfig:
    """A seconds-long experiment: 64 px shapes, a few batches, CPU."""
    cfg = ExperimentConfig(
        name="tiny",
        data=DataConfig(options=dict(image_size=64, train_size=48, val_size=16, max_objects=3)),
        tasks=[TaskConfig(name=n, kind=k) for n, k in tasks],
        optim=OptimConfig(lr=1e-3, warmup_steps=2),
        train=TrainConfig(epochs=2, batch_size=16, device="cpu", num_samples=4, **train),
    )
    return cfg


def finished_folder_run(root, runs_root, name="classes"):
    """A finished one-epoch run on a class-folder set of red and blue squares made in
    ``root`` (6 images each); returns its RunStore."""
    from PIL import Image

    from workbench.training.run_store import RunStore
    from workbench.training.trainer import Trainer

    for c, colour in (("red", (200, 30, 30)), ("blue", (30, 30, 200))):
        (root / c).mkdir(parents=True)
        for i in range(6):
            Image.new("RGB", (24, 24), colour).save(root / c / f"{i}.png")
    cfg = ExperimentConfig(
        name=name,
        data=DataConfig(source="folder", path=str(root), options={"image_size": 32}),
        tasks=[TaskConfig(name="colour", kind="classification")],
        train=TrainConfig(epochs=1, batch_size=4, device="cpu", num_samples=2),
    )
    store = RunStore.create(runs_root, name)
    assert Trainer(cfg, store).run()["status"] == "finished"
    return store


@pytest.fixture
def tiny():
    return tiny_config()


GUI_RUN_TIMEOUT_MS = 180_000  # a few seconds normally; generous for a loaded 2-core machine


@pytest.fixture
def window(qtbot, tmp_path):
    """The main window with its own settings file and runs folder, PyTorch loaded; closed
    (and its run thread joined, its error dialogs dismissed) afterwards."""
    from PySide6.QtCore import QSettings

    from workbench.gui.main_window import MainWindow

    settings = QSettings(str(tmp_path / "settings.ini"), QSettings.Format.IniFormat)
    w = MainWindow(settings=settings, runs_root=tmp_path / "runs")
    w.confirm_close = lambda: True
    w.confirm_stop_commands = lambda names: True
    qtbot.addWidget(w)
    with qtbot.waitSignal(w.coreLoaded, timeout=GUI_RUN_TIMEOUT_MS):
        w.show()
    yield w
    w.confirm_close = lambda: True
    w.close()
    assert w.bridge.wait(60_000)
    for box in w.error_dialogs():
        box.accept()


def pytest_sessionstart(session):
    """PyTorch's first uses, in one thread, before any test starts threads (see warm_up)."""
    from workbench.training.warm_up import warm_up

    warm_up()


@pytest.fixture(autouse=True)
def _gc_in_the_gui_thread(request):
    """GUI tests run as the app does: cyclic garbage is collected in the GUI thread only
    (``workbench.gui.gc_in_gui_thread``); afterwards, with every thread joined, Python's own
    collection comes back for the tests that follow."""
    if not {"qtbot", "window", "qapp"} & set(request.fixturenames):
        yield
        return
    from workbench.gui import gc_in_gui_thread

    gc_in_gui_thread.install(request.getfixturevalue("qapp"))
    yield
    gc_in_gui_thread.uninstall()


@pytest.fixture(autouse=True)
def _no_thread_outlives_its_test():
    """Background jobs (parameter counts, previews, predictions) of a test's widgets are
    joined before the next test starts: threads of one test never overlap the next one's
    set-up, whose first uses of torch would otherwise race with them."""
    yield
    import sys

    jobs = sys.modules.get("workbench.gui.setup_jobs")
    if jobs is not None:
        for thread in list(jobs._LIVE):
            assert thread.wait(120_000), f"a background job outlived its test: {thread.key!r}"


# ----------------------------------------------------------------------- hang watchdog
# pytest-timeout (300 s, pyproject) cannot fire while a C-level deadlock holds the GIL; the
# watchdog process (tests/hang_watchdog.py) can: after this long it dumps every thread,
# names the test on the last line of the output and ends the run, instead of a silent stall.
HANG_SECONDS = float(os.environ.get("WORKBENCH_HANG_SECONDS", 330))


def pytest_configure(config):
    import faulthandler
    import signal
    import subprocess
    import sys
    import tempfile
    from pathlib import Path

    if not hasattr(signal, "SIGUSR1") or os.environ.get("WORKBENCH_NO_WATCHDOG"):
        return
    dump = tempfile.NamedTemporaryFile("w+", prefix="workbench-hang-", suffix=".txt", delete=False)  # noqa: SIM115 (open for the whole session)
    faulthandler.register(signal.SIGUSR1, file=dump, all_threads=True)
    script = Path(__file__).with_name("hang_watchdog.py")
    config._hang_dump = dump
    config._hang_watchdog = subprocess.Popen(
        [sys.executable, str(script), str(os.getpid()), dump.name], stdin=subprocess.PIPE
    )


def pytest_unconfigure(config):
    import shutil

    if _OWN_CONFIG_HOME:
        shutil.rmtree(_CONFIG_HOME, ignore_errors=True)  # one per session: they piled up in /tmp
    proc = getattr(config, "_hang_watchdog", None)
    if proc is not None:
        proc.stdin.close()
        proc.wait(10)
        config._hang_dump.close()
        os.unlink(config._hang_dump.name)


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_protocol(item, nextitem):
    proc = getattr(item.config, "_hang_watchdog", None)
    if proc is not None:
        proc.stdin.write(f"S {HANG_SECONDS} {item.nodeid}\n".encode())
        proc.stdin.flush()
    yield
    if proc is not None:
        proc.stdin.write(b"E\n")
        proc.stdin.flush()
