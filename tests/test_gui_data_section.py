"""The setup's data section on real data: detection of the format, summary, histogram,
problems, the tasks the data supports, and previews of the real images."""

from __future__ import annotations

import os

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

import pytest  # noqa: E402
from PIL import Image  # noqa: E402

pytest.importorskip("pytestqt")


@pytest.fixture
def panel(qtbot):
    import workbench.models.backbones  # noqa: F401
    import workbench.tasks  # noqa: F401
    import workbench.weighting  # noqa: F401
    from workbench.gui.setup_panel import SetupPanel

    p = SetupPanel()
    qtbot.addWidget(p)
    p.resize(460, 1000)
    p.show()
    p.core_loaded()
    yield p
    p.shutdown()


def _yolo(root):
    """4 train + 2 val images; one label line is bad (its image is left out), one label file
    has no image."""
    for split, n in (("train", 4), ("val", 2)):
        (root / "images" / split).mkdir(parents=True)
        (root / "labels" / split).mkdir(parents=True)
        for i in range(n):
            Image.new("RGB", (48, 32), (30 * i, 120, 90)).save(root / "images" / split / f"{i}.jpg")
            (root / "labels" / split / f"{i}.txt").write_text("0 0.5 0.5 0.4 0.4\n1 0.2 0.3 0.2 0.2\n")
    (root / "labels" / "train" / "0.txt").write_text("0 0.5 0.5 0.4 0.4\n7 0.5 0.5 0.1 0.1\n")
    (root / "labels" / "train" / "orphan.txt").write_text("0 0.5 0.5 0.1 0.1\n")
    (root / "data.yaml").write_text("names: [car, person]\ntrain: images/train\nval: images/val\n")
    return root


def test_opening_a_data_set_shows_what_is_in_it(panel, qtbot, tmp_path):
    root = _yolo(tmp_path / "set")
    panel.open_dataset(str(root))
    section = panel.data_section
    qtbot.waitUntil(lambda: section.summary is not None, timeout=20000)
    cfg = panel.config()
    assert cfg.data.source == "auto" and cfg.data.path == str(root)
    summary = section.summary
    assert summary.format == "yolo" and summary.class_names == ("car", "person")
    # train image 0 holds an object of class 7: its objects are unknown, so it is left out
    assert summary.splits == {"train": 3, "val": 2}
    assert dict(section.histogram.counts()) == {"car": 5, "person": 5}
    problems = [section.problems.item(i).text() for i in range(section.problems.count())]
    assert any("0.txt" in p and "line 2" in p for p in problems)
    assert any("orphan.txt" in p and "without an image" in p for p in problems)
    assert section.problems.isVisible()
    # boxes of two classes per image: detection yes, classification and segmentation no
    assert panel._rows["detection"].isEnabled() and panel._rows["counting"].isEnabled()
    # a ticked task the data cannot label stays usable, to be unticked (the banner names it)
    for kind in ("classification", "segmentation"):
        row = panel._rows[kind]
        assert row.check.isChecked() and row.isEnabled() and "untick it" in row.toolTip()
    assert "'mask'" in panel._rows["segmentation"].toolTip()
    # both are said at once, not one fix at a time
    message = panel.error_message()
    assert "cannot label 2 tasks" in message and "'scene_class'" in message and "'mask'" in message
    panel._rows["classification"].check.setChecked(False)
    assert not panel._rows["classification"].isEnabled()  # unticked: greyed out, with the reason
    assert panel._rows["classification"].toolTip().startswith("this data has no 'scene_class' annotations")
    # the previews are the real validation images, letterboxed, with their boxes
    qtbot.waitUntil(panel.previews_ready, timeout=20000)
    assert len(panel.preview_pixmaps()) == 2


def test_a_path_that_is_not_a_data_set_says_why(panel, qtbot, tmp_path):
    (tmp_path / "empty").mkdir()
    panel.open_dataset(str(tmp_path / "empty"))
    section = panel.data_section
    qtbot.waitUntil(lambda: "cannot use this data" in section.summary_label.text(), timeout=20000)
    assert "cannot tell the format" in section.summary_label.text()
    assert section.summary is None
    # every task row is offered again while the data is unknown
    assert all(row.isEnabled() for row in panel._rows.values())


