"""The state of a stateful torchjd aggregator (Nash-MTL, GradVac, ExcessMTL ...) as plain data.

torchjd keeps such state in plain attributes (numbers, numpy arrays, tensors) and in
buffers that start as ``None``; neither survives ``state_dict`` reliably, and numpy arrays
would not load under ``torch.load(weights_only=True)``. ``capture`` walks the aggregator's
modules and keeps every number, tensor and array (arrays become tensors, marked);
``restore`` puts them back. Solver objects (cvxpy problems) are rebuilt by the aggregator.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch
from torch import nn

_SKIP = {"training"}
_NUMPY = "__numpy__"
_TUPLE = "__tuple__"


def _plain(value: Any) -> tuple[bool, Any]:
    if value is None or isinstance(value, (bool, int, float, str)):
        return True, value
    if isinstance(value, torch.Tensor):
        return True, value.detach().clone()
    if isinstance(value, np.ndarray) and value.dtype != object:
        return True, {_NUMPY: torch.from_numpy(np.array(value)), "dtype": str(value.dtype)}
    if isinstance(value, np.generic):
        return True, value.item()
    if isinstance(value, (tuple, list)) and all(
        v is None or isinstance(v, (bool, int, float, str, torch.dtype)) for v in value
    ):
        return True, {_TUPLE: list(value)} if isinstance(value, tuple) else list(value)
    return False, None


def capture(aggregator: nn.Module) -> dict[str, dict[str, Any]]:
    """{module path: {attribute: value}} for every plain attribute and buffer."""
    state: dict[str, dict[str, Any]] = {}
    for path, module in aggregator.named_modules():
        entry: dict[str, Any] = {}
        for key, value in vars(module).items():
            if key in _SKIP:
                continue
            ok, plain = _plain(value)
            if ok:
                entry[key] = plain
        for key, buf in module._buffers.items():
            entry[f"buffer:{key}"] = None if buf is None else buf.detach().clone()
        state[path] = entry
    return state


def _unplain(value: Any) -> Any:
    if isinstance(value, dict) and _NUMPY in value:
        return value[_NUMPY].numpy().astype(value["dtype"])
    if isinstance(value, dict) and _TUPLE in value:
        return tuple(value[_TUPLE])
    return value


def restore(aggregator: nn.Module, state: dict[str, dict[str, Any]]) -> None:
    """Put ``capture``'s values back; rebuilds Nash-MTL's convex programme when it had one."""
    modules = dict(aggregator.named_modules())
    for path, entry in state.items():
        module = modules.get(path)
        if module is None:
            continue
        for key, value in entry.items():
            if key.startswith("buffer:"):
                module._buffers[key[len("buffer:") :]] = value
            elif key in vars(module):
                object.__setattr__(module, key, _unplain(value))
        # Nash-MTL builds its cvxpy problem on its first step and reuses it after
        if getattr(module, "step", 0) and hasattr(module, "_init_optim_problem"):
            module._init_optim_problem()
