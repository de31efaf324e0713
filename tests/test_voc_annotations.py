"""Pascal VOC XML (issue 7): 1-based boxes to 0-based corners, float coordinates, 0 x 0
sizes, difficult flags, and every bad object or file named."""

from __future__ import annotations

import pytest

from workbench.data.import_report import DROPPED, REFUSED, SKIPPED, ImportReport
from workbench.data.voc_annotations import read_voc_xml


def obj(name="dog", box=("48", "240", "195", "371"), difficult="0") -> str:
    tags = "".join(f"<{t}>{v}</{t}>" for t, v in zip(("xmin", "ymin", "xmax", "ymax"), box, strict=True))
    return f"<object><name>{name}</name><difficult>{difficult}</difficult><bndbox>{tags}</bndbox></object>"


def read(tmp_path, body: str, size=("500", "375")):
    path = tmp_path / "2007_000032.xml"
    size_xml = f"<size><width>{size[0]}</width><height>{size[1]}</height><depth>3</depth></size>"
    path.write_text(f"<annotation><filename>2007_000032.jpg</filename>{size_xml}{body}</annotation>")
    report = ImportReport()
    return read_voc_xml(path, report), report


def test_boxes_are_zero_based_corners_and_difficult_is_flagged(tmp_path):
    record, report = read(tmp_path, obj() + obj("person", ("8.5", "12", "498.0", "375"), difficult="1"))
    assert report.problems == []
    assert record.filename == "2007_000032.jpg" and (record.width, record.height) == (500, 375)
    # xmin 48 (1-based) -> 47; xmax 195 stays: a box 148 px wide
    assert record.boxes.tolist() == [[47, 239, 195, 371], [7.5, 11, 498, 375]]
    assert record.names == ["dog", "person"]
    assert record.difficult.tolist() == [False, True]


def test_size_zero_means_unknown_and_nothing_is_clipped(tmp_path):
    record, report = read(tmp_path, obj(box=("10", "10", "900", "900")), size=("0", "0"))
    assert (record.width, record.height) == (0, 0)
    assert record.boxes.tolist() == [[9, 9, 900, 900]] and report.problems == []


@pytest.mark.parametrize(
    ("body", "action", "words"),
    [
        (obj(name=""), SKIPPED, "without a <name>"),
        ("<object><name>dog</name></object>", SKIPPED, "without a <bndbox>"),
        (obj(box=("", "1", "5", "5")), SKIPPED, "empty or missing <xmin>"),
        (obj(box=("a", "1", "5", "5")), SKIPPED, "<xmin> 'a' is not a number"),
        (obj(box=("1", "nan", "5", "5")), SKIPPED, "<ymin> is NaN or infinite"),
        (obj(box=("50", "1", "20", "5")), SKIPPED, "inverted box"),
        (
            obj(box=("5", "5", "4", "5")),
            DROPPED,
            "zero-area box",
        ),  # xmax = xmin - 1: width 0 (1-based, inclusive)
    ],
)
def test_bad_objects_are_named(tmp_path, body, action, words):
    record, report = read(tmp_path, obj() + body)
    (problem,) = report.problems
    assert (problem.where, problem.action) == ("object 2", action) and words in problem.message
    assert len(record.boxes) == 1


def test_boxes_past_the_declared_size_are_kept_for_the_file_to_decide(tmp_path):
    """<size> may be wrong (or the stored frame of an EXIF-rotated photo): the reader cuts
    boxes to the image file's real size, not this parser to the declaration."""
    record, report = read(tmp_path, obj(box=("600", "1", "700", "5")) + obj(box=("480", "1", "520", "5")))
    assert record.boxes.tolist() == [[599, 0, 700, 5], [479, 0, 520, 5]] and report.problems == []


def test_malformed_xml_and_wrong_root_are_refused(tmp_path):
    path = tmp_path / "broken.xml"
    path.write_text("<annotation>\n  <object><name>dog</name>\n</annotation>")
    report = ImportReport()
    assert read_voc_xml(path, report) is None
    (problem,) = report.problems
    assert problem.action == REFUSED and problem.where.startswith("line 3, column")
    other = tmp_path / "other.xml"
    other.write_text("<svg></svg>")
    assert read_voc_xml(other, report) is None
    assert "root element is <svg>" in report.problems[-1].message
    assert read_voc_xml(tmp_path / "missing.xml", report) is None
    assert "cannot read" in report.problems[-1].message


