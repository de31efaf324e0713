"""torchrun: 2 CPU processes (gloo) train like one process with the same global batch."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
from pathlib import Path

import pytest
import torch
from torch import nn

from workbench.training.distributed import (
    Distributed,
    DistributedSetupError,
    GradientGroup,
    check_weighting,
    task_shares,
)
from workbench.weighting import WEIGHTINGS
from workbench.weighting.base import BackwardContext

CONFIG = """
name = "ddp"
[data.options]
image_size = 32
train_size = 16
val_size = 8
max_objects = 3
[model]
backbone = "convnext_tiny"  # LayerNorm; with these two heads no batch statistics differ between processes
[optim]
optimizer = "sgd"
lr = 0.01
warmup_steps = 0
schedule = "constant"  # the 1-epoch distributed run, resumed for a 2nd, has the same rates
[[tasks]]
name = "scene"
kind = "classification"
[[tasks]]
name = "n"
kind = "counting"
[weighting]
method = "uncertainty"  # learned weights outside the wrapped network: averaged by hand
[train]
epochs = {epochs}
batch_size = 8
device = "cpu"
num_samples = 0
"""


def _env(cwd: Path) -> dict[str, str]:
    """One thread per process; torchrun's scratch folders (``torchelastic_*``) in the test's
    own folder, not left behind in /tmp."""
    scratch = cwd / "scratch"
    scratch.mkdir(exist_ok=True)
    root = str(Path(__file__).parents[1])
    return {**os.environ, "OMP_NUM_THREADS": "1", "PYTHONPATH": root, "TMPDIR": str(scratch)}


def _run(args: list[str], cwd: Path) -> subprocess.CompletedProcess:
    env = _env(cwd)
    out = subprocess.run(args, cwd=cwd, env=env, capture_output=True, text=True, timeout=600)
    assert out.returncode == 0, out.stdout[-2000:] + out.stderr[-3000:]
    return out


def _step_losses(run_dir: Path) -> list[dict[str, float]]:
    records = [json.loads(line) for line in (run_dir / "metrics.jsonl").read_text().splitlines()]
    return [r["losses"] for r in records if r["type"] == "step"]


def _step_objectives(run_dir: Path) -> list[tuple[float, float]]:
    records = [json.loads(line) for line in (run_dir / "metrics.jsonl").read_text().splitlines()]
    return [(r["total_loss"], r["weighted_loss"]) for r in records if r["type"] == "step"]


def _assert_same_objectives(single: Path, ddp: Path) -> None:
    """The logged objective is the global batch's, as one process logs it (rank 0 logged
    its own slice's: 2.74 against 3.07 at step 1 of an equal sum)."""
    for a, b in zip(_step_objectives(single), _step_objectives(ddp), strict=True):
        assert b == pytest.approx(a, rel=1e-4, abs=1e-6)


def _only_run(root: Path) -> Path:
    runs = [p for p in root.iterdir() if p.is_dir()]
    assert len(runs) == 1, runs  # one folder for the whole job: rank 0's
    return runs[0]


def test_two_gloo_processes_match_one_process_and_resume_in_one(tmp_path):
    (tmp_path / "two.toml").write_text(CONFIG.format(epochs=2))
    (tmp_path / "one.toml").write_text(CONFIG.format(epochs=1))
    wb = [sys.executable, "-m", "workbench"]
    _run([*wb, "train", "two.toml", "--out", "single", "--quiet"], tmp_path)
    torchrun = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node", "2"]
    _run([*torchrun, "-m", "workbench", "train", "one.toml", "--out", "ddp", "--quiet"], tmp_path)
    single, ddp = _only_run(tmp_path / "single"), _only_run(tmp_path / "ddp")
    summary = json.loads((ddp / "summary.json").read_text())
    assert summary["status"] == "finished" and summary["processes"] == 2
    assert "data-parallel over 2 processes (gloo), 4 images each per step" in summary["notes"][0]

    # The distributed run's checkpoint resumes in one process for the second epoch.
    config = (ddp / "config.toml").read_text().replace("epochs = 1", "epochs = 2")
    (ddp / "config.toml").write_text(config)
    _run([*wb, "resume", str(ddp), "--quiet"], tmp_path)
    one, two = _step_losses(single), _step_losses(ddp)
    assert len(one) == len(two) == 4  # each step logged once (rank 0 alone writes)
    for a, b in zip(one, two, strict=True):
        for task in a:
            assert b[task] == pytest.approx(a[task], rel=1e-4, abs=1e-6), (one, two)
    _assert_same_objectives(single, ddp)
    resumed = json.loads((ddp / "summary.json").read_text())
    assert resumed["status"] == "finished" and resumed["epochs_done"] == 2 and "processes" not in resumed
    assert resumed["notes"][-1] == (
        "resumed from epoch 2 on 1 process; it trained on 2 processes before (its notes on that part hold for it)"
    )


