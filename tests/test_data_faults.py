"""Faults found by trying real-data training as a user would (issue 7's breaker session)."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from workbench.cli import main
from workbench.config import ConfigError, DataConfig
from workbench.data import build_dataset
from workbench.data.dataset_check import check_dataset
from workbench.data.source import DataSourceError
from workbench.experiment_check import config_from_toml_text


@pytest.fixture(scope="module")
def voc(tmp_path_factory):
    root = tmp_path_factory.mktemp("voc") / "set"
    assert main(["data", "export", str(root), "--format", "voc", "--train-size", "8", "--val-size", "4"]) == 0
    return root


def _first_row_of_no_class(mask_file):
    """The palette mask's first row set to 77, a class index the set does not have."""
    with Image.open(mask_file) as img:
        pixels, palette = np.array(img), img.getpalette()
    pixels[:1, :] = 77
    out = Image.fromarray(pixels, mode="P")
    out.putpalette(palette)
    out.save(mask_file)


def _copy(voc, tmp_path):
    target = tmp_path / "voc"
    shutil.copytree(voc, target)
    return target


def test_tasks_reading_the_same_targets_must_share_their_sources(tmp_path):
    base = (
        "[[tasks]]\nname = 'animal'\nkind = 'classification'\n"
        "[[tasks]]\nname = 'weather'\nkind = 'classification'\n"
    )
    two = (
        "[[data.sources]]\nsource = 'folder'\npath = 'a'\ntasks = ['animal']\n"
        "[[data.sources]]\nsource = 'folder'\npath = 'b'\ntasks = ['weather']\n"
    )
    with pytest.raises(ConfigError) as err:
        config_from_toml_text(two + base)
    assert err.value.path == "data.sources[1].tasks" and "'scene_class'" in err.value.message
    # one task fed by two sets of the same classes is fine
    same = (
        "[[data.sources]]\nsource = 'voc'\npath = 'a'\ntasks = ['objects']\n"
        "[[data.sources]]\nsource = 'voc'\npath = 'b'\ntasks = ['objects']\n"
        "[[tasks]]\nname = 'objects'\nkind = 'detection'\n"
    )
    assert len(config_from_toml_text(same).data.sources) == 2


def test_export_writes_the_files_as_they_are_and_leaves_broken_images_out(voc, tmp_path, capsys):
    root = _copy(voc, tmp_path)
    broken = root / "JPEGImages" / "train_000002.png"
    broken.write_bytes(broken.read_bytes()[:50])
    config = tmp_path / "exp.toml"
    config.write_text(
        f"[data]\nsource = 'voc'\npath = '{root}'\n[data.options]\nimage_size = 128\nhflip = 1.0\n"
        "scale_jitter = 0.3\n[[tasks]]\nname = 'n'\nkind = 'counting'\n"
    )
    out = tmp_path / "out"
    assert main(["data", "export", str(out), "--format", "coco", "--config", str(config)]) == 0
    captured = capsys.readouterr()
    assert "warning: train image 2:" in captured.err and "train_000002.png" in captured.err
    assert "wrote 11 images" in captured.out
    # no augmentation: the exported first training image is the source image as fitted
    original = np.asarray(Image.open(root / "JPEGImages" / "train_000000.png").convert("RGB"))
    written = np.asarray(Image.open(out / "images" / "train" / "000000.png").convert("RGB"))
    assert np.array_equal(original, written)
    assert not (out / "images" / "train" / "000002.png").exists()


def test_a_val_split_the_set_names_is_never_replaced_by_training_images(voc, tmp_path):
    root = _copy(voc, tmp_path)
    for image in (root / "JPEGImages").glob("val_*"):
        image.unlink()
    with pytest.raises(DataSourceError, match="the set's val split has no usable image"):
        build_dataset(DataConfig(source="voc", path=str(root)), "val")


