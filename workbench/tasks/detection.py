"""Detection: several objects per image, CenterNet-style (centre heatmap + size + offset).

The head fuses the branch's features to one stride-4 map (see ``workbench.tasks.fusion``)
and predicts, per cell:

- ``heatmap``: (B, C, h, w) logits of "an object of class c is centred in this cell";
- ``size``: (B, 2, h, w) log of the box width and height in cells;
- ``offset``: (B, 2, h, w) position of the centre inside its cell (0..1 in x and y).

Box coordinates are pixels of the dataset image (``data.image_size``); a cell spans
``image_size / w`` pixels, so the head's map size fixes the scale whatever the model's
input size. The heatmap is trained with the penalty-reduced focal loss against Gaussians
splatted at the object centres; size and offset with L1 at the centre cells.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn
from torchmetrics.detection import MeanAveragePrecision
from torchvision.ops import batched_nms, box_iou

from workbench.config import setting
from workbench.data.base import subset_targets
from workbench.tasks.base import TaskKind, TaskMetrics, _batch_size, select
from workbench.tasks.drawing import DrawBox, DrawSpec, DrawText, class_colour
from workbench.tasks.fusion import FeatureFusion
from workbench.tasks.registry import TASK_KINDS

HEATMAP_PRIOR_BIAS = -2.19  # sigmoid(-2.19) ~ 0.1: the usual CenterNet prior
NMS_IOU = 0.5
# Decoding: peaks scoring below MIN_SCORE are no detection (a flat background is all
# "peaks" of score ~1e-13, which still matched objects in mAR); at most PRE_NMS_TOP peaks
# go into NMS, and max_detections are kept after it (torchvision's order: NMS, then top-K)
MIN_SCORE = 1e-3
PRE_NMS_TOP = 1000
MATCH_IOU = 0.5  # IoU for a prediction to count as finding a ground-truth box (drawing)
# COCO's thresholds as pycocotools' ``Params`` makes them, in float64. torchmetrics' own
# defaults come from torch.linspace in float32, where 0.8 is 0.80000001: a class whose
# recall ends exactly at 0.8 (8 of 10 objects) lost a recall level, 1/101 of its AP, and an
# IoU of exactly 0.6 missed the 0.6 threshold (mAP@[.5:.95] 0.2 against COCO's 0.3).
COCO_IOU_THRESHOLDS = np.linspace(0.5, 0.95, round((0.95 - 0.5) / 0.05) + 1).tolist()
COCO_RECALL_THRESHOLDS = np.linspace(0.0, 1.0, round(1.0 / 0.01) + 1).tolist()


def _share_inside(boxes: np.ndarray, regions: np.ndarray) -> np.ndarray:
    """(N, M) share of each box's area (xyxy, (N, 4)) inside each region ((M, 4)); 0 for a
    box of no area. pycocotools' IoU against a crowd region is this share."""
    x1 = np.maximum(boxes[:, None, 0], regions[None, :, 0])
    y1 = np.maximum(boxes[:, None, 1], regions[None, :, 1])
    x2 = np.minimum(boxes[:, None, 2], regions[None, :, 2])
    y2 = np.minimum(boxes[:, None, 3], regions[None, :, 3])
    inter = np.clip(x2 - x1, 0, None) * np.clip(y2 - y1, 0, None)
    area = (boxes[:, 2] - boxes[:, 0]) * (boxes[:, 3] - boxes[:, 1])
    return np.divide(inter, area[:, None], out=np.zeros_like(inter), where=area[:, None] > 0)


RADIUS_FRACTION = 0.4  # Gaussian radius per axis, as a fraction of the box side
MAX_LOG_SIZE = 8.0  # clamp of the predicted log size (in cells) before exp
FOCAL_ALPHA = 2.0
FOCAL_BETA = 4.0


# --------------------------------------------------------------------------------- targets


