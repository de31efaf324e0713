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


def _check_last(path: Path, data: dict[str, Any]) -> None:
    pos = data["position"]
    for key in _POSITION_KEYS:
        if not isinstance(pos.get(key), int) or pos[key] < 0:
            raise CheckpointError(f"{path}: position.{key} is missing or not a count ({pos.get(key)!r})")
    missing = [k for k in _STATE_KEYS if k not in data["state"]]
    if missing:
        raise CheckpointError(f"{path}: state is missing {', '.join(missing)}")
    if not torch.is_tensor(data["rng"].get("torch")) or data["rng"]["torch"].dtype != torch.uint8:
        raise CheckpointError(f"{path}: rng.torch is missing or not a byte tensor")
    opt = data["optimizer"]
    if not isinstance(opt.get("state"), dict) or not isinstance(opt.get("param_groups"), list):
        raise CheckpointError(
            f"{path}: 'optimizer' is not an optimiser state (needs 'state' and 'param_groups')"
        )


def _shape(t: torch.Tensor) -> str:
    return "x".join(map(str, t.shape)) or "scalar"


def check_fits(module: nn.Module, state: dict[str, torch.Tensor], path: Path, what: str = "model") -> None:
    """Raise CheckpointError (one line) unless ``state`` has exactly ``module``'s tensors and shapes."""
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
        return
    parts = []
    if missing:
        parts.append(f"{len(missing)} tensors missing (e.g. '{missing[0]}')")
    if unexpected:
        parts.append(f"{len(unexpected)} unexpected (e.g. '{unexpected[0]}')")
    if wrong:
        k = wrong[0]
        parts.append(
            f"{len(wrong)} of another shape (e.g. '{k}': {_shape(state[k]) if torch.is_tensor(state[k]) else 'no tensor'} "
            f"in the file, {_shape(own[k])} here)"
        )
    raise CheckpointError(
        f"{path} does not fit this {what}: {'; '.join(parts)}; was it made with another backbone, "
        "task list or data?"
    )


def load_model_state(module: nn.Module, state: dict[str, torch.Tensor], path: Path) -> None:
    """Load a checked state dict into ``module`` (strict), naming the file on any mismatch."""
    check_fits(module, state, path)
    module.load_state_dict(state)
