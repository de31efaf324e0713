"""``workbench data check`` (issue 7): each format detected and summarised from small sets
written on the fly, every problem named with its file, exit 2 with one line when unusable."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from PIL import Image

from workbench.cli import main
from workbench.data.dataset_check import DatasetError, check_dataset, detect_format


def image(path: Path, size=(50, 40)) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.new("RGB", size, (120, 30, 200)).save(path)
    return path


def text(path: Path, content: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(content)
    return path


def coco_set(root: Path) -> Path:
    image(root / "images/a.png")
    text(root / "images/b.png", "not a picture")
    data = {
        "images": [
            {"id": 1, "file_name": "a.png", "width": 50, "height": 40},
            {"id": 2, "file_name": "b.png", "width": 50, "height": 40},
            {"id": 3, "file_name": "c.png", "width": 50, "height": 40},
        ],
        "categories": [{"id": 1, "name": "cat"}, {"id": 2, "name": "dog"}],
        "annotations": [
            {"id": 1, "image_id": 1, "category_id": 1, "bbox": [1, 1, 10, 10]},
            {"id": 2, "image_id": 1, "category_id": 1, "bbox": [5, 5, 10, 10]},
            {"id": 3, "image_id": 1, "category_id": 2, "bbox": [45, 1, 10, 10]},  # clipped
        ],
    }
    return text(root / "annotations/instances_val.json", json.dumps(data))


def test_coco_images_found_next_to_the_annotations_folder(tmp_path):
    coco_set(tmp_path)
    assert detect_format(tmp_path) == "coco"
    result = check_dataset(tmp_path)
    assert result.class_names == ["cat", "dog"]
    s = result.summary("all")
    assert (s.images, s.objects, s.without_annotations) == (1, 3, 0)
    assert dict(s.per_class) == {"cat": 2, "dog": 1}
    messages = {(Path(p.file).name, p.message) for p in result.report.problems}
    assert ("b.png", "file content is not an image") in messages
    assert ("c.png", "missing image") in messages
    assert ("instances_val.json", "box outside the image") in messages
    lines = result.lines()
    assert lines[1] == "all: 1 image, 3 objects, 0 images without annotations"
    assert lines[2] == "  per class: cat 2, dog 1"
    # boxes of two classes in one image, no masks
    assert lines[3] == "tasks these annotations support: detection, multilabel, counting, localization"


def voc_xml(name: str, filename: str, objects: list[tuple[str, int, int, int, int]]) -> str:
    body = "".join(
        f"<object><name>{n}</name><bndbox><xmin>{a}</xmin><ymin>{b}</ymin><xmax>{c}</xmax><ymax>{d}</ymax></bndbox></object>"
        for n, a, b, c, d in objects
    )
    return f"<annotation><filename>{filename}</filename><size><width>50</width><height>40</height></size>{body}</annotation>"


def test_voc_layout_with_split_files(tmp_path):
    text(
        tmp_path / "Annotations/1.xml", voc_xml("1", "1.jpg", [("dog", 1, 1, 10, 10), ("cat", 5, 5, 20, 20)])
    )
    text(tmp_path / "Annotations/2.xml", voc_xml("2", "2.jpg", [("dog", 1, 1, 10, 10)]))
    text(tmp_path / "Annotations/3.xml", "<annotation><object>")  # malformed
    image(tmp_path / "JPEGImages/1.jpg")
    text(tmp_path / "ImageSets/Main/train.txt", "1\n2\n4\n3\n")
    result = check_dataset(tmp_path)
    assert result.format == "voc" and result.class_names == ["cat", "dog"]
    s = result.summary("train")
    assert (s.images, s.objects) == (1, 2)
    found = [(Path(p.file).name, p.where, p.action) for p in result.report.problems]
    assert ("3.xml", "line 1, column 20", "refused") in found
    assert ("2.xml", "", "skipped") in found  # its image is missing
    assert ("train.txt", "line 3", "skipped") in found  # 4 has no annotation
    said = {p.where: p.message for p in result.report.problems if Path(p.file).name == "train.txt"}
    assert said["line 3"] == "names 4, which has no annotation"
    # 3 has one, refused: the line says so rather than that there is none
    assert said["line 4"] == "names 3, whose annotation Annotations/3.xml could not be used"


def test_voc_xml_beside_each_image(tmp_path):
    image(tmp_path / "shots/x.png")
    text(tmp_path / "shots/x.xml", voc_xml("x", "x.png", [("bird", 1, 1, 10, 10)]))
    result = check_dataset(tmp_path, "voc")
    assert result.summary("all").images == 1 and result.class_names == ["bird"]


def test_yolo_labels_missing_labels_and_orphans(tmp_path):
    image(tmp_path / "images/train/a.jpg", (200, 100))
    image(tmp_path / "images/train/b.jpg", (200, 100))  # no label file: no objects
    text(tmp_path / "labels/train/a.txt", "0 0.5 0.5 0.2 0.4\n1 0.2 0.2 0.1 0.1\n5 0.5 0.5 0.1 0.1\n")
    text(tmp_path / "labels/train/orphan.txt", "0 0.5 0.5 0.1 0.1\n")
    image(tmp_path / "images/val/v.jpg", (200, 100))
    text(tmp_path / "labels/val/v.txt", "1 0.5 0.5 0.2 0.2\n")
    text(tmp_path / "data.yaml", "train: images/train\nval: images/val\nnames: [ant, bee]\n")
    result = check_dataset(tmp_path)
    assert result.format == "yolo"
    train, val = result.summary("train"), result.summary("val")
    # a.jpg holds an object of unknown class (line 3): what it holds is unknown, so it is
    # left out rather than trained as two objects (a count of 2, background over the third)
    assert (train.images, train.objects, train.without_annotations) == (1, 0, 1)
    assert val.objects == 1
    found = [(Path(p.file).name, p.where, p.message) for p in result.report.problems]
    assert ("a.txt", "line 3", "class id 5 out of range 0-1") in found
    assert (
        "a.txt",
        "",
        "1 object(s) of a.jpg could not be read (line 3: class id 5 out of range 0-1), so what the "
        "image holds is unknown: left out",
    ) in found
    assert ("orphan.txt", "", "label file without an image") in found


def test_image_folders(tmp_path):
    image(tmp_path / "train/cat/1.png")
    image(tmp_path / "train/dog/1.png")
    image(tmp_path / "val/dog/2.png")
    text(tmp_path / "val/dog/3.png", "broken")
    result = check_dataset(tmp_path)
    assert result.format == "folder"
    assert dict(result.summary("train").per_class) == {"cat": 1, "dog": 1}
    assert result.summary("val").images == 1 and len(result.report.problems) == 1


@pytest.mark.parametrize(
    ("make", "words"),
    [
        (lambda root: None, "cannot tell the format"),
        (lambda root: text(root / "ann.json", '{"images": [}'), "not valid JSON at line 1"),
        (lambda root: text(root / "data.yaml", "train: images\nnames: [a]\n"), "no images found"),
        (lambda root: text(root / "notes.txt", "x"), "cannot tell the format"),
    ],
)
def test_unusable_sets_raise_one_line(tmp_path, make, words):
    make(tmp_path)
    with pytest.raises(DatasetError) as info:
        check_dataset(tmp_path)
    assert words in str(info.value) and "\n" not in str(info.value)


def test_cli_exit_codes_and_output(tmp_path, capsys):
    coco_set(tmp_path)
    assert main(["data", "check", str(tmp_path)]) == 0
    out = capsys.readouterr().out
    assert out.startswith("format: coco") and "missing image" in out
    assert main(["data", "check", str(tmp_path / "nowhere")]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: ") and "no such file or folder" in err and err.count("\n") == 1
    assert main(["data", "check", "/dev/null"]) == 2  # there, but no file
    assert capsys.readouterr().err == (
        "error: /dev/null: not a regular file or folder; expected a COCO .json, a YOLO .yaml or a folder\n"
    )


def test_a_problem_found_for_two_splits_is_listed_once(tmp_path):
    image(tmp_path / "images/a.jpg", (64, 48))
    image(tmp_path / "images/b.jpg", (64, 48))
    text(tmp_path / "labels/a.txt", "0 0.5 0.5 0.3\n")
    text(tmp_path / "labels/b.txt", "0 0.5 0.5 0.3 0.3\n")
    text(tmp_path / "data.yaml", "train: images\nval: images\nnames: {0: person}\n")
    result = check_dataset(tmp_path)
    about_a = [p.message for p in result.report.problems if p.file.endswith("a.txt")]
    assert len(about_a) == 2 and about_a[0].startswith("4 values") and "left out" in about_a[1]
    # the same images for train and val: noted, as validation would measure training images
    assert any("1 image(s) in both train and val" in p.message for p in result.report.problems)
    assert result.lines()[0] == f"format: yolo ({tmp_path / 'data.yaml'}); 1 class: person"


def test_tasks_follow_the_annotations(tmp_path):
    image(tmp_path / "images/a.png")
    image(tmp_path / "images/b.png")
    square = [[10, 10, 20, 10, 20, 20, 10, 20]]
    data = {
        "images": [
            {"id": i, "file_name": f"{n}.png", "width": 50, "height": 40} for i, n in ((1, "a"), (2, "b"))
        ],
        "categories": [{"id": 1, "name": "cat"}, {"id": 2, "name": "dog"}],
        "annotations": [  # one class per image, one object with a polygon
            {"id": 1, "image_id": 1, "category_id": 1, "bbox": [1, 1, 9, 9], "segmentation": square},
            {"id": 2, "image_id": 1, "category_id": 1, "bbox": [20, 1, 9, 9]},
            {"id": 3, "image_id": 2, "category_id": 2, "bbox": [1, 1, 9, 9]},
        ],
    }
    text(tmp_path / "instances.json", json.dumps(data))
    assert check_dataset(tmp_path).tasks == [
        "classification",
        "detection",
        "segmentation",
        "multilabel",
        "counting",
        "localization",
    ]
    folders = tmp_path / "folders"
    image(folders / "cat/1.png")
    image(folders / "dog/1.png")
    assert check_dataset(folders).tasks == ["classification"]


def test_a_yolo_list_file_chooses_images_without_calling_the_others_orphans(tmp_path):
    """train.txt lists a.png (twice, spelled two ways) but not b.png, whose labels are there:
    b is not read (the list chooses), which is said once, not as "label file without an
    image"; the second listing is noted; a label file with no image at all is an orphan."""
    for name in ("a", "b"):
        image(tmp_path / f"images/train/{name}.png", (40, 30))
        text(tmp_path / f"labels/train/{name}.txt", "0 0.5 0.5 0.2 0.2\n")
    text(tmp_path / "labels/train/ghost.txt", "0 0.5 0.5 0.2 0.2\n")
    text(tmp_path / "train.txt", "./images/train/a.png\nimages/train/a.png\n")
    text(tmp_path / "data.yaml", "train: train.txt\nval: train.txt\nnames: [ant]\n")
    result = check_dataset(tmp_path)
    assert [r.image.name for r in result.splits["train"]] == ["a.png"]
    found = [(Path(p.file).name, p.where, p.message, p.action) for p in result.report.problems]
    assert (
        "train.txt",
        "line 2",
        "lists images/train/a.png again (first on line 1); read once",
        "noted",
    ) in found
    assert (
        "train",
        "",
        "1 labelled image(s) are in no split's list, e.g. b (not read: the data.yaml's .txt lists choose the images)",
        "noted",
    ) in found
    assert ("ghost.txt", "", "label file without an image", "skipped") in found
    assert not any(f[0] == "b.txt" for f in found)


