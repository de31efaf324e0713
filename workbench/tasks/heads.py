"""Small building blocks shared by the global (image-level) heads."""

from __future__ import annotations

import torch
from torch import nn


class PooledHead(nn.Module):
    """Global-average-pool the deepest feature, then a linear layer (the ResNet head) or,
    with ``hidden`` > 0, LayerNorm + Linear + GELU + Linear (a private hidden layer for the
    task, which a fully shared trunk otherwise lacks).

    Input: the feature list along the task's path; the last one is (B, C, h, w). Output:
    (B, out_features) float32 logits or values.

    Why linear by default (measured on the scene task alone, ``docs/single-task-baselines.md``):
    the earlier head, Linear(C, 256) + ReLU + Linear, lost nearly all its hidden units in
    the first few hundred steps (15 of 256 still fired after 9 epochs). The pooled vector
    follows the trunk's last ReLU, so all its entries are positive: every weight of a
    hidden unit gets a gradient of the same sign, Adam moves them together, and the unit's
    pre-activation drifts below zero for every image (``tests/test_heads.py`` reproduces
    it). A LayerNorm before the hidden layer centres the input and keeps the units alive,
    which is why the ``hidden`` option has one. How long a task alone waits at chance before
    it learns depends on the trunk finding the features, not on the head: BatchNorm on the
    pooled vector, a zero-initialised output layer or a 10x head learning rate did not
    shorten that wait in a bare PyTorch loop.
    """

    def __init__(self, in_channels: int, out_features: int, hidden: int = 0, dropout: float = 0.0) -> None:
        super().__init__()
        self.dropout = nn.Dropout(dropout)
        if hidden:
            self.mlp = nn.Sequential(
                nn.LayerNorm(in_channels), nn.Linear(in_channels, hidden), nn.GELU(), nn.Dropout(dropout)
            )
            self.out = nn.Linear(hidden, out_features)
        else:
            self.mlp = nn.Identity()
            self.out = nn.Linear(in_channels, out_features)

    def forward(self, features: list[torch.Tensor]) -> torch.Tensor:
        pooled = features[-1].to(self.out.weight.dtype).mean(dim=(2, 3))  # fp32 under autocast
        return self.out(self.dropout(self.mlp(pooled)))
