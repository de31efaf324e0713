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
