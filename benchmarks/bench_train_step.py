"""Training step of the workbench's Trainer vs a bare PyTorch loop, measured side by side.

The model is ResNet-18 with a classification head and a box (localization) head, 128 px,
batch 32, on the CPU. Both loops train the same network (a copy of the same initial
weights) on the same 32 images: the workbench through ``Trainer`` (data lookup, collate,
lr schedule, NaN check, weighting, events, metrics log), the bare loop as forward, sum of
losses, backward, step. Rounds alternate between the two so drifts in machine load hit
both; the figure is the ratio of median seconds per step (goal <= 1.03).

On a GPU (``--device cuda``) both loops use the same autocast type (``--amp bfloat16`` or
``float16``, the latter with a GradScaler in both) and channels-last; the bare loop keeps the
batch on the GPU (``--bare-data resident``, its ceiling) or collates and copies it from pinned
memory each step like a data loader (``copy``). Peak GPU memory of each loop is printed.

    python benchmarks/bench_train_step.py [--rounds 5] [--steps 16]
    python benchmarks/bench_train_step.py --device cuda --amp bfloat16 --batch 64 --size 224
"""

from __future__ import annotations

import argparse
import contextlib
import copy
import statistics
import tempfile
import time
from dataclasses import replace

import torch

from workbench.config import DataConfig, ExperimentConfig, ModelConfig, OptimConfig, TaskConfig, TrainConfig
from workbench.data import DATASETS, DataSource
from workbench.data.base import collate, move_targets
from workbench.data.shapes import ShapesDataset, ShapesOptions
from workbench.training.events import StepEnded
from workbench.training.experiment import build_experiment
from workbench.training.run_store import RunStore
from workbench.training.trainer import Trainer

BATCH = 32
SIZE = {"px": 128}


class FixedBatch:
    """One pre-generated batch of shapes, repeated: both loops see identical data."""

    def __init__(self, options, split: str, length: int) -> None:
        source = ShapesDataset(replace(options, image_size=SIZE["px"]), "val")
        self.info = source.info
        self.samples = [source.sample(i) for i in range(BATCH)]
        self.length = length

    def __len__(self) -> int:
        return self.length

    def sample(self, index: int):
        return self.samples[index % BATCH]


STEPS = {"n": 8}


DATASETS.register("bench_fixed")(
    DataSource(
        name="bench_fixed",
        label="one fixed batch of shapes",
        description="The benchmark's batch, repeated.",
        Options=ShapesOptions,
        build=lambda options, path, split: FixedBatch(
            options, split, BATCH * (STEPS["n"] + 1) if split == "train" else BATCH
        ),
        needs_path=False,
    )
)


def make_config(device: str = "cpu", amp: str = "off", backbone: str = "resnet18") -> ExperimentConfig:
    return ExperimentConfig(
        name="bench-step",
        data=DataConfig(source="bench_fixed"),
        model=ModelConfig(backbone=backbone, channels_last=True),
        tasks=[TaskConfig(name="scene", kind="classification"), TaskConfig(name="box", kind="localization")],
        optim=OptimConfig(lr=1e-3, warmup_steps=0, schedule="constant"),
        train=TrainConfig(
            epochs=1,
            batch_size=BATCH,
            device=device,
            num_samples=0,
            amp=amp != "off",
            amp_dtype=amp if amp != "off" else "auto",
        ),
    )


