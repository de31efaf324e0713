"""Metric values computed by hand, with classes absent from the truth and unlabelled samples
(issue 6, items 2, 20, 21). One convention for every kind: a per-class mean counts only the
classes that occur in the validation ground truth (see ``TaskMetrics``)."""

from __future__ import annotations

import math

import pytest
import torch

from workbench.data.base import DataInfo
from workbench.tasks import TASK_KINDS
from workbench.tasks.detection import _DetectionMetrics

NAMES = tuple(f"c{i}" for i in range(8))


def info(classes: int, size: int = 64) -> DataInfo:
    return DataInfo(image_size=size, num_classes=classes, class_names=NAMES[:classes])


def task(kind: str, classes: int = 4, size: int = 64, **options):
    return TASK_KINDS.get(kind)("t", options, info(classes, size))


def measure(kind_task, output, targets):
    metrics = kind_task.make_metrics()
    kind_task.masked_update(metrics, output, targets)
    return metrics.compute()


def logits_for(labels: list[int], classes: int) -> torch.Tensor:
    return torch.nn.functional.one_hot(torch.tensor(labels), classes).float() * 5.0


def test_classification_macro_f1_leaves_absent_classes_out():
    # truth 0 0 1 1, predicted 0 3 1 1: class 0 F1 = 2/3, class 1 F1 = 1; class 3 never
    # occurs in the truth, so its false positive costs class 0 (a miss) but is not a class of its own.
    t = task("classification", classes=4)
    result = measure(t, logits_for([0, 3, 1, 1], 4), {"scene_class": torch.tensor([0, 0, 1, 1])})
    assert result["accuracy"] == pytest.approx(0.75)
    assert result["f1"] == pytest.approx((2 / 3 + 1.0) / 2)


def test_classification_skips_unlabelled_images():
    t = task("classification", classes=4)
    targets = {
        "scene_class": torch.tensor([2, 0, 1]),
        "has": {"scene_class": torch.tensor([True, False, True])},
    }
    result = measure(t, logits_for([2, 3, 0], 4), targets)  # the wrong second guess is not graded
    assert result == {"accuracy": pytest.approx(0.5), "f1": pytest.approx((1.0 + 0.0) / 2)}


def test_multilabel_perfect_predictions_score_one_with_absent_classes():
    # The example: 3 images, 8 classes, 3 occur, perfect predictions.
    presence = torch.zeros(3, 8)
    presence[0, 0] = presence[1, 1] = presence[2, 0] = presence[2, 1] = presence[2, 2] = 1
    t = task("multilabel", classes=8)
    result = measure(t, (presence * 2 - 1) * 6, {"presence": presence})
    assert result == {"map": pytest.approx(1.0), "f1": pytest.approx(1.0)}


def test_multilabel_imperfect_hand_computed():
    presence = torch.zeros(3, 8)
    presence[0, 0] = presence[1, 1] = presence[2, 0] = presence[2, 1] = presence[2, 2] = 1
    probs = torch.full((3, 8), 0.05)
    probs[:, 0] = torch.tensor([0.9, 0.2, 0.6])  # AP 1, F1 1
    probs[:, 1] = torch.tensor([0.7, 0.8, 0.3])  # ranking P N P: AP (1 + 2/3) / 2; F1 tp1 fp1 fn1 = 0.5
    probs[:, 2] = torch.tensor([0.1, 0.1, 0.95])  # AP 1, F1 1
    probs[0, 5] = 0.6  # a false positive of a class absent from the truth: left out
    logits = torch.log(probs / (1 - probs))
    result = measure(task("multilabel", classes=8), logits, {"presence": presence})
    assert result["map"] == pytest.approx((1 + (1 + 2 / 3) / 2 + 1) / 3)
    assert result["f1"] == pytest.approx((1 + 0.5 + 1) / 3)


def test_multilabel_with_no_class_present_is_undefined():
    result = measure(task("multilabel", classes=4), torch.zeros(2, 4), {"presence": torch.zeros(2, 4)})
    assert result == {"map": None, "f1": None}