def test_a_bad_mask_costs_the_mask_only(voc, tmp_path):
    root = _copy(voc, tmp_path)
    masks = root / "SegmentationClass"
    Image.new("P", (64, 64)).save(masks / "train_000001.png")  # wrong size
    Image.new("RGB", (128, 128), (128, 0, 0)).save(masks / "train_000002.png")  # RGB, labelmap colours
    (masks / "train_000003.png").write_bytes(b"garbage")
    result = check_dataset(root)
    text = "\n".join(result.report.lines())
    assert (
        "train_000001.png: mask is 64x64 but its image is 128x128; the image is kept without a mask" in text
    )
    assert "train_000003.png: unreadable mask" in text
    assert "train_000002.png" not in text  # an RGB mask with labelmap.txt colours is read
    data = build_dataset(
        DataConfig(source="voc", path=str(root), options={"image_size": 128, "hflip": 0.0}), "train"
    )
    by_name = {r.image.name: i for i, r in enumerate(data.records)}
    wrong = data.sample(by_name["train_000001.png"])
    assert "mask" not in wrong and len(wrong["boxes"]) > 0  # boxes kept, no segmentation label
    rgb = data.sample(by_name["train_000002.png"])
    first_class = 1  # labelmap: background, circle (128,0,0), ...
    assert (rgb["mask"] == first_class).all()


def test_mask_values_that_are_no_class_are_ignored_and_said(voc, tmp_path):
    root = _copy(voc, tmp_path)
    mask_file = root / "SegmentationClass" / "train_000004.png"
    with Image.open(mask_file) as img:
        pixels, palette = np.array(img), img.getpalette()
    pixels[:2, :] = 77  # two rows of a class index the set does not have
    pixels[2, :3] = 200
    out = Image.fromarray(pixels, mode="P")
    out.putpalette(palette)
    out.save(mask_file)
    data = build_dataset(
        DataConfig(source="voc", path=str(root), options={"image_size": 128, "hflip": 0.0}), "train"
    )
    classes = len(data.set.class_names)
    by_name = {r.image.name: i for i, r in enumerate(data.records)}
    sample = data.sample(by_name["train_000004.png"])
    assert (sample["mask"][:2] == 255).all() and (sample["mask"][2, :3] == 255).all()
    said = [line.strip() for line in data.report_lines if "no class of this set" in line]
    assert said == [
        f"{mask_file}: mask values 77, 200 are no class of this set (0 background, 1-{classes}, 255 ignore); "
        f"{2 * 128 + 3} pixels are ignored (noted)"
    ]


def test_problems_found_in_a_loader_process_reach_the_runs_import_report(voc, tmp_path):
    """A loader process reads masks with a copy of the data set, whose report is its own:
    what reading a sample found travels with the sample (``problems``) into the run's
    import_report.txt, for a mask value that is no class as for a broken image."""
    from workbench.config import ExperimentConfig, TaskConfig, TrainConfig
    from workbench.training.run_store import RunStore
    from workbench.training.trainer import Trainer

    root = _copy(voc, tmp_path)
    mask_file = root / "SegmentationClass" / "train_000004.png"
    _first_row_of_no_class(mask_file)
    data_cfg = DataConfig(source="voc", path=str(root), options={"image_size": 64, "hflip": 0.0})
    data = build_dataset(data_cfg, "train")
    index = next(i for i, r in enumerate(data.records) if r.image.name == "train_000004.png")
    import pickle

    worker_copy = pickle.loads(pickle.dumps(data))  # what a loader process holds
    (problem,) = worker_copy.sample(index)["problems"]
    assert problem[0] == str(mask_file) and "mask values 77 are no class" in problem[2]
    assert "problems" not in worker_copy.sample(index)  # said once per process
    assert not any("77" in line for line in data.report_lines)
    # several sources: routed to the part whose mask file it names, not the first part
    from workbench.data.combined import CombinedDataset

    other_root = shutil.copytree(voc, tmp_path / "other")
    other = build_dataset(DataConfig(source="voc", path=str(other_root), options={"image_size": 64}), "val")
    both = CombinedDataset([(other, frozenset({"mask"})), (data, frozenset({"mask"}))])
    both.note_problems([problem])
    assert sum("mask values 77" in line for line in data.report_lines) == 1
    assert not any("mask values 77" in line for line in other.report_lines)

    cfg = ExperimentConfig(
        name="w",
        data=data_cfg,
        tasks=[TaskConfig(name="seg", kind="segmentation")],
        train=TrainConfig(epochs=1, batch_size=4, device="cpu", num_samples=0, workers=1),
    )
    store = RunStore.create(tmp_path / "runs", "w")
    assert Trainer(cfg, store).run()["status"] == "finished"
    report = (store.path / "import_report.txt").read_text(encoding="utf-8")
    assert f"{mask_file}: mask values 77 are no class of this set" in report