def test_source_options_form_comes_from_the_declared_options(panel):
    from workbench.config import field_meta
    from workbench.data.image_set_options import ImageSetOptions

    form = panel.data_section.forms["voc"]
    assert form.editor("val_fraction").toolTip() == field_meta(ImageSetOptions, "val_fraction").help
    assert form.editor("image_size").maximum() == 1024
    resize = form.editor("resize")
    assert [resize.itemData(i) for i in range(resize.count())] == ["letterbox", "stretch"]
    # shapes has no path: the path row is hidden; the file sources show it
    section = panel.data_section
    section.source_combo.setCurrentIndex(section.source_combo.findData("voc"))
    section._on_source()
    assert section.path_edit.isVisibleTo(panel)
    assert panel.error_message().startswith("Path") or "path" in panel.error_message()


def test_a_background_read_error_is_its_file_and_reason_not_a_class_name():
    from workbench.data.source import DataSourceError
    from workbench.gui.setup_jobs import job_error

    assert job_error(FileNotFoundError(2, "No such file or directory", "/proc/2141")) == (
        "/proc/2141: No such file or directory"
    )
    assert job_error(DataSourceError("/x/data.yaml: 'names' must be a non-empty list")) == (
        "/x/data.yaml: 'names' must be a non-empty list"
    )
    assert job_error(KeyError("boxes")) == "KeyError: 'boxes'"
    from workbench.training.checkpoint import CheckpointError

    # every error of our own names its file and reason: no class name before it
    assert job_error(CheckpointError("/r/best.pt cannot be read: truncated or corrupt")) == (
        "/r/best.pt cannot be read: truncated or corrupt"
    )


def test_a_long_banner_is_cut_at_a_word_not_inside_one(panel):
    words = ["annotations", "classification", "segmentation", "detection", "other", "data"] * 12
    text = " ".join(words)
    panel._set_banner(text, "error", link=True)
    shown = panel.banner.text().split(" &nbsp;<a")[0]
    assert shown.endswith("…") and shown != text
    assert shown[:-1].split()[-1] in words  # the last word shown is whole
    assert text.startswith(shown[:-1])


def test_data_gone_since_it_was_read_is_read_again_on_request(panel, qtbot, tmp_path):
    """A data set deleted after it was read kept "Ready" and its counts, also after Start
    had refused it: a refused start reads the data again (``reread``)."""
    import shutil

    root = _yolo(tmp_path / "set")
    panel.open_dataset(str(root))
    section = panel.data_section
    qtbot.waitUntil(lambda: section.summary is not None, timeout=20000)
    shutil.rmtree(root)
    section.request_summary()  # same settings: the reading is reused
    assert section.current_failure() == ""
    section.reread()
    qtbot.waitUntil(lambda: section.current_failure() != "", timeout=20000)
    # the path itself is said first, in `workbench train`'s words (then the reading's failure)
    assert panel.error_message() == f"Path: {root} does not exist"


def test_histogram_of_many_classes_shows_the_largest_and_says_how_many_more(qtbot):
    """20 classes (VOC): the 11 largest, largest first, and a row for the 9 others; a class
    with objects past the 12th index is not hidden while empty ones are drawn."""
    from PySide6.QtGui import QImage

    from workbench.gui.data_section import ClassHistogram

    hist = ClassHistogram()
    qtbot.addWidget(hist)
    counts = {f"c{i:02d}": 0 for i in range(20)}
    counts.update({"c15": 8, "c03": 5, "c00": 5, "c19": 1})
    hist.set_counts(counts)
    shown, more = hist.rows()
    assert shown[:4] == [("c15", 8), ("c00", 5), ("c03", 5), ("c19", 1)]  # ties in class order
    assert len(shown) == 11
    assert more == "+ 9 more classes without objects (hover for all)"
    assert hist.height() == 12 * ClassHistogram.ROW + 4
    assert hist.toolTip().count("\n") == 19  # every class in the tooltip
    hist.resize(300, hist.height())
    image = QImage(hist.size(), QImage.Format.Format_ARGB32)
    hist.render(image)  # paints without error, the note row included

    few = ClassHistogram()
    qtbot.addWidget(few)
    few.set_counts({"a": 1, "b": 2})
    assert few.rows() == ([("a", 1), ("b", 2)], "") and few.height() == 2 * ClassHistogram.ROW + 4
    few.set_counts({f"k{i}": i for i in range(14)})
    assert few.rows()[1] == "+ 3 more classes with at most 2 objects each (hover for all)"
