"""The app shell: start-up rule, TrainingBridge, main window wiring, settings, runs panel."""

from __future__ import annotations

import dataclasses
import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

pytest.importorskip("pytestqt")

from PySide6.QtCore import QCoreApplication, QSettings, Qt, QThread, qVersion  # noqa: E402
from PySide6.QtGui import QFontDatabase, QFontInfo  # noqa: E402
from PySide6.QtWidgets import QApplication  # noqa: E402

from workbench.gui.training_bar import format_duration, progress_text  # noqa: E402

REPO = Path(__file__).resolve().parents[1]
RUN_TIMEOUT_MS = 180_000  # a few seconds normally; generous for a loaded 2-core machine


# ---------------------------------------------------------------------------- fixtures


@pytest.fixture(autouse=True)
def _private_settings(tmp_path_factory):
    """Any default-constructed QSettings lands in a temporary folder, never the user's."""
    folder = str(tmp_path_factory.mktemp("qsettings"))
    for fmt in (QSettings.Format.NativeFormat, QSettings.Format.IniFormat):
        QSettings.setPath(fmt, QSettings.Scope.UserScope, folder)
        QSettings.setPath(fmt, QSettings.Scope.SystemScope, folder)
    QCoreApplication.setOrganizationName("mtl-workbench-tests")
    QCoreApplication.setApplicationName("shell-tests")
    yield


def small(cfg, epochs: int = 2, **train):
    """The tiny experiment at 64 px: 64 train / 32 val images, batch 16, 4 samples."""
    options = {**cfg.data.options, "image_size": 64, "train_size": 64, "val_size": 32}
    return dataclasses.replace(
        cfg,
        data=dataclasses.replace(cfg.data, options=options),
        train=dataclasses.replace(cfg.train, epochs=epochs, batch_size=16, num_samples=4, **train),
    )


@pytest.fixture
def bridge(qtbot):
    from workbench.gui.worker import TrainingBridge

    b = TrainingBridge()
    yield b
    b.stop()
    assert b.wait(60_000), "the trainer thread did not end"


def set_setup(qtbot, w, cfg) -> None:
    w.setup.set_config(cfg)
    qtbot.waitUntil(w.act_start.isEnabled, timeout=10_000)


def record(bridge) -> list:
    events: list = []
    names = (
        "runStarted",
        "stepEnded",
        "epochEnded",
        "samplesReady",
        "paused",
        "resumed",
        "finished",
        "stopped",
        "failed",
    )
    gui_thread = QApplication.instance().thread()
    for name in names:

        def on_event(ev, name=name):
            events.append((name, ev))
            if QThread.currentThread() != gui_thread:
                events.append(("NOT IN GUI THREAD", ev))

        getattr(bridge, name).connect(on_event)
    return events


def summary(run_dir: Path) -> dict:
    return json.loads((Path(run_dir) / "summary.json").read_text())


# ---------------------------------------------------------------------------- start-up


def test_startup_does_not_import_torch(tmp_path):
    code = textwrap.dedent(
        f"""
        import sys, time
        t0 = time.perf_counter()
        from PySide6.QtCore import QSettings
        from PySide6.QtWidgets import QApplication
        import workbench.gui.app as app_module
        app = QApplication([])
        app_module.configure_app(app)
        settings = QSettings({str(tmp_path / "s.ini")!r}, QSettings.Format.IniFormat)
        w = app_module.MainWindow(settings=settings)
        w.show()
        heavy = sorted(m for m in ("torch", "torchvision", "torchmetrics") if m in sys.modules)
        print("HEAVY", heavy, "SECONDS", round(time.perf_counter() - t0, 2))
        w.close()
        """
    )
    env = dict(os.environ, QT_QPA_PLATFORM="offscreen")
    out = subprocess.run(
        [sys.executable, "-c", code], cwd=tmp_path, env=env, capture_output=True, text=True, timeout=120
    )
    assert out.returncode == 0, out.stderr
    line = next(li for li in out.stdout.splitlines() if li.startswith("HEAVY"))
    assert "HEAVY []" in line, line


def test_font_family_resolves(qapp):
    assert QFontDatabase.families()
    assert QFontInfo(qapp.font()).family()


def test_training_bar_formats():
    assert format_duration(3725) == "1:02:05"
    assert format_duration(float("nan")) == "--:--:--"
    assert progress_text(2, 6, 37, 375) == "epoch 2/6 · step 37/375"


# ---------------------------------------------------------------------------- bridge


def test_bridge_runs_to_finished_in_order(qtbot, bridge, tiny, tmp_path):
    cfg = small(tiny, epochs=2)
    events = record(bridge)
    running = []
    bridge.runningChanged.connect(running.append)
    with qtbot.waitSignal(bridge.finished, timeout=RUN_TIMEOUT_MS):
        run_dir = bridge.start(cfg, tmp_path / "runs")
    assert bridge.wait(30_000)
    assert running == [True, False]
    assert not bridge.is_running() and bridge.state == "idle"
    names = [n for n, _ in events]
    assert names[0] == "runStarted" and names[-1] == "finished"
    started = events[0][1]
    assert started.run_dir == str(run_dir) and started.steps_per_epoch == 4 and started.epochs == 2
    steps = [e for n, e in events if n == "stepEnded"]
    assert [s.global_step for s in steps] == list(range(1, 9))
    # per epoch: its steps, then the epoch end, then its samples
    for epoch in range(2):
        i_epoch = names.index("epochEnded", names.index("runStarted") + 1 + epoch * 6)
        assert names[i_epoch - 4 : i_epoch] == ["stepEnded"] * 4
        assert names[i_epoch + 1] == "samplesReady"
        assert events[i_epoch][1].epoch == epoch
    samples = [e for n, e in events if n == "samplesReady"]
    assert samples[0].images.shape[0] == 4
    assert summary(run_dir)["status"] == "finished"


def test_bridge_pause_resume_stop(qtbot, bridge, tiny, tmp_path):
    cfg = small(tiny, epochs=50)
    events = record(bridge)
    with qtbot.waitSignal(bridge.stepEnded, timeout=RUN_TIMEOUT_MS):
        run_dir = bridge.start(cfg, tmp_path / "runs")
    with qtbot.waitSignal(bridge.paused, timeout=RUN_TIMEOUT_MS) as paused:
        bridge.pause()
    assert bridge.state == "paused" and bridge.is_paused()
    at_pause = len([1 for n, _ in events if n == "stepEnded"])
    assert summary(run_dir)["status"] == "paused"
    qtbot.wait(300)  # the loop is blocked: no step may arrive meanwhile
    assert len([1 for n, _ in events if n == "stepEnded"]) == at_pause
    with qtbot.waitSignal(bridge.resumed, timeout=10_000) as resumed:
        bridge.resume()
    assert resumed.args[0].global_step == paused.args[0].global_step
    qtbot.waitUntil(
        lambda: len([1 for n, _ in events if n == "stepEnded"]) > at_pause, timeout=RUN_TIMEOUT_MS
    )
    with qtbot.waitSignal(bridge.stopped, timeout=RUN_TIMEOUT_MS) as stopped:
        bridge.stop()
    assert bridge.wait(30_000)
    assert stopped.args[0].reason == "stopped by user"
    s = summary(run_dir)
    assert s["status"] == "stopped"
    assert (run_dir / "checkpoints" / "last.pt").is_file()
    last_step = [e for n, e in events if n == "stepEnded"][-1].global_step
    assert s["global_step"] == last_step
    import torch

    ckpt = torch.load(run_dir / "checkpoints" / "last.pt", map_location="cpu", weights_only=True)
    assert ckpt["position"]["global_step"] == last_step


def test_bridge_stop_while_paused_and_resume_run(qtbot, bridge, tiny, tmp_path):
    cfg = small(tiny, epochs=3)
    with qtbot.waitSignal(bridge.stepEnded, timeout=RUN_TIMEOUT_MS):
        run_dir = bridge.start(cfg, tmp_path / "runs")
    with qtbot.waitSignal(bridge.paused, timeout=RUN_TIMEOUT_MS):
        bridge.pause()
    with qtbot.waitSignal(bridge.stopped, timeout=RUN_TIMEOUT_MS):
        bridge.stop()
    assert bridge.wait(30_000)
    assert summary(run_dir)["status"] == "stopped"
    # resume the same directory to the end
    events = record(bridge)
    with qtbot.waitSignal(bridge.finished, timeout=RUN_TIMEOUT_MS):
        assert bridge.start(None, None, resume_dir=run_dir) == run_dir
    assert bridge.wait(30_000)
    started = events[0][1]
    assert events[0][0] == "runStarted" and started.start_step > 0
    assert summary(run_dir)["status"] == "finished"


