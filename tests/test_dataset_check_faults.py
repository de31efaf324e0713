"""Classes of bad input found by trying to break ``workbench data check`` (issue 7): wrong
JSON types, huge numbers, unusable names, undecodable list files, duplicates, look-alike
files that used to change the detected format, and what an exit 2 tells."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from PIL import Image

from workbench.cli import main
from workbench.data.dataset_check import DatasetError, check_dataset, detect_format
from workbench.data.import_report import NOTED


def image(path: Path, size=(50, 40)) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.new("RGB", size, (10, 200, 30)).save(path)
    return path


def text(path: Path, content: str | bytes) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(content if isinstance(content, bytes) else content.encode())
    return path


def coco(root: Path, images, annotations, categories=None, name="instances.json", raw=None) -> Path:
    data = {
        "images": images,
        "annotations": annotations,
        "categories": categories or [{"id": 1, "name": "cat"}],
    }
    return text(root / name, raw if raw is not None else json.dumps(data))


def problems(result) -> list[str]:
    return [p.message for p in result.report.problems]


def test_coco_values_of_the_wrong_type_are_skipped_not_crashes(tmp_path):
    image(tmp_path / "a.png")
    image(tmp_path / "b.png")
    good = {"id": 1, "file_name": "a.png", "width": 50, "height": 40}
    images = [
        good,
        {"id": 5, "file_name": "b.png"},  # holds the unreadable objects: left out
        {"id": 2, "file_name": "x\u0000.png"},
        {"id": 3, "file_name": "y" * 5000},
        {"id": True, "file_name": "a.png"},
    ]
    annotations = [
        {"id": 1, "image_id": 1, "category_id": 1, "bbox": [1, 1, 5, 5]},
        {"id": 2, "image_id": [1], "category_id": 1, "bbox": [1, 1, 5, 5]},
        {"id": 3, "image_id": 5, "category_id": {"a": 1}, "bbox": [1, 1, 5, 5]},
        {"id": 4, "image_id": 5, "category_id": 1, "bbox": [10**400, 0, 10**400, 5]},
        {"id": 5, "image_id": 5, "category_id": 1, "bbox": [True, True, True, True]},
        {
            "id": 6,
            "image_id": 1,
            "category_id": 1,
            "bbox": [1, 1, 5, 5],
            "segmentation": {"counts": 5, "size": ["a", None]},
        },
    ]
    categories = [{"id": 1, "name": "cat"}, {"id": 1, "name": "again"}]
    coco(tmp_path, images, annotations, categories)
    result = check_dataset(tmp_path)
    assert result.summary("all").images == 1 and result.summary("all").objects == 2  # annotations 1 and 6
    assert result.tasks == ["classification", "detection", "multilabel", "counting", "localization"]
    found = problems(result)
    assert sum("usable 'file_name'" in m for m in found) == 3
    assert any("image_id [1]" in m for m in found) and any("category_id {'a': 1}" in m for m in found)
    assert sum("4 finite numbers" in m for m in found) == 2
    assert any("RLE segmentation needs" in m for m in found)
    assert "duplicate category id 1" in found
    assert (
        "3 object(s) of b.png could not be read (annotation 3: unknown category_id {'a': 1}, ...), so what "
        "the image holds is unknown: left out" in found
    )


@pytest.mark.parametrize("lost_first", [True, False])
def test_a_file_left_out_for_unreadable_objects_is_left_out_under_every_listing(tmp_path, lost_first):
    """b.png listed as images 1 and 2, image 1 with an unreadable box: image 2 came back
    as b.png with no object (what the file holds is unknown), without a word."""
    for name in ("b.png", "c.png", "d.png"):
        image(tmp_path / name)
    listings = [{"id": 1, "file_name": "b.png"}, {"id": 2, "file_name": "b.png"}]
    images = [*(listings if lost_first else listings[::-1]), {"id": 3, "file_name": "c.png"}]
    images.append({"id": 4, "file_name": "d.png"})
    annotations = [
        {"id": 1, "image_id": 1, "category_id": 1, "bbox": [1, 1, 10, "x"]},
        {"id": 2, "image_id": 3, "category_id": 1, "bbox": [1, 1, 10, 10]},
        {"id": 3, "image_id": 4, "category_id": 1, "bbox": [1, 1, 10, 10]},
    ]
    coco(tmp_path, images, annotations)
    result = check_dataset(tmp_path)
    summary = result.summary("all")
    assert (summary.images, summary.objects) == (2, 2)  # c.png and d.png, one box each
    assert "b.png is listed again as image 1, whose objects cannot be read: left out under both" in problems(
        result
    )


@pytest.mark.parametrize(
    ("raw", "words"),
    [
        ('{"images": [], "annotations": 5}', "'annotations' must be a list, got int"),
        ('{"images": [], "categories": "cat"}', "'categories' must be a list, got str"),
        ('{"images": [], "x": ' + "[" * 100_000 + "]" * 100_000 + "}", "nested too deeply"),
    ],
)
def test_coco_files_of_the_wrong_shape_exit_2_in_one_line(tmp_path, capsys, raw, words):
    path = text(tmp_path / "instances.json", raw)
    assert main(["data", "check", str(path)]) == 2
    err = capsys.readouterr().err
    assert words in err and err.count("\n") == 1


def test_huge_image_headers_are_reported(tmp_path, monkeypatch):
    image(tmp_path / "cat/1.png")
    image(tmp_path / "dog/1.png")
    monkeypatch.setattr(Image, "MAX_IMAGE_PIXELS", 500)  # 50 x 40 = 2,000 > 2 x 500
    with pytest.raises(DatasetError, match="too large to decode safely"):
        check_dataset(tmp_path)


def test_list_files_that_are_not_utf8_are_refused(tmp_path):
    text(
        tmp_path / "Annotations/a.xml",
        "<annotation><filename>a.jpg</filename><object><name>cat</name>"
        "<bndbox><xmin>1</xmin><ymin>1</ymin><xmax>9</xmax><ymax>9</ymax></bndbox></object></annotation>",
    )
    image(tmp_path / "JPEGImages/a.jpg")
    text(tmp_path / "ImageSets/Main/train.txt", "a\n".encode("utf-16"))
    text(tmp_path / "ImageSets/Main/val.txt", "# held out\na\na\n")
    # the train split is named but cannot be read: the set is refused, naming the list (it
    # used to vanish, leaving a set of its val split alone)
    with pytest.raises(DatasetError, match=r"train split has no usable image .*train\.txt: not a text file"):
        check_dataset(tmp_path)
    text(tmp_path / "ImageSets/Main/train.txt", "a\n")
    result = check_dataset(tmp_path)
    assert result.summary("val").images == 1  # listed twice, counted once
    assert "a is listed again" in problems(result)


def test_yolo_names_keys_duplicates_and_missing_labels(tmp_path):
    image(tmp_path / "images/train/a.jpg")
    text(tmp_path / "labels/train/a.txt", "0 .5 .5 .1 .1\n1 .5 .5 .1 .1\n")
    text(tmp_path / "data.yaml", "train: images/train\nnames: [cat, cat]\n")
    result = check_dataset(tmp_path)
    assert result.class_names == ["cat", "cat (class 1)"]
    assert dict(result.summary("train").per_class) == {"cat": 1, "cat (class 1)": 1}
    text(tmp_path / "data.yaml", "train: images/train\nnames: {0: cat, 1.5: dog}\n")
    with pytest.raises(DatasetError, match="class numbers"):
        check_dataset(tmp_path)
    other = tmp_path / "other"
    image(other / "images/ds/train/b.jpg")
    text(other / "images/ds/train/b.txt", "0 .5 .5 .1 .1\n")  # beside the image: not where YOLO looks
    text(other / "data.yaml", "train: images/ds/train\nnames: [cat]\n")
    noted = [p for p in check_dataset(other).report.problems if p.action == NOTED]
    assert len(noted) == 1 and "no label files found" in noted[0].message


def test_voc_files_beside_images_with_the_same_name_in_two_folders(tmp_path):
    for folder, name in (("x", "cat"), ("y", "dog")):
        image(tmp_path / folder / "a.jpg")
        text(
            tmp_path / folder / "a.xml",
            f"<annotation><filename>a.jpg</filename><object><name>{name}</name>"
            "<bndbox><xmin>1</xmin><ymin>1</ymin><xmax>9</xmax><ymax>9</ymax></bndbox></object></annotation>",
        )
    assert detect_format(tmp_path) == "voc"  # .xml one level down, with an <annotation> root
    result = check_dataset(tmp_path)
    assert result.summary("all").images == 2 and result.class_names == ["cat", "dog"]


def test_look_alike_files_do_not_change_the_format(tmp_path):
    image(tmp_path / "val2017/a.jpg")
    coco(
        tmp_path / "annotations",
        [{"id": 1, "file_name": "a.jpg", "width": 50, "height": 40}],
        [{"id": 1, "image_id": 1, "category_id": 1, "bbox": [1, 1, 5, 5]}],
        name="instances_val2017.json",
    )
    text(tmp_path / "annotations/captions_val2017.json", json.dumps({"images": [], "annotations": []}))
    text(tmp_path / "config.yaml", "lr: 0.1\n")
    assert detect_format(tmp_path) == "coco"
    result = check_dataset(tmp_path)  # images found in val2017/ beside annotations/
    assert result.path.name == "instances_val2017.json" and result.summary("all").images == 1
    folders = tmp_path / "folders"
    image(folders / "cat/1.png")
    image(folders / "dog/1.png")
    text(folders / "metadata.xml", "<meta/>")
    assert detect_format(folders) == "folder"


def test_coco_image_folder_is_judged_on_the_whole_list(tmp_path):
    names = [f"{i:02d}.png" for i in range(40)]
    for name in names[20:]:
        image(tmp_path / "images" / name, (8, 8))
    images = [{"id": i, "file_name": n, "width": 8, "height": 8} for i, n in enumerate(names)]
    coco(tmp_path, images, [])
    result = check_dataset(tmp_path / "instances.json")
    assert result.summary("all").images == 20


def test_exit_2_names_the_first_problem_and_stays_on_one_line(tmp_path, capsys):
    coco(tmp_path, [{"id": 1, "file_name": "gone.png"}], [])
    assert main(["data", "check", str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert "the first: " in err and "gone.png: missing image (skipped)" in err and err.count("\n") == 1
    weird = tmp_path / "x\ny.json"
    assert main(["data", "check", str(weird)]) == 2
    assert capsys.readouterr().err.count("\n") == 1


def test_an_empty_named_split_fails_the_check_as_it_fails_training(tmp_path, capsys):
    # VOC: val.txt names nothing; training refuses the set, so the check must not pass it
    voc = tmp_path / "voc"
    text(
        voc / "Annotations/a.xml",
        "<annotation><filename>a.jpg</filename><object><name>cat</name>"
        "<bndbox><xmin>1</xmin><ymin>1</ymin><xmax>9</xmax><ymax>9</ymax></bndbox></object></annotation>",
    )
    image(voc / "JPEGImages/a.jpg")
    text(voc / "ImageSets/Main/train.txt", "a\n")
    text(voc / "ImageSets/Main/val.txt", "")
    assert main(["data", "check", str(voc)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "the set's val split has no usable image" in err
    # YOLO: every train image is a zero-byte file; the first problem is named
    yolo = tmp_path / "yolo"
    text(yolo / "images/train/a.jpg", b"")
    text(yolo / "labels/train/a.txt", "0 .5 .5 .1 .1\n")
    image(yolo / "images/val/b.jpg")
    text(yolo / "labels/val/b.txt", "0 .5 .5 .1 .1\n")
    text(yolo / "data.yaml", "train: images/train\nval: images/val\nnames: [cat]\n")
    with pytest.raises(
        DatasetError,
        match=r"train split has no usable image \(1 image\(s\) or file\(s\) left out, the first: .*a\.jpg",
    ):
        check_dataset(yolo)


def test_a_split_whose_folder_is_not_there_is_named_not_another_splits_image(tmp_path, capsys):
    """`val: images/vall` (a typo) said "the val split has no usable image (... the first:
    images/train/empty.png: file content is not an image)", blaming a train file."""
    yolo = tmp_path / "yolo"
    text(yolo / "images/train/empty.png", b"")
    image(yolo / "images/train/a.png")
    text(yolo / "labels/train/a.txt", "0 .5 .5 .1 .1\n")
    text(yolo / "data.yaml", "train: images/train\nval: images/vall\nnames: [cat]\n")
    assert main(["data", "check", str(yolo)]) == 2
    assert capsys.readouterr().err == (
        f"error: {yolo / 'data.yaml'}: the set's val split has no usable image: {yolo / 'data.yaml'}, val: "
        f"{yolo / 'images/vall'} does not exist (skipped)\n"
    )