def test_coco_rle_of_another_size_is_left_out(tmp_path):
    Image.new("RGB", (20, 10)).save(tmp_path / "a.png")
    data = {
        "images": [{"id": 1, "file_name": "a.png", "width": 20, "height": 10}],
        "annotations": [
            {
                "id": 7,
                "image_id": 1,
                "category_id": 1,
                "bbox": [1, 1, 5, 5],
                "segmentation": {"size": [5, 5], "counts": [25]},  # a whole 5 x 5 mask
            }
        ],
        "categories": [{"id": 1, "name": "x"}],
    }
    (tmp_path / "c.json").write_text(json.dumps(data))
    lines = check_dataset(tmp_path / "c.json").report.lines()
    assert any(
        "annotation 7: RLE size [5, 5] is not the image's [10, 20]; mask left out (skipped)" in line
        for line in lines
    )


def test_relative_yolo_yaml_without_a_path_key(tmp_path, monkeypatch):
    (tmp_path / "set/images/train").mkdir(parents=True)
    (tmp_path / "set/labels/train").mkdir(parents=True)
    Image.new("RGB", (20, 20)).save(tmp_path / "set/images/train/a.png")
    (tmp_path / "set/labels/train/a.txt").write_text("0 0.5 0.5 0.5 0.5\n")
    (tmp_path / "set/data.yaml").write_text("names: [a]\ntrain: images/train\n")
    monkeypatch.chdir(tmp_path)
    assert check_dataset("set").summary("train").objects == 1
    assert check_dataset("set/data.yaml").summary("train").objects == 1


def test_check_of_a_set_without_annotations_prints_the_report_and_exits_2(tmp_path, capsys):
    Image.new("RGB", (20, 20)).save(tmp_path / "a.png")
    data = {
        "images": [{"id": 1, "file_name": "a.png"}],
        "annotations": [],
        "categories": [{"id": 1, "name": "x"}],
    }
    (tmp_path / "c.json").write_text(json.dumps(data))
    assert main(["data", "check", str(tmp_path / "c.json")]) == 2
    out, err = capsys.readouterr()
    assert "tasks these annotations support: none" in out
    assert err.startswith("error:") and "no task could be trained" in err


def test_a_single_image_set_is_noted(tmp_path):
    Image.new("RGB", (20, 20)).save(tmp_path / "only.png")
    coco = {
        "images": [{"id": 1, "file_name": "only.png", "width": 20, "height": 20}],
        "annotations": [{"id": 1, "image_id": 1, "category_id": 1, "bbox": [2, 2, 8, 8], "iscrowd": 0}],
        "categories": [{"id": 1, "name": "a"}, {"id": 2, "name": "b"}],
    }
    (tmp_path / "c.json").write_text(json.dumps(coco))
    data = build_dataset(DataConfig(source="coco", path=str(tmp_path / "c.json")), "val")
    assert any(
        "only 1 usable image: it is used for training and validation" in line for line in data.report_lines
    )


