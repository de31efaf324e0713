"""MultiTaskNet: one backbone whose first ``sharing_depth`` stages are shared by all tasks.

Stages before the depth are computed once; the remaining stages are copied per task, so
depth 0 gives independent networks and full depth hard parameter sharing. Each head gets
the list of features along its own path (shared stages, then its branch's stages).
"""

from __future__ import annotations

import copy
from typing import Any

import torch
from torch import nn

from workbench.models.backbones import build_backbone
from workbench.tasks.base import TaskKind
from workbench.tasks.task_errors import in_task

IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)


def count_params(module: nn.Module) -> int:
    return sum(p.numel() for p in module.parameters())


class MultiTaskNet(nn.Module):
    def __init__(
        self,
        backbone: str,
        tasks: list[TaskKind],
        sharing_depth: int = -1,
        pretrained: str = "none",
        weights_file: str = "",
    ) -> None:
        super().__init__()
        trunk = build_backbone(backbone, pretrained, weights_file)
        self.backbone_name = backbone
        self.weights_loaded = trunk.loaded  # (loaded, of) tensors of pretrained weights, or None
        self.num_stages = len(trunk.stages)
        depth = self.num_stages if sharing_depth == -1 else sharing_depth
        if not 0 <= depth <= self.num_stages:
            raise ValueError(f"sharing depth {sharing_depth} is outside 0..{self.num_stages} for {backbone}")
        self.sharing_depth = depth
        self.channels = trunk.channels
        self.strides = trunk.strides
        self.task_names = [t.name for t in tasks]
        self.shared = nn.ModuleList(trunk.stages[:depth])
        # deepcopy keeps pretrained weights in every branch.
        self.branches = nn.ModuleDict(
            {t.name: nn.ModuleList(copy.deepcopy(trunk.stages[depth:])) for t in tasks}
        )
        heads = {}
        for t in tasks:
            with in_task(t, None, "head (build_head)"):
                heads[t.name] = t.build_head(trunk.channels, trunk.strides)
        self.heads = nn.ModuleDict(heads)
        self._backbone_params = sum(count_params(s) for s in trunk.stages)
        self.register_buffer("mean", torch.tensor(IMAGENET_MEAN).view(1, 3, 1, 1) * 255, persistent=False)
        self.register_buffer("std", torch.tensor(IMAGENET_STD).view(1, 3, 1, 1) * 255, persistent=False)

    def normalise(self, images: torch.Tensor) -> torch.Tensor:
        """uint8 or 0-255 float images (B, 3, H, W) to ImageNet-normalised floats."""
        return (images.float() - self.mean) / self.std

    def forward_shared(self, images: torch.Tensor) -> list[torch.Tensor]:
        """Features of the shared stages (empty at depth 0)."""
        x = self.normalise(images)
        feats = []
        for stage in self.shared:
            x = stage(x)
            feats.append(x)
        return feats if feats else [x]  # depth 0: hand the normalised input on

    def forward_tasks(self, shared: list[torch.Tensor]) -> dict[str, Any]:
        """Each task continues from the shared features through its branch and head."""
        prefix = shared if self.sharing_depth else []
        outputs = {}
        for name in self.task_names:
            x = shared[-1]
            feats = list(prefix)
            for stage in self.branches[name]:
                x = stage(x)
                feats.append(x)
            outputs[name] = self.heads[name](feats)
        return outputs

    def forward(self, images: torch.Tensor) -> dict[str, Any]:
        return self.forward_tasks(self.forward_shared(images))

    def shared_parameters(self) -> list[nn.Parameter]:
        return list(self.shared.parameters())

    def param_counts(self) -> dict[str, Any]:
        """Shared, per task (branch + head), total, and the equivalent independent networks."""
        shared = count_params(self.shared)
        per_task = {n: count_params(self.branches[n]) + count_params(self.heads[n]) for n in self.task_names}
        heads = sum(count_params(h) for h in self.heads.values())
        return {
            "shared": shared,
            "per_task": per_task,
            "total": shared + sum(per_task.values()),
            "independent": len(self.task_names) * self._backbone_params + heads,
            "backbone": self._backbone_params,
            "sharing_depth": self.sharing_depth,
            "num_stages": self.num_stages,
        }
