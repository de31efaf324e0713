"""YOLO label lines (issue 7): boxes and polygons in pixels, every bad line reported with
its file and line number, nothing raised for bad content."""

from __future__ import annotations

import numpy as np
import pytest

from workbench.data.import_report import CLIPPED, DROPPED, REFUSED, SKIPPED, ImportReport
from workbench.data.yolo_labels import parse_label_file

W, H, CLASSES = 200, 100, 3  # image 200 x 100 px


def parse(tmp_path, text: str | bytes):
    path = tmp_path / "img.txt"
    path.write_bytes(text if isinstance(text, bytes) else text.encode())
    report = ImportReport()
    return parse_label_file(path, W, H, CLASSES, report), report


def test_box_and_polygon_lines_in_pixels(tmp_path):
    objects, report = parse(
        tmp_path,
        "0 0.5 0.5 0.2 0.4\n"  # centre (100, 50), 40 x 40 px
        "\n   \n"  # blank lines are nothing
        "1 0.1 0.2 0.3 0.2 0.2 0.6\r\n"  # triangle (20, 20), (60, 20), (40, 60)
        "2.0 0.25 0.75 0.1 0.1\n",  # class written as a float
    )
    assert report.problems == []
    assert [o.class_id for o in objects] == [0, 1, 2]
    assert objects[0].box.tolist() == [80.0, 30.0, 120.0, 70.0] and objects[0].polygon is None
    assert objects[1].polygon.tolist() == [[20.0, 20.0], [60.0, 20.0], [40.0, 60.0]]
    assert objects[1].box.tolist() == [20.0, 20.0, 60.0, 60.0]
    assert objects[2].box.tolist() == pytest.approx([40.0, 70.0, 60.0, 80.0])


def test_empty_file_and_bom_are_fine(tmp_path):
    assert parse(tmp_path, "") == ([], ImportReport())
    objects, report = parse(tmp_path, b"\xef\xbb\xbf0 0.5 0.5 0.2 0.4\n")
    assert len(objects) == 1 and report.problems == []


@pytest.mark.parametrize(
    ("line", "action", "words"),
    [
        ("3 0.5 0.5 0.2 0.2", SKIPPED, "class id 3 out of range 0-2"),
        # quoted as written: a float round trip misquoted it as 99999999999999991611392
        (
            "99999999999999999999999 0.5 0.5 0.2 0.2",
            SKIPPED,
            "class id 99999999999999999999999 out of range 0-2",
        ),
        ("-1 0.5 0.5 0.2 0.2", SKIPPED, "class id -1 out of range 0-2"),
        ("1.5 0.5 0.5 0.2 0.2", SKIPPED, "class id 1.5 is not a whole number"),
        ("0 abc 0.5 0.2 0.2", SKIPPED, "'abc' is not a number"),
        ("0 nan 0.5 0.2 0.2", SKIPPED, "NaN or infinite"),
        ("0 0.5 inf 0.2 0.2", SKIPPED, "NaN or infinite"),
        ("0 0.5 0.5 0.2", SKIPPED, "4 values; expected 5 values"),
        ("0 0.5 0.5 0.2 0.2 0.93", SKIPPED, "prediction file with confidences"),
        ("0 0.1 0.1", SKIPPED, "polygon with too few points"),
        ("0", SKIPPED, "1 values"),
        ("0 0.5 0.5 0 0.2", DROPPED, "zero-area box (width 0, height 0.2)"),
        ("0 0.5 0.5 0.2 -0.1", SKIPPED, "negative box size (width 0.2, height -0.1)"),
        ("0 1.5 0.5 0.2 0.2", DROPPED, "box entirely outside the image"),
        ("0 0.1 0.1 0.2 0.2 0.3 0.3", DROPPED, "polygon with zero area"),
        # wholly outside: one report, not "clipped" and then "zero area"
        ("0 1.2 1.2 1.5 1.2 1.5 1.5", DROPPED, "polygon entirely outside the image"),
        # pixels, not fractions: the object's place is unknown (not "outside the image")
        ("0 35 25 30 30", SKIPPED, "coordinates up to 35 are not fractions 0-1 of the image size"),
        ("0 0.5 0.5 2.5 0.2", SKIPPED, "coordinates up to 2.5 are not fractions"),
        ("0 10 10 40 10 40 40", SKIPPED, "coordinates up to 40 are not fractions"),
    ],
)
def test_bad_lines_are_left_out_and_named(tmp_path, line, action, words):
    objects, report = parse(tmp_path, f"0 0.5 0.5 0.2 0.4\n{line}\n")
    assert len(objects) == 1  # the good line stays
    (problem,) = report.problems
    assert problem.action == action and words in problem.message
    assert str(problem).startswith(f"{tmp_path / 'img.txt'}, line 2: ")