def test_class_folders_without_an_image_of_their_own_are_no_classes(tmp_path):
    """An empty class folder, one of broken files only and a link to another class folder
    (its images are all listed already) would be classes the network never sees: left out,
    reported, and the rest keeps consecutive indices. A link to a missing file is reported."""
    for cls in ("cat", "dog", "empty", "zebra"):
        (tmp_path / cls).mkdir()
    for i in range(2):
        Image.new("RGB", (20, 20), (i, 0, 0)).save(tmp_path / "cat" / f"{i}.png")
        Image.new("RGB", (20, 20), (0, i, 0)).save(tmp_path / "zebra" / f"{i}.png")
    Image.new("RGB", (20, 20)).save(tmp_path / "dog" / "0.png")
    (tmp_path / "dog" / "1.jpg").write_text("not an image")
    (tmp_path / "dog" / "gone.jpg").symlink_to(tmp_path / "nowhere.jpg")
    (tmp_path / "broken").mkdir()
    (tmp_path / "broken" / "x.jpg").write_text("not an image either")
    (tmp_path / "catlink").symlink_to(tmp_path / "cat")
    result = check_dataset(tmp_path)
    assert result.class_names == ["cat", "dog", "zebra"]
    labels = {r.image.parent.name: r.image_class for r in result.splits["all"]}
    assert labels == {"cat": 0, "dog": 1, "zebra": 2}
    text = "\n".join(result.report.lines())
    for name in ("broken", "catlink"):
        assert f"{tmp_path / name}: no usable image of its own: not a class (noted)" in text
    # an empty folder is said once, as empty
    assert [line for line in result.report.lines() if line.startswith(f"{tmp_path / 'empty'}:")] == [
        f"{tmp_path / 'empty'}: class folder without images (skipped)"
    ]
    assert (
        f"{tmp_path / 'dog' / 'gone.jpg'}: a link to a missing file ({tmp_path / 'nowhere.jpg'}) (skipped)"
        in text
    )
    # fewer than two classes with images: refused, naming what was left out
    shutil.rmtree(tmp_path / "zebra")
    (tmp_path / "dog" / "0.png").unlink()
    with pytest.raises(DataSourceError, match=r"1 class folder\(s\) with usable images; .* at least 2 "):
        build_dataset(DataConfig(source="folder", path=str(tmp_path)), "val")


def test_split_class_folders_that_are_no_class_are_named_where_they_are(tmp_path):
    """train/ and val/ split folders: a class folder with only broken files is named at its
    real place (train/broken, not root/broken), an empty one once as empty, and neither
    is then said to be a class without training images; a real class that only val has
    is."""
    for split, classes in (("train", ("cat", "dog", "empty", "broken")), ("val", ("cat", "dog", "owl"))):
        for cls in classes:
            (tmp_path / split / cls).mkdir(parents=True)
    for split in ("train", "val"):
        for cls in ("cat", "dog"):
            Image.new("RGB", (20, 20)).save(tmp_path / split / cls / "0.png")
    Image.new("RGB", (20, 20)).save(tmp_path / "val" / "owl" / "0.png")
    (tmp_path / "train" / "broken" / "x.jpg").write_text("not an image")
    result = check_dataset(tmp_path)
    assert result.class_names == ["cat", "dog", "owl"]
    lines = result.report.lines()
    assert f"{tmp_path / 'train' / 'broken'}: no usable image of its own: not a class (noted)" in lines
    assert not any(line.startswith(f"{tmp_path / 'broken'}:") for line in lines)
    assert [line for line in lines if "empty" in line] == [
        f"{tmp_path / 'train' / 'empty'}: class folder without images (skipped)"
    ]
    untrained = [line for line in lines if "has no training" in line]
    assert untrained == [f"{tmp_path}, classes: class 'owl' has no training images (noted)"]


def test_check_piped_into_head_ends_quietly(voc):
    code = f"import sys; from workbench.cli import main; sys.exit(main(['data', 'check', {str(voc)!r}]))"
    shell = f'{sys.executable} -c "{code}" | head -1'
    out = subprocess.run(shell, shell=True, capture_output=True, text=True, env=dict(os.environ), timeout=120)
    assert out.stdout.startswith("format: voc") and "Error" not in out.stderr


