"""The exported graph: the multi-task network with its outputs flattened and named.

A head returns a tensor (classification, counting, ...) or a dict of tensors (detection:
heatmap, size, offset). The export names each tensor after its task, and a dict entry as
``task.key`` (``objects.heatmap``), in task order then the head's key order.
"""

from __future__ import annotations

from typing import Any

import torch
from torch import nn


def output_names(outputs: dict[str, Any]) -> list[str]:
    """Names of the flattened outputs of one forward pass's ``{task: tensor | {key: tensor}}``."""
    names = []
    for task, value in outputs.items():
        if isinstance(value, dict):
            names.extend(f"{task}.{key}" for key in value)
        else:
            names.append(task)
    return names


def flatten(outputs: dict[str, Any]) -> list[torch.Tensor]:
    """The tensors of ``outputs`` in the order of ``output_names``."""
    flat = []
    for value in outputs.values():
        if isinstance(value, dict):
            flat.extend(value.values())
        else:
            flat.append(value)
    return flat


class ExportGraph(nn.Module):
    """``forward(images)``: images (B, 3, H, W) float32 RGB in 0-255, normalised inside the
    network; returns the flattened outputs, as a tuple (ONNX: names are given to the
    exporter) or as ``{name: tensor}`` (TorchScript, whose outputs keep their names)."""

    def __init__(self, model: nn.Module, as_dict: bool = False) -> None:
        super().__init__()
        self.model = model
        self.as_dict = as_dict

    def forward(self, images: torch.Tensor) -> Any:
        outputs = self.model(images)
        flat = flatten(outputs)
        if self.as_dict:
            return dict(zip(output_names(outputs), flat, strict=True))
        return tuple(flat)
