"""Training step of the workbench's Trainer vs a bare PyTorch loop, measured side by side.

The model is ResNet-18 with a classification head and a box (localization) head, 128 px,
batch 32, on the CPU. Both loops train the same network (a copy of the same initial
weights) on the same 32 images: the workbench through ``Trainer`` (data lookup, collate,
lr schedule, NaN check, weighting, events, metrics log), the bare loop as forward, sum of
losses, backward, step. Rounds alternate between the two so drifts in machine load hit
both; the figure is the ratio of median seconds per step (goal <= 1.03).

    python benchmarks/bench_train_step.py [--rounds 5] [--steps 8]
"""

from __future__ import annotations

import argparse
import copy
import statistics
import tempfile
import time

import torch

from workbench.config import DataConfig, ExperimentConfig, ModelConfig, OptimConfig, TaskConfig, TrainConfig
from workbench.data import DATASETS
from workbench.data.base import collate
from workbench.data.shapes import ShapesDataset
from workbench.training.events import StepEnded
from workbench.training.experiment import build_experiment
from workbench.training.run_store import RunStore
from workbench.training.trainer import Trainer

BATCH = 32


class FixedBatch:
    """One pre-generated batch of shapes, repeated: both loops see identical data."""

    def __init__(self, options, split: str, length: int) -> None:
        source = ShapesDataset(options, "val")
        self.info = source.info
        self.samples = [source.sample(i) for i in range(BATCH)]
        self.length = length

    def __len__(self) -> int:
        return self.length

    def sample(self, index: int):
        return self.samples[index % BATCH]


STEPS = {"n": 8}


@DATASETS.register("bench_fixed")
def _fixed(data_config, split):
    return FixedBatch(data_config.shapes, split, BATCH * (STEPS["n"] + 1) if split == "train" else BATCH)


def make_config() -> ExperimentConfig:
    return ExperimentConfig(
        name="bench-step",
        data=DataConfig(source="bench_fixed"),
        model=ModelConfig(backbone="resnet18", channels_last=True),
        tasks=[TaskConfig(name="scene", kind="classification"), TaskConfig(name="box", kind="localization")],
        optim=OptimConfig(lr=1e-3, warmup_steps=0, schedule="constant"),
        train=TrainConfig(epochs=1, batch_size=BATCH, device="cpu", num_samples=0),
    )


def workbench_seconds_per_step(cfg: ExperimentConfig, root: str) -> float:
    times: list[float] = []

    def on_event(event):
        if isinstance(event, StepEnded):
            times.append(time.perf_counter())

    Trainer(cfg, RunStore.create(root, cfg.name), subscribers=[on_event]).run()
    # The first step warms up allocators; time from its end to the last step's end.
    return (times[-1] - times[0]) / (len(times) - 1)


def bare_seconds_per_step(model, tasks, images, targets, steps: int) -> float:
    opt = torch.optim.AdamW(model.parameters(), lr=1e-3, weight_decay=1e-4)
    model.train()

    def step():
        out = model(images)
        loss = sum(t.loss(out[t.name], targets) for t in tasks)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()

    step()  # warm-up, as in the workbench measurement
    t0 = time.perf_counter()
    for _ in range(steps):
        step()
    return (time.perf_counter() - t0) / steps


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--steps", type=int, default=16)
    args = parser.parse_args()
    STEPS["n"] = args.steps
    cfg = make_config()
    exp = build_experiment(cfg)
    images, targets = collate(exp.train_set.samples)
    bare_model = copy.deepcopy(exp.model).to(memory_format=torch.channels_last)
    print(
        f"torch {torch.__version__}, threads {torch.get_num_threads()}, batch {BATCH}, 128 px, "
        f"ResNet-18 + classification + box heads, {args.steps} timed steps per round"
    )
    wb, bare = [], []
    with tempfile.TemporaryDirectory() as root:
        for r in range(args.rounds):
            b = bare_seconds_per_step(bare_model, exp.tasks, images, targets, args.steps)
            w = workbench_seconds_per_step(cfg, root)
            bare.append(b)
            wb.append(w)
            print(
                f"round {r + 1}: bare {BATCH / b:6.1f} img/s   workbench {BATCH / w:6.1f} img/s   ratio {w / b:.3f}"
            )
    mb, mw = statistics.median(bare), statistics.median(wb)
    paired = statistics.median(w / b for w, b in zip(wb, bare, strict=True))
    print(f"median: bare {BATCH / mb:.1f} img/s, workbench {BATCH / mw:.1f} img/s")
    print(
        f"workbench/bare time per step: median of paired rounds {paired:.3f}, "
        f"ratio of medians {mw / mb:.3f}, best rounds {min(wb) / min(bare):.3f} (goal <= 1.03)"
    )


if __name__ == "__main__":
    main()
