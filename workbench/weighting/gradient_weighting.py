"""The gradient methods of ``GRADIENT_METHODS`` in the training loop.

Each step, for the tasks labelled in the batch:

1. the per-task gradients of the shared parameters: the Jacobian J (T x P), one backward
   pass per task ("jacobian" path, the default: the faster one on a CPU), or only its
   Gramian J Jᵀ with torchjd's autogram engine on the shared modules ("gramian" path, for
   the methods whose weights depend on the Gramian alone: UPGrad, MGDA, PCGrad, IMTL-G,
   CAGrad ...; it never holds J);
2. the method combines them: weights w (T,) and the shared update wᵀJ, or, for GradDrop
   (no weights), the direction itself; ConFIG, which torchjd gives as a direction, is run
   on a T x T factor of the Gramian and so gets weights too (``gramian_reduction``);
3. the shared parameters get that update; **each task's own parameters (its unshared
   stages and head) get the unweighted gradient of its own loss**, as in single-task
   training: the method arbitrates the shared update only. This is the convention of
   torchjd's ``mtl_backward`` and of LibMTL; the reference Nash-MTL code scales the heads
   by the task weights instead.

Under a float16 GradScaler the losses are scaled; the method sees J / scale (the true
gradients: Nash-MTL and ConFIG are not scale-invariant) and the update is scaled back, so
the scaler unscales it as usual. A non-finite Jacobian never reaches a solver: the step's
shared gradients become NaN, and the scaler skips the step and lowers its scale; without
a scaler the run stops with a message.

``every = k`` computes the weights every k steps and reuses the last ones in between
(one ordinary weighted backward), for the expensive methods. At sharing depth 0 there are
no shared parameters: the losses are summed (the trainer says so in the run's notes).

Under ``torchrun`` (``ctx.group``) the processes' share-weighted Jacobians are summed before
the method combines them, and rank 0's combination is used everywhere; the Gramian path is
not taken there (see ``training/distributed``).
"""

from __future__ import annotations

import dataclasses
from typing import Any, ClassVar

import numpy as np
import torch

from workbench.config import setting
from workbench.weighting.aggregator_state import capture, restore
from workbench.weighting.base import BackwardContext, Weighting
from workbench.weighting.gradient_methods import (
    GRADIENT_METHODS,
    SCALE_FREE_METHODS,
    GradientMethod,
    inverse_scale_power,
    nash_feasible_start,
)
from workbench.weighting.gramian_reduction import weights_through_gramian
from workbench.weighting.registry import WEIGHTINGS
from workbench.weighting.shared_jacobian import GramianEngine, shared_jacobian, write_direction

# Methods whose weights are a function of the Gramian J Jᵀ only (torchjd's
# GramianWeightedAggregator, and the weightings that read nothing but the number of tasks):
# they can take the "gramian" path.
GRAMIAN_METHODS = frozenset(
    {"upgrad", "dualproj", "mgda", "pcgrad", "imtl_g", "aligned_mtl", "cagrad", "fairgrad", "gradvac"}
    | {"sum", "mean", "random_grad"}
    | {m.name for m in GRADIENT_METHODS.values() if m.through_gramian}  # ConFIG
)
# Methods that return a direction without task weights: "every k" cannot reuse weights.
UNWEIGHTED_METHODS = frozenset({"graddrop"})


class NonFiniteGradients(FloatingPointError):
    """The per-task gradients of the shared parameters hold NaN or inf (no loss scaler), or
    the method could not combine them (its solver failed on overflowing values)."""


