"""What is legal in a format but probably not meant: noted in the import report."""

from __future__ import annotations

import json

from PIL import Image

from workbench.data.dataset_check import check_dataset


def _png(path, size=(40, 30)):
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.new("RGB", size, (90, 30, 160)).save(path)


def _messages(result):
    return [f"{p.where}: {p.message} ({p.action})" for p in result.report.problems]


def test_voc_size_difficult_and_case_variant_names(tmp_path):
    _png(tmp_path / "JPEGImages/a.png", (40, 30))
    (tmp_path / "Annotations").mkdir()
    (tmp_path / "Annotations/a.xml").write_text(
        "<annotation><filename>a.png</filename><size><width>80</width><height>60</height></size>"
        "<object><name>Cat</name><difficult>yes</difficult><bndbox><xmin>1</xmin><ymin>1</ymin>"
        "<xmax>20</xmax><ymax>20</ymax></bndbox></object>"
        "<object><name>cat </name><bndbox><xmin>1</xmin><ymin>1</ymin><xmax>10</xmax><ymax>10</ymax>"
        "</bndbox></object></annotation>"
    )
    messages = _messages(check_dataset(tmp_path))
    assert (
        "size: declares 80x60 but the image is 40x30; boxes checked against the image's size (noted)"
        in messages
    )
    assert "object 1: <difficult> 'yes' is not 0 or 1; read as 0 (noted)" in messages
    assert "classes: classes 'Cat', 'cat' differ only in case or spaces (noted)" in messages


def test_coco_same_file_twice_and_a_class_without_training_objects(tmp_path):
    _png(tmp_path / "images/a.png")
    _png(tmp_path / "images/b.png")
    train = {
        "images": [
            {"id": 1, "file_name": "a.png", "width": 40, "height": 30},
            {"id": 2, "file_name": "a.png", "width": 40, "height": 30},
        ],
        "annotations": [
            {"id": 1, "image_id": 1, "category_id": 1, "bbox": [1, 1, 5, 5]},
            {"id": 2, "image_id": 2, "category_id": 1, "bbox": [9, 9, 5, 5]},  # on the second listing
            {"id": 3, "image_id": 2, "category_id": 1, "bbox": [19, 9, 5, 5]},
        ],
        "categories": [{"id": 1, "name": "dog"}, {"id": 2, "name": "bird"}],
    }
    val = dict(
        train,
        images=[{"id": 1, "file_name": "b.png", "width": 40, "height": 30}],
        annotations=[{"id": 1, "image_id": 1, "category_id": 2, "bbox": [1, 1, 5, 5]}],
    )
    (tmp_path / "instances_train.json").write_text(json.dumps(train))
    (tmp_path / "instances_val.json").write_text(json.dumps(val))
    result = check_dataset(tmp_path / "instances_train.json")
    assert set(result.splits) == {"train", "val"}  # the val partner is found by its name
    assert result.summary("train").images == 1  # a.png listed twice: once
    messages = _messages(result)
    assert (
        "train: the same image is listed again; the 2 object(s) of that listing are left out (skipped)"
        in messages
    )
    assert result.summary("train").objects == 1
    assert "classes: class 'bird' has no training annotations (noted)" in messages


def test_folders_train_without_val_and_two_val_folders(tmp_path):
    for cls in ("a", "b"):
        for i in range(3):
            _png(tmp_path / "one" / "train" / cls / f"{i}.png")
            _png(tmp_path / "two" / "train" / cls / f"{i}.png")
            _png(tmp_path / "two" / "val" / cls / f"{i}.png")
            _png(tmp_path / "two" / "valid" / cls / f"{i}.png")
    one = check_dataset(tmp_path / "one")
    assert one.class_names == ["a", "b"] and one.summary("train").images == 6
    assert any("train/ without a validation folder" in m for m in _messages(one))
    two = check_dataset(tmp_path / "two")
    assert ": val/ and valid/ both exist; val/ is used (noted)" in _messages(two)


def test_yolo_label_files_with_an_upper_case_suffix(tmp_path):
    _png(tmp_path / "images/train/a.png")
    (tmp_path / "labels/train").mkdir(parents=True)
    (tmp_path / "labels/train/a.TXT").write_text("0 0.5 0.5 0.2 0.2\n")
    (tmp_path / "data.yaml").write_text("train: images/train\nnames: [thing]\n")
    result = check_dataset(tmp_path)
    assert result.summary("train").objects == 1
    assert not any("without an image" in m for m in _messages(result))
