"""A run keeps its train/val split (RUN/split.json): a resume or an eval after the data
folder changed never moves an image between training and validation."""

from __future__ import annotations

import json

import pytest
from PIL import Image

from workbench.cli import main
from workbench.config import DataConfig, ExperimentConfig, TaskConfig, TrainConfig
from workbench.data import build_dataset
from workbench.training.control import RunControl
from workbench.training.events import EpochEnded
from workbench.training.run_split import SPLIT_FILE
from workbench.training.run_store import RunStore
from workbench.training.trainer import Trainer


def _folder_set(root, per_class=10):
    for c, colour in (("red", (200, 30, 30)), ("blue", (30, 30, 200))):
        (root / c).mkdir(parents=True, exist_ok=True)
        for i in range(per_class):
            Image.new("RGB", (24, 24), colour).save(root / c / f"{c}{i:02d}.png")


def _cfg(root, epochs=2):
    return ExperimentConfig(
        name="split",
        data=DataConfig(source="folder", path=str(root), options={"image_size": 32, "val_fraction": 0.25}),
        tasks=[TaskConfig(name="colour", kind="classification")],
        train=TrainConfig(epochs=epochs, batch_size=5, device="cpu", num_samples=0),
    )


def _stop_after_first_epoch():
    control = RunControl()

    def listen(event):
        if isinstance(event, EpochEnded):
            control.request_stop()

    return control, listen


def _names(data_cfg, split):
    return build_dataset(data_cfg, split).split_names()


def test_a_resume_after_the_folder_changed_trains_and_validates_on_the_images_it_started_with(tmp_path):
    root = tmp_path / "set"
    _folder_set(root)
    cfg = _cfg(root)
    store = RunStore.create(tmp_path / "runs", "split")
    control, listen = _stop_after_first_epoch()
    assert Trainer(cfg, store, control, [listen]).run()["status"] == "stopped"
    kept = json.loads((store.path / SPLIT_FILE).read_text())
    (entry,) = kept["sources"]
    assert entry["val"] == _names(cfg.data, "val") and entry["train"] == _names(cfg.data, "train")
    assert len(entry["val"]) == 5 and len(entry["train"]) == 15  # round(20 * 0.25)
    assert not set(entry["val"]) & set(entry["train"])

    # one validation image removed, three images added: the seeded draw moves most images
    gone = entry["val"][0]
    (root / gone).unlink()
    for i in range(3):
        Image.new("RGB", (24, 24), (200, 30, 30)).save(root / "red" / f"new{i}.png")
    redrawn_val = set(_names(cfg.data, "val"))
    assert redrawn_val & set(entry["train"])  # what a resume would have validated on before

    seen = {}

    def record(event):
        if isinstance(event, EpochEnded):
            seen["labelled"] = event.labelled["colour"]

    resumed = Trainer(cfg, store, RunControl(), [record], resume=True)
    summary = resumed.run()
    assert summary["status"] == "finished"
    assert resumed.exp.val_set.split_names() == [n for n in entry["val"] if n != gone]
    assert resumed.exp.train_set.split_names() == entry["train"]
    assert seen["labelled"] == {"train": 15, "val": 4}
    notes = [n for n in summary["notes"] if str(root) in n]
    assert notes == [
        f"{root}: of the run's 5 validation images, 1 is no longer in the set ({gone}); it validates on the 4 left",
        f"{root}: 3 image(s) added since the run started are not used (red/new0.png, red/new1.png, "
        "red/new2.png); a new run uses them",
    ]
    report = (store.path / "import_report.txt").read_text(encoding="utf-8")
    assert "of the run's 5 validation images, 1 is no longer in the set" in report
    assert json.loads((store.path / SPLIT_FILE).read_text()) == kept  # the stored split is never redrawn
    assert summary["task_classes"] == {"colour": ["blue", "red"]}  # what the compare view tells apart


