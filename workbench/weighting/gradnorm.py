"""GradNorm (torchjd has no GradNorm).

Chen, Badrinarayanan, Lee and Rabinovich, "GradNorm: Gradient Normalization for Adaptive
Loss Balancing in Deep Multitask Networks", ICML 2018.

Learnable weights w_i (start 1). Each step, with W the parameters of the last shared
stage, g_i = ||∇_W L_i||, G_i = w_i g_i, Ḡ = mean_i G_i, L̃_i = L_i / L_i(0) (the loss at
the task's first step), r_i = L̃_i / mean_j L̃_j:

    L_grad = Σ_i | G_i - Ḡ r_i^α |,  the target Ḡ r_i^α held constant,

so ∂L_grad/∂w_i = sign(G_i - Ḡ r_i^α) g_i. The optimiser steps the w_i along this gradient
with the model's learning rate; before each step the weights are renormalised to
Σ w_i = T (and kept above 1e-4). The model gets the gradient of Σ w_i L_i: unlike the
gradient methods, GradNorm is a loss weighting, and every layer sees the weighted loss, as
in the paper. At sharing depth 0 there is no shared stage: the losses are summed.

Under ``torchrun`` (``ctx.group``) each process's per-task gradients on the last shared
stage and its losses are scaled by its share of the task's labelled samples and summed
over the processes, so every process balances the global batch's norms alike; the
weighted backward's gradients are summed the same way (see ``training/distributed``).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import torch
from torch import nn

from workbench.config import setting
from workbench.weighting.base import Weighting
from workbench.weighting.registry import WEIGHTINGS


@WEIGHTINGS.register("gradnorm")
class GradNorm(Weighting):
    """GradNorm: Chen et al., ICML 2018. Learns weights that balance the tasks' gradient
    norms on the last shared stage towards their relative training rates (α = 1.5).

    Needs one gradient per task on the last shared stage each step."""

    method = "gradnorm"
    needs = "shared_param_grads"

    @dataclass
    class Params(Weighting.Params):
        alpha: float = setting(
            1.5,
            "Asymmetry alpha",
            "How strongly tasks that train slower get larger gradients; 0 equalises the norms.",
            ge=0.0,
            le=10.0,
        )

    def __init__(self, task_names, params, static_weights, seed=0):
        super().__init__(task_names, params, static_weights, seed)
        self.w = nn.Parameter(torch.ones(len(self.task_names)))
        self.initial: dict[str, float] = {}  # L_i(0), the loss at the task's first step

    def task_weights(self, losses):
        return {n: 1.0 for n in self.task_names}

    def backward(self, losses, ctx, present=None):
        self.active = names = [n for n in self.task_names if present is None or n in present]
        index = [self.task_names.index(n) for n in names]
        shared_last = list(ctx.shared_modules[-1].parameters()) if ctx.shared_modules else []
        group = ctx.group  # under torchrun: this process's shares, summed over the processes
        share = {n: (group.shares[n] if group is not None else 1.0) for n in names}
        everything = [
            *(ctx.shared_params or []),
            *(p for n in names for p in (ctx.task_params or {}).get(n, [])),
        ]
        if not shared_last:  # sharing depth 0: nothing to balance on
            total = sum(losses[n] * share[n] for n in names)
            ctx.scale(total).backward()
            if group is not None:
                group.sum_grads(everything)
            return float(total.detach()), {n: (1.0 if n in names else 0.0) for n in self.task_names}
        with torch.no_grad():
            self.w.clamp_(min=1e-4)
            self.w.mul_(len(self.task_names) / self.w.sum())
        scale = float(ctx.loss_scale)
        rows = []
        for n in names:
            loss = ctx.scale(losses[n]) * share[n] if group is not None else ctx.scale(losses[n])
            grads = torch.autograd.grad(loss, shared_last, retain_graph=True, allow_unused=True)
            rows.append(
                torch.cat(
                    [
                        (g if g is not None else torch.zeros_like(p)).reshape(-1)
                        for g, p in zip(grads, shared_last, strict=True)
                    ]
                ).double()
            )
        values = [float(losses[n].detach()) for n in names]
        if group is not None:  # the global batch's gradients and mean losses
            M = group.sum_(torch.stack(rows))
            rows = list(M)
            values = group.sum_(
                torch.tensor(
                    [v * share[n] for n, v in zip(names, values, strict=True)],
                    dtype=torch.float64,
                    device=M.device,
                )
            ).tolist()
        norms = [float(row.pow(2).sum()) ** 0.5 / scale for row in rows]
        for n, v in zip(names, values, strict=True):
            self.initial.setdefault(n, v)
        w = self.w.detach().double()[index]
        g = torch.tensor(norms, dtype=torch.float64)
        G = w * g
        ratio = torch.tensor(
            [v / self.initial[n] if self.initial[n] > 0 else 1.0 for n, v in zip(names, values, strict=True)],
            dtype=torch.float64,
        )
        r = ratio / ratio.mean()
        target = G.mean() * r.pow(self.params.alpha)
        grad_w = torch.zeros(len(self.task_names), dtype=torch.float64)
        grad_w[index] = torch.sign(G - target) * g
        if all(torch.isfinite(grad_w)):
            # the scaler unscales every gradient, these too
            self.w.grad = (grad_w * scale).to(self.w.dtype).to(self.w.device)
        weights = {n: float(self.w.detach()[self.task_names.index(n)]) for n in names}
        total = sum(weights[n] * losses[n] * share[n] for n in names)
        ctx.scale(total).backward()
        if group is not None:
            group.sum_grads(everything)
        self.last_grad_norms = dict(zip(names, norms, strict=True))
        value = (
            float(total.detach())
            if group is None
            else sum(w * v for w, v in zip(weights.values(), values, strict=True))
        )
        return value, {n: weights.get(n, 0.0) for n in self.task_names}

    def get_extra_state(self) -> Any:
        return {"initial": dict(self.initial)}

    def set_extra_state(self, state: Any) -> None:
        self.initial = dict((state or {}).get("initial", {}))
