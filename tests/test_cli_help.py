"""The CLI's help and its refusals: every argument of every command says what it is and
its default; the same fault is worded the same way by each command."""

from __future__ import annotations

import argparse

import pytest
from PIL import Image

from workbench.cli import _parser, main


def _commands(parser: argparse.ArgumentParser, prefix: str = ""):
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for name, sub in action.choices.items():
                yield from _commands(sub, f"{prefix} {name}".strip())
    yield prefix, parser


def test_every_argument_of_every_command_has_help():
    """eval, resume and export had run_dir, --device, --quiet, --checkpoint and --format
    without a word, their defaults (best, onnx) unsaid."""
    bare = [
        f"{command or 'workbench'}: {action.dest}"
        for command, parser in _commands(_parser())
        for action in parser._actions
        if not isinstance(action, (argparse._HelpAction, argparse._SubParsersAction)) and not action.help
    ]
    assert bare == []
    for command, parser in _commands(_parser()):
        for action in parser._actions:
            if action.default not in (None, False, argparse.SUPPRESS) and action.help:
                assert "default" in action.help, f"{command}: {action.dest} does not say its default"


def test_data_commands_word_a_bad_format_alike(tmp_path, capsys):
    assert main(["data", "check", str(tmp_path), "--format", "bogus"]) == 2
    check = capsys.readouterr().err
    assert main(["data", "export", str(tmp_path / "out"), "--format", "bogus"]) == 2
    export = capsys.readouterr().err
    assert check.startswith("error: --format: 'bogus' is not one of coco, voc, yolo")
    assert export == "error: --format: 'bogus' is not one of coco, voc, yolo\n"


def test_data_check_images_is_refused_where_it_does_not_apply(tmp_path, capsys):
    """--images was silently ignored for a VOC folder, and a missing folder was reported as
    an unrelated first problem of the set."""
    voc = tmp_path / "voc"
    (voc / "JPEGImages").mkdir(parents=True)
    (voc / "Annotations").mkdir()
    Image.new("RGB", (40, 30)).save(voc / "JPEGImages" / "a.jpg")
    (voc / "Annotations" / "a.xml").write_text(
        "<annotation><filename>a.jpg</filename><size><width>40</width><height>30</height></size>"
        "<object><name>cat</name><bndbox><xmin>5</xmin><ymin>5</ymin><xmax>20</xmax><ymax>20</ymax>"
        "</bndbox></object></annotation>"
    )
    assert main(["data", "check", str(voc), "--images", str(tmp_path)]) == 2
    assert (
        capsys.readouterr().err == f"error: --images applies to COCO files only; {voc} is Pascal VOC (XML)\n"
    )
    coco = tmp_path / "instances.json"
    coco.write_text('{"images": [], "annotations": [], "categories": [{"id": 1, "name": "cat"}]}')
    assert main(["data", "check", str(coco), "--images", str(tmp_path / "nowhere")]) == 2
    assert capsys.readouterr().err == f"error: --images: {tmp_path / 'nowhere'}: no such folder\n"


@pytest.mark.parametrize("kind", ["file", "full folder"])
def test_data_export_says_what_is_in_the_way(tmp_path, capsys, kind):
    target = tmp_path / "out"
    if kind == "file":
        target.write_text("x")
        expected = f"error: {target}: is a file, not a folder; choose a new folder\n"
    else:
        target.mkdir()
        (target / "a").write_text("x")
        expected = f"error: {target}: is a folder that is not empty; choose a new one\n"
    assert main(["data", "export", str(target), "--format", "coco"]) == 2
    assert capsys.readouterr().err == expected


@pytest.mark.parametrize(("rank", "said"), [("0", True), ("1", False), ("", True)])
def test_a_config_error_in_a_torchrun_job_is_said_once(tmp_path, capsys, monkeypatch, rank, said):
    """Every process of the job reads the same file and failed alike: the error came once per
    process. Only the first (RANK 0, or no torchrun) says it; all exit 2."""
    bad = tmp_path / "bad.toml"
    bad.write_text("[train]\nepochs = -3\n")
    if rank:
        monkeypatch.setenv("RANK", rank)
    else:
        monkeypatch.delenv("RANK", raising=False)
    assert main(["train", str(bad), "--out", str(tmp_path / "runs")]) == 2
    err = capsys.readouterr().err
    assert ("train.epochs" in err) is said and (err == "") is not said
