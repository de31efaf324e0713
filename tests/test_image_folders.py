"""Image folders for classification (issue 7): classes from folder names, split on disk or
not, hidden files ignored, strays and empty classes reported."""

from __future__ import annotations

from pathlib import Path

import pytest

from workbench.data.image_folders import FolderError, read_image_folders
from workbench.data.import_report import ImportReport


def touch(path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(b"x")
    return path


def test_unsplit_folder_classes_sorted_and_problems(tmp_path):
    c1 = touch(tmp_path / "cat/1.jpg")
    c2 = touch(tmp_path / "cat/more/2.png")
    d1 = touch(tmp_path / "dog/1.JPG")
    touch(tmp_path / "dog/.hidden.jpg")
    touch(tmp_path / "dog/.ipynb_checkpoints/1-checkpoint.jpg")
    touch(tmp_path / ".DS_Store/x.jpg")
    touch(tmp_path / "dog/readme.txt")
    stray = touch(tmp_path / "loose.jpg")
    (tmp_path / "empty").mkdir()
    report = ImportReport()
    folders = read_image_folders(tmp_path, report)
    assert folders.class_names == ["cat", "dog", "empty"]
    assert folders.splits == {"all": [(c1, 0), (c2, 0), (d1, 1)]}
    assert [(p.file, p.message) for p in report.problems] == [
        (str(stray), "image outside a class folder"),
        (str(tmp_path / "empty"), "class folder without images"),
    ]


@pytest.mark.parametrize("val_name", ["val", "valid", "validation"])
def test_split_on_disk(tmp_path, val_name):
    a = touch(tmp_path / "train/ant/a.jpg")
    b = touch(tmp_path / "train/bee/b.jpg")
    v = touch(tmp_path / f"{val_name}/bee/v.jpg")
    folders = read_image_folders(tmp_path, ImportReport())
    assert folders.class_names == ["ant", "bee"]
    assert folders.splits == {"train": [(a, 0), (b, 1)], "val": [(v, 1)]}


def test_not_a_classification_set(tmp_path):
    touch(tmp_path / "only/1.jpg")
    with pytest.raises(FolderError, match="found 1 class folder"):
        read_image_folders(tmp_path, ImportReport())
    with pytest.raises(FolderError, match="not a folder"):
        read_image_folders(tmp_path / "only/1.jpg", ImportReport())


@pytest.mark.parametrize(
    ("train_name", "val_name"), [("Train", "Val"), ("TRAIN", "Validation"), ("train", "VALID")]
)
def test_split_folders_in_any_case_are_splits_not_classes(tmp_path, train_name, val_name):
    a = touch(tmp_path / f"{train_name}/a/1.jpg")
    b = touch(tmp_path / f"{train_name}/b/2.jpg")
    v = touch(tmp_path / f"{val_name}/b/3.jpg")
    folders = read_image_folders(tmp_path, ImportReport())
    assert folders.class_names == ["a", "b"]
    assert folders.splits == {"train": [(a, 0), (b, 1)], "val": [(v, 1)]}
