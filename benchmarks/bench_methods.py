"""Step cost of every weighting / gradient method against the plain sum, side by side.

Two models: the seed article's (ResNet-18, a classification and a box head, full sharing)
and the built-in three-task model (small CNN; classification, detection, segmentation).
One fixed batch of 32 images at 128 px on the CPU. Each method trains the same network
(a copy of the same initial weights) with a full step: forward, losses, the method's
backward, optimiser step. Rounds visit the methods in turn so drifts in machine load
hit all of them; the figure is the median seconds per step over the rounds, as a ratio
to ``equal_sum`` (the plain backward of the summed losses) in the same run. Goal for
methods that need per-task gradients: <= T + 0.3 times the plain sum.

``--memory`` also runs each method in a fresh process and reports its peak resident
memory (ru_maxrss) minus the plain sum's: the extra memory of the method's step.

    python benchmarks/bench_methods.py [--rounds 3] [--steps 3] [--model both|resnet|default] [--memory | --memory-only]
"""

from __future__ import annotations

import argparse
import copy
import json
import statistics
import subprocess
import sys
import time

import torch

from workbench.config import WeightingConfig, default_experiment
from workbench.training.evaluation import needed_targets
from workbench.training.experiment import build_experiment, build_optimizer
from workbench.training.task_affinity import lookahead_affinity
from workbench.training.trainer import epoch_order, iter_batches
from workbench.weighting import GRADIENT_METHODS, WEIGHTINGS
from workbench.weighting.base import BackwardContext
from workbench.weighting.shared_jacobian import shared_jacobian

BATCH = 32

# (method, params): the loss weightings, then every gradient method on its default
# (Jacobian) path and, for four of them, on the Gramian path too, then GradNorm
METHODS: list[tuple[str, dict]] = [("equal_sum", {}), ("uncertainty", {}), ("dwa", {}), ("famo", {})]
for _name in GRADIENT_METHODS:
    METHODS.append((_name, {}))
    if _name in ("sum", "upgrad", "mgda", "pcgrad"):
        METHODS.append((_name, {"path": "gramian"}))
METHODS.append(("gradnorm", {}))


def label(method: str, params: dict) -> str:
    return method + ("/gramian" if params.get("path") == "gramian" else "")


def model_config(which: str):
    cfg = default_experiment()
    cfg.train.batch_size = BATCH
    cfg.data.options.update(train_size=BATCH, val_size=BATCH)
    if which == "resnet":
        from workbench.config import TaskConfig

        cfg.model.backbone = "resnet18"
        cfg.tasks = [
            TaskConfig(name="scene", kind="classification"),
            TaskConfig(name="box", kind="localization"),
        ]
    return cfg


class Setup:
    """A model, its batch and, per method, a copy of the initial weights with its optimiser."""

    def __init__(self, which: str) -> None:
        self.cfg = model_config(which)
        exp = build_experiment(self.cfg, pretrained=False)
        self.tasks = exp.tasks
        self.base = exp.model.to(memory_format=torch.channels_last).train()
        order = epoch_order(0, 0, len(exp.train_set))
        images, targets = next(iter_batches(exp.train_set, order, BATCH, 0, 1, 0, needed_targets(exp.tasks)))
        targets.pop("problems", None)
        self.images, self.targets = images, targets

    def trainer(self, method: str, params: dict, measure_conflict: bool = False, lookahead: bool = False):
        model = copy.deepcopy(self.base)
        cfg = copy.deepcopy(self.cfg)
        cfg.weighting = WeightingConfig(method=method, params=dict(params), conflict_every=0)
        names = [t.name for t in self.tasks]
        weighting = WEIGHTINGS.get(method)(names, dict(params), {n: 1.0 for n in names})
        optimizer = build_optimizer(cfg, model, weighting)
        ctx = BackwardContext(
            shared_params=model.shared_parameters(),
            shared_modules=list(model.shared),
            task_params={n: [*model.branches[n].parameters(), *model.heads[n].parameters()] for n in names},
        )
        weighting.attach(ctx)

        def step() -> None:
            optimizer.zero_grad(set_to_none=True)
            out = model(self.images)
            losses = {t.name: t.masked_loss(out[t.name], self.targets)[0] for t in self.tasks}
            J = None
            if measure_conflict:  # what a conflict measurement adds to a loss weighting's step
                J = shared_jacobian(list(losses.values()), ctx.shared_params)
                _ = J.double() @ J.double().T
            weighting.backward(losses, ctx)
            if lookahead:  # TAG: one forward pass per task on the same batch, as the Trainer does

                def losses_after():
                    out = model(self.images)
                    return [float(t.masked_loss(out[t.name], self.targets)[0]) for t in self.tasks]

                base = [float(v.detach()) for v in losses.values()]
                lookahead_affinity(model, ctx.shared_params, J, 1e-3, losses_after, base)
            optimizer.step()
            if getattr(weighting, "wants_losses_after_step", False):  # FAMO, as the Trainer does
                with torch.no_grad():
                    after = model(self.images)
                    weighting.after_step(
                        {t.name: t.masked_loss(after[t.name], self.targets)[0] for t in self.tasks}
                    )

        return step


