"""torchjd's scalarizers the workbench lacked, as loss weightings: geometric mean, STCH,
IMTL-L and FAMO.

A scalarizer maps the vector of task losses to one number, not always a weighted sum.
The weight reported for a task (for the plots) is ∂total/∂L_i at this step: the factor
its loss gradient enters the update with. What the objective holds beyond Σ wᵢ·Lᵢ with
these weights is reported as the regulariser (IMTL-L: −Σ sᵢ; STCH and FAMO: the rest of
their non-linear objective; the geometric mean: 0). With partial labels, a task missing from the
batch enters with its last seen loss, detached (it adds no gradient, and the stateful
scalarizers keep a stable input); before it was ever seen, with 1.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar

import torch

from workbench.config import setting
from workbench.weighting.base import Weighting
from workbench.weighting.registry import WEIGHTINGS


class ScalarizerWeighting(Weighting):
    """Base: ``make()`` builds the torchjd scalarizer (a submodule: its parameters, if any,
    join the optimiser and the checkpoint)."""

    torchjd_name: ClassVar[str]

    def __init__(self, task_names, params, static_weights, seed=0):
        super().__init__(task_names, params, static_weights, seed)
        self.scalarizer = self.make()
        self.last_seen: dict[str, float] = {}

    def make(self) -> torch.nn.Module:
        import torchjd.scalarization as scalarization

        return getattr(scalarization, self.torchjd_name)()

    def task_weights(self, losses):  # combine() is overridden; kept for the base's contract
        return {n: 1.0 for n in self.task_names}

    def _values(self, losses: dict[str, torch.Tensor]) -> torch.Tensor:
        device = next(iter(losses.values())).device
        values = []
        for n in self.task_names:
            if n in self.active:
                values.append(losses[n].float())
                self.last_seen[n] = float(losses[n].detach())
            else:
                values.append(torch.tensor(self.last_seen.get(n, 1.0), device=device))
        return torch.stack(values)

    def combine(self, losses, present=None):
        self.active = [n for n in self.task_names if present is None or n in present]
        values = self._values(losses)
        total = self.scalarizer(values)
        grads = torch.autograd.grad(total, values, retain_graph=True, allow_unused=True)[0]
        weights = grads.detach().cpu().tolist() if grads is not None else [0.0] * len(self.task_names)
        self.last_regulariser = self._rest(float(total.detach()), weights, values.detach().cpu().tolist())
        return total, {
            n: (float(w) if n in self.active else 0.0) for n, w in zip(self.task_names, weights, strict=True)
        }

    def _rest(self, total: float, weights: list[float], values: list[float]) -> float:
        """What the objective adds beyond Σ wᵢ·Lᵢ with the reported weights (the plots'
        regulariser): IMTL-L's −Σ sᵢ; 0 for the geometric mean, which is Σ wᵢ·Lᵢ itself.
        Before, it was 0 for all, and IMTL-L's −Σ sᵢ sat inside the logged Σ wᵢ·Lᵢ."""
        weighted = sum(
            w * v for n, w, v in zip(self.task_names, weights, values, strict=True) if n in self.active
        )
        rest = total - weighted
        return 0.0 if abs(rest) <= 1e-6 * max(1.0, abs(total)) else rest  # rounding, not a term

    def get_extra_state(self) -> Any:
        return {"last_seen": dict(self.last_seen)}

    def set_extra_state(self, state: Any) -> None:
        self.last_seen = dict((state or {}).get("last_seen", {}))


@WEIGHTINGS.register("geometric_mean")
class GeometricMean(ScalarizerWeighting):
    """Geometric mean of the task losses (torchjd's GeometricMean).

    Chennupati et al., "MultiNet++: Multi-Stream Feature Aggregation and Geometric Loss
    Strategy for Multi-Task Learning", CVPR Workshops 2019. (Π L_i)^(1/T): each task's
    weight is total / (T·L_i), so tasks with small losses are not drowned out."""

    method = "geometric_mean"
    torchjd_name = "GeometricMean"


@WEIGHTINGS.register("stch")
class SmoothTchebycheff(ScalarizerWeighting):
    """Smooth Tchebycheff scalarisation (torchjd's STCH).

    Lin et al., "Smooth Tchebycheff Scalarization for Multi-Objective Optimization", ICML
    2024. μ log Σ exp(L_i / (T μ)): a smooth maximum of the losses; the largest loss gets
    the largest weight, more so as μ shrinks."""

    method = "stch"

    @dataclass
    class Params(Weighting.Params):
        mu: float = setting(
            0.1, "Smoothing mu", "Smaller is closer to the maximum of the losses.", gt=0.0, le=100.0
        )

    def make(self):
        from torchjd.scalarization import STCH

        return STCH(mu=float(self.params.mu))


@WEIGHTINGS.register("imtl_l")
class ImpartialLoss(ScalarizerWeighting):
    """IMTL-L, the loss part of Impartial MTL (torchjd's IMTLL).

    Liu et al., "Towards Impartial Multi-task Learning", ICLR 2021. Learns s_i and
    minimises Σ exp(s_i) L_i - s_i, which drives every scaled loss exp(s_i) L_i to 1."""

    method = "imtl_l"

    def make(self):
        from torchjd.scalarization import IMTLL

        return IMTLL(len(self.task_names))


@WEIGHTINGS.register("famo")
class FastAdaptiveMTO(ScalarizerWeighting):
    """FAMO (torchjd's FAMO).

    Liu et al., "FAMO: Fast Adaptive Multitask Optimization", NeurIPS 2023. Weights from a
    softmax of logits that an inner Adam updates after each step from how much each loss
    fell on the same batch (one extra forward pass per step, without gradients)."""

    method = "famo"
    wants_losses_after_step = True

    @dataclass
    class Params(Weighting.Params):
        lr: float = setting(0.025, "Logit learning rate", "Adam step of the task logits.", gt=0.0, le=10.0)
        weight_decay: float = setting(1e-3, "Logit weight decay", "Decay of the task logits.", ge=0.0, le=1.0)

    def make(self):
        from torchjd.scalarization import FAMO

        famo = FAMO(
            len(self.task_names), lr=float(self.params.lr), weight_decay=float(self.params.weight_decay)
        )
        famo._w.requires_grad_(False)  # FAMO's own Adam steps the logits, never the run's optimiser
        return famo

    def after_step(self, losses: dict[str, torch.Tensor]) -> None:
        """The losses on the same batch after the optimiser step: FAMO's weight update."""
        with torch.enable_grad():
            self.scalarizer._w.requires_grad_(True)
            self.scalarizer.update(self._values(losses).detach())
            self.scalarizer._w.requires_grad_(False)

    def get_extra_state(self) -> Any:
        state = super().get_extra_state()
        opt = self.scalarizer._optimizer
        state["adam"] = opt.state_dict() if opt is not None else None
        prev = self.scalarizer._prev_losses
        state["prev"] = prev.clone() if prev is not None else None
        return state

    def set_extra_state(self, state: Any) -> None:
        super().set_extra_state(state)
        state = state or {}
        if state.get("adam") is not None:
            from torch.optim import Adam

            famo = self.scalarizer
            famo._optimizer = Adam([famo._w], lr=famo.lr, weight_decay=famo.weight_decay)
            famo._optimizer.load_state_dict(state["adam"])
        self.scalarizer._prev_losses = state.get("prev")
