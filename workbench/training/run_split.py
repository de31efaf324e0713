"""The images a run trains and validates on, kept with the run (``RUN/split.json``).

A set without its own train/val split is split by a seeded draw over its sorted file
list, so adding or removing one image redraws most of the held-out images: a run resumed
(or evaluated) after its data folder changed would train on images it validated on
before, and validate on images it trained on. A run therefore stores its split when it
starts, and a resume, ``eval``, ``export`` and the app's predictions use exactly those
images again (with their current annotations):

- a validation image the set no longer has is left out, and said; a training image gone
  keeps its place (the next image stands in for it), so an epoch keeps its steps and a
  resume its position, and is said;
- an image added to the set since the run started is not used, and said (a new run uses it);
- a set whose classes changed (added, removed, reordered) would permute the labels: refused.

The file holds, per data source in config order, the classes and the image paths relative
to the set's folder, the deepest folder holding the annotation file and every image
(``ImageSetDataset.split_names``; COCO's ``images/`` beside ``annotations/`` is inside it),
``null`` for a generated source (the built-in shapes, the same for the
same seed)::

    {"version": 1, "sources": [{"classes": [...], "train": ["img/a.png", ...], "val": [...]}, null]}
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from workbench.data.class_names import names_text, shown_name
from workbench.data.import_report import NOTED

SPLIT_FILE = "split.json"
VERSION = 1


class SplitFileError(ValueError):
    """``split.json`` cannot be read or is not a split of this experiment's sources."""


def _parts(dataset: Any) -> list[Any]:
    parts = getattr(dataset, "parts", None)
    return [d for d, _ in parts] if parts is not None else [dataset]


def real_parts(dataset: Any) -> list[Any]:
    """The parts of ``dataset`` that read image files (the ones a split pins)."""
    return [d for d in _parts(dataset) if hasattr(d, "pin")]


def describe(train_set: Any, val_set: Any) -> dict[str, Any]:
    """The ``split.json`` content of an experiment's two datasets."""
    sources: list[dict[str, list[str]] | None] = []
    for train, val in zip(_parts(train_set), _parts(val_set), strict=True):
        if hasattr(val, "split_names"):
            sources.append(
                {"classes": list(val.set.class_names), "train": train.split_names(), "val": val.split_names()}
            )
        else:
            sources.append(None)
    return {"version": VERSION, "sources": sources}


def read(path: Path) -> dict[str, Any] | None:
    """The stored split, or None when the run has none (made before runs stored it).

    Raises SplitFileError naming the file when it is damaged, not a regular file, or
    would count an image twice (listed twice, or in both splits)."""
    if not path.exists() and not path.is_symlink():
        return None
    if not path.is_file():  # a folder, a FIFO (reading it would wait forever) ...
        raise SplitFileError(f"{path}: not a regular file; move it away")
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, ValueError, RecursionError) as exc:
        reason = "nested too deeply" if isinstance(exc, RecursionError) else str(exc)
        raise SplitFileError(
            f"{path}: unreadable ({reason}); move it away to use the data folder's split as it is now"
        ) from None
    sources = data.get("sources") if isinstance(data, dict) else None
    version = data.get("version") if isinstance(data, dict) else None
    if not isinstance(sources, list) or type(version) is not int or version != VERSION:
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
        for split in ("train", "val"):
            twice = _first_repeated(entry[split])
            if twice is not None:  # one image would count twice
                raise SplitFileError(f"{path}: sources[{i}].{split} lists {twice} twice")
        both = sorted(set(entry["train"]) & set(entry["val"]))
        if both:  # validation on a training image
            raise SplitFileError(f"{path}: sources[{i}] lists {both[0]} in both train and val")
        classes = entry.get("classes")
        if classes is not None and not (
            isinstance(classes, list) and all(isinstance(c, str) for c in classes)
        ):
            raise SplitFileError(f"{path}: sources[{i}].classes must be a list of class names")
    return data