@pytest.fixture
def own_format(monkeypatch, tmp_path):
    """Register format "mine" (an extension's reader, as the README's recipe) for one test;
    ``reader[0]`` is what its read does. The registry is restored afterwards."""
    from workbench.data.annotated_set import AnnotatedSet, ImageRecord
    from workbench.data.image_set_options import ImageSetOptions
    from workbench.data.import_report import ImportReport
    from workbench.data.real_dataset import register_image_source
    from workbench.data.source import DATASETS

    monkeypatch.setattr(DATASETS, "_items", dict(DATASETS._items))
    monkeypatch.setattr(DATASETS, "_modules", dict(DATASETS._modules))
    image = tmp_path / "a.png"
    Image.new("RGB", (20, 10), (9, 9, 9)).save(image)

    def record(labels, boxes=None):
        boxes = np.array(boxes if boxes is not None else [[0, 0, 5, 5]] * len(labels), np.float32)
        return ImageRecord(image, 20, 10, boxes.reshape(-1, 4), np.array(labels, np.int64))

    def good_set(path, records):
        return AnnotatedSet("mine", path, ["cat", "dog", "fox"], {"train": records}, ImportReport())

    reader = [lambda path, options: good_set(tmp_path, [record([0, 2])])]
    register_image_source("mine", "My format", "a test format", ImageSetOptions, lambda p, o: reader[0](p, o))
    return DATASETS.get("mine"), reader, record, good_set, image


@pytest.mark.parametrize(
    ("read", "said"),
    [
        (lambda path, options: {}["cls"], "PATH: the My format reader failed: KeyError: 'cls'"),
        (
            lambda path, options: [],
            "the reader returned list, not an AnnotatedSet (as the My format reader gave it)",
        ),
    ],
)
def test_a_new_formats_reader_that_fails_is_named_with_the_path(own_format, tmp_path, read, said):
    spec, reader, *_ = own_format
    reader[0] = read
    with pytest.raises(DataSourceError) as caught:
        spec.read(str(tmp_path), spec.Options())
    assert str(caught.value) == said.replace("PATH", str(tmp_path))


@pytest.mark.parametrize(
    ("labels", "boxes", "said"),
    [
        ([0, 3], None, "class index 3 is not one of the set's 3 classes (0-2)"),
        ([-1], None, "class index -1 is not one of the set's 3 classes (0-2)"),
        ([0, 1], [[0, 0, 5, 5]], "1 boxes but labels of shape (2,)"),
        ([0], [0, 0, 5], "boxes must be an (N, 4) array, got shape (1, 3)"),
        ([0.7], None, "labels must be integer class indices, got float64"),
        ([0], [[0, 0, float("nan"), 5]], "a box holds a value that is not a finite number"),
        ([0], [[9, 0, 5, 5]], "box 1 [9.0, 0.0, 5.0, 5.0] ends before it starts (x1, y1, x2, y2 expected)"),
    ],
)
def test_a_new_formats_records_that_do_not_fit_its_classes_are_named_at_the_image(
    own_format, tmp_path, capsys, labels, boxes, said
):
    """A label past the class list was an IndexError when its sample was drawn, mid-training,
    naming neither the image nor the reader; `data check` and training now refuse the set
    in one line naming both."""
    from workbench.data.annotated_set import ImageRecord

    spec, reader, record, good_set, image = own_format
    if boxes is not None and len(boxes) == 3:  # a malformed box array, built by hand
        bad = ImageRecord(image, 20, 10, np.array([boxes], np.float32), np.array(labels, np.int64))
    elif isinstance(labels[0], float):  # labels of the wrong type, built by hand
        bad = ImageRecord(image, 20, 10, np.zeros((1, 4), np.float32), np.array(labels))
    else:
        bad = record(labels, boxes)
    reader[0] = lambda path, options: good_set(tmp_path, [record([0]), bad])
    with pytest.raises(DataSourceError) as caught:
        spec.read(str(tmp_path), spec.Options())
    assert str(caught.value) == f"{image} (train): {said} (as the My format reader gave it)"
    assert main(["data", "check", str(tmp_path), "--format", "mine"]) == 2
    err = capsys.readouterr().err
    assert said in err and "Traceback" not in err and len(err.strip().splitlines()) == 1