def test_a_gradient_method_on_two_gloo_processes_matches_one_process(tmp_path):
    """UPGrad computed every 2nd step: steps 1 and 3 sum the processes' Jacobians, steps 2
    and 4 reuse the weights and sum the weighted gradients."""
    config = CONFIG.format(epochs=2).replace(
        'method = "uncertainty"  # learned weights outside the wrapped network: averaged by hand',
        'method = "upgrad"\nparams = { every = 2 }',
    )
    (tmp_path / "c.toml").write_text(config)
    wb = [sys.executable, "-m", "workbench"]
    _run([*wb, "train", "c.toml", "--out", "single", "--quiet"], tmp_path)
    torchrun = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node", "2"]
    _run([*torchrun, "-m", "workbench", "train", "c.toml", "--out", "ddp", "--quiet"], tmp_path)
    single, ddp = _only_run(tmp_path / "single"), _only_run(tmp_path / "ddp")
    summary = json.loads((ddp / "summary.json").read_text())
    assert summary["status"] == "finished" and summary["processes"] == 2
    assert "upgrad combines the per-task gradients summed over them" in summary["notes"][0]
    one, two = _step_losses(single), _step_losses(ddp)
    assert len(one) == len(two) == 4
    for a, b in zip(one, two, strict=True):
        for task in a:
            assert b[task] == pytest.approx(a[task], rel=1e-4, abs=1e-6), (one, two)
    _assert_same_objectives(single, ddp)
    # the conflict measured on the summed Jacobian is the single process's
    reference = json.loads((single / "summary.json").read_text())["conflict"]
    assert summary["conflict"]["measurements"] == reference["measurements"] >= 1
    assert summary["conflict"]["mean_cos"]["scene|n"] == pytest.approx(
        reference["mean_cos"]["scene|n"], abs=1e-4
    )


SHARDED = """
name = "val"
[data.options]
image_size = 32
train_size = 16
val_size = 12
max_objects = 3
[model]
backbone = "small_cnn"  # BatchNorm: rank 0's running statistics must reach every slice
[[tasks]]
name = "scene"
kind = "classification"
[[tasks]]
name = "objects"
kind = "detection"
[[tasks]]
name = "masks"
kind = "segmentation"
[train]
epochs = 1
batch_size = 8
device = "cpu"
num_samples = 4
"""


