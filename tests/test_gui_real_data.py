"""The app on the user's own data: open a data set, train on it, see it in the runs."""

from __future__ import annotations

import os

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

import dataclasses  # noqa: E402
from pathlib import Path  # noqa: E402

import pytest  # noqa: E402

pytest.importorskip("pytestqt")

from workbench.cli import main  # noqa: E402
from workbench.config import TaskConfig  # noqa: E402

RUN_TIMEOUT_MS = 240_000


def test_open_a_data_set_and_train_on_it(qtbot, window, tmp_path):
    w = window
    data = tmp_path / "voc"
    assert (
        main(["data", "export", str(data), "--format", "voc", "--train-size", "16", "--val-size", "8"]) == 0
    )
    w.open_dataset(str(data))
    section = w.setup.data_section
    qtbot.waitUntil(lambda: section.summary is not None, timeout=30_000)
    cfg = w.setup.config()
    assert cfg.data.source == "auto" and cfg.data.path == str(data)
    cfg = dataclasses.replace(
        cfg,
        tasks=[
            TaskConfig(name="objects", kind="detection", options={"head_width": 16}),
            TaskConfig(name="n", kind="counting"),
        ],
        data=dataclasses.replace(cfg.data, options={"image_size": 64}),
        train=dataclasses.replace(cfg.train, epochs=1, batch_size=8, num_samples=4, device="cpu"),
    )
    w.setup.set_config(cfg)
    qtbot.waitUntil(w.act_start.isEnabled, timeout=20_000)
    with qtbot.waitSignal(
        w.bridge.runningChanged, timeout=RUN_TIMEOUT_MS, check_params_cb=lambda running: not running
    ):
        w.act_start.trigger()
    run_dir = Path(w.bridge.run_dir)
    text = (run_dir / "config.toml").read_text()
    assert 'source = "auto"' in text and f'path = "{data}"' in text
    assert "format: voc" in (run_dir / "import_report.txt").read_text()
    assert w.inspector.epochs() == [0]  # the predictions of epoch 1 on the real images
    assert [Path(i.path) for i in w.runs.runs()] == [run_dir]


def test_data_that_cannot_be_used_disables_start_and_says_why(qtbot, window, tmp_path):
    """What `workbench data check` refuses, the setup refuses too: the banner names the
    data problem and Start stays disabled (no run folder can be made from it)."""
    w = window
    section = w.setup.data_section
    qtbot.waitUntil(w.act_start.isEnabled, timeout=60_000)  # the built-in data: valid

    bad = tmp_path / "yolo"
    (bad / "images" / "train").mkdir(parents=True)
    (bad / "data.yaml").write_text("path: .\ntrain: images/train\nval: images/train\nnames: []\n")
    w.open_dataset(str(bad))
    qtbot.waitUntil(lambda: section.current_failure() != "", timeout=30_000)
    qtbot.waitUntil(lambda: not w.act_start.isEnabled(), timeout=10_000)
    assert "cannot use this data" in w.setup.banner_text() and "names" in w.setup.banner_text()
    assert not w.setup.is_valid()

    # readable, but its annotations label nothing the chosen tasks need
    import json

    from PIL import Image

    coco = tmp_path / "coco"
    coco.mkdir()
    for i in range(4):
        Image.new("RGB", (32, 32)).save(coco / f"{i}.png")
    images = [{"id": i, "file_name": f"{i}.png", "width": 32, "height": 32} for i in range(4)]
    (coco / "instances.json").write_text(
        json.dumps({"images": images, "annotations": [], "categories": [{"id": 1, "name": "a"}]})
    )
    w.open_dataset(str(coco / "instances.json"))
    qtbot.waitUntil(lambda: section.current_summary() is not None, timeout=30_000)
    cfg = w.setup.config()
    kinds = {t.kind for t in cfg.tasks}
    qtbot.waitUntil(lambda: not w.act_start.isEnabled(), timeout=10_000)
    # a set with no annotations feeds none of the three tasks: all of them said at once
    text = w.setup.banner_text()
    assert f"cannot label {len(kinds)} tasks" in text and all(k in text for k in kinds), text


def test_a_run_whose_data_is_gone_at_start_is_not_started_and_leaves_no_folder(qtbot, window, tmp_path):
    """The setup was valid when checked, the data vanished before Start: the run is
    refused before anything is written, naming the field, and no run folder is made."""
    import shutil

    w = window
    data = tmp_path / "voc"
    assert main(["data", "export", str(data), "--format", "voc", "--train-size", "8", "--val-size", "4"]) == 0
    w.open_dataset(str(data))
    section = w.setup.data_section
    qtbot.waitUntil(lambda: section.current_summary() is not None, timeout=30_000)
    cfg = w.setup.config()
    cfg = dataclasses.replace(
        cfg,
        tasks=[TaskConfig(name="n", kind="counting")],
        data=dataclasses.replace(cfg.data, options={"image_size": 64}),
        train=dataclasses.replace(cfg.train, epochs=1, batch_size=4, num_samples=0, device="cpu"),
    )
    w.setup.set_config(cfg)
    qtbot.waitUntil(w.act_start.isEnabled, timeout=20_000)
    shutil.rmtree(data)
    with qtbot.waitSignal(w.errorShown, timeout=RUN_TIMEOUT_MS) as shown:
        w.act_start.trigger()
    # refused before a run folder is made, naming the field (as `workbench train` does)
    assert shown.args[0] == "The setup is not valid"
    assert shown.args[1] == f"data.path: {data} does not exist"
    assert not w.bridge.is_running()
    assert not w.runs_root().exists() or not any(w.runs_root().iterdir())
    w._check_shown_run_still_there()
    assert "was removed" not in w.statusBar().full_message()


