"""workbench export: ONNX and TorchScript with named outputs, verified, decodable, timed."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch
from conftest import tiny_config

from workbench.export import ExportError, export_run
from workbench.export import run_export as run_export_module
from workbench.training.run_store import RunStore
from workbench.training.trainer import Trainer

ALL_KINDS = (
    ("scene", "classification"),
    ("n", "counting"),
    ("objects", "detection"),
    ("big", "localization"),
    ("present", "multilabel"),
    ("masks", "segmentation"),
)

# the outputs of ALL_KINDS, in task order then each head's key order
OUTPUTS = ["scene", "n", "objects.heatmap", "objects.size", "objects.offset", "big", "present", "masks"]


def _finished_run(root, tasks, backbone="small_cnn"):
    cfg = tiny_config(tasks=tasks)
    cfg.train.epochs = 1
    cfg.model.backbone = backbone
    cfg.data.options["val_size"] = 6
    store = RunStore.create(root, cfg.name)
    assert Trainer(cfg, store).run()["status"] == "finished"
    return store


@pytest.fixture(scope="module")
def all_kinds_run(tmp_path_factory):
    return _finished_run(tmp_path_factory.mktemp("runs"), ALL_KINDS)


def _model_and_images(store, count=3):
    from workbench.data.base import collate
    from workbench.training.checkpoint import load_checkpoint, load_model_state
    from workbench.training.experiment import build_experiment

    exp = build_experiment(store.read_config(), with_data=False, pretrained=False)
    load_model_state(
        exp.model, load_checkpoint(store.best_checkpoint, "best")["model"], store.best_checkpoint
    )
    images, _ = collate([exp.val_set.sample(i) for i in range(count)])
    return exp, exp.model.eval(), images.float()


def test_onnx_export_of_every_task_kind_has_named_outputs_equal_to_pytorch(all_kinds_run):
    import onnxruntime as ort

    report = export_run(all_kinds_run.path, "onnx", dynamic_batch=True, latency=False, log=lambda _: None)
    assert report.path == all_kinds_run.path / "export" / "model-best-dynamic.onnx" and report.images == 6
    session = ort.InferenceSession(str(report.path), providers=["CPUExecutionProvider"])
    names = [o.name for o in session.get_outputs()]
    assert names == OUTPUTS
    exp, model, images = _model_and_images(all_kinds_run)
    got = dict(zip(names, session.run(None, {"images": images.numpy()}), strict=True))  # batch 3: dynamic
    with torch.no_grad():
        out = model(images)
    assert np.abs(got["scene"] - out["scene"].numpy()).max() < 1e-4
    assert np.abs(got["objects.heatmap"] - out["objects"]["heatmap"].numpy()).max() < 1e-4
    assert np.abs(got["masks"] - out["masks"].numpy()).max() < 1e-4
    assert report.max_difference < 1e-3 and set(report.differences) == set(names)
    assert not list(report.path.parent.glob("*.part"))  # no temporary file left


def test_decode_json_is_enough_to_decode_the_raw_outputs(all_kinds_run):
    import onnxruntime as ort

    report = export_run(all_kinds_run.path, "onnx", latency=False, log=lambda _: None)
    spec = json.loads(report.decode_path.read_text())
    assert report.decode_path.name == "model-best.onnx.decode.json"
    # the TorchScript export beside it has its own description: the ONNX one is kept
    other = export_run(all_kinds_run.path, "torchscript", latency=False, log=lambda _: None)
    assert other.decode_path.name == "model-best.torchscript.decode.json"
    # a dynamic-batch export is a file of its own: the batch-1 model beside it is kept
    batch_one = report.path.read_bytes()
    dynamic = export_run(all_kinds_run.path, "onnx", dynamic_batch=True, latency=False, log=lambda _: None)
    assert (dynamic.path.name, dynamic.decode_path.name) == (
        "model-best-dynamic.onnx",
        "model-best-dynamic.onnx.decode.json",
    )
    assert report.path.read_bytes() == batch_one and json.loads(report.decode_path.read_text())["input"][
        "shape"
    ] == [1, 3, 64, 64]
    assert json.loads(report.decode_path.read_text())["verification"]["runtime"] == "onnxruntime"
    assert spec["input"]["shape"] == [1, 3, 64, 64] and spec["input"]["range"] == [0, 255]
    assert [o["name"] for o in spec["outputs"]][:2] == ["scene", "n"]
    assert spec["tasks"]["objects"]["outputs"] == ["objects.heatmap", "objects.size", "objects.offset"]
    assert spec["tasks"]["objects"]["score_threshold"] == 0.3 and spec["tasks"]["objects"]["nms_iou"] == 0.5
    assert spec["tasks"]["masks"]["class_names"][0] == "background"
    assert spec["verification"]["images"] == 6 and spec["verification"]["tolerance"] == 1e-3
    assert spec["epoch"] == 1 and spec["checkpoint"] == "best.pt"
    assert (
        spec["epoch_index"]
        == 0
        == json.loads((all_kinds_run.path / "summary.json").read_text())["best_epoch"]
    )
    assert spec["run"] == str(all_kinds_run.path.resolve())

    # Decode by the JSON's words alone, in numpy, and compare with the workbench's own decode.
    exp, model, images = _model_and_images(all_kinds_run, 1)
    session = ort.InferenceSession(str(report.path), providers=["CPUExecutionProvider"])
    raw = dict(
        zip([o["name"] for o in spec["outputs"]], session.run(None, {"images": images.numpy()}), strict=True)
    )
    with torch.no_grad():
        out = model(images)
    tasks = {t.name: t for t in exp.tasks}
    logits = raw["scene"][0]
    probs = np.exp(logits - logits.max()) / np.exp(logits - logits.max()).sum()  # softmax
    assert int(probs.argmax()) == int(tasks["scene"].decode(out["scene"])[0]["label"])
    size = spec["tasks"]["big"]["input_size"]
    cx, cy, w, h = 1 / (1 + np.exp(-raw["big"][0])) * size
    box = np.array([cx - w / 2, cy - h / 2, cx + w / 2, cy + h / 2])
    assert np.abs(box - tasks["big"].decode(out["big"])[0]["box"]).max() < 1e-3
    present = 1 / (1 + np.exp(-raw["present"][0])) >= spec["tasks"]["present"]["threshold"]
    assert (present == (tasks["present"].decode(out["present"])[0]["scores"] >= 0.5)).all()
    assert (raw["masks"][0].argmax(0) == tasks["masks"].decode(out["masks"])[0]["mask"]).all()
    assert float(raw["n"][0, 0]) == pytest.approx(float(tasks["n"].decode(out["n"])[0]["count"]), abs=1e-4)


@pytest.mark.filterwarnings("ignore:.*torch.jit.*:FutureWarning")
def test_torchscript_export_keeps_output_names(all_kinds_run):
    report = export_run(all_kinds_run.path, "torchscript", "last", latency=False, log=lambda _: None)
    assert report.path.name == "model-last.torchscript.pt"
    module = torch.jit.load(str(report.path)).eval()
    _, model, images = _model_and_images(all_kinds_run, 2)
    with torch.no_grad():
        got, want = module(images[:1]), model(images[:1])
    assert list(got) == OUTPUTS
    assert torch.allclose(got["objects.size"], want["objects"]["size"], atol=1e-5)
    # what the file says it takes, it checks, as ONNX does: a trace alone ran a batch of 2,
    # and an image of another size gave a mask of the training size without a word
    with pytest.raises(torch.jit.Error, match="this export takes a batch of 1"):
        module(images)
    with pytest.raises(torch.jit.Error, match="images must be float32 N x 3 x 64 x 64"):
        module(torch.zeros(1, 3, 80, 80))


def test_an_export_after_config_toml_changed_the_network_is_refused(tmp_path, all_kinds_run, capsys):
    import shutil

    from workbench.cli import main

    copy = tmp_path / "copy"
    shutil.copytree(all_kinds_run.path, copy)
    shutil.rmtree(copy / "export", ignore_errors=True)  # what other tests exported
    text = (copy / "config.toml").read_text()
    (copy / "config.toml").write_text(
        text.replace("image_size = 64", "image_size = 96").replace("epochs = 1", "epochs = 5")
    )
    assert main(["export", str(copy), "--no-latency"]) == 1
    err = capsys.readouterr().err.strip()
    assert err == (
        f"error: {copy / 'config.toml'} changed since best.pt was saved (data.options.image_size: 64 -> 96), "
        "as a resume may not either; the export and its decode JSON must describe the checkpoint's training. "
        "Undo the change to export this run"
    )
    assert not (copy / "export").exists()
    (copy / "config.toml").write_text(text.replace("epochs = 1", "epochs = 5"))  # a resume's change: fine
    assert main(["export", str(copy), "--no-latency"]) == 0


@pytest.mark.parametrize("backbone", ["resnet18", "mobilenet_v3_small"])
def test_onnx_export_of_other_backbones(tmp_path, backbone):
    store = _finished_run(tmp_path, (("scene", "classification"), ("masks", "segmentation")), backbone)
    report = export_run(store.path, "onnx", latency=False, log=lambda _: None)
    assert report.max_difference < 1e-3 and report.path.is_file()


def test_a_mismatch_is_refused_and_leaves_nothing(all_kinds_run, tmp_path, monkeypatch):
    monkeypatch.setattr(run_export_module, "TOLERANCE", 0.0)  # any float difference is "too big"
    target = tmp_path / "out.onnx"
    with pytest.raises(
        ExportError, match=r"differs from the PyTorch model by .* \(limit 0\); the export was not kept"
    ):
        export_run(all_kinds_run.path, "onnx", out=target, latency=False, log=lambda _: None)
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize(
    ("described", "said"),
    [
        (
            {"classes": {"a", "b"}},
            "task 'n' (counting): its export_decode() failed: TypeError: export_decode()'s 'classes' "
            "holds a value JSON cannot hold (set); give numbers, text, lists or dicts",
        ),
        (
            {"scale": [1.0, torch.tensor(2.0)]},
            "task 'n' (counting): its export_decode() failed: TypeError: export_decode()'s 'scale' "
            "holds a value JSON cannot hold (Tensor); give numbers, text, lists or dicts",
        ),
        (
            {"scale": float("nan")},
            "task 'n' (counting): its export_decode() failed: TypeError: export_decode()'s 'scale' "
            "holds a value that is not finite (NaN or inf)",
        ),
        (
            {"bins": {("a", 1): 2}},
            "task 'n' (counting): its export_decode() failed: TypeError: export_decode() has a key ('a', 1) "
            "that is not text; JSON keys are text",
        ),
        (
            ["scale"],
            "task 'n' (counting): its export_decode() failed: TypeError: export_decode() must return a dict, got list",
        ),
    ],
)
def test_an_export_decode_json_cannot_hold_is_named_and_nothing_is_written(
    all_kinds_run, tmp_path, monkeypatch, described, said
):
    """An extension kind's export_decode that returns a set or a tensor failed in json.dumps
    after the model file was written: a model without its decode.json, and a traceback."""
    from workbench.tasks.counting import Counting

    monkeypatch.setattr(Counting, "export_decode", lambda self: described)
    with pytest.raises(ExportError) as caught:
        export_run(all_kinds_run.path, "onnx", out=tmp_path / "m.onnx", latency=False, log=lambda _: None)
    assert str(caught.value) == said
    assert list(tmp_path.iterdir()) == []


def test_numpy_values_in_export_decode_are_written_as_plain_json(all_kinds_run, tmp_path, monkeypatch):
    from workbench.tasks.counting import Counting

    monkeypatch.setattr(
        Counting, "export_decode", lambda self: {"scale": np.float32(0.5), "bins": np.arange(3)}
    )
    report = export_run(
        all_kinds_run.path, "onnx", out=tmp_path / "m.onnx", latency=False, log=lambda _: None
    )
    task = json.loads(report.decode_path.read_text())["tasks"]["n"]
    assert task["scale"] == 0.5 and task["bins"] == [0, 1, 2]


def test_exports_get_the_users_file_mode_and_a_folder_is_not_a_file(all_kinds_run, tmp_path):
    import os

    from workbench.fsutil import FILE_MODE

    target = tmp_path / "m.pt"
    report = export_run(
        all_kinds_run.path, "torchscript", "last", out=target, latency=False, log=lambda _: None
    )
    # mkstemp's 0600 would hide the model from the group that reads decode.json beside it
    assert os.stat(report.path).st_mode & 0o777 == FILE_MODE == os.stat(report.decode_path).st_mode & 0o777
    with pytest.raises(ExportError, match=f"{tmp_path} is a folder; give the file to write"):
        export_run(all_kinds_run.path, "torchscript", "last", out=tmp_path, latency=False, log=lambda _: None)


def test_export_never_replaces_a_run_file_nor_an_existing_file_unasked(all_kinds_run, tmp_path, capsys):
    from workbench.cli import main

    run = all_kinds_run.path
    own = [run / "checkpoints" / "last.pt", run / "summary.json", run / "config.toml", run / "metrics.jsonl"]
    link = tmp_path / "link.pt"
    link.symlink_to(run / "checkpoints" / "best.pt")  # the same file by another name
    before = {p: p.read_bytes() for p in [*own, run / "checkpoints" / "best.pt"]}
    for target in [*own, link, run / "new.pt"]:
        for force in ([], ["--force"]):
            args = ["export", str(run), "--format", "torchscript", "--out", str(target), "--no-latency"]
            assert main(args + force) == 1
            err = capsys.readouterr().err.strip()
            assert err.startswith(f"error: {target} is among the run's own files; write the export under")
    assert {p: p.read_bytes() for p in before} == before
    assert not (run / "new.pt").exists() and not (run / "new.decode.json").exists()
    # an existing file elsewhere: refused unless --force; its decode.json counts too
    other = tmp_path / "mine.pt"
    other.write_bytes(b"keep me")
    assert main(["export", str(run), "--format", "torchscript", "--out", str(other), "--no-latency"]) == 1
    assert capsys.readouterr().err.strip() == (
        f"error: {other} exists; choose another --out, or add --force to replace it"
    )
    assert other.read_bytes() == b"keep me" and not (tmp_path / "mine.decode.json").exists()
    fresh = tmp_path / "fresh.torchscript.pt"
    (tmp_path / "fresh.decode.json").write_text("{}")
    assert main(["export", str(run), "--format", "torchscript", "--out", str(fresh), "--no-latency"]) == 1
    assert "fresh.decode.json exists" in capsys.readouterr().err and not fresh.exists()
    args = ["export", str(run), "--format", "torchscript", "--out", str(other), "--no-latency", "--force"]
    assert main(args) == 0
    assert other.read_bytes()[:2] == b"PK"  # a TorchScript archive (zip) now
    # the default files are the export's own: a second export replaces them
    for _ in range(2):
        assert main(["export", str(run), "--format", "torchscript", "--no-latency"]) == 0


def test_a_damaged_summary_does_not_block_export_or_eval(tmp_path, all_kinds_run, capsys):
    import shutil

    from workbench.cli import main

    copy = tmp_path / "copy"
    shutil.copytree(all_kinds_run.path, copy)
    (copy / "summary.json").write_bytes(b"[1, 2")  # both need only config.toml and a checkpoint
    said = []
    report = export_run(copy, "torchscript", "last", latency=False, log=said.append)
    assert (
        report.path.is_file() and "summary.json is unreadable" in said[0] and said[0].startswith("warning: ")
    )
    assert main(["eval", str(copy), "--checkpoint", "last"]) == 0
    err = capsys.readouterr().err
    assert err.startswith("warning: ") and "summary.json is unreadable" in err
    assert (copy / "summary.json").read_bytes() == b"[1, 2"  # left as it was


def test_errors_name_the_run_and_the_checkpoint(tmp_path, all_kinds_run):
    (tmp_path / "notes.txt").write_text("not a run")
    with pytest.raises(ExportError, match="is not a run directory"):
        export_run(tmp_path, latency=False)
    with pytest.raises(ExportError, match="unknown export format 'tflite'"):
        export_run(all_kinds_run.path, "tflite")
    copy = tmp_path / "copy"
    import shutil

    shutil.copytree(all_kinds_run.path, copy)
    (copy / "checkpoints" / "best.pt").unlink()
    with pytest.raises(ExportError, match=r"best.pt does not exist: the run has no best checkpoint"):
        export_run(copy, latency=False)
    (copy / "checkpoints" / "last.pt").write_bytes(b"not a checkpoint")
    from workbench.cli import main

    assert main(["export", str(copy), "--checkpoint", "last", "--no-latency"]) == 1


def test_cli_prints_differences_and_the_latency_table(all_kinds_run, capsys, monkeypatch):
    from workbench.cli import main
    from workbench.export import latency

    monkeypatch.setattr(latency, "BATCHES", (1, 2))  # keep the test short: the table's shape is the point
    monkeypatch.setattr(run_export_module, "BATCHES", (1, 2))
    assert main(["export", str(all_kinds_run.path), "--dynamic-batch", "--images", "4"]) == 0
    out = capsys.readouterr().out
    assert "objects.heatmap" in out and "max |export - PyTorch|" in out
    table = [
        line for line in out.splitlines() if line.startswith(("PyTorch eager", "TorchScript", "onnxruntime"))
    ]
    assert len(table) == 6  # 3 runtimes x 2 batches on the CPU
    assert all(line.split()[-1] != "–" for line in table)  # every runtime timed at both batches


def test_export_dialog_offers_only_saved_checkpoints(qtbot, tmp_path):
    from workbench.gui.export_dialog import ExportDialog

    run = tmp_path / "run-1"
    (run / "checkpoints").mkdir(parents=True)
    (run / "checkpoints" / "last.pt").write_bytes(b"")
    dialog = ExportDialog(run)
    qtbot.addWidget(dialog)
    assert dialog.checkpoint.currentData() == "last"  # best.pt is not there
    assert not dialog.checkpoint.model().item(0).isEnabled()
    dialog.format.setCurrentIndex(1)
    dialog.dynamic.setChecked(True)
    assert dialog.args() == [
        "export",
        str(run),
        "--format",
        "torchscript",
        "--checkpoint",
        "last",
        "--dynamic-batch",
    ]


def test_export_dialog_writes_where_the_user_chooses(qtbot, tmp_path, monkeypatch):
    """A run on a read-only disk: the export's message named --out, which the app's dialog
    did not offer. Its Output file is passed as --out; a file the save dialog asked to
    replace (and the user agreed) is replaced (--force), one typed by hand is not."""
    from PySide6.QtWidgets import QFileDialog

    from workbench.gui.export_dialog import ExportDialog

    run = tmp_path / "run-1"
    (run / "checkpoints").mkdir(parents=True)
    (run / "checkpoints" / "best.pt").write_bytes(b"")
    dialog = ExportDialog(run)
    qtbot.addWidget(dialog)
    base = ["export", str(run), "--format", "onnx", "--checkpoint", "best"]
    assert dialog.args() == base  # empty: the run's own export/ folder
    typed = tmp_path / "typed.onnx"
    dialog.out.setText(str(typed))
    assert dialog.args() == [*base, "--out", str(typed)]
    chosen = tmp_path / "chosen.onnx"
    chosen.write_bytes(b"old")
    monkeypatch.setattr(QFileDialog, "getSaveFileName", lambda *a, **k: (str(chosen), ""))
    dialog._choose_out()
    assert dialog.args() == [*base, "--out", str(chosen), "--force"]


def test_export_action_needs_a_run_with_a_checkpoint(window, monkeypatch):
    shown = []
    monkeypatch.setattr(window, "show_error", lambda title, text: shown.append(title))
    assert window.act_export_model.isEnabled()  # the core is loaded
    window.export_model()
    assert shown == ["No checkpoint"]


def test_an_export_named_as_another_format_is_refused_and_decode_says_the_fit(all_kinds_run, tmp_path):
    import json

    for fmt, name in (("torchscript", "m.onnx"), ("onnx", "m.pt")):
        with pytest.raises(ExportError, match=f"that name says another format than {fmt}"):
            export_run(all_kinds_run.path, fmt, out=tmp_path / name, latency=False, log=lambda _: None)
    assert list(tmp_path.iterdir()) == []
    report = export_run(
        all_kinds_run.path, "torchscript", out=tmp_path / "m.pt", latency=False, log=lambda _: None
    )
    spec = json.loads(report.decode_path.read_text())["input"]
    assert spec["resize_mode"] == "letterbox" and spec["pad_value"] == 114
    assert "keeping the aspect ratio" in spec["resize"] and "grey 114" in spec["resize"]


def test_decode_json_is_named_after_the_export_in_any_spelling(all_kinds_run, tmp_path):
    for fmt, name, decode in (("onnx", "M.ONNX", "M.decode.json"), ("torchscript", "m.pt", "m.decode.json")):
        report = export_run(all_kinds_run.path, fmt, out=tmp_path / name, latency=False, log=lambda _: None)
        assert report.decode_path == tmp_path / decode
    for name in (".onnx", "m."):
        with pytest.raises(ExportError, match="not a file name to write"):
            export_run(all_kinds_run.path, "onnx", out=tmp_path / name, latency=False, log=lambda _: None)


def test_a_stopped_export_removes_its_unfinished_file(all_kinds_run, tmp_path, monkeypatch, capsys):
    """The app's Stop (SIGTERM) ended the export process at once and left a 0-byte
    ``.model.onnx.*.part`` in the run's folder; the export now unwinds and removes it."""
    import os
    import signal

    from workbench.cli import main

    def stopped_while_writing(fmt, model, example, names, path, dynamic, target=None):
        path.write_bytes(b"half")
        os.kill(os.getpid(), signal.SIGTERM)

    monkeypatch.setattr(run_export_module, "_write", stopped_while_writing)
    out = tmp_path / "model.onnx"
    before = signal.getsignal(signal.SIGTERM)
    assert main(["export", str(all_kinds_run.path), "--out", str(out), "--no-latency"]) == 143
    assert list(tmp_path.iterdir()) == []
    assert "SIGTERM: export stopped" in capsys.readouterr().err
    assert signal.getsignal(signal.SIGTERM) is before  # the process's own handler is back