def test_two_processes_validate_half_each_and_log_the_whole_sets_metrics(tmp_path):
    """Each process validates 6 of the 12 images; the logged metrics equal one pass of
    the saved weights over the whole set, computed here in one process."""
    from workbench.experiment_check import load_config
    from workbench.training.checkpoint import load_checkpoint
    from workbench.training.device import Precision
    from workbench.training.evaluation import evaluate
    from workbench.training.experiment import build_experiment

    (tmp_path / "v.toml").write_text(SHARDED)
    torchrun = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node", "2"]
    _run([*torchrun, "-m", "workbench", "train", "v.toml", "--out", "ddp", "--quiet"], tmp_path)
    run = _only_run(tmp_path / "ddp")
    records = [json.loads(line) for line in (run / "metrics.jsonl").read_text().splitlines()]
    logged = [r for r in records if r["type"] == "epoch"][-1]
    assert logged["labelled"]["scene"]["val"] == 12  # both halves counted

    cfg = load_config(run / "config.toml")
    exp = build_experiment(cfg, pretrained=False)
    exp.model.load_state_dict(load_checkpoint(run / "checkpoints" / "last.pt")["model"])
    whole = evaluate(
        exp.model, exp.tasks, exp.val_set, 8, torch.device("cpu"), Precision(torch.device("cpu"), False)
    )
    for task, metrics in whole.metrics.items():
        for name, value in metrics.items():
            got = logged["val_metrics"][task][name]
            assert (got is None) == (value is None), (task, name)
            if value is not None:
                assert got == pytest.approx(value, rel=1e-5, abs=1e-7), (task, name, got, value)
    # classification's loss is a mean over images, whatever the batches
    assert logged["val_losses"]["scene"] == pytest.approx(whole.losses["scene"], rel=1e-5)
    samples = list((run / "samples").glob("*"))
    assert samples, "rank 0 still draws the sample predictions"


class _ThreadGroup(GradientGroup):
    """Two 'processes' as two threads: the collectives meet at a barrier."""

    def __init__(self, rank: int, board: list, barrier: threading.Barrier, shares: dict[str, float]):
        super().__init__(Distributed(rank=rank, world_size=2), shares)
        self.rank, self.board, self.barrier = rank, board, barrier

    def sum_(self, tensor):
        self.board[self.rank] = tensor.clone()
        self.barrier.wait()
        total = self.board[0] + self.board[1]  # the same order on both: equal bits
        self.barrier.wait()
        return tensor.copy_(total)

    def agree_(self, tensor):
        if self.rank == 0:
            self.board[0] = tensor.clone()
        self.barrier.wait()
        tensor.copy_(self.board[0])
        self.barrier.wait()
        return tensor


class _Tiny(nn.Module):
    def __init__(self):
        super().__init__()
        torch.manual_seed(0)
        self.shared = nn.Sequential(nn.Linear(3, 4), nn.Tanh())
        self.heads = nn.ModuleDict({"a": nn.Linear(4, 1), "b": nn.Linear(4, 1)})

    def losses(self, x, y, labelled_b):
        h = self.shared(x)
        a = (self.heads["a"](h).squeeze(1) - y[:, 0]).pow(2)
        b = (self.heads["b"](h).squeeze(1) - y[:, 1]).pow(2)
        n_b = int(labelled_b.sum())
        return {"a": a.mean(), "b": b[labelled_b].sum() / max(n_b, 1)}, {"a": len(x), "b": n_b}


def _ctx(model, group=None):
    return BackwardContext(
        shared_params=list(model.shared.parameters()),
        shared_modules=[model.shared],
        task_params={n: list(h.parameters()) for n, h in model.heads.items()},
        group=group,
    )