def test_start_waits_while_a_new_data_set_is_read(qtbot, window, tmp_path):
    w = window
    qtbot.waitUntil(w.act_start.isEnabled, timeout=60_000)
    data = tmp_path / "voc"
    assert main(["data", "export", str(data), "--format", "voc", "--train-size", "8", "--val-size", "4"]) == 0
    w.open_dataset(str(data))
    # at once, before the read: the old summary is not this data's, and Start waits
    assert not w.act_start.isEnabled() and w.setup.banner_text().startswith("Reading the data set")
    assert w.setup.data_section.summary_label.text() == "reading the data set…"
    qtbot.waitUntil(lambda: w.setup.data_section.current_summary() is not None, timeout=30_000)
    assert not w.setup.banner_text().startswith("Reading")


def test_a_config_of_several_sources_is_read_and_checked_before_start(qtbot, window, tmp_path):
    from PIL import Image

    from workbench.config import DataConfig, SourceConfig

    w = window
    qtbot.waitUntil(w.act_start.isEnabled, timeout=60_000)
    voc = tmp_path / "voc"
    assert main(["data", "export", str(voc), "--format", "voc", "--train-size", "8", "--val-size", "4"]) == 0
    scenes = tmp_path / "scenes"
    for c in ("in", "out"):
        (scenes / c).mkdir(parents=True)
        for i in range(5):
            Image.new("RGB", (32, 32), (40 * i, 90, 10)).save(scenes / c / f"{i}.png")
    cfg = w.setup.config()
    cfg = dataclasses.replace(
        cfg,
        tasks=[TaskConfig(name="n", kind="counting"), TaskConfig(name="place", kind="classification")],
        data=DataConfig(
            sources=[
                SourceConfig("voc", str(voc), {"image_size": 64}, ["n"]),
                SourceConfig("folder", str(scenes), {"image_size": 64}, ["place"]),
            ]
        ),
    )
    w.setup.set_config(cfg)
    assert not w.act_start.isEnabled()  # read first
    qtbot.waitUntil(w.act_start.isEnabled, timeout=30_000)
    assert not w.setup.data_section.isVisibleTo(w.setup)  # its default form is not what is read
    broken = dataclasses.replace(
        cfg,
        data=DataConfig(
            sources=[
                SourceConfig("voc", str(tmp_path / "nowhere"), {"image_size": 64}, ["n"]),
                SourceConfig("folder", str(scenes), {"image_size": 64}, ["place"]),
            ]
        ),
    )
    w.setup.set_config(broken)
    # a source path not there is said before any reading, in `workbench train`'s words
    qtbot.waitUntil(lambda: "does not exist" in w.setup.banner_text(), timeout=30_000)
    assert not w.act_start.isEnabled()
    assert f"{tmp_path / 'nowhere'} does not exist" in w.setup.banner_text(), w.setup.banner_text()
    assert "Source 1: Path: " in w.setup.banner_text()  # the form's words for data.sources[0].path
    # Open dataset replaces the sources with the one set chosen
    w.open_dataset(str(voc))
    assert w.setup.config().data.sources == [] and w.setup.data_section.isVisibleTo(w.setup)


def test_only_the_detected_formats_own_options_are_shown(qtbot, window, tmp_path):
    """A VOC folder showed COCO's "Image folder" and "Validation JSON" rows."""
    w = window
    for fmt in ("voc", "coco"):
        assert (
            main(
                [
                    "data",
                    "export",
                    str(tmp_path / fmt),
                    "--format",
                    fmt,
                    "--train-size",
                    "4",
                    "--val-size",
                    "2",
                ]
            )
            == 0
        )
    section = w.setup.data_section
    form = section.forms["auto"]
    row_shown = lambda name: form._form.isRowVisible(form.editors[name])  # noqa: E731
    w.open_dataset(str(tmp_path / "voc"))
    qtbot.waitUntil(lambda: getattr(section.current_summary(), "format", "") == "voc", timeout=30_000)
    assert not row_shown("image_root") and not row_shown("val_annotations")
    assert row_shown("val_fraction")  # every format's own
    w.open_dataset(str(tmp_path / "coco"))
    qtbot.waitUntil(lambda: getattr(section.current_summary(), "format", "") == "coco", timeout=30_000)
    assert row_shown("image_root") and row_shown("val_annotations")
