"""Stop while a run reads its data: honoured between two images, not after the whole set
(3,000 files took 16 s, minutes on a loaded machine, and Stop waited for all of it). A new
run ends "stopped" with nothing written; a resumed one is left exactly as it was."""

from __future__ import annotations

import json

import pytest
from conftest import tiny_config
from PIL import Image

from workbench.config import DataConfig, TaskConfig
from workbench.data import real_dataset
from workbench.data.read_stop import ReadStopped, check_stop, stop_reading_when
from workbench.training.control import RunControl
from workbench.training.events import RunStopped
from workbench.training.run_store import RunStore
from workbench.training.trainer import Trainer


def _yolo_cfg(tmp_path, n=12):
    root = tmp_path / "set"
    (root / "images").mkdir(parents=True)
    (root / "labels").mkdir()
    for i in range(n):
        Image.new("RGB", (32, 32), (15 * i, 90, 40)).save(root / "images" / f"{i:02d}.png")
        (root / "labels" / f"{i:02d}.txt").write_text(f"{i % 2} 0.5 0.5 0.4 0.4\n")
    (root / "data.yaml").write_text("names: [red, green]\ntrain: images\n")
    cfg = tiny_config()
    cfg.train.epochs, cfg.train.batch_size, cfg.train.num_samples = 2, 4, 0
    cfg.data = DataConfig(source="yolo", path=str(root), options={"image_size": 32, "val_fraction": 0.25})
    cfg.tasks = [TaskConfig(name="present", kind="multilabel"), TaskConfig(name="n", kind="counting")]
    return cfg


class _StopAfterProbes:
    """A stop flag that turns true after ``n`` images were probed (a Stop mid-read)."""

    def __init__(self, control: RunControl, n: int) -> None:
        self.control, self.n, self.asked = control, n, 0

    def __call__(self) -> bool:
        self.asked += 1
        if self.asked > self.n:
            self.control.request_stop()
        return self.control.stop_requested


def test_check_stop_raises_only_inside_a_stoppable_read():
    check_stop()  # no wrapper: `data check` and everything else read as before
    flag = [False]
    with stop_reading_when(lambda: flag[0]):
        check_stop()
        flag[0] = True
        with pytest.raises(ReadStopped, match="stopped while reading the data"):
            check_stop()
    check_stop()  # the wrapper is gone with its block


def test_a_new_run_stopped_mid_read_ends_stopped_with_nothing_written(tmp_path, monkeypatch):
    cfg = _yolo_cfg(tmp_path)
    real_dataset._READ_CACHE.clear()  # read from the files, not from an earlier test's read
    control = RunControl()
    flag = _StopAfterProbes(control, 3)
    import workbench.training.trainer as trainer_module

    real = trainer_module.stop_reading_when
    monkeypatch.setattr(trainer_module, "stop_reading_when", lambda _: real(flag))
    store = RunStore.create(tmp_path / "runs", cfg.name)
    events = []
    summary = Trainer(cfg, store, control, [events.append]).run()
    assert flag.asked == 4  # the 4th image saw the stop: the other 8 were never probed
    assert summary["status"] == "stopped" and summary["not_started"] is True
    assert summary["note"] == "stopped while reading the data, before the run's first step; nothing was saved"
    assert [type(e) for e in events] == [RunStopped]
    assert events[0].reason == "stopped while reading the data; nothing was saved"
    assert list(store.path.iterdir()) == []  # not even the lock: the app and `train` remove the folder


def test_a_resume_stopped_mid_read_leaves_the_run_as_it_was(tmp_path):
    cfg = _yolo_cfg(tmp_path)
    store = RunStore.create(tmp_path / "runs", cfg.name)
    control = RunControl()
    first = Trainer(
        cfg, store, control, [lambda e: control.request_stop() if type(e).__name__ == "StepEnded" else None]
    )
    assert first.run()["status"] == "stopped"
    before = {p.name: p.read_bytes() for p in store.path.rglob("*") if p.is_file()}
    real_dataset._READ_CACHE.clear()
    again = RunControl()
    again.request_stop()  # asked before the first image was probed
    summary = Trainer(cfg, RunStore(store.path), again, resume=True).run()
    assert summary["status"] == "stopped" and summary["not_started"] is True
    after = {p.name: p.read_bytes() for p in store.path.rglob("*") if p.is_file()}
    assert after == before  # summary, checkpoint and log untouched
    assert json.loads(before["summary.json"])["global_step"] == 1


def test_train_on_the_command_line_stopped_mid_read_says_nothing_was_saved(tmp_path, monkeypatch, capsys):
    """`workbench train` reads the data itself before the run; its trainer reads it again
    (from memory unless the files changed): a stop in the trainer's read ends the command."""
    import signal

    from workbench.cli import main
    from workbench.experiment_check import save_config

    cfg = _yolo_cfg(tmp_path)
    path = tmp_path / "exp.toml"
    save_config(cfg, path)
    import workbench.training.trainer as trainer_module

    real = trainer_module.stop_reading_when

    def stop_now(flag):  # a SIGINT as the trainer's read begins
        real_dataset._READ_CACHE.clear()
        signal.raise_signal(signal.SIGINT)
        return real(flag)

    monkeypatch.setattr(trainer_module, "stop_reading_when", stop_now)
    assert main(["train", str(path), "--out", str(tmp_path / "runs"), "--quiet"]) == 130
    out = capsys.readouterr().out
    assert "stopped while reading the data; nothing was saved" in out
    assert "continue with" not in out
    assert not any((tmp_path / "runs").iterdir())  # its empty folder is gone


def test_a_baseline_stopped_while_reading_is_said_as_stopped_not_refused():
    from workbench.training.outcome import no_result_reason

    assert no_result_reason({"status": "stopped", "not_started": True}) == (
        "it was stopped while reading its data; run the command again to continue"
    )
    assert (
        no_result_reason({"status": "failed", "not_started": True, "error": "x"})
        == "it could not be resumed: x"
    )
