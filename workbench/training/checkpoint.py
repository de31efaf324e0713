"""Checkpoint files: written atomically, loaded with ``weights_only=True``, checked before use.

Two kinds live in ``RUN_DIR/checkpoints/``:

- ``last.pt``: everything a resume needs: ``model`` and ``optimizer`` state dicts,
  ``weighting`` state, ``scaler`` (or None), ``rng`` (``{"torch": ByteTensor, "cuda"?}``),
  ``position`` (``epoch``, ``step``, ``global_step``: where training continues), ``state``
  (best value and epoch, patience count, metrics, the epoch's running loss sums, elapsed
  seconds) and ``config`` (the experiment as a plain dict, to compare on resume).
- ``best.pt``: ``model``, ``epoch`` and ``metrics`` of the best epoch.

Every load names the file and what is wrong with it in one line (``CheckpointError``):
missing, truncated, not a checkpoint, pickled Python objects (refused: loading them could
run code), a key missing or of the wrong type, or tensors that do not fit the model.
"""

from __future__ import annotations

import io
import math
from pathlib import Path
from typing import Any

import torch
from torch import nn

from workbench.fsutil import atomic_write
from workbench.safe_load import LoadError, safe_torch_load

FORMAT = "mtl-workbench-checkpoint"
FORMAT_VERSION = 1

# key -> (type, what it is) of each kind
_REQUIRED = {
    "last": {
        "model": (dict, "the model's state dict"),
        "optimizer": (dict, "the optimiser state"),
        "weighting": (dict, "the loss weighting state"),
        "rng": (dict, "the random number generator state"),
        "position": (dict, "the training position"),
        "state": (dict, "the training state"),
    },
    "best": {"model": (dict, "the model's state dict")},
}
_POSITION_KEYS = ("epoch", "step", "global_step")
_STATE_KEYS = (
    "best_value",
    "best_epoch",
    "bad_epochs",
    "best_metrics",
    "final_metrics",
    "epoch_sums",
    "epoch_count",
    "elapsed",
)


class CheckpointError(LoadError):
    """A checkpoint cannot be used; the message names the file and the reason."""


def save_checkpoint(path: Path, state: dict[str, Any], kind: str) -> None:
    """Write a checkpoint atomically (raises ``SaveFailed`` naming the file)."""
    # Serialised in memory first, so that a full disk or a file-size limit surfaces as the
    # operating system's error on a plain write (torch's zip writer reports it as an
    # internal "unexpected pos" RuntimeError).
    buffer = io.BytesIO()
    torch.save({"format": FORMAT, "version": FORMAT_VERSION, "kind": kind, **state}, buffer)
    atomic_write(path, lambda fh: fh.write(buffer.getbuffer()), make_folder=True)


def _read(path: Path) -> Any:
    try:
        return safe_torch_load(path)
    except LoadError as exc:
        raise CheckpointError(str(exc).replace("no file at", "no checkpoint at")) from None


def load_checkpoint(path: Path, kind: str = "last") -> dict[str, Any]:
    """Load a checkpoint of ``kind`` ("last" or "best") and check its structure.

    Returns the checkpoint dict; tensors are on the CPU.

    Raises:
        CheckpointError: one line naming ``path`` and what is missing or wrong.
    """
    data = _read(path)
    if not isinstance(data, dict):
        raise CheckpointError(f"{path} holds a {type(data).__name__}, not a workbench checkpoint")
    required = _REQUIRED[kind]
    missing = [f"'{k}' ({what})" for k, (_, what) in required.items() if k not in data]
    if missing:
        found = ", ".join(f"'{k}'" for k in list(data)[:6]) or "nothing"
        hint = ""
        if "model" in missing[0] and any(k in data for k in ("state_dict", "model_state_dict")):
            hint = "; it looks like a plain weights file: use it as model.weights_file (pretrained = 'file')"
        raise CheckpointError(
            f"{path} is not a complete {kind} checkpoint: missing {', '.join(missing)}; "
            f"it holds {found}{hint}"
        )
    for key, (tp, what) in required.items():
        if not isinstance(data[key], tp):
            raise CheckpointError(
                f"{path}: '{key}' ({what}) is a {type(data[key]).__name__}, not a {tp.__name__}"
            )
    bad = [k for k, v in data["model"].items() if not isinstance(k, str) or not torch.is_tensor(v)]
    if bad:
        raise CheckpointError(
            f"{path}: 'model' holds {len(bad)} entries that are not tensors, e.g. {bad[0]!r}"
        )
    if kind == "last":
        _check_last(path, data)
    return data


