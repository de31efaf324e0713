"""COCO crowd regions (iscrowd = 1) in mAP: as pycocotools, a detection on a crowd region
is neither a hit nor a false positive; the regions travel with the image through fitting,
augmentation, batching and several sources, and never become objects."""

from __future__ import annotations

import json
from types import SimpleNamespace

import numpy as np
import pytest
import torch
from PIL import Image

from workbench.data.base import collate
from workbench.data.coco_source import read_coco_set
from workbench.data.image_set_options import ImageSetOptions
from workbench.data.real_dataset import ImageSetDataset
from workbench.tasks.detection import _DetectionMetrics

OBJECT = [6.4, 22.4, 12.8, 28.8]  # bbox [10, 10, 10, 10] of a 100x50 image letterboxed to 64
CROWD = [19.2, 16.0, 32.0, 22.4]  # bbox [30, 0, 20, 10]: x0.64, then 16 px of padding on top


def metrics_with(predictions):
    return _DetectionMetrics(SimpleNamespace(decode_tensors=lambda output: predictions))


def prediction(boxes, scores, labels):
    return {
        "boxes": torch.tensor(boxes, dtype=torch.float32).reshape(-1, 4),
        "scores": torch.tensor(scores, dtype=torch.float32),
        "labels": torch.tensor(labels, dtype=torch.long),
    }


def score(predictions, targets) -> dict:
    metrics = metrics_with(predictions)
    metrics.update({"heatmap": torch.zeros(1)}, targets)
    return metrics.compute()


def test_a_detection_on_a_crowd_region_is_not_a_false_positive():
    """One object, one crowd region of its class; the detection on the crowd scores higher
    than the true hit. As a false positive it halves precision at full recall: AP@0.5 0.5
    (every recall threshold sees precision 1/2). Ignored, as pycocotools does: AP 1.0."""
    preds = [prediction([[40, 0, 60, 20], [0, 0, 10, 10]], [0.95, 0.9], [0, 0])]
    truth = {"boxes": [torch.tensor([[0.0, 0.0, 10.0, 10.0]])], "labels": [torch.tensor([0])]}
    assert score(preds, truth)["map_50"] == pytest.approx(0.5)
    crowd = {
        **truth,
        "crowd_boxes": [torch.tensor([[38.0, 0.0, 64.0, 24.0]])],
        "crowd_labels": [torch.tensor([0])],
    }
    assert score(preds, crowd)["map_50"] == pytest.approx(1.0)
    # a crowd of another class forgives nothing: the detection stays a false positive
    other = {**crowd, "crowd_labels": [torch.tensor([1])]}
    assert score(preds, other)["map_50"] == pytest.approx(0.5)


def test_a_class_with_only_crowd_regions_is_not_averaged():
    """pycocotools averages over classes with ground truth; a crowd is none."""
    preds = [prediction([[0, 0, 10, 10], [40, 0, 60, 20]], [0.9, 0.8], [0, 1])]
    truth = {
        "boxes": [torch.tensor([[0.0, 0.0, 10.0, 10.0]])],
        "labels": [torch.tensor([0])],
        "crowd_boxes": [torch.tensor([[40.0, 0.0, 60.0, 20.0]])],
        "crowd_labels": [torch.tensor([1])],
    }
    assert score(preds, truth)["map_50"] == pytest.approx(1.0)


@pytest.fixture
def crowd_set(tmp_path):
    Image.new("RGB", (100, 50), (90, 90, 90)).save(tmp_path / "a.png")
    Image.new("RGB", (100, 50), (90, 90, 90)).save(tmp_path / "b.png")
    data = {
        "images": [
            {"id": 1, "file_name": "a.png", "width": 100, "height": 50},
            {"id": 2, "file_name": "b.png", "width": 100, "height": 50},
        ],
        "categories": [{"id": 7, "name": "person"}],
        "annotations": [
            {"id": 1, "image_id": 1, "category_id": 7, "bbox": [10, 10, 10, 10]},
            {"id": 2, "image_id": 1, "category_id": 7, "bbox": [30, 0, 20, 10], "iscrowd": 1},
            {"id": 3, "image_id": 2, "category_id": 7, "bbox": [10, 10, 10, 10]},
        ],
    }
    (tmp_path / "instances.json").write_text(json.dumps(data))
    return read_coco_set(tmp_path / "instances.json")