def test_boxes_and_polygons_past_the_edge_are_clipped(tmp_path):
    objects, report = parse(tmp_path, "0 0.95 0.5 0.2 0.2\n1 -0.1 0.0 0.5 0.0 0.5 1.2\n")
    # x from 0.85 to 1.05 -> 0.85 to 1.0: 170 to 200 px; y 0.4 to 0.6: 40 to 60 px
    assert objects[0].box.tolist() == pytest.approx([170.0, 40.0, 200.0, 60.0])
    # (-0.1, 0) -> (0, 0); (0.5, 1.2) -> (0.5, 1.0): box 0..100 x 0..100 px
    assert objects[1].box.tolist() == pytest.approx([0.0, 0.0, 100.0, 100.0])
    assert [(p.where, p.action) for p in report.problems] == [("line 1", CLIPPED), ("line 2", CLIPPED)]


def test_a_file_that_is_not_text_is_refused(tmp_path):
    objects, report = parse(tmp_path, b"\x89PNG\r\n\x1a\n\xff\xfe\x00binary")
    assert objects is None
    assert report.problems[0].action == REFUSED and "not UTF-8" in report.problems[0].message
    assert report.by_action() == {REFUSED: 1}
    report2 = ImportReport()
    assert parse_label_file(tmp_path / "missing.txt", W, H, CLASSES, report2) is None
    assert "cannot read" in report2.lines()[0]


def test_polygon_box_is_float32_pixels(tmp_path):
    objects, _ = parse(tmp_path, "0 0.0 0.0 1.0 0.0 1.0 1.0 0.0 1.0\n")
    assert objects[0].box.dtype == np.float32 and objects[0].box.tolist() == [0.0, 0.0, 200.0, 100.0]


def test_polygon_mask_is_rasterised_as_coco_polygons(tmp_path):
    """A YOLO polygon and the same polygon in COCO give one mask (pycocotools' rule): the
    rectangle x 50..150, y 25..75 of the 200 x 100 image covers 100 x 50 = 5,000 pixels,
    columns 50-149 and rows 25-74 (PIL's outline added column 150 and row 75: 5,151)."""
    from workbench.data.annotated_set import ImageRecord
    from workbench.data.semantic_mask import semantic_mask

    (obj,), report = parse(tmp_path, "1 0.25 0.25 0.75 0.25 0.75 0.75 0.25 0.75\n")
    assert report.problems == []
    record = ImageRecord(tmp_path / "img.png", W, H, obj.box[None], np.array([obj.class_id]), [obj.polygon])
    mask = semantic_mask(record, CLASSES)
    assert int((mask == 2).sum()) == 100 * 50
    rows, cols = np.nonzero(mask == 2)
    assert (cols.min(), cols.max(), rows.min(), rows.max()) == (50, 149, 25, 74)
    coco = ImageRecord(
        tmp_path / "img.png", W, H, obj.box[None], np.array([1]), [[[50, 25, 150, 25, 150, 75, 50, 75]]]
    )
    assert np.array_equal(semantic_mask(coco, CLASSES), mask)


def test_rounding_past_the_edge_is_not_a_problem(tmp_path):
    """A box drawn to the top edge of a 48 x 48 image, written with the 6 decimals every
    YOLO exporter uses: y1 = 0.145833 - 0.291667 / 2 = -0.0000005 (-0.000024 px). It was
    reported "outside the image (clipped)", 111 times in a set of 3,000 such boxes."""
    from workbench.data.yolo_labels import parse_label_file

    path = tmp_path / "edge.txt"
    path.write_text("1 0.593750 0.145833 0.270833 0.291667\n")
    report = ImportReport()
    (obj,) = parse_label_file(path, 48, 48, CLASSES, report)
    assert report.problems == []
    # clipped all the same: x 0.458333..0.729167 of 48 px = 22.0..35.0, y 0..0.291666 = 0..14.0
    assert obj.box.tolist() == pytest.approx([22.0, 0.0, 35.0, 14.0], abs=1e-3)
    # on the 200 x 100 image: x2 = 0.951 + 0.05 = 1.001, 0.2 px past the right edge, is
    # rounding; 0.954 + 0.05 = 1.004, 0.8 px, is not
    objects, report = parse(tmp_path, "0 0.951 0.5 0.1 0.2\n0 0.954 0.5 0.1 0.2\n")
    assert [o.box[2] for o in objects] == [200.0, 200.0]
    assert [(p.where, p.action) for p in report.problems] == [("line 2", CLIPPED)]


def test_coco_and_voc_boxes_past_the_edge_by_rounding_are_not_problems():
    """The same rule for pixel boxes (COCO, VOC): 0.3 px past a 640 px edge is rounding."""
    from workbench.data.import_report import clip_box

    report = ImportReport()
    assert clip_box([10.0, 10.0, 640.3, 50.0], 640, 480, report, "a.json", "annotation 1") == [
        10.0,
        10.0,
        640.0,
        50.0,
    ]
    assert report.problems == []
    assert clip_box([-0.6, 10.0, 100.0, 50.0], 640, 480, report, "a.json", "annotation 2") == [
        0.0,
        10.0,
        100.0,
        50.0,
    ]
    assert [(p.where, p.action) for p in report.problems] == [("annotation 2", CLIPPED)]
