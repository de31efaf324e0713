"""YOLO data.yaml (issue 7): names as list or mapping, relative roots, splits as folders or
list files, label paths, and one-line errors for what cannot be used."""

from __future__ import annotations

from pathlib import Path

import pytest

from workbench.data.import_report import ImportReport
from workbench.data.yolo_dataset_yaml import YoloYamlError, label_path, read_data_yaml


def touch(path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(b"x")
    return path


def test_folders_list_files_and_names_mapping(tmp_path):
    root = tmp_path / "set"
    a = touch(root / "images/train/a.jpg")
    b = touch(root / "images/train/sub/b.PNG")
    touch(root / "images/train/notes.md")  # not an image file
    v = touch(root / "images/val/v.jpg")
    (root / "val.txt").write_text("images/val/v.jpg\n\nimages/val/gone.jpg\n")
    (tmp_path / "data.yaml").write_text(
        "path: set\ntrain: images/train\nval: [val.txt]\nnames:\n  0: cat\n  1: dog\nnc: 2\n"
    )
    report = ImportReport()
    spec = read_data_yaml(tmp_path / "data.yaml", report)
    assert spec.root == root and spec.names == ["cat", "dog"]
    assert spec.splits == {"train": sorted([a, b]), "val": [v]}
    (problem,) = report.problems
    assert (
        problem.file == str(root / "val.txt") and problem.where == "line 3" and "gone.jpg" in problem.message
    )


def test_names_as_list_and_root_defaults_to_the_yaml_folder(tmp_path):
    touch(tmp_path / "images/val/x.jpg")
    (tmp_path / "data.yaml").write_text("val: images/val\nnames: [a, b, c]\n")
    spec = read_data_yaml(tmp_path / "data.yaml", ImportReport())
    assert spec.names == ["a", "b", "c"] and spec.root == tmp_path and "train" not in spec.splits


def test_label_path_replaces_the_last_images_folder():
    assert label_path(Path("/d/images/train/a.b.jpg")) == Path("/d/labels/train/a.b.txt")
    assert label_path(Path("/images/x/images/val/c.png")) == Path("/images/x/labels/val/c.txt")


@pytest.mark.parametrize(
    ("text", "words"),
    [
        ("names: [a, b\ntrain: x\n", "malformed YAML at line"),
        ("- just\n- a list\n", "expected a mapping"),
        ("train: images\n", "'names' must be a non-empty list"),
        ("train: images\nnames: {0: a, 2: b}\n", "without gaps"),
        ("train: images\nnames: {x: a}\n", "class numbers"),
        ("train: images\nnames: [a, b]\nnc: 3\n", "nc = 3 but 'names' has 2"),
        ("train: nowhere\nnames: [a]\n", "no images found"),
    ],
)
def test_unusable_yaml_raises_one_line(tmp_path, text, words):
    touch(tmp_path / "images/a.jpg")
    (tmp_path / "data.yaml").write_text(text)
    with pytest.raises(YoloYamlError) as info:
        read_data_yaml(tmp_path / "data.yaml", ImportReport())
    assert words in str(info.value) and str(tmp_path / "data.yaml") in str(info.value)
    assert "\n" not in str(info.value)


def test_roboflow_parent_paths_list_files_and_a_set_without_its_yaml(tmp_path):
    """'../train/images' beside the YAML (Roboflow's export) is read as Ultralytics reads it;
    './'-relative list entries are the same files as plain ones (no false orphans); a labels/
    folder without data.yaml is named as a YOLO set missing its YAML, not as class folders."""
    from PIL import Image

    from workbench.data.format_detect import detect_format
    from workbench.data.source import DataSourceError
    from workbench.data.yolo_source import read_yolo_set

    rf = tmp_path / "rf"
    for split in ("train", "valid"):
        (rf / split / "images").mkdir(parents=True)
        (rf / split / "labels").mkdir()
        for i in range(2):
            Image.new("RGB", (32, 32)).save(rf / split / "images" / f"{split}{i}.jpg")
            (rf / split / "labels" / f"{split}{i}.txt").write_text("0 0.5 0.5 0.2 0.2\n")
    (rf / "data.yaml").write_text("train: ../train/images\nval: ../valid/images\nnc: 1\nnames: ['a']\n")
    data = read_yolo_set(rf)
    assert {k: len(v) for k, v in data.splits.items()} == {"train": 2, "val": 2}
    assert data.report.problems == []

    listed = tmp_path / "listed"
    (listed / "images" / "train").mkdir(parents=True)
    (listed / "labels" / "train").mkdir(parents=True)
    for i in range(3):
        Image.new("RGB", (32, 32)).save(listed / "images" / "train" / f"t{i}.jpg")
        (listed / "labels" / "train" / f"t{i}.txt").write_text("0 0.5 0.5 0.2 0.2\n")
    (listed / "train.txt").write_text(f"{listed}/images/train/t0.jpg\n./images/train/t1.jpg\n")
    (listed / "data.yaml").write_text("train: train.txt\nval: train.txt\nnames: [a]\n")
    data = read_yolo_set(listed)
    # t2.jpg is there but in no list: not read, and not called an orphan label file
    assert not [p for p in data.report.problems if "label file without an image" in p.message]
    assert any(
        "1 labelled image(s) are in no split's list, e.g. t2" in p.message for p in data.report.problems
    )

    bare = tmp_path / "bare"
    (bare / "images").mkdir(parents=True)
    (bare / "labels").mkdir()
    (bare / "classes.txt").write_text("a\nb\n")
    with pytest.raises(DataSourceError, match=r"looks like a YOLO set \(labels/\) but has no data.yaml"):
        detect_format(bare)


def test_list_files_sharing_one_labels_folder_make_no_false_orphans(tmp_path):
    from PIL import Image

    from workbench.data.yolo_source import read_yolo_set

    (tmp_path / "images").mkdir()
    (tmp_path / "labels").mkdir()
    for i in range(4):
        Image.new("RGB", (32, 32)).save(tmp_path / "images" / f"{i}.jpg")
        (tmp_path / "labels" / f"{i}.txt").write_text("0 0.5 0.5 0.2 0.2\n")
    (tmp_path / "labels" / "stray.txt").write_text("0 0.5 0.5 0.2 0.2\n")
    (tmp_path / "train.txt").write_text("images/0.jpg\n./images/1.jpg\n")
    (tmp_path / "val.txt").write_text(f"{tmp_path}/images/2.jpg\nimages/3.jpg\n")
    (tmp_path / "data.yaml").write_text("train: train.txt\nval: val.txt\nnames: [a]\n")
    data = read_yolo_set(tmp_path)
    orphans = [p.file for p in data.report.problems if "label file without an image" in p.message]
    assert orphans == [str(tmp_path / "labels" / "stray.txt")]