def test_a_new_formats_well_formed_set_is_read(own_format, tmp_path):
    spec, *_ = own_format
    data = spec.read(str(tmp_path), spec.Options())
    assert [r.labels.tolist() for r in data.splits["train"]] == [[0, 2]]


def test_a_runs_start_says_what_reading_the_data_found():
    """111 problems of a 3,000-image set went into import_report.txt without a word; the
    run's start now says how many, of which kind, and where they are listed."""
    from types import SimpleNamespace

    from workbench.data.import_report import CLIPPED, DROPPED, ImportReport
    from workbench.training.trainer import import_problem_note

    report = ImportReport()
    report.add("a.txt", "line 1", "box outside the image", CLIPPED)
    report.add("b.txt", "line 2", "box outside the image", CLIPPED)
    report.add("c.txt", "line 1", "zero-area box", DROPPED)
    one_set = SimpleNamespace(report=report)
    train, val = SimpleNamespace(set=one_set), SimpleNamespace(set=one_set)  # one set, split in two
    exp = SimpleNamespace(train_set=train, val_set=val)
    assert import_problem_note(exp) == (
        "reading the data found 3 problems (2 clipped, 1 dropped) before training; import_report.txt in the "
        "run folder lists them, and any image found broken while training"
    )
    # several sources: each part's report counted once
    other = ImportReport()
    other.add("d.json", "annotation 4", "box entirely outside the image", DROPPED)
    combined = SimpleNamespace(
        parts=[(train, None), (SimpleNamespace(set=SimpleNamespace(report=other)), None)]
    )
    assert import_problem_note(SimpleNamespace(train_set=combined, val_set=val)).startswith(
        "reading the data found 4 problems (2 clipped, 2 dropped)"
    )
    clean = SimpleNamespace(set=SimpleNamespace(report=ImportReport()))
    assert import_problem_note(SimpleNamespace(train_set=clean, val_set=clean)) == ""
    # the built-in scenes have no report
    assert import_problem_note(SimpleNamespace(train_set=object(), val_set=object())) == ""


def test_problems_first_met_while_training_are_said_as_the_epoch_ends(voc, tmp_path):
    """Mask values of no class are found as the images are fitted, most of them during the
    first epoch: they went into import_report.txt without a word in the terminal. The
    epoch that met them says how many, with the first, in the terminal and the status bar."""
    from workbench.config import ExperimentConfig, TaskConfig, TrainConfig
    from workbench.training.events import EpochEnded, RunStarted
    from workbench.training.run_store import RunStore
    from workbench.training.trainer import Trainer

    root = _copy(voc, tmp_path)
    masks = sorted((root / "SegmentationClass").glob("train_*.png"))
    for mask_file in masks:
        _first_row_of_no_class(mask_file)
    cfg = ExperimentConfig(
        name="w",
        data=DataConfig(source="voc", path=str(root), options={"image_size": 64, "hflip": 0.0}),
        tasks=[TaskConfig(name="seg", kind="segmentation")],
        train=TrainConfig(epochs=2, batch_size=4, device="cpu", num_samples=0, workers=0),
    )
    events = []
    store = RunStore.create(tmp_path / "runs", "w")
    assert Trainer(cfg, store, None, [events.append]).run()["status"] == "finished"
    (started,) = [e for e in events if isinstance(e, RunStarted)]
    first, second = [e for e in events if isinstance(e, EpochEnded)]
    assert "problem" not in (started.note or "")  # none was met before training
    head = f"note: epoch 1 met {len(masks)} more problems in the data as its images were read, e.g. "
    tail = "; import_report.txt in the run folder lists them"
    assert first.data_note.startswith(head) and first.data_note.endswith(tail)
    example = first.data_note[len(head) : -len(tail)]
    named = example.split(": ", 1)[0]
    width = Image.open(named).width  # one row of 77s in that mask
    assert named in map(str, masks) and example == (
        f"{named}: mask values 77 are no class of this set (0 background, 1-4, 255 ignore); {width} pixels "
        "are ignored (noted)"
    )
    assert first.data_problems == len(masks)
    # the status bar's form names the file alone
    assert first.data_note_short == first.data_note.removeprefix("note: ").replace(named, Path(named).name)
    assert second.data_note == ""  # each problem said once
    report = (store.path / "import_report.txt").read_text(encoding="utf-8")
    assert report.count("mask values 77") == len(masks)