def test_a_link_to_a_yolo_image_is_said_as_a_second_name(tmp_path):
    """images/train/link.png -> a0.png with labels/train/link.txt was "in no split's list
    (not read: the data.yaml's .txt lists choose the images)", with no list in the set."""
    for stem in ("a0", "a1"):
        image(tmp_path / f"images/train/{stem}.png")
        text(tmp_path / f"labels/train/{stem}.txt", "0 .5 .5 .2 .2\n")
    (tmp_path / "images/train/link.png").symlink_to("a0.png")
    (tmp_path / "images/train/0link.png").symlink_to("a1.png")  # first by name, read under a1.png still
    text(tmp_path / "labels/train/link.txt", "0 .5 .5 .1 .1\n")
    text(tmp_path / "labels/train/0link.txt", "0 .5 .5 .1 .1\n")
    text(tmp_path / "data.yaml", "train: images/train\nnames: [cat]\n")
    result = check_dataset(tmp_path)
    assert sorted(r.image.name for r in result.splits["train"]) == ["a0.png", "a1.png"]
    found = problems(result)
    assert sorted(found) == [
        "not read: 0link.png is the same image as a1.png (a link), which is read once, with its own label file",
        "not read: link.png is the same image as a0.png (a link), which is read once, with its own label file",
    ]


def test_damaged_coco_rle_counts_are_reported_not_dropped_quietly(tmp_path):
    import numpy as np
    from pycocotools import mask as mask_utils

    from workbench.data.coco_instances import rle_counts

    mask = np.zeros((4, 5), np.uint8)
    mask[:, 1] = 1  # column-major: 4 background pixels, 4 object pixels, 12 background
    good = mask_utils.encode(np.asfortranarray(mask))["counts"].decode()
    assert rle_counts(good) == [4, 4, 12]
    image(tmp_path / "a.png", size=(5, 4))
    anns = [
        {"id": n, "image_id": 1, "category_id": 1, "bbox": [1, 0, 1, 4], "segmentation": seg}
        for n, seg in (
            (1, {"size": [4, 5], "counts": good}),
            (2, {"size": [4, 5], "counts": "!!!garbage"}),
            (3, {"size": [4, 5], "counts": ""}),
            (4, {"size": [4, 5], "counts": [4, 4, 11]}),
        )
    ]
    coco(tmp_path, [{"id": 1, "file_name": "a.png", "width": 5, "height": 4}], anns)
    found = problems(check_dataset(tmp_path))
    assert "RLE counts are damaged (not a COCO compressed RLE string); mask left out" in found
    assert "RLE counts are damaged (runs cover 0 pixels, the mask has 20); mask left out" in found
    assert "RLE counts are damaged (runs cover 19 pixels, the mask has 20); mask left out" in found
    assert len(found) == 3  # the good one passes


def test_declared_coco_sizes_that_are_nonsense_are_noted(tmp_path):
    image(tmp_path / "a.png", size=(50, 40))
    image(tmp_path / "b.png", size=(50, 40))
    box = {"category_id": 1, "bbox": [1, 1, 5, 5]}
    coco(
        tmp_path,
        [
            {"id": 1, "file_name": "a.png", "width": 1e12, "height": -5},
            {"id": 2, "file_name": "b.png"},  # no sizes declared: nothing to say
        ],
        [{"id": 1, "image_id": 1, **box}, {"id": 2, "image_id": 2, **box}],
    )
    result = check_dataset(tmp_path)
    noted = [p for p in result.report.problems if p.action == NOTED]
    assert [p.message for p in noted] == [
        "declared width 1000000000000.0, height -5 is not a positive whole size; the file's size is used"
    ]
    assert result.summary("all").images == 2


