"""Partial labels: sources that label different tasks in one model, masks that are not
known everywhere, and loss weighting over the tasks a batch labels."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest
import torch
from PIL import Image

from workbench.config import ExperimentConfig, OptimConfig, SourceConfig, TaskConfig, TrainConfig
from workbench.data.annotated_set import ImageRecord
from workbench.data.base import IGNORE_INDEX, collate
from workbench.data.semantic_mask import semantic_mask
from workbench.experiment_check import validate_experiment
from workbench.training.experiment import build_data
from workbench.training.run_store import RunStore
from workbench.training.trainer import Trainer
from workbench.weighting import WEIGHTINGS


def _voc(root, n=6):
    """A tiny VOC set: one 'cat' box per image, with a labelmap (classes cat, dog)."""
    (root / "Annotations").mkdir(parents=True)
    (root / "JPEGImages").mkdir()
    for i in range(n):
        Image.new("RGB", (40, 30), (10 * i, 100, 50)).save(root / "JPEGImages" / f"im{i}.png")
        (root / "Annotations" / f"im{i}.xml").write_text(
            f"<annotation><filename>im{i}.png</filename><size><width>40</width><height>30</height></size>"
            "<object><name>cat</name><bndbox><xmin>5</xmin><ymin>6</ymin><xmax>25</xmax><ymax>20</ymax>"
            "</bndbox></object></annotation>"
        )
    (root / "labelmap.txt").write_text("background:0,0,0::\ncat:128,0,0::\ndog:0,128,0::\n")
    return root


def _folders(root, per_class=4):
    for c, cls in enumerate(("indoor", "outdoor", "night")):
        (root / cls).mkdir(parents=True)
        for i in range(per_class):
            Image.new("RGB", (32, 32), (80 * c, 20 * i, 60)).save(root / cls / f"{i}.png")
    return root


def _combined(tmp_path):
    return ExperimentConfig(
        name="partial",
        data={
            "sources": [
                SourceConfig(
                    "voc",
                    str(_voc(tmp_path / "voc")),
                    {"image_size": 64, "val_fraction": 0.5},
                    ["boxes", "n"],
                ),
                SourceConfig("folder", str(_folders(tmp_path / "scenes")), {"image_size": 64}, ["scene"]),
            ]
        },
        tasks=[
            TaskConfig(name="boxes", kind="detection", options={"head_width": 16}),
            TaskConfig(name="n", kind="counting"),
            TaskConfig(name="scene", kind="classification"),
        ],
        optim=OptimConfig(lr=1e-3, warmup_steps=1),
        train=TrainConfig(epochs=1, batch_size=13, device="cpu", num_samples=0),
    )


def _as_config(cfg):
    from workbench.config import DataConfig

    cfg.data = DataConfig(sources=cfg.data["sources"])
    return cfg


def test_each_source_labels_only_its_tasks(tmp_path):
    cfg = _as_config(_combined(tmp_path))
    validate_experiment(cfg)
    val = build_data(cfg, "val")
    # each task learns its own source's classes
    assert val.task_infos["boxes"].class_names == ("cat", "dog")
    assert val.task_infos["scene"].class_names == ("indoor", "night", "outdoor")
    data = val.dataset
    assert len(data) == 3 + 2  # half of 6 VOC images, a fifth of 12 folder images (2.4 -> 2)
    samples = [data.sample(i) for i in range(len(data))]
    _, targets = collate(samples, frozenset({"boxes", "count", "scene_class"}))
    has = targets["has"]
    assert has["boxes"].tolist() == [True] * 3 + [False] * 2
    assert has["count"].tolist() == [True] * 3 + [False] * 2
    assert has["scene_class"].tolist() == [False] * 3 + [True] * 2


def test_one_set_read_by_two_sources_or_sources_of_two_sizes_are_refused_when_validated(tmp_path):
    """The same folder as two sources (another split seed each) put 10 of 30 training images
    into validation without a word; sources at 48 and 64 px passed validation (the setup
    said "valid") and were refused only when Start built the data."""
    from workbench.config import ConfigError

    cfg = _as_config(_combined(tmp_path))
    voc = cfg.data.sources[0]
    cfg.data.sources.append(SourceConfig("voc", voc.path + "/", {"image_size": 64, "split_seed": 1}, ["n"]))
    cfg.data.sources[0].tasks = ["boxes"]
    with pytest.raises(ConfigError) as caught:
        validate_experiment(cfg)
    assert str(caught.value) == (
        f"data.sources[2].path: {voc.path}/ is read by data.sources[0] already: its images would count "
        "twice, and with another split a training image of one would be a validation image of the other; "
        "name all the tasks it labels in one source"
    )
    # a COCO file and the folder that holds it are one set too
    coco = tmp_path / "coco"
    coco.mkdir()
    (coco / "instances.json").write_text("{}")
    for pair in ((coco, coco / "instances.json"), (coco / "instances.json", coco)):
        cfg = _as_config(_combined(tmp_path / f"c{len(str(pair[0]))}"))
        cfg.data.sources[0] = SourceConfig("coco", str(pair[0]), {}, ["boxes"])
        cfg.data.sources.append(SourceConfig("auto", str(pair[1]), {}, ["n"]))
        with pytest.raises(
            ConfigError, match=r"data.sources\[2\].path: .* is read by data.sources\[0\] already"
        ):
            validate_experiment(cfg)
    cfg = _as_config(_combined(tmp_path / "b"))
    cfg.data.sources[1].options["image_size"] = 48
    with pytest.raises(ConfigError) as caught:
        validate_experiment(cfg)
    assert str(caught.value) == (
        "data.sources[1].options.image_size: 48 px, but data.sources[0] fits its images to 64 px: give every "
        "source one image_size, or set model.input_size"
    )
    cfg.model.input_size = 64
    validate_experiment(cfg)


def test_sources_of_one_task_with_other_classes_are_named_with_both_lists(tmp_path):
    from workbench.config import ConfigError

    cfg = _as_config(_combined(tmp_path))
    other = _voc(tmp_path / "voc2")
    (other / "labelmap.txt").write_text("background:0,0,0::\ncat:128,0,0::\nfox:0,128,0::\n")
    first = cfg.data.sources[0]
    cfg.data.sources.append(SourceConfig("voc", str(other), first.options, list(first.tasks)))
    with pytest.raises(ConfigError) as caught:
        build_data(cfg, "val")
    assert str(caught.value) == (
        "data.sources[2].tasks: task 'boxes' is fed by sources with different classes: data.sources[0] has "
        "cat, dog, data.sources[2] has cat, fox; one class list per task"
    )


def test_training_counts_the_labelled_samples_per_task(tmp_path):
    cfg = _as_config(_combined(tmp_path))
    validate_experiment(cfg)
    store = RunStore.create(tmp_path / "runs", cfg.name)
    Trainer(cfg, store).run()
    epochs = [json.loads(line) for line in (store.path / "metrics.jsonl").read_text().splitlines()]
    epoch = next(r for r in epochs if r["type"] == "epoch")
    # train: 3 VOC images (boxes, n) and 10 folder images (scene) in one batch of 13;
    # val: 3 VOC and 2 folder images
    assert epoch["labelled"]["boxes"] == {"train": 3, "val": 3}
    assert epoch["labelled"]["n"] == {"train": 3, "val": 3}
    assert epoch["labelled"]["scene"] == {"train": 10, "val": 2}
    for task in ("boxes", "n", "scene"):
        assert epoch["train_losses"][task] is not None and math.isfinite(epoch["train_losses"][task])
    report = (store.path / "import_report.txt").read_text()
    assert "source 1:" in report and "format: voc" in report and "format: folder" in report


def test_a_task_no_image_of_a_batch_labels_has_no_step_loss_not_zero(tmp_path):
    """Its masked mean, 0 (logged -0.0), made the loss curve dip to 0 on such steps."""
    cfg = _as_config(_combined(tmp_path))
    cfg.train.batch_size = 2  # 6 full batches of the 13 images, 3 with boxes: 3 or more without
    store = RunStore.create(tmp_path / "runs", cfg.name)
    Trainer(cfg, store).run()
    steps = [
        r
        for r in map(json.loads, (store.path / "metrics.jsonl").read_text().splitlines())
        if r["type"] == "step"
    ]
    boxes = [r["losses"]["boxes"] for r in steps]
    assert len(steps) == 6 and sum(v is None for v in boxes) >= 3
    assert all(v is None or v > 0 for v in boxes)
    assert all((r["losses"]["boxes"] is None) == (r["losses"]["n"] is None) for r in steps)  # one source
    # its weight likewise (the Task weights curve swung between 0 and 1)
    assert all((r["weights"]["boxes"] is None) == (r["losses"]["boxes"] is None) for r in steps)


def test_weighting_sees_only_the_tasks_in_the_batch():
    losses = {"a": torch.tensor(2.0, requires_grad=True), "b": torch.tensor(0.0, requires_grad=True)}
    mean = WEIGHTINGS.get("equal_mean")(["a", "b"], {}, {})
    total, weights = mean.combine(losses, {"a"})
    assert total.item() == 2.0 and weights == {"a": 1.0, "b": 0.0}  # the mean over one task
    total, weights = mean.combine(losses)
    assert total.item() == 1.0 and weights == {"a": 0.5, "b": 0.5}

    unc = WEIGHTINGS.get("uncertainty")(["a", "b"], {}, {})
    with torch.no_grad():
        unc.log_vars.copy_(torch.tensor([0.5, 1.0]))
    total, weights = unc.combine(losses, {"a"})
    # 0.5 e^-0.5 * 2 + 0.5 * 0.5: b's log-variance term is left out with its loss
    assert total.item() == pytest.approx(0.5 * math.exp(-0.5) * 2 + 0.25, abs=1e-6)
    total.backward()
    assert unc.log_vars.grad[1] == 0.0

    rlw = WEIGHTINGS.get("random")(["a", "b", "c"], {}, {}, seed=3)
    draws = torch.randn(3, generator=torch.Generator().manual_seed(3 + 7919))  # RLW's own stream
    _, weights = rlw.combine({k: torch.tensor(1.0) for k in "abc"}, {"a", "c"})
    expected = torch.softmax(draws[[0, 2]], dim=0)
    assert weights["b"] == 0.0
    assert weights["a"] == pytest.approx(float(expected[0])) and weights["c"] == pytest.approx(
        float(expected[1])
    )


def test_semantic_mask_from_objects_with_and_without_masks():
    record = ImageRecord(
        image=None,
        width=10,
        height=8,
        boxes=np.array([[0, 0, 8, 8], [2, 2, 5, 5], [7, 0, 10, 3]], np.float32),
        labels=np.array([0, 1, 2]),
        segmentations=[
            [[0, 0, 8, 0, 8, 8, 0, 8]],  # the large square, class 0
            [[2, 2, 5, 2, 5, 5, 2, 5]],  # a small square on top of it, class 1
            None,  # a box without a mask
        ],
    )
    mask = semantic_mask(record, 3)
    assert mask[4, 4] == 2  # the small object is painted over the large one (class 1 + 1)
    assert mask[6, 1] == 1  # the large object elsewhere
    assert mask[1, 9] == IGNORE_INDEX  # the unmasked object's box: not known to be background
    assert mask[7, 9] == 0
    # objects, none with a mask: no segmentation label for this image
    no_masks = ImageRecord(None, 10, 8, record.boxes[:1], record.labels[:1], [None])
    assert semantic_mask(no_masks, 3) is None
    # no objects at all: all background
    assert (semantic_mask(ImageRecord(None, 10, 8), 3) == 0).all()


def test_palette_mask_indices_beyond_the_classes_are_ignored(tmp_path):
    png = tmp_path / "m.png"
    values = np.array([[0, 1, 2], [3, 255, 9]], np.uint8)
    img = Image.fromarray(values, mode="L").convert("P")
    img.save(png)
    record = ImageRecord(None, 3, 2, mask_file=png)
    mask = semantic_mask(record, 2)
    assert mask.tolist() == [[0, 1, 2], [255, 255, 255]]
    record.width = 4
    from workbench.data.image_io import ImageError

    with pytest.raises(ImageError, match="mask is 3x2 but its image is 4x2"):
        semantic_mask(record, 2)


def test_exif_rotated_images_keep_their_annotations_upright(tmp_path):
    from workbench.data.annotated_set import AnnotatedSet
    from workbench.data.file_probe import probe_size
    from workbench.data.image_set_options import ImageSetOptions
    from workbench.data.import_report import ImportReport
    from workbench.data.real_dataset import ImageSetDataset

    # stored 40 wide x 20 high, EXIF 6: shown (and annotated) 20 wide x 40 high
    pixels = np.zeros((20, 40, 3), np.uint8)
    path = tmp_path / "turned.jpg"
    exif = Image.Exif()
    exif[0x0112] = 6
    Image.fromarray(pixels).save(path, exif=exif)
    assert probe_size(path, ImportReport()) == (20, 40)
    record = ImageRecord(path, 20, 40, np.array([[0, 0, 10, 20]], np.float32), np.array([0]), [None])
    data = AnnotatedSet("coco", tmp_path, ["thing"], {"train": [record], "val": [record]}, ImportReport())
    ds = ImageSetDataset(data, ImageSetOptions(image_size=80, hflip=0.0), "val")
    sample = ds.sample(0)
    # letterboxed: 20x40 -> 40x80, padded 20 px left and right
    np.testing.assert_allclose(sample["boxes"], [[20, 0, 40, 40]], atol=1e-4)
    assert sample["image"].shape == (80, 80, 3)


def test_data_export_of_several_sources_writes_the_one_with_boxes(tmp_path, capsys):
    """Images of a source without boxes are unlabelled for boxes, not empty images: only
    the source with boxes is written, with its own classes, whatever its place in the list."""
    from workbench.cli import main
    from workbench.experiment_check import save_config

    cfg = _as_config(_combined(tmp_path))
    cfg.data.sources.reverse()  # the folder source first: its classes are not the boxes' classes
    save_config(cfg, tmp_path / "multi.toml")
    out = tmp_path / "export"
    capsys.readouterr()
    assert (
        main(["data", "export", str(out), "--format", "coco", "--config", str(tmp_path / "multi.toml")]) == 0
    )
    said = [line for line in capsys.readouterr().err.splitlines() if line.startswith("note:")]
    scenes = tmp_path / "scenes"
    assert said[0] == f"note: data.sources[0] (folder {scenes}, tasks scene) has no boxes and is not written"
    assert said[1:] == [  # a set from files, resampled: said, with each image's original file
        "note: the images are written as the model sees them: letterboxed to 64 x 64 px, PNG, renamed "
        f"000000.png ...; {out / 'sources.csv'} names each one's original file"
    ]
    written = {
        split: json.loads((out / "annotations" / f"instances_{split}.json").read_text())
        for split in ("train", "val")
    }
    assert [c["name"] for c in written["train"]["categories"]] == ["cat", "dog"]
    assert len(written["train"]["images"]) + len(written["val"]["images"]) == 6  # the VOC images alone
    assert len(written["train"]["annotations"]) + len(written["val"]["annotations"]) == 6

    # two sources with boxes: refused in one line, nothing left behind
    twice = _as_config(_combined(tmp_path / "b"))
    first = twice.data.sources[0]  # another VOC set (one set read twice is refused before)
    twice.data.sources[1] = SourceConfig(
        "voc", str(_voc(tmp_path / "b" / "voc2")), first.options, first.tasks
    )
    twice.tasks = twice.tasks[:2]  # no source labels 'scene' now
    save_config(twice, tmp_path / "twice.toml")
    capsys.readouterr()
    out2 = tmp_path / "export2"
    assert (
        main(["data", "export", str(out2), "--format", "yolo", "--config", str(tmp_path / "twice.toml")]) == 2
    )
    err = capsys.readouterr().err.strip()
    assert (
        err
        == f"error: {tmp_path / 'twice.toml'}: 2 data sources have boxes; export one at a time (a config with that source alone)"
    )
    assert not out2.exists()


def test_a_task_no_validation_image_labels_is_said_once_and_noted(tmp_path, capsys):
    """Masks only for the training images: the segmentation task's validation metrics are
    undefined; the run says so (once, not per epoch) and its notes keep it."""
    from workbench.cli import main
    from workbench.experiment_check import save_config

    root = _voc(tmp_path / "voc", n=6)
    (root / "ImageSets" / "Main").mkdir(parents=True)
    (root / "ImageSets" / "Main" / "train.txt").write_text("im0\nim1\nim2\nim3\n")
    (root / "ImageSets" / "Main" / "val.txt").write_text("im4\nim5\n")
    (root / "SegmentationClass").mkdir()
    for i in range(4):
        mask = np.zeros((30, 40), np.uint8)
        mask[6:20, 5:25] = 1  # the cat box
        image = Image.fromarray(mask, mode="P")
        image.putpalette([0, 0, 0, 128, 0, 0] + [0] * 762)
        image.save(root / "SegmentationClass" / f"im{i}.png")
    cfg = ExperimentConfig(
        name="unlabelled",
        data={"source": "voc", "path": str(root), "options": {"image_size": 64}},
        tasks=[TaskConfig(name="n", kind="counting"), TaskConfig(name="seg", kind="segmentation")],
        optim=OptimConfig(lr=1e-3, warmup_steps=1),
        train=TrainConfig(epochs=2, batch_size=2, device="cpu", num_samples=0),
    )
    from workbench.config import DataConfig

    cfg.data = DataConfig(source="voc", path=str(root), options={"image_size": 64})
    save_config(cfg, tmp_path / "exp.toml")
    capsys.readouterr()
    assert main(["train", str(tmp_path / "exp.toml"), "--out", str(tmp_path / "runs")]) == 0
    err = capsys.readouterr().err
    said = "note: no validation image labels task 'seg': its validation loss and metrics are undefined"
    assert err.count(said) == 1, err
    assert "seg miou=undefined" in err.replace("miou_fg", "miou")  # the epoch line is printed, not lost
    (run,) = (tmp_path / "runs").iterdir()
    summary = json.loads((run / "summary.json").read_text())
    assert sum("no validation image labels task 'seg'" in n for n in summary["notes"]) == 1
