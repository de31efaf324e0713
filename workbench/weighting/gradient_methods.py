"""Gradient-based multi-task methods, from torchjd's aggregators, as a pure function.

``combine_gradients(method, G, **params)`` takes the per-task gradients of the shared
parameters as a matrix ``G`` (T tasks x P parameters, float64) and returns the combined
update direction (P,) and, for the methods that weigh the gradients, the task weights
(T,) with ``direction = weights @ G``. Each method is a ``GradientMethod`` entry naming its
paper, its parameters (declared once with their limits and help: the validation, the
setup form and the defaults all read them), what it costs and the optional solver it
needs. ``workbench.weighting.gradient_weighting`` runs the same entries in the training loop.
"""

from __future__ import annotations

import dataclasses
import importlib.util
import warnings
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch

from workbench.config import setting


@dataclass(frozen=True)
class Knob:
    """One parameter of a method: its torchjd name, default, label, help and limits."""

    name: str
    default: Any
    label: str
    help: str
    limits: dict[str, Any] = field(default_factory=dict)

    def as_field(self) -> tuple[str, type, Any]:
        return (self.name, type(self.default), setting(self.default, self.label, self.help, **self.limits))


@dataclass(frozen=True)
class GradientMethod:
    """``build(T, **params)`` makes the torchjd aggregator; ``knobs`` its parameters;
    ``requires`` the optional modules it needs (``pip_names`` to install them); ``cost``
    what a step costs beyond the per-task gradients; ``stateful``: it keeps state across
    steps (checkpointed with the run)."""

    name: str
    paper: str
    build: Callable[..., Any]
    knobs: tuple[Knob, ...] = ()
    cost: str = "one gradient per task"
    requires: tuple[str, ...] = ()
    pip_names: tuple[str, ...] = ()
    stateful: bool = False
    group: str = "conflict-averse"
    # run on a T x r factor of the Gramian (``gramian_reduction``): exact for aggregators
    # that commute with isometries, and torchjd's ConFIG fails on the full float32 matrix
    through_gramian: bool = False
    summary: str = ""  # what the method does, in a sentence (the setup's help)

    @property
    def defaults(self) -> dict[str, Any]:
        return {k.name: k.default for k in self.knobs}

    def missing(self) -> list[str]:
        """The optional modules this method needs that are not installed."""
        return [m for m in self.requires if importlib.util.find_spec(m) is None]

    def broken(self) -> str:
        """Why a required module that is installed cannot be imported ('' when all import).
        Imports them (cvxpy takes a second): called when a run builds the method, not while
        the setup lists the methods."""
        for module in self.requires:
            try:
                importlib.import_module(module)
            except Exception as exc:  # noqa: BLE001 - a damaged install raises anything
                words = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
                return (
                    f"{self.name} needs {module}, which is installed but cannot be imported "
                    f"({type(exc).__name__}{': ' + words if words else ''}); reinstall it: "
                    f"pip install --force-reinstall {' '.join(self.pip_names)}"
                )
        return ""

    def install_hint(self) -> str:
        """'pip install ...' for the missing modules ('' when none is missing)."""
        return f"pip install {' '.join(self.pip_names)}" if self.missing() else ""


def _agg(name: str) -> Callable[..., Any]:
    def build(num_tasks: int, **params: Any) -> Any:
        import torchjd.aggregation as aggregation

        cls = getattr(aggregation, name)
        if name != "NashMTL":
            return cls(**params)
        # cvxpy's advice to whoever wrote the programme (torchjd), printed over several lines
        # on every run; it says nothing about the user's experiment
        warnings.filterwarnings(
            "ignore", message="You are solving a parameterized problem that is not DPP", category=UserWarning
        )
        return cls(num_tasks, **params)

    return build