def class_change(before: list[str], after: list[str]) -> str:
    """What changed between two class lists, in words: "added yellow", "removed green",
    "green renamed verde" or "reordered: class 3 was blue, is now red"."""
    added = [n for n in after if n not in before]
    removed = [n for n in before if n not in after]
    if len(added) == len(removed) == 1 and before.index(removed[0]) == after.index(added[0]):
        return f"{shown_name(removed[0])} renamed {shown_name(added[0])}"
    parts = []
    if added:
        parts.append(f"added {names_text(added, 4)}")
    if removed:
        parts.append(f"removed {names_text(removed, 4)}")
    if not parts:  # the same names, in another order
        i = next(i for i, (a, b) in enumerate(zip(before, after, strict=True)) if a != b)
        parts.append(f"reordered: class {i} was {shown_name(before[i])}, is now {shown_name(after[i])}")
    return "; ".join(parts)


def _first_repeated(names: list[str]) -> str | None:
    seen: set[str] = set()
    for name in names:
        if name in seen:
            return name
        seen.add(name)
    return None


def _listed(names: list[str], shown: int = 3) -> str:
    head = ", ".join(names[:shown])
    return head + (f" and {len(names) - shown} more" if len(names) > shown else "")


def apply(stored: dict[str, Any], path: Path, val_set: Any, train_set: Any | None = None) -> list[str]:
    """Make the datasets use the stored images; returns one line per change found (also
    added to each set's import report, noted). ``train_set`` None: validation only
    (``eval``, export, predictions).

    Raises SplitFileError when the stored sources or classes do not match the
    experiment's, and DataSourceError when no stored image of a split is left."""
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
        classes = entry.get("classes")
        if classes is not None and list(classes) != list(val.set.class_names):
            # a class index would now mean another class: every label permuted
            raise SplitFileError(
                f"{path}: the run learned the classes {names_text(classes, 8)}; {val.set.path} now has "
                f"{names_text(val.set.class_names, 8)} ({class_change(classes, list(val.set.class_names))}), so "
                "its labels would mean other classes. Restore the annotations, or train a new run"
            )
        said: list[str] = []
        for split, dataset in (("validation", val), ("training", train)):
            if dataset is None:
                continue
            names = entry["val" if split == "validation" else "train"]
            gone = dataset.pin(names, keep_places=split == "training")
            # a file still there was left out on reading (not an image now, its annotation
            # gone or unreadable): not the same as a file removed
            unusable = [n for n in gone if dataset.file_of(n).exists()]
            removed = [n for n in gone if n not in unusable]
            what = []
            if removed:
                verb = "is" if len(removed) == 1 else "are"
                what.append(f"{len(removed)} {verb} no longer in the set ({_listed(removed)})")
            if unusable:
                verb = "is" if len(unusable) == 1 else "are"
                what.append(
                    f"{len(unusable)} {verb} still there but no longer read as part of it ({_listed(unusable)}: "
                    "not an image now, or its annotation gone or unreadable)"
                )
            if gone and split == "training":
                said.append(
                    f"of the run's {len(names)} training images, {' and '.join(what)}; the next image stands in "
                    "for each, so an epoch keeps its length"
                )
            elif gone:
                said.append(
                    f"of the run's {len(names)} validation images, {' and '.join(what)}; it validates on the "
                    f"{len(names) - len(gone)} left"
                )
        added = sorted(val.set_names() - val.known_names([*entry["train"], *entry["val"]]))
        if added:
            said.append(
                f"{len(added)} image(s) added since the run started are not used ({_listed(added)}); "
                "a new run uses them"
            )
        for line in said:
            val.set.report.add(val.set.path, "run split", line, NOTED)
            notes.append(f"{val.set.path}: {line}")
    for dataset in (val_set, train_set):
        if hasattr(dataset, "recount"):  # several sources: where each one starts has moved
            dataset.recount()
    return notes


def keep(store_path: Path, train_set: Any, val_set: Any) -> None:
    """Write ``split.json`` into the run folder (atomically)."""
    from workbench.fsutil import atomic_write_text

    atomic_write_text(Path(store_path) / SPLIT_FILE, json.dumps(describe(train_set, val_set)))