@pytest.mark.parametrize("kind", ["folder", "latin-1"])
def test_an_image_whose_yolo_label_file_cannot_be_read_is_left_out(tmp_path, kind):
    """Its objects are unknown, not absent: kept as an image without objects, it taught
    detection and counting that there is nothing there."""
    image(tmp_path / "images/train/a.jpg")
    image(tmp_path / "images/train/b.jpg")
    text(tmp_path / "labels/train/a.txt", "0 .5 .5 .1 .1\n")
    if kind == "folder":
        (tmp_path / "labels/train/b.txt").mkdir()
    else:
        (tmp_path / "labels/train/b.txt").write_bytes("0 0.5 0.5 0.2 0.2 # café\n".encode("latin-1"))
    text(tmp_path / "data.yaml", "train: images/train\nnames: [cat]\n")
    result = check_dataset(tmp_path)
    reason = "not a label file: a folder, not a file" if kind == "folder" else "not a text file (not UTF-8)"
    assert [p.message for p in result.report.problems] == [reason, "its label file b.txt cannot be read"]
    assert result.summary("train").images == 1 and dict(result.summary("train").per_class) == {"cat": 1}


def _voc_xml(size: str, objects: str) -> str:
    return f"<annotation><filename>a.png</filename><size>{size}</size>{objects}</annotation>"


def _voc_object(difficult: str = "0") -> str:
    box = "<bndbox><xmin>5</xmin><ymin>5</ymin><xmax>20</xmax><ymax>20</ymax></bndbox>"
    return f"<object><name>cat</name><difficult>{difficult}</difficult>{box}</object>"


@pytest.mark.parametrize(
    ("size", "noted"),
    [
        ("<width>abc</width><height>40</height>", ["size/width: 'abc' is not a positive number"]),
        ("<width>50</width><height>-3</height>", ["size/height: '-3' is not a positive number"]),
        ("<width>nan</width><height>inf</height>", ["size/width: 'nan'", "size/height: 'inf'"]),
        ("<width>0</width><height>0</height>", []),  # 0 x 0 is VOC's "unknown": the file's size
        ("", []),
    ],
)
def test_voc_sizes_that_are_no_sizes_are_noted_and_the_image_size_used(tmp_path, size, noted):
    image(tmp_path / "JPEGImages" / "a.png")
    text(tmp_path / "Annotations" / "a.xml", _voc_xml(size, _voc_object()))
    result = check_dataset(tmp_path)
    (record,) = result.splits["all"]
    assert (record.width, record.height) == (50, 40)
    lines = [p for p in result.report.lines() if "size/" in p]
    assert len(lines) == len(noted) and all(w in line for w, line in zip(noted, lines, strict=True))
    assert all(line.endswith("the image's own size is used (noted)") for line in lines)


def test_a_voc_id_with_a_space_is_read_whole(tmp_path):
    """`ä b 02` in ImageSets/Main/val.txt was cut to "ä" at the space: "names ä, which has
    no annotation", and the image left the set. A class list's "id flag" still reads its id."""
    for stem in ("a", "ä b 02", "c"):
        image(tmp_path / "JPEGImages" / f"{stem}.png")
        text(
            tmp_path / "Annotations" / f"{stem}.xml",
            _voc_xml("", _voc_object()).replace("a.png", f"{stem}.png"),
        )
    text(tmp_path / "ImageSets/Main/train.txt", "a  1\nc -1\n")
    text(tmp_path / "ImageSets/Main/val.txt", "ä b 02\nno such one\n")
    result = check_dataset(tmp_path)
    assert [r.image.name for r in result.splits["val"]] == ["ä b 02.png"]
    assert [r.image.name for r in result.splits["train"]] == ["a.png", "c.png"]
    assert "names no such one, which has no annotation" in problems(result)  # the line as written


def test_voc_class_lists_without_a_split_list_are_said(tmp_path):
    """Only circle_train.txt / circle_val.txt ("id  1" lines): read as one unsplit set,
    re-split at random, without a word."""
    for stem in ("a", "b"):
        image(tmp_path / "JPEGImages" / f"{stem}.png")
        text(
            tmp_path / "Annotations" / f"{stem}.xml",
            _voc_xml("", _voc_object()).replace("a.png", f"{stem}.png"),
        )
    text(tmp_path / "ImageSets/Main/cat_train.txt", "a  1\n")
    text(tmp_path / "ImageSets/Main/cat_val.txt", "b  1\n")
    result = check_dataset(tmp_path)
    assert (
        "per-class lists (cat_train.txt ...) but no train.txt or val.txt: the set is split by val_fraction "
        "instead; write train.txt and val.txt (an image id a line) to keep this split"
    ) in problems(result)


def test_difficult_objects_are_counted_once_for_the_set(tmp_path):
    for stem, flags in (("a", ["1", "0"]), ("b", ["1"])):
        image(tmp_path / "JPEGImages" / f"{stem}.png")
        objects = "".join(_voc_object(f) for f in flags)
        text(tmp_path / "Annotations" / f"{stem}.xml", _voc_xml("", objects).replace("a.png", f"{stem}.png"))
    result = check_dataset(tmp_path)
    said = [line for line in result.report.lines() if "difficult" in line]
    assert said == [
        f"{tmp_path}, difficult: 2 object(s) marked <difficult>: trained and scored like the others "
        "(VOC's own evaluation leaves them out) (noted)"
    ]
    assert sum(len(r.labels) for r in result.splits["all"]) == 3  # all kept


def test_coco_annotation_ids_used_twice(tmp_path):
    image(tmp_path / "images" / "a.png")
    ann = {"id": 7, "image_id": 1, "category_id": 1, "bbox": [1, 1, 10, 10], "iscrowd": 0}
    other = {**ann, "bbox": [20, 20, 10, 10]}
    path = coco(tmp_path, [{"id": 1, "file_name": "a.png", "width": 50, "height": 40}], [ann, ann, other])
    result = check_dataset(path)
    (record,) = result.splits["all"]
    assert record.boxes.tolist() == [[1, 1, 11, 11], [20, 20, 30, 30]]  # the exact copy is left out
    lines = [line for line in result.report.lines() if "annotation 7" in line]
    assert lines == [
        f"{path}, annotation 7: the same annotation is listed again (skipped)",
        f"{path}, annotation 7: annotation id 7 is used twice; both objects are kept (noted)",
    ]


def test_a_yolo_image_that_links_to_nothing_is_named(tmp_path):
    image(tmp_path / "images" / "train" / "a.png")
    text(tmp_path / "labels" / "train" / "a.txt", "0 0.5 0.5 0.2 0.2\n")
    (tmp_path / "images" / "train" / "b.png").symlink_to(tmp_path / "gone.png")
    text(tmp_path / "data.yaml", "path: .\ntrain: images/train\nval: images/train\nnames: [cat]\n")
    result = check_dataset(tmp_path)
    link = tmp_path / "images" / "train" / "b.png"
    assert (
        f"{link}, train: a link to a missing file ({tmp_path / 'gone.png'}) (skipped)"
        in result.report.lines()
    )


@pytest.mark.parametrize("content", ["[1, 2, 3]", "not json", "{}"])
def test_a_coco_named_file_that_is_no_coco_is_named_not_taken_for_class_folders(tmp_path, content):
    from workbench.data.format_detect import detect_format
    from workbench.data.source import DataSourceError

    (tmp_path / "images").mkdir()
    (tmp_path / "instances.json").write_text(content)
    with pytest.raises(DataSourceError, match=r"instances\.json: not a COCO annotation file") as info:
        detect_format(tmp_path)
    assert "class folder" not in str(info.value).split(";")[0]


