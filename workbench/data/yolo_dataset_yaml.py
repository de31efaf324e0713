"""The ``data.yaml`` of a YOLO data set: class names, root and the images of each split.

Layout as Ultralytics documents it: ``path`` (the root; relative to the YAML's folder when
relative, the YAML's folder when absent), ``train`` / ``val`` (``test``) each a folder of
images, a ``.txt`` file listing image paths, or a list of these, relative to the root; and
``names`` as a list or as a mapping {0: name, 1: name, ...} (``nc``, when given, must agree).
Each image's labels are at the same path with the last ``images`` folder replaced by
``labels`` and the extension by ``.txt`` (:func:`label_path`).
"""

from __future__ import annotations

import collections
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from workbench.data.file_probe import is_file, not_a_file, present
from workbench.data.import_report import DOUBLED_KEY, NOTED, REFUSED, SKIPPED, ImportReport

# Files a folder listing takes as images (the decoder then reads them by content).
IMAGE_SUFFIXES = frozenset({".jpg", ".jpeg", ".png", ".bmp", ".gif", ".webp", ".tif", ".tiff"})


class YoloYamlError(ValueError):
    """The data.yaml cannot be used: one line naming the file, and the line where known."""


@dataclass
class YoloSpec:
    root: Path
    names: list[str]
    splits: dict[str, list[Path]]  # "train" / "val" / "test" -> image files, sorted


class _KeysSeenLoader(yaml.SafeLoader):
    """A safe loader that records the keys written twice in any mapping (``doubled``:
    where, e.g. "'names' → 0", and the line): YAML readers keep the last, and a data.yaml
    with two ``train:`` lines, two ``names:`` or a class number given twice was read
    without a word."""

    def __init__(self, stream: Any) -> None:
        super().__init__(stream)
        self.doubled: list[tuple[str, int]] = []

    def construct_document(self, node: Any) -> Any:
        self.doubled = _doubled_keys(node)
        return super().construct_document(node)


def _doubled_keys(root: Any) -> list[tuple[str, int]]:
    """(key path, 1-based line) of every key given again in a mapping of the node tree;
    each node visited once (aliases can make the tree a graph, even a cycle)."""
    found: list[tuple[str, int]] = []
    seen_nodes: set[int] = set()
    queue: collections.deque[tuple[Any, tuple[str, ...]]] = collections.deque([(root, ())])
    while queue:  # in the order written: a shared (anchored) mapping is named where it is defined
        node, where = queue.popleft()
        if id(node) in seen_nodes or len(where) > 32:
            continue
        seen_nodes.add(id(node))
        if isinstance(node, yaml.MappingNode):
            keys: set[str] = set()
            for key_node, value in node.value:
                key = key_node.value if isinstance(key_node, yaml.ScalarNode) else None
                if key is not None and key in keys:
                    found.append((" → ".join(f"{k!r}" for k in (*where, key)), key_node.start_mark.line + 1))
                if key is not None:
                    keys.add(key)
                queue.append((value, (*where, key if key is not None else "?")))
        elif isinstance(node, yaml.SequenceNode):
            queue.extend((item, (*where, str(i))) for i, item in enumerate(node.value))
    return sorted(found, key=lambda item: item[1])


def _load_yaml(text: str, path: Path, report: ImportReport) -> Any:
    loader = _KeysSeenLoader(text)
    try:
        data = loader.get_single_data()
    finally:
        loader.dispose()
    for key, line in loader.doubled:
        report.add(path, f"line {line}", f"{key} {DOUBLED_KEY}", NOTED)
    return data


