"""COCO instances files (issue 7): categories to contiguous classes, boxes to x1y1x2y2,
polygon and RLE masks, and every bad annotation left out and named."""

from __future__ import annotations

import json

import numpy as np
import pytest
from pycocotools import mask as mask_utils

from workbench.data.coco_instances import CocoError, decode_mask, load_coco
from workbench.data.import_report import DROPPED, SKIPPED, ImportReport

SQUARE = [[10, 10, 20, 10, 20, 20, 10, 20]]  # covers pixels 10-19 in x and y: 100 pixels


def write(tmp_path, data) -> tuple:
    path = tmp_path / "instances.json"
    path.write_text(data if isinstance(data, str) else json.dumps(data))
    report = ImportReport()
    return load_coco(path, report), report, path


def test_categories_boxes_masks_and_problems(tmp_path):
    data = {
        "images": [
            {"id": 1, "file_name": "sub/a.png", "width": 50, "height": 40},
            {"id": 2, "file_name": "b.jpg", "width": 0, "height": 0},  # size unknown: from the file later
            {"id": 3},  # no file_name
        ],
        "categories": [{"id": 7, "name": "cat"}, {"id": 0, "name": "dog"}, {"id": 3, "name": "cat"}],
        "annotations": [
            {"id": 1, "image_id": 1, "category_id": 3, "bbox": [10, 5, 20, 10], "segmentation": SQUARE},
            {"id": 2, "image_id": 1, "category_id": 7, "bbox": [45, 30, 10, 20], "segmentation": []},
            {"id": 3, "image_id": 1, "category_id": 99, "bbox": [1, 1, 5, 5]},
            {"id": 4, "image_id": 42, "category_id": 0, "bbox": [1, 1, 5, 5]},
            {"id": 5, "image_id": 1, "category_id": 0, "bbox": [1, 1, 0, 5]},
            {"id": 6, "image_id": 1, "category_id": 0, "bbox": "abc"},
            {
                "id": 7,
                "image_id": 1,
                "category_id": 0,
                "bbox": [0, 5, 1, 10],
                "iscrowd": 1,
                "segmentation": {"size": [40, 50], "counts": [5, 10, 1985]},
            },
            {"id": 8, "image_id": 1, "category_id": 0, "bbox": [2, 2, 4, 4], "segmentation": [[1, 2, 3, 4]]},
            {"id": 9, "image_id": 1, "category_id": 0, "bbox": [60, 0, 5, 5]},
            {"id": 10, "image_id": 2, "category_id": 0, "bbox": [500, 400, 10, 10]},  # no size: kept as is
        ],
    }
    coco, report, path = write(tmp_path, data)
    assert coco.class_names == ["dog", "cat", "cat (id 7)"]  # ascending ids 0, 3, 7; names kept apart
    assert coco.category_ids == [0, 3, 7]
    a, b = coco.images
    assert (a.file_name, a.width, a.height) == ("sub/a.png", 50, 40)
    # boxes as written: the reader cuts them to the file's real size (annotations 2 and 9
    # reach past the declared 50x40, which may be wrong)
    assert a.boxes.tolist() == [
        [10, 5, 30, 15],
        [45, 30, 55, 50],
        [0, 5, 1, 15],
        [2, 2, 6, 6],
        [60, 0, 65, 5],
    ]
    assert a.labels.tolist() == [1, 2, 0, 0, 0]
    assert a.crowd.tolist() == [False, False, True, False, False]
    assert a.places == ["annotation 1", "annotation 2", "annotation 7", "annotation 8", "annotation 9"]
    assert a.segmentations[1] is None and a.segmentations[3] is None  # empty list: no mask
    assert decode_mask(a.segmentations[0], 40, 50).sum() == 100
    assert decode_mask(a.segmentations[2], 40, 50).sum() == 10  # RLE counts: 5 off, 10 on
    assert b.boxes.tolist() == [[500, 400, 510, 410]]
    found = {(p.where, p.action) for p in report.problems}
    assert found == {
        ("image 3", SKIPPED),
        ("annotation 3", SKIPPED),
        ("annotation 4", SKIPPED),
        ("annotation 5", DROPPED),
        ("annotation 6", SKIPPED),
        ("annotation 8", SKIPPED),
    }
    assert all(p.file == str(path) and "\n" not in str(p) for p in report.problems)


