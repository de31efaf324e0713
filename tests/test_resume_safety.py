"""Resume and eval check what they load before changing anything (issue 6: items 4, 5, 6, 25, 26)."""

from __future__ import annotations

import json

import pytest
import torch
from conftest import tiny_config

from workbench.cli import main
from workbench.config import ConfigError
from workbench.experiment_check import save_config
from workbench.models.backbones import BACKBONES
from workbench.safe_load import LoadError, safe_torch_load
from workbench.training.checkpoint import CheckpointError, load_checkpoint
from workbench.training.control import RunControl
from workbench.training.events import RunFailed, RunStarted, StepEnded
from workbench.training.preflight import preflight
from workbench.training.run_store import RunStore
from workbench.training.trainer import Trainer


def run(cfg, root=None, subscribers=(), control=None, store=None, resume=False):
    store = store or RunStore.create(root, cfg.name)
    events: list = []
    summary = Trainer(cfg, store, control, [events.append, *subscribers], resume=resume).run()
    return store, events, summary


def stopped_run(tmp_path, at_step=4):
    control = RunControl()

    def stop(e):
        if isinstance(e, StepEnded) and e.global_step == at_step:
            control.request_stop()

    return run(tiny_config(), tmp_path, [stop], control)[0]


def snapshot(store: RunStore) -> dict[str, bytes]:
    return {
        p.relative_to(store.path).as_posix(): p.read_bytes() for p in store.path.rglob("*") if p.is_file()
    }


def edit_config(store: RunStore, change) -> None:
    cfg = store.read_config()
    change(cfg)
    save_config(cfg, store.config_path)


# ------------------------------------------------------------------ item 4: preflight


@pytest.mark.parametrize("backbone", BACKBONES.names())
def test_preflight_refuses_a_batchnorm_batch_of_one_pixel(backbone):
    cfg = tiny_config(tasks=(("scene", "classification"),))
    cfg.model.backbone = backbone
    cfg.data.options["image_size"] = 32
    cfg.train.batch_size = 1
    from workbench.training.experiment import build_data

    info = build_data(cfg, "val").task_infos
    if backbone == "convnext_tiny":  # LayerNorm: a batch of one trains
        preflight(cfg, 48, info)
        return
    with pytest.raises(ConfigError) as err:
        preflight(cfg, 48, info)
    assert err.value.path == "train.batch_size"
    assert "data.options.image_size" in err.value.message and "BatchNorm" in err.value.message
    cfg.train.batch_size = 2
    preflight(cfg, 48, info)  # two images are enough


def test_preflight_runs_each_processs_slice_of_the_batch():
    """Under torchrun each process runs batch_size / processes images: a batch of 2 on 2
    processes is one image each, a 1x1 map (it died at step 1 with PyTorch's own message)."""
    cfg = tiny_config(tasks=(("scene", "classification"),))
    cfg.model.backbone = "small_cnn"
    cfg.data.options["image_size"] = 32
    cfg.train.batch_size = 2
    from workbench.training.experiment import build_data

    info = build_data(cfg, "val").task_infos
    preflight(cfg, 48, info)  # one process: two images
    with pytest.raises(ConfigError) as err:
        preflight(cfg, 48, info, processes=2)
    assert err.value.path == "train.batch_size"
    assert "batches of 1 32 px image in each of 2 processes" in err.value.message
    assert "use batches of 4 or more over 2 processes" in err.value.message
    cfg.train.batch_size = 4
    preflight(cfg, 48, info, processes=2)
    cfg.train.batch_size = 3  # does not split: left to Distributed.check_batch's message
    preflight(cfg, 48, info, processes=2)


def test_preflight_names_the_training_set_when_it_makes_the_batch(tmp_path):
    cfg = tiny_config(tasks=(("scene", "classification"),))
    cfg.data.options["image_size"] = 32
    cfg.data.options["train_size"] = 1
    from workbench.training.experiment import build_data

    with pytest.raises(ConfigError) as err:
        preflight(cfg, 1, build_data(cfg, "val").task_infos)
    assert err.value.path == "data.options.train_size"