def test_yolo_list_files_spell_one_image_many_ways(tmp_path):
    """train.txt names c.png relatively and d.png absolutely; train2.txt names both again.
    One image each, read once, the second naming noted; no label file called an orphan and
    no image called "in no list" for being spelled another way."""
    for name in ("c", "d"):
        image(tmp_path / f"images/{name}.png", (40, 30))
        text(tmp_path / f"labels/{name}.txt", "0 0.5 0.5 0.2 0.2\n")
    text(tmp_path / "train.txt", f"images/c.png\n{tmp_path / 'images' / 'd.png'}\n")
    text(tmp_path / "train2.txt", "./images/c.png\nimages/d.png\n")
    text(tmp_path / "data.yaml", "train: [train.txt, train2.txt]\nval: train.txt\nnames: [ant]\n")
    result = check_dataset(tmp_path)
    assert sorted(r.image.name for r in result.splits["train"]) == ["c.png", "d.png"]
    messages = [(Path(p.file).name, p.where, p.message) for p in result.report.problems]
    assert (
        "train2.txt",
        "line 1",
        "lists ./images/c.png again (first on another list of the split); read once",
    ) in messages
    assert (
        "train2.txt",
        "line 2",
        "lists images/d.png again (first on another list of the split); read once",
    ) in messages
    assert not any(
        "orphan" in m or "no split's list" in m or "without an image" in m or "listed again" in m
        for _, _, m in messages
    )


def test_a_folder_read_as_class_folders_by_elimination_says_so(tmp_path):
    """No annotation layout recognised (an extension's format without a layout test, say):
    the folder is read as class folders, and the refusal says that it was a guess."""
    image(tmp_path / "images" / "a.png")
    text(tmp_path / "labels.csv", "a.png,1,1,10,10,dog\n")
    with pytest.raises(Exception) as info:
        check_dataset(tmp_path)
    assert str(info.value) == (
        f"{tmp_path}: found 1 class folder(s) (images); class folders label classification and "
        "multilabel tasks, which need at least 2 classes (read as Image "
        "folders (classification), as no annotation layout was recognised; choose the format if it is "
        "another: coco | voc | yolo | folder)"
    )