def test_compressed_rle_string_round_trips():
    mask = np.zeros((40, 50), np.uint8, order="F")
    mask[5:9, 20:30] = 1
    rle = mask_utils.encode(mask)
    rle["counts"] = rle["counts"].decode("ascii")  # as it is stored in JSON
    assert np.array_equal(decode_mask(rle, 40, 50), mask.astype(bool))


@pytest.mark.parametrize(
    ("text", "words"),
    [
        ('{"images": [}', "not valid JSON at line 1, column 13"),
        ("[1, 2]", "no 'images' list"),
        ('{"annotations": []}', "no 'images' list"),
    ],
)
def test_files_that_are_not_coco_raise_one_line(tmp_path, text, words):
    with pytest.raises(CocoError) as info:
        write(tmp_path, text)
    assert words in str(info.value) and str(tmp_path / "instances.json") in str(info.value)
    assert "\n" not in str(info.value)


def test_crowd_regions_are_no_objects_and_their_pixels_are_ignored(tmp_path):
    """As pycocotools: an iscrowd group is not an object (not a detection target, not
    counted); its pixels are neither its class nor background for segmentation."""
    from PIL import Image

    from workbench.data.base import IGNORE_INDEX
    from workbench.data.coco_source import read_coco_set
    from workbench.data.semantic_mask import semantic_mask

    Image.new("RGB", (50, 40)).save(tmp_path / "a.png")
    crowd = np.zeros((40, 50), np.uint8, order="F")
    crowd[0:10, 30:50] = 1
    rle = mask_utils.encode(crowd)
    rle["counts"] = rle["counts"].decode("ascii")
    data = {
        "images": [{"id": 1, "file_name": "a.png", "width": 50, "height": 40}],
        "categories": [{"id": 1, "name": "person"}],
        "annotations": [
            {"id": 1, "image_id": 1, "category_id": 1, "bbox": [10, 10, 10, 10], "segmentation": SQUARE},
            {
                "id": 2,
                "image_id": 1,
                "category_id": 1,
                "bbox": [30, 0, 20, 10],
                "segmentation": rle,
                "iscrowd": 1,
            },
            {
                "id": 3,
                "image_id": 1,
                "category_id": 1,
                "bbox": [0, 30, 5, 5],
                "iscrowd": 1,
            },  # no mask: its box
        ],
    }
    (tmp_path / "instances.json").write_text(json.dumps(data))
    result = read_coco_set(tmp_path / "instances.json")
    (record,) = result.splits["all"]
    assert record.boxes.tolist() == [[10, 10, 20, 20]] and record.labels.tolist() == [0]
    assert result.summary("all").objects == 1
    assert any("2 crowd region(s) (iscrowd = 1) are not objects" in line for line in result.report.lines())
    mask = semantic_mask(record, 1)
    assert (mask[10:20, 10:20] == 1).all()  # the person
    assert (mask[0:10, 30:50] == IGNORE_INDEX).all() and (mask[30:35, 0:5] == IGNORE_INDEX).all()
    assert (mask == IGNORE_INDEX).sum() == 200 + 25 and (mask == 1).sum() == 100


def test_images_without_a_declared_size_are_checked_against_the_file(tmp_path):
    """Width and height may be left out (the file tells), but then no box was clipped, no
    RLE size compared: counts came out wrong and one RLE decoded 3.8 GB. The checks now
    run against the file's real size."""
    from PIL import Image

    from workbench.data.coco_source import read_coco_set

    Image.new("RGB", (80, 60)).save(tmp_path / "a.png")
    data = {
        "images": [{"id": 1, "file_name": "a.png"}],  # no width, no height
        "categories": [{"id": 1, "name": "cell"}],
        "annotations": [
            {"id": 1, "image_id": 1, "category_id": 1, "bbox": [70, 50, 30, 30]},  # cut to 70-80, 50-60
            {"id": 2, "image_id": 1, "category_id": 1, "bbox": [200, 200, 30, 30]},  # wholly outside
            {"id": 3, "image_id": 1, "category_id": 1, "bbox": [-50, -50, 10, 10]},  # wholly outside
            {
                "id": 4,
                "image_id": 1,
                "category_id": 1,
                "bbox": [10, 10, 10, 10],
                "segmentation": {"size": [40000, 40000], "counts": [0, 1_600_000_000]},
            },
        ],
    }
    (tmp_path / "instances.json").write_text(json.dumps(data))
    result = read_coco_set(tmp_path / "instances.json")
    (record,) = result.splits["all"]
    assert record.boxes.tolist() == [[70, 50, 80, 60], [10, 10, 20, 20]]
    assert result.summary("all").objects == 2
    lines = "\n".join(result.report.lines())
    assert lines.count("box entirely outside the image") == 2 and "box outside the image" in lines
    assert "RLE size [40000, 40000] is not the image's [60, 80]; mask left out" in lines
    assert list(record.segmentations) == [None, None]  # the oversized RLE is not decoded