def test_boxes_are_checked_against_the_files_real_size_when_it_differs_from_the_declared(tmp_path):
    """Declared 200x200, the file is 80x60: a box inside the declared size but outside the
    file is said (dropped or clipped), never counted and then lost when the image is fitted."""
    Image.new("RGB", (80, 60)).save(tmp_path / "a.png")
    coco = {
        "images": [{"id": 1, "file_name": "a.png", "width": 200, "height": 200}],
        "annotations": [
            {"id": 1, "image_id": 1, "category_id": 1, "bbox": [100, 100, 50, 50]},  # outside the file
            {"id": 2, "image_id": 1, "category_id": 1, "bbox": [70, 50, 20, 20]},  # half outside
            {"id": 3, "image_id": 1, "category_id": 1, "bbox": [10, 10, 10, 10]},
        ],
        "categories": [{"id": 1, "name": "thing"}],
    }
    (tmp_path / "instances.json").write_text(json.dumps(coco))
    result = check_dataset(tmp_path / "instances.json")
    split = next(iter(result.splits))
    assert result.summary(split).objects == 2
    text = "\n".join(result.report.lines())
    assert "annotation 1: box entirely outside the image (dropped)" in text
    assert "annotation 2: box outside the image (clipped)" in text
    record = result.splits[split][0]
    assert record.boxes.tolist() == [[70.0, 50.0, 80.0, 60.0], [10.0, 10.0, 20.0, 20.0]]


def test_a_coco_file_name_written_on_windows_finds_its_image(tmp_path):
    (tmp_path / "sub").mkdir()
    Image.new("RGB", (20, 10)).save(tmp_path / "sub" / "c.png")
    coco = {
        "images": [{"id": 1, "file_name": "sub\\c.png", "width": 20, "height": 10}],
        "annotations": [{"id": 1, "image_id": 1, "category_id": 1, "bbox": [1, 1, 5, 5]}],
        "categories": [{"id": 1, "name": "a"}],
    }
    (tmp_path / "instances.json").write_text(json.dumps(coco))
    result = check_dataset(tmp_path / "instances.json")
    (record,) = next(iter(result.splits.values()))
    assert record.image == tmp_path / "sub" / "c.png" and not result.report.problems


def test_a_damaged_train_file_beside_a_good_val_file_is_named_not_skipped(tmp_path):
    from workbench.data.source import DataSourceError

    (tmp_path / "annotations").mkdir()
    Image.new("RGB", (20, 10)).save(tmp_path / "a.png")
    good = {
        "images": [{"id": 1, "file_name": "a.png", "width": 20, "height": 10}],
        "annotations": [{"id": 1, "image_id": 1, "category_id": 1, "bbox": [1, 1, 5, 5]}],
        "categories": [{"id": 1, "name": "a"}],
    }
    text = json.dumps(good)
    (tmp_path / "annotations" / "instances_val.json").write_text(text)
    (tmp_path / "annotations" / "instances_train.json").write_text(text[:40])  # cut short
    with pytest.raises(DataSourceError, match=r"instances_train\.json: not valid JSON.*training annotations"):
        check_dataset(tmp_path)


def test_a_pipe_among_the_files_is_reported_not_waited_on(tmp_path):
    """A COCO file_name naming a FIFO made the check wait for ever (Pillow opened it); the
    same for a FIFO named like an annotation file or a data.yaml beside the set."""
    import os

    from workbench.data.image_io import ImageError, load_rgb

    image(tmp_path / "a.png")
    os.mkfifo(tmp_path / "pipe.png")
    os.mkfifo(tmp_path / "zz.json")  # found by the search for the annotation file
    box = {"category_id": 1, "bbox": [5, 5, 10, 10]}
    coco(
        tmp_path,
        [{"id": 1, "file_name": "a.png"}, {"id": 2, "file_name": "pipe.png"}],
        [{"id": 1, "image_id": 1, **box}, {"id": 2, "image_id": 2, **box}],
    )
    result = check_dataset(tmp_path)
    messages = [(Path(str(p.file)).name, p.message) for p in result.report.problems]
    assert ("pipe.png", "not a regular file (a pipe or device): reading it could wait for ever") in messages
    assert result.summary("all").images == 1
    with pytest.raises(ImageError, match="not a regular file"):
        load_rgb(tmp_path / "pipe.png")


def test_yaml_nested_too_deeply_is_named(tmp_path):
    from workbench.data.source import DataSourceError

    image(tmp_path / "images/train/a.jpg")
    text(tmp_path / "labels/train/a.txt", "0 .5 .5 .1 .1\n")
    text(tmp_path / "data.yaml", "train: images/train\nnames: " + "[" * 5000 + "]" * 5000 + "\n")
    with pytest.raises(DataSourceError, match=r"data\.yaml: .*nested too deeply"):
        check_dataset(tmp_path)


def _rare_set(tmp_path, n_common: int = 9):
    """A COCO set of ``n_common`` images of a common class and one image of a rare one."""
    images, annotations = [], []
    for k in range(n_common + 1):
        image(tmp_path / f"{k:02d}.png")
        images.append({"id": k + 1, "file_name": f"{k:02d}.png"})
        category = 2 if k == n_common else 1
        annotations.append({"id": k + 1, "image_id": k + 1, "category_id": category, "bbox": [5, 5, 10, 10]})
    coco(tmp_path, images, annotations, [{"id": 1, "name": "common"}, {"id": 2, "name": "rare"}])
    return tmp_path / "instances.json"


def test_a_class_left_out_of_training_by_the_held_out_split_is_noted(tmp_path):
    """The rare class's only image fell into validation: nothing said it is never trained."""
    from workbench.data.annotated_set import split_records
    from workbench.data.coco_source import CocoOptions, read_coco_set
    from workbench.data.real_dataset import ImageSetDataset

    path = _rare_set(tmp_path)
    data = read_coco_set(path)
    # a seed that puts the rare image (the last file) into the validation share
    seed = next(
        s
        for s in range(100)
        if "09.png" in {r.image.name for r in split_records(data.splits["all"], 0.2, s)[1]}
    )
    train = ImageSetDataset(data, CocoOptions(image_size=64, val_fraction=0.2, split_seed=seed), "train")
    lines = train.report_lines
    note = (
        "class 'rare' has no training annotations in the training share of the held-out split "
        f"(val_fraction 0.2, split_seed {seed})"
    )
    assert any(note in line for line in lines)
    held = lines.index(f"held-out split used (val_fraction 0.2, split_seed {seed}):")
    assert lines[held + 1] == "  train: 8 images, 8 objects; per class: common 8, rare 0"
    assert lines[held + 2] == "  val: 2 images, 2 objects; per class: common 1, rare 1"
    # a seed that trains on it says nothing of the kind
    other = next(
        s
        for s in range(100)
        if "09.png" in {r.image.name for r in split_records(data.splits["all"], 0.2, s)[0]}
    )
    fresh = ImageSetDataset(
        read_coco_set(path), CocoOptions(image_size=64, val_fraction=0.2, split_seed=other), "train"
    )
    assert not any("has no training annotations" in line for line in fresh.report_lines)


def test_many_classes_without_annotations_make_one_line_each_not_thousands(tmp_path):
    from workbench.data.coco_source import read_coco_set

    image(tmp_path / "a.png")
    categories = [{"id": k, "name": f"c{k}"} for k in range(1, 31)]
    coco(
        tmp_path,
        [{"id": 1, "file_name": "a.png"}],
        [{"id": 1, "image_id": 1, "category_id": 3, "bbox": [5, 5, 10, 10]}],
        categories,
    )
    data = read_coco_set(tmp_path / "instances.json")
    notes = [p.message for p in data.report.problems if "no annotations" in p.message]
    assert notes == [
        "29 classes have no annotations: 'c1', 'c2', 'c4', 'c5', 'c6', 'c7', 'c8', 'c9', 'c10', 'c11', ..."
    ]
    per_class = next(line for line in data.lines() if line.startswith("  per class:"))
    assert per_class == "  per class: c3 1, 29 other classes 0"


