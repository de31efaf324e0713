"""What is on disk after kills, signals and failing writes (issue 6: items 8, 23, 24, 25)."""

from __future__ import annotations

import errno
import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch
from conftest import tiny_config

from workbench import cli
from workbench.experiment_check import save_config
from workbench.training import checkpoint as checkpoint_module
from workbench.training.checkpoint import load_checkpoint
from workbench.training.events import StepEnded
from workbench.training.run_store import RunStore, list_runs
from workbench.training.trainer import Trainer


class Killed(BaseException):
    """Stands in for the process dying: not an Exception, so nothing catches it."""


def run(cfg, root=None, store=None, resume=False, subscribers=()):
    store = store or RunStore.create(root, cfg.name)
    events: list = []
    summary = Trainer(cfg, store, subscribers=[events.append, *subscribers], resume=resume).run()
    return store, events, summary


def comparable(records):
    drop = ("time", "seconds", "elapsed_s", "images_per_s")
    return [{k: v for k, v in r.items() if k not in drop} for r in records]


@pytest.fixture(scope="module")
def reference(tmp_path_factory):
    store, _, _ = run(tiny_config(), tmp_path_factory.mktemp("ref"))
    return store


# The writes at the end of epoch 1, in order; a kill right after each one.
KILL_POINTS = ["epoch line", "samples", "best.pt", "last.pt", "summary"]


@pytest.mark.parametrize("point", KILL_POINTS)
def test_kill_at_the_end_of_an_epoch_then_resume(tmp_path, monkeypatch, reference, point):
    store = RunStore.create(tmp_path, "tiny")
    state = {"armed": True}

    def kill_after(original, matches):
        def wrapper(*args, **kwargs):
            result = original(*args, **kwargs)
            if state["armed"] and matches(*args, **kwargs):
                state["armed"] = False
                raise Killed
            return result

        return wrapper

    if point == "epoch line":
        monkeypatch.setattr(
            RunStore, "append_metrics", kill_after(RunStore.append_metrics, lambda s, r: r["type"] == "epoch")
        )
    elif point == "samples":
        monkeypatch.setattr(RunStore, "save_samples", kill_after(RunStore.save_samples, lambda *a: True))
    elif point in ("best.pt", "last.pt"):
        import workbench.training.trainer as trainer_module

        kind = point.split(".")[0]
        monkeypatch.setattr(
            trainer_module,
            "save_checkpoint",
            kill_after(checkpoint_module.save_checkpoint, lambda p, s, k: k == kind),
        )
    else:
        calls = {"n": 0}

        def nth_summary(self, summary):
            calls["n"] += 1
            return calls["n"] == 2  # the first is "running" at the start, the second ends epoch 1

        monkeypatch.setattr(RunStore, "write_summary", kill_after(RunStore.write_summary, nth_summary))
    with pytest.raises(Killed):
        Trainer(tiny_config(), store).run()
    monkeypatch.undo()

    # What a kill leaves: no epoch line and no best.pt beyond last.pt; the best weights of a
    # committed epoch are in best.pt, or still in best.next.pt when the kill came between the
    # commit and the rename (the resume finishes it).
    done = (
        load_checkpoint(store.last_checkpoint)["position"]["epoch"] if store.last_checkpoint.exists() else 0
    )
    assert all(r["epoch"] < done for r in store.read_metrics() if r["type"] == "epoch")
    if store.best_checkpoint.exists():
        assert load_checkpoint(store.best_checkpoint, "best")["epoch"] < done
    if done:
        assert store.best_checkpoint.exists() or store.pending_best.exists()
    # A temp file of a write cut short, as a SIGKILL mid-write leaves one.
    (store.checkpoint_dir / ".last.pt.x1y2.tmp").parent.mkdir(exist_ok=True)
    (store.checkpoint_dir / ".last.pt.x1y2.tmp").write_bytes(b"half")

    _, _, summary = run(store.read_config(), store=RunStore(store.path), resume=True)
    assert summary["status"] == "finished", summary.get("error")
    assert not list(store.path.rglob("*.tmp"))
    assert comparable(store.read_metrics()) == comparable(reference.read_metrics())
    a = load_checkpoint(reference.last_checkpoint)["model"]
    b = load_checkpoint(store.last_checkpoint)["model"]
    assert all(torch.equal(a[k], b[k]) for k in a)
    assert (
        load_checkpoint(store.best_checkpoint, "best")["epoch"]
        == load_checkpoint(reference.best_checkpoint, "best")["epoch"]
    )
    assert store.sample_epochs() == [0, 1]
    assert not store.pending_best.exists()