def test_bridge_refuses_a_second_run(qtbot, bridge, tiny, tmp_path):
    with qtbot.waitSignal(bridge.stepEnded, timeout=RUN_TIMEOUT_MS):
        bridge.start(small(tiny, epochs=50), tmp_path / "runs")
    with pytest.raises(RuntimeError):
        bridge.start(small(tiny), tmp_path / "runs")
    bridge.stop()
    assert bridge.wait(60_000)


def test_bridge_reports_a_run_dir_that_cannot_resume(qtbot, bridge, tmp_path):
    (tmp_path / "not-a-run").mkdir()
    with qtbot.waitSignal(bridge.failed, timeout=60_000) as failed:
        bridge.start(None, None, resume_dir=tmp_path / "not-a-run")
    assert bridge.wait(30_000)
    assert "config.toml" in failed.args[0].error


def test_resuming_a_run_that_spent_its_time_limit_asks_for_more_time(qtbot, window, tmp_path):
    """Its resume was refused (it would stop at once) and the app offered no way on but
    the CLI's --time-limit: it asks for more minutes, cancelling starts nothing."""
    from conftest import tiny_config

    from workbench.training.run_store import RunStore
    from workbench.training.trainer import StopReason, Trainer

    class SpentAt(Trainer):  # the limit strikes as epoch 1 begins (made deterministic)
        def _train_epoch(self, loop, epoch):
            return StopReason.TIME_LIMIT if epoch == 1 else super()._train_epoch(loop, epoch)

    w = window
    cfg = tiny_config()
    cfg.train.epochs, cfg.train.time_limit_s = 2, 0.001  # spent: a plain resume is refused
    store = RunStore.create(w.runs_root(), "budget")
    assert SpentAt(cfg, store).run()["stop_reason"] == "time_limit"
    asked = []
    w.ask_more_time = lambda path, summary: asked.append(path) or None  # cancelled
    w.resume_run(store.path)
    assert asked == [store.path] and not w.bridge.is_running()
    w.ask_more_time = lambda path, summary: 3600.0
    with qtbot.waitSignal(w.bridge.finished, timeout=RUN_TIMEOUT_MS):
        w.resume_run(store.path)
    assert w.bridge.wait(30_000)
    summary = store.read_summary()
    assert summary["status"] == "finished" and summary["epochs_done"] == 2


# ---------------------------------------------------------------------------- window


def test_window_run_reaches_every_panel(qtbot, window, tiny):
    w = window
    assert w.core_label.text().startswith("PyTorch")
    assert not w.act_pause.isEnabled() and not w.act_stop.isEnabled()
    set_setup(qtbot, w, small(tiny, epochs=2))
    steps = []
    w.bridge.stepEnded.connect(steps.append)
    budgets = []  # drawing's share of a core while this CPU run trains on every core
    w.bridge.stepEnded.connect(lambda _: budgets.append(w.plots.pacer.budget))
    with qtbot.waitSignal(
        w.bridge.runningChanged, timeout=RUN_TIMEOUT_MS, check_params_cb=lambda running: not running
    ):
        w.act_start.trigger()
        assert not w.act_start.isEnabled()
    run_dir = w.bridge.run_dir
    from workbench.gui.redraw_pacer import BUDGET_CORES_BUSY, BUDGET_CORES_SPARE

    assert budgets and set(budgets) == {BUDGET_CORES_BUSY}
    assert w.plots.pacer.budget == BUDGET_CORES_SPARE  # no run competes for the cores any more
    assert summary(run_dir)["status"] == "finished"
    assert w.device_label.text() == "Device: cpu"
    assert w.state_label.text() == "Finished"
    assert w.act_start.isEnabled()
    assert w.training_bar.text.startswith("Finished")
    assert w.training_bar.eta_label.text().startswith("ETA ")
    xs, ys = w.plots.curve_points("train_loss", "scene")
    assert list(xs) == [float(s.global_step) for s in steps]
    infos = w.runs.runs()
    assert [Path(i.path) for i in infos] == [run_dir] and infos[0].status == "finished"


def test_start_follows_setup_validity(qtbot, window, tiny):
    w = window
    set_setup(qtbot, w, small(tiny))
    with qtbot.waitSignal(
        w.setup.validityChanged, timeout=10_000, check_params_cb=lambda valid, message: not valid
    ):
        w.setup.set_config(dataclasses.replace(small(tiny), tasks=[]))
    assert not w.act_start.isEnabled()
    assert "Cannot start" in w.act_start.toolTip()
    w.start_run()  # F5 on an invalid setup: nothing starts
    assert not w.bridge.is_running()
    set_setup(qtbot, w, small(tiny))
    assert "Cannot start" not in w.act_start.toolTip()


def test_start_refuses_a_path_that_is_not_there_naming_its_field(qtbot, window, tiny, tmp_path, monkeypatch):
    """In `workbench train`'s words: a weights file (or data path) not there, or a folder
    where a file must be, is the setup's fault, named by its field; F5 starts nothing."""
    w = window
    for weights, said in [
        (tmp_path / "nowhere.pth", f"{tmp_path / 'nowhere.pth'} does not exist"),
        (tmp_path, f"{tmp_path} is a folder; a file is needed here"),
    ]:
        cfg = small(tiny)
        model = dataclasses.replace(cfg.model, pretrained="file", weights_file=str(weights))
        w.setup.set_config(dataclasses.replace(cfg, model=model))
        qtbot.waitUntil(lambda said=said: said in w.act_start.toolTip(), timeout=10_000)
        assert f"Cannot start: Weights file: {said}" in w.act_start.toolTip()  # the form's label
        w.start_run()
        assert not w.bridge.is_running()
    assert not (tmp_path / "runs").exists() or not any((tmp_path / "runs").iterdir())


def test_a_run_stopped_after_the_runs_folder_changed_says_where_it_is(qtbot, window, tiny, tmp_path):
    """The status said "resume it from the Runs panel", which no longer listed it."""
    w = window
    set_setup(qtbot, w, small(tiny, epochs=50))
    with qtbot.waitSignal(w.bridge.stepEnded, timeout=RUN_TIMEOUT_MS):
        w.start_run()
    run_dir = w.bridge.run_dir
    other = tmp_path / "other-runs"
    other.mkdir()
    w.set_runs_root(other)
    with qtbot.waitSignal(w.bridge.runningChanged, timeout=RUN_TIMEOUT_MS):
        w.stop_run()
    qtbot.waitUntil(lambda: "Run stopped" in w.statusBar().full_message(), timeout=RUN_TIMEOUT_MS)
    assert f"it is in {run_dir} (the Runs panel shows {other}): open that folder to resume it" in (
        w.statusBar().full_message()
    )


def test_stop_before_the_first_step_says_what_happens(qtbot, window, tiny):
    """Stop while the run read its data said "Stopping after the current step; the
    checkpoint is saved" for 50 s, with no step to finish."""
    w = window
    set_setup(qtbot, w, small(tiny, epochs=50))
    w.start_run()
    assert w.bridge.state == "starting"
    w.stop_run()
    assert "before the run's first step" in w.statusBar().full_message()
    assert "current step" not in w.statusBar().full_message()
    qtbot.waitUntil(lambda: not w.bridge.is_running(), timeout=RUN_TIMEOUT_MS)
    qtbot.waitUntil(lambda: "Run stopped" in w.statusBar().full_message(), timeout=RUN_TIMEOUT_MS)
    from workbench.training.run_store import RunStore

    summary = RunStore(w.bridge.run_dir).read_summary()
    assert summary["status"] == "stopped"  # synthetic data has no files to read: stopped at step 0