def read_data_yaml(path: str | Path, report: ImportReport) -> YoloSpec:
    """Read ``path``; raises YoloYamlError for malformed YAML, bad names or no split."""
    path = Path(path)
    why = not_a_file(path)
    if why is not None:  # a pipe would be read for ever; a folder or loop is not "malformed"
        raise YoloYamlError(f"{path}: {why}")
    try:
        data = _load_yaml(path.read_text(encoding="utf-8-sig"), path, report)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark
        where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        raise YoloYamlError(f"{path}: malformed YAML{where}: {exc.problem}") from None
    except yaml.YAMLError as exc:
        raise YoloYamlError(f"{path}: malformed YAML: {exc}") from None
    except UnicodeDecodeError:
        raise YoloYamlError(f"{path}: not a text file (not UTF-8)") from None
    except OSError as exc:
        raise YoloYamlError(f"{path}: cannot read: {exc.strerror or exc}") from None
    except RecursionError:
        raise YoloYamlError(f"{path}: YAML nested too deeply to be a data set description") from None
    if not isinstance(data, dict):
        raise YoloYamlError(f"{path}: expected a mapping with 'names' and 'train' / 'val'")
    try:
        names = _names(data, path, report)
    except RecursionError:
        raise YoloYamlError(f"{path}: 'names' nested too deeply") from None
    root = path.parent
    if data.get("path"):
        given = Path(str(data["path"]))
        root = given if given.is_absolute() else path.parent / given
    if root != path.parent and not root.exists() and _has_split_folders(data, path.parent):
        # a set moved with an absolute path: in its data.yaml; its splits are beside the file
        report.add(
            path,
            "path",
            f"path: {root} does not exist (the set moved?); the folder of data.yaml is used, where the "
            "splits are",
            NOTED,
        )
        root = path.parent
    splits = {}
    for split in ("train", "val", "test"):
        if data.get(split):
            splits[split] = _images(data[split], root, path, split, report)
    if not splits.get("train") and not splits.get("val"):
        if not root.exists():
            raise YoloYamlError(
                f"{path}: its path: {root} does not exist (the set moved?); set path: to the set's folder, "
                "or '.' for the folder of data.yaml"
            )
        tried = ", ".join(
            f"{split}: {Path(os.path.normpath(root / str(data[split])))}"
            for split in ("train", "val")
            if isinstance(data.get(split), str)
        )
        raise YoloYamlError(
            f"{path}: no images found for 'train' or 'val' (root {root}"
            + (f"; looked in {tried})" if tried else ")")
        )
    return YoloSpec(root, names, splits)


def _has_split_folders(data: dict, folder: Path) -> bool:
    """True when a train or val entry of ``data`` names a folder or list file that is
    there relative to ``folder``."""
    return any(
        isinstance(data.get(split), str) and (folder / str(data[split])).exists()
        for split in ("train", "val")
    )


def image_candidates(labels: Path) -> list[Path]:
    """``.../labels/a/b.txt`` -> the images it would label, ``.../images/a/b.<suffix>``."""
    parts = list(labels.parts)
    for i in range(len(parts) - 2, -1, -1):
        if parts[i] == "labels":
            parts[i] = "images"
            break
    stem = Path(*parts).with_suffix("")
    return [stem.with_name(stem.name + s) for s in (*IMAGE_SUFFIXES, *(x.upper() for x in IMAGE_SUFFIXES))]


def label_path(image: Path) -> Path:
    """``.../images/a/b.jpg`` -> ``.../labels/a/b.txt`` (the last ``images`` part)."""
    parts = list(image.parts)
    for i in range(len(parts) - 2, -1, -1):
        if parts[i] == "images":
            parts[i] = "labels"
            break
    return Path(*parts).with_suffix(".txt")


def _names(data: dict[str, Any], path: Path, report: ImportReport) -> list[str]:
    names = data.get("names")
    if isinstance(names, dict):
        keys = [_class_number(k) for k in names]
        if any(k is None for k in keys):
            raise YoloYamlError(f"{path}: 'names' keys must be class numbers 0, 1, ...")
        if sorted(keys) != list(range(len(keys))):
            raise YoloYamlError(f"{path}: 'names' must number the classes 0 to {len(keys) - 1} without gaps")
        by_number = dict(zip(keys, names.values(), strict=True))
        names = [by_number[k] for k in range(len(keys))]
    if not isinstance(names, list) or not names:
        raise YoloYamlError(f"{path}: 'names' must be a non-empty list or mapping of class names")
    if not all(isinstance(n, (str, int, float)) and not isinstance(n, bool) for n in names):
        raise YoloYamlError(f"{path}: every entry of 'names' must be a name, got {str(names)[:60]}")
    if "nc" in data and data["nc"] != len(names):
        raise YoloYamlError(f"{path}: nc = {data['nc']!r} but 'names' has {len(names)} entries")
    unique: list[str] = []
    for number, name in enumerate(str(n).strip() for n in names):
        if name in unique or not name:
            report.add(
                path,
                "names",
                f"class {number} is named {name!r} like another; shown as '{name} (class {number})'",
                NOTED,
            )
            name = f"{name} (class {number})"
        unique.append(name)
    return unique