@dataclass
class DetectionTargets:
    """Training targets on a (h, w) map for a batch; one row per valid object."""

    heatmap: torch.Tensor  # (B, C, h, w) float32, 1 at each object's centre cell
    batch: torch.Tensor  # (N,) image index of each object
    index: torch.Tensor  # (N,) flat cell index (y * w + x) of each object's centre
    size: torch.Tensor  # (N, 2) log(width, height) in cells
    offset: torch.Tensor  # (N, 2) centre minus its cell's corner, in cells (0..1)


def build_targets(
    boxes: list[torch.Tensor],
    labels: list[torch.Tensor],
    num_classes: int,
    map_size: tuple[int, int],
    cell: tuple[float, float],
) -> DetectionTargets:
    """Encode per-image xyxy pixel boxes and labels on a map of ``map_size`` = (h, w).

    ``cell`` = (pixels per cell in x, in y). Vectorised over all objects of the batch.
    Boxes with no area are skipped.
    """
    height, width = map_size
    batch_size = len(boxes)
    device = boxes[0].device if batch_size else torch.device("cpu")
    counts = torch.tensor([len(b) for b in boxes], device=device)
    heat = torch.zeros(batch_size * num_classes, height * width, device=device)
    all_boxes = torch.cat([b.reshape(-1, 4) for b in boxes]).float() if batch_size else heat.new_zeros(0, 4)
    all_labels = torch.cat([lab.reshape(-1) for lab in labels]).long() if batch_size else counts.new_zeros(0)
    image = torch.repeat_interleave(torch.arange(batch_size, device=device), counts)

    valid = (all_boxes[:, 2] > all_boxes[:, 0]) & (all_boxes[:, 3] > all_boxes[:, 1])
    valid &= (all_labels >= 0) & (all_labels < num_classes)
    all_boxes, all_labels, image = all_boxes[valid], all_labels[valid], image[valid]

    scale = all_boxes.new_tensor([cell[0], cell[1], cell[0], cell[1]])
    x1, y1, x2, y2 = (all_boxes / scale).unbind(dim=1)
    box_w, box_h = x2 - x1, y2 - y1
    cx, cy = (x1 + x2) / 2, (y1 + y2) / 2
    ix = cx.floor().clamp(0, width - 1)
    iy = cy.floor().clamp(0, height - 1)
    offset = torch.stack([cx - ix, cy - iy], dim=1).clamp(0.0, 1.0)
    size = torch.stack([box_w, box_h], dim=1).clamp(min=1e-3).log()

    if len(all_boxes):
        sigma_x = (2 * RADIUS_FRACTION * box_w + 1) / 6
        sigma_y = (2 * RADIUS_FRACTION * box_h + 1) / 6
        xs = torch.arange(width, device=device, dtype=torch.float32)
        ys = torch.arange(height, device=device, dtype=torch.float32)
        gx = torch.exp(-((xs[None, :] - ix[:, None]) ** 2) / (2 * sigma_x[:, None] ** 2))
        gy = torch.exp(-((ys[None, :] - iy[:, None]) ** 2) / (2 * sigma_y[:, None] ** 2))
        gauss = (gy[:, :, None] * gx[:, None, :]).reshape(len(all_boxes), height * width)
        gauss = torch.where(gauss < 1e-4, torch.zeros_like(gauss), gauss)
        rows = (image * num_classes + all_labels)[:, None].expand_as(gauss)
        heat.scatter_reduce_(0, rows, gauss, reduce="amax", include_self=True)

    return DetectionTargets(
        heatmap=heat.reshape(batch_size, num_classes, height, width),
        batch=image,
        index=(iy * width + ix).long(),
        size=size,
        offset=offset,
    )


