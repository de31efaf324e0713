"""The images a run trains and validates on, kept with the run (``RUN/split.json``).

A set without its own train/val split is split by a seeded draw over its sorted file
list, so adding or removing one image redraws most of the held-out images: a run resumed
(or evaluated) after its data folder changed would train on images it validated on
before, and validate on images it trained on. A run therefore stores its split when it
starts, and a resume, ``eval``, ``export`` and the app's predictions use exactly those
images again (with their current annotations):

- an image the set no longer has is left out, and said;
- an image added to the set since the run started is not used, and said (a new run uses it).

The file holds, per data source in config order, the image paths relative to the set's
folder (``ImageSetDataset.split_names``), ``null`` for a generated source (the built-in
shapes, the same for the same seed)::

    {"version": 1, "sources": [{"train": ["img/a.png", ...], "val": [...]}, null]}
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from workbench.data.import_report import NOTED

SPLIT_FILE = "split.json"
VERSION = 1


class SplitFileError(ValueError):
    """``split.json`` cannot be read or is not a split of this experiment's sources."""


def _parts(dataset: Any) -> list[Any]:
    parts = getattr(dataset, "parts", None)
    return [d for d, _ in parts] if parts is not None else [dataset]


def describe(train_set: Any, val_set: Any) -> dict[str, Any]:
    """The ``split.json`` content of an experiment's two datasets."""
    sources: list[dict[str, list[str]] | None] = []
    for train, val in zip(_parts(train_set), _parts(val_set), strict=True):
        if hasattr(val, "split_names"):
            sources.append({"train": train.split_names(), "val": val.split_names()})
        else:
            sources.append(None)
    return {"version": VERSION, "sources": sources}


def read(path: Path) -> dict[str, Any] | None:
    """The stored split, or None when the run has none (made before runs stored it).

    Raises SplitFileError naming the file when it is damaged."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return None
    except (OSError, UnicodeDecodeError, ValueError) as exc:
        raise SplitFileError(
            f"{path}: unreadable ({exc}); move it away to use the data folder's split as it is now"
        ) from None
    sources = data.get("sources") if isinstance(data, dict) else None
    if not isinstance(sources, list) or data.get("version") != VERSION:
        raise SplitFileError(f"{path}: not a run's split (expected version {VERSION} with a 'sources' list)")
    for i, entry in enumerate(sources):
        if entry is None:
            continue
        if not (
            isinstance(entry, dict)
            and all(
                isinstance(entry.get(k), list) and all(isinstance(n, str) for n in entry[k])
                for k in ("train", "val")
            )
        ):
            raise SplitFileError(f"{path}: sources[{i}] must hold 'train' and 'val' lists of image paths")
    return data


def _listed(names: list[str], shown: int = 3) -> str:
    head = ", ".join(names[:shown])
    return head + (f" and {len(names) - shown} more" if len(names) > shown else "")


def apply(stored: dict[str, Any], path: Path, val_set: Any, train_set: Any | None = None) -> list[str]:
    """Make the datasets use the stored images; returns one line per change found (also
    added to each set's import report, noted). ``train_set`` None: validation only
    (``eval``, export, predictions).

    Raises SplitFileError when the stored sources do not match the experiment's, and
    DataSourceError when no stored image of a split is left."""
    vals = _parts(val_set)
    trains = _parts(train_set) if train_set is not None else [None] * len(vals)
    sources = stored["sources"]
    if len(sources) != len(vals):
        raise SplitFileError(
            f"{path}: a split of {len(sources)} data source(s); the experiment has {len(vals)}"
        )
    notes: list[str] = []
    for i, (entry, val, train) in enumerate(zip(sources, vals, trains, strict=True)):
        if (entry is None) != (not hasattr(val, "pin")):
            raise SplitFileError(f"{path}: sources[{i}] is not the kind of data source the experiment reads")
        if entry is None:
            continue
        said: list[str] = []
        for split, dataset in (("validation", val), ("training", train)):
            if dataset is None:
                continue
            names = entry["val" if split == "validation" else "train"]
            gone = dataset.pin(names)
            if gone:
                said.append(
                    f"{len(gone)} of the run's {len(names)} {split} images are no longer in the set "
                    f"({_listed(gone)}); it {'validates' if split == 'validation' else 'trains'} on the "
                    f"{len(names) - len(gone)} left"
                )
        added = sorted(val.set_names() - set(entry["train"]) - set(entry["val"]))
        if added:
            said.append(
                f"{len(added)} image(s) added since the run started are not used ({_listed(added)}); "
                "a new run uses them"
            )
        for line in said:
            val.set.report.add(val.set.path, "run split", line, NOTED)
            notes.append(f"{val.set.path}: {line}")
    return notes


def keep(store_path: Path, train_set: Any, val_set: Any) -> None:
    """Write ``split.json`` into the run folder (atomically)."""
    from workbench.fsutil import atomic_write_text

    atomic_write_text(Path(store_path) / SPLIT_FILE, json.dumps(describe(train_set, val_set)))