def test_stop_while_image_files_are_read_ends_at_once_with_nothing_saved(qtbot, window, tmp_path):
    """Stop while a run read 3,000 image files waited for all of them (16 s, minutes on a
    loaded machine); it is honoured at the next file, and the new run's empty folder goes."""
    from PIL import Image

    from workbench.config import DataConfig, TaskConfig

    root = tmp_path / "set"
    (root / "images").mkdir(parents=True)
    (root / "labels").mkdir()
    for i in range(40):
        Image.new("RGB", (32, 32), (5 * i, 90, 40)).save(root / "images" / f"{i:02d}.png")
        (root / "labels" / f"{i:02d}.txt").write_text(f"{i % 2} 0.5 0.5 0.4 0.4\n")
    (root / "data.yaml").write_text("names: [red, green]\ntrain: images\n")
    from conftest import tiny_config

    cfg = small(tiny_config(), epochs=2)
    cfg.data = DataConfig(source="yolo", path=str(root), options={"image_size": 32, "val_fraction": 0.25})
    cfg.tasks = [TaskConfig(name="present", kind="multilabel"), TaskConfig(name="n", kind="counting")]
    w = window
    set_setup(qtbot, w, cfg)
    w.start_run()
    run_dir = w.bridge.run_dir
    w.stop_run()  # before the trainer probed its first image
    qtbot.waitUntil(lambda: not w.bridge.is_running(), timeout=RUN_TIMEOUT_MS)
    assert "nothing was saved" in w.statusBar().full_message()
    assert w.state_label.text() == "Not started"
    assert not run_dir.exists()  # the new run's empty folder is removed