@pytest.mark.parametrize("cache_mb", [0, 64])
def test_crowd_regions_are_fitted_with_the_image_and_kept_apart_from_objects(crowd_set, cache_mb):
    ds = ImageSetDataset(
        crowd_set, ImageSetOptions(image_size=64, val_fraction=0.5, cache_mb=cache_mb), "val"
    )
    ds.pin(["a.png", "b.png"])
    for _ in range(2):  # the second read comes from the cache of fitted boxes
        first = ds.sample(0)
        assert first["boxes"][0].tolist() == pytest.approx(OBJECT)
        assert first["labels"].tolist() == [0] and first["count"] == 1
        assert first["crowd_boxes"][0].tolist() == pytest.approx(CROWD)
        assert first["crowd_labels"].tolist() == [0]
    second = ds.sample(1)
    assert "crowd_boxes" not in second
    _, targets = collate([first, second])
    assert [len(b) for b in targets["crowd_boxes"]] == [1, 0]
    assert [t.tolist() for t in targets["crowd_labels"]] == [[0], []]
    # the crowd region's detection, ranked first, does not cost the image its precision
    preds = [
        prediction([CROWD, OBJECT], [0.95, 0.9], [0, 0]),
        prediction([OBJECT], [0.9], [0]),
    ]
    assert score(preds, targets)["map_50"] == pytest.approx(1.0)


def test_crowd_regions_follow_a_flip(crowd_set):
    ds = ImageSetDataset(crowd_set, ImageSetOptions(image_size=64, hflip=1.0, val_fraction=0.5), "train")
    ds.pin(["a.png"])
    sample = ds.sample(0)
    assert sample["crowd_boxes"][0].tolist() == pytest.approx([64 - 32.0, 16.0, 64 - 19.2, 22.4])
    assert sample["boxes"][0].tolist() == pytest.approx([64 - 12.8, 22.4, 64 - 6.4, 28.8])


def test_several_sources_keep_the_crowd_regions(crowd_set):
    from workbench.data.combined import CombinedDataset

    ds = ImageSetDataset(crowd_set, ImageSetOptions(image_size=64, val_fraction=0.5), "val")
    ds.pin(["a.png"])
    combined = CombinedDataset([(ds, ds.info.target_keys), (ds, ds.info.target_keys)])
    sample = combined.sample(1)
    assert np.asarray(sample["crowd_boxes"])[0].tolist() == pytest.approx(CROWD)


@pytest.mark.parametrize("fmt", ["coco", "voc", "yolo"])
def test_data_export_keeps_crowd_regions_where_the_format_can(crowd_set, tmp_path, fmt):
    """COCO writes them back as iscrowd 1 (read again: the same region, still no object);
    VOC and YOLO have no such thing: left out, and said."""
    from workbench.data.export import export_dataset

    ds = ImageSetDataset(crowd_set, ImageSetOptions(image_size=64, val_fraction=0.5), "val")
    ds.pin(["a.png", "b.png"])
    _path, skipped, notes = export_dataset({"val": ds}, tmp_path / "out", fmt)
    if fmt != "coco":
        assert notes == [f"1 crowd region(s) (COCO iscrowd) not written: {fmt.upper()} has no crowd regions"]
        assert skipped == []  # every image was written
        return
    assert notes == [] and skipped == []
    back = read_coco_set(tmp_path / "out" / "annotations" / "instances_val.json")
    first = next(r for r in next(iter(back.splits.values())) if r.image.name == "000000.png")
    assert len(first.labels) == 1 and len(first.ignore) == 1
    box, _segmentation, label = first.ignore[0]
    assert box.tolist() == pytest.approx(CROWD, abs=1e-4) and label == 0