def test_swapped_corners_are_called_inverted_not_zero_area(tmp_path):
    _, report = read(tmp_path, obj(box=("30", "5", "10", "20")) + obj(box=("10", "5", "9", "20")))
    messages = [p.message for p in report.problems]
    assert messages[0].startswith("inverted box (xmin 30, xmax 10") and messages[1].startswith(
        "zero-area box"
    )


def test_a_zero_min_coordinate_of_a_zero_based_writer_is_the_edge_not_outside(tmp_path):
    """CVAT and most converters write VOC 0-based: xmin 0 read as 1-based is x1 = -1, one
    pixel past the edge, and every box drawn to the left or top edge was reported clipped."""
    from workbench.data.import_report import CLIPPED, clip_box

    record, report = read(tmp_path, obj(box=("0", "0.5", "120", "80")) + obj(box=("-3", "1", "10", "10")))
    assert report.problems == []
    # 0 and 0.5 are the edge (x1 = 0, y1 = 0); -3 is no writer's edge: x1 = -4, 4 px outside
    assert record.boxes.tolist() == [[0, 0, 120, 80], [-4, 0, 10, 10]]
    boxes = [
        clip_box(list(map(float, b)), 500, 375, report, "a.xml", f"object {k + 1}")
        for k, b in enumerate(record.boxes)
    ]
    assert boxes == [[0, 0, 120, 80], [0, 0, 10, 10]]
    assert [(p.where, p.action) for p in report.problems] == [("object 2", CLIPPED)]


def test_a_tag_given_twice_in_one_object_is_skipped_not_guessed(tmp_path):
    """Two <name>, two <bndbox> or two <xmin> in one object: the first was used unsaid."""
    two_names = "<object><name>dog</name><name>cat</name><bndbox><xmin>1</xmin><ymin>1</ymin><xmax>9</xmax><ymax>9</ymax></bndbox></object>"
    two_boxes = "<object><name>dog</name><bndbox><xmin>1</xmin><ymin>1</ymin><xmax>9</xmax><ymax>9</ymax></bndbox><bndbox><xmin>2</xmin><ymin>2</ymin><xmax>8</xmax><ymax>8</ymax></bndbox></object>"
    two_xmin = "<object><name>dog</name><bndbox><xmin>1</xmin><xmin>3</xmin><ymin>1</ymin><xmax>9</xmax><ymax>9</ymax></bndbox></object>"
    record, report = read(tmp_path, two_names + two_boxes + two_xmin + obj())
    assert [(p.where, p.message, p.action) for p in report.problems] == [
        ("object 1", "2 different <name> in one object ('dog', 'cat')", SKIPPED),
        ("object 2", "2 different <bndbox> in one object ('1.0 1.0 9.0 9.0', '2.0 2.0 8.0 8.0')", SKIPPED),
        ("object 3", "2 different <xmin> in one <bndbox> ('1', '3')", SKIPPED),
    ]
    assert record.names == ["dog"] and record.boxes.tolist() == [[47, 239, 195, 371]]


def test_a_tag_given_twice_alike_is_read(tmp_path):
    """The same <name>, <bndbox> or corner written twice (82.0 and 82 are one number) left
    the object out, and with it the whole image."""
    box = "<bndbox><xmin>1</xmin><ymin>1</ymin><xmax>9</xmax><ymax>9</ymax></bndbox>"
    alike = (
        f"<object><name>dog</name><name>dog</name>{box}</object>"
        f"<object><name>cat</name>{box}{box.replace('<xmin>1</xmin>', '<xmin>1.0</xmin>')}</object>"
        "<object><name>dog</name><bndbox><xmin>82.0</xmin><xmin>82</xmin><ymin>1</ymin><xmax>90</xmax>"
        "<ymax>9</ymax></bndbox></object>"
    )
    record, report = read(tmp_path, alike)
    assert report.problems == []
    assert record.names == ["dog", "cat", "dog"]
    assert record.boxes.tolist() == [[0, 0, 9, 9], [0, 0, 9, 9], [81, 0, 90, 9]]  # x1 = xmin - 1
