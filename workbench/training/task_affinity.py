"""Lookahead task affinity (TAG): how a step along one task's gradient changes the others' losses.

Fifty, Amid, Zhao, Yu, Anil and Finn, "Efficiently Identifying Task Groupings for
Multi-Task Learning", NeurIPS 2021, eq. 3. With θ_s the shared parameters, g_i the
gradient of task i's loss on them and η a step size, on one batch X:

    Z[i][j] = 1 - L_j(X; θ_s - η g_i) / L_j(X; θ_s)

Z[i][j] > 0: a step for task i alone lowers task j's loss (i helps j); < 0: it raises it.
The diagonal is each task's own lookahead gain. Z is not symmetric. The paper averages Z
over the training steps it is measured on and groups tasks by it.

Here η is the step's learning rate (the paper's SGD lookahead; with Adam's small rates the
values are small, the ordering is what tells), the losses are the batch's, in training
mode, and nothing of the training changes: the shared parameters, the BatchNorm running
statistics and the random-number generator are restored afterwards.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence

import torch
from torch import nn


def lookahead_affinity(
    model: nn.Module,
    shared: Sequence[nn.Parameter],
    jacobian: torch.Tensor,
    step_size: float,
    losses_after: Callable[[], Sequence[float]],
    base: Sequence[float],
) -> tuple[tuple[float, ...], ...] | None:
    """Z (T x T) of one batch, as nested tuples of floats; None when a loss is not finite.

    Args:
        model: the network; its buffers (BatchNorm statistics) are restored afterwards.
        shared: the shared parameters, P values in all, in the Jacobian's column order.
        jacobian: (T, P) per-task gradients of the base losses on ``shared`` (unscaled).
        step_size: η, in the units of the learning rate.
        losses_after: runs the forward pass on the batch and returns the T task losses
            (floats, the Jacobian's row order); called T times, under ``torch.no_grad``.
        base: the T task losses before any step. A zero base loss gives 0 in its column.
    """
    shared = list(shared)
    saved = [p.detach().clone() for p in shared]
    buffers = [b.detach().clone() for b in model.buffers()]
    rng = torch.get_rng_state()
    cuda_rng = torch.cuda.get_rng_state_all() if torch.cuda.is_initialized() else None
    rows: list[tuple[float, ...]] = []
    try:
        with torch.no_grad():
            for i in range(jacobian.shape[0]):
                offset = 0
                for p, start in zip(shared, saved, strict=True):
                    n = p.numel()
                    step = jacobian[i, offset : offset + n].view_as(p).to(p.dtype)
                    p.copy_(start - step_size * step)
                    offset += n
                after = [float(v) for v in losses_after()]
                row = []
                for before, value in zip(base, after, strict=True):
                    if not (math.isfinite(value) and math.isfinite(before)):
                        return None
                    row.append(1.0 - value / before if before != 0 else 0.0)
                rows.append(tuple(row))
    finally:
        with torch.no_grad():
            for p, start in zip(shared, saved, strict=True):
                p.copy_(start)
            for b, kept in zip(model.buffers(), buffers, strict=True):
                b.copy_(kept)
        torch.set_rng_state(rng)
        if cuda_rng is not None:
            torch.cuda.set_rng_state_all(cuda_rng)
    return tuple(rows)