def test_multilabel_of_one_class_is_its_binary_presence_hand_computed():
    """One class ("is there a person?") was refused: torchmetrics' multilabel metrics need
    two labels. Ranking P N P N: AP = 1/2 * 1 + 1/2 * 2/3; at 0.5 the first two are
    called present: tp 1, fp 1, fn 1, F1 = 2 / 4."""
    presence = torch.tensor([[1.0], [0.0], [1.0], [0.0]])
    probs = torch.tensor([[0.9], [0.8], [0.3], [0.1]])
    result = measure(task("multilabel", classes=1), torch.log(probs / (1 - probs)), {"presence": presence})
    assert result["map"] == pytest.approx(0.5 + 0.5 * 2 / 3)
    assert result["f1"] == pytest.approx(0.5)
    assert measure(task("multilabel", classes=1), torch.zeros(2, 1), {"presence": torch.zeros(2, 1)}) == {
        "map": None,
        "f1": None,
    }


def seg_logits(pred: list[list[int]], classes: int) -> torch.Tensor:
    p = torch.tensor(pred)
    return torch.nn.functional.one_hot(p, classes).permute(2, 0, 1)[None].float() * 5


TRUTH = [[0, 0, 1, 1], [0, 0, 1, 1], [0, 0, 0, 0], [0, 0, 0, 0]]
PRED = [[0, 0, 1, 1], [0, 0, 1, 3], [0, 0, 0, 0], [0, 0, 0, 2]]


def test_segmentation_iou_over_present_classes_hand_computed():
    # background: 11 right of 12, predicted 11 -> IoU 11/12; class 1: 3 of 4, IoU 3/4;
    # classes 2 and 3 occur only in the prediction: left out of both means.
    t = task("segmentation", classes=3, size=4)
    result = measure(t, seg_logits(PRED, 4), {"mask": torch.tensor([TRUTH])})
    assert result["miou"] == pytest.approx((11 / 12 + 3 / 4) / 2)
    assert result["miou_fg"] == pytest.approx(3 / 4)
    assert result["pixel_acc"] == pytest.approx(14 / 16)


def test_segmentation_ignores_255_pixels():
    truth = [row[:] for row in TRUTH]
    truth[3][3] = 255  # the pixel predicted as class 2 is not labelled
    t = task("segmentation", classes=3, size=4)
    result = measure(t, seg_logits(PRED, 4), {"mask": torch.tensor([truth])})
    assert result["miou"] == pytest.approx((11 / 11 + 3 / 4) / 2)
    assert result["pixel_acc"] == pytest.approx(14 / 15)
    loss = t.loss(seg_logits(PRED, 4), {"mask": torch.tensor([truth])})
    assert torch.isfinite(loss)


def test_segmentation_background_only_has_no_foreground_mean():
    t = task("segmentation", classes=3, size=4)
    result = measure(t, seg_logits([[0] * 4] * 4, 4), {"mask": torch.zeros(1, 4, 4, dtype=torch.long)})
    assert result == {"miou": pytest.approx(1.0), "miou_fg": None, "pixel_acc": pytest.approx(1.0)}


class _Preset:
    """Stands in for the detection task: its 'output' already is the decoded predictions."""

    @staticmethod
    def decode_tensors(output):
        return output["preds"]


def detection_metrics(preds, boxes, labels):
    metrics = _DetectionMetrics(_Preset())
    metrics.update(
        {"heatmap": torch.zeros(1), "preds": preds},
        {
            "boxes": [torch.tensor(b, dtype=torch.float32).reshape(-1, 4) for b in boxes],
            "labels": [torch.tensor(lab, dtype=torch.int64) for lab in labels],
        },
    )
    return metrics.compute()


def det(boxes, scores, labels):
    return {
        "boxes": torch.tensor(boxes, dtype=torch.float32).reshape(-1, 4),
        "scores": torch.tensor(scores, dtype=torch.float32),
        "labels": torch.tensor(labels, dtype=torch.int64),
    }


