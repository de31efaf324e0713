"""The localization target, "the largest object" (longest side, then area, then the first
listed), is chosen on the annotated image. It was chosen after fitting, where letterbox
rounding scales x and y unequally (a 72 x 90 image at 64 px: x by 51/72, y by 64/90) and
stretch scales them very unequally: a tie went to the later box, and a 17 x 27 box beat a
27 x 25 one."""

from __future__ import annotations

import json

import numpy as np
import pytest
from PIL import Image

from workbench.config import DataConfig
from workbench.data import build_dataset
from workbench.data.real_dataset import largest_index
from workbench.data.sample_transforms import fit_scales


def test_fit_scales_are_the_letterbox_and_stretch_factors():
    # 72 x 90 at 64: scale 64/90, new width round(72 * 64/90) = round(51.2) = 51
    assert fit_scales(72, 90, 64) == (51 / 72, 64 / 90)
    assert fit_scales(64, 96, 64, "stretch") == (1.0, 64 / 96)


def test_largest_by_side_then_area_then_first_within_the_tolerance():
    boxes = np.array([[0, 0, 20, 10], [0, 0, 10, 20], [0, 0, 19.97, 10.02]], np.float32)
    assert largest_index(boxes) == 0  # sides 20, 20, 19.97 (within 0.05), areas 200, 200, 200.1
    assert largest_index(boxes[[1, 0]]) == 0  # the first listed
    longer = np.array([[0, 0, 26, 22], [0, 0, 10, 26.2]], np.float32)
    assert largest_index(longer) == 1  # 26.2 beats 26 although its area is smaller


def _coco(root, size, boxes):
    root.mkdir()
    Image.new("RGB", size).save(root / "a.png")
    Image.new("RGB", (40, 40)).save(root / "b.png")
    anns = [
        {"id": i + 1, "image_id": 1, "category_id": 1, "bbox": b, "area": b[2] * b[3], "iscrowd": 0}
        for i, b in enumerate(boxes)
    ] + [{"id": 99, "image_id": 2, "category_id": 1, "bbox": [1, 1, 5, 5], "area": 25, "iscrowd": 0}]
    data = {
        "images": [
            {"id": 1, "file_name": "a.png", "width": size[0], "height": size[1]},
            {"id": 2, "file_name": "b.png", "width": 40, "height": 40},
        ],
        "categories": [{"id": 1, "name": "thing"}],
        "annotations": anns,
    }
    (root / "instances_train.json").write_text(json.dumps(data))
    (root / "instances_val.json").write_text(json.dumps(data))
    return root


@pytest.mark.parametrize(
    ("size", "resize", "boxes", "expected"),
    [
        # a tie (sides 20, areas 200): the first listed, fitted by 51/72 and 64/90
        ((72, 90), "letterbox", [[5, 5, 20, 10], [30, 30, 10, 20]], [5, 5, 20, 10]),
        # sides all 27: the area decides, 675 (the 17 x 27 box had won on its fitted height)
        ((72, 90), "letterbox", [[20, 57, 17, 27], [7, 32, 27, 22], [44, 60, 27, 25]], [44, 60, 27, 25]),
        # stretch to 64 x 64: x by 1, y by 2/3; the 26 px side wins over 22 x 16
        ((64, 96), "stretch", [[6, 5, 22, 16], [35, 28, 10, 26]], [35, 28, 10, 26]),
    ],
)
def test_the_localization_target_is_the_largest_annotated_object(tmp_path, size, resize, boxes, expected):
    root = _coco(tmp_path / "set", size, boxes)
    data = build_dataset(
        DataConfig(source="coco", path=str(root), options={"image_size": 64, "resize": resize}), "val"
    )
    index = next(i for i, r in enumerate(data.records) if r.image.name == "a.png")
    sample = data.sample(index)
    sx, sy = fit_scales(*size, 64, resize)
    left = (64 - round(size[0] * sx)) // 2 if resize == "letterbox" else 0
    x, y, w, h = expected
    want = [x * sx + left, y * sy, (x + w) * sx + left, (y + h) * sy]
    np.testing.assert_allclose(sample["largest_box"], want, atol=1e-3)