def test_eval_scores_the_runs_validation_images_and_says_what_is_gone(tmp_path, capsys):
    root = tmp_path / "set"
    _folder_set(root)
    cfg = _cfg(root, epochs=1)
    store = RunStore.create(tmp_path / "runs", "split")
    assert Trainer(cfg, store).run()["status"] == "finished"
    (entry,) = json.loads((store.path / SPLIT_FILE).read_text())["sources"]
    for name in entry["val"][:2]:
        (root / name).unlink()
    capsys.readouterr()
    assert main(["eval", str(store.path)]) == 0
    out, err = capsys.readouterr()
    assert "of the run's 5 validation images, 2 are no longer in the set" in err
    assert "scored 3 validation image(s)" in out
    assert "colour (3 labelled): loss" in out
    written = json.loads((store.path / "eval_best.json").read_text())
    assert written["images"] == 3 and written["labelled"] == {"colour": 3}


def test_export_verifies_on_distinct_readable_images(tmp_path):
    """A damaged validation image is stood in for by the next one: the export's check
    must not compare that image twice and count it as two."""
    from workbench.export.run_export import export_run

    root = tmp_path / "set"
    _folder_set(root)
    cfg = _cfg(root, epochs=1)
    store = RunStore.create(tmp_path / "runs", "split")
    assert Trainer(cfg, store).run()["status"] == "finished"
    (entry,) = json.loads((store.path / SPLIT_FILE).read_text())["sources"]
    import numpy as np

    damaged = root / entry["val"][1]  # its header reads, its pixels do not (cut short)
    noise = np.random.default_rng(0).integers(0, 255, (64, 64, 3), dtype=np.uint8)
    Image.fromarray(noise).save(damaged)
    damaged.write_bytes(damaged.read_bytes()[:2000])
    result = export_run(store.path, "torchscript", log=lambda m: None)
    assert result.images == 4


@pytest.mark.parametrize(
    ("content", "says"),
    [
        ("{not json", "unreadable"),
        ('{"version": 1, "sources": [{"train": ["a.png"], "val": 3}]}', "sources[0] must hold"),
        ('{"version": 1, "sources": [null, null]}', "a split of 2 data source(s); the experiment has 1"),
    ],
)
def test_a_damaged_split_file_refuses_the_resume_and_changes_nothing(tmp_path, content, says):
    root = tmp_path / "set"
    _folder_set(root)
    store = RunStore.create(tmp_path / "runs", "split")
    control, listen = _stop_after_first_epoch()
    Trainer(_cfg(root), store, control, [listen]).run()
    (store.path / SPLIT_FILE).write_text(content)
    before = store.read_summary()
    summary = Trainer(_cfg(root), store, RunControl(), resume=True).run()
    assert summary["status"] == "failed" and summary.get("not_started")
    assert str(store.path / SPLIT_FILE) in summary["error"] and says in summary["error"]
    assert "\n" not in summary["error"]
    assert store.read_summary() == before


def test_a_run_whose_data_folder_moved_resumes_from_the_new_place(tmp_path, capsys):
    """The run keeps its split, so a changed data.path finds the same images: allowed and
    logged; the refusal of other changes is printed whole, command included."""
    import shutil

    from workbench.experiment_check import save_config

    root = tmp_path / "set"
    _folder_set(root)
    store = RunStore.create(tmp_path / "runs", "split")
    control, listen = _stop_after_first_epoch()
    Trainer(_cfg(root), store, control, [listen]).run()
    moved = tmp_path / "elsewhere" / "a much longer folder name than before, to be shown whole"
    shutil.move(str(root), str(moved))
    capsys.readouterr()
    whole = (
        f"error: {root}: the run's data is not there any more; if it moved, set its new place as data.path "
        f"in {store.config_path} (the run finds the images it used there)"
    )
    assert main(["eval", str(store.path)]) == 1
    assert capsys.readouterr().err.strip() == whole
    # export said "No such file or directory"; the commands that take a run say it alike now
    assert main(["export", str(store.path)]) == 1
    assert capsys.readouterr().err.strip() == whole
    assert main(["resume", str(store.path), "--quiet"]) == 1
    assert capsys.readouterr().err.strip() == (
        f"error: {root}: the run's data is not there any more; if it moved, set its new place as data.path "
        f"in {store.config_path} (the run finds the images it used there)"
    )
    cfg = store.read_config()
    cfg.data.path = str(moved)
    cfg.optim.lr = 5e-4  # not allowed: the refusal names it and ends in the command
    save_config(cfg, store.config_path)
    assert main(["resume", str(store.path), "--quiet"]) == 1
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0 and "optim.lr: 0.002 -> 0.0005" in err
    assert err.endswith(f"workbench train CONFIG --init-from {store.last_checkpoint}")
    cfg.optim.lr = 2e-3
    save_config(cfg, store.config_path)
    assert main(["resume", str(store.path), "--quiet"]) == 0
    summary = store.read_summary()
    assert summary["status"] == "finished"
    assert summary["config_changes"] == [f"data.path: '{root}' -> '{moved}'"]  # whole, not cut
    # eval warned of the moved data.path (and a raised epochs) on every call: allowed changes
    capsys.readouterr()
    cfg.train.epochs = 3
    save_config(cfg, store.config_path)
    assert main(["eval", str(store.path)]) == 0
    assert "differs from the checkpoint's config" not in capsys.readouterr().err
    cfg.data.options["image_size"] = 48  # what the model sees: said
    save_config(cfg, store.config_path)
    assert main(["eval", str(store.path)]) == 0
    err = capsys.readouterr().err
    assert "differs from the checkpoint's config (data.options.image_size: 32 -> 48)" in err


