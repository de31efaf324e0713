"""Real data sources end to end: export the shapes scenes as COCO / VOC / YOLO, import them
back through the training importer, and train on them."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch
from PIL import Image

from workbench.cli import main
from workbench.config import ConfigError, DataConfig, ExperimentConfig, OptimConfig, TaskConfig, TrainConfig
from workbench.data import build_dataset
from workbench.experiment_check import config_from_toml_text, validate_experiment
from workbench.training.run_store import RunStore
from workbench.training.trainer import Trainer

SHAPES = {"image_size": 64, "train_size": 24, "val_size": 8, "max_objects": 3}


@pytest.fixture(scope="module")
def exported(tmp_path_factory):
    """The same 24 + 8 shapes scenes written in every export format."""
    root = tmp_path_factory.mktemp("exports")
    config = root / "shapes.toml"
    config.write_text(
        "[data.options]\n"
        + "".join(f"{k} = {v}\n" for k, v in SHAPES.items())
        + "[[tasks]]\nname = 'n'\nkind = 'counting'\n"
    )
    paths = {}
    for fmt in ("coco", "voc", "yolo"):
        assert main(["data", "export", str(root / fmt), "--format", fmt, "--config", str(config)]) == 0
        paths[fmt] = root / fmt
    paths["coco"] = root / "coco" / "annotations" / "instances_train.json"
    paths["yolo"] = root / "yolo" / "data.yaml"
    return paths


def _imported(fmt, path, split="val", **options):
    return build_dataset(DataConfig(source=fmt, path=str(path), options={"image_size": 64, **options}), split)


def test_exporting_a_set_from_files_names_each_images_original_and_says_it_resamples(
    exported, tmp_path, capsys
):
    """A COCO set exported again came out as 64 px letterboxed PNGs renamed 000000.png,
    with "supercategory": "shape" invented, and only "wrote 8 images" said."""
    config = tmp_path / "coco.toml"
    config.write_text(
        f"[data]\nsource = 'coco'\npath = '{exported['coco']}'\n[data.options]\nimage_size = 48\n"
        "[[tasks]]\nname = 'n'\nkind = 'counting'\n"
    )
    out = tmp_path / "again"
    assert (
        main(["data", "export", str(out), "--format", "coco", "--config", str(config), "--val-size", "3"])
        == 0
    )
    err = capsys.readouterr().err
    assert (
        "note: the images are written as the model sees them: letterboxed to 48 x 48 px, PNG, renamed "
        f"000000.png ...; {out / 'sources.csv'} names each one's original file"
    ) in err
    import csv

    rows = list(csv.DictReader((out / "sources.csv").open()))
    val = [r for r in rows if r["split"] == "val"]
    originals = build_dataset(
        DataConfig(source="coco", path=str(exported["coco"]), options={"image_size": 48}), "val"
    ).records
    assert [(r["exported"], r["source"]) for r in val] == [
        (f"{i:06d}.png", str(originals[i].image)) for i in range(3)
    ]
    assert len(rows) == len(val) + len([r for r in rows if r["split"] == "train"]) and len(val) == 3
    categories = json.loads((out / "annotations" / "instances_val.json").read_text())["categories"]
    assert {c["supercategory"] for c in categories} == {""}  # none invented
    # generated scenes have no original files: no sources.csv, no note
    assert (
        main(
            [
                "data",
                "export",
                str(tmp_path / "shapes"),
                "--format",
                "yolo",
                "--train-size",
                "2",
                "--val-size",
                "2",
            ]
        )
        == 0
    )
    assert "sources.csv" not in capsys.readouterr().err and not (tmp_path / "shapes" / "sources.csv").exists()


@pytest.mark.parametrize("fmt", ["coco", "voc", "yolo", "auto"])
def test_export_and_import_give_the_same_targets(exported, fmt):
    path = exported["voc" if fmt == "auto" else fmt]
    reference = build_dataset(DataConfig(options=SHAPES), "val")
    data = _imported(fmt, path)
    assert len(data) == 8 and data.info.class_names == reference.info.class_names
    has_masks = fmt != "yolo"  # YOLO polygons cannot hold masks exactly: boxes only
    assert ("mask" in data.info.target_keys) is has_masks
    for i in range(8):
        a, b = reference.sample(i), data.sample(i)
        assert np.array_equal(a["image"], b["image"])
        assert np.array_equal(a["labels"], b["labels"])
        np.testing.assert_allclose(a["boxes"], b["boxes"], atol=1e-4)
        np.testing.assert_allclose(a["largest_box"], b["largest_box"], atol=1e-4)
        assert a["count"] == b["count"] and np.array_equal(a["presence"], b["presence"])
        if has_masks:
            assert np.array_equal(a["mask"], b["mask"])


def test_training_on_the_export_gives_the_metrics_of_the_built_in_source(exported, tmp_path):
    def run(data, name):
        cfg = ExperimentConfig(
            name=name,
            data=data,
            tasks=[
                TaskConfig(name="objects", kind="detection", options={"head_width": 16}),
                TaskConfig(name="masks", kind="segmentation", options={"head_width": 16}),
                TaskConfig(name="n", kind="counting"),
            ],
            optim=OptimConfig(lr=1e-3, warmup_steps=2),
            train=TrainConfig(epochs=1, batch_size=8, device="cpu", num_samples=0),
        )
        validate_experiment(cfg)
        store = RunStore.create(tmp_path, name)
        Trainer(cfg, store).run()
        return store, json.loads((store.path / "summary.json").read_text())["final_metrics"]

    _, built_in = run(DataConfig(options=SHAPES), "shapes")
    store, imported = run(
        DataConfig(source="coco", path=str(exported["coco"]), options={"image_size": 64, "hflip": 0.0}),
        "coco",
    )
    assert imported == built_in
    report = (store.path / "import_report.txt").read_text()
    assert "format: coco" in report and "train: 24 images" in report and "val: 8 images" in report


def test_configs_from_before_data_options_still_load():
    old = "[data.shapes]\nimage_size = 96\n[[tasks]]\nname = 'n'\nkind = 'counting'\n"
    cfg = config_from_toml_text(old)
    assert cfg.data.source == "shapes" and cfg.data.options == {"image_size": 96}
    with pytest.raises(ConfigError) as err:
        config_from_toml_text("[data.shapes]\n[data.options]\n[[tasks]]\nname = 'n'\nkind = 'counting'\n")
    assert err.value.path == "data.shapes"


@pytest.mark.parametrize(
    ("toml", "path", "words"),
    [
        ("[data]\nsource = 'coco'\n", "data.path", "needs the path"),
        ("[data]\npath = 'x'\n", "data.path", "reads no path"),
        ("[data]\nsource = 'nope'\n", "data.source", "choose one of"),
        (
            "[data]\nsource = 'voc'\npath = 'x'\n[data.options]\nval_fraction = 1.5\n",
            "data.options.val_fraction",
            "< 1",
        ),
        (
            "[data]\nsource = 'voc'\npath = 'x'\n[data.options]\nresize = 'crop'\n",
            "data.options.resize",
            "letterbox",
        ),
        (
            "[data]\nsource = 'yolo'\npath = 'x'\n[data.options]\nimage_root = 'y'\n",
            "data.options.image_root",
            "unknown key",
        ),
        (
            "[data.options]\nmin_objects = 5\nmax_objects = 2\n",
            "data.options.max_objects",
            ">= data.options.min_objects",
        ),
        (
            "[[data.sources]]\nsource = 'voc'\npath = 'x'\ntasks = ['other']\n",
            "data.sources[0].tasks",
            "not a task",
        ),
        ("[[data.sources]]\nsource = 'voc'\npath = 'x'\n", "data.sources[0].tasks", "name the tasks"),
        (
            "[data]\npath = 'x'\n[[data.sources]]\nsource = 'voc'\npath = 'x'\ntasks = ['n']\n",
            "data.source",
            "each entry",
        ),
    ],
)
def test_data_settings_are_checked_with_the_field_named(toml, path, words):
    with pytest.raises(ConfigError) as err:
        config_from_toml_text(toml + "[[tasks]]\nname = 'n'\nkind = 'counting'\n")
    assert err.value.path == path and words in err.value.message


def test_a_task_the_data_cannot_label_is_refused_before_training(tmp_path):
    from workbench.training.experiment import build_data

    for cls in ("cat", "dog"):
        (tmp_path / cls).mkdir()
        for i in range(3):
            Image.new("RGB", (20, 16), (40 * i, 90, 20)).save(tmp_path / cls / f"{i}.png")
    cfg = ExperimentConfig(
        data=DataConfig(source="folder", path=str(tmp_path)),
        tasks=[TaskConfig(name="boxes", kind="detection")],
    )
    validate_experiment(cfg)
    with pytest.raises(ConfigError) as err:
        build_data(cfg, "val")
    assert err.value.path == "data.source" and "needs 'boxes'" in err.value.message
    assert "provides: scene_class" in err.value.message


def test_cli_training_on_a_missing_data_set_is_one_line(tmp_path, capsys):
    config = tmp_path / "exp.toml"
    config.write_text(
        f"[data]\nsource = 'voc'\npath = '{tmp_path / 'nowhere'}'\n[[tasks]]\nname = 'n'\nkind = 'counting'\n"
    )
    assert main(["train", str(config), "--out", str(tmp_path / "runs")]) != 0
    err = capsys.readouterr().err
    assert err.startswith("error:") and "nowhere" in err and len(err.strip().splitlines()) == 1
    assert "Traceback" not in err and not (tmp_path / "runs").exists()


def test_augmentation_is_per_epoch_and_reproducible(exported):
    data = _imported("voc", exported["voc"], split="train", hflip=0.5, scale_jitter=0.3, color_jitter=0.3)
    first = [data.sample(i)["image"] for i in range(6)]
    again = [data.sample(i)["image"] for i in range(6)]
    assert all(np.array_equal(a, b) for a, b in zip(first, again, strict=True))
    data.set_epoch(1)
    other = [data.sample(i)["image"] for i in range(6)]
    assert any(not np.array_equal(a, b) for a, b in zip(first, other, strict=True))


def test_augmentation_follows_the_run_seed(exported):
    """Runs that differed only in train.seed flipped, zoomed and jittered every image alike:
    a seeds sweep on image files understated the spread between seeds."""
    data = _imported("voc", exported["voc"], split="train", hflip=0.5, scale_jitter=0.3, color_jitter=0.3)
    data.set_epoch(1, seed=0)
    seed0 = [data.sample(i)["image"] for i in range(6)]
    data.set_epoch(1, seed=7)
    seed7 = [data.sample(i)["image"] for i in range(6)]
    assert any(not np.array_equal(a, b) for a, b in zip(seed0, seed7, strict=True))
    data.set_epoch(1, seed=0)  # each seed's draws are its own, every time
    assert all(np.array_equal(a, data.sample(i)["image"]) for i, a in enumerate(seed0))


def test_augment_seed_fits_a_torch_generator_and_keeps_seed_0s_draws():
    import torch

    from workbench.data.real_dataset import augment_seed

    # seed 0: the formula of runs made before the run seed counted, by hand
    assert augment_seed(3, 0, 2, 5) == (3 * 1_000_003 + 2) * 10_000_019 + 5
    assert augment_seed(3, 1, 2, 5) == augment_seed(3, 0, 2, 5) + 1_000_000_000_039
    # the largest seeds the config allows overflowed the generator's 64 bits
    big = augment_seed(2**32 - 1, 2**32 - 1, 10_000, 10**6)
    assert 0 <= big < 2**64
    torch.Generator().manual_seed(big)


def test_the_second_epoch_decodes_nothing(exported, tmp_path):
    data = _imported("coco", exported["coco"], split="train")
    for i in range(len(data)):
        data.sample(i)
    assert data.cache.stats.misses == len(data)
    for i in range(len(data)):
        data.sample(i)
    assert data.cache.stats.misses == len(data) and data.cache.stats.memory_hits == len(data)
    # what does not fit in memory goes to disk beside the run; another process reads it back
    spill = _imported("coco", exported["coco"], split="train")
    spill.cache.memory_bytes = 1
    spill.attach_run_dir(tmp_path)
    expected = [spill.sample(i) for i in range(4)]
    assert len(list((tmp_path / "cache").rglob("*.npy"))) == 4
    later = _imported("coco", exported["coco"], split="train")
    later.cache.memory_bytes = 1
    later.attach_run_dir(tmp_path)
    for i in range(4):
        got = later.sample(i)
        assert np.array_equal(got["image"], expected[i]["image"]) and np.array_equal(
            got["mask"], expected[i]["mask"]
        )
        np.testing.assert_allclose(got["boxes"], expected[i]["boxes"], atol=1e-5)
    assert later.cache.stats.disk_hits == 4 and later.cache.stats.misses == 0
    # no cache at all: every sample decodes again, with the same result
    none = _imported("coco", exported["coco"], split="train", cache_mb=0)
    assert np.array_equal(none.sample(0)["image"], data.sample(0)["image"])


def test_an_image_that_breaks_after_the_check_is_skipped_and_reported(exported, tmp_path):
    import shutil

    root = tmp_path / "voc"
    shutil.copytree(exported["voc"], root)
    data = _imported("voc", root, split="val", cache_mb=0)
    broken = data.records[2].image
    broken.write_bytes(broken.read_bytes()[:60])  # truncated after the header was read
    assert np.array_equal(data.sample(2)["image"], data.sample(3)["image"])  # the next one stands in
    lines = data.report_lines
    assert any(
        str(broken) in line and "found while training" in line and "(skipped)" in line for line in lines
    )
    data.records[4].image.unlink()  # removed since the set was read
    assert data.sample(4)["image"].shape == (64, 64, 3)
    assert any(
        "found while training" in line and data.records[4].image.name in line for line in data.report_lines
    )


def test_broken_images_found_in_loader_processes_reach_the_report(exported, tmp_path):
    import shutil

    from workbench.data.base import collate
    from workbench.training.trainer import iter_batches

    root = tmp_path / "voc"
    shutil.copytree(exported["voc"], root)
    data = _imported("voc", root, split="train", cache_mb=0, hflip=0.0)
    broken = data.records[1].image
    broken.write_bytes(broken.read_bytes()[:60])
    order = torch.arange(len(data))
    batches = list(iter_batches(data, order, 4, 0, 2, workers=1))  # one loader process
    problems = [p for _, targets in batches for p in targets.get("problems", [])]
    assert any(str(broken) == p[0] and "found while training" in p[2] for p in problems)
    assert not any(str(broken) in line for line in data.report_lines)  # the main copy did not see it
    data.note_problems(problems)
    assert any(str(broken) in line for line in data.report_lines)
    # in this process, a stand-in sample says so; validation leaves it out
    fresh = _imported("voc", root, split="val", cache_mb=0)
    fresh.records[0] = data.records[1]  # a broken image in the validation split
    stand_in = fresh.sample(0)
    assert stand_in["stand_in"] is True and stand_in["problems"]
    _, targets = collate([stand_in, fresh.sample(1)])
    assert "problems" in targets


def test_resume_notes_data_that_changed_since_the_run_started(exported, tmp_path, capsys):
    import shutil

    root = tmp_path / "voc"
    shutil.copytree(exported["voc"], root)
    config = tmp_path / "exp.toml"
    config.write_text(
        f"[data]\nsource = 'voc'\npath = '{root}'\n[data.options]\nimage_size = 64\n"
        "[[tasks]]\nname = 'n'\nkind = 'counting'\n[train]\nepochs = 2\nbatch_size = 5\ndevice = 'cpu'\nnum_samples = 0\n"
    )
    assert main(["train", str(config), "--out", str(tmp_path / "runs"), "--epochs", "1", "--quiet"]) == 0
    run = next((tmp_path / "runs").iterdir())
    assert json.loads((run / "summary.json").read_text())["data_sizes"] == {"train": 24, "val": 8}
    (root / "Annotations" / "train_000005.xml").unlink()  # 23 training images: still 4 steps of 5
    text = (run / "config.toml").read_text().replace("epochs = 1", "epochs = 2")
    (run / "config.toml").write_text(text)
    capsys.readouterr()
    assert main(["resume", str(run)]) == 0
    err = capsys.readouterr().err
    # the run keeps its split: the image gone is named and keeps its place (the next image
    # stands in for it), so the epoch keeps its 4 steps and nothing moves between splits
    assert "of the run's 24 training images, 1 is still there but no longer read as part of it" in err
    assert "the next image stands in for each, so an epoch keeps its length" in err
    summary = json.loads((run / "summary.json").read_text())
    assert any("of the run's 24 training images, 1 is still there" in n for n in summary["notes"])
    assert summary["data_sizes"]["train"] == 24


def test_data_export_sizes_generate_shapes_and_only_limit_a_set(tmp_path, capsys):
    """--train-size 3000 was silently cut to the config's 64 shapes scenes: for the shapes
    source it now sets how many are generated; a set on disk has what it has, and says so."""
    assert (
        main(
            [
                "data",
                "export",
                "--format",
                "yolo",
                "--train-size",
                "70",
                "--val-size",
                "3",
                str(tmp_path / "a"),
            ]
        )
        == 0
    )
    assert len(list((tmp_path / "a" / "images" / "train").iterdir())) == 70
    assert len(list((tmp_path / "a" / "images" / "val").iterdir())) == 3
    capsys.readouterr()
    config = tmp_path / "yolo.toml"
    config.write_text(
        'name = "y"\ntasks = [{ name = "objects", kind = "detection" }]\n'
        f'[data]\nsource = "yolo"\npath = "{(tmp_path / "a" / "data.yaml").as_posix()}"\n'
        "[data.options]\nimage_size = 64\n"
    )
    assert (
        main(
            [
                "data",
                "export",
                "--format",
                "coco",
                "--config",
                str(config),
                "--val-size",
                "5",
                str(tmp_path / "b"),
            ]
        )
        == 0
    )
    captured = capsys.readouterr()
    assert "note: --val-size 5: the val split has 3 images; all are written" in captured.err
    assert "wrote 73 images as coco" in captured.out
    assert main(["data", "export", "--format", "coco", "--train-size", "0", str(tmp_path / "c")]) == 2
    assert "--train-size must be at least 1, got 0" in capsys.readouterr().err


def test_auto_takes_the_coco_options_and_refuses_them_for_another_format(exported):
    """The README lists image_root and val_annotations for auto too; auto refused them as
    unknown keys. They now work on a COCO set and are refused, naming the format, on others."""
    from workbench.data.source import DataSourceError

    coco = exported["coco"]
    root = coco.parent.parent / "images"  # file_name entries read train/000000.png
    data = _imported("auto", coco, image_root=str(root))
    assert len(data) > 0
    with pytest.raises(
        DataSourceError, match=r"data\.options\.image_root applies to COCO sets only; .* Pascal VOC"
    ):
        _imported("auto", exported["voc"], image_root=str(root))
    assert len(_imported("auto", exported["voc"], image_root="")) == 8  # left at its default: fine


@pytest.mark.parametrize(
    "option, value",
    [("val_annotations", "nope.json"), ("image_root", "images/nothere")],
)
def test_a_path_option_that_is_not_there_is_a_config_error_naming_it(
    exported, tmp_path, capsys, option, value
):
    """Every file or folder a source reads, not only its path: exit 2 and the field, before
    any run folder (a missing val_annotations was "cannot read", exit 1)."""
    missing = tmp_path / value
    config = tmp_path / "exp.toml"
    config.write_text(
        f"[data]\nsource = 'coco'\npath = '{exported['coco']}'\n[data.options]\nimage_size = 64\n"
        f"{option} = '{missing}'\n[[tasks]]\nname = 'n'\nkind = 'counting'\n"
    )
    assert main(["train", str(config), "--out", str(tmp_path / "runs"), "--quiet"]) == 2
    assert capsys.readouterr().err == (
        f"error: config: data.options.{option}: {missing} does not exist (in {config})\n"
    )
    assert not (tmp_path / "runs").exists()


@pytest.mark.parametrize(
    "option, make, said",
    [
        ("val_annotations", lambda p: p.mkdir(), "is a folder; a file is needed here"),
        ("image_root", lambda p: p.write_text("x"), "is not a folder"),
    ],
)
def test_a_path_option_of_the_wrong_kind_is_a_config_error_naming_it(
    exported, tmp_path, capsys, option, make, said
):
    """A folder where a JSON must be, or a file where the image folder must be: the same
    class as a missing path (it was "cannot read", exit 1): exit 2, the field, no folder."""
    wrong = tmp_path / "wrong"
    make(wrong)
    config = tmp_path / "exp.toml"
    config.write_text(
        f"[data]\nsource = 'coco'\npath = '{exported['coco']}'\n[data.options]\nimage_size = 64\n"
        f"{option} = '{wrong}'\n[[tasks]]\nname = 'n'\nkind = 'counting'\n"
    )
    assert main(["train", str(config), "--out", str(tmp_path / "runs"), "--quiet"]) == 2
    assert capsys.readouterr().err == f"error: config: data.options.{option}: {wrong} {said} (in {config})\n"
    assert not (tmp_path / "runs").exists()


@pytest.mark.parametrize("field", ["path", "val_annotations"])
@pytest.mark.parametrize("kind", ["loop", "fifo"])
def test_a_path_that_is_a_loop_of_links_or_a_pipe_is_a_config_error_naming_it(
    exported, tmp_path, capsys, field, kind
):
    """A loop of links was a raw "RuntimeError: Symlink loop" (CLI and app); a pipe as
    val_annotations was "not a regular file", exit 1, no field; as data.path "no COCO
    instances .json found"."""
    import os

    bad = tmp_path / "bad"
    if kind == "loop":
        os.symlink(tmp_path / "other", bad)
        os.symlink(bad, tmp_path / "other")
        said = "is a link to nothing (or a loop of links)"
    else:
        os.mkfifo(bad)
        said = "is not a regular file or folder (a pipe or a device)"
    path = bad if field == "path" else exported["coco"]
    option = f"val_annotations = '{bad}'\n" if field == "val_annotations" else ""
    config = tmp_path / "exp.toml"
    config.write_text(
        f"[data]\nsource = 'coco'\npath = '{path}'\n[data.options]\nimage_size = 64\n{option}"
        "[[tasks]]\nname = 'n'\nkind = 'counting'\n"
    )
    assert main(["train", str(config), "--out", str(tmp_path / "runs"), "--quiet"]) == 2
    where = "data.path" if field == "path" else "data.options.val_annotations"
    assert capsys.readouterr().err == f"error: config: {where}: {bad} {said} (in {config})\n"
    assert not (tmp_path / "runs").exists()