def _is_count(value: Any) -> bool:
    return type(value) is int and 0 <= value < 2**53


def _is_number(value: Any) -> bool:
    return type(value) in (int, float) and math.isfinite(value)


def _check_last(path: Path, data: dict[str, Any]) -> None:
    """The structure and types of a last.pt, field by field (a value of the wrong type in a
    hand-edited or foreign file is named, never met later as a TypeError mid-run)."""
    pos = data["position"]
    for key in _POSITION_KEYS:
        if not _is_count(pos.get(key)):
            raise CheckpointError(f"{path}: position.{key} is missing or not a count ({pos.get(key)!r})")
    state = data["state"]
    missing = [k for k in _STATE_KEYS if k not in state]
    if missing:
        raise CheckpointError(f"{path}: state is missing {', '.join(missing)}")
    checks = {
        "best_value": state["best_value"] is None or _is_number(state["best_value"]),
        "best_epoch": type(state["best_epoch"]) is int and state["best_epoch"] >= -1,
        "bad_epochs": _is_count(state["bad_epochs"]),
        "epoch_count": _is_count(state["epoch_count"]),
        "elapsed": _is_number(state["elapsed"]) and state["elapsed"] >= 0,
        "epoch_sums": isinstance(state["epoch_sums"], dict)
        and all(isinstance(k, str) and _is_number(v) for k, v in state["epoch_sums"].items()),
    }
    for key in ("best_metrics", "final_metrics"):
        value = state[key]
        checks[key] = isinstance(value, dict) and all(
            isinstance(m, dict) and all(v is None or _is_number(v) for v in m.values())
            for m in value.values()
        )
    bad = [k for k, ok in checks.items() if not ok]
    if bad:
        raise CheckpointError(f"{path}: state.{bad[0]} has the wrong type or value ({state[bad[0]]!r:.60})")
    rng = data["rng"].get("torch")
    if not torch.is_tensor(rng) or rng.dtype != torch.uint8 or rng.numel() != torch.get_rng_state().numel():
        raise CheckpointError(f"{path}: rng.torch is missing or not a generator state of this PyTorch")
    opt = data["optimizer"]
    if not isinstance(opt.get("state"), dict) or not isinstance(opt.get("param_groups"), list):
        raise CheckpointError(
            f"{path}: 'optimizer' is not an optimiser state (needs 'state' and 'param_groups')"
        )


def check_position(path: Path, data: dict[str, Any], task_names: list[str], steps_per_epoch: int) -> None:
    """The training position and loss sums agree with this experiment's data and tasks."""
    pos = data["position"]
    if pos["step"] > steps_per_epoch or pos["global_step"] != pos["epoch"] * steps_per_epoch + pos["step"]:
        raise CheckpointError(
            f"{path}: position (epoch {pos['epoch']}, step {pos['step']}, global step {pos['global_step']}) "
            f"does not fit {steps_per_epoch} steps per epoch; was the training set or batch size changed?"
        )
    sums = data["state"]["epoch_sums"]
    if sums and set(sums) != set(task_names):
        raise CheckpointError(
            f"{path}: state.epoch_sums is for tasks {sorted(sums)}, not {sorted(task_names)}"
        )


def check_optimizer(optimizer: torch.optim.Optimizer, path: Path) -> None:
    """Every per-parameter optimiser tensor (Adam's moments, SGD's momentum) has its
    parameter's shape; a scalar such as Adam's step count may be 0-d."""
    for group in optimizer.param_groups:
        for param in group["params"]:
            for key, value in optimizer.state.get(param, {}).items():
                if not torch.is_tensor(value):
                    if key == "step" and _is_number(value):
                        continue
                    raise CheckpointError(f"{path}: optimizer state '{key}' is a {type(value).__name__}")
                if value.ndim and tuple(value.shape) != tuple(param.shape):
                    raise CheckpointError(
                        f"{path}: optimizer state '{key}' has shape {_shape(value)} for a parameter of {_shape(param)}"
                    )


def _shape(t: torch.Tensor) -> str:
    return "x".join(map(str, t.shape)) or "scalar"