# What each method does, in a sentence (shown in the setup with its paper).
SUMMARIES = {
    "sum": "Adds the task gradients: plain multi-task training.",
    "mean": "Averages the task gradients.",
    "random_grad": "Weighs the task gradients with random weights drawn anew at every step.",
    "upgrad": "Projects each task gradient onto the dual cone of all of them and averages the "
    "projections: no task's loss rises, to first order.",
    "dualproj": "Projects the mean gradient onto the dual cone of the task gradients: no task's "
    "loss rises, to first order.",
    "mgda": "Takes the shortest vector in the convex hull of the task gradients: a direction "
    "that lowers every task's loss.",
    "pcgrad": "Removes from each task gradient its part along every task gradient it conflicts "
    "with (negative cosine), in random order, then adds them.",
    "imtl_g": "Chooses weights that give the update the same projection on every task "
    "gradient's unit vector.",
    "aligned_mtl": "Aligns the principal components of the task gradients (equal singular "
    "values), scaled by the smallest one.",
    "cagrad": "Moves from the mean gradient towards the direction that most improves the worst "
    "task, within a ball of radius c·|mean gradient|.",
    "nash_mtl": "Weighs the tasks by a Nash bargaining solution between them (GGᵀα = 1/α).",
    "fairgrad": "Shares the improvement between tasks by α-fairness (α = 1 is proportional "
    "fairness, as Nash-MTL).",
    "config": "Takes the direction with the same positive cosine to every task gradient, as long "
    "as the sum of their projections on it.",
    "graddrop": "Keeps, per coordinate, only the gradients of one sign, drawn at random by how "
    "much the tasks agree on it.",
    "gradvac": "Lifts the cosine of conflicting task pairs to a target that follows their past "
    "cosines, by mixing their gradients.",
    "excess_mtl": "Weighs the tasks by their estimated excess risk (how far each is from its "
    "best), updated multiplicatively.",
}

