"""Second round of issue 6's fault classes: other members found by trying to break the core."""

from __future__ import annotations

import json
import multiprocessing
import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
import torch
from conftest import tiny_config

from workbench.cli import main
from workbench.config import ConfigError, default_experiment
from workbench.experiment_check import config_from_toml_text, load_config, save_config
from workbench.fsutil import SaveFailed
from workbench.training.checkpoint import load_checkpoint
from workbench.training.control import RunControl
from workbench.training.events import RunStarted, StepEnded
from workbench.training.run_lock import RunBusy, RunLock
from workbench.training.run_store import RunStore, list_runs
from workbench.training.trainer import Trainer
from workbench.weighting.methods import DynamicWeightAverage


def run(cfg, root=None, subscribers=(), control=None, store=None, resume=False, init_from=None):
    store = store or RunStore.create(root, cfg.name)
    events: list = []
    summary = Trainer(
        cfg, store, control, [events.append, *subscribers], resume=resume, init_from=init_from
    ).run()
    return store, events, summary


def stopped_run(tmp_path, cfg=None, at_step=4):
    control = RunControl()

    def stop(e):
        if isinstance(e, StepEnded) and e.global_step == at_step:
            control.request_stop()

    return run(cfg or tiny_config(), tmp_path, [stop], control)[0]


def snapshot(store):
    return {
        p.relative_to(store.path).as_posix(): p.read_bytes() for p in store.path.rglob("*") if p.is_file()
    }


def cli(tmp_path, *args, cfg=None):
    path = tmp_path / "exp.toml"
    save_config(cfg or tiny_config(), path)
    return main(["train", str(path), "--out", str(tmp_path / "runs"), "--quiet", *args])


# ------------------------------------------------------------------ numbers that overflow later


def test_dwa_softmax_does_not_overflow():
    dwa = DynamicWeightAverage(["a", "b"], {"temperature": 0.01}, {})
    dwa.epoch_end({"a": 1.0, "b": 1.0})
    dwa.epoch_end({"a": 1e6, "b": 1.0})  # ratio 1e6 / 0.01 = 1e8: exp would overflow
    weights = dwa.task_weights({})
    assert weights["a"] == pytest.approx(2.0) and weights["b"] == pytest.approx(0.0)
    with pytest.raises(ConfigError, match=r"weighting.params.temperature: must be between 0.01 and 100"):
        config_from_toml_text(
            "[[tasks]]\nname='a'\nkind='counting'\n[weighting]\nmethod='dwa'\n[weighting.params]\ntemperature=1e-300\n"
        )


# ------------------------------------------------------------------ refused before a run folder


def test_missing_weights_file_is_a_config_error_before_any_folder(tmp_path, capsys):
    cfg = tiny_config()
    cfg.model.pretrained = "file"
    cfg.model.weights_file = str(tmp_path / "nowhere.pth")
    assert cli(tmp_path, cfg=cfg) == 2
    err = capsys.readouterr().err
    assert err == (
        f"error: config: model.weights_file: {tmp_path / 'nowhere.pth'} does not exist (in {tmp_path / 'exp.toml'})\n"
    )
    assert not (tmp_path / "runs").exists()


def test_weights_file_that_matches_nothing_is_refused(tmp_path, capsys):
    weights = tmp_path / "other.pth"
    torch.save({"layer.weight": torch.zeros(3, 3)}, weights)
    cfg = tiny_config()
    cfg.model.pretrained = "file"
    cfg.model.weights_file = str(weights)
    assert cli(tmp_path, cfg=cfg) == 2
    assert "no tensor in" in capsys.readouterr().err and not (tmp_path / "runs").exists()


