"""Class names in lists read as the names they are; a changed class list is said as a change."""

from __future__ import annotations

from PIL import Image

from workbench.data.class_names import names_text, shown_name
from workbench.training.run_split import class_change


def test_a_name_that_a_list_would_misread_is_quoted():
    assert shown_name("cat") == "cat" and shown_name("日本語クラス") == "日本語クラス"
    assert shown_name("rouge, vif") == '"rouge, vif"'
    assert shown_name('say "hi"') == '"say \\"hi\\""'
    assert shown_name(" padded") == '" padded"' and shown_name("") == '""'
    assert names_text(["rouge, vif", "blue"]) == '"rouge, vif", blue'
    assert names_text(["a", "b", "c", "d"], 2) == "a, b and 2 more"


def test_class_changes_are_said_as_what_changed():
    assert class_change(["red", "green", "blue"], ["red", "verde", "blue"]) == "green renamed verde"
    assert class_change(["red", "blue"], ["red", "blue", "yellow"]) == "added yellow"
    assert class_change(["red", "green", "blue"], ["red", "blue"]) == "removed green"
    assert class_change(["blue", "red"], ["red", "blue"]) == "reordered: class 0 was blue, is now red"
    many = [f"c{i:02d}" for i in range(12)]
    swapped = many[:10] + [many[11], many[10]]  # beyond the 8 names a message lists
    assert class_change(many, swapped) == "reordered: class 10 was c10, is now c11"


def test_data_check_lists_a_class_with_a_comma_as_one(tmp_path, capsys):
    from workbench.cli import main

    (tmp_path / "images").mkdir()
    (tmp_path / "labels").mkdir()
    for i in range(4):
        Image.new("RGB", (16, 16), (40 * i, 0, 0)).save(tmp_path / "images" / f"{i}.png")
        (tmp_path / "labels" / f"{i}.txt").write_text(f"{i % 2} 0.5 0.5 0.5 0.5\n")
    (tmp_path / "data.yaml").write_text('names: ["rouge, vif", blue]\ntrain: images\n')
    assert main(["data", "check", str(tmp_path)]) == 0
    out = capsys.readouterr().out
    assert '2 classes: "rouge, vif", blue' in out
    assert 'per class: "rouge, vif" 2, blue 2' in out