def test_without_a_kept_split_a_moved_data_folder_is_still_refused(tmp_path, capsys):
    """A run from before runs kept their split cannot tell the same images from others."""
    import shutil

    from workbench.experiment_check import save_config

    root = tmp_path / "set"
    _folder_set(root)
    store = RunStore.create(tmp_path / "runs", "split")
    control, listen = _stop_after_first_epoch()
    Trainer(_cfg(root), store, control, [listen]).run()
    (store.path / SPLIT_FILE).unlink()
    moved = tmp_path / "moved"
    shutil.move(str(root), str(moved))
    cfg = store.read_config()
    cfg.data.path = str(moved)
    save_config(cfg, store.config_path)
    assert main(["resume", str(store.path), "--quiet"]) == 1
    assert f"data.path: '{root}' -> '{moved}'" in capsys.readouterr().err


def test_a_training_image_gone_keeps_its_place_so_the_resume_fits(tmp_path):
    """32 training images in batches of 8 are 4 steps; one gone would make 3 and refuse
    the checkpoint's position: the next image stands in for it instead."""
    root = tmp_path / "set"
    _folder_set(root, per_class=20)  # 40 images: 30 train, 10 val
    cfg = _cfg(root)
    cfg.train.batch_size = 10
    store = RunStore.create(tmp_path / "runs", "split")
    control, listen = _stop_after_first_epoch()
    Trainer(cfg, store, control, [listen]).run()
    (entry,) = json.loads((store.path / SPLIT_FILE).read_text())["sources"]
    for name in entry["train"][:5]:
        (root / name).unlink()
    resumed = Trainer(cfg, store, RunControl(), resume=True)
    summary = resumed.run()
    assert summary["status"] == "finished", summary.get("error")
    assert len(resumed.exp.train_set) == 30 and resumed.exp.train_set.split_names() == entry["train"]
    assert any("of the run's 30 training images, 5 are no longer in the set" in n for n in summary["notes"])


