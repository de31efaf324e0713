"""What may change in a run's config between its checkpoint and a resume.

A resume continues the same model and training: changes that leave both alone (how long,
where, how fast, how much is saved) are allowed and logged; anything else (data, model,
tasks, weighting, optimiser, seed) would silently train something else, so it is refused
with the list of changed fields.
"""

from __future__ import annotations

from typing import Any

# Fields a resume may change: the run's length, the device and speed knobs, what is saved.
RESUMABLE_CHANGES = (
    "name",
    "train.epochs",
    "train.time_limit_s",
    "train.device",
    "train.amp",
    "train.amp_dtype",
    "train.workers",
    "train.threads",
    "train.num_samples",
    "train.patience",
    "weighting.conflict_every",  # measuring never changes the training
)


def flatten(data: Any, prefix: str = "") -> dict[str, Any]:
    """``{"optim": {"lr": 1}}`` -> ``{"optim.lr": 1}``; list items as ``tasks[0].name``."""
    flat: dict[str, Any] = {}
    if isinstance(data, dict):
        if not data and prefix:
            flat[prefix] = {}
        for key, value in data.items():
            flat.update(flatten(value, f"{prefix}.{key}" if prefix else str(key)))
    elif isinstance(data, list) and any(isinstance(v, (dict, list)) for v in data):
        flat[f"{prefix}#len"] = len(data)
        for i, value in enumerate(data):
            flat.update(flatten(value, f"{prefix}[{i}]"))
    else:
        flat[prefix] = data
    return flat


def config_changes(before: dict[str, Any], after: dict[str, Any]) -> list[tuple[str, Any, Any]]:
    """(field, value before, value after) of every field that differs, in field order."""
    a, b = flatten(before), flatten(after)
    missing = object()
    changes = []
    for key in list(a) + [k for k in b if k not in a]:
        va, vb = a.get(key, missing), b.get(key, missing)
        if va != vb:
            changes.append(
                (
                    key.replace("#len", " (count)"),
                    None if va is missing else va,
                    None if vb is missing else vb,
                )
            )
    return changes


def _show(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 40 else text[:37] + "..."


def describe(change: tuple[str, Any, Any]) -> str:
    path, before, after = change
    return f"{path}: {_show(before)} -> {_show(after)}"


def split_changes(
    before: dict[str, Any], after: dict[str, Any]
) -> tuple[list[tuple[str, Any, Any]], list[tuple[str, Any, Any]]]:
    """(allowed, refused) changes from the checkpoint's config ``before`` to ``after``."""
    allowed, refused = [], []
    for change in config_changes(before, after):
        (allowed if change[0] in RESUMABLE_CHANGES else refused).append(change)
    return allowed, refused
