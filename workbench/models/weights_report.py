"""``workbench weights``: which backbones have ImageNet weights in torchvision's cache.

The app never downloads. A user copies torchvision's weight files (from a machine with
internet: ``torchvision.models.get_model(name, weights="DEFAULT")`` puts them there) into
``$TORCH_HOME/hub/checkpoints/`` (default ``~/.cache/torch/hub/checkpoints/``); this
report says where each file is expected, whether it is there, and whether it loads
(``torch.load(weights_only=True)``) and fits the backbone's layers.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

from workbench.models.backbones import BACKBONES, WeightsUnavailable, _load_state, imagenet_cache_path
from workbench.models.meta_lock import META_LOCK


@dataclass(frozen=True)
class WeightsStatus:
    backbone: str
    path: str  # "" for a backbone without ImageNet weights
    state: str  # "ok", "missing", "no ImageNet weights", or why the file cannot be used
    matched: int = 0  # tensors of the file that fit the backbone
    total: int = 0  # tensors of the backbone


def weights_status(check: bool = True) -> list[WeightsStatus]:
    """One status per registered backbone. ``check`` loads every present file (slower)."""
    out = []
    for name in BACKBONES.names():
        entry = BACKBONES.get(name)
        if not entry.torchvision_name:
            out.append(WeightsStatus(name, "", "no ImageNet weights"))
            continue
        path = imagenet_cache_path(entry.torchvision_name)
        if not path.is_file():
            out.append(WeightsStatus(name, str(path), "missing"))
            continue
        if not check:
            out.append(WeightsStatus(name, str(path), "present"))
            continue
        try:
            state = _load_state(path, "ImageNet weights")
        except WeightsUnavailable as exc:
            out.append(WeightsStatus(name, str(path), str(exc)))
            continue
        with META_LOCK, torch.device("meta"):  # see workbench.models.meta_lock
            own = entry.build_model().state_dict()
        matched = sum(1 for k, v in state.items() if k in own and tuple(v.shape) == tuple(own[k].shape))
        ok = "ok" if matched else "no tensor fits this backbone"
        out.append(WeightsStatus(name, str(path), ok, matched, len(own)))
    return out