def test_removed_run_folder_fails_the_run_in_one_line(tmp_path):
    def remove(e):
        if isinstance(e, StepEnded) and e.global_step == 2:
            shutil.rmtree(store.path)

    store = RunStore.create(tmp_path, "tiny")
    _, events, summary = run(tiny_config(), store=store, subscribers=[remove])
    assert summary["status"] == "failed"
    assert (
        summary["error"]
        == f"cannot write {store.path}: the run folder was removed while the run was writing it"
    )
    assert "\n" not in summary["error"]
    assert not store.path.exists()  # never silently made again


def test_disk_full_at_epoch_two_keeps_epoch_one(tmp_path, monkeypatch):
    from workbench import fsutil

    calls = {"n": 0}
    original = fsutil.atomic_write

    def atomic_write(path, write, mode="wb", make_folder=False):
        if Path(path).name == "last.pt":
            calls["n"] += 1
            if calls["n"] == 2:  # the end of epoch 2: the disk is full

                def write(fh):
                    fh.write(b"partial")
                    raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

        return original(path, write, mode, make_folder)

    monkeypatch.setattr(checkpoint_module, "atomic_write", atomic_write)
    store = RunStore.create(tmp_path, "tiny")
    run(tiny_config(), store=store)
    summary = json.loads(store.summary_path.read_text())
    assert summary["status"] == "failed"
    assert summary["error"] == f"cannot write {store.last_checkpoint}: No space left on device"
    assert load_checkpoint(store.last_checkpoint)["position"]["epoch"] == 1  # epoch 1's, intact
    assert not list(store.path.rglob("*.tmp"))


# ------------------------------------------------------------------ the command line, for real

TRAIN = [sys.executable, "-m", "workbench.cli", "train"]


def slow_config(tmp_path: Path) -> Path:
    cfg = tiny_config()
    cfg.train.epochs = 200  # long enough to be signalled mid-run
    path = tmp_path / "exp.toml"
    save_config(cfg, path)
    return path


def start(tmp_path: Path, *extra: str, **kwargs) -> tuple[subprocess.Popen, Path]:
    runs = tmp_path / "runs"
    proc = subprocess.Popen(
        [*TRAIN, str(slow_config(tmp_path)), "--out", str(runs), "--quiet", *extra],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        cwd=Path(__file__).resolve().parents[1],
        env={**os.environ, "OMP_NUM_THREADS": "1"},
        **kwargs,
    )
    deadline = time.time() + 120
    while time.time() < deadline:
        logs = list(runs.glob("*/metrics.jsonl"))
        if logs and logs[0].stat().st_size > 0:
            return proc, logs[0].parent
        if proc.poll() is not None:
            pytest.fail(f"training ended early: {proc.communicate()}")
        time.sleep(0.05)
    proc.kill()
    pytest.fail("training did not start")


@pytest.mark.slow
@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGHUP])
def test_sigterm_and_sighup_stop_like_ctrl_c(tmp_path, sig):
    proc, run_dir = start(tmp_path)
    proc.send_signal(sig)
    out, err = proc.communicate(timeout=120)
    assert proc.returncode == 128 + sig, err  # the shell's "ended by a signal": not a finish
    assert "Traceback" not in err
    assert out.splitlines()[-1] == f"stopped; continue with: workbench resume {run_dir}"
    summary = json.loads((run_dir / "summary.json").read_text())
    assert summary["status"] == "stopped"
    assert (run_dir / "checkpoints" / "last.pt").exists()
    assert not (run_dir / ".lock").exists()