def test_a_coco_link_to_a_missing_image_is_named_as_a_link(tmp_path):
    import os

    image(tmp_path / "a.png")
    os.symlink(tmp_path / "gone.png", tmp_path / "b.png")
    box = {"category_id": 1, "bbox": [5, 5, 10, 10]}
    coco(
        tmp_path,
        [{"id": 1, "file_name": "a.png"}, {"id": 2, "file_name": "b.png"}],
        [{"id": 1, "image_id": 1, **box}, {"id": 2, "image_id": 2, **box}],
    )
    result = check_dataset(tmp_path)
    assert [p.message for p in result.report.problems] == [
        f"a link to a missing file ({tmp_path / 'gone.png'})"
    ]


def test_a_folder_holding_several_layouts_says_which_it_read(tmp_path):
    """A data.yaml beside VOC XML files: read as YOLO without a word."""
    image(tmp_path / "images/train/a.jpg")
    text(tmp_path / "labels/train/a.txt", "0 .5 .5 .1 .1\n")
    text(tmp_path / "data.yaml", "train: images/train\nnames: [cat]\n")
    text(
        tmp_path / "Annotations/a.xml",
        "<annotation><filename>a.jpg</filename><object><name>cat</name><bndbox><xmin>1</xmin>"
        "<ymin>1</ymin><xmax>9</xmax><ymax>9</ymax></bndbox></object></annotation>",
    )
    result = check_dataset(tmp_path)
    assert result.format == "yolo"
    assert "the folder also holds Pascal VOC (XML) files; read as YOLO" in "\n".join(result.report.lines())
    assert not any("also holds" in line for line in check_dataset(tmp_path, "yolo").report.lines())


@pytest.mark.parametrize("fmt", ["coco", "voc"])
def test_a_declared_size_smaller_than_the_file_loses_no_box(tmp_path, fmt):
    """Declared 50x40, the file is 100x80: a box at (60, 45)-(90, 75) lies inside the
    picture. It was cut (or dropped) to the declaration before the file's size was known,
    while the report said "kept as written"."""
    Image.new("RGB", (100, 80)).save(tmp_path / "a.jpg")
    if fmt == "coco":
        coco = {
            "images": [{"id": 1, "file_name": "a.jpg", "width": 50, "height": 40}],
            "annotations": [{"id": 1, "image_id": 1, "category_id": 1, "bbox": [60, 45, 30, 30]}],
            "categories": [{"id": 1, "name": "thing"}],
        }
        (tmp_path / "instances.json").write_text(json.dumps(coco))
        target = tmp_path / "instances.json"
    else:
        (tmp_path / "a.xml").write_text(
            "<annotation><filename>a.jpg</filename><size><width>50</width><height>40</height></size>"
            "<object><name>thing</name><bndbox><xmin>61</xmin><ymin>46</ymin><xmax>90</xmax>"
            "<ymax>75</ymax></bndbox></object></annotation>"
        )
        target = tmp_path
    result = check_dataset(target)
    split = next(iter(result.splits))
    assert result.splits[split][0].boxes.tolist() == [[60.0, 45.0, 90.0, 75.0]]
    text = "\n".join(result.report.lines())
    assert "outside the image" not in text and "checked against the" in text


def test_a_voc_image_with_an_unreadable_object_is_left_out_not_trained_as_empty(tmp_path):
    """An <object> without a <bndbox> is an object of unknown place: the image was trained
    as holding nothing (count 0, background over the object). It is left out, and said."""
    for name in ("a", "b"):
        Image.new("RGB", (40, 30)).save(tmp_path / f"{name}.jpg")
    (tmp_path / "a.xml").write_text(
        "<annotation><filename>a.jpg</filename><object><name>cat</name></object></annotation>"
    )
    (tmp_path / "b.xml").write_text(
        "<annotation><filename>b.jpg</filename><object><name>cat</name><bndbox><xmin>1</xmin>"
        "<ymin>1</ymin><xmax>10</xmax><ymax>10</ymax></bndbox></object></annotation>"
    )
    result = check_dataset(tmp_path)
    split = next(iter(result.splits))
    assert [r.image.name for r in result.splits[split]] == ["b.jpg"]
    assert (result.summary(split).images, result.summary(split).without_annotations) == (1, 0)
    assert (
        "1 object(s) of a.jpg could not be read (object 1: object without a <bndbox>), so what the image "
        "holds is unknown: left out" in problems(result)
    )


def test_an_unusable_set_names_what_left_its_images_out_in_check_and_training(tmp_path):
    """Every VOC image is missing; the first problem in the file is an inverted box. The
    refusal named that box (a cause of nothing); it names the missing images now. A COCO
    file whose category ids are strings has no class: said so, in training too (it said a
    detection task "needs boxes, which this data does not provide")."""
    from workbench.data.real_dataset import ImageSetDataset
    from workbench.data.source import DATASETS, DataSourceError

    voc = tmp_path / "voc" / "Annotations"
    voc.mkdir(parents=True)
    box = "<bndbox><xmin>{}</xmin><ymin>5</ymin><xmax>{}</xmax><ymax>20</ymax></bndbox>"
    (voc / "a0.xml").write_text(
        f"<annotation><filename>a0.jpg</filename><object><name>c</name>{box.format(30, 10)}</object>"
        f"<object><name>c</name>{box.format(1, 10)}</object></annotation>"
    )
    with pytest.raises(DatasetError) as info:
        check_dataset(tmp_path / "voc")
    assert str(info.value).endswith(
        f"no usable images found (voc; 1 image(s) or file(s) left out, the first: {voc / 'a0.xml'}: "
        "its image (a0.jpg) is missing (skipped); 3 problem(s) in all)"  # + "class 'c' has no annotations"
    )
    coco = tmp_path / "coco"
    coco.mkdir()
    image(coco / "a.png")
    (coco / "instances.json").write_text(
        json.dumps(
            {
                "images": [{"id": 1, "file_name": "a.png"}],
                "categories": [{"id": "a", "name": "red"}],
                "annotations": [{"id": 1, "image_id": 1, "category_id": "a", "bbox": [1, 1, 5, 5]}],
            }
        )
    )
    said = "no classes found (coco; {}, categories: category without an integer id: {{'id': 'a', 'name': 'red'}} (skipped))"
    with pytest.raises(DatasetError, match=re.escape(said.format(coco / "instances.json"))):
        check_dataset(coco)
    spec = DATASETS.get("coco")
    data = spec.read(coco / "instances.json", spec.Options())
    with pytest.raises(DataSourceError, match=re.escape(said.format(coco / "instances.json"))):
        ImageSetDataset(data, spec.Options(), "train")


def test_an_unusable_detected_layout_names_the_other_one_the_folder_holds(tmp_path):
    """A stray Annotations/ folder (its images missing) beside a usable COCO file: the
    folder is read as VOC and refused, and the refusal now names the COCO file's format and
    how to choose it, in `data check` and for source "auto" alike."""
    from workbench.data.source import DATASETS, DataSourceError

    (tmp_path / "Annotations").mkdir()
    (tmp_path / "Annotations" / "a1.xml").write_text(
        "<annotation><filename>a1.jpg</filename><object><name>c</name><bndbox><xmin>1</xmin>"
        "<ymin>1</ymin><xmax>10</xmax><ymax>20</ymax></bndbox></object></annotation>"
    )
    image(tmp_path / "images" / "a.png")
    coco(
        tmp_path,
        [{"id": 1, "file_name": "a.png"}],
        [{"id": 1, "image_id": 1, "category_id": 1, "bbox": [1, 1, 5, 5]}],
        [{"id": 1, "name": "red"}],
    )
    hint = 'but the folder also holds the layout of COCO instances (JSON): choose that format (--format coco, or data.source = "coco")'
    with pytest.raises(DatasetError, match=re.escape(hint)):
        check_dataset(tmp_path)
    assert check_dataset(tmp_path, "coco").summary("all").objects == 1
    spec = DATASETS.get("auto")
    with pytest.raises(DataSourceError, match=re.escape(hint)):
        spec.read(tmp_path, spec.Options())