def _class_number(key: Any) -> int | None:
    if isinstance(key, int) and not isinstance(key, bool):
        return key
    if isinstance(key, str) and key.isdigit():
        return int(key)
    return None


def _images(entry: Any, root: Path, path: Path, split: str, report: ImportReport) -> list[Path]:
    entries = entry if isinstance(entry, list) else [entry]
    # resolved path -> the path as read: "images/a.png", "./images/a.png" and its absolute
    # spelling are one image, in one list file or in two of the split
    found: dict[str, Path] = {}
    for item in entries:
        if not isinstance(item, str) or not item or "\0" in item:
            report.add(path, split, f"{item!r} is not a path", SKIPPED)
            continue
        where = Path(item)
        where = where if where.is_absolute() else root / where
        if not where.exists() and item.startswith("../") and (root / item[3:]).exists():
            # Roboflow's exports write 'train: ../train/images' beside the set's own train/
            # folder; Ultralytics reads it relative to the YAML's folder the same way
            where = root / item[3:]
        where = Path(os.path.normpath(where))
        try:
            if where.is_dir():
                # a file before a link to it: an image with two names is read under its own
                named = sorted(
                    (p for p in where.rglob("*") if p.suffix.lower() in IMAGE_SUFFIXES),
                    key=lambda p: (p.is_symlink(), str(p)),
                )
                for p in named:
                    if is_file(p):
                        found.setdefault(os.path.realpath(p), p)
                # named like an image, but no file: a broken link, a loop, a folder, a pipe
                for odd in sorted(p for p in named if not is_file(p)):
                    report.add(odd, split, not_a_file(odd) or "not a file", SKIPPED)
            elif where.is_file() and where.suffix.lower() == ".txt":
                _listed(where, root, report, found)
            elif not where.exists():
                report.add(path, split, f"{where} does not exist", SKIPPED)
            else:
                report.add(path, split, f"{where} is neither a folder of images nor a .txt list", SKIPPED)
        except OSError as exc:
            report.add(path, split, f"cannot read {where}: {exc.strerror or exc}", SKIPPED)
    return sorted(found.values())


def _listed(list_file: Path, root: Path, report: ImportReport, found: dict[str, Path]) -> None:
    """Add the images ``list_file`` names to ``found`` (resolved path -> path); a second
    naming of one image (here or in another list of the split) is noted and read once."""
    try:
        lines = list_file.read_text(encoding="utf-8-sig").splitlines()
    except UnicodeDecodeError:
        report.add(list_file, "", "not a text file (not UTF-8)", REFUSED)
        return
    except OSError as exc:
        report.add(list_file, "", f"cannot read: {exc.strerror or exc}", REFUSED)
        return
    first: dict[str, str] = {}  # resolved path -> where it was first named
    for number, line in enumerate(lines, start=1):
        name = line.strip()
        if not name:
            continue
        image = Path(name)
        image = Path(os.path.normpath(image if image.is_absolute() else root / image))  # './a' == 'a'
        key = os.path.realpath(image)
        if key in first or key in found:
            earlier = first.get(key) or "another list of the split"
            report.add(
                list_file, f"line {number}", f"lists {name} again (first on {earlier}); read once", NOTED
            )
            continue
        first[key] = f"line {number}"
        if is_file(image):
            found[key] = image
        elif present(image):  # a folder, pipe or loop by that name
            report.add(
                list_file, f"line {number}", f"names {name}: {not_a_file(image) or 'not a file'}", SKIPPED
            )
        else:
            report.add(list_file, f"line {number}", f"names a missing image {name}", SKIPPED)
