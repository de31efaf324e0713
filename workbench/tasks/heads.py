"""Small building blocks shared by the global (image-level) heads."""

from __future__ import annotations

import torch
from torch import nn


class PooledHead(nn.Module):
    """Global-average-pool the deepest feature, then an MLP to ``out_features``."""

    def __init__(self, in_channels: int, out_features: int, hidden: int = 256, dropout: float = 0.0) -> None:
        super().__init__()
        self.mlp = nn.Sequential(
            nn.Flatten(),
            nn.Linear(in_channels, hidden),
            nn.ReLU(inplace=True),
            nn.Dropout(dropout),
            nn.Linear(hidden, out_features),
        )

    def forward(self, features: list[torch.Tensor]) -> torch.Tensor:
        pooled = features[-1].float().mean(dim=(2, 3))
        return self.mlp(pooled)