def test_coco_ids_spelled_otherwise_and_repeated_problems_lose_no_object(tmp_path):
    """Found by trying the fixes again: an image_id "1" or 3.0 and a category_id 1.0 lost
    their object while the image was kept; the same bad bbox under one annotation id on two
    images left only the first image out (the report lists identical words once); an RLE
    sized as the file, not as the (wrong) declaration, was thrown away."""
    for name in ("a", "b", "c", "d"):
        image(tmp_path / f"{name}.png", (50, 40))
    box = [1, 1, 10, 10]
    images = [
        {"id": 1, "file_name": "a.png"},
        {"id": 2, "file_name": "b.png"},
        {"id": 3, "file_name": "c.png"},
        {"id": 4, "file_name": "d.png", "width": 20, "height": 10},  # declared wrong
    ]
    annotations = [
        {"id": 1, "image_id": 1, "category_id": 1, "bbox": box},
        {"id": 2, "image_id": "1", "category_id": 1.0, "bbox": [20, 20, 5, 5], "iscrowd": 0.0},
        {"id": 3, "image_id": 3.0, "category_id": 1, "bbox": box, "iscrowd": 1.0},
        {"id": 5, "image_id": 2, "category_id": 1, "bbox": box},
        {"id": 5, "image_id": 2, "category_id": 1, "bbox": "bad"},
        {"id": 5, "image_id": 3, "category_id": 1, "bbox": "bad"},
        {
            "id": 6,
            "image_id": 4,
            "category_id": 1,
            "bbox": box,
            "segmentation": {"size": [40, 50], "counts": [2000]},
        },
    ]
    coco(tmp_path, images, annotations)
    result = check_dataset(tmp_path)
    records = {r.image.name: r for r in result.splits["all"]}
    assert sorted(records) == ["a.png", "d.png"]  # b and c each hold an unreadable bbox
    assert records["a.png"].boxes.tolist() == [[1, 1, 11, 11], [20, 20, 25, 25]]
    assert records["d.png"].segmentations[0] == {"size": [40, 50], "counts": [2000]}
    found = problems(result)
    assert sum("could not be read (annotation 5: bbox must be 4 finite numbers" in m for m in found) == 2
    assert not any("iscrowd" in m or "not among the images" in m or "RLE size" in m for m in found)


def test_voc_messages_number_objects_as_the_file_does(tmp_path):
    """Object 1 is zero-area (dropped); object 2 reaches past the 50 x 40 image: its
    clipping was reported as "object 1", numbered among the boxes kept."""
    image(tmp_path / "a.jpg", (50, 40))
    box = "<object><name>c</name><bndbox><xmin>{}</xmin><ymin>{}</ymin><xmax>{}</xmax><ymax>{}</ymax></bndbox></object>"
    (tmp_path / "a.xml").write_text(
        f"<annotation><filename>a.jpg</filename>{box.format(5, 5, 4, 20)}{box.format(40, 30, 60, 50)}</annotation>"
    )
    found = [(p.where, p.message.split(" (")[0]) for p in check_dataset(tmp_path).report.problems]
    assert ("object 1", "zero-area box") in found and ("object 2", "box outside the image") in found


def test_class_folders_beside_a_data_yaml_are_named_as_the_other_layout(tmp_path):
    for c in ("cat", "dog"):
        for i in range(2):
            image(tmp_path / c / f"{i}.png")
    text(tmp_path / "data.yaml", "names: [a]\ntrain: images/train\nval: images/val\n")
    with pytest.raises(
        DatasetError, match=re.escape('choose that format (--format folder, or data.source = "folder")')
    ):
        check_dataset(tmp_path)
    assert dict(check_dataset(tmp_path, "folder").summary("all").per_class) == {"cat": 2, "dog": 2}


def test_a_misspelt_voc_name_that_changes_the_mask_order_is_said(tmp_path):
    """With SegmentationClass masks, names all among VOC's 20 keep VOC's order (dog = 12);
    one misspelt "persn" switches to the names sorted, and every mask index means another
    class. That was silent."""
    (tmp_path / "Annotations").mkdir()
    (tmp_path / "JPEGImages").mkdir()
    (tmp_path / "SegmentationClass").mkdir()
    obj = "<object><name>{}</name><bndbox><xmin>1</xmin><ymin>1</ymin><xmax>9</xmax><ymax>9</ymax></bndbox></object>"
    for i, name in enumerate(("dog", "persn")):
        image(tmp_path / "JPEGImages" / f"{i}.jpg", (20, 20))
        (tmp_path / "Annotations" / f"{i}.xml").write_text(
            f"<annotation><filename>{i}.jpg</filename>{obj.format(name)}</annotation>"
        )
    result = check_dataset(tmp_path)
    assert result.class_names == ["dog", "persn"]
    assert any(m.startswith("persn is not among VOC's 20 classes") for m in problems(result)), problems(
        result
    )


# ---------------------------------------------------------------- special files, every reader
def _special(path, kind):
    """Put a FIFO, a folder or a link loop at ``path`` (where a file belongs)."""
    import os

    path.parent.mkdir(parents=True, exist_ok=True)
    if path.exists() or path.is_symlink():
        path.unlink()
    if kind == "fifo":
        os.mkfifo(path)
    elif kind == "folder":
        path.mkdir()
    else:
        os.symlink(path.name, path)  # points at itself


SPECIAL_REASON = {
    "fifo": "not a regular file (a pipe or device): reading it could wait for ever",
    "folder": "a folder, not a file",
    "loop": "a symbolic link loop",
}


def _voc_set(root, masks=False):
    for i, name in enumerate(("cat", "dog", "bird")):
        image(root / "JPEGImages" / f"im{i}.png")
        text(
            root / "Annotations" / f"im{i}.xml",
            _voc_xml(
                "<width>32</width><height>32</height>",
                f"<object><name>{name}</name><bndbox><xmin>2</xmin><ymin>2</ymin><xmax>20</xmax>"
                "<ymax>20</ymax></bndbox></object>",
            ),
        )
        if masks:
            from PIL import Image

            mask = Image.new("P", (32, 32), 0)
            mask.putpalette([0, 0, 0, 128, 0, 0, 0, 128, 0, 128, 128, 0] + [0] * 756)
            mask.paste(i + 1, (2, 2, 20, 20))
            (root / "SegmentationClass").mkdir(exist_ok=True)
            mask.save(root / "SegmentationClass" / f"im{i}.png")
    text(root / "ImageSets" / "Main" / "train.txt", "im0\nim1\n")
    text(root / "ImageSets" / "Main" / "val.txt", "im2\n")
    if masks:
        text(root / "labelmap.txt", "background:0,0,0::\ncat:128,0,0::\ndog:0,128,0::\nbird:128,128,0::\n")


@pytest.mark.parametrize("kind", ["fifo", "folder", "loop"])
def test_a_special_file_where_a_voc_annotation_belongs_is_refused_not_waited_on(tmp_path, kind):
    """A FIFO named im0.xml hung `data check` and `train` for good."""
    _voc_set(tmp_path)
    _special(tmp_path / "Annotations" / "im0.xml", kind)
    result = check_dataset(tmp_path)
    assert (str(tmp_path / "Annotations" / "im0.xml"), SPECIAL_REASON[kind]) in [
        (str(p.file), p.message) for p in result.report.problems
    ]
    assert result.summary("train").images == 1  # im1 still read


@pytest.mark.parametrize("kind", ["fifo", "folder", "loop", "empty"])
def test_a_labelmap_that_cannot_be_used_refuses_the_masks_not_their_meaning(tmp_path, kind):
    """An unreadable or empty labelmap.txt fell back to VOC's 20 classes: mask index 1
    (cat) trained as "aeroplane", and `data check` exited 0 without a word about it."""
    _voc_set(tmp_path, masks=True)
    if kind == "empty":
        (tmp_path / "labelmap.txt").write_text("")
    else:
        _special(tmp_path / "labelmap.txt", kind)
    result = check_dataset(tmp_path)
    messages = [p.message for p in result.report.problems]
    assert (SPECIAL_REASON.get(kind) or "lists no class") in messages
    assert any(m.startswith("masks left out: labelmap.txt") for m in messages)
    assert result.class_names == ["bird", "cat", "dog"]  # the names, not VOC's 20
    assert all(r.mask_file is None for rs in result.splits.values() for r in rs)


