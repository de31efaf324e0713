"""torchrun: 2 CPU processes (gloo) train like one process with the same global batch."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from workbench.training.distributed import Distributed, DistributedSetupError, check_weighting

CONFIG = """
name = "ddp"
[data.options]
image_size = 32
train_size = 16
val_size = 8
max_objects = 3
[model]
backbone = "convnext_tiny"  # LayerNorm only: no batch statistics to differ between processes
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


def _run(args: list[str], cwd: Path) -> subprocess.CompletedProcess:
    env = {**os.environ, "OMP_NUM_THREADS": "1", "PYTHONPATH": str(Path(__file__).parents[1])}
    out = subprocess.run(args, cwd=cwd, env=env, capture_output=True, text=True, timeout=600)
    assert out.returncode == 0, out.stdout[-2000:] + out.stderr[-3000:]
    return out


def _step_losses(run_dir: Path) -> list[dict[str, float]]:
    records = [json.loads(line) for line in (run_dir / "metrics.jsonl").read_text().splitlines()]
    return [r["losses"] for r in records if r["type"] == "step"]


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
    resumed = json.loads((ddp / "summary.json").read_text())
    assert resumed["status"] == "finished" and resumed["epochs_done"] == 2 and "processes" not in resumed


def test_weightings_and_batches_that_cannot_be_split_are_refused():
    check_weighting("uncertainty")
    with pytest.raises(DistributedSetupError, match="'upgrad' is not supported under torchrun yet"):
        check_weighting("upgrad")
    with pytest.raises(DistributedSetupError, match="'famo' is not supported"):
        check_weighting("famo")
    two = Distributed(rank=1, world_size=2)
    with pytest.raises(
        DistributedSetupError, match="train.batch_size = 9 does not split evenly over 2 processes"
    ):
        two.check_batch(9)
    assert two.shard([10, 11, 12, 13]) == [12, 13]  # rank 1 takes the second half of each batch
    assert Distributed().shard([1, 2, 3]) == [1, 2, 3]
