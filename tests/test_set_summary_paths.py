"""The setup's list of import problems names files relative to the data set's folder, and
the folder itself by its last part (not one line absolute among relative ones)."""

from __future__ import annotations

from workbench.data.set_summary import _relative


def test_lines_about_files_and_about_the_folder_itself(tmp_path):
    root = tmp_path / "voc1"
    root.mkdir()
    assert _relative(f"{root}/Annotations/a.xml, line 3: malformed (refused)", root) == (
        "Annotations/a.xml, line 3: malformed (refused)"
    )
    assert _relative(f"{root}, difficult: 1 object(s) marked (noted)", root) == (
        "voc1, difficult: 1 object(s) marked (noted)"
    )
    assert _relative(f"{root}: no usable image (noted)", root) == "voc1: no usable image (noted)"
    # an annotation file's folder is the root; a sibling folder sharing the prefix is not it
    assert _relative(f"{root}/x.json, images: 2 (noted)", root / "x.json") == "x.json, images: 2 (noted)"
    assert _relative(f"{root}2/b.png: gone (skipped)", root) == f"{root}2/b.png: gone (skipped)"
