"""Several sources as one dataset, each feeding only its own tasks (partial labels).

``[[data.sources]]`` lists sources with the tasks each labels: e.g. VOC boxes for a
detection task and an image folder for a classification task. A sample keeps only the
targets its source's tasks read; the others are absent, so ``collate`` marks them
missing and those tasks leave the sample out of their loss and metrics. Every source is
fitted to the same image size.
"""

from __future__ import annotations

import bisect
from typing import Any

from workbench.data.base import DataInfo


class CombinedDataset:
    """``parts``: (dataset, the target keys it feeds) in order. ``info``: the first part's
    classes and the union of the keys; per-task class lists are the caller's concern."""

    def __init__(self, parts: list[tuple[Any, frozenset[str]]]) -> None:
        if not parts:
            raise ValueError("CombinedDataset needs at least one part")
        sizes = {int(d.info.image_size) for d, _ in parts}
        if len(sizes) > 1:
            raise ValueError(f"the sources make images of different sizes ({sorted(sizes)} px)")
        self.parts = parts
        self.recount()
        first = parts[0][0].info
        keys = frozenset().union(*(k for _, k in parts))
        self.info = DataInfo(first.image_size, first.num_classes, first.class_names, keys)

    def recount(self) -> None:
        """Where each part starts again (after a part's images changed, e.g. ``pin``)."""
        self._ends = []
        total = 0
        for dataset, _keys in self.parts:
            total += len(dataset)
            self._ends.append(total)

    def __len__(self) -> int:
        return self._ends[-1]

    def locate(self, index: int) -> tuple[int, int]:
        """(part number, index within that part) of ``index``."""
        if not 0 <= index < len(self):
            raise IndexError(f"index {index} out of range for {len(self)} samples")
        part = bisect.bisect_right(self._ends, index)
        start = self._ends[part - 1] if part else 0
        return part, index - start

    def sample(self, index: int) -> dict[str, Any]:
        part, local = self.locate(index)
        dataset, keys = self.parts[part]
        sample = dataset.sample(local)
        out = {"image": sample["image"]}
        for extra in ("stand_in", "problems"):
            if extra in sample:
                out[extra] = sample[extra]
        for key in keys:
            if sample.get(key) is not None:
                out[key] = sample[key]
        if "boxes" in out:
            out["labels"] = sample["labels"]
            for extra in ("crowd_boxes", "crowd_labels"):
                if extra in sample:
                    out[extra] = sample[extra]
        return out

    def note_problems(self, problems: list[tuple[str, str, str, str]]) -> None:
        """Route problems found in a loader process to the part whose files (image or mask)
        they name; one naming none of them goes to the first part that keeps a report."""
        keeping = [d for d, _ in self.parts if hasattr(d, "note_problems")]
        for problem in problems:
            owner = next(
                (
                    d
                    for d in keeping
                    if any(
                        problem[0] in (str(r.image), str(getattr(r, "mask_file", None)))
                        for r in getattr(d, "records", [])
                    )
                ),
                keeping[0] if keeping else None,
            )
            if owner is not None:
                owner.note_problems([problem])

    def set_epoch(self, epoch: int, seed: int = 0) -> None:
        for dataset, _ in self.parts:
            if hasattr(dataset, "set_epoch"):
                dataset.set_epoch(epoch, seed)

    def attach_run_dir(self, run_dir: Any) -> None:
        for i, (dataset, _) in enumerate(self.parts):
            if hasattr(dataset, "attach_run_dir"):
                dataset.attach_run_dir(run_dir)
                if getattr(dataset, "cache", None) is not None and dataset.cache.disk_dir is not None:
                    dataset.cache.disk_dir = dataset.cache.disk_dir.with_name(
                        f"{dataset.cache.disk_dir.name}-{i}"
                    )

    @property
    def report_lines(self) -> list[str]:
        lines: list[str] = []
        for i, (dataset, _) in enumerate(self.parts):
            lines.append(f"source {i + 1}:")
            lines.extend(
                getattr(dataset, "report_lines", None) or [f"{type(dataset).__name__}: no import report"]
            )
        return lines