def _sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def _reset_peak(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.empty_cache()
        torch.cuda.reset_peak_memory_stats(device)


def _peak_mib(device: torch.device) -> float:
    return torch.cuda.max_memory_allocated(device) / 2**20 if device.type == "cuda" else 0.0


def workbench_seconds_per_step(cfg: ExperimentConfig, root: str) -> float:
    times: list[float] = []

    def on_event(event):
        if isinstance(event, StepEnded):
            times.append(time.perf_counter())

    Trainer(cfg, RunStore.create(root, cfg.name), subscribers=[on_event]).run()
    # The first step warms up allocators; time from its end to the last step's end.
    return (times[-1] - times[0]) / (len(times) - 1)


def bare_seconds_per_step(
    model, tasks, samples, steps: int, device: torch.device, amp: str, data: str
) -> float:
    """Forward, sum of losses, backward, AdamW step; autocast and GradScaler as the workbench's."""
    opt = torch.optim.AdamW(model.parameters(), lr=1e-3, weight_decay=1e-4)
    model.train()
    dtype = {"bfloat16": torch.bfloat16, "float16": torch.float16}.get(amp)
    scaler = torch.amp.GradScaler("cuda") if dtype == torch.float16 else None

    def batch():
        images, targets = collate(samples)
        if device.type == "cuda":
            images = images.pin_memory()
        return images.to(device, non_blocking=True).contiguous(
            memory_format=torch.channels_last
        ), move_targets(targets, device)

    resident = batch()

    def step():
        images, targets = resident if data == "resident" else batch()
        autocast = torch.autocast(device.type, dtype=dtype) if dtype else contextlib.nullcontext()
        with autocast:
            out = model(images)
            loss = sum(t.loss(out[t.name], targets) for t in tasks)
        opt.zero_grad(set_to_none=True)
        if scaler:
            scaler.scale(loss).backward()
            scaler.step(opt)
            scaler.update()
        else:
            loss.backward()
            opt.step()

    step()  # warm-up, as in the workbench measurement
    _sync(device)
    t0 = time.perf_counter()
    for _ in range(steps):
        step()
    _sync(device)
    return (time.perf_counter() - t0) / steps


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--steps", type=int, default=16)
    parser.add_argument("--device", default="cpu", help="cpu or cuda[:N]")
    parser.add_argument("--amp", default="off", choices=("off", "bfloat16", "float16"))
    parser.add_argument("--batch", type=int, default=32)
    parser.add_argument("--size", type=int, default=128, help="image side in px")
    parser.add_argument("--backbone", default="resnet18")
    parser.add_argument("--bare-data", default="resident", choices=("resident", "copy"))
    args = parser.parse_args()
    global BATCH
    BATCH = args.batch
    SIZE["px"] = args.size
    STEPS["n"] = args.steps
    device = torch.device(args.device)
    cfg = make_config(args.device, args.amp, args.backbone)
    exp = build_experiment(cfg)
    samples = exp.train_set.samples
    bare_model = copy.deepcopy(exp.model).to(device, memory_format=torch.channels_last)
    name = (
        torch.cuda.get_device_name(device)
        if device.type == "cuda"
        else f"CPU, {torch.get_num_threads()} threads"
    )
    print(
        f"torch {torch.__version__}, {name}, batch {BATCH}, {args.size} px, {args.backbone} + classification + "
        f"box heads, precision {args.amp}, bare data {args.bare_data}, {args.steps} timed steps per round"
    )
    wb, bare, wb_mem, bare_mem = [], [], [], []
    with tempfile.TemporaryDirectory() as root:
        for r in range(args.rounds):
            _reset_peak(device)
            b = bare_seconds_per_step(
                bare_model, exp.tasks, samples, args.steps, device, args.amp, args.bare_data
            )
            bare_mem.append(_peak_mib(device))
            _reset_peak(device)
            w = workbench_seconds_per_step(cfg, root)
            wb_mem.append(_peak_mib(device))
            bare.append(b)
            wb.append(w)
            print(
                f"round {r + 1}: bare {BATCH / b:7.1f} img/s   workbench {BATCH / w:7.1f} img/s   "
                f"throughput ratio {b / w:.3f}"
            )
    mb, mw = statistics.median(bare), statistics.median(wb)
    paired = statistics.median(w / b for w, b in zip(wb, bare, strict=True))
    print(f"median: bare {BATCH / mb:.1f} img/s, workbench {BATCH / mw:.1f} img/s")
    print(
        f"workbench/bare time per step: median of paired rounds {paired:.3f}, "
        f"ratio of medians {mw / mb:.3f}, best rounds {min(wb) / min(bare):.3f} (goal <= 1.03; "
        f"throughput ratio {mb / mw:.3f}, goal >= 0.95 on a GPU)"
    )
    if device.type == "cuda":
        print(f"peak GPU memory allocated: bare {max(bare_mem):.0f} MiB, workbench {max(wb_mem):.0f} MiB")


if __name__ == "__main__":
    main()