@pytest.mark.parametrize("kind", ["fifo", "folder", "loop"])
def test_a_voc_list_that_cannot_be_read_leaves_its_split_empty_and_says_so(tmp_path, kind):
    """val.txt as a folder made the val split vanish: its images unused, nothing said."""
    _voc_set(tmp_path)
    _special(tmp_path / "ImageSets" / "Main" / "val.txt", kind)
    listing = tmp_path / "ImageSets" / "Main" / "val.txt"
    with pytest.raises(DatasetError, match=re.escape("val split has no usable image")) as refused:
        check_dataset(tmp_path)
    assert f"{listing}: {SPECIAL_REASON[kind]} (refused)" in str(refused.value)


@pytest.mark.parametrize("kind", ["fifo", "folder", "loop"])
def test_a_special_file_as_a_voc_mask_is_said(tmp_path, kind):
    _voc_set(tmp_path, masks=True)
    _special(tmp_path / "SegmentationClass" / "im1.png", kind)
    result = check_dataset(tmp_path)
    assert f"{SPECIAL_REASON[kind]}; the image is kept without a mask" in [
        p.message for p in result.report.problems
    ]


def test_a_yolo_label_file_that_loops_leaves_its_image_out(tmp_path):
    """A label file linked to itself made its image background, "problems: none"."""
    image(tmp_path / "images/train/a.jpg")
    image(tmp_path / "images/train/b.jpg")
    text(tmp_path / "labels/train/a.txt", "0 .5 .5 .1 .1\n")
    _special(tmp_path / "labels/train/b.txt", "loop")
    text(tmp_path / "data.yaml", "train: images/train\nnames: [cat]\n")
    result = check_dataset(tmp_path)
    assert [p.message for p in result.report.problems] == [
        "not a label file: a symbolic link loop",
        "its label file b.txt cannot be read",
    ]
    assert result.summary("train").images == 1


def test_one_coco_image_that_loops_is_skipped_not_the_whole_set(tmp_path):
    """RuntimeError: Symlink loop from 'im1.png' refused the whole set."""
    image(tmp_path / "a.png")
    _special(tmp_path / "b.png", "loop")
    box = {"category_id": 1, "bbox": [1, 1, 5, 5]}
    coco(
        tmp_path,
        [{"id": 1, "file_name": "a.png"}, {"id": 2, "file_name": "b.png"}],
        [{"id": 1, "image_id": 1, **box}, {"id": 2, "image_id": 2, **box}],
    )
    result = check_dataset(tmp_path)
    assert result.summary("all").images == 1


def test_a_voc_file_in_an_encoding_expat_cannot_read_is_refused_alone(tmp_path):
    """ValueError: multi-byte encodings are not supported refused the whole set, unnamed."""
    _voc_set(tmp_path)
    xml = tmp_path / "Annotations" / "im0.xml"
    xml.write_text('<?xml version="1.0" encoding="utf-32"?>' + xml.read_text())
    result = check_dataset(tmp_path)
    refused = [p for p in result.report.problems if str(p.file) == str(xml)]
    assert refused and refused[0].message.startswith("cannot read its declared encoding")
    assert result.summary("train").images == 1


@pytest.mark.parametrize("kind", ["fifo", "folder", "loop"])
@pytest.mark.parametrize("layout", ["folders", "yolo", "voc"])
def test_a_special_file_named_like_an_image_is_said_as_what_it_is(tmp_path, kind, layout):
    """A pipe or a folder named x.png was dropped without a word from class folders, and
    said as "missing" (VOC) or only through its label file (YOLO)."""
    if layout == "folders":
        for name in ("cat", "dog"):
            image(tmp_path / name / "a.png")
        odd = tmp_path / "cat" / "b.png"
    elif layout == "yolo":
        image(tmp_path / "images/train/a.png")
        text(tmp_path / "labels/train/a.txt", "0 .5 .5 .1 .1\n")
        odd = tmp_path / "images/train/b.png"
        text(tmp_path / "data.yaml", "train: images/train\nnames: [cat]\n")
    else:
        _voc_set(tmp_path)
        odd = tmp_path / "JPEGImages" / "im1.png"
    _special(odd, kind)
    result = check_dataset(tmp_path)
    said = [(str(p.file), p.message) for p in result.report.problems]
    if layout == "voc":
        assert (
            str(tmp_path / "Annotations" / "im1.xml"),
            f"its image {odd} is {SPECIAL_REASON[kind]}",
        ) in said
    else:
        assert (str(odd), SPECIAL_REASON[kind]) in said


def test_a_data_yaml_key_given_twice_is_noted_with_its_line(tmp_path):
    """Two `train:` lines: YAML keeps the last, and the set was read from it unsaid."""
    image(tmp_path / "images/a/x.jpg")
    image(tmp_path / "images/b/y.jpg")
    text(tmp_path / "labels/a/x.txt", "0 .5 .5 .1 .1\n")
    text(tmp_path / "labels/b/y.txt", "0 .5 .5 .1 .1\n")
    text(tmp_path / "data.yaml", "train: images/a\nnames: [cat]\ntrain: images/b\n")
    result = check_dataset(tmp_path)
    assert (str(tmp_path / "data.yaml"), "line 3", "'train' is given again: this later value is used") in [
        (str(p.file), p.where, p.message) for p in result.report.problems
    ]
    assert [r.image.name for rs in result.splits.values() for r in rs] == ["y.jpg"]


# ------------------------------------------- the second round of the same classes (stop 31)
def _coco_pair(root: Path) -> None:
    box = {"category_id": 1, "bbox": [1, 1, 5, 5]}
    for split in ("train", "val"):
        for i in range(2):
            image(root / f"{split}{i}.png")
        coco(
            root,
            [{"id": i + 1, "file_name": f"{split}{i}.png"} for i in range(2)],
            [{"id": i + 1, "image_id": i + 1, **box} for i in range(2)],
            name=f"instances_{split}.json",
        )


@pytest.mark.parametrize("kind", ["fifo", "folder", "loop", "dangling"])
def test_a_coco_train_file_that_is_no_file_refuses_the_set_not_trains_on_val(tmp_path, kind):
    """The train .json as a folder, pipe or broken link made the set its validation
    images alone, split into train and val, "problems: none"."""
    _coco_pair(tmp_path)
    train = tmp_path / "instances_train.json"
    if kind == "dangling":
        train.unlink()
        train.symlink_to(tmp_path / "gone.json")
        reason = f"a link to a missing file ({tmp_path / 'gone.json'})"
    else:
        _special(train, kind)
        reason = SPECIAL_REASON[kind]
    with pytest.raises(DatasetError) as info:
        check_dataset(tmp_path)
    assert str(info.value) == f"{train}: {reason} (the training annotations beside instances_val.json)"


def test_coco_validation_annotations_alone_are_said(tmp_path):
    _coco_pair(tmp_path)
    (tmp_path / "instances_train.json").unlink()
    result = check_dataset(tmp_path)
    assert (
        "the only annotations found are validation ones (no training file such as instances_train.json "
        "beside it): its images are split into train and val"
    ) in problems(result)


@pytest.mark.parametrize("kind", ["fifo", "folder", "loop"])
def test_a_data_yaml_that_is_no_file_is_said_as_what_it_is(tmp_path, capsys, kind):
    """It was "looks like a YOLO set but has no data.yaml", or "no such file or folder"."""
    image(tmp_path / "images/train/a.png")
    text(tmp_path / "labels/train/a.txt", "0 .5 .5 .1 .1\n")
    _special(tmp_path / "data.yaml", kind)
    with pytest.raises(DatasetError) as info:
        check_dataset(tmp_path)
    assert str(info.value) == f"{tmp_path / 'data.yaml'}: {SPECIAL_REASON[kind]}"
    if kind == "loop":  # named itself
        assert main(["data", "check", str(tmp_path / "data.yaml")]) == 2
        assert capsys.readouterr().err.strip().endswith(f"{tmp_path / 'data.yaml'}: a symbolic link loop")