def test_a_backslash_escape_in_a_path_is_refused_with_the_way_out(tmp_path):
    """ "images\\train" in double quotes is images, a tab, "rain": refused, naming the field,
    rather than read as a path that is missing later with a tab inside it."""
    text = (
        '[data]\nsource = "coco"\npath = "C:\\\\data\\\\x.json"\n[data.options]\nimage_root = "images\\train"\n'
        "[[tasks]]\nname = 'n'\nkind = 'counting'\n"
    )
    with pytest.raises(ConfigError) as err:
        validate_experiment(config_from_toml_text(text))
    assert err.value.path == "data.options.image_root"
    assert (
        err.value.message.startswith("'images\\train' holds a tab (\\t)")
        and "single quotes" in err.value.message
    )
    line_break = "[data]\nsource = 'voc'\npath = \"set\\nfolder\"\n[[tasks]]\nname = 'n'\nkind = 'counting'\n"
    with pytest.raises(ConfigError) as err:
        validate_experiment(config_from_toml_text(line_break))
    assert err.value.path == "data.path" and "a line break (\\n)" in err.value.message
    # an escaped backslash is a backslash, and a path may hold one
    validate_experiment(config_from_toml_text(text.replace("images\\train", "images\\\\train")))


def test_cli_training_says_it_reads_the_data_first(exported, tmp_path, capsys):
    """A 3,000-image set was read for 16 s (2 min under load) before the first line."""
    config = tmp_path / "exp.toml"
    config.write_text(
        f"[data]\nsource = 'voc'\npath = '{exported['voc']}'\n[data.options]\nimage_size = 32\n"
        "[[tasks]]\nname = 'n'\nkind = 'counting'\n[train]\nepochs = 1\nbatch_size = 8\nnum_samples = 0\n"
        "device = 'cpu'\n"
    )
    assert main(["train", str(config), "--out", str(tmp_path / "runs")]) == 0
    err = capsys.readouterr().err
    assert err.splitlines()[0] == f"reading the data: {exported['voc']}…"
    assert main(["train", str(config), "--out", str(tmp_path / "runs"), "--quiet"]) == 0
    assert "reading the data" not in capsys.readouterr().err