def timing(which: str, rounds: int, steps: int, only: list[str] | None = None) -> dict[str, float]:
    setup = Setup(which)
    available = [(m, p) for m, p in METHODS if not (m in GRADIENT_METHODS and GRADIENT_METHODS[m].missing())]
    if only:
        available = [(m, p) for m, p in available if label(m, p) in only or m == "equal_sum"]
    steppers = {label(m, p): setup.trainer(m, p) for m, p in available}
    steppers["equal_sum+conflict"] = setup.trainer("equal_sum", {}, measure_conflict=True)
    steppers["equal_sum+conflict+tag"] = setup.trainer("equal_sum", {}, measure_conflict=True, lookahead=True)
    for step in steppers.values():  # warm-up: solvers set up, allocator warm
        step()
    times: dict[str, list[float]] = {k: [] for k in steppers}
    for _ in range(rounds):
        for key, step in steppers.items():
            t0 = time.perf_counter()
            for _ in range(steps):
                step()
            times[key].append((time.perf_counter() - t0) / steps)
    return {k: statistics.median(v) for k, v in times.items()}


def peak_memory(which: str, method: str, params: dict) -> float:
    """Peak RSS in MiB of a fresh process that builds the model and takes 2 steps."""
    code = (
        "import json, resource, sys; sys.argv = ['x'];"
        "from benchmarks.bench_methods import Setup;"
        f"s = Setup({which!r}); step = s.trainer({method!r}, json.loads({json.dumps(json.dumps(params))}));"
        "step(); step(); print(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    return int(out.stdout.strip().splitlines()[-1]) / 1024


def memory_table(which: str) -> None:
    """Peak resident memory of each method's training step, each in a fresh process."""
    title = "ResNet-18, classification + box" if which == "resnet" else "built-in small CNN, 3 tasks"
    base = peak_memory(which, "equal_sum", {})
    print(f"\n{title}, batch {BATCH}, 128 px: peak RSS of the plain sum {base:.0f} MiB")
    print(f"{'method':<22}{'peak MiB':>10}{'extra MiB':>11}", flush=True)
    for m, p in METHODS:
        try:
            peak = peak_memory(which, m, p)
        except subprocess.CalledProcessError as exc:
            print(f"{label(m, p):<22}  could not run: {exc.stderr.strip().splitlines()[-1][:80]}", flush=True)
            continue
        print(f"{label(m, p):<22}{peak:>10.0f}{peak - base:>11.0f}", flush=True)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--steps", type=int, default=3)
    ap.add_argument("--model", choices=["both", "resnet", "default"], default="both")
    ap.add_argument("--memory", action="store_true")
    ap.add_argument(
        "--memory-only", action="store_true", help="only the peak memory of each method, no timing"
    )
    ap.add_argument(
        "--methods", help="comma-separated labels to time (default: all), e.g. sum,upgrad,upgrad/gramian"
    )
    args = ap.parse_args()
    torch.manual_seed(0)
    models = ["resnet", "default"] if args.model == "both" else [args.model]
    if args.memory_only:
        for which in models:
            memory_table(which)
        return
    for which in models:
        T = len(model_config(which).tasks)
        medians = timing(which, args.rounds, args.steps, args.methods.split(",") if args.methods else None)
        base = medians["equal_sum"]
        title = "ResNet-18, classification + box" if which == "resnet" else "built-in small CNN, 3 tasks"
        print(f"\n{title} (T = {T}), batch {BATCH}, 128 px, {torch.get_num_threads()} threads")
        print(f"plain sum: {base * 1000:.0f} ms/step; goal for per-task-gradient methods: <= {T + 0.3:.1f}x")
        mem_base = peak_memory(which, "equal_sum", {}) if args.memory else None
        print(f"{'method':<22}{'ms/step':>9}{'ratio':>8}" + (f"{'extra MiB':>11}" if args.memory else ""))
        conflict = medians["equal_sum+conflict"] / base
        print(
            f"a conflict measurement: {conflict:.2f}x a plain step; every 20 steps: +{(conflict - 1) / 20:.1%}"
        )
        tag = medians["equal_sum+conflict+tag"] / base
        print(
            f"with lookahead task affinity (TAG): {tag:.2f}x a plain step; every 20 steps: +{(tag - 1) / 20:.1%}"
        )
        for m, p in METHODS:
            key = label(m, p)
            if key not in medians:
                if not args.methods:
                    print(f"{key:<22}{'(solver not installed)':>17}")
                continue
            line = f"{key:<22}{medians[key] * 1000:>9.0f}{medians[key] / base:>8.2f}"
            if args.memory:
                line += f"{peak_memory(which, m, p) - mem_base:>11.0f}"
            print(line, flush=True)


if __name__ == "__main__":
    main()
