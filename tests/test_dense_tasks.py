"""Dense task kinds (detection, segmentation) and the shared feature fusion."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from torch import nn

from workbench.config import ConfigError
from workbench.data.base import DataInfo
from workbench.tasks.detection import Detection, build_targets
from workbench.tasks.fusion import FeatureFusion, select_levels
from workbench.tasks.segmentation import Segmentation

SIZE = 64
CHANNELS = [16, 32, 64, 64]
STRIDES = [4, 8, 16, 32]
INFO = DataInfo(image_size=SIZE, num_classes=3, class_names=("circle", "square", "triangle"))

# Hand-made scenes: xyxy pixel boxes and class ids per image.
SCENES = [
    ([[4, 6, 24, 22], [34, 30, 58, 60]], [0, 2]),
    ([[10, 10, 40, 34]], [1]),
    ([[2, 40, 18, 62], [26, 4, 44, 20], [44, 36, 62, 54]], [2, 0, 1]),
    ([[20, 20, 52, 44]], [0]),
]


def make_batch() -> tuple[torch.Tensor, dict]:
    """Images (B, 3, H, W) float with a class-coloured rectangle per object, and targets."""
    gen = torch.Generator().manual_seed(0)
    images = 0.1 * torch.rand(len(SCENES), 3, SIZE, SIZE, generator=gen)
    masks = torch.zeros(len(SCENES), SIZE, SIZE, dtype=torch.long)
    for i, (boxes, labels) in enumerate(SCENES):
        for (x1, y1, x2, y2), label in zip(boxes, labels, strict=True):
            images[i, :, y1:y2, x1:x2] = 0.0
            images[i, label, y1:y2, x1:x2] = 1.0
            masks[i, y1:y2, x1:x2] = label + 1
    targets = {
        "boxes": [torch.tensor(b, dtype=torch.float32) for b, _ in SCENES],
        "labels": [torch.tensor(lab, dtype=torch.int64) for _, lab in SCENES],
        "mask": masks,
    }
    return images, targets


def fake_features(batch: int = 2) -> list[torch.Tensor]:
    gen = torch.Generator().manual_seed(1)
    return [
        torch.randn(batch, c, SIZE // s, SIZE // s, generator=gen)
        for c, s in zip(CHANNELS, STRIDES, strict=True)
    ]


class Trunk(nn.Module):
    """A tiny conv backbone with features at strides 4, 8, 16, 32."""

    def __init__(self) -> None:
        super().__init__()

        def block(cin: int, cout: int) -> nn.Sequential:
            return nn.Sequential(
                nn.Conv2d(cin, cout, 3, stride=2, padding=1), nn.BatchNorm2d(cout), nn.ReLU()
            )

        self.stem = nn.Sequential(block(3, 16), block(16, CHANNELS[0]))
        self.stages = nn.ModuleList(block(a, b) for a, b in zip(CHANNELS[:-1], CHANNELS[1:], strict=True))

    def forward(self, x: torch.Tensor) -> list[torch.Tensor]:
        features = [self.stem(x)]
        for stage in self.stages:
            features.append(stage(features[-1]))
        return features


def overfit(task, steps: int) -> tuple[float, float]:
    torch.manual_seed(0)
    images, targets = make_batch()
    trunk = Trunk()
    head = task.build_head(CHANNELS, STRIDES)
    params = list(trunk.parameters()) + list(head.parameters())
    opt = torch.optim.Adam(params, lr=3e-3)
    losses = []
    for _ in range(steps):
        loss = task.loss(head(trunk(images)), targets)
        opt.zero_grad()
        loss.backward()
        opt.step()
        losses.append(loss.item())
    return losses[0], min(losses[-5:])


# ------------------------------------------------------------------------------ fusion


def test_select_levels() -> None:
    assert select_levels([4, 8, 16, 32]) == [0, 1, 2, 3]
    assert select_levels([2, 4, 8, 16, 32]) == [1, 2, 3, 4]
    assert select_levels([2, 4, 8, 16, 32, 64]) == [1, 3, 4, 5]  # base + deepest three
    assert select_levels([8, 16, 32]) == [0, 1, 2]  # nothing fine enough: the finest
    assert select_levels([2, 4, 4, 8]) == [2, 3]  # deepest of equal strides
    assert select_levels([1, 2]) == [1]


def test_fusion_shapes_channels_last_and_autocast() -> None:
    fusion = FeatureFusion(CHANNELS, STRIDES, width=24, mode="nearest")
    assert fusion.out_stride == 4 and fusion.out_channels == 24
    feats = [f.contiguous(memory_format=torch.channels_last) for f in fake_features()]
    with torch.autocast("cpu", dtype=torch.bfloat16):
        out = fusion(feats)
    assert out.shape == (2, 24, SIZE // 4, SIZE // 4)
    coarse = FeatureFusion(CHANNELS[1:], STRIDES[1:], width=8)
    assert coarse.out_stride == 8
    assert coarse(fake_features()[1:]).shape == (2, 8, SIZE // 8, SIZE // 8)


# --------------------------------------------------------------------------- detection


def perfect_detection_output(task: Detection, targets: dict) -> dict[str, torch.Tensor]:
    """Raw head outputs that encode the targets exactly."""
    map_size = (SIZE // 4, SIZE // 4)
    enc = task.encode(targets, map_size)
    batch = len(targets["boxes"])
    heat = torch.where(enc.heatmap == 1.0, 20.0, -20.0)
    size = torch.zeros(batch, 2, map_size[0] * map_size[1])
    offset = torch.zeros_like(size)
    size[enc.batch, :, enc.index] = enc.size
    offset[enc.batch, :, enc.index] = enc.offset
    return {
        "heatmap": heat,
        "size": size.reshape(batch, 2, *map_size),
        "offset": offset.reshape(batch, 2, *map_size),
    }


def test_detection_targets() -> None:
    _, targets = make_batch()
    enc = build_targets(targets["boxes"], targets["labels"], 3, (16, 16), (4.0, 4.0))
    assert enc.heatmap.shape == (4, 3, 16, 16)
    assert int(enc.heatmap.eq(1.0).sum()) == sum(len(lab) for _, lab in SCENES)
    assert float(enc.heatmap.max()) == 1.0 and float(enc.heatmap.min()) == 0.0
    # first object: box (4, 6, 24, 22) -> centre (14, 14) px = cell (3, 3) + offset 0.5
    assert enc.heatmap[0, 0, 3, 3] == 1.0
    assert int(enc.index[0]) == 3 * 16 + 3
    assert torch.allclose(enc.offset[0], torch.tensor([0.5, 0.5]))
    assert torch.allclose(enc.size[0].exp(), torch.tensor([5.0, 4.0]))


def test_detection_perfect_outputs_give_full_map() -> None:
    task = Detection("objects", {}, INFO)
    _, targets = make_batch()
    output = perfect_detection_output(task, targets)
    decoded = task.decode(output)
    assert len(decoded) == 4
    top = decoded[0]
    assert top["boxes"].dtype == np.float32 and top["labels"].dtype == np.int64
    confident = top["boxes"][top["scores"] > 0.5]
    expected = np.array(SCENES[0][0], np.float32)
    assert confident.shape == (2, 4)
    assert np.allclose(
        confident[np.lexsort(confident.T[::-1])], expected[np.lexsort(expected.T[::-1])], atol=1e-3
    )
    metrics = task.make_metrics()
    metrics.update(output, targets)
    result = metrics.compute()
    assert set(result) == set(Detection.metric_names)
    assert result["map_50"] == pytest.approx(1.0)
    assert result["map"] == pytest.approx(1.0)
    assert all(isinstance(v, float) for v in result.values())
    items = task.target_items(targets, 2)
    assert len(items) == 2 and items[0]["boxes"].shape == (2, 4) and items[0]["labels"].dtype == np.int64


def test_detection_head_channels_last_autocast() -> None:
    task = Detection("objects", {"head_width": 16}, INFO, dropout=0.1)
    head = task.build_head(CHANNELS, STRIDES).to(memory_format=torch.channels_last)
    feats = [f.contiguous(memory_format=torch.channels_last) for f in fake_features(4)]
    _, targets = make_batch()
    with torch.autocast("cpu", dtype=torch.bfloat16):
        out = head(feats)
        loss = task.loss(out, targets)
    assert out["heatmap"].shape == (4, 3, 16, 16)
    assert out["size"].shape == out["offset"].shape == (4, 2, 16, 16)
    assert torch.isfinite(loss) and loss.dtype == torch.float32
    loss.backward()
    preds = task.decode(out)
    assert all(len(p["boxes"]) <= task.options.max_detections == 100 for p in preds)


def test_detection_overfits() -> None:
    first, last = overfit(Detection("objects", {"head_width": 32}, INFO), steps=100)
    assert last < 0.3 * first, (first, last)


def test_detection_draw_marks_errors() -> None:
    task = Detection("objects", {}, INFO)
    target = {"boxes": np.array([[0, 0, 20, 20], [30, 30, 60, 60]], np.float32), "labels": np.array([0, 1])}
    prediction = {
        "boxes": np.array([[1, 1, 20, 21], [40, 0, 60, 12], [30, 30, 60, 60]], np.float32),
        "scores": np.array([0.9, 0.8, 0.1], np.float32),
        "labels": np.array([0, 2, 1]),
    }
    spec = task.draw(prediction, target, score_threshold=0.3)
    preds = [b for b in spec.boxes if not b.truth]
    truth = [b for b in spec.boxes if b.truth]
    assert [b.error for b in preds] == ["", "false positive"]
    assert preds[0].label == "circle 0.90" and preds[0].score == pytest.approx(0.9)
    assert [b.error for b in truth] == ["", "missed"]
    assert spec.has_error
    # the caption: 1 of 2 objects found, 1 false positive (the 0.1 box is below 0.3)
    assert [t.text for t in spec.texts] == ["objects: 1/2 found, 1 false or wrong-class"]

    prediction["labels"] = np.array([2, 2, 1])
    spec = task.draw(prediction, target, score_threshold=0.05)
    assert [b.error for b in spec.boxes] == ["wrong class", "false positive", "", "", ""]

    clean = task.draw(
        {k: v[[0, 2]] for k, v in prediction.items()} | {"labels": np.array([0, 1])}, target, 0.05
    )
    assert not clean.has_error and all(b.error == "" for b in clean.boxes)
    assert [t.text for t in clean.texts] == ["objects: 2/2 found"]
    assert [t.text for t in task.draw(prediction, None, 0.05).texts] == ["objects: 3 box(es) above 0.05"]
    only_truth = task.draw(None, target)
    assert len(only_truth.boxes) == 2 and not only_truth.has_error


# ------------------------------------------------------------------------ segmentation


def test_segmentation_head_and_perfect_metrics() -> None:
    task = Segmentation("masks", {"head_width": 16}, INFO, dropout=0.2)
    head = task.build_head(CHANNELS, STRIDES).to(memory_format=torch.channels_last)
    feats = [f.contiguous(memory_format=torch.channels_last) for f in fake_features(4)]
    _, targets = make_batch()
    with torch.autocast("cpu", dtype=torch.bfloat16):
        out = head(feats)
        loss = task.loss(out, targets)
    assert out.shape == (4, 4, SIZE, SIZE)
    assert torch.isfinite(loss)

    perfect = torch.nn.functional.one_hot(targets["mask"], 4).permute(0, 3, 1, 2).float() * 10
    metrics = task.make_metrics()
    metrics.update(perfect, targets)
    result = metrics.compute()
    assert result == {
        "miou": pytest.approx(1.0),
        "miou_fg": pytest.approx(1.0),
        "pixel_acc": pytest.approx(1.0),
    }
    decoded = task.decode(perfect)
    items = task.target_items(targets, 3)
    assert len(decoded) == 4 and len(items) == 3
    assert decoded[0]["mask"].dtype == np.uint8 and items[0]["mask"].dtype == np.uint8
    assert np.array_equal(decoded[0]["mask"], items[0]["mask"])


def test_segmentation_overfits() -> None:
    first, last = overfit(Segmentation("masks", {"head_width": 32}, INFO), steps=60)
    assert last < 0.3 * first, (first, last)


def test_segmentation_draw() -> None:
    task = Segmentation("masks", {}, INFO)
    truth = np.zeros((SIZE, SIZE), np.uint8)
    truth[10:30, 10:30] = 1
    good = truth.copy()
    good[10, 10:30] = 0  # one row wrong: 95% of object pixels right
    spec = task.draw({"mask": good}, {"mask": truth})
    assert not spec.has_error and len(spec.masks) == 2 and spec.masks[1].truth
    assert spec.masks[0].colours[0] == (0, 0, 0) and len(spec.masks[0].colours) == 4
    bad = truth.copy()
    bad[10:30, 10:30] = 2  # wrong class everywhere
    assert task.draw({"mask": bad}, {"mask": truth}).has_error


# ----------------------------------------------------------------------------- options


@pytest.mark.parametrize(
    ("kind", "options", "field"),
    [
        (Detection, {"max_detections": 0}, "max_detections"),
        (Detection, {"score_threshold": 1.5}, "score_threshold"),
        (Detection, {"size_weight": -1.0}, "size_weight"),
        (Detection, {"max_detections": "many"}, "max_detections"),
        (Detection, {"nms": 0.5}, "nms"),
        (Segmentation, {"error_threshold": 2.0}, "error_threshold"),
        (Segmentation, {"head_width": 2}, "head_width"),
    ],
)
def test_bad_options_name_the_field(kind, options, field) -> None:
    with pytest.raises(ConfigError) as err:
        kind("t", options, INFO)
    assert err.value.path == f"task 't' options.{field}"


def test_detection_handles_images_without_objects() -> None:
    task = Detection("objects", {"max_detections": 5}, INFO)
    targets = {
        "boxes": [torch.zeros(0, 4), torch.tensor([[8.0, 8.0, 30.0, 30.0]])],
        "labels": [torch.zeros(0, dtype=torch.int64), torch.tensor([1])],
    }
    head = task.build_head(CHANNELS, STRIDES)
    out = head(fake_features(2))
    assert torch.isfinite(task.loss(out, targets))
    empty = {"boxes": [torch.zeros(0, 4)] * 2, "labels": [torch.zeros(0, dtype=torch.int64)] * 2}
    assert torch.isfinite(task.loss(out, empty))
    preds = task.decode(out)
    assert all(len(p["scores"]) <= 5 for p in preds)
    metrics = task.make_metrics()
    assert metrics.compute() == dict.fromkeys(Detection.metric_names)  # nothing seen: undefined
    metrics.update(out, empty)
    assert metrics.compute() == dict.fromkeys(Detection.metric_names)  # no object in the truth: undefined
    metrics = task.make_metrics()
    metrics.update(out, targets)
    assert all(0.0 <= v <= 1.0 for v in metrics.compute().values())