def test_an_exporter_failure_names_the_file_asked_for_not_the_temporary_one(
    all_kinds_run, tmp_path, monkeypatch
):
    """TorchScript without the source (a bundle kept only bytecode) said
    "model-best.torchscript.pt.4y3twzfi: ... could not get source code"."""

    def no_source(*args, **kwargs):
        raise OSError("could not get source code")

    monkeypatch.setattr(run_export_module, "write_torchscript", no_source)
    out = tmp_path / "model.pt"
    with pytest.raises(ExportError) as raised:
        export_run(all_kinds_run.path, "torchscript", out=out, latency=False)
    assert str(raised.value) == f"{out}: the torchscript exporter failed: could not get source code"
    assert list(tmp_path.iterdir()) == []


def test_an_export_into_a_run_that_cannot_be_written_says_where_else(all_kinds_run, monkeypatch):
    """A run on a read-only disk: the default export (into RUN/export/) names --out."""
    import errno
    import tempfile

    def read_only(*args, **kwargs):
        raise OSError(errno.EROFS, "Read-only file system")

    monkeypatch.setattr(tempfile, "mkstemp", read_only)
    built = []  # said before the model is built and run (a minute of work in the app)
    monkeypatch.setattr(
        "workbench.training.experiment.build_experiment", lambda *a, **k: built.append(1) or 1 / 0
    )
    with pytest.raises(ExportError) as raised:
        export_run(all_kinds_run.path, latency=False)
    assert built == []
    assert str(raised.value) == (
        f"{all_kinds_run.path / 'export'}: cannot write the export there: Read-only file system; "
        "write it elsewhere (--out FILE), or copy the run to a folder you can write"
    )


