"""What may change in a run's config between its checkpoint and a resume.

A resume continues the same model and training: changes that leave both alone (how long,
where, how fast, how much is saved) are allowed and logged; anything else (data, model,
tasks, weighting, optimiser, seed) would silently train something else, so it is refused
with the list of changed fields. Where the data's files are may change when the run keeps
its split (``workbench.training.run_split``): it then finds the same images at the new place.
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


class _Absent:
    """A field one side does not have (a task removed, an option not written)."""

    def __repr__(self) -> str:
        return "(not set)"


ABSENT = _Absent()


def _task_names(config: dict[str, Any]) -> list[str] | None:
    tasks = config.get("tasks")
    if not isinstance(tasks, list):
        return None
    return [str(t.get("name")) if isinstance(t, dict) else "?" for t in tasks]


def config_changes(before: dict[str, Any], after: dict[str, Any]) -> list[tuple[str, Any, Any]]:
    """(field, value before, value after) of every field that differs, in field order; a
    field only one side has is ``ABSENT`` on the other. When the task list itself changed
    (added, removed, renamed, reordered) it is one change, ``tasks``: "scene+n" -> "scene",
    not a field-by-field comparison of tasks that are no longer the same."""
    a, b = flatten(before), flatten(after)
    names_a, names_b = _task_names(before), _task_names(after)
    retasked = names_a is not None and names_b is not None and names_a != names_b
    changes = []
    if retasked:
        changes.append(("tasks", "+".join(names_a), "+".join(names_b)))
    for key in list(a) + [k for k in b if k not in a]:
        if retasked and key.startswith(("tasks[", "tasks#")):
            continue
        va, vb = a.get(key, ABSENT), b.get(key, ABSENT)
        if va != vb:
            changes.append((key.replace("#len", " (count)"), va, vb))
    return changes


def _show(value: Any) -> str:
    # paths are shown whole (their end is what differs); other long values are cut
    text = repr(value)
    limit = 240 if isinstance(value, str) else 40
    return text if len(text) <= limit else text[: limit - 3] + "..."


def describe(change: tuple[str, Any, Any]) -> str:
    path, before, after = change
    return f"{path}: {_show(before)} -> {_show(after)}"


def data_path_fields(config: dict[str, Any]) -> set[str]:
    """The fields of ``config`` (a plain dict) that say where a data source's files are:
    ``data.path``, ``data.sources[i].path`` and the path options (annotation files)."""
    import dataclasses

    from workbench.data import DATASETS

    data = config.get("data") or {}
    sources = [("data", data)] + [(f"data.sources[{i}]", s) for i, s in enumerate(data.get("sources") or [])]
    out = set()
    for prefix, source in sources:
        if not isinstance(source, dict):
            continue
        out.add(f"{prefix}.path")
        kind = source.get("source")
        if isinstance(kind, str) and kind in DATASETS:
            for f in dataclasses.fields(DATASETS.get(kind).Options):
                meta = f.metadata.get("workbench")
                if meta is not None and meta.is_path:
                    out.add(f"{prefix}.options.{f.name}")
    return out


def split_changes(
    before: dict[str, Any], after: dict[str, Any], moved_data: bool = False
) -> tuple[list[tuple[str, Any, Any]], list[tuple[str, Any, Any]]]:
    """(allowed, refused) changes from the checkpoint's config ``before`` to ``after``.
    ``moved_data``: the run keeps its split (``split.json``), so the data's files may have
    moved (``data_path_fields``): the resume uses the same images found at the new place."""
    movable = data_path_fields(after) & data_path_fields(before) if moved_data else set()
    allowed, refused = [], []
    for change in config_changes(before, after):
        (allowed if change[0] in RESUMABLE_CHANGES or change[0] in movable else refused).append(change)
    return allowed, refused
