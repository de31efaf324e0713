"""The seam between the training loop and a loss-weighting / gradient method.

A method declares what it needs from the loop with ``needs``:

- ``"losses"``: only the per-task losses (equal, static, uncertainty, DWA, random).
- ``"shared_param_grads"``: per-task gradients on the shared parameters (PCGrad, MGDA,
  CAGrad, GradNorm ...).

Every step the loop builds a ``BackwardContext`` with the loss scaling, the shared
modules and their parameters, and each task's own parameters (its unshared stages and
head). At sharing depth 0 nothing is shared (``shared_params`` is empty): a gradient
method then has nothing to combine and must fall back to the plain sum (the trainer notes
it in the run's summary).

``backward`` must leave gradients in ``.grad`` of every parameter and return the weight it
gave each task (for plots). Loss-based methods only implement ``task_weights``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, ClassVar

import torch
from torch import nn

from workbench.config import from_dict, validate_fields


@dataclass
class BackwardContext:
    """What the loop hands to ``Weighting.backward``."""

    scale: Callable[[torch.Tensor], torch.Tensor] = lambda t: t  # AMP loss scaling
    loss_scale: float = 1.0  # the factor ``scale`` multiplies by (the GradScaler's scale)
    shared_params: list[nn.Parameter] | None = None
    shared_modules: list[nn.Module] | None = None  # the shared backbone stages, in order
    task_params: dict[str, list[nn.Parameter]] | None = None  # task -> its own parameters
    # under torchrun, for the gradient methods: the processes' per-task gradients are summed
    # through it (``training.distributed.GradientGroup``); None in one process
    group: Any = None


class Weighting(nn.Module):
    """Base class. An nn.Module so learnable weights join the optimiser and checkpoints."""

    method: ClassVar[str]
    needs: ClassVar[str] = "losses"

    @dataclass
    class Params:
        def validate(self, path: str) -> None:  # noqa: B027 - optional hook
            pass

    def __init__(
        self, task_names: list[str], params: dict[str, Any], static_weights: dict[str, float], seed: int = 0
    ) -> None:
        super().__init__()
        self.task_names = list(task_names)
        self.params = self.parse_params(params, "weighting.params")
        self.static_weights = dict(static_weights)
        self.seed = seed
        self.active = list(self.task_names)

    @classmethod
    def parse_params(cls, params: dict[str, Any], path: str) -> Any:
        p = from_dict(cls.Params, params, path)
        validate_fields(p, path)
        p.validate(path)
        return p

    def task_weights(self, losses: dict[str, torch.Tensor]) -> dict[str, torch.Tensor | float]:
        raise NotImplementedError

    def attach(self, ctx: BackwardContext) -> None:  # noqa: B027 - optional hook
        """Called once before the first step with the run's modules (the Gramian engine hooks
        the shared modules here, before any forward pass)."""

    def extra_loss(self) -> torch.Tensor | float:
        """A regulariser added to the weighted sum (uncertainty weighting's log-variance term)."""
        return 0.0

    # The last step's regulariser (``extra_loss``) as a float, for plots: the total loss is
    # the weighted sum of task losses plus this term, which may be negative.
    last_regulariser: float = 0.0

    # The tasks with a labelled sample in this step's batch (partial labels): the methods
    # weigh, normalise and regularise over these only. Set by ``combine``.
    active: list[str]

    def combine(
        self, losses: dict[str, torch.Tensor], present: set[str] | None = None
    ) -> tuple[torch.Tensor, dict[str, float]]:
        """(weighted total, weight per task). ``present``: the tasks labelled in this batch
        (None: all); the others add nothing and are reported with weight 0."""
        self.active = [n for n in self.task_names if present is None or n in present]
        weights = self.task_weights(losses)
        _check_task_weights(weights, self.active, self.task_names)
        extra = self.extra_loss()
        self.last_regulariser = float(extra.detach()) if torch.is_tensor(extra) else float(extra)
        total = sum(weights[n] * losses[n] for n in self.active) + extra
        return total, {
            n: (float(weights[n].detach()) if torch.is_tensor(weights[n]) else float(weights[n]))
            if n in self.active
            else 0.0
            for n in self.task_names
        }

    def backward(
        self, losses: dict[str, torch.Tensor], ctx: BackwardContext, present: set[str] | None = None
    ) -> tuple[float, dict[str, float]]:
        """Backpropagate the weighted losses of the ``present`` tasks (None: all); returns
        (total loss, weights)."""
        total, weights = self.combine(losses, present)
        ctx.scale(total).backward()
        return float(total.detach()), weights

    def skip_step(self) -> None:  # noqa: B027 - optional hook
        """Called on a step that takes no backward (its batch labels no task)."""

    def epoch_end(self, train_losses: dict[str, float]) -> None:  # noqa: B027 - optional hook
        """Called with the epoch's mean training loss per task (DWA uses it)."""

    # Non-tensor state (histories, RNG) travels in checkpoints through these two.
    def get_extra_state(self) -> Any:
        return {}

    def set_extra_state(self, state: Any) -> None:
        pass


def _check_task_weights(weights: Any, active: list[str], tasks: list[str]) -> None:
    """``task_weights``' result must be a dict with a weight (number or 0-d tensor, which may
    carry gradients) for every task of ``active``, and no name outside ``tasks``: a weight
    for a misspelt task was dropped without a word, a missing one was "KeyError: 'cnt'".
    Raises WeightingError (the loop names the method)."""
    import numbers

    from workbench.tasks.task_errors import WeightingError

    if not isinstance(weights, dict):
        raise WeightingError(
            f"task_weights() must return a dict {{task: weight}}, got {type(weights).__name__}"
        )
    unknown = [str(k) for k in weights if k not in tasks]
    if unknown:
        raise WeightingError(
            f"task_weights() gave a weight for {unknown[0]!r}, which is not a task of this run "
            f"(tasks: {', '.join(tasks)})"
        )
    for name in active:
        if name not in weights:
            raise WeightingError(f"task_weights() gave no weight for task {name!r}")
        value = weights[name]
        if isinstance(value, bool) or not (
            isinstance(value, numbers.Real) or (torch.is_tensor(value) and value.numel() == 1)
        ):
            what = (
                f"a tensor of shape {tuple(value.shape)}" if torch.is_tensor(value) else type(value).__name__
            )
            raise WeightingError(f"task_weights()' weight for task {name!r} is not a number: {what}")
