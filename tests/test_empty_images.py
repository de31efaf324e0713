"""Images with no objects are normal (issue 6, item 9): every task kind handles them."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch
from conftest import tiny_config

from workbench.data.base import collate
from workbench.data.shapes import ShapesDataset, ShapesOptions
from workbench.models.multitask import MultiTaskNet
from workbench.tasks import TASK_KINDS
from workbench.training.evaluation import needed_targets
from workbench.training.run_store import RunStore
from workbench.training.trainer import Trainer

KINDS = ("classification", "multilabel", "localization", "detection", "segmentation", "counting")


@pytest.fixture(scope="module")
def data():
    ds = ShapesDataset(ShapesOptions(image_size=64, val_size=64, min_objects=0, max_objects=2), "val")
    samples = [ds.sample(i) for i in range(64)]
    return ds, samples


def test_empty_scenes_exist_and_have_no_largest_object(data):
    ds, samples = data
    empty = [s for s in samples if s["count"] == 0]
    assert 10 <= len(empty) <= 40  # about a third of the scenes draw 0 of 0..2 objects
    for s in empty:
        assert s["scene_class"] is None and s["largest_box"] is None
        assert s["boxes"].shape == (0, 4) and s["labels"].shape == (0,)
        assert not s["mask"].any() and not s["presence"].any()
    full = next(s for s in samples if s["count"] > 0)
    assert isinstance(full["scene_class"], int) and full["largest_box"].shape == (4,)


def test_collate_marks_which_images_have_each_target(data):
    _, samples = data
    images, targets = collate(samples[:16])
    counts = [s["count"] for s in samples[:16]]
    assert targets["has"]["scene_class"].tolist() == [c > 0 for c in counts]
    assert targets["has"]["largest_box"].tolist() == [c > 0 for c in counts]
    assert targets["has"]["count"].all() and targets["has"]["mask"].all()
    assert [len(b) for b in targets["boxes"]] == counts


@pytest.mark.parametrize("kind", KINDS)
def test_every_kind_on_a_batch_of_only_empty_images(kind, data):
    ds, samples = data
    empty = [s for s in samples if s["count"] == 0][:4]
    torch.manual_seed(0)
    t = TASK_KINDS.get(kind)("t", {}, ds.info)
    net = MultiTaskNet("small_cnn", [t], -1)
    images, targets = collate(empty, needed_targets([t]))
    out = net(images)["t"]
    loss, count = t.masked_loss(out, targets)
    assert torch.isfinite(loss)
    loss.backward()  # the graph is intact even when no image is labelled for the task
    metrics = t.make_metrics()
    t.masked_update(metrics, out, targets)
    values = metrics.compute()
    assert set(values) == set(t.metric_names)
    for v in values.values():
        assert v is None or np.isfinite(v)
    if kind in ("classification", "localization"):
        assert count == 0 and all(v is None for v in values.values())  # nothing to grade
    if kind == "counting":
        assert count == 4 and values["mae"] is not None
    preds = t.decode(out.detach() if not isinstance(out, dict) else {k: v.detach() for k, v in out.items()})
    for pred in preds:
        spec_with_truth = t.draw(pred, {})  # {} = not labelled for this task
        spec = t.draw(pred, None)
        assert spec.task == "t" and spec_with_truth.task == "t"


def test_training_with_empty_images_and_every_kind(tmp_path):
    cfg = tiny_config(tasks=tuple((k[:4], k) for k in KINDS))
    cfg.data.options["min_objects"] = 0
    cfg.data.options["max_objects"] = 1
    store = RunStore.create(tmp_path, cfg.name)
    summary = Trainer(cfg, store).run()
    assert summary["status"] == "finished", summary.get("error")
    data = json.loads(store.summary_path.read_text(), parse_constant=lambda t: pytest.fail(t))
    for task, metrics in data["final_metrics"].items():
        for name, value in metrics.items():
            assert value is None or np.isfinite(value), (task, name)