def test_data_export_counts_written_images_apart_from_notes(crowd_set, tmp_path, capsys):
    from workbench.cli import main

    config = tmp_path / "exp.toml"
    config.write_text(
        'name = "crowd"\ntasks = [{ name = "objects", kind = "detection" }]\n'
        f'[data]\nsource = "coco"\npath = "{crowd_set.path.as_posix()}"\n'
        "[data.options]\nimage_size = 64\nval_fraction = 0.5\n"
    )
    assert main(["data", "export", "--format", "yolo", "--config", str(config), str(tmp_path / "y")]) == 0
    out, err = capsys.readouterr()
    assert "wrote 2 images as yolo" in out
    assert "warning: 1 crowd region(s) (COCO iscrowd) not written: YOLO has no crowd regions" in err


def detection_task():
    from workbench.data.base import DataInfo
    from workbench.tasks.detection import Detection

    info = DataInfo(image_size=200, num_classes=2, class_names=["person", "car"])
    return Detection("objects", {}, info)


def test_predictions_view_draws_crowd_regions_and_spares_detections_on_them():
    """As pycocotools: an unmatched detection of the crowd's class lying at least half inside
    the region (intersection over the detection's area) is no error; the region is drawn."""
    task = detection_task()
    target = {
        "boxes": np.array([[150, 150, 190, 190]], np.float32),
        "labels": np.array([1]),
        "crowd_boxes": np.array([[0, 0, 100, 100]], np.float32),
        "crowd_labels": np.array([0]),
    }
    prediction = {
        "boxes": np.array(
            [
                [150, 150, 190, 190],  # the car: a hit
                [50, 50, 150, 70],  # 50 x 20 of its 100 x 20 inside the crowd: share 0.5
                [60, 50, 160, 70],  # 40 x 20 of 100 x 20 inside: share 0.4
                [10, 10, 40, 40],  # wholly inside, but a car on a crowd of people
            ],
            np.float32,
        ),
        "scores": np.array([0.9, 0.8, 0.7, 0.6], np.float32),
        "labels": np.array([1, 0, 0, 1]),
    }
    spec = task.draw(prediction, target, score_threshold=0.5)
    drawn = {b.xyxy: b for b in spec.boxes if not b.truth}
    assert drawn[(150.0, 150.0, 190.0, 190.0)].error == ""
    assert drawn[(50.0, 50.0, 150.0, 70.0)].error == ""
    assert drawn[(60.0, 50.0, 160.0, 70.0)].error == "false positive"
    assert drawn[(10.0, 10.0, 40.0, 40.0)].error == "false positive"
    crowd = [b for b in spec.boxes if b.truth and b.label == "person (crowd)"]
    assert len(crowd) == 1 and crowd[0].xyxy == (0.0, 0.0, 100.0, 100.0) and crowd[0].error == ""
    # the same detection without the crowd region is an error
    plain = {k: v for k, v in target.items() if not k.startswith("crowd")}
    alone = {b.xyxy: b for b in task.draw(prediction, plain, score_threshold=0.5).boxes if not b.truth}
    assert alone[(50.0, 50.0, 150.0, 70.0)].error == "false positive"


def test_crowd_regions_reach_the_stored_samples(crowd_set, tmp_path):
    from workbench.training.evaluation import _SampleCollector
    from workbench.training.run_store import RunStore

    ds = ImageSetDataset(crowd_set, ImageSetOptions(image_size=64, val_fraction=0.5), "val")
    ds.pin(["a.png", "b.png"])
    images, targets = collate([ds.sample(0), ds.sample(1)])
    task = detection_task()
    collector = _SampleCollector([task], limit=4, epoch=0)
    empty = {
        "heatmap": torch.zeros(2, 2, 16, 16),
        "size": torch.zeros(2, 2, 16, 16),
        "offset": torch.zeros(2, 2, 16, 16),
    }
    task.decode = lambda output: (
        [{"boxes": np.zeros((0, 4)), "scores": np.zeros(0), "labels": np.zeros(0)}] * 2
    )
    collector.add(images, targets, {"objects": empty})
    (tmp_path / "run").mkdir()
    store = RunStore(tmp_path / "run")
    store.save_samples(collector.result())
    loaded = store.load_samples(0).targets["objects"]
    assert loaded[0]["crowd_boxes"].tolist() == [pytest.approx(CROWD)]
    assert loaded[0]["crowd_labels"].tolist() == [0] and len(loaded[1]["crowd_boxes"]) == 0