def _solver_words(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__


@dataclasses.dataclass
class GradientParams(Weighting.Params):
    every: int = setting(
        1,
        "Compute every",
        "Steps between computations of the task weights; the last weights are reused in between.",
        unit="steps",
        ge=1,
        le=100_000,
    )
    path: str = setting(
        "auto",
        "Gradient path",
        "jacobian: the per-task gradients of the shared parameters, one backward pass per task; "
        "gramian: only their T x T Gramian (torchjd's autogram engine: less memory, slower on a CPU), "
        "for methods whose weights depend on it alone; auto: jacobian.",
        choices=("auto", "jacobian", "gramian"),
    )


class GradientWeighting(Weighting):
    """Base of the registered gradient methods (one subclass per ``GRADIENT_METHODS`` entry)."""

    needs = "shared_param_grads"
    spec: ClassVar[GradientMethod]

    def __init__(self, task_names, params, static_weights, seed=0):
        super().__init__(task_names, params, static_weights, seed)
        knobs = {k.name: getattr(self.params, k.name) for k in self.spec.knobs}
        from workbench.config import ConfigError

        missing = self.spec.missing()
        if missing:
            raise ConfigError(
                "weighting.method", f"{self.method} needs {', '.join(missing)}: {self.spec.install_hint()}"
            )
        broken = self.spec.broken()
        if broken:  # installed but failing on import: said now, not as a NameError steps later
            raise ConfigError("weighting.method", broken)
        # not a registered submodule: its state travels through get_extra_state (see aggregator_state)
        object.__setattr__(self, "aggregator", self.spec.build(len(self.task_names), **knobs))
        self._knobs = knobs
        self.steps = 0
        self.weights: torch.Tensor | None = None  # the last computed weights, float64, over weights_names
        self.weights_names: list[str] = []
        self.last_gramian: torch.Tensor | None = None  # this step's Gramian (T_active x T_active), float64
        self.last_gramian_names: list[str] = []
        self._engine: GramianEngine | None = None

    def will_compute_gramian(self) -> bool:
        """Whether the next ``backward`` computes the per-task gradients (so task conflict
        can be read from ``last_gramian`` at no extra cost)."""
        every = self.params.every
        return self.weights is None or every == 1 or self.steps % every == 0

    @property
    def uses_gramian(self) -> bool:
        return self.method in GRAMIAN_METHODS and self.params.path == "gramian"

    def attach(self, ctx: BackwardContext) -> None:
        # under torchrun the Gramian of the global batch is not the sum of the processes'
        # Gramians: the Jacobian path is taken (its rows do sum)
        if self.uses_gramian and ctx.shared_modules and ctx.group is None:
            self._engine = GramianEngine(ctx.shared_modules)

    # a solver's numpy arithmetic overflowing prints a bare warning line before the run's own
    # message (NonFiniteGradients below says it in words)
    @np.errstate(over="ignore", invalid="ignore", divide="ignore")
    def backward(self, losses, ctx, present=None):
        self.active = names = [n for n in self.task_names if present is None or n in present]
        self.last_gramian = None
        shared = list(ctx.shared_params or [])
        group = ctx.group
        scaled = [ctx.scale(losses[n]) for n in names]
        if group is not None:  # each process's share of the global batch's mean loss
            scaled = [s * group.shares[n] for s, n in zip(scaled, names, strict=True)]
        own = [p for n in names for p in (ctx.task_params or {}).get(n, [])]
        if not shared or len(names) == 1:
            # sharing depth 0, or one labelled task (a one-task experiment, a partial-label
            # batch): nothing to combine; the task's own gradient is the step, for every method
            if self._engine is not None:
                self._engine.discard()
            torch.autograd.backward(sum(scaled))
            if group is not None:
                group.sum_grads([*shared, *own] if shared else own)
            return float(sum(losses[n].detach() for n in names)), self._report(names, None)
        agg = self._aggregator_for(names)
        scale = float(ctx.loss_scale)
        due = (
            self.weights is None
            or self.params.every == 1
            or self.steps % self.params.every == 0
            or self.weights_names != names
        )
        self.steps += 1
        weights = self.weights if not due else None
        wrote = False  # the Jacobian path writes the shared update itself
        own_done = False
        try:  # a solver fed overflowing gradients (finite losses near 1e30) fails in its own words
            if due and self._engine is not None:
                gramian = self._engine.gramian(scaled).double() / scale**2
                if not torch.isfinite(gramian).all():
                    return self._skip(losses, scaled, shared, names, ctx)
                weights = self._from_gramian(gramian, agg)
                self._keep(weights, gramian, names)
            elif due:
                # each task's own layers get their gradient from the same backward passes
                J = (
                    shared_jacobian(scaled, shared, [(ctx.task_params or {}).get(n, []) for n in names])
                    / scale
                )
                own_done = True
                if group is not None:  # the global batch's Jacobian, the same on every process
                    group.sum_(J)
                    group.sum_grads(own)
                if not torch.isfinite(J).all():
                    return self._skip(losses, scaled, shared, names, ctx)
                Jd = J.double()
                gramian = Jd @ Jd.T
                if self.method in GRAMIAN_METHODS or not gramian.any():  # (all 0: the sum's 1s)
                    weights = self._from_gramian(gramian, agg)
                elif self.method not in UNWEIGHTED_METHODS:
                    power = inverse_scale_power(self.method, self._knobs)
                    longest = float(gramian.diagonal().max().sqrt()) if power is not None else 1.0
                    seen = J / longest if power is not None else J
                    if self.method == "nash_mtl":
                        nash_feasible_start(agg, seen)
                    weights = agg.weighting(seen).detach().double()
                    if power is not None:
                        weights = weights * longest ** (-power)
                direction = (agg(J) if weights is None else weights.to(J.dtype) @ J).detach()
                if scale == 1.0 and not torch.isfinite(direction).all():  # (a scaler skips such a step)
                    raise NonFiniteGradients(f"{self.method}'s combined gradient is not finite")
                if group is not None:  # rank 0's combination everywhere: the parameters stay equal
                    group.agree_(direction)
                    if weights is not None:
                        weights = group.agree_(weights.to(J.device)).cpu()
                self._keep(weights, gramian, names)
                write_direction(shared, direction * scale)
                wrote = True
        except (ValueError, ArithmeticError) as exc:
            if isinstance(exc, NonFiniteGradients):
                raise
            raise NonFiniteGradients(
                f"{self.method} could not combine the task gradients ({_solver_words(exc)}); "
                "they are probably too large (the losses diverge)"
            ) from exc
        except Exception as exc:
            if type(exc).__name__ != "SolverError":  # cvxpy's, without importing cvxpy here
                raise
            raise NonFiniteGradients(
                f"{self.method}'s solver failed ({_solver_words(exc)}); the task gradients are probably "
                "too large (the losses diverge)"
            ) from exc
        if weights is not None and not torch.isfinite(weights).all():
            raise NonFiniteGradients(
                f"{self.method} gave task weights that are not finite: {weights.tolist()}"
            )
        if not wrote:
            # the Gramian path and reused weights: one weighted backward onto the shared parameters
            if not due and self._engine is not None:
                self._engine.discard()  # this step's forward pass takes no Gramian
            weighted = sum(float(w) * s for w, s in zip(weights.tolist(), scaled, strict=True))
            torch.autograd.backward(weighted, inputs=shared, retain_graph=True)
            if group is not None:
                group.sum_grads(shared)
        if own and not own_done:
            torch.autograd.backward(sum(scaled), inputs=own)
            if group is not None:
                group.sum_grads(own)
        w = weights.tolist() if weights is not None else None
        total = sum((w[i] if w else 1.0) * float(losses[n].detach()) for i, n in enumerate(names))
        return float(total), self._report(names, w)

    def skip_step(self) -> None:
        """The loop takes no backward on this step (its batch labels no task)."""
        if self._engine is not None:
            self._engine.discard()

    def _aggregator_for(self, names: list[str]) -> Any:
        """The aggregator for a step whose labelled tasks are ``names``. Nash-MTL's convex
        programme is built for a fixed number of tasks: a step labelling fewer gets a fresh
        programme of its size (no warm start, no state, so resume stays exact); the other
        methods take any number of rows (torchjd resets GradVac's and ExcessMTL's state
        when it changes)."""
        if len(names) == len(self.task_names) or self.method != "nash_mtl":
            return self.aggregator
        return self.spec.build(len(names), **self._knobs)

    def _from_gramian(self, gramian: torch.Tensor, agg: Any) -> torch.Tensor:
        if not gramian.any():  # every task's shared gradient is 0: nothing to combine
            return torch.ones(gramian.shape[0], dtype=torch.float64)
        if self.method in SCALE_FREE_METHODS:  # at a unit scale, away from torchjd's epsilons
            gramian = gramian / gramian.diagonal().sum()
        power = inverse_scale_power(self.method, self._knobs)
        if power is not None:  # FairGrad: solved at the longest task gradient's scale, scaled back
            longest_sq = float(gramian.diagonal().max())
            weighting = getattr(agg, "gramian_weighting", None) or agg.weighting
            return weighting(gramian / longest_sq).detach().double() * longest_sq ** (-power / 2)
        if self.spec.through_gramian:
            return weights_through_gramian(agg, gramian)
        weighting = getattr(agg, "gramian_weighting", None)
        if weighting is None:  # sum, mean, random: the weights depend on the number of rows only
            weighting = agg.weighting
        return weighting(gramian).detach().double()

    def _keep(self, weights: torch.Tensor | None, gramian: torch.Tensor, names: list[str]) -> None:
        self.weights = None if weights is None else weights.double().cpu()
        self.weights_names = list(names)
        self.last_gramian = gramian.detach().cpu()
        self.last_gramian_names = list(names)

    def _skip(self, losses, scaled, shared, names, ctx):
        """A non-finite Jacobian: NaN shared gradients make the GradScaler skip the step."""
        for n in names:  # the Jacobian path may have filled them already
            for p in (ctx.task_params or {}).get(n, []):
                p.grad = None
        if float(ctx.loss_scale) == 1.0:
            raise NonFiniteGradients(
                "the per-task gradients of the shared parameters hold NaN or inf; the run stopped"
            )
        torch.autograd.backward(sum(scaled))
        for p in shared:
            p.grad = torch.full_like(p, float("nan"))
        return float(sum(float(losses[n].detach()) for n in names)), self._report(names, None)

    def _report(self, names: list[str], weights: list[float] | None) -> dict[str, float]:
        """The weight per task for plots: 1 for the methods without weights, 0 for absent tasks."""
        out = {n: 0.0 for n in self.task_names}
        for i, n in enumerate(names):
            out[n] = float(weights[i]) if weights is not None else 1.0
        return out

    def task_weights(self, losses):
        # only reached through ``combine`` (e.g. the plain-sum fallback): equal weights
        return {n: 1.0 for n in self.task_names}

    def get_extra_state(self) -> Any:
        return {
            "steps": self.steps,
            "weights": self.weights,
            "weights_names": list(self.weights_names),
            "aggregator": capture(self.aggregator),
        }

    def set_extra_state(self, state: Any) -> None:
        if not state:
            return
        self.steps = int(state.get("steps", 0))
        self.weights = state.get("weights")
        self.weights_names = list(state.get("weights_names", []))
        restore(self.aggregator, state.get("aggregator", {}))


def _params_class(spec: GradientMethod) -> type:
    weighted = spec.name not in UNWEIGHTED_METHODS
    gramian = spec.name in GRAMIAN_METHODS

    def validate(self, path: str) -> None:
        from workbench.config import ConfigError

        if self.every > 1 and not weighted:  # a config error (exit 2), not a failed run
            raise ConfigError(f"{path}.every", f"{spec.name} has no task weights to reuse; use every = 1")
        if self.path == "gramian" and not gramian:
            raise ConfigError(
                f"{path}.path",
                f"{spec.name}'s weights need the full Jacobian, not only its Gramian; use jacobian or auto",
            )

    return dataclasses.make_dataclass(
        f"{spec.name.title().replace('_', '')}Params",
        [k.as_field() for k in spec.knobs],
        bases=(GradientParams,),
        namespace={"validate": validate},
    )


def _register(spec: GradientMethod) -> type:
    cited = any(c.isdigit() for c in spec.paper)  # a paper, not sum's or mean's own words
    paper = f"{spec.paper[:1].upper()}{spec.paper[1:]}."
    source = f"{spec.summary} {paper if cited else ''}".strip() if spec.summary else paper
    doc = (
        f"{source}\n\nGradient method on the shared parameters (cost: {spec.cost}). "
        "Each task's own layers get its unweighted gradient."
    )
    cls = type(
        f"{spec.name.title().replace('_', '')}Gradient",
        (GradientWeighting,),
        {"method": spec.name, "spec": spec, "Params": _params_class(spec), "__doc__": doc},
    )
    return WEIGHTINGS.register(spec.name)(cls)


for _spec in GRADIENT_METHODS.values():
    _register(_spec)