@pytest.mark.parametrize("method", ["upgrad", "mgda", "pcgrad", "config", "gradnorm"])
def test_share_weighted_jacobians_summed_over_processes_are_the_global_batchs(method):
    """Task b is labelled on 3 of 4 samples (2 in rank 0's slice, 1 in rank 1's): the slices'
    mean losses scaled by 2/3 and 1/3 sum to the gradient of the global mean, so every
    parameter gets the single-process gradient, on both steps of ``every = 2`` (for the
    methods with weights; ConFIG has none and combines every step)."""
    torch.set_default_dtype(torch.float64)
    try:
        x = torch.randn(4, 3, generator=torch.Generator().manual_seed(1))
        y = torch.randn(4, 2, generator=torch.Generator().manual_seed(2))
        labelled_b = torch.tensor([True, True, False, True])
        params = {} if method in ("config", "gradnorm") else {"every": 2}
        reference = _Tiny()
        weighting = WEIGHTINGS.get(method)(["a", "b"], params, {})
        expected = []
        for _ in range(2):
            reference.zero_grad(set_to_none=True)
            losses, _ = reference.losses(x, y, labelled_b)
            weighting.backward(losses, _ctx(reference))
            expected.append([p.grad.clone() for p in [*reference.parameters(), *weighting.parameters()]])

        board, barrier = [None, None], threading.Barrier(2, timeout=30)
        got: dict[int, list] = {}
        errors: list[BaseException] = []
        # built here, not in the threads: two threads seeding and drawing from the global
        # generator at once would give the two 'processes' different initial weights
        models = [_Tiny() for _ in (0, 1)]
        methods = [WEIGHTINGS.get(method)(["a", "b"], params, {}) for _ in (0, 1)]

        def rank(r: int) -> None:
            try:
                model, mine = models[r], methods[r]
                part = slice(2 * r, 2 * r + 2)
                got[r] = []
                for _ in range(2):
                    model.zero_grad(set_to_none=True)
                    losses, local = model.losses(x[part], y[part], labelled_b[part])
                    shares = task_shares(["a", "b"], local, {"a": 4, "b": 3})
                    mine.backward(losses, _ctx(model, _ThreadGroup(r, board, barrier, shares)))
                    got[r].append([p.grad.clone() for p in [*model.parameters(), *mine.parameters()]])
            except BaseException as exc:  # noqa: BLE001 - reported below
                errors.append(exc)
                barrier.abort()

        threads = [threading.Thread(target=rank, args=(r,)) for r in (0, 1)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(60)
        assert not errors, errors
        for r in (0, 1):
            for step in range(2):
                for g, e in zip(got[r][step], expected[step], strict=True):
                    torch.testing.assert_close(g, e, rtol=1e-9, atol=1e-12)
    finally:
        torch.set_default_dtype(torch.float32)


def test_a_setup_torchrun_cannot_run_is_refused_in_one_line_before_a_run_folder(tmp_path):
    config = CONFIG.format(epochs=1).replace(
        'method = "uncertainty"  # learned weights outside the wrapped network: averaged by hand',
        'method = "stch"',
    )
    (tmp_path / "c.toml").write_text(config)
    torchrun = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node", "2"]
    env = _env(tmp_path)
    out = subprocess.run(
        [*torchrun, "-m", "workbench", "train", "c.toml", "--out", "runs", "--quiet"],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert out.returncode != 0
    refusals = [line for line in out.stderr.splitlines() if line.startswith("error: weighting.method")]
    assert len(refusals) == 1 and "'stch' is not supported under torchrun" in refusals[0]
    assert not (tmp_path / "runs").exists() or not any((tmp_path / "runs").iterdir())


def test_a_dead_peer_is_named_in_one_line(tmp_path):
    """What gloo raises in the survivors when a process of the job is killed mid-step."""
    import torch.distributed as dist

    from workbench.training.trainer import describe_error

    raw = RuntimeError(
        "[/__w/pytorch/third_party/gloo/gloo/transport/tcp/pair.cc:545] Read error "
        "[127.0.0.1]:1944: Connection reset by peer"
    )
    assert describe_error(raw).startswith("RuntimeError: [/__w/")  # no job: left as it is
    dist.init_process_group("gloo", init_method=f"file://{tmp_path / 'rendezvous'}", rank=0, world_size=1)
    try:
        line = describe_error(raw)
    finally:
        dist.destroy_process_group()
    assert line == (
        "another process of the torchrun job ended or lost its connection, so this one stopped too "
        "(the collective said: Connection reset by peer)"
    )


def test_task_shares_are_each_slices_part_of_the_labelled_samples():
    assert task_shares(["a", "b", "c"], {"a": 4, "b": 1, "c": 0}, {"a": 8, "b": 4, "c": 0}) == {
        "a": 0.5,
        "b": 0.25,
        "c": 0.0,
    }


def test_weightings_and_batches_that_cannot_be_split_are_refused():
    check_weighting("uncertainty")
    check_weighting("upgrad")  # the gradient methods sum the processes' Jacobians
    check_weighting("nash_mtl")
    check_weighting("gradnorm")  # its per-task gradient norms are the global batch's too
    with pytest.raises(DistributedSetupError, match="'stch' is not supported under torchrun"):
        check_weighting("stch")
    with pytest.raises(DistributedSetupError, match="'famo' is not supported"):
        check_weighting("famo")
    two = Distributed(rank=1, world_size=2)
    with pytest.raises(
        DistributedSetupError, match="train.batch_size = 9 does not split evenly over 2 processes"
    ):
        two.check_batch(9)
    with pytest.raises(DistributedSetupError) as refused:  # a resume cannot change its batch size
        Distributed(rank=0, world_size=3).check_batch(16)
    assert "a multiple of 3, or a number of processes that divides 16 (1, 2, 4, 8, 16;" in str(refused.value)
    with pytest.raises(DistributedSetupError) as refused:  # the batch the user set is named too
        Distributed(rank=0, world_size=3).check_batch(4, 6)
    assert str(refused.value).startswith(
        "batches of 4 (train.batch_size = 6, cut to the 4 training images) do not split evenly over 3 processes"
    )
    assert two.shard([10, 11, 12, 13]) == [12, 13]  # rank 1 takes the second half of each batch
    assert Distributed().shard([1, 2, 3]) == [1, 2, 3]


def test_the_process_group_waits_an_hour_for_rank_zeros_validation(monkeypatch):
    """Rank 0 validates and saves alone while the others wait in a collective: the group's
    timeout is DIST_TIMEOUT_MIN (60 min), not NCCL's 10, and the environment can set it."""
    from datetime import timedelta

    import torch.distributed as dist

    from workbench.training import distributed

    seen = {}
    monkeypatch.setattr(dist, "is_initialized", lambda: False)
    monkeypatch.setattr(dist, "init_process_group", lambda backend, **kw: seen.update(backend=backend, **kw))
    monkeypatch.setenv("WORLD_SIZE", "2")
    monkeypatch.setenv("RANK", "1")
    monkeypatch.setenv("LOCAL_RANK", "1")
    monkeypatch.delenv(distributed.DIST_TIMEOUT_ENV, raising=False)
    group = Distributed.from_env("cpu")
    assert (group.rank, group.world_size, group.backend) == (1, 2, "gloo")
    assert seen == {"backend": "gloo", "timeout": timedelta(minutes=60)}
    monkeypatch.setenv(distributed.DIST_TIMEOUT_ENV, "90.5")
    Distributed.from_env("cpu")
    assert seen["timeout"] == timedelta(minutes=90.5)
    for bad in ("0", "-3", "soon", "nan", "0.01", "0.99"):  # 0.01: 0.6 s, gloo timed out mid-epoch
        monkeypatch.setenv(distributed.DIST_TIMEOUT_ENV, bad)
        with pytest.raises(DistributedSetupError, match=f"WORKBENCH_DIST_TIMEOUT_MIN='{bad}'"):
            Distributed.from_env("cpu")


@pytest.mark.parametrize(
    "argv",
    [
        ["sweep", "s.toml"],
        ["baselines", "run"],
        ["eval", "run"],
        ["data", "export", "out", "--format", "coco"],
        [],
    ],
)
def test_commands_that_do_not_train_refuse_torchrun_once_for_the_job(monkeypatch, capsys, argv):
    """A sweep under torchrun ran in one process, was refused in the other ("process N
    is running this sweep", N its sibling) and stopped by that failure: one line instead,
    from rank 0 alone, and nothing run."""
    from workbench.cli import main

    monkeypatch.setenv("WORLD_SIZE", "2")
    for rank, said in (("1", ""), ("0", "error: ")):
        monkeypatch.setenv("RANK", rank)
        assert main(argv) == 2
        err = capsys.readouterr().err
        assert err.startswith(said) and len(err.splitlines()) == (1 if said else 0)
    what = "the app" if not argv else f"'workbench {argv[0]}'"
    assert err.startswith(f"error: {what} does not run under torchrun, only 'workbench train' and")
