"""Per-task gradients of the shared parameters: the Jacobian and its Gramian.

The heads read several shared stages (dense heads fuse strides 4-32), so the per-task
gradients are taken with respect to the shared *parameters*, never through one shared
feature tensor, which would miss the paths through the earlier stages (torchjd's
``mtl_backward(features=...)`` gives wrong shared gradients here).

The Jacobian is one ``torch.autograd.grad`` per task, keeping the graph: on a CPU this
measured 1.6-1.8x faster than torchjd's ``autojac.jac``, whose batched (vmap) backward
and per-row transforms cost more than they save here (benchmarks/bench_methods.py).
The Gramian path uses torchjd's autogram ``Engine`` on the shared modules: it never holds
the T x P Jacobian, only the T x T Gramian.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import nn


def shared_jacobian(
    losses: Sequence[torch.Tensor],
    params: Sequence[nn.Parameter],
    own: Sequence[Sequence[nn.Parameter]] | None = None,
) -> torch.Tensor:
    """The Jacobian of ``losses`` with respect to ``params``.

    Args:
        losses: T scalar losses, each with a graph reaching ``params``; the graph is kept.
        params: the shared parameters, P values in all.
        own: optionally, each loss's own parameters (its head and unshared stages): they get
            that loss's gradient added to ``.grad`` from the same backward pass, so the
            heads are traversed once, not once more for their own gradients.

    Returns:
        (T, P) tensor in the parameters' dtype, row i the flattened gradient of loss i.
    """
    params = list(params)
    rows = []
    for i, loss in enumerate(losses):
        mine = list(own[i]) if own is not None else []
        grads = torch.autograd.grad(loss, params + mine, retain_graph=True, allow_unused=True)
        rows.append(
            torch.cat(
                [
                    (g if g is not None else torch.zeros_like(p)).reshape(-1)
                    for g, p in zip(grads[: len(params)], params, strict=True)
                ]
            )
        )
        for p, g in zip(mine, grads[len(params) :], strict=True):
            if g is not None:
                p.grad = g if p.grad is None else p.grad + g
    return torch.stack(rows)


class GramianEngine:
    """torchjd's autogram engine on the shared modules, made once per run (it hooks them).

    ``gramian(losses)`` returns G = J Jᵀ (T, T) without materialising J. With
    ``batch_dim=None`` it accepts BatchNorm layers, which every backbone here has.
    """

    def __init__(self, modules: Sequence[nn.Module]) -> None:
        from torchjd.autogram import Engine

        self.engine = Engine(*modules, batch_dim=None)

    def gramian(self, losses: Sequence[torch.Tensor]) -> torch.Tensor:
        return self.engine.compute_gramian(torch.stack(list(losses)))

    def discard(self) -> None:
        """Forget the forward pass the engine recorded on a step that takes no Gramian (a
        step reusing the last weights, a batch labelling no task): otherwise the next
        ``gramian`` refuses with "Some modules had a forward pass without an associated
        backward pass". This is the reset torchjd's ``compute_gramian`` does when it ends;
        the engine has no public call for it, so its parts are reached here."""
        engine = self.engine
        engine._gramian_accumulator.reset()
        engine._target_edges.reset()
        for computer in engine._gramian_computers.values():
            computer.reset()


def write_direction(params: Sequence[nn.Parameter], direction: torch.Tensor) -> None:
    """Add a flat update direction (P,) into the ``.grad`` of ``params``, in their order."""
    offset = 0
    for p in params:
        n = p.numel()
        part = direction[offset : offset + n].view_as(p).to(p.dtype)
        p.grad = part.clone() if p.grad is None else p.grad + part
        offset += n