def test_a_16_bit_grayscale_mask_is_read_when_its_values_are_class_indices(voc, tmp_path):
    """A mode I;16 mask was refused with a hint about RGB masks: its values are read as
    class indices when they fit 0-255, and one that does not is said as such."""
    from workbench.data.dataset_check import check_dataset

    root = _copy(voc, tmp_path)
    masks = sorted((root / "SegmentationClass").glob("train_*.png"))
    with Image.open(masks[0]) as img:
        original = np.array(img)
    Image.fromarray(original.astype(np.uint16)).save(masks[0])  # same values, 16 bits
    wide = original.astype(np.uint16)
    wide[0, 0] = 300
    Image.fromarray(wide).save(masks[1])
    assert Image.open(masks[0]).mode == "I;16"
    lines = check_dataset(root).lines(None)
    assert not any(str(masks[0]) in line for line in lines)
    assert (
        f"{masks[1]}: a 16-bit grayscale mask with values 0 to 300: class indices must fit 0-255 (save it as "
        "8-bit grayscale or palette); the image is kept without a mask (skipped)"
    ) in [line.strip() for line in lines]
    data = build_dataset(
        DataConfig(source="voc", path=str(root), options={"image_size": 128, "hflip": 0.0}), "train"
    )
    index = next(i for i, r in enumerate(data.records) if r.mask_file == masks[0])
    from workbench.data.semantic_mask import semantic_mask

    read = semantic_mask(data.records[index], len(data.set.class_names))
    assert read.dtype == np.uint8 and (read == original).all()


def test_a_yolo_set_moved_with_an_absolute_path_in_its_data_yaml(tmp_path):
    """data.yaml's ``path: /old/place`` kept a moved set unreadable ("no images found ...
    root /old/place"): the splits beside data.yaml are used, and said; without them the
    refusal says that path: names a folder that is not there."""
    import yaml

    from workbench.data.dataset_check import check_dataset

    old = tmp_path / "yolo"
    assert main(["data", "export", str(old), "--format", "yolo", "--train-size", "6", "--val-size", "3"]) == 0
    spec = yaml.safe_load((old / "data.yaml").read_text())
    spec["path"] = str(old)
    (old / "data.yaml").write_text(yaml.safe_dump(spec))
    images = lambda r: r.summary("train").images + r.summary("val").images  # noqa: E731
    before = images(check_dataset(old))
    moved = tmp_path / "moved yolo"
    shutil.move(str(old), str(moved))
    result = check_dataset(moved)
    assert images(result) == before == 9
    assert (
        f"{moved / 'data.yaml'}, path: path: {old} does not exist (the set moved?); the folder of data.yaml is "
        "used, where the splits are (noted)"
    ) in [line.strip() for line in result.lines(None)]
    shutil.rmtree(moved / "images")
    shutil.rmtree(moved / "labels")
    with pytest.raises(Exception) as err:
        check_dataset(moved)
    assert str(err.value) == (
        f"{moved / 'data.yaml'}: its path: {old} does not exist (the set moved?); set path: to the set's "
        "folder, or '.' for the folder of data.yaml"
    )