def test_detection_half_found_with_an_absent_class_predicted():
    # Two class-0 objects, one found exactly: recall 0.5 at precision 1, so COCO's 101-point
    # AP is 51/101 at every IoU threshold. The class-2 box has no class-2 truth: left out.
    result = detection_metrics(
        [det([[0, 0, 10, 10], [30, 30, 40, 40]], [0.9, 0.8], [0, 2])],
        [[[0, 0, 10, 10], [20, 0, 30, 10]]],
        [[0, 0]],
    )
    assert result["map_50"] == pytest.approx(51 / 101)
    assert result["map"] == pytest.approx(51 / 101)
    assert result["mar_100"] == pytest.approx(0.5)


def test_detection_loose_box_counts_at_low_iou_thresholds_only():
    # IoU 0.62: a hit at thresholds 0.50, 0.55, 0.60 of the ten, a miss above.
    result = detection_metrics([det([[0, 0, 10, 6.2]], [0.9], [1])], [[[0, 0, 10, 10]]], [[1]])
    assert result["map_50"] == pytest.approx(1.0)
    assert result["map"] == pytest.approx(0.3)
    assert result["mar_100"] == pytest.approx(0.3)


def test_detection_recall_and_iou_exactly_at_a_threshold_reach_it_as_in_pycocotools():
    """torchmetrics' default thresholds are float32 (0.8 -> 0.80000001): a recall ending at
    exactly 0.8 lost a level (80/101 instead of 81/101), an IoU of exactly 0.6 missed 0.6."""
    # 10 objects of one class, 8 found exactly, no false positive: precision 1 up to recall
    # 0.8, and COCO's 101 recall levels 0, 0.01, ..., 0.8 are 81 of them
    truth = [[10.0 * i, 0.0, 10.0 * i + 4, 4.0] for i in range(10)]
    result = detection_metrics(
        [det(truth[:8], [0.9 - 0.01 * i for i in range(8)], [0] * 8)], [truth], [[0] * 10]
    )
    assert result["map_50"] == pytest.approx(81 / 101, abs=1e-9)
    assert result["mar_100"] == pytest.approx(0.8)
    # IoU exactly 0.6 (a 10 x 6 box inside a 10 x 10 one): a hit at 0.50, 0.55 and 0.60
    result = detection_metrics([det([[0, 0, 10, 6]], [0.9], [1])], [[[0, 0, 10, 10]]], [[1]])
    assert result["map"] == pytest.approx(0.3) and result["mar_100"] == pytest.approx(0.3)


def test_detection_thresholds_are_pycocotools_own():
    from pycocotools.cocoeval import Params

    from workbench.tasks.detection import COCO_IOU_THRESHOLDS, COCO_RECALL_THRESHOLDS

    params = Params(iouType="bbox")
    assert params.iouThrs.tolist() == COCO_IOU_THRESHOLDS  # bit for bit
    assert params.recThrs.tolist() == COCO_RECALL_THRESHOLDS