def focal_sums(logits: torch.Tensor, heatmap: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Per image (B,): the penalty-reduced focal loss (CenterNet, Zhou et al. 2019) summed
    over classes and cells, and the number of positive cells (objects' centres)."""
    logits = logits.float()
    prob = logits.sigmoid()
    positive = heatmap.eq(1.0)
    log_p = F.logsigmoid(logits)
    log_not_p = F.logsigmoid(-logits)
    pos_term = log_p * (1 - prob) ** FOCAL_ALPHA
    neg_term = log_not_p * prob**FOCAL_ALPHA * (1 - heatmap) ** FOCAL_BETA
    total = torch.where(positive, pos_term, neg_term).flatten(1).sum(dim=1)
    return -total, positive.flatten(1).sum(dim=1)


def focal_loss(logits: torch.Tensor, heatmap: torch.Tensor) -> torch.Tensor:
    """Penalty-reduced pixel-wise focal loss (CenterNet), normalised by the object count."""
    sums, positives = focal_sums(logits, heatmap)
    return sums.sum() / positives.sum().clamp(min=1)


# ------------------------------------------------------------------------------------ head


class DetectionHead(nn.Module):
    """Fusion to stride 4, then a heatmap branch and a size/offset branch."""

    def __init__(
        self, channels: list[int], strides: list[int], num_classes: int, width: int, dropout: float
    ) -> None:
        super().__init__()
        self.fusion = FeatureFusion(channels, strides, width=width)
        self.dropout = nn.Dropout2d(dropout) if dropout > 0 else nn.Identity()
        self.heat = nn.Sequential(
            nn.Conv2d(width, width, 3, padding=1), nn.ReLU(inplace=True), nn.Conv2d(width, num_classes, 1)
        )
        self.regress = nn.Sequential(
            nn.Conv2d(width, width, 3, padding=1), nn.ReLU(inplace=True), nn.Conv2d(width, 4, 1)
        )
        nn.init.normal_(self.heat[-1].weight, std=0.01)
        nn.init.constant_(self.heat[-1].bias, HEATMAP_PRIOR_BIAS)
        nn.init.normal_(self.regress[-1].weight, std=0.01)
        nn.init.constant_(self.regress[-1].bias, 0.0)
        self.out_stride = self.fusion.out_stride

    def forward(self, features: list[torch.Tensor]) -> dict[str, torch.Tensor]:
        x = self.dropout(self.fusion(features))
        reg = self.regress(x)
        return {"heatmap": self.heat(x), "size": reg[:, :2], "offset": reg[:, 2:]}


# --------------------------------------------------------------------------------- metrics


class _DetectionMetrics(TaskMetrics):
    def __init__(self, task: Detection) -> None:
        self.task = task
        self.map = MeanAveragePrecision(
            box_format="xyxy",
            iou_type="bbox",
            backend="pycocotools",
            iou_thresholds=list(COCO_IOU_THRESHOLDS),
            rec_thresholds=list(COCO_RECALL_THRESHOLDS),
        )
        self.updated = False

    def update(self, output: dict[str, torch.Tensor], targets: dict[str, Any]) -> None:
        device = output["heatmap"].device
        self.map = self.map.to(device)
        preds = self.task.decode_tensors(output)
        truth = [
            {"boxes": b.to(device).float().reshape(-1, 4), "labels": lab.to(device).long().reshape(-1)}
            for b, lab in zip(targets["boxes"], targets["labels"], strict=True)
        ]
        if "crowd_boxes" in targets:  # pycocotools' iscrowd: a detection on one is ignored
            for item, boxes, labels in zip(
                truth, targets["crowd_boxes"], targets["crowd_labels"], strict=True
            ):
                n = len(item["labels"])
                item["boxes"] = torch.cat([item["boxes"], boxes.to(device).float().reshape(-1, 4)])
                item["labels"] = torch.cat([item["labels"], labels.to(device).long().reshape(-1)])
                item["iscrowd"] = (torch.arange(len(item["labels"]), device=device) >= n).long()
        self.map.update(preds, truth)
        self.updated = True

    def compute(self) -> dict[str, float | None]:
        if not self.updated:
            return dict.fromkeys(Detection.metric_names)
        result = self.map.compute()
        # pycocotools averages over the classes with ground truth (the TaskMetrics
        # convention) and gives -1 when no image has an object: undefined, None.
        return {
            name: (None if float(result[name]) < 0 else float(result[name]))
            for name in Detection.metric_names
        }


# ------------------------------------------------------------------------------------ kind


@TASK_KINDS.register("detection")
class Detection(TaskKind):
    kind = "detection"
    description = "boxes and classes of all objects (CenterNet-style heatmap head)"
    target_key = "boxes"
    metric_names = ("map_50", "map", "mar_100")
    metric_labels = {"map_50": "mAP@0.5", "map": "mAP@[.5:.95]", "mar_100": "mAR@100"}
    primary_metric = "map_50"
    loss_is_mean_over_samples = False  # normalised by the batch's objects
    higher_is_better = True

    @dataclass
    class Options(TaskKind.Options):
        # 100 is COCO's maxDets: the metrics see only the boxes kept, so mAP and mAR@100
        # of a crowded image were capped (60 objects, 50 kept: 0.83 for a perfect model)
        max_detections: int = setting(
            100,
            "Max detections",
            "Boxes kept per image: the best after NMS. The metrics see only these; COCO's mAP "
            "and mAR@100 count up to 100.",
            ge=1,
            le=1000,
        )
        # Boxes drawn in the sample view; the metrics keep all top-K boxes.
        score_threshold: float = setting(
            0.3, "Score threshold", "Boxes below this score are not drawn.", ge=0.0, le=1.0
        )
        heatmap_weight: float = setting(
            1.0, "Heatmap weight", "Weight of the centre focal loss.", ge=0.0, le=100.0
        )
        # Sizes are regressed as log(cells), so about 1 is balanced.
        size_weight: float = setting(1.0, "Size weight", "Weight of the box size L1 loss.", ge=0.0, le=100.0)
        offset_weight: float = setting(
            1.0, "Offset weight", "Weight of the centre offset L1 loss.", ge=0.0, le=100.0
        )
        head_width: int = setting(64, "Head width", "Channels of the fused stride-4 map.", ge=8, le=512)

    def build_head(self, channels: list[int], strides: list[int]) -> nn.Module:
        return DetectionHead(channels, strides, self.data.num_classes, self.options.head_width, self.dropout)

    # -- geometry
    def cell_size(self, map_size: tuple[int, int]) -> tuple[float, float]:
        """Pixels of the dataset image per map cell, in x and y."""
        height, width = map_size
        return self.data.image_size / width, self.data.image_size / height

    def encode(self, targets: dict[str, Any], map_size: tuple[int, int]) -> DetectionTargets:
        return build_targets(
            list(targets["boxes"]),
            list(targets["labels"]),
            self.data.num_classes,
            map_size,
            self.cell_size(map_size),
        )

    # -- training
    def _loss_terms(
        self, output: dict[str, torch.Tensor], targets: dict[str, Any]
    ) -> tuple[torch.Tensor, ...]:
        """Per image (B,): focal sum, positive cells, size L1 sum, offset L1 sum, objects."""
        heat_logits = output["heatmap"]
        map_size = (heat_logits.shape[-2], heat_logits.shape[-1])
        enc = self.encode(targets, map_size)
        heat, positives = focal_sums(heat_logits, enc.heatmap.to(heat_logits.device))
        batch = enc.batch.to(heat.device)
        size = output["size"].float().flatten(2)[enc.batch, :, enc.index]
        offset = output["offset"].float().flatten(2)[enc.batch, :, enc.index]

        def per_image(values: torch.Tensor) -> torch.Tensor:
            return torch.zeros_like(heat).index_add(0, batch, values.to(heat.dtype))

        size_l1 = per_image(F.l1_loss(size, enc.size, reduction="none").sum(dim=1))
        offset_l1 = per_image(F.l1_loss(offset, enc.offset, reduction="none").sum(dim=1))
        objects = per_image(torch.ones(len(batch), device=heat.device))
        return heat, positives, size_l1, offset_l1, objects

    def loss(self, output: dict[str, torch.Tensor], targets: dict[str, Any]) -> torch.Tensor:
        heat, positives, size_l1, offset_l1, objects = self._loss_terms(output, targets)
        o = self.options
        count = objects.sum().clamp(min=1)
        return (
            o.heatmap_weight * heat.sum() / positives.sum().clamp(min=1)
            + o.size_weight * size_l1.sum() / count
            + o.offset_weight * offset_l1.sum() / count
        )

    def image_losses(self, output: dict[str, torch.Tensor], targets: dict[str, Any]) -> tuple[float, int]:
        """Each image's loss, its terms normalised by its own objects (see
        ``TaskKind.image_losses``), summed, in one pass."""
        keep = self.loss_present(targets)
        if keep is not None:
            output, targets = select(output, keep), subset_targets(targets, keep)
        if not _batch_size(output):
            return 0.0, 0
        heat, positives, size_l1, offset_l1, objects = self._loss_terms(output, targets)
        o = self.options
        count = objects.clamp(min=1)
        per_image = (
            o.heatmap_weight * heat / positives.clamp(min=1)
            + o.size_weight * size_l1 / count
            + o.offset_weight * offset_l1 / count
        )
        return float(per_image.sum()), len(per_image)

    def make_metrics(self) -> TaskMetrics:
        return _DetectionMetrics(self)

    # -- predictions
    @torch.no_grad()
    def decode_tensors(self, output: dict[str, torch.Tensor]) -> list[dict[str, torch.Tensor]]:
        """Per-image {"boxes" (K, 4) xyxy pixels, "scores" (K,), "labels" (K,)} on the output's
        device: the heatmap's peaks (cells equal to their 3x3 max-pool) scoring at least
        ``MIN_SCORE``, per-class NMS, then the best ``max_detections`` (CenterNet, Zhou et
        al. 2019; NMS before the top-K as torchvision's detectors)."""
        logits = output["heatmap"].detach().float()
        batch, classes, height, width = logits.shape
        # peaks on the logits: sigmoid saturates to 1.0 past ~17, making neighbours "peaks"
        peak = F.max_pool2d(logits, kernel_size=3, stride=1, padding=1) == logits
        heat = logits.sigmoid()
        # no peak (or one below MIN_SCORE) is no detection: -1, below any score
        heat = torch.where(peak & (heat >= MIN_SCORE), heat, torch.full_like(heat, -1.0))
        k = min(max(PRE_NMS_TOP, self.options.max_detections), classes * height * width)
        scores, flat = heat.reshape(batch, -1).topk(k, dim=1)
        labels = flat // (height * width)
        cell_index = flat % (height * width)
        ys = (cell_index // width).float()
        xs = (cell_index % width).float()
        size = output["size"].detach().float().flatten(2).gather(2, cell_index[:, None, :].expand(-1, 2, -1))
        offset = (
            output["offset"].detach().float().flatten(2).gather(2, cell_index[:, None, :].expand(-1, 2, -1))
        )
        cell_x, cell_y = self.cell_size((height, width))
        cx = (xs + offset[:, 0]) * cell_x
        cy = (ys + offset[:, 1]) * cell_y
        half_w = size[:, 0].clamp(max=MAX_LOG_SIZE).exp() * cell_x / 2
        half_h = size[:, 1].clamp(max=MAX_LOG_SIZE).exp() * cell_y / 2
        limit = float(self.data.image_size)
        boxes = torch.stack([cx - half_w, cy - half_h, cx + half_w, cy + half_h], dim=2).clamp(0.0, limit)
        results = []
        for i in range(batch):
            kept = scores[i] >= 0
            b, sc, lab = boxes[i][kept], scores[i][kept], labels[i][kept]
            # NMS first, then the top max_detections (the other order lost a second object
            # to a box NMS then removed)
            keep = batched_nms(b, sc, lab, NMS_IOU)[: self.options.max_detections]  # by score
            results.append({"boxes": b[keep], "scores": sc[keep], "labels": lab[keep]})
        return results

    def export_decode(self) -> dict[str, Any]:
        return {
            "output": "heatmap (B, C, h, w) logits; size (B, 2, h, w) log width and height in cells; "
            "offset (B, 2, h, w) centre offset within the cell (CenterNet, Zhou et al. 2019)",
            "steps": [
                "peaks: the heatmap cells equal to their 3x3 max-pool (on the logits)",
                "score = sigmoid of the peak's logit; keep peaks scoring >= min_score, at most "
                "pre_nms_top of them (highest first): score, class, cell (x, y)",
                "cell size in pixels: input_size / w across, input_size / h down",
                "centre = (cell + offset) * cell size; width, height = exp(min(size, 8)) * cell size",
                "box x1 y1 x2 y2 = centre -/+ half the size, clipped to [0, input_size]",
                "non-maximum suppression per class at IoU nms_iou, then the max_detections best",
                "draw boxes scoring >= score_threshold",
            ],
            "max_detections": self.options.max_detections,
            "min_score": MIN_SCORE,
            "pre_nms_top": PRE_NMS_TOP,
            "score_threshold": self.options.score_threshold,
            "nms_iou": NMS_IOU,
            "max_log_size": MAX_LOG_SIZE,
            "input_size": self.data.image_size,
            "class_names": list(self.data.class_names),
        }

    def decode(self, output: dict[str, torch.Tensor]) -> list[dict[str, np.ndarray]]:
        return [
            {
                "boxes": p["boxes"].cpu().numpy().astype(np.float32),
                "scores": p["scores"].cpu().numpy().astype(np.float32),
                "labels": p["labels"].cpu().numpy().astype(np.int64),
            }
            for p in self.decode_tensors(output)
        ]

    def target_items(self, targets: dict[str, Any], count: int) -> list[dict[str, np.ndarray]]:
        """Per image: ``boxes`` (N, 4) float32 xyxy pixels, ``labels`` (N,) int64, and where
        the set marks crowd regions (COCO ``iscrowd``) ``crowd_boxes`` / ``crowd_labels``."""

        def boxes_of(value: Any) -> np.ndarray:
            return value.detach().cpu().numpy().astype(np.float32).reshape(-1, 4)

        def labels_of(value: Any) -> np.ndarray:
            return value.detach().cpu().numpy().astype(np.int64).reshape(-1)

        items = []
        for i, (boxes, labels) in enumerate(
            list(zip(targets["boxes"], targets["labels"], strict=True))[:count]
        ):
            item = {"boxes": boxes_of(boxes), "labels": labels_of(labels)}
            if "crowd_boxes" in targets:
                item["crowd_boxes"] = boxes_of(targets["crowd_boxes"][i])
                item["crowd_labels"] = labels_of(targets["crowd_labels"][i])
            items.append(item)
        return items

    # -- drawing
    def draw(
        self,
        prediction: dict[str, np.ndarray] | None,
        target: dict[str, np.ndarray] | None,
        score_threshold: float | None = None,
    ) -> DrawSpec:
        """Predicted boxes above ``score_threshold`` (default: the option) and ground truth.

        Predictions are matched greedily, highest score first, to the unmatched truth box of
        highest IoU (>= 0.5), preferring one of the same class. Unmatched truth is "missed",
        an unmatched prediction a "false positive", a match of another class "wrong class".
        A crowd region (COCO ``iscrowd``) is drawn as truth labelled "(crowd)" and is never
        missed; an unmatched prediction of its class lying at least half inside it is no
        error, as pycocotools ignores it (its crowd IoU: intersection over the prediction's
        area).
        """
        prediction, target = prediction or None, target or None  # {} = not labelled
        threshold = self.options.score_threshold if score_threshold is None else score_threshold
        pred_boxes = np.zeros((0, 4), np.float32)
        pred_scores = np.zeros(0, np.float32)
        pred_labels = np.zeros(0, np.int64)
        if prediction is not None:
            keep = np.asarray(prediction["scores"]) >= threshold
            order = np.argsort(-np.asarray(prediction["scores"])[keep], kind="stable")
            pred_boxes = np.asarray(prediction["boxes"], np.float32).reshape(-1, 4)[keep][order]
            pred_scores = np.asarray(prediction["scores"], np.float32)[keep][order]
            pred_labels = np.asarray(prediction["labels"], np.int64)[keep][order]
        true_boxes = np.zeros((0, 4), np.float32)
        true_labels = np.zeros(0, np.int64)
        if target is not None:
            true_boxes = np.asarray(target["boxes"], np.float32).reshape(-1, 4)
            true_labels = np.asarray(target["labels"], np.int64).reshape(-1)

        pred_errors = [""] * len(pred_boxes)
        true_errors = [""] * len(true_boxes)
        if prediction is not None and target is not None:
            true_errors = ["missed"] * len(true_boxes)
            iou = box_iou(torch.from_numpy(pred_boxes), torch.from_numpy(true_boxes)).numpy()
            matched = np.zeros(len(true_boxes), bool)
            for p in range(len(pred_boxes)):
                candidates = np.flatnonzero((iou[p] >= MATCH_IOU) & ~matched)
                if len(candidates) == 0:
                    pred_errors[p] = "false positive"
                    continue
                same = candidates[true_labels[candidates] == pred_labels[p]]
                pool = same if len(same) else candidates
                t = int(pool[np.argmax(iou[p, pool])])
                matched[t] = True
                true_errors[t] = ""
                if true_labels[t] != pred_labels[p]:
                    pred_errors[p] = "wrong class"

        crowd_boxes = np.zeros((0, 4), np.float32)
        crowd_labels = np.zeros(0, np.int64)
        if target is not None and "crowd_boxes" in target:
            crowd_boxes = np.asarray(target["crowd_boxes"], np.float32).reshape(-1, 4)
            crowd_labels = np.asarray(target["crowd_labels"], np.int64).reshape(-1)
        if target is not None and len(crowd_boxes) and len(pred_boxes):
            inside = _share_inside(pred_boxes, crowd_boxes)
            for p in range(len(pred_boxes)):
                same = crowd_labels == pred_labels[p]
                if pred_errors[p] == "false positive" and bool((inside[p][same] >= MATCH_IOU).any()):
                    pred_errors[p] = ""

        boxes = [
            DrawBox(
                tuple(float(v) for v in pred_boxes[p]),
                f"{self.class_name(int(pred_labels[p]))} {float(pred_scores[p]):.2f}",
                class_colour(int(pred_labels[p])),
                score=float(pred_scores[p]),
                error=pred_errors[p],
            )
            for p in range(len(pred_boxes))
        ]
        boxes += [
            DrawBox(
                tuple(float(v) for v in true_boxes[t]),
                self.class_name(int(true_labels[t])),
                class_colour(int(true_labels[t])),
                truth=True,
                error=true_errors[t],
            )
            for t in range(len(true_boxes))
        ]
        boxes += [
            DrawBox(
                tuple(float(v) for v in crowd_boxes[c]),
                f"{self.class_name(int(crowd_labels[c]))} (crowd)",
                class_colour(int(crowd_labels[c])),
                truth=True,
            )
            for c in range(len(crowd_boxes))
        ]
        has_error = any(pred_errors) or any(true_errors)
        texts = ()
        if prediction is not None and target is not None:  # the caption's one line: what was found
            found = true_errors.count("")
            wrong = pred_errors.count("false positive") + pred_errors.count("wrong class")
            extra = f", {wrong} false or wrong-class" if wrong else ""
            texts = (DrawText(f"{self.name}: {found}/{len(true_boxes)} found{extra}", error=has_error),)
        elif prediction is not None:
            texts = (DrawText(f"{self.name}: {len(pred_boxes)} box(es) above {threshold:g}"),)
        return DrawSpec(task=self.name, boxes=tuple(boxes), texts=texts, has_error=has_error)