_QP = ("quadprog", "qpsolvers")
_JD = "Quinton and Layne, Jacobian Descent for Multi-Objective Optimization, 2024"
GRADIENT_METHODS: dict[str, GradientMethod] = {
    m.name: m
    for m in (
        GradientMethod(
            "sum", "the plain sum of the task gradients", _agg("Sum"), cost="none", group="baseline"
        ),
        GradientMethod("mean", "the mean of the task gradients", _agg("Mean"), cost="none", group="baseline"),
        GradientMethod(
            "random_grad",
            "Lin et al., Reasonable Effectiveness of Random Weighting, TMLR 2022 (random gradient weighting)",
            _agg("Random"),
            cost="none",
            group="baseline",
        ),
        GradientMethod(
            "upgrad", _JD, _agg("UPGrad"), cost="a quadratic programme per task", requires=_QP, pip_names=_QP
        ),
        GradientMethod(
            "dualproj", _JD, _agg("DualProj"), cost="one quadratic programme", requires=_QP, pip_names=_QP
        ),
        GradientMethod(
            "mgda",
            "Désidéri, Multiple-gradient descent algorithm, 2012; Sener and Koltun, NeurIPS 2018",
            _agg("MGDA"),
            (
                Knob(
                    "epsilon",
                    0.001,
                    "Tolerance",
                    "Frank-Wolfe stops when the step is below this.",
                    {"gt": 0.0, "le": 1.0},
                ),
                Knob(
                    "max_iters", 100, "Iterations", "Most Frank-Wolfe iterations.", {"ge": 1, "le": 100_000}
                ),
            ),
            cost="Frank-Wolfe iterations on the Gramian",
        ),
        GradientMethod(
            "pcgrad", "Yu et al., Gradient Surgery for Multi-Task Learning, NeurIPS 2020", _agg("PCGrad")
        ),
        GradientMethod(
            "imtl_g", "Liu et al., Towards Impartial Multi-task Learning, ICLR 2021", _agg("IMTLG")
        ),
        GradientMethod(
            "aligned_mtl",
            "Senushkin et al., Independent Component Alignment for Multi-Task Learning, CVPR 2023",
            _agg("AlignedMTL"),
            (
                Knob(
                    "scale_mode",
                    "min",
                    "Scale",
                    "Which singular value scales the aligned gradients.",
                    {"choices": ("min", "median", "rmse")},
                ),
            ),
            cost="an eigendecomposition of the Gramian",
        ),
        GradientMethod(
            "cagrad",
            "Liu et al., Conflict-Averse Gradient Descent for Multi-task Learning, NeurIPS 2021",
            _agg("CAGrad"),
            (
                Knob(
                    "c",
                    0.4,
                    "Conflict radius c",
                    "How far the update may move from the mean gradient.",
                    {"ge": 0.0, "lt": 1.0},
                ),
            ),
            cost="a convex programme",
            requires=("cvxpy",),
            pip_names=("cvxpy",),
        ),
        GradientMethod(
            "nash_mtl",
            "Navon et al., Multi-Task Learning as a Bargaining Game, ICML 2022",
            _agg("NashMTL"),
            (
                Knob(
                    "max_norm",
                    1.0,
                    "Largest norm",
                    "Clip the combined update to this norm; 0 disables.",
                    {"ge": 0.0, "le": 1e6},
                ),
                Knob(
                    "update_weights_every",
                    1,
                    "Solve every",
                    "Steps between solves of the bargaining game.",
                    {"ge": 1, "le": 10_000},
                ),
                Knob(
                    "optim_niter",
                    20,
                    "Solver iterations",
                    "Iterations of the convex-concave procedure.",
                    {"ge": 1, "le": 1000},
                ),
            ),
            cost="a convex programme (stateful)",
            requires=("cvxpy", "ecos"),
            pip_names=("cvxpy", "ecos"),
            stateful=True,
        ),
        GradientMethod(
            "fairgrad",
            "Ban and Ji, Fair Resource Allocation in Multi-Task Learning, ICML 2024",
            _agg("FairGrad"),
            (
                Knob(
                    "alpha",
                    1.0,
                    "Fairness alpha",
                    "alpha-fairness: 0 utilitarian, 1 proportional, large max-min.",
                    {"gt": 0.0, "le": 100.0},
                ),
            ),
            cost="a root-finding problem",
            requires=("scipy",),
            pip_names=("scipy",),
        ),
        GradientMethod(
            "config",
            "Liu et al., ConFIG: Towards Conflict-free Training of Physics Informed Neural Networks, ICLR 2025",
            _agg("ConFIG"),
            cost="a pseudo-inverse of a T x T factor of the Gramian",
            through_gramian=True,
        ),
        GradientMethod(
            "graddrop",
            "Chen et al., Just Pick a Sign: Optimizing Deep Multitask Models with Gradient Sign Dropout, NeurIPS 2020",
            _agg("GradDrop"),
            cost="random sign masks",
        ),
        GradientMethod(
            "gradvac",
            "Wang et al., Gradient Vaccine, ICLR 2021",
            _agg("GradVac"),
            (
                Knob(
                    "beta",
                    0.5,
                    "EMA rate beta",
                    "Rate of the moving target of each pair's cosine.",
                    {"ge": 0.0, "le": 1.0},
                ),
            ),
            cost="pairwise projections (stateful)",
            stateful=True,
        ),
        GradientMethod(
            "excess_mtl",
            "He et al., Robust Multi-Task Learning with Excess Risks, ICML 2024",
            _agg("ExcessMTL"),
            (
                Knob(
                    "robust_step_size",
                    1.0,
                    "Robust step size",
                    "Step of the task-weight update.",
                    {"gt": 0.0, "le": 1000.0},
                ),
                Knob(
                    "n_warmup_steps",
                    0,
                    "Warm-up steps",
                    "Steps with equal weights first.",
                    {"ge": 0, "le": 1_000_000},
                ),
            ),
            cost="a diagonal second-moment estimate (stateful)",
            stateful=True,
        ),
    )
}
# each with its sentence (kept apart: the table above stays one line per method's facts)
GRADIENT_METHODS = {
    n: dataclasses.replace(m, summary=SUMMARIES.get(n, "")) for n, m in GRADIENT_METHODS.items()
}


