"""Image-level task kinds: overfit a tiny batch; decode/draw produce plain data."""

import numpy as np
import pytest
import torch

from workbench.data.base import collate
from workbench.data.shapes import ShapesDataset, ShapesOptions
from workbench.models.multitask import MultiTaskNet
from workbench.tasks import TASK_KINDS


@pytest.fixture(scope="module")
def batch():
    ds = ShapesDataset(ShapesOptions(image_size=64, val_size=8, max_objects=3), "val")
    return ds.info, collate([ds.sample(i) for i in range(8)])


@pytest.mark.parametrize("kind", ["classification", "multilabel", "localization", "counting"])
def test_image_level_task_overfits_tiny_batch(kind, batch):
    info, (images, targets) = batch
    torch.manual_seed(0)
    task = TASK_KINDS.get(kind)("t", {}, info)
    net = MultiTaskNet("small_cnn", [task], -1)
    opt = torch.optim.Adam(net.parameters(), lr=2e-3)
    first = None
    for _ in range(80):
        loss = task.loss(net(images)["t"], targets)
        first = first if first is not None else loss.item()
        opt.zero_grad()
        loss.backward()
        opt.step()
    assert loss.item() < 0.3 * first, (kind, first, loss.item())
    net.eval()
    with torch.no_grad():
        out = net(images)["t"]
    metrics = task.make_metrics()
    metrics.update(out, targets)
    values = metrics.compute()
    assert values == pytest.approx(expected_metrics(kind, out, targets, info), abs=1e-5)
    preds = task.decode(out)
    truth = task.target_items(targets, len(preds))
    assert len(preds) == len(truth) == 8
    spec = task.draw(preds[0], truth[0])
    assert spec.task == "t"
    for item in preds + truth:
        assert all(isinstance(v, (np.ndarray, np.generic)) for v in item.values())


def test_classification_draw_flags_wrong_class():
    from workbench.data.base import DataInfo

    info = DataInfo(64, 3, ("circle", "square", "triangle"))
    task = TASK_KINDS.get("classification")("scene", {}, info)
    pred = {"label": np.int64(1), "scores": np.array([0.1, 0.8, 0.1], np.float32)}
    spec = task.draw(pred, {"label": np.int64(2)})
    assert spec.has_error and "square" in spec.texts[0].text and "triangle" in spec.texts[0].text
    assert not task.draw(pred, {"label": np.int64(1)}).has_error


def test_multilabel_draw_says_none_for_an_image_without_classes():
    from workbench.data.base import DataInfo

    task = TASK_KINDS.get("multilabel")("present", {}, DataInfo(64, 2, ("a", "b")))
    spec = task.draw({"scores": np.array([0.1, 0.9], np.float32)}, {"presence": np.zeros(2, np.float32)})
    assert [t.text for t in spec.texts] == ["present: b 0.90", "present truth: (none)"]
    assert spec.has_error


def test_localization_metric_is_one_for_exact_box():
    from workbench.data.base import DataInfo

    task = TASK_KINDS.get("localization")("box", {}, DataInfo(100, 2, ("a", "b")))
    box = torch.tensor([[10.0, 20.0, 50.0, 80.0]])
    cxcywh = torch.tensor([[30.0, 50.0, 40.0, 60.0]]) / 100
    logits = torch.logit(cxcywh)
    m = task.make_metrics()
    m.update(logits, {"largest_box": box})
    assert m.compute()["miou"] == pytest.approx(1.0, abs=1e-4)


def expected_metrics(kind, out, targets, info):
    """The same metrics computed directly from the outputs (every class occurs in the batch
    or the metric is a plain mean), independent of the task's metric code."""
    from torchvision.ops import box_convert, box_iou

    if kind == "classification":
        pred, truth = out.argmax(1), targets["scene_class"]
        f1s = []
        for c in truth.unique().tolist():
            tp = int(((pred == c) & (truth == c)).sum())
            fp = int(((pred == c) & (truth != c)).sum())
            fn = int(((pred != c) & (truth == c)).sum())
            f1s.append(2 * tp / (2 * tp + fp + fn))
        return {"accuracy": float((pred == truth).float().mean()), "f1": sum(f1s) / len(f1s)}
    if kind == "counting":
        pred, truth = out.squeeze(1), targets["count"]
        return {
            "mae": float((pred - truth).abs().mean()),
            "exact": float((pred.round() == truth).float().mean()),
        }
    if kind == "localization":
        boxes = box_convert(out.sigmoid() * info.image_size, "cxcywh", "xyxy")
        iou = box_iou(boxes, targets["largest_box"]).diagonal()
        return {"miou": float(iou.mean()), "acc50": float((iou >= 0.5).float().mean())}
    probs, truth = out.sigmoid(), targets["presence"]
    aps, f1s = [], []
    for c in range(truth.shape[1]):
        if truth[:, c].sum() == 0:
            continue
        order = probs[:, c].argsort(descending=True)
        hits = truth[order, c]
        precision = hits.cumsum(0) / torch.arange(1, len(hits) + 1)
        aps.append(float((precision * hits).sum() / hits.sum()))
        pred = probs[:, c] >= 0.5
        tp = int((pred & (truth[:, c] == 1)).sum())
        fp = int((pred & (truth[:, c] == 0)).sum())
        fn = int((~pred & (truth[:, c] == 1)).sum())
        f1s.append(2 * tp / (2 * tp + fp + fn))
    return {"map": sum(aps) / len(aps), "f1": sum(f1s) / len(f1s)}


def test_a_count_just_below_zero_reads_zero_not_minus_zero():
    from workbench.data.base import DataInfo
    from workbench.tasks import TASK_KINDS

    task = TASK_KINDS.get("counting")("n", {}, DataInfo(32, 1, ("a",)))
    assert task.draw({"count": -0.04}, {"count": 0.0}).texts[0].text == "n: 0.0 (truth: 0)"
    assert task.draw({"count": -0.06}, None).texts[0].text == "n: -0.1"


def test_progress_numbers_never_read_minus_zero():
    from workbench.cli_progress import _metric, _number

    assert [_number(v) for v in (-0.0, -0.0004, 0.1234, -0.25)] == ["0.000", "0.000", "0.123", "-0.250"]
    assert _metric(None) == "undefined" and _metric(-0.0) == "0.000"