def test_a_torchscript_export_on_a_full_disk_is_one_line_and_leaves_nothing(
    all_kinds_run, tmp_path, monkeypatch
):
    """torch.jit.save's own writer aborted the process on a full disk (a C++ exception,
    exit 134) and left a .part file; the file is now written by Python."""
    import errno

    from workbench.export import formats

    def full(path, mode="r", *args, **kwargs):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(formats, "open", full, raising=False)
    out = tmp_path / "model.torchscript.pt"
    with pytest.raises(ExportError) as raised:
        export_run(all_kinds_run.path, "torchscript", out=out, latency=False)
    assert str(raised.value) == f"{out}: cannot write the export: No space left on device"
    assert list(tmp_path.iterdir()) == []


def test_exporting_a_run_still_training_says_its_checkpoint_may_change(tmp_path, all_kinds_run):
    import os
    import shutil
    import socket
    import time

    copy = tmp_path / "copy"
    shutil.copytree(all_kinds_run.path, copy)
    summary = json.loads((copy / "summary.json").read_text())
    summary["status"] = "running"
    (copy / "summary.json").write_text(json.dumps(summary))
    (copy / ".lock").write_text(
        json.dumps({"pid": os.getpid(), "host": socket.gethostname(), "started": time.time()})
    )
    said = []
    report = export_run(copy, "onnx", out=tmp_path / "m.onnx", latency=False, log=said.append)
    assert report.path.is_file()
    assert said[0] == (
        f"warning: {copy} is still training: its best.pt may be replaced after this export (the decode JSON "
        "names the epoch exported)"
    )