# Methods whose task weights do not change when every gradient is scaled by the same
# factor (their papers' weights depend on directions and ratios only): they are computed on
# the gradients brought to a unit scale, away from torchjd's absolute epsilons.
SCALE_FREE_METHODS = frozenset({"upgrad", "dualproj", "cagrad", "mgda", "imtl_g", "aligned_mtl", "gradvac"})


def inverse_scale_power(method: str, params: dict[str, Any]) -> float | None:
    """For the methods whose weights go as a power of 1/|g| (G scaled by s: weights times
    s^-power), that power; None for the others.

    Nash-MTL solves GGᵀα = 1/α: α(sG) = α(G)/s. FairGrad solves GGᵀw = w^(-1/a): w(sG) =
    w(G) s^(-2a/(a+1)). Their solvers see G at the scale of its longest task gradient and
    the weights are scaled back: torchjd's programmes stopped short (Nash-MTL α = 399 for
    1000, FairGrad 512 for 10,000) or returned the plain sum once every task gradient was
    about 1e-3 or shorter, late in training."""
    if method == "nash_mtl":
        return 1.0
    if method == "fairgrad":
        a = float(params.get("alpha", 1.0))
        return 2 * a / (a + 1)
    return None


def nash_feasible_start(aggregator: Any, matrix: torch.Tensor) -> None:
    """Give torchjd's Nash-MTL a starting point its programme can take, before a solve.

    Its sequential convex programme linearises log(Gα) at the previous α (the weights of
    1 at the first step) and has no value where some (GGᵀα)_i <= 0: ECOS fails, and torchjd
    keeps the previous α without a word (the plain sum on G = [[1, 0], [-1, 1]], where the
    bargaining solution is α = (1.848, 1.307)). When the previous α is such a point, the
    start becomes the solution of GGᵀα = 1 (on torchjd's normalised Gramian), where every
    (GGᵀα)_i = 1 > 0, if its entries are positive. Deterministic: a resume stays exact.

    Args:
        aggregator: torchjd's NashMTL (its weighting holds ``prvs_alpha``, ``step``).
        matrix: (T, P) the task gradients the weighting is about to see.
    """
    weighting = getattr(aggregator, "weighting", aggregator)
    alpha = getattr(weighting, "prvs_alpha", None)
    if alpha is None or getattr(weighting, "step", 0) % max(1, getattr(weighting, "update_weights_every", 1)):
        return  # not a solving step: the previous weights are reused as they are
    K = matrix.detach().double() @ matrix.detach().double().T
    norm = torch.linalg.norm(K)
    if not torch.isfinite(norm) or norm <= 0 or K.shape[0] != len(alpha):
        return
    K = K / norm
    if bool((K @ torch.as_tensor(np.asarray(alpha), dtype=torch.float64) > 0).all()):
        return
    start = torch.linalg.lstsq(K, torch.ones(K.shape[0], dtype=torch.float64)).solution
    if bool((start > 0).all()) and bool((K @ start > 1e-9).all()):
        weighting.prvs_alpha = start.numpy()