def _odd_tensor(t: torch.Tensor, like: torch.Tensor, exact_dtype: bool) -> str:
    """Why ``t`` cannot stand in for ``like`` ("" when it can)."""
    if t.is_meta:
        return "holds no data (meta tensor)"
    if t.layout != torch.strided:
        return f"is {t.layout} (a dense tensor is needed)"
    if exact_dtype and t.dtype != like.dtype:
        return f"is {t.dtype}, not {like.dtype}"
    if t.dtype.is_floating_point != like.dtype.is_floating_point:
        return f"is {t.dtype}, not {like.dtype}"
    if t.is_floating_point() and not bool(torch.isfinite(t).all()):
        return "holds NaN or infinite values"
    return ""


def check_fits(
    module: nn.Module,
    state: dict[str, torch.Tensor],
    path: Path,
    what: str = "model",
    exact_dtype: bool = True,
) -> None:
    """Raise CheckpointError (one line) unless ``state`` has exactly ``module``'s tensors,
    with their shapes and dtypes, holding finite values."""
    own = module.state_dict()
    missing = [k for k in own if k not in state]
    unexpected = [k for k in state if k not in own]
    wrong = [
        k
        for k in own
        if k in state
        and torch.is_tensor(own[k])
        and (not torch.is_tensor(state[k]) or tuple(own[k].shape) != tuple(state[k].shape))
    ]
    if not (missing or unexpected or wrong):
        for k, like in own.items():
            if torch.is_tensor(like) and torch.is_tensor(state[k]):
                why = _odd_tensor(state[k], like, exact_dtype)
                if why:
                    raise CheckpointError(f"{path}: tensor '{k}' {why}")
        return
    parts = []
    if missing:
        parts.append(f"{len(missing)} tensors missing (e.g. '{missing[0]}')")
    if unexpected:
        parts.append(f"{len(unexpected)} unexpected (e.g. '{unexpected[0]}')")
    if wrong:
        k = wrong[0]
        found = _shape(state[k]) if torch.is_tensor(state[k]) else "no tensor"
        parts.append(
            f"{len(wrong)} of another shape (e.g. '{k}': {found} in the file, {_shape(own[k])} here)"
        )
    raise CheckpointError(
        f"{path} does not fit this {what}: {'; '.join(parts)}; was it made with another backbone, "
        "task list or data?"
    )


def load_model_state(module: nn.Module, state: dict[str, torch.Tensor], path: Path) -> None:
    """Load a checked state dict into ``module`` (strict), naming the file on any mismatch."""
    check_fits(module, state, path)
    module.load_state_dict(state)


def matching_tensors(own: dict[str, torch.Tensor], path: Path) -> dict[str, torch.Tensor]:
    """The tensors of a checkpoint or weights file (``model`` entry or a plain state dict)
    that fit ``own`` (a module's state dict) by name, shape and kind (``--init-from``).

    Raises:
        CheckpointError: unreadable, no state dict, or not one tensor fits.
    """
    data = _read(path)
    state = data.get("model", data) if isinstance(data, dict) else None
    if not isinstance(state, dict):
        raise CheckpointError(f"{path} holds no state dict")
    matched = {
        k: v
        for k, v in state.items()
        if isinstance(k, str)
        and k in own
        and torch.is_tensor(v)
        and tuple(v.shape) == tuple(own[k].shape)
        and not _odd_tensor(v, own[k], exact_dtype=False)
    }
    if not matched:
        raise CheckpointError(f"{path}: no tensor matches this model's layers by name, shape and type")
    return matched


def checkpoint_epoch(state: dict[str, Any]) -> int:
    """The 1-based epoch whose weights a loaded checkpoint holds (``best.pt``: its ``epoch``
    index; ``last.pt``: the epochs done at its position, and the one in progress when it
    was saved within an epoch; 0 before the first step). A run stopped after 8 steps of 4
    an epoch, before validating its second, was said to hold epoch 1's weights."""
    if "epoch" in state:
        return int(state["epoch"]) + 1
    position = state.get("position", {})
    return int(position.get("epoch", 0)) + (1 if int(position.get("step", 0)) > 0 else 0)


def checkpoint_weights_text(state: dict[str, Any]) -> str:
    """What a checkpoint's weights are, in words: "epoch 3", "epoch 2, after step 4 of it
    (not validated)", "no step trained yet (the initial weights)"."""
    epoch = checkpoint_epoch(state)
    if epoch == 0:
        return "no step trained yet (the initial weights)"
    step = int(state.get("position", {}).get("step", 0)) if "epoch" not in state else 0
    return f"epoch {epoch}, after step {step} of it (not validated)" if step else f"epoch {epoch}"