@pytest.mark.slow
def test_sigkill_shows_as_interrupted_and_resumes(tmp_path):
    proc, run_dir = start(tmp_path)
    proc.kill()
    proc.wait(timeout=30)
    assert json.loads((run_dir / "summary.json").read_text())["status"] == "running"  # it had no say
    info = next(r for r in list_runs(run_dir.parent) if r.path == run_dir)
    assert info.status == "interrupted"
    cfg_path = run_dir / "config.toml"
    text = cfg_path.read_text().replace("epochs = 200", "epochs = 1")
    cfg_path.write_text(text)
    done = subprocess.run(
        [sys.executable, "-m", "workbench.cli", "resume", str(run_dir), "--quiet"],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr
    assert json.loads((run_dir / "summary.json").read_text())["status"] == "finished"


@pytest.mark.slow
def test_double_ctrl_c_never_leaves_running(tmp_path):
    proc, run_dir = start(tmp_path)
    proc.send_signal(signal.SIGINT)
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=120)
    assert "Traceback" not in err
    assert proc.returncode == 130, err
    status = json.loads((run_dir / "summary.json").read_text())["status"]
    assert status in ("interrupted", "stopped")
    info = next(r for r in list_runs(run_dir.parent) if r.path == run_dir)
    assert info.status == status


@pytest.mark.slow
def test_file_size_limit_fails_the_run_in_one_line(tmp_path):
    import resource

    def limit():
        resource.setrlimit(resource.RLIMIT_FSIZE, (1_000_000, 1_000_000))  # a checkpoint is ~15 MB

    cfg = tiny_config()
    path = tmp_path / "exp.toml"
    save_config(cfg, path)
    done = subprocess.run(
        [*TRAIN, str(path), "--out", str(tmp_path / "runs"), "--quiet"],
        capture_output=True,
        text=True,
        timeout=300,
        preexec_fn=limit,
    )
    assert done.returncode == 1
    errors = [line for line in done.stderr.splitlines() if line.strip()]
    assert len(errors) == 1 and "Traceback" not in done.stderr, done.stderr
    assert errors[0].startswith("error: run failed: cannot write ") and ".pt: File too large" in errors[0]
    run_dir = next((tmp_path / "runs").iterdir())
    assert json.loads((run_dir / "summary.json").read_text())["status"] == "failed"


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGHUP])
def test_a_signal_before_the_run_starts_says_interrupted(monkeypatch, capsys, sig):
    """Before a run installs its handlers (torch still importing, a sweep reading its file),
    the default action killed the command without a word; now it says so and exits 128+N."""
    before = signal.getsignal(sig)

    def slow_config(args):
        os.kill(os.getpid(), sig)
        time.sleep(5)  # the handler interrupts this at once
        return 0

    monkeypatch.setattr(cli, "_config", slow_config)
    assert cli.main(["config"]) == 128 + sig
    assert capsys.readouterr().err.strip() == "interrupted"
    assert signal.getsignal(sig) is before  # handed back: the caller's own handling is kept
    monkeypatch.setattr(cli, "_train", slow_config)  # reading the data, before the run folder
    assert cli.main(["train"]) == 128 + sig
    assert capsys.readouterr().err.strip() == "interrupted before the run began; nothing was saved"
    monkeypatch.setattr(cli, "_sweep", slow_config)  # a sweep, before its queue took a run
    assert cli.main(["sweep", "s.toml", "--out", "my runs"]) == 128 + sig
    assert capsys.readouterr().err.strip() == (
        "interrupted before the sweep began a run; continue with: workbench sweep s.toml --out 'my runs'"
    )
    monkeypatch.setattr(cli, "_resume", slow_config)  # a resume, before the trainer took over
    assert cli.main(["resume", "runs/my run"]) == 128 + sig
    assert capsys.readouterr().err.strip() == (
        "interrupted before the resume began; runs/my run is as it was; "
        "continue with: workbench resume 'runs/my run'"
    )
    monkeypatch.setenv("RANK", "1")  # a torchrun job's other processes: rank 0 says it
    assert cli.main(["train"]) == 128 + sig
    assert capsys.readouterr().err == ""