def test_cli_refuses_before_making_a_run_folder(tmp_path, capsys):
    cfg = tiny_config(tasks=(("scene", "classification"),))
    cfg.data.options["image_size"] = 32
    cfg.train.batch_size = 1
    path = tmp_path / "exp.toml"
    save_config(cfg, path)
    assert main(["train", str(path), "--out", str(tmp_path / "runs"), "--quiet"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: config: train.batch_size:") and err.count("\n") == 1
    assert not (tmp_path / "runs").exists()


def test_a_batch_of_two_at_32_px_trains(tmp_path):
    cfg = tiny_config(tasks=(("scene", "classification"),))
    cfg.data.options["image_size"] = 32
    cfg.train.batch_size = 2
    cfg.data.options["train_size"] = 8
    _, _, summary = run(cfg, tmp_path)
    assert summary["status"] == "finished", summary.get("error")


# ------------------------------------------------------------------ item 5: edited config


def test_resume_refuses_a_changed_learning_rate_and_changes_nothing(tmp_path):
    store = stopped_run(tmp_path)
    edit_config(store, lambda c: (setattr(c.optim, "lr", 0.01), c.data.options.__setitem__("train_size", 96)))
    before = snapshot(store)
    _, events, summary = run(store.read_config(), store=RunStore(store.path), resume=True)
    error = events[-1].error
    assert isinstance(events[-1], RunFailed) and "\n" not in error
    assert "optim.lr: 0.001 -> 0.01" in error and "data.options.train_size: 48 -> 96" in error
    assert "--init-from" in error
    assert snapshot(store) == before  # status, log, checkpoints: untouched
    assert json.loads(store.summary_path.read_text())["status"] == "stopped"


def test_resume_refuses_another_backbone_in_one_line(tmp_path):
    store = stopped_run(tmp_path)
    edit_config(store, lambda c: setattr(c.model, "backbone", "resnet18"))
    _, events, _ = run(store.read_config(), store=RunStore(store.path), resume=True)
    assert "model.backbone: 'small_cnn' -> 'resnet18'" in events[-1].error
    assert len(events[-1].error) < 800  # not a dump of state-dict keys


def test_a_changed_task_list_is_one_change_and_a_removed_field_is_not_none(tmp_path):
    from workbench.training.resume_check import config_changes, describe

    store = stopped_run(tmp_path)
    edit_config(store, lambda c: c.tasks.pop())
    _, events, _ = run(store.read_config(), store=RunStore(store.path), resume=True)
    error = events[-1].error
    assert "tasks: 'scene+n' -> 'scene'" in error
    assert "None" not in error and "(count)" not in error and "tasks[1]" not in error
    before = {"optim": {"lr": 0.1, "nesterov": True}}
    assert [describe(c) for c in config_changes(before, {"optim": {"lr": 0.1}})] == [
        "optim.nesterov: True -> (not set)"
    ]


def test_resume_allows_and_logs_more_epochs_and_another_device(tmp_path):
    store = stopped_run(tmp_path)
    edit_config(store, lambda c: (setattr(c.train, "epochs", 3), setattr(c.train, "device", "auto")))
    _, events, summary = run(store.read_config(), store=RunStore(store.path), resume=True)
    assert summary["status"] == "finished" and summary["epochs_done"] == 3
    started = events[0]
    assert isinstance(started, RunStarted)
    assert "train.epochs: 2 -> 3" in started.changes and "train.device: 'cpu' -> 'auto'" in started.changes
    assert "train.epochs: 2 -> 3" in summary["config_changes"]


def test_a_resume_with_another_thread_count_says_it_is_no_longer_exact(tmp_path):
    """threads = 1 against 0 changed the loss at the first step by 6e-7 and metrics by up to
    0.135 after 12 steps: allowed on resume, but the run silently stopped matching one
    trained without the interruption. The epochs alone change no arithmetic: no note."""
    from workbench.training import trainer

    store = stopped_run(tmp_path)
    other_count = 1 if trainer._DEFAULT_THREADS != 1 else 2  # not PyTorch's own count
    edit_config(store, lambda c: setattr(c.train, "threads", other_count))
    _, events, summary = run(store.read_config(), store=RunStore(store.path), resume=True)
    assert summary["status"] == "finished"
    assert "train.threads changed: from here on the arithmetic runs in another order" in events[0].note
    # changes of spelling only: no note (threads 0 is PyTorch's own count, "auto" is this
    # CPU, amp does nothing off CUDA), nor for more epochs
    import torch

    for change in (
        lambda c: setattr(c.train, "epochs", 3),
        lambda c: setattr(c.train, "threads", trainer._DEFAULT_THREADS),
        lambda c: setattr(c.train, "device", "auto"),
        lambda c: setattr(c.train, "amp", not c.train.amp),
    ):
        if not torch.cuda.is_available():
            other = stopped_run(tmp_path / f"b{id(change)}")
            edit_config(other, change)
            _, events, _ = run(other.read_config(), store=RunStore(other.path), resume=True)
            assert "arithmetic" not in (events[0].note or ""), events[0].changes
    assert torch.get_num_threads() == trainer._DEFAULT_THREADS  # threads = 0 after 1: the default again


def test_a_note_each_resume_says_again_is_kept_once(tmp_path):
    """Notes of every part of a run are kept, in order; one that each resume says again
    (a weights file left set while not used; under torchrun "data-parallel over ...") was
    listed once per resume."""
    cfg = tiny_config()
    cfg.model.weights_file = str(tmp_path / "unused.pt")  # pretrained = "none": not loaded, noted
    controls = [RunControl() for _ in range(3)]
    steps: list[int] = []

    def stop_after_two_more(e):
        if isinstance(e, StepEnded):
            steps.append(e.global_step)
            if len(steps) % 2 == 0:
                controls[len(steps) // 2 - 1].request_stop()

    store, _, summary = run(cfg, tmp_path, [stop_after_two_more], controls[0])
    for control in controls[1:]:
        assert summary["status"] == "stopped"
        _, _, summary = run(
            store.read_config(), None, [stop_after_two_more], control, RunStore(store.path), True
        )
    noted = [n for n in summary["notes"] if n.startswith("model.weights_file is set but")]
    assert len(noted) == 1 and steps == [1, 2, 3, 4, 5, 6]


def test_resume_of_an_old_checkpoint_without_config_checks_the_tensors(tmp_path):
    store = stopped_run(tmp_path)
    ckpt = load_checkpoint(store.last_checkpoint)
    del ckpt["config"]
    torch.save(ckpt, store.last_checkpoint)
    edit_config(store, lambda c: setattr(c.tasks[0], "kind", "counting"))  # a 1-output head
    _, events, _ = run(store.read_config(), store=RunStore(store.path), resume=True)
    error = events[-1].error
    assert "does not fit this model" in error and "of another shape" in error and "\n" not in error


def test_a_finished_run_cannot_be_resumed_without_more_epochs(tmp_path):
    store, _, _ = run(tiny_config(), tmp_path)
    before = snapshot(store)
    _, events, _ = run(store.read_config(), store=RunStore(store.path), resume=True)
    assert "has trained all 2 epochs" in events[-1].error
    assert snapshot(store) == before


# ------------------------------------------------------------------ item 6: wrong checkpoints


@pytest.mark.parametrize(
    ("content", "words"),
    [
        ({"state_dict": {"w": torch.zeros(1)}}, "missing 'model'"),
        ({"model": {"w": torch.zeros(1)}}, "missing 'optimizer'"),
        ([1, 2, 3], "holds a list"),
        (
            {
                "model": {"w": "text"},
                "optimizer": {},
                "weighting": {},
                "rng": {},
                "position": {},
                "state": {},
            },
            "not tensors",
        ),
    ],
)
def test_wrong_checkpoints_name_the_file_and_what_is_missing(tmp_path, content, words):
    path = tmp_path / "last.pt"
    torch.save(content, path)
    with pytest.raises(CheckpointError) as err:
        load_checkpoint(path, "last")
    assert str(path) in str(err.value) and words in str(err.value)


def test_a_plain_weights_file_gets_a_hint(tmp_path):
    path = tmp_path / "weights.pt"
    torch.save({"state_dict": {"w": torch.zeros(1)}}, path)
    with pytest.raises(CheckpointError, match="use it as model.weights_file"):
        load_checkpoint(path, "best")


class Pickled:
    pass


def test_pickled_objects_are_refused_without_suggesting_weights_only_false(tmp_path):
    path = tmp_path / "evil.pt"
    torch.save({"model": Pickled()}, path)
    with pytest.raises(LoadError) as err:
        safe_torch_load(path)
    text = str(err.value)
    assert "pickled Python objects" in text and "Pickled" in text
    assert "weights_only" not in text and "\n" not in text


@pytest.mark.parametrize("damage", ["truncate", "empty", "text"])
def test_damaged_files_are_one_line(tmp_path, damage):
    path = tmp_path / "x.pt"
    torch.save({"model": {"w": torch.zeros(100)}}, path)
    data = path.read_bytes()
    path.write_bytes({"truncate": data[: len(data) // 2], "empty": b"", "text": b"hello"}[damage])
    with pytest.raises(LoadError) as err:
        safe_torch_load(path)
    assert str(path) in str(err.value) and "\n" not in str(err.value)


@pytest.mark.parametrize("keep", [5000, 0.5, 0.99])
def test_a_cut_off_checkpoint_says_so_wherever_it_was_cut(tmp_path, keep):
    """Cut after its first 5,000 bytes, torch seeks past the end and raises OSError(EINVAL):
    the message was "Invalid argument", which read like a wrong command line."""
    path = tmp_path / "best.pt"
    torch.save({"model": {"w": torch.zeros(100_000)}}, path)
    data = path.read_bytes()
    path.write_bytes(data[: keep if isinstance(keep, int) else int(len(data) * keep)])
    with pytest.raises(LoadError) as err:
        safe_torch_load(path)
    assert str(err.value) == f"{path} cannot be read: truncated or corrupt"


def test_failed_resume_and_eval_leave_a_finished_run_alone(tmp_path, capsys):
    store, _, _ = run(tiny_config(), tmp_path)
    edit_config(store, lambda c: setattr(c.train, "epochs", 3))  # a resume would be allowed...
    torch.save({"model": {}}, store.last_checkpoint)  # ...but last.pt is broken
    torch.save({"state_dict": {}}, store.best_checkpoint)
    before = snapshot(store)
    assert main(["resume", str(store.path), "--quiet"]) == 1
    err = capsys.readouterr().err
    assert "last.pt is not a complete last checkpoint: missing 'optimizer'" in err
    assert main(["eval", str(store.path)]) == 1
    assert "best.pt is not a complete best checkpoint: missing 'model'" in capsys.readouterr().err
    assert snapshot(store) == before
    assert json.loads(store.summary_path.read_text())["status"] == "finished"


# ------------------------------------------------------------------ item 25: no checkpoint yet


def test_resume_before_the_first_checkpoint_restarts(tmp_path):
    reference, _, _ = run(tiny_config(), tmp_path / "a")
    store = RunStore.create(tmp_path / "b", "tiny")

    class Killed(BaseException):
        pass

    def die(e):
        if isinstance(e, StepEnded) and e.global_step == 2:
            raise Killed

    trainer = Trainer(tiny_config(), store, subscribers=[die])
    trainer.emit = lambda e: [s(e) for s in trainer.subscribers]  # no guard: the kill goes through
    with pytest.raises(Killed):
        trainer.run()
    assert not store.last_checkpoint.exists()
    assert json.loads(store.summary_path.read_text())["status"] == "interrupted"
    _, events, summary = run(store.read_config(), store=RunStore(store.path), resume=True)
    assert summary["status"] == "finished"
    assert "restarted from the beginning" in events[0].note
    assert f"with {store.config_path} as it is now" in events[0].note
    steps = [r["global_step"] for r in store.read_metrics() if r["type"] == "step"]
    assert steps == list(range(1, 7))  # the two lost steps were not kept twice
    a, b = (
        load_checkpoint(reference.last_checkpoint)["model"],
        load_checkpoint(store.last_checkpoint)["model"],
    )
    assert all(torch.equal(a[k], b[k]) for k in a)


def test_resume_without_last_pt_never_restarts_over_a_trained_run(tmp_path, capsys):
    # last.pt is the commit point of an epoch: best.pt and epoch lines only exist after one,
    # so a run that has them and no last.pt lost it later; a restart would replace them
    store, _, _ = run(tiny_config(), tmp_path)
    edit_config(store, lambda c: setattr(c.train, "epochs", 3))
    store.last_checkpoint.unlink()
    before = snapshot(store)
    assert main(["resume", str(store.path), "--quiet"]) == 1
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "last.pt is missing but the run has 2 epoch(s) logged" in err
    assert "and best.pt; resuming would start again from epoch 1" in err and "--init-from" in err
    assert snapshot(store) == before
    store.best_checkpoint.unlink()  # without best.pt there are no best weights to offer
    before = snapshot(store)
    assert main(["resume", str(store.path), "--quiet"]) == 1
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "has 2 epoch(s) logged in metrics.jsonl; resuming would" in err
    assert err.rstrip().endswith("Train a new run instead") and "--init-from" not in err
    assert snapshot(store) == before


# ------------------------------------------------------------------ item 26: odds and ends


def test_newer_summary_schema_is_refused_and_kept(tmp_path):
    store = stopped_run(tmp_path)
    data = json.loads(store.summary_path.read_text())
    data["schema_version"] = 2
    store.summary_path.write_text(json.dumps(data))
    before = snapshot(store)
    _, events, _ = run(store.read_config(), store=RunStore(store.path), resume=True)
    assert "schema version 2; this workbench reads version 1" in events[-1].error
    assert snapshot(store) == before


def test_metrics_log_with_bad_lines_is_read_around_them(tmp_path):
    from workbench.training.run_store import record_to_event

    store = RunStore(tmp_path)
    good = {
        "type": "step",
        "epoch": 0,
        "step": 0,
        "global_step": 1,
        "losses": {},
        "weights": {},
        "total_loss": 1.0,
        "lr": 0.1,
        "images_per_s": 1.0,
    }
    store.metrics_path.write_bytes(
        json.dumps(good).encode() + b'\n\xff\xfe garbage\n[1, 2]\n42\n{"type": "step"}\n{"half": \n'
    )
    records = store.read_metrics()
    assert len(records) == 1 and store.skipped_lines == 5  # incl. a step line without its position
    assert record_to_event(records[0]).global_step == 1
    assert record_to_event({"type": "step", "epoch": 0, "step": 0, "global_step": 2}) is None  # no losses


@pytest.mark.parametrize(
    "line",
    [
        '{"type": "epoch", "epoch": "abc", "global_step": 1}',
        '{"type": "step", "global_step": null}',
        '{"type": "epoch", "epoch": 1e400}',
    ],
)
def test_resume_reads_around_malformed_log_lines(tmp_path, line):
    store = stopped_run(tmp_path)
    with open(store.metrics_path, "a") as fh:
        fh.write(line + "\n")
    _, _, summary = run(store.read_config(), store=RunStore(store.path), resume=True)
    assert summary["status"] == "finished", summary.get("error")


def test_resume_keeps_a_damaged_log_and_says_how_many_lines_it_could_not_read(tmp_path):
    """Unreadable lines were rewritten away by the resume without a word: the run's logged
    history lost (a log of random bytes resumed "finished", epoch 0 gone)."""
    store = stopped_run(tmp_path)
    damaged = store.metrics_path.read_bytes() + b"\xff\xfe not json\n" + b'{"type": "st\n'
    store.metrics_path.write_bytes(damaged)
    _, events, summary = run(store.read_config(), store=RunStore(store.path), resume=True)
    assert summary["status"] == "finished", summary.get("error")
    kept = store.path / "metrics.jsonl.damaged"
    assert kept.read_bytes() == damaged  # the log as it was, byte for byte
    (started,) = [e for e in events if isinstance(e, RunStarted)]
    said = f"2 line(s) of {store.metrics_path} could not be read and are not in the resumed log"
    assert said in started.note and str(kept) in started.note
    assert any(said in n for n in summary["notes"])
    # a later damaged resume keeps its own copy beside the first, never over it
    from workbench.training.run_store import _free_name

    assert _free_name(kept) == kept.with_name("metrics.jsonl.damaged.1")


def test_the_damaged_lines_are_counted_at_an_epoch_boundary_and_on_a_restart(tmp_path):
    """The note said "0 line(s)" when the checkpoint sat on an epoch boundary (a second read
    of the log reset the count), and a restart (no last.pt) kept the damaged log unsaid."""
    cfg = tiny_config()
    cfg.train.epochs = 1
    store, _, _ = run(cfg, tmp_path / "a")
    cfg_more = store.read_config()
    cfg_more.train.epochs = 2
    store.write_config(cfg_more)
    with open(store.metrics_path, "a") as fh:
        fh.write("junk\n")
    _, events, summary = run(cfg_more, store=RunStore(store.path), resume=True)
    (started,) = [e for e in events if isinstance(e, RunStarted)]
    assert summary["status"] == "finished" and "1 line(s) of" in started.note
    # a restart from the beginning (killed before its first checkpoint)
    fresh = stopped_run(tmp_path / "b", at_step=1)
    for path in fresh.path.joinpath("checkpoints").iterdir():
        path.unlink()
    fresh.metrics_path.write_text("not json\nnor this\n")
    _, events, _ = run(fresh.read_config(), store=RunStore(fresh.path), resume=True)
    (started,) = [e for e in events if isinstance(e, RunStarted)]
    assert "restarted from the beginning" in started.note and "2 line(s) of" in started.note
    assert (fresh.path / "metrics.jsonl.damaged").read_text() == "not json\nnor this\n"


def test_a_restart_takes_the_resumes_time_limit(tmp_path):
    """`resume --time-limit 0` (no limit) was ignored when the run restarted from the
    beginning: it stopped at the config's limit again."""
    fresh = stopped_run(tmp_path, at_step=1)
    for path in fresh.path.joinpath("checkpoints").iterdir():
        path.unlink()
    cfg = fresh.read_config()
    cfg.train.time_limit_s = 0.001
    fresh.write_config(cfg)
    summary = Trainer(cfg, RunStore(fresh.path), resume=True, more_time_s=0.0).run()
    assert summary["status"] == "finished", summary.get("stop_reason")


@pytest.mark.parametrize("damage", ["folder", "dangling link"])
def test_a_log_that_is_no_file_refuses_the_resume_and_changes_nothing(tmp_path, damage):
    """A metrics.jsonl that is a folder (or a link to nothing) failed the run after it had
    started: its summary said "failed"."""
    store = stopped_run(tmp_path)
    store.metrics_path.unlink()
    if damage == "folder":
        store.metrics_path.mkdir()
    else:
        store.metrics_path.symlink_to(tmp_path / "nowhere" / "metrics.jsonl")
    before = snapshot(store)
    summary = Trainer(store.read_config(), RunStore(store.path), resume=True).run()
    assert "metrics.jsonl" in summary["error"] and (
        "a folder" in summary["error"] or "does not exist" in summary["error"]
    )
    assert json.loads(store.summary_path.read_text())["status"] == "stopped"  # refused, not failed
    assert snapshot(store) == before


def test_out_pointing_to_a_file_says_so(tmp_path, capsys):
    target = tmp_path / "afile"
    target.write_text("x")
    path = tmp_path / "exp.toml"
    save_config(tiny_config(), path)
    assert main(["train", str(path), "--out", str(target), "--quiet"]) == 1
    assert f"cannot write {target}: it is a file, not a folder" in capsys.readouterr().err


def test_run_files_share_one_permission_mode(tmp_path):
    store, _, _ = run(tiny_config(), tmp_path)
    modes = {p.stat().st_mode & 0o777 for p in store.path.rglob("*") if p.is_file()}
    assert len(modes) == 1, modes


def _as_if_killed_before_the_summary(store):
    summary = json.loads(store.summary_path.read_text())
    summary["status"] = "running"  # the process died after its last checkpoint, before "finished"
    store.summary_path.write_text(json.dumps(summary))


def test_a_run_killed_after_its_last_checkpoint_is_finished_by_resume(tmp_path):
    store, _, first = run(tiny_config(), tmp_path)
    steps = [r for r in store.read_metrics() if r["type"] == "step"]
    _as_if_killed_before_the_summary(store)
    _, events, summary = run(store.read_config(), store=RunStore(store.path), resume=True)
    assert summary["status"] == "finished" and summary["epochs_done"] == 2, summary.get("error")
    assert [r for r in store.read_metrics() if r["type"] == "step"] == steps  # nothing trained again
    assert summary["latency_ms"] > 0 and summary["best_epoch"] == first["best_epoch"]


def test_a_run_killed_after_early_stopping_stays_stopped(tmp_path):
    cfg = tiny_config()
    cfg.train.epochs = 6
    cfg.train.early_stopping_metric = "scene/accuracy"
    cfg.train.patience = 1
    cfg.optim.lr = 1e-12  # nothing is learnt: the second epoch does not improve, and the run stops
    store, _, first = run(cfg, tmp_path)
    assert first["epochs_done"] == 2 and "early stopping" in first["note"]
    _as_if_killed_before_the_summary(store)
    _, _, summary = run(store.read_config(), store=RunStore(store.path), resume=True)
    assert summary["status"] == "finished" and summary["epochs_done"] == 2
    assert "early stopping" in summary["note"]


def test_every_damaged_byte_stream_is_a_load_error(tmp_path):
    # torch's unpickler fails on damaged streams with IndexError ("pop from empty list" for
    # "."), struct.error ("J"), TypeError ...; every first byte, alone and followed by "q"
    path = tmp_path / "damaged.pt"
    for first in range(256):
        for tail in (b"", b"q", b"\x00\x00"):
            path.write_bytes(bytes([first]) + tail)
            with pytest.raises(LoadError, match="damaged.pt"):
                safe_torch_load(path)