def test_weights_file_that_fills_part_of_the_backbone_says_how_much(tmp_path, capsys):
    """A file of another backbone loads where names and shapes happen to match (98 of
    resnet50's 320 tensors from a resnet18 file), and nothing said how little loaded."""
    from workbench.models.backbones import BACKBONES

    own = BACKBONES.get("small_cnn").build_model().state_dict()
    keys = sorted(own)
    kept = {k: own[k] for k in keys[: len(keys) // 2]}
    weights = tmp_path / "half.pth"
    torch.save(kept, weights)
    cfg = tiny_config()
    cfg.train.epochs = 1
    cfg.model.pretrained = "file"
    cfg.model.weights_file = str(weights)
    assert cli(tmp_path, cfg=cfg) == 0
    out = capsys.readouterr()
    said = (
        f"model.weights_file: {len(kept)} of the {len(own)} tensors of small_cnn matched {weights} by name "
        "and shape and were loaded; the others keep their random initial values"
    )
    assert said in out.out + out.err


def test_imagenet_for_a_backbone_without_it_is_a_config_error():
    cfg = default_experiment()
    cfg.model.pretrained = "imagenet"
    with pytest.raises(ConfigError, match="model.pretrained: small_cnn has no ImageNet weights"):
        from workbench.experiment_check import validate_experiment

        validate_experiment(cfg)


@pytest.mark.skipif(torch.cuda.is_available(), reason="needs a machine without CUDA")
def test_unavailable_device_is_refused_before_any_folder(tmp_path, capsys):
    assert cli(tmp_path, "--device", "cuda") == 2
    assert "train.device" in capsys.readouterr().err and not (tmp_path / "runs").exists()


@pytest.mark.parametrize("content", [b"", b"garbage", b".", b"J", b"}q", "list"])
def test_bad_init_from_is_refused_before_any_folder(tmp_path, capsys, content):
    path = tmp_path / "init.pt"
    if content == "list":
        torch.save([1, 2], path)
    else:
        path.write_bytes(content)
    assert cli(tmp_path, "--init-from", str(path)) == 2
    assert capsys.readouterr().err.startswith("error: --init-from:") and not (tmp_path / "runs").exists()


def test_one_training_image_gets_advice_that_helps():
    from workbench.training.experiment import build_data
    from workbench.training.preflight import preflight

    cfg = tiny_config(tasks=(("scene", "classification"),))
    cfg.data.options["image_size"] = 32
    cfg.data.options["train_size"] = 1
    with pytest.raises(ConfigError) as err:
        preflight(cfg, 1, build_data(cfg, "val").task_infos)
    assert (
        err.value.path == "data.options.train_size" and "use 2 or more training images" in err.value.message
    )


# ------------------------------------------------------------------ resume


def test_resume_does_not_need_the_weights_file_again(tmp_path):
    from workbench.models.backbones import BACKBONES

    weights = tmp_path / "w.pth"
    torch.save(BACKBONES.get("small_cnn").build_model().state_dict(), weights)
    cfg = tiny_config()
    cfg.model.pretrained = "file"
    cfg.model.weights_file = str(weights)
    store = stopped_run(tmp_path, cfg)
    weights.unlink()
    _, _, summary = run(store.read_config(), store=RunStore(store.path), resume=True)
    assert summary["status"] == "finished", summary.get("error")
    # nor does eval (it refused: "model.weights_file: no file at ...", while resume ran)
    assert main(["eval", str(store.path)]) == 0


def test_writing_out_a_default_option_is_not_a_change(tmp_path):
    store = stopped_run(tmp_path)
    cfg = store.read_config()
    cfg.tasks[0].options = {"hidden": 0, "label_smoothing": 0.0}
    save_config(cfg, store.config_path)
    _, _, summary = run(store.read_config(), store=RunStore(store.path), resume=True)
    assert summary["status"] == "finished", summary.get("error")


def test_restart_after_an_early_kill_keeps_the_init_from_weights(tmp_path):
    source, _, _ = run(tiny_config(), tmp_path / "src")
    first_losses = []
    _, events, _ = run(tiny_config(), tmp_path / "ref", init_from=source.last_checkpoint)
    first_losses.append(next(e for e in events if isinstance(e, StepEnded)).losses)

    class Killed(BaseException):
        pass

    def die(e):
        if isinstance(e, StepEnded):
            raise Killed

    store = RunStore.create(tmp_path / "b", "tiny")
    trainer = Trainer(tiny_config(), store, subscribers=[die], init_from=source.last_checkpoint)
    trainer.emit = lambda e: [s(e) for s in trainer.subscribers]
    with pytest.raises(Killed):
        trainer.run()
    _, events, summary = run(store.read_config(), store=RunStore(store.path), resume=True)
    started = events[0]
    assert isinstance(started, RunStarted) and "initialised" in started.note and "restarted" in started.note
    assert next(e for e in events if isinstance(e, StepEnded)).losses == first_losses[0]
    assert any("initialised" in n for n in summary["notes"])  # the record survives the finish


def test_time_limit_stops_at_the_exact_step_and_resume_trains_the_rest(tmp_path, monkeypatch):
    reference, _, _ = run(tiny_config(), tmp_path / "ref")
    cfg = tiny_config()
    cfg.train.time_limit_s = 1.0
    clock = {"t": 0.0}
    import workbench.training.trainer as trainer_module

    def fake_perf_counter():
        clock["t"] += 0.1  # every call advances a tenth of a second
        return clock["t"]

    monkeypatch.setattr(trainer_module.time, "perf_counter", fake_perf_counter)
    store, events, summary = run(cfg, tmp_path / "b")
    monkeypatch.undo()
    assert summary["status"] == "stopped" and "time limit" in summary["note"]
    stopped_at = load_checkpoint(store.last_checkpoint)["position"]["global_step"]
    assert 0 < stopped_at < 6
    cfg = store.read_config()
    cfg.train.time_limit_s = 0.0
    save_config(cfg, store.config_path)
    _, _, summary = run(store.read_config(), store=RunStore(store.path), resume=True)
    assert summary["status"] == "finished" and summary["global_step"] == 6
    a, b = (
        load_checkpoint(reference.last_checkpoint)["model"],
        load_checkpoint(store.last_checkpoint)["model"],
    )
    assert all(torch.equal(a[k], b[k]) for k in a)


def test_fewer_epochs_than_trained_is_refused(tmp_path):
    cfg = tiny_config()
    cfg.train.epochs = 3
    store = stopped_run(tmp_path, cfg, at_step=8)  # epoch 3, step 2 of 3
    cfg = store.read_config()
    cfg.train.epochs = 1
    save_config(cfg, store.config_path)
    before = snapshot(store)
    _, events, summary = run(store.read_config(), store=RunStore(store.path), resume=True)
    assert (
        summary["not_started"]
        and "has trained 2 epochs and 2 steps, more than train.epochs = 1" in summary["error"]
    )
    assert snapshot(store) == before


@pytest.mark.parametrize("command", ["resume", "eval"])
def test_bad_device_for_resume_and_eval_is_a_config_error(tmp_path, capsys, command):
    store = stopped_run(tmp_path)
    assert main([command, str(store.path), "--device", "foo"]) == 2
    assert "--device: 'foo' is not allowed" in capsys.readouterr().err


def test_refused_resume_does_not_say_the_run_failed(tmp_path, capsys):
    store, _, _ = run(tiny_config(), tmp_path)
    assert main(["resume", str(store.path), "--quiet"]) == 1
    err = capsys.readouterr().err
    assert err.startswith("error: ") and "run failed" not in err and "has trained all 2 epochs" in err


def _live_lock() -> str:
    """A lock of this (live) process written now: what a run reading its data holds."""
    return json.dumps({"pid": os.getpid(), "host": socket.gethostname(), "started": time.time()})


NOT_A_RUN = {
    "missing": (lambda d: None, "does not exist"),
    "a file": (lambda d: d.write_text("x"), "is a file, not a run directory"),
    "empty": (lambda d: d.mkdir(), "is an empty folder, not a run (if an experiment was started here"),
    "a sweep folder": (
        lambda d: (d.mkdir(), (d / "queue.json").write_text("{}"), (d / "runs").mkdir()),
        "is a sweep folder, not a run directory; its runs are in",
    ),
    "lock and temp file only": (
        lambda d: (d.mkdir(), (d / ".lock").write_text("{}"), (d / ".summary.json.abc.tmp").write_text("")),
        "holds no run: it was stopped before it wrote config.toml",
    ),
    "a lock of a process still reading its data": (
        lambda d: (d.mkdir(), (d / ".lock").write_text(_live_lock())),
        f"is being started by process {os.getpid()} on {socket.gethostname()} (it writes config.toml once",
    ),
    "other files": (
        lambda d: (d.mkdir(), (d / "notes.txt").write_text("x")),
        "is not a run directory (no config.toml)",
    ),
}


@pytest.mark.parametrize("command", ["resume", "eval", "export", "baselines"])
@pytest.mark.parametrize("case", NOT_A_RUN)
def test_a_folder_that_is_not_a_run_says_what_it_is(tmp_path, capsys, command, case):
    """A run killed between making its folder and writing its config leaves an empty folder:
    every command that takes a run says nothing was trained, in one line, and writes nothing."""
    make, expected = NOT_A_RUN[case]
    target = tmp_path / "run"
    make(target)
    before = sorted(p.name for p in target.iterdir()) if target.is_dir() else None
    args = [command, str(target)] + (["--out", str(tmp_path / "m.onnx")] if command == "export" else [])
    assert main(args) != 0
    err = capsys.readouterr().err.strip().splitlines()
    if command == "baselines" and case in ("missing", "a file"):  # taken as a config file instead
        assert len(err) == 1 and str(target) in err[0]
    else:
        assert len(err) == 1 and err[0].startswith(f"error: {target} {expected}")
    assert (sorted(p.name for p in target.iterdir()) if target.is_dir() else None) == before
    assert not (tmp_path / "m.onnx").exists()


TAMPER = {
    "state.best_value": lambda c: c["state"].__setitem__("best_value", "abc"),
    "state.elapsed": lambda c: c["state"].__setitem__("elapsed", "long"),
    "state.epoch_sums": lambda c: c["state"].__setitem__("epoch_sums", {"scene": "x", "n": 1.0}),
    "state.best_metrics": lambda c: c["state"].__setitem__("best_metrics", "x"),
    "epoch_sums of other tasks": lambda c: c["state"].__setitem__("epoch_sums", {"other": 1.0}),
    "optimizer state shape": lambda c: c["optimizer"]["state"][0].__setitem__("exp_avg", torch.zeros(1)),
    "optimizer state type": lambda c: c["optimizer"]["state"].__setitem__(0, "x"),
    "rng size": lambda c: c["rng"].__setitem__("torch", torch.zeros(10, dtype=torch.uint8)),
    "meta tensor": lambda c: c["model"].__setitem__(
        next(iter(c["model"])), torch.empty(c["model"][next(iter(c["model"]))].shape, device="meta")
    ),
    "int64 weights": lambda c: c["model"].__setitem__(
        next(iter(c["model"])), c["model"][next(iter(c["model"]))].long()
    ),
    "position far ahead": lambda c: c["position"].update(step=10**9),
    "position a bool": lambda c: c["position"].update(epoch=True),
    "nan weights": lambda c: c["model"][next(iter(c["model"]))].fill_(float("nan")),
}


@pytest.mark.parametrize("edit", list(TAMPER))
def test_tampered_checkpoint_fields_are_named_and_nothing_changes(tmp_path, edit):
    store = stopped_run(tmp_path)
    ckpt = torch.load(store.last_checkpoint, weights_only=True)
    TAMPER[edit](ckpt)
    torch.save(ckpt, store.last_checkpoint)
    before = snapshot(store)
    _, events, summary = run(store.read_config(), store=RunStore(store.path), resume=True)
    assert summary.get("not_started"), summary
    assert str(store.last_checkpoint) in summary["error"] and "\n" not in summary["error"]
    assert snapshot(store) == before


def test_pickled_code_is_named_as_pickled_objects(tmp_path):
    from workbench.safe_load import LoadError, safe_torch_load

    class Evil:
        def __reduce__(self):
            return (os.system, ("true",))

    path = tmp_path / "evil.pt"
    torch.save({"model": Evil()}, path)
    with pytest.raises(LoadError, match="holds pickled Python objects"):
        safe_torch_load(path)


def test_a_plain_pickle_is_refused_in_one_line_without_torchs_warning(tmp_path, recwarn):
    """pickle.dump (protocol 4, not torch.save) drew torch's "please file an issue"
    UserWarning before the refusal."""
    import pickle

    from workbench.safe_load import LoadError, safe_torch_load

    class Evil:
        def __reduce__(self):
            return (os.system, ("true",))

    path = tmp_path / "evil.pt"
    path.write_bytes(pickle.dumps({"model": Evil()}, protocol=4))
    with pytest.raises(LoadError, match="not a PyTorch tensor file, or it is corrupt"):
        safe_torch_load(path)
    assert [str(w.message) for w in recwarn] == []


@pytest.mark.parametrize("kind", ["npz", "zip", "protocol-2"])
def test_files_that_are_no_checkpoint_are_said_without_torchs_internals(tmp_path, kind):
    """A numpy .npz renamed .pt gave "cannot be read: [enforce fail at
    inline_container.cc:180]", an old-protocol pickle "Invalid magic number; corrupt file?"."""
    import pickle
    import zipfile

    from workbench.safe_load import LoadError, safe_torch_load

    path = tmp_path / "x.pt"
    if kind == "npz":
        np.savez(tmp_path / "x.npz", a=np.zeros(3))
        (tmp_path / "x.npz").rename(path)
    elif kind == "zip":
        with zipfile.ZipFile(path, "w") as archive:
            archive.writestr("hello.txt", "hello")
    else:
        path.write_bytes(pickle.dumps({"a": [1, 2]}, protocol=2))
    with pytest.raises(LoadError) as err:
        safe_torch_load(path)
    assert str(err.value).endswith("not a PyTorch tensor file, or it is corrupt"), str(err.value)


# ------------------------------------------------------------------ names, files, JSON


def test_name_with_a_trailing_newline_is_refused():
    with pytest.raises(ConfigError) as err:
        config_from_toml_text('name = "abc\\n"\n[[tasks]]\nname = "a"\nkind = "counting"\n')
    assert err.value.path == "name"


@pytest.mark.parametrize(("name", "ok"), [("scène", False), ("x²", False), ("_", True), ("a-b_c", True)])
def test_task_names_are_ascii_words(name, ok):
    text = f'[[tasks]]\nname = "{name}"\nkind = "counting"\n'
    if ok:
        assert config_from_toml_text(text).tasks[0].name == name
    else:
        with pytest.raises(ConfigError, match=r"tasks\[0\].name"):
            config_from_toml_text(text)


def test_deep_toml_and_a_bom(tmp_path):
    deep = tmp_path / "deep.toml"
    deep.write_text("x = " + "[" * 5000 + "]" * 5000 + "\n")
    with pytest.raises(ConfigError, match="nests arrays or tables too deeply"):
        load_config(deep)
    bom = tmp_path / "bom.toml"
    bom.write_bytes(b"\xef\xbb\xbf" + b'[[tasks]]\nname = "a"\nkind = "counting"\n')
    assert load_config(bom).tasks[0].name == "a"


def test_messages_print_bounds_as_written_and_say_when_no_key_is_allowed():
    with pytest.raises(ConfigError, match="between 0 and 4294967295"):
        config_from_toml_text('[[tasks]]\nname = "a"\nkind = "counting"\n[train]\nseed = -1\n')
    with pytest.raises(ConfigError, match="unknown key; no keys are allowed here"):
        config_from_toml_text('[[tasks]]\nname = "a"\nkind = "counting"\n[weighting.params]\nx = 1\n')


@pytest.mark.parametrize(
    "change",
    [
        {"best_metrics": [1]},
        {"params": [1, 2]},
        {"created": "yesterday"},
        {"best_epoch": "x"},
        {"primary_metrics": ["a"]},
        {"tasks": 5},
        {"schema_version": True},
        {"schema_version": "1"},
        {"latency_ms": "fast"},
    ],
)
def test_one_odd_summary_never_breaks_the_runs_list(tmp_path, change):
    good, _, _ = run(tiny_config(), tmp_path)
    odd = stopped_run(tmp_path)
    data = json.loads(odd.summary_path.read_text())
    data.update(change)
    odd.summary_path.write_text(json.dumps(data))
    runs = {r.path: r for r in list_runs(tmp_path)}
    assert runs[good.path].status == "finished"
    assert odd.path in runs


def test_a_summary_that_is_deeply_nested_is_unreadable_not_fatal(tmp_path):
    odd = stopped_run(tmp_path)
    odd.summary_path.write_text("[" * 100000)
    assert {r.path: r.status for r in list_runs(tmp_path)}[odd.path] == "unreadable"


def test_odd_out_folders(tmp_path, capsys):
    link = tmp_path / "dangling"
    link.symlink_to(tmp_path / "nowhere")
    (tmp_path / "a").mkdir()
    assert cli(tmp_path / "a", "--out", str(link)) == 1
    assert "broken symbolic link" in capsys.readouterr().err
    path = tmp_path / "exp.toml"
    save_config(tiny_config(), path)
    assert main(["train", str(path), "--out", "", "--quiet"]) == 1
    assert "must not be empty" in capsys.readouterr().err


def test_unwritable_destinations_say_which_part_of_the_path_is_wrong(tmp_path, capsys):
    """The operating system's "Not a directory", "File exists" and "No such file or
    directory" (for /proc, which exists) are turned into what the user must change."""
    plain = tmp_path / "plain"
    plain.write_text("x")
    cases = {
        ("config", "--out", str(plain / "sub" / "e.toml")): f"{plain} is a file, not a folder",
        ("config", "--out", str(tmp_path / "none" / "e.toml")): f"there is no folder {tmp_path / 'none'}",
        ("config", "--out", "/proc/e.toml"): "/proc does not allow new files in it",
    }
    for argv, reason in cases.items():
        assert main(list(argv)) == 1
        assert capsys.readouterr().err.strip() == f"error: cannot write {argv[-1]}: {reason}"
    assert not (tmp_path / "none").exists() and plain.read_text() == "x"
    for root, reason in (
        (plain / "runs", f"{plain} is a file, not a folder"),
        (Path("/proc/runs"), "/proc does not allow new files in it"),
    ):
        with pytest.raises(SaveFailed) as caught:
            RunStore.create(root, "e")
        assert str(caught.value) == f"cannot write {root}: {reason}"


def test_config_out_never_replaces_a_special_file_and_writes_through_links(tmp_path, capsys):
    fifo = tmp_path / "fifo"
    os.mkfifo(fifo)
    assert main(["config", "--out", str(fifo), "--force"]) == 1
    assert "not a regular file" in capsys.readouterr().err
    assert fifo.exists() and not fifo.is_file()
    target = tmp_path / "real.toml"
    target.write_text("old")
    link = tmp_path / "link.toml"
    link.symlink_to(target)
    # an existing file is an experiment someone edited: kept unless --force
    assert main(["config", "--out", str(link)]) == 2
    assert "exists; choose a new name, or add --force" in capsys.readouterr().err
    assert target.read_text() == "old"
    assert main(["config", "--out", str(link), "--force"]) == 0
    assert link.is_symlink() and "shapes-cls-det-seg" in target.read_text()
    fresh = tmp_path / "new.toml"
    assert main(["config", "--out", str(fresh)]) == 0 and "shapes-cls-det-seg" in fresh.read_text()


def test_failed_save_leaves_a_summary_of_the_committed_epoch(tmp_path, monkeypatch):
    from workbench.training import checkpoint as checkpoint_module

    calls = {"n": 0}
    original = checkpoint_module.atomic_write

    def atomic_write(path, write, mode="wb", make_folder=False):
        if path.name == "last.pt":
            calls["n"] += 1
            if calls["n"] == 2:
                raise OSError(28, "No space left on device")
        return original(path, write, mode, make_folder)

    monkeypatch.setattr(checkpoint_module, "atomic_write", atomic_write)
    cfg = tiny_config()
    cfg.train.epochs = 3
    store, _, summary = run(cfg, tmp_path)
    assert summary["status"] == "failed"
    on_disk = json.loads(store.summary_path.read_text())
    assert on_disk["epochs_done"] == 1 and on_disk["global_step"] == 3
    assert [r["epoch"] for r in store.read_metrics() if r["type"] == "epoch"] == [0]
    assert load_checkpoint(store.best_checkpoint, "best")["epoch"] == 0
    assert not store.pending_best.exists()


# ------------------------------------------------------------------ the lock


def test_a_run_folder_that_cannot_be_written_says_the_way_out(tmp_path, monkeypatch, capsys):
    """A run on a read-only disk: resume said "cannot write RUN/.lock: Read-only file
    system" and no more; eval scored every image, then said the same and showed nothing.
    Resume names the folder and the way out; eval shows its results, then says they are
    not saved (exit 1). (As root, a read-only folder is not read-only: os.open is made to
    answer as a read-only file system does.)"""
    import errno
    import os

    store = stopped_run(tmp_path)
    real_open = os.open

    def read_only(path, flags, *args, **kwargs):
        if str(path).startswith(str(store.path)) and flags & (os.O_WRONLY | os.O_RDWR):
            raise OSError(errno.EROFS, "Read-only file system", str(path))
        return real_open(path, flags, *args, **kwargs)

    monkeypatch.setattr(os, "open", read_only)
    with pytest.raises(OSError) as raised:
        RunLock(store.path).acquire()
    assert str(raised.value) == (
        f"cannot write {store.path}: Read-only file system; a run trains in its own folder: copy the "
        "folder to one you can write and resume the copy"
    )
    import tempfile

    monkeypatch.setattr(
        tempfile,
        "mkstemp",
        lambda *a, **k: (_ for _ in ()).throw(OSError(errno.EROFS, "Read-only file system")),
    )
    capsys.readouterr()
    assert main(["eval", str(store.path)]) == 1
    out, err = capsys.readouterr()
    assert "scene (16 labelled): loss " in out  # the results are shown
    assert err.endswith(
        f"error: cannot write {store.path / 'eval_best.json'}: Read-only file system; the results above are not saved\n"
    )
    assert not (store.path / "eval_best.json").exists()


def test_one_process_cannot_take_a_lock_it_holds(tmp_path):
    a = RunLock(tmp_path)
    a.acquire()
    with pytest.raises(RunBusy, match="by this process"):
        RunLock(tmp_path).acquire()
    a.release()
    RunLock(tmp_path).acquire()  # free again


def _race(path, barrier, results):
    from workbench.training.run_lock import RunBusy, RunLock

    barrier.wait()
    try:
        RunLock(path).acquire()
        results.put("won")
    except RunBusy:
        results.put("busy")


def test_two_processes_racing_for_a_lock_one_wins(tmp_path):
    ctx = multiprocessing.get_context("fork")
    for trial in range(5):
        folder = tmp_path / str(trial)
        folder.mkdir()
        barrier, results = ctx.Barrier(2), ctx.Queue()
        procs = [ctx.Process(target=_race, args=(folder, barrier, results)) for _ in range(2)]
        for p in procs:
            p.start()
        for p in procs:
            p.join(30)
        assert sorted(results.get(timeout=5) for _ in procs) == ["busy", "won"]


def test_removed_metrics_log_fails_the_run(tmp_path):
    def remove(e):
        if isinstance(e, StepEnded) and e.global_step == 1:
            store.metrics_path.unlink()

    store = RunStore.create(tmp_path, "tiny")
    _, _, summary = run(tiny_config(), store=store, subscribers=[remove])
    assert summary["status"] == "failed" and "metrics.jsonl: it was removed" in summary["error"]


def test_eval_warns_when_the_config_changed(tmp_path, capsys):
    store, _, _ = run(tiny_config(), tmp_path)
    cfg = store.read_config()
    cfg.data.options["val_size"] = 32
    save_config(cfg, store.config_path)
    assert main(["eval", str(store.path)]) == 0
    err = capsys.readouterr().err
    assert err.startswith("warning:") and "data.options.val_size: 16 -> 32" in err


def test_eval_refuses_a_newer_schema(tmp_path, capsys):
    store, _, _ = run(tiny_config(), tmp_path)
    data = json.loads(store.summary_path.read_text())
    data["schema_version"] = 99
    store.summary_path.write_text(json.dumps(data))
    assert main(["eval", str(store.path)]) == 1
    assert "schema version 99" in capsys.readouterr().err
    assert not (store.path / "eval_best.json").exists()


def test_version_names_app_torch_cuda_and_qt(capsys):
    import importlib.metadata

    from workbench import __version__
    from workbench.cli import main

    assert main(["--version"]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[0] == f"workbench {__version__}"
    assert any(line.startswith(f"torch {torch.__version__}, CUDA build ") for line in out)
    assert f"Qt {importlib.metadata.version('PySide6-Essentials')}" in out[-1]


def test_one_line_errors_name_the_file_not_the_exception_class(tmp_path):
    from workbench.training.run_store import RunFileError, RunStore
    from workbench.training.trainer import describe_error

    moved = IsADirectoryError(21, "Is a directory", "/tmp/.m.part", None, "/tmp/out")
    assert describe_error(moved) == "/tmp/out: Is a directory"  # the target, not the temp file
    assert describe_error(PermissionError(13, "Permission denied", "/r/x")) == "/r/x: Permission denied"
    assert describe_error(OSError(30, "Read-only file system")) == "Read-only file system"
    deep = "/tmp/" + "/".join(["d" * 200] * 20) + "/config.toml"  # 4,000 characters
    line = describe_error(OSError(36, "File name too long", deep))
    assert len(line) <= 600 and line.endswith("d/config.toml: File name too long")  # the reason stays
    assert line.startswith("/tmp/ddd") and " … " in line
    assert describe_error(MemoryError()).startswith("out of memory; ")
    store = RunStore.create(tmp_path, "r")
    for content in (b"", b"[1, 2]", b"\xff{"):
        store.summary_path.write_bytes(content)
        with pytest.raises(RunFileError) as caught:
            store.read_summary()
        line = describe_error(caught.value)
        assert line.startswith(f"{store.summary_path} is ") and "Error" not in line


def _disk_full_after(n: int):
    """A stand-in for a writer that fills the disk on its (n+1)-th write."""
    import errno

    calls = [0]

    def fail(*args, **kwargs):
        calls[0] += 1
        if calls[0] > n:
            raise OSError(errno.ENOSPC, "No space left on device")
        return fail.real(*args, **kwargs)

    return fail


@pytest.mark.parametrize("fmt", ["coco", "voc", "yolo"])
@pytest.mark.parametrize("existed", [False, True])
def test_data_export_on_a_full_disk_names_the_file_and_keeps_no_part(
    tmp_path, capsys, monkeypatch, fmt, existed
):
    from PIL import Image

    config = tmp_path / "c.toml"
    save_config(tiny_config(), config)
    out = tmp_path / "export"
    if existed:
        out.mkdir()  # an empty folder is allowed, and stays (empty)
    fail = _disk_full_after(3)
    fail.real = Image.Image.save
    monkeypatch.setattr(Image.Image, "save", fail)
    args = ["data", "export", "--config", str(config), "--format", fmt, str(out)]
    assert main([*args, "--train-size", "4", "--val-size", "2"]) == 1
    err = [line for line in capsys.readouterr().err.splitlines() if line.strip()]
    assert err[-1].startswith(f"error: cannot write {out}/") and err[-1].endswith(
        ".png: No space left on device; the partial export was removed"
    )
    assert (list(out.iterdir()) == []) if existed else not out.exists()


def test_a_run_that_cannot_write_its_lock_names_it_and_leaves_no_folder(tmp_path, capsys, monkeypatch):
    import workbench.training.run_lock as run_lock

    config = tmp_path / "c.toml"
    save_config(tiny_config(), config)

    class FullFile:
        def __init__(self, fd, *a, **k):
            self.fh = open(fd, "w")  # noqa: SIM115

        def __enter__(self):
            return self

        def __exit__(self, *exc):
            self.fh.close()

        def write(self, text):
            import errno

            raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(run_lock.os, "fdopen", FullFile)
    assert main(["train", str(config), "--out", str(tmp_path / "runs"), "--quiet"]) == 1
    said = capsys.readouterr()
    assert "run directory" not in said.out  # it is removed: not named as where the run is
    err = said.err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith(
        f"error: cannot write {tmp_path / 'runs'}/"
    )  # nothing was written: no failed run
    assert err[0].endswith("/.lock: No space left on device")
    assert list((tmp_path / "runs").iterdir()) == []  # nothing was written: no folder kept


def test_static_weighting_with_every_weight_zero_is_refused():
    from workbench.experiment_check import validate_experiment

    cfg = tiny_config()
    cfg.weighting.method = "static"
    for t in cfg.tasks:
        t.loss_weight = 0.0
    with pytest.raises(ConfigError, match="tasks\\[0\\].loss_weight: every task's loss weight is 0"):
        validate_experiment(cfg)
    cfg.tasks[1].loss_weight = 0.5  # one is enough
    validate_experiment(cfg)
    cfg.weighting.method = "equal_sum"  # loss weights are read by 'static' only
    cfg.tasks[1].loss_weight = 0.0
    validate_experiment(cfg)


def test_eval_of_a_last_checkpoint_saved_within_an_epoch_names_that_epoch(tmp_path, capsys):
    """A run stopped after 8 steps of 4 an epoch, before it validated its second epoch, was
    said to hold "the weights of epoch 1"; one stopped in its first epoch "epoch 0", and
    eval_last.json had epoch_index -1."""
    from workbench.training.checkpoint import load_checkpoint

    store = stopped_run(tmp_path, at_step=4)  # 3 steps an epoch: stopped after step 1 of epoch 2
    position = load_checkpoint(store.last_checkpoint)["position"]
    assert (position["epoch"], position["step"]) == (1, 1)
    assert main(["eval", str(store.path), "--checkpoint", "last"]) == 0
    out = capsys.readouterr().out
    assert (
        out.splitlines()[0]
        == f"{store.last_checkpoint}: the weights of epoch 2, after step 1 of it (not validated)"
    )
    written = json.loads((store.path / "eval_last.json").read_text())
    assert (written["epoch"], written["epoch_index"]) == (2, 1)
    first = stopped_run(tmp_path / "first", at_step=1)  # in its first epoch
    assert main(["eval", str(first.path), "--checkpoint", "last"]) == 0
    assert "the weights of epoch 1, after step 1 of it (not validated)" in capsys.readouterr().out
    assert json.loads((first.path / "eval_last.json").read_text())["epoch_index"] == 0


def test_eval_names_the_epoch_it_scored_and_warns_while_the_run_trains(tmp_path, capsys):
    store, _, _ = run(tiny_config(), tmp_path)
    best_epoch = store.read_summary()["best_epoch"] + 1  # 0-based in the summary
    assert main(["eval", str(store.path)]) == 0
    out, err = capsys.readouterr()
    assert out.splitlines()[0] == f"{store.best_checkpoint}: the weights of epoch {best_epoch}" and not err
    written = json.loads((store.path / "eval_best.json").read_text())
    assert written["epoch"] == best_epoch
    # the summary's 0-based number, to join the files without an off-by-one
    assert written["epoch_index"] == store.read_summary()["best_epoch"]
    assert main(["eval", str(store.path), "--checkpoint", "last"]) == 0
    assert capsys.readouterr().out.splitlines()[0] == f"{store.last_checkpoint}: the weights of epoch 2"
    # the same run while a live process trains it (a lock held by this process)
    summary = json.loads(store.summary_path.read_text())
    summary["status"] = "running"
    store.summary_path.write_text(json.dumps(summary))
    lock = RunLock(store.path)
    lock.acquire()
    try:
        assert main(["eval", str(store.path)]) == 0
    finally:
        lock.release()
    err = capsys.readouterr().err
    assert err.startswith(f"warning: {store.path} is still training: its best.pt may be replaced")


def test_a_torchscript_model_given_as_a_checkpoint_is_named_without_torchs_advice(tmp_path, capsys):
    """An exported model is the likeliest wrong file to hand to resume, eval or --init-from:
    named as what it is, and torch's suggestion of weights_only=False never repeated."""
    import warnings

    from workbench.safe_load import LoadError, safe_torch_load

    path = tmp_path / "model.torchscript.pt"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # torch.jit's deprecation notices
        torch.jit.save(torch.jit.trace(torch.nn.Linear(2, 2), torch.zeros(1, 2)), str(path))
    with pytest.raises(LoadError) as info:
        safe_torch_load(path)
    assert str(info.value) == (
        f"{path} is a TorchScript model (as 'workbench export' writes), not a checkpoint or weights "
        "file; load it with torch.jit.load"
    )
    config = tmp_path / "c.toml"
    save_config(tiny_config(), config)
    assert main(["train", str(config), "--out", str(tmp_path / "runs"), "--init-from", str(path)]) == 2
    err = capsys.readouterr().err
    assert "is a TorchScript model" in err and "weights_only" not in err and err.count("\n") == 1


def test_a_weights_file_that_is_not_used_is_said_in_the_notes(tmp_path):
    cfg = tiny_config()
    cfg.train.epochs = 1
    cfg.model.weights_file = str(tmp_path / "left-in-the-form.pth")  # pretrained stays "none"
    store, _, _ = run(cfg, tmp_path)
    summary = store.read_summary()
    assert summary["status"] == "finished"
    assert (
        f"model.weights_file is set but model.pretrained = 'none': {tmp_path / 'left-in-the-form.pth'} "
        "is not loaded" in summary["notes"]
    )


def test_the_run_notes_are_said_with_quiet_too(tmp_path, capsys):
    """--quiet drops the progress bar, not the warnings: a weights file left in the config
    but not loaded was said only in summary.json."""

    cfg = tiny_config()
    cfg.train.epochs = 1
    cfg.model.weights_file = str(tmp_path / "left-in-the-form.pth")
    save_config(cfg, tmp_path / "c.toml")
    assert main(["train", str(tmp_path / "c.toml"), "--out", str(tmp_path / "runs"), "--quiet"]) == 0
    err = capsys.readouterr().err
    assert "note: " in err and "left-in-the-form.pth is not loaded" in err
    assert "it/s" not in err and "step/s" not in err  # still no progress bar


def test_config_errors_name_the_file_they_came_from(tmp_path, capsys):
    """ "error: config: bogus: unknown key" did not say whether the sweep file or its base
    config held it."""
    base = tmp_path / "base.toml"
    save_config(tiny_config(), base)
    sweep = tmp_path / "sw.toml"
    sweep.write_text(f'name = "s"\nbase = "{base}"\nbogus = 2\n')
    assert main(["sweep", str(sweep), "--list"]) == 2
    assert capsys.readouterr().err.strip().endswith(f"(in {sweep})")
    base.write_text(base.read_text() + "\nbogus = 1\n")
    assert main(["train", str(base), "--out", str(tmp_path / "runs")]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("error: config: train.bogus: unknown key") and err.endswith(f"(in {base})")


def test_method_parameter_conflicts_are_config_errors(tmp_path, capsys):
    """graddrop with every = 2 ended as "error: ValueError: ..." (exit 1) like a crash; it is
    a wrong config value: "error: config: ..." and exit 2, no run folder."""
    from workbench.config import WeightingConfig

    for method, params, words in (
        ("graddrop", {"every": 2}, "weighting.params.every: graddrop has no task weights to reuse"),
        (
            "excess_mtl",
            {"path": "gramian"},
            "weighting.params.path: excess_mtl's weights need the full Jacobian",
        ),
    ):
        cfg = tiny_config()
        cfg.weighting = WeightingConfig(method=method, params=params)
        path = tmp_path / f"{method}.toml"
        save_config(cfg, path)
        assert main(["train", str(path), "--out", str(tmp_path / "runs"), "--quiet"]) == 2
        err = capsys.readouterr().err
        assert f"error: config: {words}" in err and "ValueError" not in err
    assert not (tmp_path / "runs").exists() or not any((tmp_path / "runs").iterdir())


def test_a_solver_installed_but_broken_is_named_before_training(tmp_path, monkeypatch, capsys):
    """A cvxpy that fails on import passed the "installed?" check (find_spec) and the run
    failed steps later with torchjd's "NameError: name 'np' is not defined"."""
    import importlib

    from workbench.config import WeightingConfig
    from workbench.weighting.gradient_methods import GRADIENT_METHODS

    spec = GRADIENT_METHODS["cagrad"]
    if spec.missing():
        pytest.skip("cvxpy is not installed here")
    real = importlib.import_module

    def import_module(name, *args, **kwargs):
        if name == "cvxpy":
            raise ImportError("libfoo.so: cannot open shared object file")
        return real(name, *args, **kwargs)

    monkeypatch.setattr(importlib, "import_module", import_module)
    assert "cvxpy, which is installed but cannot be imported (ImportError: libfoo.so" in spec.broken()
    cfg = tiny_config()
    cfg.weighting = WeightingConfig(method="cagrad")
    path = tmp_path / "c.toml"
    save_config(cfg, path)
    # a config error, found before any run folder is made
    assert main(["train", str(path), "--out", str(tmp_path / "runs"), "--quiet"]) == 2
    err = capsys.readouterr().err
    assert (
        "error: config: weighting.method: cagrad needs cvxpy, which is installed but cannot be imported"
        in err
    )
    assert not (tmp_path / "runs").exists()  # nothing made, nothing trained
    assert "pip install --force-reinstall cvxpy" in err


def test_requests_a_run_cannot_honour_are_noted(tmp_path):
    """amp_dtype = "float16" on the CPU and lookahead affinity with one task were ignored
    without a word (the summary said float32, the conflict entry was {})."""
    from workbench.config import WeightingConfig
    from workbench.training.run_store import RunStore
    from workbench.training.trainer import Trainer

    cfg = tiny_config(tasks=(("scene", "classification"),))
    cfg.train.epochs = 1
    cfg.train.amp, cfg.train.amp_dtype = True, "float16"
    cfg.weighting = WeightingConfig(method="equal_sum", conflict_every=1, lookahead_affinity=True)
    summary = Trainer(cfg, RunStore.create(tmp_path, "r")).run()
    notes = summary["notes"]
    assert any("train.amp_dtype = 'float16' is not used on cpu" in n and "float32" in n for n in notes)
    assert "lookahead task affinity is not measured: it needs two tasks or more" in notes
    cfg.train.amp_dtype = "auto"  # the default: nothing to say
    cfg.weighting.lookahead_affinity = False
    summary = Trainer(cfg, RunStore.create(tmp_path, "r2")).run()
    assert not any("amp_dtype" in n or "affinity" in n for n in summary.get("notes") or [])


def test_a_runs_edited_config_is_named_in_its_errors(tmp_path, capsys):
    from workbench.training.run_store import RunStore
    from workbench.training.trainer import Trainer

    cfg = tiny_config()
    cfg.train.epochs = 1
    store = RunStore.create(tmp_path, "r")
    Trainer(cfg, store).run()
    text = store.config_path.read_text()
    store.config_path.write_text(text.replace("[train]", "[train]\nbogus = 1"))
    assert main(["resume", str(store.path)]) == 2
    err = capsys.readouterr().err
    assert "train.bogus" in err and f"(in {store.config_path})" in err
    store.config_path.unlink()
    store.config_path.mkdir()
    assert main(["resume", str(store.path)]) == 1
    assert f"{store.config_path} is not a file" in capsys.readouterr().err


def test_an_empty_device_option_is_refused_not_ignored(tmp_path, capsys):
    path = tmp_path / "c.toml"
    save_config(tiny_config(), path)
    assert main(["train", str(path), "--device", "", "--out", str(tmp_path / "runs")]) == 2
    assert "--device: '' is not allowed; use auto, cpu, cuda, cuda:N or mps" in capsys.readouterr().err


def test_a_sweep_file_given_where_an_experiment_belongs_says_so(tmp_path, capsys):
    import shlex

    from workbench.cli import main

    for name in ("s.toml", "-my sweep's $X.toml"):  # the hint is pasted: quoted, "./" before "-"
        sweep = tmp_path / name
        sweep.write_text('name = "s"\nbase = "exp.toml"\nseeds = [0, 1]\n')
        for command in (["train", str(sweep)], ["baselines", str(sweep)]):
            assert main(command) == 2
            err = capsys.readouterr().err.strip()
            head = f"error: config: {sweep} is a sweep file (it has 'base'), not an experiment; run it with: "
            assert err.startswith(head)
            assert shlex.split(err[len(head) :]) == ["workbench", "sweep", str(sweep)]
    rel = __import__("workbench.shell_command", fromlist=["x"]).workbench_command(
        "sweep", __import__("pathlib").PurePath("-a b.toml")
    )
    assert shlex.split(rel) == ["workbench", "sweep", "./-a b.toml"]


def test_a_data_path_that_is_not_there_names_its_field(tmp_path, capsys):
    from workbench.cli import main
    from workbench.config import DataConfig

    cfg = tiny_config()
    cfg.data = DataConfig(source="folder", path=str(tmp_path / "nodata"), options={"image_size": 32})
    path = tmp_path / "exp.toml"
    save_config(cfg, path)
    assert main(["train", str(path), "--out", str(tmp_path / "runs"), "--quiet"]) == 2
    assert (
        capsys.readouterr().err
        == f"error: config: data.path: {tmp_path / 'nodata'} does not exist (in {path})\n"
    )
    assert not (tmp_path / "runs").exists()


def _exact_rates_each_epoch(monkeypatch, rates: list[float], patience: int):
    """A tiny config of len(rates) epochs monitoring n/exact, which validation reports as
    ``rates[epoch]``."""
    real = Trainer._validate

    def validate(self, loop, epoch):
        result = real(self, loop, epoch)
        result.metrics["n"]["exact"] = rates[epoch]
        return result

    monkeypatch.setattr(Trainer, "_validate", validate)
    cfg = tiny_config()
    cfg.train.epochs = len(rates)
    cfg.train.early_stopping_metric = "n/exact"
    cfg.train.patience = patience
    return cfg


def test_early_stopping_follows_the_metrics_own_direction(tmp_path, monkeypatch):
    """Counting's MAE is lower-is-better but its exact-count rate higher-is-better: the
    monitored metric's direction, not the task kind's, decides the best epoch."""
    from workbench.tasks.counting import Counting

    assert not Counting.metric_higher_is_better("mae") and Counting.metric_higher_is_better("exact")
    # rising every epoch: each is the best so far; one epoch "without improvement" would
    # stop the run at epoch 2
    cfg = _exact_rates_each_epoch(monkeypatch, [0.3, 0.6, 0.9], patience=1)
    _, _, summary = run(cfg, tmp_path)
    assert summary["status"] == "finished" and summary["epochs_done"] == 3
    assert summary["best_epoch"] == 2


def test_resuming_a_run_that_stopped_early_says_why_and_how_on(tmp_path, monkeypatch):
    """It exited 0 having trained nothing and said nothing. It is refused like a run that
    trained all its epochs, with the way on (raise train.patience), and a raised patience
    trains on."""
    # falling after epoch 0: patience 1 stops after epoch 1
    cfg = _exact_rates_each_epoch(monkeypatch, [0.5, 0.4, 0.45, 0.3, 0.2], patience=1)
    store, _, summary = run(cfg, tmp_path)
    assert summary["status"] == "finished" and summary["epochs_done"] == 2
    assert "early stopping: no better n/exact for 1 epoch" in str(summary.get("notes") or summary.get("note"))
    _, _, again = run(store.read_config(), store=RunStore(store.path), resume=True)
    assert again.get("not_started") and again["error"] == (
        f"{store.path} stopped early: no better n/exact for 1 epoch (train.patience = 1); raise "
        f"train.patience in {store.config_path} to train further"
    )
    assert RunStore(store.path).read_summary()["status"] == "finished"  # untouched
    raised = store.read_config()
    raised.train.patience = 3
    save_config(raised, store.config_path)
    _, _, more = run(store.read_config(), store=RunStore(store.path), resume=True)
    # epochs 1, 2 and 3 (0.4, 0.45, 0.3) are no better than epoch 0 (0.5): it stops after epoch 3
    assert more["status"] == "finished" and more["epochs_done"] == 4


def test_more_epochs_on_resume_say_what_they_do_to_a_cosine_schedule(tmp_path):
    """A finished cosine run given more epochs jumped from its last rate back up, with only
    "train.epochs: 3 -> 5" said. lr 0.01, warm-up 3, 3 epochs of 3 steps: the last step
    (index 8) ran at 0.005 (1 + cos(pi (8 - 3) / 6)) = 0.000670; over 5 epochs (15 steps)
    step index 9 runs at 0.005 (1 + cos(pi (9 - 3) / 12)) = 0.005."""
    cfg = tiny_config()
    cfg.optim.lr, cfg.optim.schedule, cfg.optim.warmup_steps = 0.01, "cosine", 3
    cfg.train.epochs = 3
    store, _, summary = run(cfg, tmp_path)
    assert summary["status"] == "finished"
    more = store.read_config()
    more.train.epochs = 5
    save_config(more, store.config_path)
    _, events, resumed = run(store.read_config(), store=RunStore(store.path), resume=True)
    said = "train.epochs 3 -> 5: the cosine schedule is laid out again over 5 epochs, so the learning rate goes from 0.00067 (step 9) to 0.005 (step 10)"
    assert said in resumed["notes"]
    steps = [r for r in RunStore(store.path).read_metrics() if r["type"] == "step"]
    assert [round(r["lr"], 6) for r in steps if r["global_step"] in (9, 10)] == [0.00067, 0.005]


def test_a_warm_up_longer_than_the_run_is_said(tmp_path):
    """warmup_steps = 20 on a 6-step run: the rate rose to 0.01 * 6 / 20 = 0.003 and never
    reached lr = 0.01, without a word."""
    cfg = tiny_config()
    cfg.optim.lr, cfg.optim.schedule, cfg.optim.warmup_steps = 0.01, "cosine", 20
    cfg.train.epochs = 2
    _, _, summary = run(cfg, tmp_path)
    assert (
        "optim.warmup_steps = 20 is more than the run's 6 steps: the learning rate rises to 0.003 and "
        "never reaches optim.lr = 0.01, and the cosine decay never starts"
    ) in summary["notes"]


def test_a_full_disk_at_the_best_checkpoint_names_best_pt(tmp_path, monkeypatch):
    """It named the staging file: "cannot write .../checkpoints/best.next.pt: No space left
    on device"; the user knows best.pt."""
    from workbench.fsutil import SaveFailed
    from workbench.training import trainer as trainer_module

    real = trainer_module.save_checkpoint

    def full(path, *args, **kwargs):
        if Path(path).name == "best.next.pt":
            raise SaveFailed(path, "No space left on device")
        return real(path, *args, **kwargs)

    monkeypatch.setattr(trainer_module, "save_checkpoint", full)
    store, _, summary = run(tiny_config(), tmp_path)
    assert summary["status"] == "failed"
    assert f"cannot write {store.best_checkpoint}: No space left on device" in summary["error"]


def test_a_lock_whose_pid_now_names_a_newer_process_is_stale(tmp_path):
    """PIDs wrap: a run killed long ago whose lock's PID now belongs to another live
    process stayed "running" for good, and its resume was refused. A process that started
    after the lock was written cannot have written it."""
    from workbench.training.run_lock import PID_REUSE_SLACK_S, LockInfo, lock_is_live, process_start

    host = socket.gethostname()
    child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    try:
        began = process_start(child.pid)
        if began is None:
            pytest.skip("no /proc here: a reused PID cannot be told")
        assert abs(began - time.time()) < 30  # it started just now
        # written when it started: live; written an hour before it started: another process's
        assert lock_is_live(LockInfo(child.pid, host, began, time.time()))
        assert lock_is_live(LockInfo(child.pid, host, began - PID_REUSE_SLACK_S + 1, time.time()))
        assert not lock_is_live(LockInfo(child.pid, host, began - 3600, time.time()))

        store = stopped_run(tmp_path)  # a run "running" whose lock names the newer process
        summary = store.read_summary()
        summary["status"] = "running"
        store.write_summary(summary)
        (store.path / ".lock").write_text(json.dumps({"pid": child.pid, "host": host, "started": 1000.0}))
        (info,) = [r for r in list_runs(store.path.parent) if r.path == store.path]
        assert info.status == "interrupted"
        RunLock(store.path).acquire()  # a resume may take it
    finally:
        child.kill()
        child.wait()


def test_a_runs_folder_too_long_for_a_runs_files_is_refused_before_training(tmp_path, capsys):
    """A runs folder of ~4,050 characters trained an epoch, then failed writing its
    checkpoint ("File name too long"). The room a run's files need is checked as its
    folder is made."""
    from workbench.training.run_store import RUN_FILES_ROOM

    limit = os.pathconf(tmp_path, "PC_PATH_MAX")
    deep = tmp_path  # a folder of limit - 100 bytes: itself fine, a run's files in it not
    while len(os.fsencode(str(deep))) + 251 < limit - 100:
        deep = deep / ("d" * 250)
    deep = deep / ("e" * (limit - 100 - len(os.fsencode(str(deep))) - 1))
    assert len(os.fsencode(str(deep))) == limit - 100 and RUN_FILES_ROOM > 100
    deep.mkdir(parents=True)
    config = tmp_path / "exp.toml"
    save_config(tiny_config(), config)
    assert main(["train", str(config), "--out", str(deep), "--quiet"]) == 1
    err = capsys.readouterr().err.strip()
    assert err.startswith(
        f"error: cannot write {deep}: its path is too long for a run: the run's folder would be "
    )
    assert err.endswith(f"within the system's limit of {limit:,}; choose a shorter runs folder")
    assert list(deep.iterdir()) == []  # nothing made
    # a runs folder not made yet is not made (22 empty levels were left behind), for a
    # sweep's and the baselines' runs too
    deeper = deep / "new" / "runs"
    assert main(["train", str(config), "--out", str(deeper), "--quiet"]) == 1
    assert not (deep / "new").exists()
    sweep = tmp_path / "s.toml"
    sweep.write_text(f'name = "s"\nbase = "{config.name}"\nseeds = [0, 1]\nbaselines = false\n')
    capsys.readouterr()
    assert main(["sweep", str(sweep), "--out", str(deep), "--quiet"]) == 1
    err = capsys.readouterr().err.strip()
    assert err.startswith(f"error: cannot write {deep / 's' / 'runs'}: its path is ") and "\n" not in err
    assert list(deep.iterdir()) == []
    assert main(["baselines", str(config), "--out", str(deeper), "--quiet"]) == 1
    err = capsys.readouterr().err.strip()
    assert err.startswith(f"error: cannot write {deeper}: its path is ") and "training" not in err
    assert not (deep / "new").exists()


def test_a_deleted_working_folder_is_one_line_for_the_cli_and_the_app(tmp_path, capsys, monkeypatch):
    """Started in a folder deleted since, the app raised FileNotFoundError from its runs list
    and every command that loads torch died in MKL ("Cannot load libtorch_cpu.so")."""
    import os

    from workbench.cli import main

    gone = tmp_path / "gone"
    gone.mkdir()
    here = os.getcwd()
    os.chdir(gone)
    try:
        gone.rmdir()
        for argv in (["data", "check", str(tmp_path)], []):
            assert main(argv) == 2
            assert capsys.readouterr().err.strip() == (
                "error: the current folder no longer exists (it was deleted or moved after this shell "
                "entered it); cd to an existing folder and run the command again"
            )
    finally:
        os.chdir(here)


def test_a_closed_stdout_is_no_internal_error(tmp_path):
    """`workbench config >&-` said "error: AttributeError: 'NoneType' object has no
    attribute 'write'" (Python's sys.stdout is None there)."""
    import subprocess
    import sys

    done = subprocess.run(
        [sys.executable, "-m", "workbench", "config"], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
        close_fds=True, text=True, cwd=tmp_path,
        preexec_fn=lambda: __import__("os").close(1),
    )  # fmt: skip
    assert done.returncode == 0 and done.stderr == ""


def test_an_image_named_in_bytes_that_are_not_utf8_trains_and_is_reported(tmp_path, capsys):
    """`bad\\xff.png` passed `data check` and then failed every run with "UnicodeEncodeError:
    surrogates not allowed" (the image cache's key), and a problem with such a file could
    not be written to import_report.txt."""
    import os

    from PIL import Image

    from workbench.cli import main
    from workbench.config import DataConfig

    root = tmp_path / "set"
    for c, colour in (("a", (200, 0, 0)), ("b", (0, 0, 200))):
        (root / c).mkdir(parents=True)
        for i in range(5):
            Image.new("RGB", (24, 24), colour).save(root / c / f"{i}.png")
    Image.new("RGB", (24, 24), (200, 0, 0)).save(os.fsdecode(os.fsencode(str(root / "a")) + b"/bad\xff.png"))
    (root / "b" / "x.png").write_bytes(b"no picture")  # a problem, for the report
    os.rename(root / "b" / "x.png", os.fsdecode(os.fsencode(str(root / "b")) + b"/x\xfe.png"))
    cfg = tiny_config(tasks=(("c", "classification"),))
    cfg.data = DataConfig(source="folder", path=str(root), options={"image_size": 32})
    path = tmp_path / "exp.toml"
    save_config(cfg, path)
    assert main(["train", str(path), "--out", str(tmp_path / "runs"), "--quiet"]) == 0
    (run,) = (tmp_path / "runs").iterdir()
    assert "x\\udcfe.png" in (run / "import_report.txt").read_text(encoding="utf-8")
    capsys.readouterr()
