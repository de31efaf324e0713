"""Faults a fuzzer of the configuration space found, each fixed as a class."""

from __future__ import annotations

import json

import pytest
from conftest import tiny_config

from workbench.config import ConfigError
from workbench.experiment_check import validate_experiment


@pytest.mark.parametrize(("optimizer", "lr", "wd", "refused"), [
    ("adamw", 10.0, 1.0, True),   # 1 - 10 * 1 = -9: the weights flip and grow each step
    ("sgd", 2.0, 0.5, True),      # 1 - 2 * 0.5 = 0: every decayed weight is zeroed each step
    ("adamw", 10.0, 0.09, False), # 1 - 0.9 = 0.1: shrinks, but stays a decay
    ("adam", 10.0, 1.0, False),   # Adam's decay is L2 in the normalised gradient: no such factor
])  # fmt: skip
def test_a_weight_decay_that_flips_or_zeroes_the_weights_is_refused(optimizer, lr, wd, refused):
    cfg = tiny_config()
    cfg.optim.optimizer, cfg.optim.lr, cfg.optim.weight_decay = optimizer, lr, wd
    if not refused:
        validate_experiment(cfg)
        return
    with pytest.raises(ConfigError) as err:
        validate_experiment(cfg)
    assert err.value.path == "optim.weight_decay"
    assert f"multiplies the weights by 1 - lr * weight_decay = {1 - lr * wd:g}" in str(err.value)


def test_a_run_whose_training_diverged_says_so_and_names_the_learning_rate(tmp_path):
    from types import SimpleNamespace

    from workbench.training.run_store import RunStore
    from workbench.training.trainer import NonFiniteLoss, Trainer

    cfg = tiny_config()
    cfg.optim.lr = 10.0
    trainer = Trainer(cfg, RunStore.create(tmp_path, "d"))
    validation = SimpleNamespace(losses={"scene": float("nan"), "n": 1.0}, metrics={})
    with pytest.raises(NonFiniteLoss) as err:
        trainer._check_finite(validation, 0, {"scene": 5.5e9, "n": 0.3})
    assert "the training had diverged before it (scene 5.5e+09 mean training loss this epoch)" in str(
        err.value
    )
    assert "lower optim.lr (now 10)" in str(err.value)
    with pytest.raises(NonFiniteLoss) as err:  # losses that were ordinary: no such claim
        trainer._check_finite(validation, 0, {"scene": 2.0, "n": 0.3})
    assert "diverged" not in str(err.value)
    trainer.lock.release()


def test_quiet_still_says_the_unlabelled_tasks_note(capsys):
    from workbench.cli_progress import ProgressPrinter
    from workbench.training.events import EpochEnded

    printer = ProgressPrinter(enabled=False, notes=True)
    labelled = {"c": {"train": 4, "val": 0}, "l": {"train": 4, "val": 0}}
    event = EpochEnded(0, 2, {}, {}, {}, False, 1.0, labelled=labelled)
    printer(event)
    printer(event)  # said once
    err = capsys.readouterr().err
    assert err.count("note: no validation image labels tasks 'c', 'l': their validation losses") == 1


def test_a_batch_larger_than_the_training_set_is_said(tmp_path):
    """batch_size 8 on 3 training images trained one step of 3 an epoch without a word
    (the README's train_size // batch_size would be 0 steps)."""
    from workbench.training.run_store import RunStore
    from workbench.training.trainer import Trainer

    cfg = tiny_config()
    cfg.train.epochs, cfg.train.batch_size, cfg.train.num_samples = 1, 8, 0
    cfg.data.options.update(image_size=32, train_size=3, val_size=2)
    summary = Trainer(cfg, RunStore.create(tmp_path, "b")).run()
    assert summary["status"] == "finished" and summary["global_step"] == 1
    assert (
        "train.batch_size = 8 is more than the 3 training images: each step takes all 3, one step an epoch"
        in summary["notes"]
    )


def _yolo_one_class(root):
    from PIL import Image

    (root / "images").mkdir(parents=True)
    (root / "labels").mkdir()
    for i in range(6):
        Image.new("RGB", (32, 32)).save(root / "images" / f"{i}.png")
        (root / "labels" / f"{i}.txt").write_text("0 .5 .5 .2 .2\n")
    (root / "data.yaml").write_text("names: [person]\ntrain: images\n")
    return root


@pytest.mark.parametrize("kind", ["classification"])
def test_a_task_with_one_class_is_refused_up_front_naming_its_config_file(tmp_path, capsys, kind):
    """A one-class set with a classification task trained into a raw
    "ValueError: Expected argument `num_classes` to be an integer larger than 1" at the
    first validation; the refusal of a task the data cannot feed also lacked "(in FILE)"."""
    from workbench.cli import main
    from workbench.config import DataConfig, TaskConfig
    from workbench.experiment_check import save_config

    cfg = tiny_config()
    cfg.tasks = [TaskConfig(name="t", kind=kind), TaskConfig(name="n", kind="counting")]
    cfg.data = DataConfig(
        source="yolo", path=str(_yolo_one_class(tmp_path / "set")), options={"image_size": 32}
    )
    path = tmp_path / "exp.toml"
    save_config(cfg, path)
    assert main(["train", str(path), "--out", str(tmp_path / "runs"), "--quiet"]) == 2
    err = capsys.readouterr().err.strip().splitlines()[-1]
    assert err == (
        f"error: config: data.source: task 't' ({kind}) needs at least 2 classes; this data has 1 (person) "
        f"(in {path})"
    )
    assert not (tmp_path / "runs").exists() or not any((tmp_path / "runs").iterdir())


def test_a_multilabel_task_on_a_one_class_set_trains_as_presence(tmp_path):
    """Single-class box sets are common (people, cars); a multilabel task on one was
    refused ("needs at least 2 classes"): it is the image-level "is one there?" task."""
    from PIL import Image

    from workbench.cli import main
    from workbench.config import DataConfig, TaskConfig
    from workbench.experiment_check import save_config

    root = _yolo_one_class(tmp_path / "set")
    for i in range(6, 10):  # images without a person
        Image.new("RGB", (32, 32), (90, 90, 90)).save(root / "images" / f"{i}.png")
        (root / "labels" / f"{i}.txt").write_text("")
    cfg = tiny_config()
    cfg.tasks = [TaskConfig(name="person", kind="multilabel"), TaskConfig(name="n", kind="counting")]
    cfg.data = DataConfig(source="yolo", path=str(root), options={"image_size": 32, "val_fraction": 0.5})
    path = tmp_path / "exp.toml"
    save_config(cfg, path)
    assert main(["train", str(path), "--out", str(tmp_path / "runs"), "--quiet"]) == 0
    (run,) = (tmp_path / "runs").iterdir()
    final = json.loads((run / "summary.json").read_text())["final_metrics"]["person"]
    assert 0.0 <= final["map"] <= 1.0 and 0.0 <= final["f1"] <= 1.0
