"""Loss-based weighting methods, one small class each."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import torch
from torch import nn

from workbench.config import setting
from workbench.weighting.base import Weighting
from workbench.weighting.registry import WEIGHTINGS


@WEIGHTINGS.register("equal_sum")
class EqualSum(Weighting):
    """Plain sum of the task losses, every weight 1."""

    method = "equal_sum"

    def task_weights(self, losses):
        return {n: 1.0 for n in self.task_names}


@WEIGHTINGS.register("equal_mean")
class EqualMean(Weighting):
    """Mean of the task losses, every weight 1/T (the 1/2 Σ of a two-task model); with
    partial labels, T counts the tasks labelled in the batch."""

    method = "equal_mean"

    def task_weights(self, losses):
        return {n: 1.0 / max(1, len(self.active)) for n in self.task_names}


@WEIGHTINGS.register("static")
class Static(Weighting):
    """Fixed weights: each task's ``loss_weight`` from the experiment's task list."""

    method = "static"

    def task_weights(self, losses):
        return {n: float(self.static_weights.get(n, 1.0)) for n in self.task_names}


@WEIGHTINGS.register("uncertainty")
class Uncertainty(Weighting):
    """Homoscedastic uncertainty weighting.

    Kendall, Gal and Cipolla, "Multi-Task Learning Using Uncertainty to Weigh Losses for
    Scene Geometry and Semantics", CVPR 2018. Learns s_i = log σ_i² per task and minimises
    Σ 0.5·exp(-s_i)·L_i + 0.5·s_i. ``init_log_var`` sets s_i at the start (default 0).
    """

    method = "uncertainty"

    @dataclass
    class Params(Weighting.Params):
        init_log_var: float = setting(
            0.0, "Initial log-variance", "s_i = log sigma_i^2 of every task at the start.", ge=-10.0, le=10.0
        )

    def __init__(self, task_names, params, static_weights, seed=0):
        super().__init__(task_names, params, static_weights, seed)
        self.log_vars = nn.Parameter(torch.full((len(self.task_names),), float(self.params.init_log_var)))

    def task_weights(self, losses):
        w = 0.5 * torch.exp(-self.log_vars)
        return {n: w[i] for i, n in enumerate(self.task_names)}

    def extra_loss(self):
        # only the tasks in the batch: an absent task's log-variance would otherwise be
        # pushed down by its regulariser alone, with no loss to balance it
        keep = torch.tensor([n in self.active for n in self.task_names], device=self.log_vars.device)
        return 0.5 * (self.log_vars * keep).sum()


@WEIGHTINGS.register("dwa")
class DynamicWeightAverage(Weighting):
    """Dynamic Weight Average.

    Liu, Johns and Davison, "End-to-End Multi-Task Learning with Attention", CVPR 2019.
    w_i(t) = T · softmax_i(r_i(t-1) / temperature), r_i(t-1) = L_i(t-1) / L_i(t-2) with
    epoch-mean training losses; weights are 1 for the first two epochs. Temperature 2.
    """

    method = "dwa"

    @dataclass
    class Params(Weighting.Params):
        temperature: float = setting(
            2.0,
            "Temperature",
            "Softmax temperature of the loss ratios; larger is smoother.",
            ge=0.01,
            le=100.0,
        )

    def __init__(self, task_names, params, static_weights, seed=0):
        super().__init__(task_names, params, static_weights, seed)
        self.history: list[dict[str, float]] = []
        self._weights = {n: 1.0 for n in self.task_names}

    def task_weights(self, losses):
        return dict(self._weights)

    def epoch_end(self, train_losses: dict[str, float]) -> None:
        self.history.append({n: float(train_losses[n]) for n in self.task_names})
        if len(self.history) < 2:
            return
        prev, before = self.history[-1], self.history[-2]
        ratios = [prev[n] / before[n] if before[n] > 0 else 1.0 for n in self.task_names]
        scaled = [r / self.params.temperature for r in ratios]
        top = max(scaled)  # softmax without overflow: exp(x - max) <= 1
        exps = [math.exp(x - top) for x in scaled]
        scale = len(self.task_names) / sum(exps)
        self._weights = {n: e * scale for n, e in zip(self.task_names, exps, strict=True)}

    def get_extra_state(self) -> Any:
        return {"history": self.history, "weights": self._weights}

    def set_extra_state(self, state: Any) -> None:
        self.history = list(state.get("history", []))
        self._weights = dict(state.get("weights", self._weights))


@WEIGHTINGS.register("random")
class RandomLossWeighting(Weighting):
    """Random loss weighting (RLW).

    Lin, Ye, Xu, Shi and Zhang, "Reasonable Effectiveness of Random Weighting: A Litmus
    Test for Multi-Task Learning", TMLR 2022. Each step draws w = softmax(z), z ~ N(0, I):
    weights sum to 1. Seeded from the run seed; the generator state is checkpointed.
    """

    method = "random"

    def __init__(self, task_names, params, static_weights, seed=0):
        super().__init__(task_names, params, static_weights, seed)
        self.generator = torch.Generator().manual_seed(int(seed) + 7919)

    def task_weights(self, losses):
        # T draws always (the generator's stream does not depend on the labels), the
        # softmax over the tasks labelled in the batch
        draws = torch.randn(len(self.task_names), generator=self.generator)
        keep = [i for i, n in enumerate(self.task_names) if n in self.active]
        w = torch.softmax(draws[keep], dim=0) if keep else draws[:0]
        return {n: float(w[keep.index(i)]) if i in keep else 0.0 for i, n in enumerate(self.task_names)}

    def get_extra_state(self) -> Any:
        return {"generator": self.generator.get_state()}

    def set_extra_state(self, state: Any) -> None:
        if "generator" in state:
            self.generator.set_state(state["generator"])