def test_the_apps_stopped_run_resumed_in_a_terminal_is_shown_as_it_is_now(qtbot, window, tiny):
    """The app's own run, stopped, then resumed with `workbench resume` while shown: it
    stayed "Stopped at step 12" with 12 steps drawn after the terminal had finished it."""
    from workbench.training.run_store import RunStore

    w = window
    set_setup(qtbot, w, small(tiny, epochs=2))
    with qtbot.waitSignal(w.bridge.stepEnded, timeout=RUN_TIMEOUT_MS):
        w.start_run()
    run_dir = w.bridge.run_dir
    with qtbot.waitSignal(w.bridge.runningChanged, timeout=RUN_TIMEOUT_MS):
        w.stop_run()
    assert w.state_label.text() == "Stopped" and w._rewatch.isActive()
    done = subprocess.run(
        [sys.executable, "-m", "workbench", "resume", str(run_dir), "--quiet"],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr
    assert RunStore(run_dir).read_summary()["status"] == "finished"
    # finished between two looks (or followed while it trained): read again as it is now
    qtbot.waitUntil(lambda: not w._rewatch.isActive() and w._follower is None, timeout=30_000)
    qtbot.waitUntil(lambda: "finished" in w.statusBar().full_message(), timeout=30_000)
    assert w.state_label.text() == "Idle"
    assert "Stopped at step" not in w.training_bar.progress.format()
    losses = [b for (kind, _task), b in w.plots._run.buffers.items() if kind == "train_loss"]
    assert losses and all(len(b) == 8 for b in losses)  # 2 epochs of 4 steps, not the 1 before the stop


def test_closing_mid_run_stops_and_joins(qtbot, window, tiny):
    w = window
    set_setup(qtbot, w, small(tiny, epochs=50))
    with qtbot.waitSignal(w.bridge.stepEnded, timeout=RUN_TIMEOUT_MS):
        w.start_run()
    run_dir = w.bridge.run_dir
    asked = []
    w.confirm_close = lambda: asked.append("no") or False
    assert not w.close()  # declined: the run goes on
    assert w.bridge.is_running() and w.isVisible()
    w.confirm_close = lambda: asked.append("yes") or True
    visible_when_thread_ended = []
    w.bridge.runningChanged.connect(lambda running: visible_when_thread_ended.append(w.isVisible()))
    assert not w.close()  # the window stays up, "stopping…", until the run thread has ended
    assert w.isVisible() and w.is_closing()
    assert w.state_label.text() == "Stopping…" and "Stopping" in w.training_bar.text
    assert not w.act_start.isEnabled()
    assert not w.close()  # a second Quit while stopping: no second question, still up
    qtbot.waitUntil(lambda: not w.isVisible(), timeout=RUN_TIMEOUT_MS)
    assert asked == ["no", "yes"]
    assert visible_when_thread_ended == [True]  # the window outlived the thread, not the reverse
    assert not w.bridge.is_running()
    s = summary(run_dir)
    assert s["status"] == "stopped"
    assert (run_dir / "checkpoints" / "last.pt").is_file()
    assert Path(w.settings.fileName()).is_file()


def test_failing_run_shows_error_and_window_stays_usable(qtbot, window, tiny, monkeypatch):

    from workbench.tasks.counting import Counting

    # connected to the head's output (a detached loss is refused as such, before its value)
    monkeypatch.setattr(Counting, "loss", lambda self, output, targets: output.sum() * float("nan"))
    w = window
    w.bridge.in_process = False  # the patch above lives in this process only
    set_setup(qtbot, w, small(tiny, epochs=1))
    with qtbot.waitSignal(w.errorShown, timeout=RUN_TIMEOUT_MS) as shown:
        w.start_run()
    title, text = shown.args
    assert title == "Training failed"
    assert "'n'" in text and "nan" in text
    boxes = w.error_dialogs()
    assert boxes and "Traceback" in boxes[-1].detailedText()
    assert w.bridge.wait(30_000)
    assert summary(w.bridge.run_dir)["status"] == "failed"
    assert w.state_label.text() == "Failed"
    for box in boxes:
        box.accept()
    qtbot.waitUntil(lambda: not w.error_dialogs(), timeout=5_000)
    # still usable: a good run starts and finishes
    monkeypatch.undo()
    assert w.act_start.isEnabled()
    with qtbot.waitSignal(w.bridge.finished, timeout=RUN_TIMEOUT_MS):
        w.start_run()
    assert w.bridge.wait(30_000)


def test_exception_in_a_slot_becomes_a_dialog(qtbot, window, tmp_path, monkeypatch):
    def broken(path):
        raise OSError("disk full")

    monkeypatch.setattr(window.plots, "export_png", broken)
    with qtbot.waitSignal(window.errorShown, timeout=5_000) as shown:
        window.export_plots(tmp_path / "plots.png")
    assert shown.args[0] == "Unexpected error" and "disk full" in shown.args[1]
    assert window.isVisible()


def test_excepthook_shows_a_dialog(qtbot, window, monkeypatch):
    from workbench.gui.app import install_excepthook

    monkeypatch.setattr(sys, "excepthook", lambda *args: None)
    install_excepthook(window)
    try:
        raise ValueError("boom")
    except ValueError as exc:
        error = exc
    with qtbot.waitSignal(window.errorShown, timeout=5_000) as shown:
        sys.excepthook(ValueError, error, error.__traceback__)
    assert "boom" in shown.args[1]
    assert "test_excepthook_shows_a_dialog" in window.last_error[2]


def test_about_names_the_versions(qtbot, window):
    text = window.about_text()
    assert f"Qt {qVersion()}" in text
    assert "Python " in text and "PyTorch " in text and "Devices: CPU" in text
    box = window.show_about()
    assert qVersion() in box.text()
    box.accept()


def test_settings_round_trip(qtbot, tmp_path, tiny):
    from workbench.gui.main_window import MainWindow

    path = str(tmp_path / "settings.ini")
    w = MainWindow(settings=QSettings(path, QSettings.Format.IniFormat))
    w.confirm_close = lambda: True
    qtbot.addWidget(w)
    with qtbot.waitSignal(w.coreLoaded, timeout=RUN_TIMEOUT_MS):
        w.show()
    cfg = small(tiny)
    cfg = dataclasses.replace(cfg, name="remembered")
    w.setup.set_config(cfg)
    w.set_runs_root(tmp_path / "elsewhere")
    w.resize(1210, 800)
    w.runs_dock.hide()
    assert w.close()

    w2 = MainWindow(settings=QSettings(path, QSettings.Format.IniFormat))
    w2.confirm_close = lambda: True
    qtbot.addWidget(w2)
    assert w2.runs_root() == tmp_path / "elsewhere"
    with qtbot.waitSignal(w2.coreLoaded, timeout=RUN_TIMEOUT_MS):
        w2.show()
    assert w2.setup.config().name == "remembered"
    assert w2.setup.config().data.options["image_size"] == 64
    stored = QSettings(path, QSettings.Format.IniFormat)
    assert not stored.value("window/geometry").isEmpty() and not stored.value("window/state").isEmpty()
    assert not w2.runs_dock.isVisible()
    w2.close()


def test_new_open_save_config(qtbot, window, tiny, tmp_path):
    from workbench.experiment_check import load_config

    w = window
    w.setup.set_config(dataclasses.replace(small(tiny), name="to-save"))
    target = tmp_path / "exp"
    w.save_config(target)
    assert load_config(tmp_path / "exp.toml").name == "to-save"
    w.new_experiment()
    assert w.setup.config().name != "to-save"
    w.open_config(tmp_path / "exp.toml")
    assert w.setup.config().name == "to-save"
    (tmp_path / "bad.toml").write_text("name = 3\n")
    with qtbot.waitSignal(w.errorShown, timeout=5_000) as shown:
        w.open_config(tmp_path / "bad.toml")
    assert "bad.toml" in shown.args[1]


def test_an_opened_configs_relative_paths_are_read_from_its_folder(
    qtbot, window, tiny, tmp_path, monkeypatch
):
    """The app's working folder is a desktop launcher's: `path = "../sets/voc"`, right from
    the config's folder (where `workbench train` is run), was looked for there and refused."""
    from workbench.config import DataConfig

    cfg = small(tiny)
    cfg.data = DataConfig(source="voc", path="../sets/voc", options={"image_size": 32})
    (tmp_path / "configs").mkdir()
    (tmp_path / "elsewhere").mkdir()
    from workbench.experiment_check import save_config

    save_config(cfg, tmp_path / "configs" / "rel.toml")
    monkeypatch.chdir(tmp_path / "elsewhere")
    window.open_config(tmp_path / "configs" / "rel.toml")
    assert window.setup.config().data.path == str((tmp_path / "sets" / "voc").resolve())
    message = window.statusBar().full_message()
    assert message.startswith(
        f"Opened {tmp_path / 'configs' / 'rel.toml'}; its relative paths (data.path) are read"
    )


# ---------------------------------------------------------------------------- runs panel


def _fake_run(root: Path, name: str, status: str, created: float, metric: float):
    from workbench.config import default_experiment
    from workbench.training.run_store import RunStore

    store = RunStore(root / name)
    store.path.mkdir(parents=True)
    cfg = dataclasses.replace(default_experiment(), name=name)
    store.write_config(cfg)
    store.write_summary(
        {
            "name": name,
            "created": created,
            "status": status,
            "tasks": ["scene", "objects"],
            "primary_metrics": {"scene": "accuracy"},
            "best_metrics": {"scene": {"accuracy": metric}},
        }
    )
    for step in range(1, 4):
        store.append_metrics(
            {
                "type": "step",
                "epoch": 0,
                "step": step - 1,
                "global_step": step,
                "losses": {"scene": 1.0 / step},
                "weights": {"scene": 1.0},
                "total_loss": 1.0 / step,
                "lr": 1e-3,
                "images_per_s": 100.0,
                "time": 0.0,
            }
        )
    store.close()
    return store.path


def test_runs_panel_lists_the_runs_of_sweeps_under_its_folder(qtbot, tmp_path):
    from workbench.gui.runs_panel import RunsPanel

    root = tmp_path / "runs"
    plain = _fake_run(root, "alpha", "finished", 1_700_000_000.0, 0.91)
    swept = _fake_run(root / "sweeps" / "depths" / "runs", "d2", "finished", 1_700_000_200.0, 0.5)
    (root / "sweeps" / "depths" / "results.csv").write_text("key\n")
    panel = RunsPanel(root)
    qtbot.addWidget(panel)
    panel.refresh()
    assert [i.path for i in panel.runs()] == [swept, plain]  # newest first, sweeps included
    assert panel.info(swept).sweep == "depths" and panel.info(plain).sweep == ""
    names = [panel.tree.topLevelItem(i).text(0) for i in range(panel.tree.topLevelItemCount())]
    assert names == ["depths › d2", "alpha"]
    from PySide6.QtCore import Qt

    from workbench.gui.runs_panel import sweep_member_name

    # the sweep's name said once; long names cut in the middle, where members differ at the end
    assert sweep_member_name("s", "s-a+b+c-equal_sum-d3-s0") == "s › a+b+c-equal_sum-d3-s0"
    assert sweep_member_name("s", "other") == "s › other" and sweep_member_name("", "s-x") == "s-x"
    assert panel.tree.textElideMode() == Qt.TextElideMode.ElideMiddle
    assert str(root / "sweeps" / "depths" / "runs") in panel._watcher.directories()  # new sweep runs show up
    later = _fake_run(root / "sweeps" / "depths" / "runs", "d3", "finished", 1_700_000_300.0, 0.6)
    panel.refresh()
    assert panel.runs()[0].path == later
    # a summary rewritten inside a listed run (a sweep resumed from a terminal) is seen by
    # the slow poll: no folder watch fires for it
    from workbench.training.run_store import RunStore

    store = RunStore(swept)
    store.write_summary({**store.read_summary(), "status": "failed"})
    panel.show()
    qtbot.waitExposed(panel)
    panel._idle_poll.timeout.emit()
    assert panel.info(swept).status == "failed"


def test_one_run_the_table_cannot_show_leaves_the_others_listed(qtbot, tmp_path, monkeypatch):
    from workbench.gui import runs_panel as rp

    root = tmp_path / "runs"
    good = _fake_run(root, "good", "finished", 1_700_000_000.0, 0.9)
    bad = _fake_run(root, "bad", "finished", 1_700_000_100.0, 0.8)
    real = rp.RunsPanel._make_item

    def make(self, info, name):
        if info.path == bad:
            raise OverflowError("int too big to convert")
        return real(self, info, name)

    monkeypatch.setattr(rp.RunsPanel, "_make_item", make)
    panel = rp.RunsPanel(root)
    qtbot.addWidget(panel)
    panel.refresh()
    assert {i.path: i.status for i in panel.runs()} == {good: "finished", bad: "unreadable"}
    assert "OverflowError" in panel.message_label.text()


def test_runs_panel_lists_opens_and_compares(qtbot, tmp_path):
    from workbench.gui.runs_panel import RunsPanel

    root = tmp_path / "runs"
    a = _fake_run(root, "alpha", "finished", 1_700_000_000.0, 0.91)
    b = _fake_run(root, "beta", "stopped", 1_700_000_100.0, 0.42)
    broken = root / "broken"
    broken.mkdir()
    (broken / "summary.json").write_text("{not json")
    panel = RunsPanel(root)
    qtbot.addWidget(panel)
    panel.refresh()
    infos = panel.runs()
    assert [i.name for i in infos if i.name != "broken"] == ["beta", "alpha"]  # newest first
    by_name = {i.name: i for i in infos}
    assert by_name["broken"].status == "unreadable"
    assert "broken" in panel.message_label.text() and "summary.json" in panel.message_label.text()
    assert panel.message_label.text().count(str(broken / "summary.json")) == 1  # named once
    top = {
        panel.tree.topLevelItem(i).text(0): panel.tree.topLevelItem(i)
        for i in range(panel.tree.topLevelItemCount())
    }
    from workbench.gui.runs_panel import COL_METRICS, COL_STATUS, COL_TASKS

    assert top["alpha"].text(COL_STATUS) == "finished"
    assert "scene/accuracy 0.910" in top["alpha"].text(COL_METRICS)
    assert "scene/accuracy: 0.910" in top["alpha"].toolTip(COL_METRICS)  # the metrics, not the path
    assert top["alpha"].text(COL_TASKS) == "scene, objects"

    with qtbot.waitSignal(panel.openRun) as opened:
        panel.tree.itemActivated.emit(top["alpha"], 0)  # a double click, or Enter
    assert opened.args[0] == a
    with qtbot.assertNotEmitted(panel.openRun):
        panel.tree.itemActivated.emit(top["broken"], 0)
    panel.select_paths([a, b])
    assert panel.compare_button.isEnabled()
    with qtbot.waitSignal(panel.compareRuns) as compared:
        panel.compare_button.click()
    assert sorted(compared.args[0]) == sorted([a, b])


def test_window_compares_and_opens_runs_from_disk(qtbot, window, tmp_path, monkeypatch):
    w = window
    root = w.runs_root()
    a = _fake_run(root, "alpha", "finished", 1_700_000_000.0, 0.91)
    b = _fake_run(root, "beta", "stopped", 1_700_000_100.0, 0.42)
    w.runs.refresh()
    w.runs.compareRuns.emit([a, b])  # nothing shown yet: the first run opens, the other is overlaid
    assert w._shown_run == a
    assert w.plots.compare_labels() == ["beta"]
    assert w.compare_view.isVisible()
    assert [w.compare_view.cell_text(r, "run") for r in range(2)] == ["alpha", "beta"]
    np_x, _ = w.plots.drawn_points("train_loss", "scene", compare="beta")
    assert list(np_x) == [1.0, 2.0, 3.0]
    # a folder that is no run: a message naming it, no crash
    (root / "junk").mkdir()
    (root / "junk" / ".lock").write_text("{}")  # what a run killed before its config leaves
    with qtbot.waitSignal(w.errorShown, timeout=5_000) as shown:
        w.runs.openRun.emit(root / "junk")
    assert shown.args[1] == f"{root / 'junk'} holds no run: it was stopped before it wrote config.toml, " + (
        "so nothing was trained; start the experiment again with 'workbench train CONFIG.toml'."
    )
    (root / "junk" / "notes.txt").write_text("x")
    with qtbot.waitSignal(w.errorShown, timeout=5_000) as shown:
        w.runs.openRun.emit(root / "junk")
    assert shown.args[1] == f"{root / 'junk'} is not a run directory (no config.toml)."
    # an unreadable summary names its file
    (root / "broken").mkdir()
    (root / "broken" / "summary.json").write_text("{")
    with qtbot.waitSignal(w.errorShown, timeout=5_000) as shown:
        w.show_run(root / "broken")
    assert "summary.json" in shown.args[1]
    assert w.isVisible()


def test_opening_another_run_mid_training_and_back(qtbot, window, tiny):
    w = window
    other = _fake_run(w.runs_root(), "other", "finished", 1_700_000_000.0, 0.5)
    set_setup(qtbot, w, small(tiny, epochs=50))
    with qtbot.waitSignal(w.bridge.stepEnded, timeout=RUN_TIMEOUT_MS):
        w.start_run()
    assert not w.act_live.isEnabled()
    w.runs.openRun.emit(other)
    assert not w._live_view and w.act_live.isEnabled()
    xs, _ = w.plots.curve_points("train_loss", "scene")
    assert list(xs) == [1.0, 2.0, 3.0]  # the opened run's log, not the live one
    with qtbot.waitSignal(w.bridge.stepEnded, timeout=RUN_TIMEOUT_MS):
        pass
    assert list(w.plots.curve_points("train_loss", "scene")[0]) == [1.0, 2.0, 3.0]
    w.act_live.trigger()
    assert w._live_view and not w.act_live.isEnabled()
    with qtbot.waitSignal(w.bridge.stepEnded, timeout=RUN_TIMEOUT_MS) as step:
        pass
    xs = list(w.plots.curve_points("train_loss", "scene")[0])
    assert xs[0] == 1.0 and step.args[0].global_step in xs
    assert xs == sorted(set(xs)), "a step was drawn twice"
    with qtbot.waitSignal(w.bridge.stopped, timeout=RUN_TIMEOUT_MS):
        w.act_stop.trigger()
    assert w.bridge.wait(30_000)


# ---------------------------------------------------------------------------- issue 6 (GUI)


def _depth_run(root: Path, folder: str, depth: int, metric: float, elapsed: float) -> Path:
    """A finished fake run of one experiment at sharing depth ``depth`` (of 4 stages)."""
    from workbench.config import default_experiment
    from workbench.training.run_store import RunStore

    store = RunStore(root / folder)
    store.path.mkdir(parents=True)
    cfg = default_experiment()
    cfg.model.sharing_depth = depth
    store.write_config(cfg)
    store.write_summary(
        {
            "name": cfg.name,
            "created": 1_700_000_000.0 + depth,
            "status": "finished",
            "tasks": ["scene"],
            "primary_metrics": {"scene": "accuracy"},
            "higher_is_better": {"scene": True},
            "best_metrics": {"scene": {"accuracy": metric}},
            "final_metrics": {"scene": {"accuracy": metric}},
            "best_epoch": 1,
            "epochs_done": 2,
            "params": {
                "total": 1000 * (5 - depth),
                "sharing_depth": 4 if depth == -1 else depth,
                "num_stages": 4,
            },
            "latency_ms": 2.0,
            "elapsed_s": elapsed,
        }
    )
    for g in range(1, 5):
        store.append_metrics(
            {"type": "step", "epoch": (g - 1) // 2, "step": (g - 1) % 2, "global_step": g,
             "losses": {"scene": 1.0 / g}, "weights": {"scene": 1.0}, "total_loss": 1.0 / g,
             "lr": 1e-3, "images_per_s": 100.0, "time": 100.0 + g}
        )  # fmt: skip
        if g % 2 == 0:
            store.append_metrics(
                {"type": "epoch", "epoch": g // 2 - 1, "global_step": g, "train_losses": {},
                 "val_losses": {"scene": 0.5}, "val_metrics": {"scene": {"accuracy": metric}},
                 "is_best": True, "seconds": 1.0, "time": 100.5 + g}
            )  # fmt: skip
    store.close()
    return store.path


def test_compare_table_and_the_shown_run_drawn_once(qtbot, window, tmp_path):
    w = window
    root = w.runs_root()
    a = _depth_run(root, "shapes-20261128-100000", -1, 0.90, 300.0)
    b = _depth_run(root, "shapes-20261128-110000", 2, 0.95, 200.0)
    c = _depth_run(root, "shapes-20261128-120000", 0, 0.80, 100.0)
    w.runs.refresh()
    w.show_run(a)
    # the shown run is among them: drawn once, solid; a run named twice is compared once
    w.runs.compareRuns.emit([a, b, c, b, tmp_path / ".." / tmp_path.name / b.relative_to(tmp_path)])
    assert w.plots.compare_labels() == ["depth 2", "depth 0"]
    assert tuple(w.compare_view.cell_text(r, "run") for r in range(3)) == ("depth 4", "depth 2", "depth 0")
    view = w.compare_view
    assert view.isVisible() and view.grid.rowCount() == 3
    assert view.is_best(1, "metric:scene/accuracy")  # 0.95
    assert view.is_best(2, "wall")  # 100 s
    # a best cell brings its own dark text with its light background (a dark theme's light
    # text was unreadable on it)
    best = view.grid.item(1, view._table.column("metric:scene/accuracy"))
    assert best.foreground().color().lightness() < 60 < best.background().color().lightness()
    assert [view.is_best(r, "params") for r in range(3)] == [False, True, False]  # 6000, 3000, 5000
    assert view.cell_text(0, "config:model.sharing_depth") == "4"
    assert view.cell_text(2, "wall") == "1:40"
    csv_path = tmp_path / "compare.csv"
    view.export_csv(csv_path)
    lines = csv_path.read_text(encoding="utf-8").splitlines()
    assert lines[0].startswith(
        "Run,Sharing depth,scene accuracy,Best epoch,Parameters,Latency (ms),Wall time (s),Status"
    )
    assert lines[2].startswith("depth 2,2,0.95,2,3000,2.0,200.0,finished,")
    # the current run's own curve is not overlaid again
    assert all(key[0] in ("", "depth 2", "depth 0") for key in w.plots._curves)
    assert not [k for k in w.plots._curves if k[0] == "depth 4"]
    # columns as wide as their titles and cells (plus the sort arrow), not a square as tall
    # as the two-line header beside each title: the Status column fell out of the table
    from PySide6.QtCore import QPoint
    from PySide6.QtGui import QFontMetrics

    header = view.grid.horizontalHeader()
    depth_column = view._table.column("config:model.sharing_depth")
    title_width = QFontMetrics(header.font()).horizontalAdvance("Sharing")
    assert header.sectionSize(depth_column) <= title_width + 14 + 24
    # a click on a title still sorts: wall time, ascending
    x = header.sectionViewportPosition(view._table.column("wall")) + 5
    qtbot.mouseClick(header.viewport(), Qt.MouseButton.LeftButton, pos=QPoint(x, 5))
    walls = [view.grid.item(r, view._table.column("wall")).text() for r in range(3)]
    assert walls in (["1:40", "3:20", "5:00"], ["5:00", "3:20", "1:40"])
    assert header.sortIndicatorSection() == view._table.column("wall")
    w.clear_comparison()
    assert not view.isVisible() and w.plots.compare_labels() == []


def test_runs_root_is_stored_absolute(qtbot, window, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    window.set_runs_root("relative/runs")
    assert window.runs_root() == tmp_path / "relative" / "runs"
    assert window.settings.value("runs/root") == str(tmp_path / "relative" / "runs")
    monkeypatch.chdir(tmp_path / "..")  # a later launch folder changes nothing
    assert window.runs_root() == tmp_path / "relative" / "runs"


def test_training_bar_forgets_eta_and_speed_when_the_run_ends(qtbot):
    from types import SimpleNamespace

    from PySide6.QtGui import QAction

    from workbench.gui.training_bar import TrainingBar

    bar = TrainingBar(QAction("s"), QAction("p"), QAction("t"))
    qtbot.addWidget(bar)
    bar.on_run_started(SimpleNamespace(epochs=2, steps_per_epoch=10, start_step=0, start_epoch=0))
    bar.on_step(
        SimpleNamespace(epoch=0, step=3, global_step=4, steps_per_epoch=10, eta_s=125.0, images_per_s=180.0)
    )
    bar.stop_updates()
    assert bar.eta_label.text() == "ETA 0:02:05" and bar.speed_label.text() == "180 img/s"
    bar.on_paused("Paused at step 4")
    assert bar.eta_label.text() == "ETA paused" and bar.text == "Paused at step 4"
    bar.on_step(
        SimpleNamespace(epoch=0, step=4, global_step=5, steps_per_epoch=10, eta_s=120.0, images_per_s=170.0)
    )
    bar._flush()
    assert bar.text == "Paused at step 4" and bar.eta_label.text() == "ETA paused"  # a late step keeps it
    bar.clear_message()  # resumed
    bar.on_step(
        SimpleNamespace(epoch=0, step=5, global_step=6, steps_per_epoch=10, eta_s=110.0, images_per_s=170.0)
    )
    bar._flush()
    assert bar.text.startswith("epoch 1/2") and bar.eta_label.text() == "ETA 0:01:50"
    bar.set_message("Stopping…", sticky=True)
    bar.on_step(
        SimpleNamespace(epoch=0, step=6, global_step=7, steps_per_epoch=10, eta_s=100.0, images_per_s=170.0)
    )
    bar._flush()
    assert bar.text == "Stopping…"  # steps already on their way do not bring the progress text back
    bar.on_step(
        SimpleNamespace(epoch=0, step=7, global_step=8, steps_per_epoch=10, eta_s=90.0, images_per_s=170.0)
    )
    bar.finish("Stopped at step 5")  # a step still pending must not bring the old estimate back
    bar._flush()
    assert bar.text == "Stopped at step 5"
    assert bar.eta_label.text() == "ETA --:--:--" and bar.speed_label.text() == "– img/s"


def test_quit_during_validation_keeps_the_window_until_the_thread_ends(qtbot, window, tiny):
    w = window
    cfg = small(tiny, epochs=3)
    cfg = dataclasses.replace(
        cfg, data=dataclasses.replace(cfg.data, options={**cfg.data.options, "val_size": 256})
    )
    set_setup(qtbot, w, cfg)
    last_step = []

    def on_step(event):
        if event.step + 1 == event.steps_per_epoch and not last_step:
            last_step.append(event)
            w.close()  # the trainer is validating now

    w.bridge.stepEnded.connect(on_step)
    w.confirm_close = lambda: True
    states = []
    w.bridge.runningChanged.connect(lambda running: states.append((running, w.isVisible())))
    w.start_run()
    qtbot.waitUntil(lambda: bool(last_step), timeout=RUN_TIMEOUT_MS)
    assert w.isVisible() and w.is_closing() and w.bridge.is_running()
    qtbot.waitUntil(lambda: not w.isVisible(), timeout=RUN_TIMEOUT_MS)
    assert states[-1] == (False, True)  # the thread ended while the window was still up
    assert not w.bridge.is_running()
    assert summary(w.bridge.run_dir)["status"] in ("stopped", "finished")


def _info(path: Path, **fields):
    from types import SimpleNamespace

    base = dict(
        path=path, name="exp", created=1_700_000_000.0, status="finished", tasks=("scene",),
        key_metrics={"scene/accuracy": 0.5}, error="", backbone="small_cnn", sharing_depth=4,
        num_stages=4, weighting="equal_sum", best_epoch=2, epochs_done=3,
        primary_metrics={"scene": "accuracy"}, higher_is_better={"scene": True}, config={},
    )  # fmt: skip
    base.update(fields)
    return SimpleNamespace(**base)


def test_runs_table_columns_names_sorting_and_interrupted(qtbot, tmp_path, monkeypatch):
    import workbench.training.run_store as run_store
    from workbench.gui import runs_panel as rp

    root = tmp_path / "runs"
    paths = [root / f"exp-20261128-1{i}0000" for i in range(3)]
    for p in paths:
        (p / "checkpoints").mkdir(parents=True)
    (paths[1] / "checkpoints" / "last.pt").write_bytes(b"")
    cfg = lambda depth, method: {"model": {"sharing_depth": depth}, "weighting": {"method": method}}  # noqa: E731
    infos = [
        _info(paths[0], created=3.0, sharing_depth=4, best_epoch=2, key_metrics={"scene/accuracy": 0.7},
              config=cfg(-1, "equal_sum")),
        _info(paths[1], created=2.0, sharing_depth=2, best_epoch=0, status="stopped", weighting="dwa",
              key_metrics={"scene/accuracy": 0.9}, config=cfg(2, "dwa")),
        _info(paths[2], created=1.0, sharing_depth=0, best_epoch=-1, status="interrupted", epochs_done=0,
              key_metrics={}, config=cfg(0, "equal_sum")),
    ]  # fmt: skip
    monkeypatch.setattr(run_store, "list_runs", lambda root: list(infos))
    panel = rp.RunsPanel(root)
    qtbot.addWidget(panel)
    panel.refresh()
    rows = {
        panel.tree.topLevelItem(i).text(rp.COL_NAME): panel.tree.topLevelItem(i)
        for i in range(panel.tree.topLevelItemCount())
    }
    assert sorted(rows) == ["exp · depth 0 · equal_sum", "exp · depth 2 · dwa", "exp · depth 4 · equal_sum"]
    row = rows["exp · depth 2 · dwa"]
    assert (row.text(rp.COL_BACKBONE), row.text(rp.COL_DEPTH), row.text(rp.COL_WEIGHTING)) == (
        "small_cnn",
        "2 of 4",
        "dwa",
    )
    assert row.text(rp.COL_BEST) == "1 of 3"
    assert rows["exp · depth 0 · equal_sum"].text(rp.COL_BEST) == "–"
    panel.resize(400, 200)  # a narrow dock: the metrics scroll into view, they are never cut
    assert panel.metrics_fully_shown()
    interrupted = rows["exp · depth 0 · equal_sum"]
    assert interrupted.text(rp.COL_STATUS) == "interrupted"
    assert interrupted.foreground(rp.COL_STATUS).color().name() == rp.STATUS_COLOURS["interrupted"]
    assert panel.can_resume(paths[2])  # interrupted: resumable even without a checkpoint
    assert panel.can_resume(paths[1])  # stopped with a checkpoint
    assert not panel.can_resume(paths[0])  # finished

    def column(c):
        return [panel.tree.topLevelItem(i).text(c) for i in range(panel.tree.topLevelItemCount())]

    panel.tree.sortByColumn(rp.COL_DEPTH, Qt.SortOrder.AscendingOrder)
    assert column(rp.COL_DEPTH) == ["0 of 4", "2 of 4", "4 of 4"]
    panel.tree.sortByColumn(rp.COL_BEST, Qt.SortOrder.DescendingOrder)
    assert column(rp.COL_BEST) == ["3 of 3", "1 of 3", "–"]
    panel.tree.sortByColumn(rp.COL_METRICS, Qt.SortOrder.DescendingOrder)
    assert column(rp.COL_METRICS)[0] == "scene/accuracy 0.900"
    for c in range(len(rp.COLUMNS)):  # every column sorts
        panel.tree.sortByColumn(c, Qt.SortOrder.AscendingOrder)
        assert panel.tree.sortColumn() == c
    rebuilt = panel.rebuild_count
    panel.refresh()  # the live poll finding nothing new: no rebuild
    assert panel.rebuild_count == rebuilt
    infos[0] = _info(paths[0], created=3.0, status="running", config=cfg(-1, "equal_sum"))
    panel.refresh()
    assert panel.rebuild_count == rebuilt + 1


def test_a_squeezed_setup_layout_is_restored_readable_and_a_check_saves_nothing(qtbot, tmp_path):
    """A dock layout saved with the setup 68 px wide (an offscreen check on a small screen
    did that to the user's settings) comes back at least SETUP_MIN_WIDTH wide; a window that
    is not the user's session (``remember_layout = False``, the smoke test) saves nothing."""
    from workbench.gui.main_window import SETUP_MIN_WIDTH, MainWindow

    path = str(tmp_path / "settings.ini")
    w = MainWindow(settings=QSettings(path, QSettings.Format.IniFormat))
    w.confirm_close = lambda: True
    qtbot.addWidget(w)
    w.show()
    qtbot.waitExposed(w)
    w.resizeDocks([w.setup_dock], [68], Qt.Orientation.Horizontal)
    assert w.setup_dock.width() >= SETUP_MIN_WIDTH  # not even by hand
    assert w.close()
    check = MainWindow(settings=QSettings(path, QSettings.Format.IniFormat))
    check.confirm_close = lambda: True
    qtbot.addWidget(check)
    check.show()
    qtbot.waitExposed(check)
    assert check.setup_dock.width() >= SETUP_MIN_WIDTH
    check.resize(700, 500)
    stored = bytes(QSettings(path, QSettings.Format.IniFormat).value("window/geometry"))
    check.remember_layout = False
    assert check.close()
    assert bytes(QSettings(path, QSettings.Format.IniFormat).value("window/geometry")) == stored


def test_a_run_with_a_damaged_samples_file_opens_and_names_it(qtbot, window, tmp_path):
    """The curves of a run are not lost to one damaged samples file: the run opens, the
    inspector says which file cannot be shown, and no exception escapes a slot."""
    from conftest import tiny_config

    from workbench.training.run_store import RunStore
    from workbench.training.trainer import Trainer

    w = window
    cfg = tiny_config()
    cfg.train.epochs = 2
    store = RunStore.create(w.runs_root(), "samples")
    assert Trainer(cfg, store).run()["status"] == "finished"
    bad = store.samples_path(1)
    bad.write_bytes(b"garbage, not a zip")
    hooked = []
    previous = sys.excepthook
    sys.excepthook = lambda *info: hooked.append(info)
    try:
        w.show_run(store.path)
        qtbot.wait(200)
    finally:
        sys.excepthook = previous
    assert hooked == [] and w._shown_run == store.path
    assert len(w.plots.curve_points("train_loss", "scene")[0]) > 0  # the curves are shown
    assert w.inspector.current_epoch() == 1
    assert str(bad) in w.inspector.last_error and "not a readable samples file" in w.inspector.last_error
    w.inspector.select_epoch(0)  # the other epoch's samples still show
    qtbot.waitUntil(lambda: len(w.inspector.shown_indices()) > 0, timeout=10_000)


def test_a_finished_run_whose_log_is_empty_says_so_not_no_steps_yet(qtbot, window, tmp_path):
    from conftest import tiny_config

    from workbench.training.run_store import RunStore
    from workbench.training.trainer import Trainer

    w = window
    store = RunStore.create(w.runs_root(), "emptied")
    assert Trainer(tiny_config(), store).run()["status"] == "finished"
    steps = store.read_summary()["global_step"]
    store.metrics_path.write_bytes(b"")
    w.show_run(store.path)
    said = f"metrics.jsonl is empty or missing, though the run trained {steps} step(s)"
    assert said in w.plots._empty_note.text() and "yet" not in w.plots._empty_note.text()
    assert said in w.statusBar().full_message()
    # compared beside a run with a log: in the table, not in the legend as drawn, and said
    other = RunStore.create(w.runs_root(), "logged")
    assert Trainer(tiny_config(), other).run()["status"] == "finished"
    w.show_run(other.path)
    w.compare_runs([other.path, store.path])
    assert w.plots.compare_labels() == []
    assert w.compare_view.grid.rowCount() == 2
    assert "no curves for" in w.statusBar().full_message()
    assert "metrics.jsonl is empty or missing" in w.statusBar().full_message()


def test_quitting_stops_a_running_command_and_a_stop_at_its_start_reads_stopped(qtbot, window, tmp_path):
    """A baselines or sweep command never goes on training after the window is gone; a
    Stop before the command handles SIGTERM is a stop, not 'exit code 15'."""
    from conftest import tiny_config

    from workbench.experiment_check import save_config
    from workbench.gui.command_dialog import CommandDialog

    w = window
    cfg = tiny_config()
    cfg.train.epochs = 500
    save_config(cfg, tmp_path / "long.toml")
    early = CommandDialog("early", ["train", str(tmp_path / "long.toml"), "--out", str(tmp_path / "a")], w)
    with qtbot.waitSignal(early.done, timeout=60_000):
        early.stop()  # at once: Python has not started yet
    assert early.status.text().startswith("Stopped.")

    dialog = CommandDialog(
        "Long training", ["train", str(tmp_path / "long.toml"), "--out", str(tmp_path / "b")], w
    )
    qtbot.waitUntil(
        lambda: "step" in dialog.output.toPlainText() or "epoch" in dialog.output.toPlainText(),
        timeout=120_000,
    )
    asked = []
    w.confirm_stop_commands = lambda names: asked.append(names) or True
    assert w.running_commands() == [dialog]
    w.close()
    assert asked == ["Long training"]
    # the window stays up, responsive, saying it is stopping, and closes once the command ended
    assert w.isVisible() and "stopping" in w.windowTitle()
    w.close()  # a second Quit while it stops is no second question
    assert asked == ["Long training"]
    qtbot.waitUntil(lambda: not w.isVisible(), timeout=60_000)
    assert not dialog.running()
    (run,) = (tmp_path / "b").iterdir()
    assert json.loads((run / "summary.json").read_text())["status"] == "stopped"


def test_unknown_values_sort_last_in_both_directions(qtbot, tmp_path):
    from workbench.gui.runs_panel import COL_DELTA, RunsPanel
    from workbench.training.run_store import RunStore

    root = tmp_path / "runs"
    for name, created, delta in (("a", 1.0, 1.0), ("b", 2.0, None), ("c", 3.0, -2.0)):
        path = _fake_run(root, name, "finished", 1_700_000_000.0 + created, 0.5)
        if delta is not None:
            store = RunStore(path)
            summary = store.read_summary()
            summary["delta_m"] = {"maninis": delta, "libmtl": -delta, "per_task": {}, "metric": {}}
            store.write_summary(summary)
    panel = RunsPanel(root)
    qtbot.addWidget(panel)
    panel.refresh()
    order = lambda: [panel.tree.topLevelItem(i).text(0) for i in range(panel.tree.topLevelItemCount())]  # noqa: E731
    panel.tree.sortItems(COL_DELTA, Qt.SortOrder.AscendingOrder)
    assert order() == ["c", "a", "b"]
    panel.tree.sortItems(COL_DELTA, Qt.SortOrder.DescendingOrder)
    assert order() == ["a", "c", "b"]


def test_a_finished_run_whose_data_folder_is_gone_still_opens(qtbot, window, tmp_path):
    """Its curves, metrics, predictions and checkpoints are on disk: a moved data folder gave
    "Cannot open run ... No such file or directory" and nothing shown."""
    import shutil

    from conftest import finished_folder_run

    w = window
    root = tmp_path / "set"
    store = finished_folder_run(root, w.runs_root(), "moved")
    shutil.move(root, tmp_path / "elsewhere")
    errors = []
    w.errorShown.connect(lambda *args: errors.append(args))
    w.show_run(store.path)
    qtbot.waitUntil(lambda: w._shown_run == store.path, timeout=20_000)
    qtbot.wait(200)
    assert errors == []
    assert len(w.plots.curve_points("train_loss", "colour")[0]) > 0
    assert w.inspector.epochs() == [0]


def test_a_shown_run_whose_folder_is_removed_is_said_once(qtbot, window):
    """Deleting the folder of the run shown left its curves and name up without a word."""
    import shutil

    w = window
    run = _fake_run(w.runs_root(), "gone", "finished", 1_700_000_000.0, 0.5)
    w.runs.openRun.emit(run)
    qtbot.waitUntil(lambda: w._shown_run is not None and w._shown_run.name == "gone", timeout=10_000)
    shutil.rmtree(run)
    w._check_shown_run_still_there()
    assert w.plots.run_label.full_text() == "(removed) gone"
    assert w.statusBar().full_message() == "Run folder gone was removed: showing what was read before."
    w.statusBar().clearMessage()
    w._check_shown_run_still_there()  # said once, not every 2 s
    assert w.statusBar().full_message() == ""


def test_a_compared_run_whose_folder_is_removed_is_said(qtbot, window):
    import shutil

    w = window
    first = _fake_run(w.runs_root(), "first", "finished", 1_700_000_000.0, 0.5)
    second = _fake_run(w.runs_root(), "second", "finished", 1_700_000_100.0, 0.6)
    w.compare_runs([first, second])
    qtbot.waitUntil(lambda: w.compare_view.table() is not None, timeout=10_000)
    shutil.rmtree(second)
    w._check_shown_run_still_there()
    assert (
        w.statusBar().full_message()
        == "Run folder second (compared) was removed: showing what was read before."
    )


def test_a_long_comparison_leaves_the_plots_most_of_the_tab(qtbot, window):
    """Eight runs at 1,024 x 700: the table took all but ~100 px of the tab."""
    w = window
    w.resize(1024, 700)
    runs = [
        _fake_run(w.runs_root(), f"r{i}", "finished", 1_700_000_000.0 + i, 0.5 + i / 100) for i in range(8)
    ]
    w.compare_runs(runs)
    qtbot.waitUntil(lambda: w.compare_view.table() is not None, timeout=10_000)
    table, plots = w.curves_tab.sizes()
    assert w.compare_view.sizeHint().height() > table  # it scrolls instead
    assert table <= max(120, (table + plots) // 3) + 2


def test_a_short_window_folds_the_comparison_table_to_give_the_plots_a_row(qtbot, window):
    """At 1,024 x 700 with six long task names and the runs dock open, the two-row table
    left the plots 65 px. Where the table's minimum leaves the plots less than one row of
    MIN_ROW_PX, it folds to its title row and says so; ▸ unfolds it, and a choice the
    user made is kept for the next comparison."""
    w = window
    w.resize(1024, 480)
    qtbot.waitUntil(lambda: w.height() <= 520)
    runs = [
        _fake_run(w.runs_root(), f"r{i}", "finished", 1_700_000_000.0 + i, 0.5 + i / 100) for i in range(3)
    ]
    w.compare_runs(runs)
    qtbot.waitUntil(lambda: w.compare_view.table() is not None, timeout=10_000)
    view = w.compare_view
    total = sum(w.curves_tab.sizes())
    assert total - view.minimumSizeHint().height() < w.plots.header_height() + w.plots.MIN_ROW_PX or (
        view.table_shown()
    )  # the premise: at this height the table's minimum leaves less than a row
    assert not view.table_shown() and not view.grid.isVisibleTo(view)
    table, plots = w.curves_tab.sizes()
    assert table <= view.folded_height() + 4
    assert "folded" in w.statusBar().full_message()

    view.table_button.click()  # the user unfolds it
    assert view.table_shown() and view.grid.isVisibleTo(view)
    qtbot.waitUntil(lambda: w.curves_tab.sizes()[0] >= view.minimumSizeHint().height() - 2)
    w.compare_runs(runs)  # compared again: the user's choice stands
    qtbot.waitUntil(lambda: w.compare_view.table() is not None, timeout=10_000)
    qtbot.wait(50)
    assert view.table_shown()


def test_a_tall_window_keeps_the_comparison_table_unfolded(qtbot, window):
    w = window
    w.resize(1440, 900)
    runs = [
        _fake_run(w.runs_root(), f"r{i}", "finished", 1_700_000_000.0 + i, 0.5 + i / 100) for i in range(3)
    ]
    w.compare_runs(runs)
    qtbot.waitUntil(lambda: w.compare_view.table() is not None, timeout=10_000)
    qtbot.wait(50)
    assert w.compare_view.table_shown()
    table, plots = w.curves_tab.sizes()
    assert plots >= w.plots.header_height() + w.plots.MIN_ROW_PX


def test_runs_panel_polls_fast_while_a_terminal_run_reads_its_data(qtbot, tmp_path):
    """A run started from a terminal makes its folder (lock only) long before config.toml:
    the folder watch fired too early and the 20 s idle poll kept it out of the list. A live
    lock without a config starts the 3 s poll; a stale one does not."""
    import json
    import os
    import socket
    import time

    from workbench.gui.runs_panel import RunsPanel

    root = tmp_path / "runs"
    _fake_run(root, "done", "finished", 1_700_000_000.0, 0.5)
    panel = RunsPanel(root)
    qtbot.addWidget(panel)
    panel.refresh()
    assert not panel._live_poll.isActive()
    starting = root / "starting-20261202-120000"
    starting.mkdir()
    lock = {"pid": os.getpid(), "host": socket.gethostname(), "started": time.time()}
    (starting / ".lock").write_text(json.dumps(lock))
    panel.refresh()
    assert panel._live_poll.isActive()
    (starting / ".lock").write_text(json.dumps({**lock, "pid": 2**22 + 12345}))  # a process gone
    panel.refresh()
    assert not panel._live_poll.isActive()


def test_a_long_runs_folder_is_shortened_in_its_middle(qtbot, tmp_path):
    """A runs folder of many characters showed its start and was cut at the label's edge,
    without "…": its end (the folder's own name) is kept, the whole path in the tooltip."""
    from workbench.gui.runs_panel import RunsPanel

    root = tmp_path / ("long folder name " * 12).strip() / "my runs here"
    panel = RunsPanel(root)
    qtbot.addWidget(panel)
    panel.resize(760, 300)
    panel.show()
    qtbot.waitUntil(lambda: "…" in panel.root_label.text())
    shown = panel.root_label.text()
    assert shown.startswith("Folder: ") and shown.endswith("my runs here")
    assert panel.root_label.fontMetrics().horizontalAdvance(shown) <= panel.root_label.width()
    assert panel.root_label.toolTip() == str(root.resolve())


def test_problems_met_in_the_data_are_in_the_status_bar_until_the_run_ends(qtbot, window):
    """The note of problems met while training was cut in its file's path ("e.g.
    /tmp/…/imag…") and replaced a second later by "Run finished": the status bar names the
    file by its name, and the finish message counts the problems."""
    import dataclasses

    from workbench.training.events import EpochEnded, RunFinished

    w = window
    w._data_problems_met = 0
    event = EpochEnded(
        epoch=0,
        global_step=4,
        train_losses={"scene": 1.0},
        val_losses={"scene": 1.0},
        val_metrics={"scene": {"accuracy": 0.5}},
        is_best=True,
        seconds=1.0,
        data_note="note: epoch 1 met 3 more problems … e.g. /very/long/path/000005.png: damaged",
        data_problems=3,
        data_note_short="epoch 1 met 3 more problems in the data as its images were read, e.g. 000005.png: damaged",
    )
    w._on_epoch(event)
    assert (
        w.statusBar()
        .full_message()
        .startswith(
            "Epoch 1 met 3 more problems in the data as its images were read, e.g. 000005.png: damaged · Epoch 1/"
        )
    )
    w._on_epoch(dataclasses.replace(event, epoch=1, data_problems=2, data_note_short="epoch 2 met 2 …"))
    w._on_finished(RunFinished(summary={"status": "finished", "elapsed_s": 3.0}))
    assert (
        w.statusBar()
        .full_message()
        .endswith(
            "; 5 problems met in the data while training: import_report.txt in the run folder lists them"
        )
    )