def test_detection_keeps_cocos_100_boxes_per_image_by_default():
    """60 objects found exactly in one image: 50 boxes kept (the old default) capped a
    perfect model at mAP@0.5 0.83; COCO's maxDets is 100."""
    t = TASK_KINDS.get("detection")("d", {}, DataInfo(256, 1, ("a",)))
    assert t.options.max_detections == 100
    heat = torch.full((1, 1, 64, 64), -10.0)
    cells = [(4 * (k // 10) + 2, 4 * (k % 10) + 2) for k in range(60)]
    for k, (y, x) in enumerate(cells):
        heat[0, 0, y, x] = 5.0 - 0.01 * k
    out = {"heatmap": heat, "size": torch.zeros(1, 2, 64, 64), "offset": torch.full((1, 2, 64, 64), 0.5)}
    # a 1-cell (4 px) box centred in each peak's cell: [4x, 4y, 4x + 4, 4y + 4]
    boxes = [[4.0 * x, 4.0 * y, 4.0 * x + 4, 4.0 * y + 4] for y, x in cells]
    truth = {"boxes": [torch.tensor(boxes)], "labels": [torch.zeros(60, dtype=torch.int64)]}
    assert measure(t, out, truth) == pytest.approx({"map_50": 1.0, "map": 1.0, "mar_100": 1.0})


def test_detection_without_any_object_is_undefined():
    result = detection_metrics([det([[0, 0, 5, 5]], [0.5], [0])], [[]], [[]])
    assert result == {"map_50": None, "map": None, "mar_100": None}


def test_detection_cells_that_are_no_peak_are_no_boxes():
    """16 px image, 4x4 cells of 4 px; one object centred in cell (2, 2). A strong peak at
    (0, 0) and a weak one at (2, 3) leave cell (2, 2) no peak: with fewer peaks than
    max_detections it was still taken, at score 0, and "found" the object (mAR 1)."""
    t = TASK_KINDS.get("detection")("d", {}, DataInfo(16, 1, ("a",)))
    heat = torch.full((1, 1, 4, 4), -30.0)
    heat[0, 0, 0, 0], heat[0, 0, 2, 3] = 5.0, -10.0
    out = {"heatmap": heat, "size": torch.zeros(1, 2, 4, 4), "offset": torch.full((1, 2, 4, 4), 0.5)}
    truth = {"boxes": [torch.tensor([[8.0, 8.0, 12.0, 12.0]])], "labels": [torch.tensor([0])]}
    (pred,) = t.decode_tensors(out)
    # the peaks: (0, 0), (2, 3) and the 6 plateau cells at -30 whose 3x3 neighbourhood holds
    # neither; the 3 + 5 cells next to the two peaks are no peaks; of the peaks only (0, 0)
    # scores above MIN_SCORE (sigmoid(-10) = 4.5e-5, sigmoid(-30) = 9e-14)
    assert pred["scores"].tolist() == pytest.approx([1 / (1 + math.exp(-5))])
    assert measure(t, out, truth) == {"map_50": 0.0, "map": 0.0, "mar_100": 0.0}
    # an object on the flat background (cell (3, 0), a plateau "peak") is not found either:
    # it was, by a box of score 9e-14 (mAR 1.0)
    corner = {"boxes": [torch.tensor([[0.0, 12.0, 4.0, 16.0]])], "labels": [torch.tensor([0])]}
    assert measure(t, out, corner) == {"map_50": 0.0, "map": 0.0, "mar_100": 0.0}
    heat[0, 0, 2, 2] = 3.0  # now the object's cell is a peak: found exactly, but ranked below
    # the false positive at (0, 0): precision 1/2 at recall 1, so AP 0.5 at every threshold
    assert measure(t, out, truth) == pytest.approx({"map_50": 0.5, "map": 0.5, "mar_100": 1.0})
    heat[0, 0, 2, 2] = 6.0  # ranked first: precision 1 at recall 1
    assert measure(t, out, truth) == pytest.approx({"map_50": 1.0, "map": 1.0, "mar_100": 1.0})


def inv_sigmoid(p: float) -> float:
    return math.log(p / (1 - p))


def test_localization_iou_hand_computed_skipping_unlabelled():
    t = task("localization", classes=4, size=64)
    truth = torch.tensor([[16.0, 16, 48, 48], [0, 0, 0, 0], [16, 16, 48, 48]])
    out = torch.tensor(
        [
            [0.0, 0.0, 0.0, 0.0],  # cx cy w h = .5 .5 .5 .5: exactly the truth
            [5.0, 5.0, -5.0, -5.0],  # far off, but this image has no largest box
            [0.0, 0.0, inv_sigmoid(0.375), 0.0],  # 24 px wide inside 32: IoU 0.75
        ]
    )
    targets = {"largest_box": truth, "has": {"largest_box": torch.tensor([True, False, True])}}
    result = measure(t, out, targets)
    assert result["miou"] == pytest.approx((1 + 0.75) / 2, abs=1e-5)
    assert result["acc50"] == pytest.approx(1.0)


def test_counting_hand_computed_skipping_unlabelled():
    t = task("counting")
    out = torch.tensor([[1.2], [3.0], [0.4]])
    targets = {"count": torch.tensor([1.0, 2.0, 7.0]), "has": {"count": torch.tensor([True, True, False])}}
    result = measure(t, out, targets)
    assert result["mae"] == pytest.approx((0.2 + 1.0) / 2)
    assert result["exact"] == pytest.approx(0.5)


def test_counting_halves_round_up_in_the_metric_and_the_drawing():
    """torch.round rounds halves to even: 2.5 counted as 2 (exact against 2) but 3.5 as 4."""
    t = task("counting")
    out = torch.tensor([[2.5], [3.5], [2.49], [-0.4]])
    targets = {"count": torch.tensor([2.0, 4.0, 2.0, 0.0]), "has": {"count": torch.ones(4, dtype=torch.bool)}}
    # whole counts floor(x + 0.5): 3, 4, 2, 0 -> exact for the 2nd, 3rd and 4th
    assert measure(t, out, targets)["exact"] == pytest.approx(3 / 4)
    drawn = [t.draw({"count": v}, {"count": c}).has_error for v, c in ((2.5, 2.0), (3.5, 4.0), (2.5, 3.0))]
    assert drawn == [True, False, False]


def test_counting_exact_rate_agrees_with_the_drawing_at_float32s_edges():
    """In float32, 0.49999997 + 0.5 is 1.0 (counted as 1, drawn as 0) and 2²³ + 1 + 0.5
    rounds to even (MAE 0, yet not exact). floor(x + 0.5) is taken in float64."""
    t = task("counting")
    below_half = float(torch.tensor(0.49999997, dtype=torch.float32))  # 0.4999999701976776
    big = 2.0**23 + 1  # exact in float32
    out = torch.tensor([[below_half], [big]], dtype=torch.float32)
    targets = {"count": torch.tensor([0.0, big]), "has": {"count": torch.ones(2, dtype=torch.bool)}}
    result = measure(t, out, targets)
    assert result["mae"] == pytest.approx(below_half / 2)  # (0.49999997 + 0) / 2
    assert result["exact"] == 1.0  # floor(0.49999997 + 0.5) = 0 and floor(8388609.5) = 8388609, in float64
    assert [t.draw({"count": v}, {"count": c}).has_error for v, c in ((below_half, 0.0), (big, big))] == [
        False,
        False,
    ]
    # both read "0.5" to one decimal: the text says which whole count each one is
    assert t.draw({"count": below_half}, {"count": 0.0}).texts[0].text == f"{t.name}: 0.500 → 0 (truth: 0)"
    assert t.draw({"count": 0.5}, {"count": 0.0}).texts[0].text == f"{t.name}: 0.5 → 1 (truth: 0)"
    assert t.draw({"count": 2.3}, {"count": 2.0}).texts[0].text == f"{t.name}: 2.3 (truth: 2)"


@pytest.mark.parametrize(
    ("value", "text"),
    [
        (0.461, "0.46"),  # "0.5 → 0" read as a half rounded down
        (0.45, "0.45"),
        (2.549, "2.55"),  # rounds to 3, and so does 2.55
        (2.4996, "2.500 → 2"),
        (2.5004, "2.500 → 3"),
        (-0.04, "0.0"),
        (1.0, "1.0"),
        (3.5, "3.5 → 4"),
    ],
)
def test_a_drawn_count_never_reads_as_a_half_it_does_not_round_as(value, text):
    from workbench.tasks.counting import count_text

    assert count_text(value) == text


def test_masked_loss_is_the_loss_of_the_labelled_samples():
    t = task("classification", classes=3)
    out = torch.tensor([[2.0, 0.0, 0.0], [0.0, 3.0, 0.0], [0.0, 0.0, 1.0]], requires_grad=True)
    targets = {
        "scene_class": torch.tensor([0, 2, 2]),
        "has": {"scene_class": torch.tensor([True, False, True])},
    }
    loss, count = t.masked_loss(out, targets)
    expected = torch.nn.functional.cross_entropy(out[[0, 2]], torch.tensor([0, 2]))
    assert count == 2 and loss.item() == pytest.approx(expected.item())
    none = {"scene_class": torch.tensor([0, 0, 0]), "has": {"scene_class": torch.zeros(3, dtype=torch.bool)}}
    loss, count = t.masked_loss(out, none)
    assert count == 0 and loss.item() == 0.0
    loss.backward()  # connected to the graph, with zero gradient
    assert torch.equal(out.grad, torch.zeros_like(out))


class _TwoMasks:
    """Image 0: two labelled pixels (the rest ignored), both object; image 1: 64 labelled
    pixels, all background; image 2 (when asked for): every pixel ignored."""

    def __init__(self, images: int = 2):
        import numpy as np

        first = np.full((8, 8), 255, np.uint8)
        first[0, :2] = 1
        self.masks = [first, np.zeros((8, 8), np.uint8), np.full((8, 8), 255, np.uint8)][:images]

    def __len__(self):
        return len(self.masks)

    def sample(self, i):
        import numpy as np

        return {"image": np.full((8, 8, 3), i, np.uint8), "mask": self.masks[i]}


class _Background(torch.nn.Module):
    def forward(self, x):
        out = torch.zeros(x.shape[0], 2, 8, 8)
        out[:, 0] = 2.0  # logits (2, 0): background everywhere
        return {"m": out}


def test_validation_loss_is_a_mean_per_image_at_any_batch_size():
    """Wrong pixel: -log softmax(2, 0)[1] = log(1 + e^2) = 2.1269; right pixel:
    log(1 + e^-2) = 0.1269. Per image 2.1269 and 0.1269: mean 1.1269 whether the images come
    one per batch or together (a batch mean weighted by images gave 0.1875 at batch 2). An
    image whose mask is all ignore pixels has no loss and is not counted."""
    from workbench.training.device import Precision
    from workbench.training.evaluation import evaluate

    seg = task("segmentation", classes=1, size=8)
    seg.name = "m"
    cpu = torch.device("cpu")
    expected = (math.log(1 + math.e**2) + math.log(1 + math.e**-2)) / 2
    for images in (2, 3):
        for batch in (1, 2, 3):
            result = evaluate(_Background(), [seg], _TwoMasks(images), batch, cpu, Precision(cpu, False), 0)
            assert result.losses["m"] == pytest.approx(expected, abs=1e-5), (images, batch)
            assert result.counts["m"] == 2


def test_a_mask_of_ignore_pixels_only_has_no_training_loss():
    seg = task("segmentation", classes=1, size=4)
    logits = torch.zeros(2, 2, 4, 4, requires_grad=True)
    mask = torch.full((2, 4, 4), 255)
    loss, count = seg.masked_loss(logits, {"mask": mask})
    assert count == 0 and float(loss.detach()) == 0.0  # was NaN, which stopped the run
    loss.backward()
    assert bool(torch.isfinite(logits.grad).all())
    mask[1, 0, 0] = 1  # one labelled pixel in image 1: its loss alone, log(1 + e^0) = log 2
    loss, count = seg.masked_loss(logits, {"mask": mask})
    assert count == 1 and float(loss.detach()) == pytest.approx(math.log(2))


def test_detection_validation_loss_is_each_images_loss_averaged():
    """The one-pass per-image loss equals the loss of each image alone, averaged; the batch
    loss differs from it (it normalises by all the batch's objects at once)."""
    torch.manual_seed(0)
    t = task("detection", classes=2, size=32)
    out = {
        "heatmap": torch.randn(3, 2, 8, 8),
        "size": torch.randn(3, 2, 8, 8) * 0.3,
        "offset": torch.rand(3, 2, 8, 8),
    }
    targets = {  # 2 objects, none, 1 object
        "boxes": [
            torch.tensor([[2.0, 2.0, 12.0, 14.0], [16.0, 16.0, 30.0, 28.0]]),
            torch.zeros(0, 4),
            torch.tensor([[5.0, 20.0, 15.0, 31.0]]),
        ],
        "labels": [torch.tensor([0, 1]), torch.zeros(0, dtype=torch.int64), torch.tensor([1])],
    }
    alone = []
    for i in range(3):
        one = {k: v[i : i + 1] for k, v in out.items()}
        alone.append(float(t.loss(one, {k: v[i : i + 1] for k, v in targets.items()})))
    total, count = t.image_losses(out, targets)
    assert count == 3 and total == pytest.approx(sum(alone), rel=1e-5)
    assert float(t.loss(out, targets)) * 3 != pytest.approx(sum(alone), rel=1e-3)


def test_multilabel_drawing_and_f1_agree_at_the_threshold():
    """p = 0.5 exactly at threshold 0.5: absent for the F1 score (torchmetrics: p > t), so
    absent in the drawing and the export's description too."""
    t = task("multilabel", classes=2)
    spec = t.draw({"scores": [0.5, 0.75]}, {"presence": [1.0, 1.0]})
    assert spec.texts[0].text == "t: c1 0.75" and spec.has_error
    metrics = measure(t, torch.tensor([[0.0, inv_sigmoid(0.75)]]), {"presence": torch.tensor([[1.0, 1.0]])})
    assert metrics["f1"] == pytest.approx(0.5)  # class 0 missed (F1 0), class 1 found (F1 1)
    assert "> threshold" in t.export_decode()["steps"][1]


def test_detection_keeps_max_detections_after_nms_not_before():
    """max_detections 2; peaks at cells (4, 4) 0.98 and (4, 6) 0.95 overlap (IoU 0.71, 48 px
    boxes on a 64 px image); a third at (12, 12) 0.88 is another object. Top-2 before NMS
    kept the two overlapping ones, NMS removed one: one box, the second object missed."""
    t = TASK_KINDS.get("detection")("d", {"max_detections": 2}, DataInfo(64, 1, ("a",)))
    heat = torch.full((1, 1, 16, 16), -10.0)
    for (y, x), p in (((4, 4), 0.98), ((4, 6), 0.95), ((12, 12), 0.88)):
        heat[0, 0, y, x] = inv_sigmoid(p)
    size = torch.full((1, 2, 16, 16), math.log(12.0))  # 12 cells of 4 px: 48 px boxes
    out = {"heatmap": heat, "size": size, "offset": torch.full((1, 2, 16, 16), 0.5)}
    (pred,) = t.decode_tensors(out)
    assert pred["scores"].tolist() == pytest.approx([0.98, 0.88])
    truth = {
        "boxes": [torch.tensor([[-6.0, -6.0, 42.0, 42.0], [26.0, 26.0, 74.0, 74.0]]).clamp(0, 64)],
        "labels": [torch.tensor([0, 0])],
    }
    assert measure(t, out, truth) == pytest.approx({"map_50": 1.0, "map": 1.0, "mar_100": 1.0})


def test_detection_peaks_are_found_on_logits_not_saturated_scores():
    """Logits 30 and 18 side by side both have sigmoid 1.0 in float32: both were "peaks",
    a duplicate box of the same object."""
    t = TASK_KINDS.get("detection")("d", {}, DataInfo(16, 1, ("a",)))
    heat = torch.full((1, 1, 4, 4), -10.0)
    heat[0, 0, 1, 1], heat[0, 0, 1, 2] = 30.0, 18.0
    out = {"heatmap": heat, "size": torch.zeros(1, 2, 4, 4), "offset": torch.full((1, 2, 4, 4), 0.5)}
    (pred,) = t.decode_tensors(out)
    assert len(pred["scores"]) == 1
