"""An annotated image set as every format reader hands it over: records per split.

The readers (COCO, Pascal VOC, YOLO, image folders) differ only in how they find images
and parse annotations; they all produce an :class:`AnnotatedSet`, which both
``workbench data check`` and training read. So what the check reports is exactly what a
run will train on.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from workbench.data.class_names import names_text, shown_name
from workbench.data.file_probe import same_file_key
from workbench.data.import_report import NOTED, REFUSED, SKIPPED, ImportReport, one_line, with_doubled_keys

# The task kinds a set can feed, in the order reports list them.
TASK_ORDER = ("classification", "detection", "segmentation", "multilabel", "counting", "localization")


@dataclass
class ImageRecord:
    """One image and its annotations, in the image file's pixel frame.

    ``width``/``height``: pixels from the file's header. ``boxes`` (N, 4) float32
    x1, y1, x2, y2; ``labels`` (N,) int64 class indices. ``segmentations``: one entry per
    object, a COCO segmentation (polygon list or RLE dict), a YOLO polygon (k, 2) float32
    in pixels, or None for "no mask". ``mask_file``: a palette PNG of class indices + 1
    (0 background, 255 ignore), as Pascal VOC's SegmentationClass. ``image_class``: the
    class of the whole image (image folders), else None. ``ignore``: crowd regions, each
    (box (4,) float32 x1 y1 x2 y2, segmentation or None, class index int).
    """

    image: Path
    width: int
    height: int
    boxes: np.ndarray = field(default_factory=lambda: np.zeros((0, 4), np.float32))
    labels: np.ndarray = field(default_factory=lambda: np.zeros((0,), np.int64))
    segmentations: list[Any] = field(default_factory=list)
    mask_file: Path | None = None
    image_class: int | None = None
    # regions that are no object but whose pixels are not background either (COCO's
    # iscrowd groups): segmentation ignores their pixels, counting never sees them, and
    # mAP neither rewards nor penalises a detection on one (pycocotools' iscrowd matching)
    ignore: list[tuple[np.ndarray, Any, int]] = field(default_factory=list)

    @property
    def has_mask(self) -> bool:
        return self.mask_file is not None or any(s is not None for s in self.segmentations)


@dataclass
class SplitSummary:
    images: int = 0
    objects: int = 0
    without_annotations: int = 0
    per_class: Counter = field(default_factory=Counter)
    mixed_images: int = 0  # images with objects of more than one class
    with_masks: int = 0  # objects with a mask (polygon, RLE or a mask image)


@dataclass
class AnnotatedSet:
    """``format``: coco, voc, yolo or folder; ``path``: the file or folder read;
    ``splits``: "train" / "val" / "test" as the set defines them, else "all"."""

    format: str
    path: Path
    class_names: list[str]
    splits: dict[str, list[ImageRecord]]
    report: ImportReport
    # RGB mask colour -> mask index (a CVAT labelmap.txt), for masks saved as RGB images
    colours: dict[tuple[int, int, int], int] | None = None

    def audit(self, classes: bool = True) -> AnnotatedSet:
        """Add what is legal in every format but probably not meant to the report (noted):
        one image file listed twice in a split (the second is skipped) or in two splits
        (validation then measures on training images), a class without training
        annotations (unless ``classes`` is False: a caller that still leaves classes out
        calls ``note_untrained_classes`` after), and class names that differ only in case
        or spaces."""
        seen: dict = {}
        for split, records in self.splits.items():
            kept = []
            for r in records:
                key = same_file_key(r.image) if r.image is not None else id(r)
                if (split, key) in seen:
                    lost = len(r.labels)  # said, not merged: a copied listing would count twice
                    self.report.add(
                        r.image,
                        split,
                        "the same image is listed again"
                        + (f"; the {lost} object(s) of that listing are left out" if lost else ""),
                        SKIPPED,
                    )
                    continue
                seen[(split, key)] = True
                kept.append(r)
            self.splits[split] = kept
        files = {
            split: {same_file_key(r.image) for r in rs if r.image is not None}
            for split, rs in self.splits.items()
        }
        if "train" in files and "val" in files:
            both = sorted(files["train"] & files["val"])
            if both:
                self.report.add(
                    self.path, "splits", f"{len(both)} image(s) in both train and val, e.g. {both[0]}", NOTED
                )
        if classes:
            self.note_untrained_classes()
        folded: dict[str, list[str]] = {}
        for name in self.class_names:
            folded.setdefault(" ".join(name.split()).casefold(), []).append(name)
        for names in folded.values():
            if len(names) > 1:
                shown = ", ".join(repr(n) for n in names)
                self.report.add(self.path, "classes", f"classes {shown} differ only in case or spaces", NOTED)
        return self

    def note_untrained_classes(self) -> None:
        """Note the classes without training annotations (without any annotation in an
        unsplit annotation set; an unsplit folder set holds out a share of each class)."""
        if "train" in self.splits and "val" in self.splits:
            what = "training images" if self.format == "folder" else "training annotations"
            note_untrained(self, self.summary("train").per_class, "", what)
        elif self.format != "folder" and set(self.splits) == {"all"}:
            note_untrained(self, self.summary("all").per_class, "", "annotations")

    def summary(self, split: str) -> SplitSummary:
        return self.summarise(self.splits[split])

    def summarise(self, records: list[ImageRecord]) -> SplitSummary:
        """Counts of ``records`` (any list of this set's records: a split, a held-out share)."""
        s = SplitSummary()
        for r in records:
            names = [self.class_names[i] for i in r.labels.tolist()]
            if r.image_class is not None:
                s.per_class[self.class_names[r.image_class]] += 1
            s.images += 1
            s.mixed_images += len(set(names)) > 1
            if r.mask_file is not None:
                s.with_masks += len(names)
            else:
                s.with_masks += sum(m is not None for m in r.segmentations)
            s.objects += len(names)
            s.without_annotations += not names and r.image_class is None
            s.per_class.update(names)
        return s

    @property
    def tasks(self) -> list[str]:
        """Task kinds these annotations support: classification from class folders or one
        class per image; detection, multilabel, counting and localization from boxes;
        segmentation from masks."""
        summaries = [self.summary(split) for split in self.splits]
        kinds = set()
        if self.format == "folder":
            kinds.add("classification")
        elif any(s.objects for s in summaries):
            kinds.update(("detection", "multilabel", "counting", "localization"))
            if not any(s.mixed_images for s in summaries):
                kinds.add("classification")
            if any(s.with_masks for s in summaries):
                kinds.add("segmentation")
        return [k for k in TASK_ORDER if k in kinds]

    def lines(self, max_problems: int | None = 50) -> list[str]:
        """The import report as text lines (problems beyond ``max_problems`` are counted)."""
        names = one_line(names_text(self.class_names))
        count = f"{len(self.class_names)} class{'es' if len(self.class_names) != 1 else ''}"
        out = [f"format: {self.format} ({self.path}); {count}: {names}"]
        for split in self.splits:
            s = self.summary(split)
            out.append(
                f"{split}: {_count(s.images, 'image')}, {_count(s.objects, 'object')}, "
                f"{_count(s.without_annotations, 'image')} without annotations"
            )
            if self.format != "folder" or s.per_class:
                out.append(f"  per class: {per_class_text(s.per_class, self.class_names)}")
        out.append(f"tasks these annotations support: {', '.join(self.tasks) or 'none'}")
        problems = self.report.problems
        if problems:
            kinds = ", ".join(f"{n} {action}" for action, n in sorted(self.report.by_action().items()))
            out.append(f"problems ({len(problems)}: {kinds}):")
            shown = problems if max_problems is None else problems[:max_problems]
            out.extend(f"  {p}" for p in shown)
            if len(shown) < len(problems):
                out.append(f"  ... and {len(problems) - len(shown)} more (--all lists them)")
        else:
            out.append("problems: none")
        return out


MAX_LISTED_ZEROS = 20  # past this many classes, those with none are counted, not listed


def per_class_text(counts: dict, class_names: list[str]) -> str:
    """``cat 3, dog 0, ...`` in class order; with more than MAX_LISTED_ZEROS classes those
    with none are counted at the end instead (2,000 COCO-style categories made one 50 KB line)."""
    if len(class_names) <= MAX_LISTED_ZEROS:
        return ", ".join(f"{shown_name(name)} {counts.get(name, 0)}" for name in class_names)
    shown = [f"{shown_name(name)} {counts[name]}" for name in class_names if counts.get(name)]
    zeros = len(class_names) - len(shown)
    return ", ".join(shown + ([f"{zeros} other classes 0"] if zeros else []))


MAX_NAMED_UNTRAINED = 5  # more classes without annotations are said in one line


def note_untrained(data: AnnotatedSet, counts: dict, where: str, what: str = "training annotations") -> None:
    """Note the classes of ``data`` that ``counts`` (class name -> objects or images) has
    none of: one line per class for a few, one line naming the first ten for many (a set
    of 2,000 categories with 1,988 unused ones)."""
    missing = [name for name in data.class_names if not counts.get(name)]
    if len(missing) <= MAX_NAMED_UNTRAINED:
        for name in missing:
            data.report.add(data.path, "classes", f"class {name!r} has no {what}{where}", NOTED)
    else:
        shown = ", ".join(repr(n) for n in missing[:10]) + (", ..." if len(missing) > 10 else "")
        data.report.add(data.path, "classes", f"{len(missing)} classes have no {what}{where}: {shown}", NOTED)


def split_records(
    records: list[ImageRecord], val_fraction: float, seed: int
) -> tuple[list[ImageRecord], list[ImageRecord]]:
    """A seeded split of one list into (train, val): ``round(n * val_fraction)`` images,
    at least 1 and at most n - 1 (when n >= 2), drawn by a permutation of ``seed``.
    The same records and seed always give the same split, whatever the order of reading
    (records are ordered by file path first)."""
    ordered = sorted(records, key=lambda r: str(r.image))
    n = len(ordered)
    if n < 2:
        return ordered, list(ordered)
    n_val = min(n - 1, max(1, round(n * val_fraction)))
    order = np.random.default_rng(seed).permutation(n)
    val_idx = set(order[:n_val].tolist())
    train = [r for i, r in enumerate(ordered) if i not in val_idx]
    val = [r for i, r in enumerate(ordered) if i in val_idx]
    return train, val


def empty_named_split(data: AnnotatedSet, split: str) -> str | None:
    """Why ``split`` cannot be trained on when the set names both a train and a val split and
    ``split`` has no usable image (a named split is never silently replaced by a held-out
    share); None otherwise. Training and ``data check`` both ask this."""
    if "train" in data.splits and "val" in data.splits and not data.splits[split]:
        # what the set says of this split itself (its folder or list not there) before the
        # first image left out anywhere (which may be another split's)
        own = [p for p in data.report.problems if p.where == split and p.action in (SKIPPED, REFUSED)]
        if own:
            more = f"; {len(own) - 1} more about it" if len(own) > 1 else ""
            why = f"{data.path}: the set's {split} split has no usable image: {own[0]}{more}"
        else:
            why = f"{data.path}: the set's {split} split has no usable image ({why_no_images(data.report)})"
        return with_doubled_keys(why, data.report)
    return None


def unusable(data: AnnotatedSet) -> str | None:
    """Why nothing of ``data`` can be trained on, in one line naming the cause (no class, no
    image); None when something can. ``data check`` and training both ask this."""
    if not data.class_names:
        about = [p for p in data.report.problems if "categor" in p.where or "categor" in p.message]
        # else what left annotations out (a VOC file whose every object lacks its box)
        about = about or [p for p in data.report.problems if p.action in (SKIPPED, REFUSED)]
        why = f"; {about[0]}" if about else ""
        return with_doubled_keys(f"{data.path}: no classes found ({data.format}{why})", data.report)
    if not any(data.splits.values()):
        why = f"{data.path}: no usable images found ({data.format}; {why_no_images(data.report)})"
        return with_doubled_keys(why, data.report)
    return None


def why_no_images(report: ImportReport) -> str:
    """What left images out: the problems about whole images or files (missing,
    unreadable, objects unknown) and the first of them, rather than the first problem of any
    kind (a clipped box says nothing about why no image remained)."""
    whole = [p for p in report.problems if not p.where and p.action in (SKIPPED, REFUSED)]
    if not whole:
        first = f"; the first: {report.problems[0]}" if report.problems else ""
        return f"{len(report.problems)} problem(s){first}"
    return f"{len(whole)} image(s) or file(s) left out, the first: {whole[0]}; {len(report.problems)} problem(s) in all"


def _count(n: int, noun: str) -> str:
    """``1 image``, ``2 images``."""
    return f"{n} {noun}{'' if n == 1 else 's'}"
