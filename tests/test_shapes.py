"""The built-in synthetic shapes scenes: determinism, target consistency and knobs."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from workbench.config import DataConfig
from workbench.data import DATASETS, build_dataset
from workbench.data.base import ALL_TARGETS, collate
from workbench.data.shapes import CLASS_NAMES, LARGEST_RATIO, ShapesDataset, ShapesOptions, stamp


def make(split: str = "train", **kw) -> ShapesDataset:
    return ShapesDataset(ShapesOptions(**kw), split)


def side(box) -> float:
    return float(max(box[2] - box[0], box[3] - box[1]))


def iou(a, b) -> float:
    iw = max(0.0, min(a[2], b[2]) - max(a[0], b[0]))
    ih = max(0.0, min(a[3], b[3]) - max(a[1], b[1]))
    inter = iw * ih
    union = (a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter
    return inter / union


def assert_same(a: dict, b: dict) -> None:
    assert a.keys() == b.keys()
    for key in a:
        np.testing.assert_array_equal(np.asarray(a[key]), np.asarray(b[key]), err_msg=key)


def check_sample(s: dict, opts: ShapesOptions) -> None:
    S, C = opts.image_size, opts.num_classes
    assert s["image"].dtype == np.uint8 and s["image"].shape == (S, S, 3)
    assert s["mask"].dtype == np.uint8 and s["mask"].shape == (S, S)
    boxes, labels = s["boxes"], s["labels"]
    assert boxes.dtype == np.float32 and boxes.ndim == 2 and boxes.shape[1] == 4
    assert labels.dtype == np.int64 and labels.shape == (len(boxes),)
    assert s["presence"].dtype == np.float32 and s["presence"].shape == (C,)
    assert s["largest_box"].dtype == np.float32 and s["largest_box"].shape == (4,)
    assert isinstance(s["count"], int) and isinstance(s["scene_class"], int)

    n = s["count"]
    assert n == len(boxes) and opts.min_objects <= n <= opts.max_objects
    assert ((labels >= 0) & (labels < C)).all()
    # boxes inside the image, non-empty, xyxy with exclusive x2/y2
    assert (boxes[:, :2] >= 0).all() and (boxes[:, 2:] <= S).all()
    assert (boxes[:, 2:] > boxes[:, :2]).all()
    # presence is exactly the set of labels
    np.testing.assert_array_equal(np.flatnonzero(s["presence"]), np.unique(labels))
    assert set(np.unique(s["presence"]).tolist()) <= {0.0, 1.0}
    # the largest object: its box, its class, and a clear margin over the second largest
    sides = np.array([side(b) for b in boxes])
    k = int(sides.argmax())
    np.testing.assert_array_equal(s["largest_box"], boxes[k])
    assert s["scene_class"] == int(labels[k])
    if n > 1:
        second = np.sort(sides)[-2]
        assert sides[k] >= LARGEST_RATIO * second
    # every mask pixel of class c + 1 lies in some box labelled c; every object shows in the mask
    mask = s["mask"]
    assert mask.max() <= C
    ys, xs = np.nonzero(mask)
    cls = mask[ys, xs].astype(np.int64) - 1
    covered = np.zeros(len(ys), bool)
    for box, label in zip(boxes, labels, strict=True):
        x0, y0, x1, y1 = box
        covered |= (cls == label) & (xs >= x0) & (xs < x1) & (ys >= y0) & (ys < y1)
        assert (mask[int(y0) : int(y1), int(x0) : int(x1)] == label + 1).any()
    assert covered.all()


def test_class_names_and_info():
    assert CLASS_NAMES == ("circle", "square", "triangle", "diamond", "cross", "hexagon", "ring", "star")
    ds = make(num_classes=5, image_size=96, train_size=7, val_size=3)
    assert ds.info.image_size == 96 and ds.info.num_classes == 5
    assert ds.info.class_names == CLASS_NAMES[:5]
    assert ds.info.target_keys == ALL_TARGETS
    assert len(ds) == 7 and len(make("val", train_size=7, val_size=3)) == 3
    assert set(ds.sample(0)) == ALL_TARGETS | {"image", "labels"}


def test_deterministic_per_seed_split_index():
    a, b = make(), make()
    for i in (0, 5, len(a) - 1):
        assert_same(a.sample(i), b.sample(i))
    assert not np.array_equal(a.sample(0)["image"], a.sample(1)["image"])
    other_seed = make(data_seed=1)
    assert not np.array_equal(a.sample(3)["image"], other_seed.sample(3)["image"])
    val = make("val")
    train_images = {a.sample(i)["image"].tobytes() for i in range(40)}
    assert not train_images & {val.sample(i)["image"].tobytes() for i in range(40)}


def test_targets_consistent_default_options():
    ds = make()
    for i in range(60):
        s = ds.sample(i)
        check_sample(s, ds.options)
        boxes = s["boxes"]
        for p in range(len(boxes)):
            for q in range(p + 1, len(boxes)):
                assert iou(boxes[p], boxes[q]) < 0.1


def test_targets_consistent_crowded_and_noisy():
    opts = ShapesOptions(image_size=64, num_classes=8, min_objects=3, max_objects=12, clutter=10, noise=0.6)
    ds = ShapesDataset(opts, "val")
    for i in range(40):
        check_sample(ds.sample(i), opts)


def test_min_objects_kept_even_when_crowded():
    opts = ShapesOptions(image_size=48, min_objects=8, max_objects=8, min_size=0.3, max_size=0.5)
    ds = ShapesDataset(opts, "train")
    for i in range(10):
        s = ds.sample(i)
        assert s["count"] == 8
        check_sample(s, opts)


@pytest.mark.parametrize("image_size", [64, 200])
def test_image_size_knob(image_size):
    opts = ShapesOptions(image_size=image_size, noise=0.2)
    ds = ShapesDataset(opts, "train")
    for i in range(8):
        check_sample(ds.sample(i), opts)


def test_num_classes_and_object_count_knobs():
    opts = ShapesOptions(num_classes=2, min_objects=2, max_objects=3)
    ds = ShapesDataset(opts, "train")
    counts, classes = set(), set()
    for i in range(60):
        s = ds.sample(i)
        check_sample(s, opts)
        counts.add(s["count"])
        classes.update(s["labels"].tolist())
        assert s["presence"].shape == (2,)
    assert counts == {2, 3} and classes == {0, 1}

    single = ShapesOptions(min_objects=1, max_objects=1, noise=0.0, clutter=0)
    ds = ShapesDataset(single, "train")
    s = ds.sample(0)
    check_sample(s, single)
    # no noise, no clutter: the background is one flat colour
    bg = s["image"][s["mask"] == 0]
    assert (bg == bg[0]).all()


def test_clutter_and_noise_leave_targets_alone():
    layout_keys = ("mask", "boxes", "labels", "scene_class", "count", "presence", "largest_box")
    plain = make(clutter=0, noise=0.0).sample(2)
    for other in (make(clutter=20, noise=0.0).sample(2), make(clutter=0, noise=0.5).sample(2)):
        assert (plain["image"] != other["image"]).any()
        for key in layout_keys:
            np.testing.assert_array_equal(np.asarray(plain[key]), np.asarray(other[key]), err_msg=key)


def test_stamps_fill_their_square():
    for cls in range(len(CLASS_NAMES)):
        for size in range(5, 90):
            st = stamp(cls, size)
            assert st.shape == (size, size), (CLASS_NAMES[cls], size)
            assert st.dtype == bool
    # the classes really differ from one another
    flat = {stamp(c, 32).tobytes() for c in range(len(CLASS_NAMES))}
    assert len(flat) == len(CLASS_NAMES)


def test_bad_split_and_index():
    with pytest.raises(ValueError, match="test"):
        make("test")
    ds = make(train_size=5)
    with pytest.raises(IndexError):
        ds.sample(5)
    with pytest.raises(IndexError):
        ds.sample(-1)
    ds.sample(np.int64(4))


def test_registry_and_collate():
    assert "shapes" in DATASETS
    cfg = DataConfig(options={"image_size": 64, "val_size": 9})
    ds = build_dataset(cfg, "val")
    assert isinstance(ds, ShapesDataset) and len(ds) == 9 and ds.info.image_size == 64
    samples = [ds.sample(i) for i in range(4)]
    images, targets = collate(samples)
    assert images.shape == (4, 3, 64, 64) and images.dtype == torch.uint8
    assert targets["scene_class"].shape == (4,) and targets["scene_class"].dtype == torch.long
    assert targets["presence"].shape == (4, 4) and targets["presence"].dtype == torch.float32
    assert targets["largest_box"].shape == (4, 4) and targets["largest_box"].dtype == torch.float32
    assert targets["mask"].shape == (4, 64, 64) and targets["mask"].dtype == torch.long
    assert targets["count"].dtype == torch.float32
    assert [len(b) for b in targets["boxes"]] == [s["count"] for s in samples]
    assert all(b.dtype == torch.float32 and b.shape[1] == 4 for b in targets["boxes"])
    assert all(lab.dtype == torch.long for lab in targets["labels"])
    np.testing.assert_array_equal(images[2].permute(1, 2, 0).numpy(), samples[2]["image"])
