"""Hard sharing (d = S) vs independent networks (d = 0) with two tasks.

Prints parameter counts and the ratios of inference time (batch 1 and batch 32) and of
training time per step, all measured in this run at 128 px on the CPU. Rounds alternate
between the two models so load changes hit both.

    python benchmarks/bench_sharing.py [--backbones small_cnn resnet18]
"""

from __future__ import annotations

import argparse
import statistics
import time

import torch

from workbench.data.base import ALL_TARGETS, DataInfo
from workbench.models.multitask import MultiTaskNet
from workbench.tasks import TASK_KINDS

INFO = DataInfo(128, 4, ("circle", "square", "triangle", "diamond"), ALL_TARGETS)


def build(backbone: str, depth: int) -> MultiTaskNet:
    torch.manual_seed(0)
    tasks = [
        TASK_KINDS.get("classification")("scene", {}, INFO),
        TASK_KINDS.get("localization")("box", {}, INFO),
    ]
    return MultiTaskNet(backbone, tasks, depth).to(memory_format=torch.channels_last), tasks


def infer_seconds(model, images, repeats: int) -> float:
    model.eval()
    with torch.no_grad():
        model(images)
        t0 = time.perf_counter()
        for _ in range(repeats):
            model(images)
    return (time.perf_counter() - t0) / repeats


def train_seconds(model, tasks, images, targets, repeats: int) -> float:
    model.train()
    opt = torch.optim.SGD(model.parameters(), lr=1e-3)

    def step():
        out = model(images)
        loss = sum(t.loss(out[t.name], targets) for t in tasks)
        opt.zero_grad()
        loss.backward()
        opt.step()

    step()
    t0 = time.perf_counter()
    for _ in range(repeats):
        step()
    return (time.perf_counter() - t0) / repeats


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--backbones", nargs="+", default=["small_cnn", "resnet18"])
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    g = torch.Generator().manual_seed(0)
    one = torch.randint(0, 255, (1, 3, 128, 128), dtype=torch.uint8, generator=g)
    batch = torch.randint(0, 255, (32, 3, 128, 128), dtype=torch.uint8, generator=g)
    targets = {
        "scene_class": torch.randint(0, 4, (32,), generator=g),
        "largest_box": torch.tensor([[10.0, 10.0, 60.0, 70.0]]).repeat(32, 1),
    }
    print(
        f"torch {torch.__version__}, threads {torch.get_num_threads()}, 128 px, tasks: classification + box"
    )
    for name in args.backbones:
        shared, tasks_s = build(name, -1)
        indep, tasks_i = build(name, 0)
        ps, pi = shared.param_counts(), indep.param_counts()
        print(
            f"\n{name}: params shared {ps['total']:,} vs independent {pi['total']:,} "
            f"-> ratio {ps['total'] / pi['total']:.3f}"
        )
        rows = {"infer b1": [], "infer b32": [], "train b32": []}
        for _ in range(args.rounds):
            rows["infer b1"].append(infer_seconds(shared, one, 20) / infer_seconds(indep, one, 20))
            rows["infer b32"].append(infer_seconds(shared, batch, 2) / infer_seconds(indep, batch, 2))
            rows["train b32"].append(
                train_seconds(shared, tasks_s, batch, targets, 2)
                / train_seconds(indep, tasks_i, batch, targets, 2)
            )
        for key, ratios in rows.items():
            print(f"  {key}: shared/independent time ratio {statistics.median(ratios):.3f}")


if __name__ == "__main__":
    main()