def test_polygons_reaching_far_outside_the_image_are_left_out(tmp_path):
    """pycocotools rasterises a polygon's whole outline: vertices at 1e30 crashed the process
    (SIGSEGV) and at 1e8 took 72 s and 15 GB. A vertex more than 4 image sides out is an
    error; one a little outside is kept (the mask is cut to the image)."""
    far = [[0, 0, 1e30, 0, 1e30, 1e30, 0, 1e30]]
    near = [[-10, -10, 100, -10, 100, 50, -10, 50]]  # 64 x 48 image: within reach
    limit = [[0, 0, 64 + 4 * 64 + 1, 0, 10, 10]]  # one pixel past 4 sides to the right
    data = {
        "images": [{"id": 1, "file_name": "a.png", "width": 64, "height": 48}],
        "categories": [{"id": 1, "name": "cell"}],
        "annotations": [
            {"id": k, "image_id": 1, "category_id": 1, "bbox": [0, 0, 10, 10], "segmentation": seg}
            for k, seg in ((1, far), (2, near), (3, limit))
        ],
    }
    coco, report, path = write(tmp_path, data)
    (image,) = coco.images
    # parsing does not trust the declared size: only what is far outside any image goes
    assert image.segmentations == [None, near, limit]
    assert "polygon coordinates (up to 1e+30) lie far outside any image" in "\n".join(report.lines())
    # the reader, knowing the file's real size, leaves out the one past 4 sides too
    from PIL import Image

    from workbench.data.dataset_check import check_dataset

    Image.new("RGB", (64, 48)).save(tmp_path / "a.png")
    result = check_dataset(path)
    (record,) = result.splits["all"]
    assert record.segmentations == [None, near, None]
    lines = "\n".join(result.report.lines())
    assert "annotation 3: polygon coordinates (up to 321) lie far outside the 64x48 image" in lines
    assert decode_mask(near, 48, 64).sum() == 64 * 48  # the near one covers the whole image


def test_a_box_with_a_negative_corner_marks_only_its_own_pixels_ignored():
    from workbench.data.semantic_mask import _box_slice

    assert _box_slice([-5, -5, 3.5, 3], 10, 12) == (slice(0, 3), slice(0, 4))
    assert _box_slice([-50, -50, -40, -40], 10, 12) == (slice(0, 0), slice(0, 0))
    assert _box_slice([8, 9, 30, 30], 10, 12) == (slice(9, 10), slice(8, 12))


def test_a_duplicate_image_id_names_both_files(tmp_path):
    data = {
        "images": [{"id": 1, "file_name": "a.png"}, {"id": 1, "file_name": "b.png"}],
        "categories": [{"id": 1, "name": "cell"}],
        "annotations": [],
    }
    coco, report, _ = write(tmp_path, data)
    assert [im.file_name for im in coco.images] == ["a.png"]
    assert [p.message for p in report.problems] == ["duplicate image id (b.png; the id is a.png's)"]


@pytest.mark.parametrize(
    ("iscrowd", "crowd", "noted"),
    [
        (0, False, False),
        (1, True, False),
        ("0", False, False),
        ("1", True, False),
        (True, True, False),
        ("false", False, False),
        (2, False, True),
        ("yes", False, True),
        (None, False, True),
    ],
)
def test_iscrowd_as_converters_write_it(tmp_path, iscrowd, crowd, noted):
    """``bool("0")`` is True: a file that wrote iscrowd as a string made every object a
    crowd region, which no task trains on. 0/1 in any spelling is read; other values are
    objects, with a note."""
    data = {
        "images": [{"id": 1, "file_name": "a.png", "width": 50, "height": 40}],
        "categories": [{"id": 1, "name": "cat"}],
        "annotations": [{"id": 1, "image_id": 1, "category_id": 1, "bbox": [1, 1, 5, 5], "iscrowd": iscrowd}],
    }
    coco, report, _ = write(tmp_path, data)
    assert coco.images[0].crowd.tolist() == [crowd]
    assert [p.message for p in report.problems] == (
        [f"iscrowd {iscrowd!r} is not 0 or 1; read as 0 (an object)"] if noted else []
    )
