"""FPN-lite fusion shared by the dense heads (detection, segmentation).

The head receives the features along its branch (shallow to deep) with their channel counts
and strides. ``FeatureFusion`` keeps the levels from ``target_stride`` (4 by default) down to
the deepest one, projects each to ``width`` channels with a 1x1 conv, upsamples them to the
finest kept level, sums them and refines the sum with a 3x3 conv + BN + ReLU.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn


def select_levels(strides: list[int], target_stride: int = 4, max_levels: int = 4) -> list[int]:
    """Indices of the feature levels to fuse, finest first.

    The base level is the coarsest stride that is still <= ``target_stride`` (the finest
    available level when every stride is larger). Of several levels with the same stride
    the deepest is kept. At most ``max_levels`` levels are used: the base plus the deepest
    ``max_levels - 1`` coarser ones.
    """
    if not strides:
        raise ValueError("a dense head needs at least one feature level")
    if max_levels < 1:
        raise ValueError(f"max_levels must be >= 1, got {max_levels}")
    last_of_stride: dict[int, int] = {}
    for index, stride in enumerate(strides):
        last_of_stride[int(stride)] = index  # deepest level of each stride
    unique = sorted(last_of_stride)
    fine_enough = [s for s in unique if s <= target_stride]
    base = fine_enough[-1] if fine_enough else unique[0]
    coarser = [s for s in unique if s > base]
    kept = [base] + (coarser[-(max_levels - 1) :] if max_levels > 1 else [])
    return [last_of_stride[s] for s in kept]


class FeatureFusion(nn.Module):
    """Sum of 1x1-projected levels upsampled to the finest kept one, then 3x3 conv+BN+ReLU.

    ``forward`` takes the full feature list given to the head and returns one map with
    ``out_channels`` channels at stride ``out_stride``.
    """

    def __init__(
        self,
        channels: list[int],
        strides: list[int],
        width: int = 64,
        target_stride: int = 4,
        max_levels: int = 4,
        mode: str = "bilinear",
    ) -> None:
        super().__init__()
        if len(channels) != len(strides):
            raise ValueError(f"{len(channels)} channel counts but {len(strides)} strides")
        if mode not in ("bilinear", "nearest"):
            raise ValueError(f"mode must be 'bilinear' or 'nearest', got {mode!r}")
        self.indices = select_levels(list(strides), target_stride, max_levels)
        self.mode = mode
        self.out_stride = int(strides[self.indices[0]])
        self.out_channels = int(width)
        self.lateral = nn.ModuleList(nn.Conv2d(channels[i], width, kernel_size=1) for i in self.indices)
        self.refine = nn.Sequential(
            nn.Conv2d(width, width, kernel_size=3, padding=1, bias=False),
            nn.BatchNorm2d(width),
            nn.ReLU(inplace=True),
        )

    def forward(self, features: list[torch.Tensor]) -> torch.Tensor:
        finest = features[self.indices[0]]
        size = finest.shape[-2:]
        fused = self.lateral[0](finest)
        for conv, index in zip(self.lateral[1:], self.indices[1:], strict=True):
            level = conv(features[index])
            if level.shape[-2:] != size:
                if self.mode == "bilinear":
                    level = F.interpolate(level, size=size, mode="bilinear", align_corners=False)
                else:
                    level = F.interpolate(level, size=size, mode="nearest")
            fused = fused + level
        return self.refine(fused)