def test_several_sources_keep_their_images_each_once(tmp_path):
    """With [[data.sources]], each source keeps its images and the combined set its length:
    no index runs past a source into the next one's images."""
    from workbench.config import SourceConfig
    from workbench.training.experiment import build_experiment

    a, b = tmp_path / "a", tmp_path / "b"
    _folder_set(a)
    for c in ("cat", "dog"):
        (b / c).mkdir(parents=True)
        for i in range(10):
            Image.new("RGB", (24, 24), (10 * i, 100, 50)).save(b / c / f"{c}{i}.png")
    cfg = _cfg(a)
    cfg.tasks = [
        TaskConfig(name="colour", kind="classification"),
        TaskConfig(name="pet", kind="classification"),
    ]
    cfg.data = DataConfig(
        sources=[
            SourceConfig("folder", str(a), {"image_size": 32, "val_fraction": 0.25}, ["colour"]),
            SourceConfig("folder", str(b), {"image_size": 32, "val_fraction": 0.25}, ["pet"]),
        ]
    )
    store = RunStore.create(tmp_path / "runs", "multi")
    control, listen = _stop_after_first_epoch()
    Trainer(cfg, store, control, [listen]).run()
    first, second = json.loads((store.path / SPLIT_FILE).read_text())["sources"]
    (a / first["val"][0]).unlink()  # a validation image of the first source gone
    for i in range(7):  # and images added to the second
        Image.new("RGB", (24, 24)).save(b / "cat" / f"new{i}.png")
    exp = build_experiment(cfg, split_file=store.path / SPLIT_FILE)
    names = lambda ds: [n for part, _ in ds.parts for n in part.split_names()]  # noqa: E731
    assert names(exp.val_set) == first["val"][1:] + second["val"]
    assert names(exp.train_set) == first["train"] + second["train"]
    assert len(exp.val_set) == len(first["val"]) - 1 + len(second["val"])
    assert len(exp.train_set) == len(first["train"]) + len(second["train"])
    seen = [exp.val_set.locate(i) for i in range(len(exp.val_set))]
    assert len(set(seen)) == len(seen)  # every validation image once
    summary = Trainer(cfg, store, RunControl(), resume=True).run()
    assert summary["status"] == "finished", summary.get("error")


def test_classes_changed_since_the_run_started_are_refused(tmp_path):
    root = tmp_path / "set"
    _folder_set(root)
    store = RunStore.create(tmp_path / "runs", "split")
    control, listen = _stop_after_first_epoch()
    Trainer(_cfg(root), store, control, [listen]).run()
    (root / "red").rename(root / "zred")  # the class order is now blue, zred: labels swapped
    summary = Trainer(_cfg(root), store, RunControl(), resume=True).run()
    assert summary.get("not_started") and "the run learned the classes blue, red" in summary["error"]
    assert "labels would mean other classes" in summary["error"]


@pytest.mark.parametrize(
    ("edit", "says"),
    [
        (lambda e: e["val"].append(e["val"][0]), "lists .* twice"),
        (lambda e: e["val"].append(e["train"][0]), "in both train and val"),
    ],
)
def test_a_split_file_that_would_count_an_image_twice_is_refused(tmp_path, capsys, edit, says):
    root = tmp_path / "set"
    _folder_set(root)
    store = RunStore.create(tmp_path / "runs", "split")
    assert Trainer(_cfg(root, epochs=1), store).run()["status"] == "finished"
    data = json.loads((store.path / SPLIT_FILE).read_text())
    edit(data["sources"][0])
    (store.path / SPLIT_FILE).write_text(json.dumps(data))
    capsys.readouterr()
    assert main(["eval", str(store.path)]) != 0
    import re

    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0 and str(store.path / SPLIT_FILE) in err and re.search(says, err)


def test_a_split_file_that_is_no_regular_file_or_of_another_version_is_refused(tmp_path):
    import os

    from workbench.training.run_split import SplitFileError, read

    fifo = tmp_path / "split.json"
    os.mkfifo(fifo)
    with pytest.raises(SplitFileError, match="not a regular file"):
        read(fifo)
    other = tmp_path / "other.json"
    for version in ("true", "1.0", '"1"'):
        other.write_text(f'{{"version": {version}, "sources": []}}')
        with pytest.raises(SplitFileError, match="not a run's split"):
            read(other)
    other.write_text("[" * 100_000 + "]" * 100_000)
    with pytest.raises(SplitFileError, match="unreadable"):
        read(other)