def test_a_refusal_after_a_data_yaml_key_given_twice_names_the_key(tmp_path):
    """Two `nc:` lines: "nc = 2 but 'names' has 4 entries" with no word of the first nc."""
    image(tmp_path / "images/train/a.png")
    text(tmp_path / "labels/train/a.txt", "0 .5 .5 .1 .1\n")
    text(tmp_path / "data.yaml", "train: images/train\nnc: 4\nnames: [a, b, c, d]\nnc: 2\n")
    with pytest.raises(DatasetError) as info:
        check_dataset(tmp_path)
    assert str(info.value).endswith("(note: data.yaml line 4: 'nc' is given again: this later value is used)")


def test_a_class_number_given_twice_in_names_is_noted(tmp_path):
    image(tmp_path / "images/train/a.png")
    text(tmp_path / "labels/train/a.txt", "0 .5 .5 .1 .1\n")
    text(tmp_path / "data.yaml", "train: images/train\nnames:\n  0: cat\n  1: dog\n  0: x\n")
    result = check_dataset(tmp_path)
    assert result.class_names == ["x", "dog"]  # YAML's rule, said
    assert (
        str(tmp_path / "data.yaml"),
        "line 5",
        "'names' → '0' is given again: this later value is used",
    ) in [(str(p.file), p.where, p.message) for p in result.report.problems]


def test_a_yolo_label_link_to_nothing_is_said_once(tmp_path):
    """Besides the right two lines, it was also called a "second name" of its own image."""
    for name in ("a", "b"):
        image(tmp_path / f"images/train/{name}.png")
    text(tmp_path / "labels/train/a.txt", "0 .5 .5 .1 .1\n")
    (tmp_path / "labels/train/b.txt").symlink_to(tmp_path / "gone.txt")
    text(tmp_path / "data.yaml", "train: images/train\nnames: [cat]\n")
    result = check_dataset(tmp_path)
    assert problems(result) == [
        f"not a label file: a link to a missing file ({tmp_path / 'gone.txt'})",
        "its label file b.txt cannot be read",
    ]


@pytest.mark.parametrize(
    ("xml", "said"),
    [
        (
            "<annotation><filename>a.png</filename><filename>b.png</filename><size><width>50</width>"
            "<height>40</height></size>" + _voc_object() + "</annotation>",
            ("", "2 different <filename> ('a.png', 'b.png')"),
        ),
        (
            _voc_xml("<width>50</width><width>64</width><height>40</height>", _voc_object()),
            ("size/width", "2 different values ('50', '64'); the image's own size is used"),
        ),
        (
            _voc_xml(
                "<width>50</width><height>40</height>",
                _voc_object().replace(
                    "<difficult>0</difficult>", "<difficult>0</difficult><difficult>1</difficult>"
                ),
            ),
            ("object 1", "2 different <difficult> in one object ('0', '1')"),
        ),
    ],
)
def test_a_voc_tag_written_twice_with_different_values_is_said(tmp_path, xml, said):
    """A doubled <filename>, <width> or <difficult> kept the first without a word."""
    image(tmp_path / "a.png")
    image(tmp_path / "b.png")  # a good file beside it: the set stays usable
    text(
        tmp_path / "b.xml",
        _voc_xml("<width>50</width><height>40</height>", _voc_object()).replace("a.png", "b.png"),
    )
    xml_path = text(tmp_path / "a.xml", xml)
    result = check_dataset(tmp_path)
    assert (str(xml_path), *said) in [(str(p.file), p.where, p.message) for p in result.report.problems]


def test_a_voc_tag_written_twice_alike_is_read(tmp_path):
    image(tmp_path / "a.png")
    doubled = _voc_object().replace(
        "<difficult>0</difficult>", "<difficult>0</difficult><difficult>0</difficult>"
    )
    text(tmp_path / "a.xml", _voc_xml("<width>50</width><width>50</width><height>40</height>", doubled))
    result = check_dataset(tmp_path)
    assert problems(result) == [] and result.summary("all").objects == 1


def test_coco_files_whose_names_differ_beyond_train_and_val_are_paired_and_said(tmp_path):
    """instances_train2017.json beside instances_val.json: the val file was never read."""
    _coco_pair(tmp_path)
    (tmp_path / "instances_train.json").rename(tmp_path / "instances_train2017.json")
    result = check_dataset(tmp_path)
    assert sorted(result.splits) == ["train", "val"] and result.summary("val").images == 2
    assert "paired with instances_val.json beside it as its validation annotations" in problems(result)


def test_other_coco_files_of_a_split_are_no_partners(tmp_path):
    """COCO's own folder also holds captions_train2017.json and person_keypoints_*: with
    the train instances file gone, those must not be taken for it."""
    _coco_pair(tmp_path)
    (tmp_path / "instances_train.json").rename(tmp_path / "person_keypoints_train.json")
    (tmp_path / "captions_train.json").write_text('{"images": [], "annotations": []}')
    result = check_dataset(tmp_path)
    assert sorted(result.splits) == ["all"] and result.summary("all").images == 2  # the val file alone, said
    assert any(m.startswith("the only annotations found are validation ones") for m in problems(result))


@pytest.mark.parametrize("kind", ["fifo", "folder", "loop"])
def test_a_coco_val_file_that_is_no_file_beside_the_train_file_is_refused(tmp_path, kind):
    """instances_val.json as a folder beside a good instances_train.json: the train file
    became the whole set, split, without a word about its validation file."""
    _coco_pair(tmp_path)
    _special(tmp_path / "instances_val.json", kind)
    with pytest.raises(DatasetError) as info:
        check_dataset(tmp_path)
    assert str(info.value) == (
        f"{tmp_path / 'instances_val.json'}: {SPECIAL_REASON[kind]} (the validation annotations beside "
        "instances_train.json)"
    )


def test_a_coco_val_file_given_by_its_path_is_said_to_be_the_whole_set(tmp_path):
    _coco_pair(tmp_path)
    result = check_dataset(tmp_path / "instances_val.json")
    assert sorted(result.splits) == ["all"]
    assert any(m.startswith("validation annotations used as the whole set") for m in problems(result))


def test_an_empty_split_after_its_key_given_twice_names_the_key(tmp_path):
    """`val:` twice, the second to a folder that is not there: the refusal said the split
    had no image, never that `val` was given twice."""
    image(tmp_path / "images/train/a.png")
    image(tmp_path / "images/val/b.png")
    text(tmp_path / "labels/train/a.txt", "0 .5 .5 .1 .1\n")
    text(tmp_path / "labels/val/b.txt", "0 .5 .5 .1 .1\n")
    text(tmp_path / "data.yaml", "train: images/train\nval: images/val\nval: images/nothere\nnames: [cat]\n")
    with pytest.raises(DatasetError) as info:
        check_dataset(tmp_path)
    message = str(info.value)
    assert "the set's val split has no usable image" in message
    assert message.endswith("(note: data.yaml line 3: 'val' is given again: this later value is used)")


@pytest.mark.parametrize("fmt", ["yolo", "coco", None])
@pytest.mark.parametrize("kind", ["fifo", "folder", "loop"])
def test_an_annotation_file_given_by_path_that_is_no_file_is_said(tmp_path, fmt, kind):
    """With --format, a pipe or a folder named data.yaml was "no YOLO data.yaml found";
    without it, a folder named data.yaml was "cannot tell the format"."""
    name = "instances.json" if fmt == "coco" else "data.yaml"
    target = tmp_path / name
    _special(target, kind)
    with pytest.raises(DatasetError) as info:
        check_dataset(target, fmt=fmt) if fmt else check_dataset(target)
    message = str(info.value)
    assert message.startswith(f"{target}: ")
    assert "no YOLO data.yaml found" not in message and "cannot tell the format" not in message
    assert SPECIAL_REASON[kind].split(":")[0].split(" (")[0] in message