def combine_gradients(method: str, G: Any, **params: Any) -> tuple[np.ndarray, np.ndarray | None]:
    """Combine per-task gradients with a gradient-based method.

    Args:
        method: a name of ``GRADIENT_METHODS`` (upgrad, mgda, pcgrad, ...).
        G: (T, P) per-task gradients, T >= 1 tasks by P >= 1 parameters; any float
            array-like, computed in float64; finite.
        params: the method's parameters (``GRADIENT_METHODS[method].defaults`` otherwise).

    Returns:
        (direction, weights): direction (P,) float64, the update that replaces the sum of
        the gradients; weights (T,) float64 with ``direction == weights @ G`` for the
        methods that weigh the task gradients (ConFIG's are computed through the Gramian,
        see ``gramian_reduction``), None for GradDrop, which does not. An all-zero G gives
        the zero direction and weights of 1 (the plain sum's) for every method, as in
        training.

    Raises:
        ValueError: an unknown method, a loss-based weighting (they never see
            gradients), a solver that is not installed (with the pip command), a G that
            is not a finite 2-D matrix, a parameter the method does not take, or one
            task's gradient for Nash-MTL.
    """
    from workbench.weighting.registry import WEIGHTINGS

    if method not in GRADIENT_METHODS:
        if method in WEIGHTINGS:
            raise ValueError(
                f"{method!r} weighs the task losses, not their gradients: it has no gradient combination; "
                f"gradient methods: {', '.join(GRADIENT_METHODS)}"
            )
        raise ValueError(f"unknown gradient method {method!r}; choose one of: {', '.join(GRADIENT_METHODS)}")
    spec = GRADIENT_METHODS[method]
    missing = spec.missing()
    if missing:
        raise ValueError(f"{method} needs {', '.join(missing)}: pip install {' '.join(spec.pip_names)}")
    if broken := spec.broken():  # installed but failing to import: torchjd's own error is a NameError
        raise ValueError(broken)
    matrix = torch.as_tensor(np.asarray(G, dtype=np.float64))
    if matrix.ndim != 2 or 0 in matrix.shape:
        raise ValueError(f"G must be a (tasks x parameters) matrix, got shape {tuple(matrix.shape)}")
    if not torch.isfinite(matrix).all():
        raise ValueError("G holds NaN or infinite values")
    unknown = set(params) - set(spec.defaults)
    if unknown:
        allowed = ", ".join(spec.defaults) or "none"
        raise ValueError(f"{method} takes no parameter {sorted(unknown)[0]!r}; its parameters: {allowed}")
    from workbench.config import ConfigError

    try:  # the limits a config's [weighting.params] is held to (cagrad c < 1, no NaN)
        WEIGHTINGS.get(method).parse_params(dict(params), method)
    except ConfigError as exc:
        raise ValueError(str(exc)) from None
    from torchjd.aggregation import WeightedAggregator

    if method == "nash_mtl" and matrix.shape[0] < 2:  # torchjd's programme fails on one row
        raise ValueError(
            "nash_mtl needs at least 2 task gradients (a bargaining game of one has no programme); "
            "in training, a step with one labelled task takes that task's gradient as it is"
        )
    aggregator = spec.build(matrix.shape[0], **{**spec.defaults, **params})
    if not matrix.any():  # nothing to combine (Nash-MTL's programme fails, FairGrad gave 512s)
        return np.zeros(matrix.shape[1]), np.ones(matrix.shape[0])
    if spec.through_gramian:
        from workbench.weighting.gramian_reduction import weights_through_gramian

        weights = weights_through_gramian(aggregator, matrix @ matrix.T)
        return (weights @ matrix).numpy(), weights.numpy()
    if isinstance(aggregator, WeightedAggregator):
        # scale-free methods see G at a unit scale: torchjd zeroes a Gramian whose trace is
        # under 1e-4, so UPGrad fell back to the mean and CAGrad to a zero step once the
        # task gradients' norms were below ~0.006 (and IMTL-G broke at 1e20)
        seen = matrix / matrix.abs().max() if method in SCALE_FREE_METHODS else matrix
        # the weighting once, the direction from it: calling the aggregator and then its
        # weighting drew PCGrad's order and Random's weights twice and advanced GradVac's
        # and Nash-MTL's state twice, so the weights returned did not give the direction
        power = inverse_scale_power(method, {**spec.defaults, **params})
        longest = float(matrix.norm(dim=1).max())
        if power is not None:
            seen = matrix / longest
        if method == "nash_mtl":
            nash_feasible_start(aggregator, seen)
        weights = aggregator.weighting(seen).detach()
        if power is not None:
            weights = weights * longest ** (-power)
        return (weights @ matrix).numpy().astype(np.float64), weights.numpy().astype(np.float64)
    return aggregator(matrix).detach().numpy().astype(np.float64), None