def test_eval_names_the_validation_images_it_cannot_read(tmp_path, capsys):
    import numpy as np

    root = tmp_path / "set"
    _folder_set(root)
    store = RunStore.create(tmp_path / "runs", "split")
    assert Trainer(_cfg(root, epochs=1), store).run()["status"] == "finished"
    (entry,) = json.loads((store.path / SPLIT_FILE).read_text())["sources"]
    damaged = root / entry["val"][2]  # its header reads, its pixels do not
    Image.fromarray(np.random.default_rng(0).integers(0, 255, (64, 64, 3), dtype=np.uint8)).save(damaged)
    damaged.write_bytes(damaged.read_bytes()[:2000])
    capsys.readouterr()
    assert main(["eval", str(store.path)]) == 0
    out, err = capsys.readouterr()
    assert "scored 4 validation image(s)" in out
    assert f"warning: 1 validation image(s) cannot be read and are left out: {damaged}" in err


def test_eval_tells_a_file_gone_from_one_that_cannot_be_used_now(tmp_path, capsys):
    """A validation image removed and one overwritten with text are both left out, but only
    the first is "no longer in the set"; the second is named as unusable, and the problem
    found reading the set is said."""
    root = tmp_path / "set"
    _folder_set(root)
    store = RunStore.create(tmp_path / "runs", "split")
    assert Trainer(_cfg(root, epochs=1), store).run()["status"] == "finished"
    (entry,) = json.loads((store.path / SPLIT_FILE).read_text())["sources"]
    removed, garbled = entry["val"][0], entry["val"][1]
    (root / removed).unlink()
    (root / garbled).write_text("not an image any more")
    capsys.readouterr()
    assert main(["eval", str(store.path)]) == 0
    out, err = capsys.readouterr()
    assert (
        f"note: {root}: of the run's 5 validation images, 1 is no longer in the set ({removed}) and 1 is still "
        f"there but no longer read as part of it ({garbled}: not an image now, or its annotation gone or "
        "unreadable); it validates on the 3 left"
    ) in err
    assert f"note: {root}: 1 problem(s) in its files as they are now, e.g. {root / garbled}: " in err
    assert f"workbench data check {root} lists them" in err
    assert "scored 3 validation image(s)" in out


def _coco_layout(root, n=12):
    """COCO's own layout: images/ beside annotations/, not inside it."""
    files = []
    for i in range(n):
        name = f"{i:03d}.png"
        (root / "images").mkdir(parents=True, exist_ok=True)
        Image.new("RGB", (32, 32), (200 if i % 2 else 20, 40, 90)).save(root / "images" / name)
        files.append(name)
    data = {
        "images": [{"id": i + 1, "file_name": f, "width": 32, "height": 32} for i, f in enumerate(files)],
        "categories": [{"id": 1, "name": "a"}, {"id": 2, "name": "b"}],
        "annotations": [
            {"id": i + 1, "image_id": i + 1, "category_id": 1 + i % 2, "bbox": [4, 4, 12, 12], "area": 144}
            for i in range(n)
        ],
    }
    (root / "annotations").mkdir(parents=True, exist_ok=True)
    path = root / "annotations" / "instances_train.json"
    path.write_text(json.dumps(data))
    return path


def test_a_moved_coco_set_keeps_its_image_names_and_old_absolute_names_still_pin(tmp_path):
    """Images in images/ beside annotations/ were stored by absolute path (outside the
    .json's folder), so a moved COCO set found none of them. Names are now relative to the
    folder holding both; names an earlier version stored absolute still match."""
    import shutil

    root = tmp_path / "coco"
    path = _coco_layout(root)
    data = DataConfig(source="coco", path=str(path), options={"image_size": 32, "val_fraction": 0.25})
    val = build_dataset(data, "val")
    names = val.split_names()
    assert len(names) == 3 and all(n.startswith("images/") for n in names)
    old_style = [(root / n).as_posix() for n in names]  # what the last version stored

    moved = tmp_path / "moved" / "coco"
    shutil.move(str(root), str(moved))
    data.path = str(moved / "annotations" / "instances_train.json")
    again = build_dataset(data, "val")
    assert again.pin(names) == [] and again.split_names() == names
    assert again.known_names(names) <= again.set_names()
    shutil.move(str(moved), str(root))  # back: the absolute names of the old version name it
    data.path = str(path)
    old = build_dataset(data, "val")
    assert old.pin(old_style) == [] and old.split_names() == names
    assert old.known_names(old_style) == set(names)
    assert old.file_of(old_style[0]) == root / names[0]
