"""The CUDA path: autocast in bfloat16 and float16 (GradScaler), channels-last, pinned
non-blocking copies, gradient methods under loss scaling, checkpoints that move between
GPU and CPU. Marked ``cuda``: skipped where no GPU is present, run by
``benchmarks/gpu_check.sh`` on a GPU machine (``pytest -m cuda``)."""

from __future__ import annotations

import math

import pytest
import torch
from conftest import tiny_config

from workbench.training.control import RunControl
from workbench.training.events import StepEnded
from workbench.training.run_store import RunStore
from workbench.training.trainer import Trainer, load_checkpoint

pytestmark = [
    pytest.mark.cuda,
    pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA GPU"),
]


def _cuda_config(dtype="auto", tasks=None, **train):
    cfg = tiny_config(tasks=tasks) if tasks else tiny_config()
    cfg.train.device = "cuda"
    cfg.train.amp = True
    cfg.train.amp_dtype = dtype
    for key, value in train.items():
        setattr(cfg.train, key, value)
    return cfg


def _train(cfg, root, control=None, subscribers=()):
    store = RunStore.create(root, cfg.name)
    steps = []
    summary = Trainer(cfg, store, control, [steps.append, *subscribers]).run()
    losses = [e.losses for e in steps if isinstance(e, StepEnded)]
    return store, summary, losses


@pytest.mark.parametrize("dtype", ["bfloat16", "float16"])
def test_training_on_cuda_in_each_precision(tmp_path, dtype):
    cfg = _cuda_config(
        dtype, tasks=(("scene", "classification"), ("objects", "detection"), ("masks", "segmentation"))
    )
    store, summary, losses = _train(cfg, tmp_path)
    assert summary["status"] == "finished", summary.get("error")
    assert losses and all(math.isfinite(v) for step in losses for v in step.values())
    assert summary["precision"] == dtype and summary["gpu_peak_mib"] > 0
    ckpt = load_checkpoint(store.last_checkpoint)  # a GPU checkpoint loads on the CPU
    assert all(t.device.type == "cpu" for t in ckpt["model"].values())
    assert (ckpt.get("scaler") is not None) == (dtype == "float16")  # the scale survives a resume


def test_float16_run_resumes_with_its_scaler(tmp_path):
    control = RunControl()

    def stop_at_3(e):
        if isinstance(e, StepEnded) and e.global_step == 3:
            control.request_stop()

    cfg = _cuda_config("float16")
    store, summary, _ = _train(cfg, tmp_path, control, [stop_at_3])
    assert summary["status"] == "stopped"
    scale = load_checkpoint(store.last_checkpoint)["scaler"]["scale"]
    resumed = Trainer.for_run_dir(store.path).run()
    assert resumed["status"] == "finished", resumed.get("error")
    assert scale > 0


def test_gradient_method_under_loss_scaling_on_cuda(tmp_path):
    cfg = _cuda_config("float16")
    cfg.weighting.method = "upgrad"
    cfg.weighting.conflict_every = 1
    store, summary, losses = _train(cfg, tmp_path)
    assert summary["status"] == "finished", summary.get("error")
    assert summary["conflict"]["measurements"] == len(losses)  # measured on every step, unscaled
    assert all(-1.0 <= c <= 1.0 for c in summary["conflict"]["mean_cos"].values())


def test_cuda_checkpoint_resumes_on_the_cpu(tmp_path):
    control = RunControl()

    def stop_at_2(e):
        if isinstance(e, StepEnded) and e.global_step == 2:
            control.request_stop()

    store, summary, _ = _train(_cuda_config("bfloat16"), tmp_path, control, [stop_at_2])
    assert summary["status"] == "stopped"
    cfg = store.read_config()
    cfg.train.device = "cpu"  # a device change is a resumable change
    store.write_config(cfg)
    resumed = Trainer(cfg, RunStore(store.path), None, [], resume=True).run()
    assert resumed["status"] == "finished", resumed.get("error")


def test_auto_precision_is_bfloat16_on_a_gpu_that_has_it():
    from workbench.training.device import Precision

    p = Precision(torch.device("cuda", 0), True, "auto")
    assert p.dtype == (torch.bfloat16 if torch.cuda.is_bf16_supported() else torch.float16)


def test_cli_eval_on_cuda(tmp_path, capsys):
    from workbench.cli import main
    from workbench.experiment_check import save_config

    path = tmp_path / "exp.toml"
    save_config(_cuda_config("auto"), path)
    assert main(["train", str(path), "--out", str(tmp_path / "runs"), "--quiet", "--epochs", "1"]) == 0
    run_dir = capsys.readouterr().out.split("run directory: ")[1].splitlines()[0]
    assert main(["eval", run_dir]) == 0
