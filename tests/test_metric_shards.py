"""A validation set split into slices (torchrun's processes) merges into the single pass."""

from __future__ import annotations

import pickle

import numpy as np
import pytest
import torch

from tests.conftest import tiny_config
from tests.test_trainer import ALL_KINDS
from workbench.training.device import Precision
from workbench.training.evaluation import accumulate, evaluate
from workbench.training.experiment import build_experiment
from workbench.training.metric_shards import shard_range


def test_shard_ranges_cover_the_set_once_in_order():
    assert [list(shard_range(10, r, 3)) for r in range(3)] == [[0, 1, 2], [3, 4, 5], [6, 7, 8, 9]]
    assert [len(shard_range(2, r, 4)) for r in range(4)] == [0, 1, 0, 1]  # fewer images than processes
    with pytest.raises(ValueError, match="rank 3 is not in 0..2"):
        shard_range(10, 3, 3)


@pytest.mark.parametrize("world", [2, 3])
def test_slices_merged_in_order_equal_one_pass_for_every_task_kind(world):
    cfg = tiny_config(tasks=ALL_KINDS)
    # 24 images in batches of 4: the slices (12 or 8 images) start on a batch boundary, so
    # the batches are the single pass's (detection's loss is normalised per batch)
    cfg.data.options.update(val_size=24)
    exp = build_experiment(cfg, pretrained=False)
    torch.manual_seed(0)
    model = exp.model.eval()
    precision = Precision(torch.device("cpu"), enabled=False)
    args = (model, exp.tasks, exp.val_set, 4, torch.device("cpu"), precision, 3, 0)
    whole = evaluate(*args)
    parts = [accumulate(*args, indices=shard_range(len(exp.val_set), r, world)) for r in range(world)]
    merged = parts[0]
    for later in parts[1:]:
        merged.merge(pickle.loads(pickle.dumps(later.export())))  # as it crosses processes
    got = merged.result()
    assert got.counts == whole.counts and sum(got.counts.values()) > 0
    for task, value in whole.losses.items():
        assert got.losses[task] == pytest.approx(value, rel=1e-6), task
    for task, metrics in whole.metrics.items():
        assert set(got.metrics[task]) == set(metrics)
        for name, value in metrics.items():
            if value is None:
                assert got.metrics[task][name] is None, (task, name)
            else:
                assert got.metrics[task][name] == pytest.approx(value, rel=1e-6, abs=1e-9), (task, name)
    np.testing.assert_array_equal(got.samples.images, whole.samples.images)  # rank 0's first images


def test_map_and_average_precision_merge_to_the_single_pass_value():
    """Hand-made detections with hits and misses split over two slices: the merged mAP,
    per-label average precision and counters equal one object that saw everything."""
    from torchmetrics.classification import MultilabelAveragePrecision
    from torchmetrics.detection import MeanAveragePrecision

    from workbench.tasks.base import TaskMetrics
    from workbench.training.metric_shards import export_state, merge_state

    class Both(TaskMetrics):
        def __init__(self):
            self.map = MeanAveragePrecision(box_format="xyxy", iou_type="bbox", backend="pycocotools")
            self.ap = MultilabelAveragePrecision(num_labels=2, average="none")
            self.support = torch.zeros(2, dtype=torch.long)
            self.seen = 0
            self.updated = False
            self.size = 64  # configuration: never summed

        def add(self, image):
            truth = torch.tensor([[10.0, 10, 30, 30], [40, 40, 60, 60]])
            shift = float(image * 4)  # later images drift off their objects
            boxes = truth + torch.tensor([shift, 0.0, shift, 0.0])
            self.map.update(
                [
                    {
                        "boxes": boxes,
                        "scores": torch.tensor([0.9, 0.3 + 0.1 * image]),
                        "labels": torch.tensor([0, 1]),
                    }
                ],
                [{"boxes": truth, "labels": torch.tensor([0, 1])}],
            )
            scores = torch.tensor([[0.2 + 0.15 * image, 0.8 - 0.1 * image]])
            labels = torch.tensor([[image % 2, 1 - image % 2]])
            self.ap.update(scores, labels)
            self.support += labels[0]
            self.seen += 1
            self.updated = True

    one, first, second = Both(), Both(), Both()
    for image in range(6):
        one.add(image)
        (first if image < 3 else second).add(image)
    merge_state(first, pickle.loads(pickle.dumps(export_state(second))))
    want, got = one.map.compute(), first.map.compute()
    assert 0.1 < float(want["map_50"]) < 0.95  # some hits, some misses: a real test
    for key in ("map", "map_50", "map_75", "mar_100"):
        assert float(got[key]) == pytest.approx(float(want[key]), abs=1e-9), key
    assert torch.allclose(first.ap.compute(), one.ap.compute())
    assert first.support.tolist() == [3, 3] and first.seen == 6 and first.updated and first.size == 64
