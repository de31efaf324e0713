"""Annotated image sets as training data: one reader per format, one dataset class for all.

``register_image_source`` turns a format's reader (``read(path, options) -> AnnotatedSet``)
into a registered :class:`~workbench.data.source.DataSource`. Its datasets
(:class:`ImageSetDataset`) decode each image once, fit it to the input size with its boxes
and semantic mask (letterbox or stretch, torchvision.transforms.v2), keep the fitted image
in an :class:`~workbench.data.image_cache.ImageCache`, and augment training samples per
epoch (reproducibly: the draw depends on the split seed, the epoch and the index only).

Which targets a set provides follows from its annotations (``AnnotatedSet.tasks``): an
image folder gives ``scene_class``; boxes give ``boxes``, ``count``, ``presence`` and
``largest_box`` (the object with the longest side, as in the shapes scenes); one class
per image also ``scene_class``; masks give ``mask``. A sample
without a target (an image with no objects has no largest box) leaves it out, and the
task kinds skip that sample (partial labels).
"""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import torch

from workbench.data.annotated_set import (
    AnnotatedSet,
    ImageRecord,
    empty_named_split,
    note_untrained,
    per_class_text,
    split_records,
    unusable,
)
from workbench.data.base import DataInfo
from workbench.data.image_cache import ImageCache
from workbench.data.image_io import ImageError, load_rgb
from workbench.data.import_report import NOTED, SKIPPED
from workbench.data.read_stop import ReadStopped
from workbench.data.sample_transforms import Augment, augment_sample, fit_sample, fit_scales
from workbench.data.semantic_mask import semantic_mask
from workbench.data.source import DATASETS, DataSource, DataSourceError

_READ_CACHE: dict[tuple, AnnotatedSet] = {}  # the last few reads: train and val read the set once


def _fingerprint(path: Path) -> tuple[int, int, int]:
    """(entries, newest modification time, total size) of a file, or of everything under a
    folder: any file added, removed or edited changes it (a stat per file, no reading)."""
    st = path.stat()
    if not path.is_dir():
        return 1, st.st_mtime_ns, st.st_size
    count, newest, total = 1, st.st_mtime_ns, 0
    for folder, dirs, files in os.walk(path):
        dirs[:] = [d for d in dirs if not d.startswith(".")]
        for name in [*dirs, *files]:
            try:
                entry = os.stat(os.path.join(folder, name))
            except OSError:
                continue
            count += 1
            newest = max(newest, entry.st_mtime_ns)
            total += entry.st_size
    return count, newest, total


def read_cached(fmt: str, read: Callable[[str, Any], AnnotatedSet], path: str, options: Any) -> AnnotatedSet:
    """``read(path, options)``, remembered while the path, the options and the files
    under the path are unchanged (so train and val read a set once, and an edited set is
    read again, also in the app's long-lived process)."""
    p = Path(path)
    try:
        stamp = _fingerprint(p)
    except OSError as exc:
        raise DataSourceError(f"{path}: {exc.strerror or 'cannot be read'}") from None
    reading = {k: v for k, v in dataclasses.asdict(options).items() if k not in _FIT_KEYS}
    key = (fmt, str(p.resolve()), stamp, tuple(sorted(reading.items())))
    if key not in _READ_CACHE:
        if len(_READ_CACHE) >= 4:
            _READ_CACHE.pop(next(iter(_READ_CACHE)))
        _READ_CACHE[key] = read(path, options)
    return _READ_CACHE[key]


# options that change how samples are made, not what is read
_FIT_KEYS = frozenset({"image_size", "resize", "hflip", "scale_jitter", "color_jitter", "cache_mb"})


def target_keys(data: AnnotatedSet) -> frozenset[str]:
    """The sample targets the set's annotations can give (see the module docstring)."""
    tasks = set(data.tasks)
    keys = set()
    if "classification" in tasks:
        keys.add("scene_class")
    if "detection" in tasks:
        keys.update(("boxes", "count", "presence", "largest_box"))
    if "segmentation" in tasks:
        keys.add("mask")
    return frozenset(keys)


def held_out_pool(data: AnnotatedSet) -> list[ImageRecord]:
    """The records a set without both named splits is split from: its train split, else its
    val split, else all it has."""
    return data.splits.get("train") or data.splits.get("val") or data.splits.get("all") or []


def choose_split(data: AnnotatedSet, split: str, val_fraction: float, seed: int) -> list[ImageRecord]:
    """The set's own train/val split when it has both, else a seeded held-out share of
    what it has (train, else val, else all). Raises DataSourceError (``empty_named_split``)."""
    if "train" in data.splits and "val" in data.splits:
        problem = empty_named_split(data, split)
        if problem:
            raise DataSourceError(problem)
        return data.splits[split]
    pool = held_out_pool(data)
    if len(pool) == 1:
        data.report.add(
            data.path, "splits", "only 1 usable image: it is used for training and validation", NOTED
        )
    train, val = split_records(pool, val_fraction, seed)
    if len(pool) > 1 and data.format != "folder":
        # a class whose every example fell into the held-out share is never trained on
        in_pool, trained = data.summarise(pool).per_class, data.summarise(train).per_class
        lost = {n: 0 if in_pool.get(n) and not trained.get(n) else 1 for n in data.class_names}
        where = (
            f" in the training share of the held-out split (val_fraction {val_fraction:g}, split_seed {seed})"
        )
        note_untrained(data, lost, where)
    return train if split == "train" else val


def augment_seed(split_seed: int, run_seed: int, epoch: int, index: int) -> int:
    """The seed of image ``index``'s augmentation draws in ``epoch``: one per image, epoch,
    split seed and run seed (``train.seed``), reduced to the 64 bits a torch generator
    takes (a split seed of 2**32 - 1 overflowed it: every step failed). Run seed 0 gives
    the draws of runs made before the run seed counted, so a resume of one continues them."""
    value = (split_seed * 1_000_003 + epoch) * 10_000_019 + index + run_seed * 1_000_000_000_039
    return value % 2**64


def set_folder(image_set: Any) -> Path:
    """The deepest folder that holds ``image_set.path`` (its annotation file or folder)
    and the images of all its splits; the file's own folder where they share none (other
    drives)."""
    path = Path(image_set.path)
    folder = path if path.is_dir() else path.parent
    parents = {
        os.path.dirname(os.path.abspath(r.image)) for records in image_set.splits.values() for r in records
    }
    try:
        return Path(os.path.commonpath([os.path.abspath(folder), *sorted(parents)]))
    except ValueError:  # paths on several drives
        return folder


class ImageSetDataset:
    """Samples of one split of an annotated set (the ``Dataset`` protocol of ``data.base``)."""

    def __init__(self, data: AnnotatedSet, options: Any, split: str) -> None:
        if split not in ("train", "val"):
            raise ValueError(f"unknown split {split!r}; choose 'train' or 'val'")
        problem = unusable(data)
        if problem:  # the cause, not "no usable images for the val split" or "needs boxes"
            raise DataSourceError(problem)
        records = choose_split(data, split, options.val_fraction, options.split_seed)
        if options.max_images:
            records = records[: options.max_images]
        if not records:
            raise DataSourceError(f"{data.path}: no usable images for the {split} split")
        self.set = data
        self.records = records
        self.split = split
        self.options = options
        self.size = int(options.image_size)
        self.info = DataInfo(self.size, len(data.class_names), tuple(data.class_names), target_keys(data))
        self.has_masks = "mask" in self.info.target_keys
        self.single_class = "scene_class" in self.info.target_keys and data.format != "folder"
        self.cache = ImageCache(memory_bytes=int(options.cache_mb) * 2**20)
        self._use_cache = options.cache_mb > 0
        self._fitted_boxes: dict[int, tuple[np.ndarray, np.ndarray]] = {}
        self.epoch = 0
        self.run_seed = 0  # train.seed (set_epoch)
        self.broken: set[int] = set()  # records whose image failed to decode
        self.strict = False  # True: a broken image raises ImageError instead of being stood in for
        self.augment = (
            Augment(
                hflip=options.hflip,
                scale_range=(1.0 - options.scale_jitter, 1.0 + options.scale_jitter),
                color=options.color_jitter,
            )
            if split == "train"
            else None
        )

    def __len__(self) -> int:
        return len(self.records)

    @property
    def _root(self) -> Path:
        """The set's folder: the deepest folder holding its annotation file (or folder) and
        every image of every split. COCO's layout keeps images beside ``annotations/``, not
        in it: names relative to the .json's folder were absolute paths, and a moved set
        found none of the images its runs had used."""
        root = self.__dict__.get("_root_found")
        if root is None:
            root = self.__dict__["_root_found"] = set_folder(self.set)
        return root

    def _name(self, record: ImageRecord) -> str:
        # relative to the set's folder (the folder may move); an image outside it (on
        # another drive) by its absolute path, which moves with nothing
        return self._relative(Path(record.image))

    def _relative(self, image: Path) -> str:
        try:
            relative = Path(os.path.relpath(image, self._root)).as_posix()
        except ValueError:  # another drive (Windows)
            return image.as_posix()
        return image.as_posix() if relative.startswith("../") else relative

    def _current_name(self, name: str) -> str:
        """A stored ``split_names`` entry as this version names it: runs made before the
        set's folder took in the images stored those outside the annotation file's folder
        by absolute path, and the others relative to that folder."""
        stored = Path(name)
        if stored.is_absolute():
            return self._relative(stored)
        path = Path(self.set.path)
        old_folder = path if path.is_dir() else path.parent
        if Path(os.path.abspath(old_folder)) == self._root or name in self._names_now():
            return name
        return self._relative(old_folder / stored)

    def split_names(self) -> list[str]:
        """The split's images as paths relative to the set's folder, in the split's order:
        what a run stores (``workbench.training.run_split``) to train and validate on the
        same images when it is resumed or evaluated after the folder changed."""
        return [self._name(r) for r in self.records]

    def file_of(self, name: str) -> Path:
        """The file a ``split_names`` entry names."""
        return self._root / self._current_name(name)

    def known_names(self, names: list[str]) -> set[str]:
        """Stored ``split_names`` entries as ``set_names`` names them now."""
        return {self._current_name(n) for n in names}

    def set_names(self) -> set[str]:
        """Every usable image of the set (all its splits), named as ``split_names`` does."""
        return set(self._names_now())

    def _names_now(self) -> set[str]:
        names = self.__dict__.get("_set_names")
        if names is None:  # the set's records do not change after reading
            names = self.__dict__["_set_names"] = {
                self._name(r) for records in self.set.splits.values() for r in records
            }
        return names

    def pin(self, names: list[str], keep_places: bool = False) -> list[str]:
        """Use exactly the images ``names`` (an earlier ``split_names``), in that order,
        with their current annotations. Returns the names the set no longer has: left out,
        or with ``keep_places`` kept as unreadable records, which the next image stands in
        for (``sample``), so a training epoch keeps its length and a resume its position.

        Raises DataSourceError when none of them is left."""
        pool: dict[str, ImageRecord] = {}
        for records in self.set.splits.values():
            for record in records:
                pool.setdefault(self._name(record), record)
        for name in names:  # an earlier version's name of a record still here
            if name not in pool and self._current_name(name) in pool:
                pool[name] = pool[self._current_name(name)]
        gone = [n for n in names if n not in pool]
        if len(gone) == len(names):
            raise DataSourceError(
                f"{self.set.path}: none of the {len(names)} {self.split} images this run used "
                "(its split.json) is in the set now"
            )
        if keep_places:
            self.records = [pool[n] if n in pool else ImageRecord(self._root / n, 0, 0) for n in names]
            self.broken = {i for i, n in enumerate(names) if n not in pool}
        else:
            self.records = [pool[n] for n in names if n in pool]
            self.broken = set()
        self._fitted_boxes.clear()
        return gone

    def __repr__(self) -> str:
        return f"ImageSetDataset({self.set.format}, split={self.split!r}, len={len(self)})"

    @property
    def report_lines(self) -> list[str]:
        """The import report of the set (``workbench data check``'s text, every problem),
        with the counts of the held-out split this run uses when it made one."""
        lines = self.set.lines(max_problems=None)
        if "train" in self.set.splits and "val" in self.set.splits:
            return lines
        train, val = split_records(
            held_out_pool(self.set), self.options.val_fraction, self.options.split_seed
        )
        held = [
            f"held-out split used (val_fraction {self.options.val_fraction:g}, "
            f"split_seed {self.options.split_seed}):"
        ]
        for name, records in (("train", train), ("val", val)):
            s = self.set.summarise(records)
            counts = per_class_text(s.per_class, self.set.class_names)
            held.append(f"  {name}: {s.images} images, {s.objects} objects; per class: {counts}")
        at = next((i for i, line in enumerate(lines) if line.startswith("tasks these")), len(lines))
        return [*lines[:at], *held, *lines[at:]]

    def as_files(self) -> None:
        """Samples as the files hold them, for writing out: no augmentation, and a broken
        image raises ImageError instead of another image standing in for it."""
        self.augment = None
        self.strict = True

    def set_epoch(self, epoch: int, seed: int = 0) -> None:
        """Training augmentation draws differ per epoch and per run seed (``train.seed``;
        set by the trainer). Two seeds of one experiment flipped, zoomed and jittered every
        image alike, which understated the spread a seeds sweep measures."""
        self.epoch = int(epoch)
        self.run_seed = int(seed)

    def attach_run_dir(self, run_dir: str | Path) -> None:
        """Fitted images that do not fit in memory go to ``run_dir/cache``."""
        self.cache.disk_dir = Path(run_dir) / "cache" / f"{self.split}-{self.size}-{self.options.resize}"

    def fitted(self, index: int) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray | None]:
        """(image (S, S, 3) uint8, boxes (N, 4) float32 px, labels (N,) int64, mask (S, S)
        uint8 or None) of record ``index`` at the input size, before augmentation.

        Raises ImageError naming the file when it cannot be decoded."""
        record = self.records[index]
        variant = f"{self.size}|{self.options.resize}|{int(self.has_masks)}"
        if not self._use_cache:
            image, boxes, labels, mask = self._fit(record)
            return image, boxes, labels, mask
        try:
            stacked = self.cache.get(record.image, variant, lambda: self._fit_stacked(index))
        except OSError as exc:  # gone since the set was read (the cache keys on its size and time)
            raise ImageError(record.image, f"cannot be read: {exc.strerror or exc}") from None
        boxes, labels = self._fitted_boxes.get(index) or self._boxes_only(index)
        image = stacked[..., :3]
        mask = stacked[..., 3] if stacked.shape[-1] == 4 else None
        if mask is not None and self._no_mask(record):
            mask = None
        return image, boxes, labels, mask

    def _no_mask(self, record: ImageRecord) -> bool:
        return len(record.labels) > 0 and not record.has_mask

    def _fit(self, record: ImageRecord):
        # Decoded at about the input size (JPEG's DCT scaling, then one resampling): a
        # 640x480 photo for a 224 px model never exists at full size. The annotations,
        # in the file's frame, are scaled to the decoded frame instead.
        decoded = load_rgb(record.image, max_side=self.size, resample=False)
        try:
            mask = (
                semantic_mask(record, len(self.set.class_names), self.set.colours, self._note_mask)
                if self.has_masks
                else None
            )
        except (ValueError, TypeError, IndexError) as exc:
            # the image and its boxes stay; only its segmentation label is lost
            where = exc.path if isinstance(exc, ImageError) else record.image
            reason = exc.reason if isinstance(exc, ImageError) else f"its mask cannot be decoded ({exc})"
            self.set.report.add(where, "", f"{reason}; the image is kept without a mask", SKIPPED)
            mask = None
        pixels = decoded.pixels
        height, width = pixels.shape[:2]
        boxes, labels = self._with_crowds(record)
        if (height, width) != (record.height, record.width):
            sx, sy = width / max(1, record.width), height / max(1, record.height)
            boxes = boxes * np.array([sx, sy, sx, sy], np.float32)
            if mask is not None:
                mask = _resize_nearest(mask, width, height)
        return fit_sample(pixels, boxes, labels, mask, self.size, self.options.resize)

    def _with_crowds(self, record: ImageRecord) -> tuple[np.ndarray, np.ndarray]:
        # crowd regions ride along with the objects through fitting and augmentation, as
        # labels shifted by the class count (``_split_crowds`` takes them apart again)
        if not record.ignore:
            return record.boxes, record.labels
        shift = len(self.set.class_names)
        boxes = np.concatenate(
            [record.boxes, np.stack([b for b, _s, _c in record.ignore]).astype(np.float32)]
        )
        labels = np.concatenate(
            [record.labels, np.array([c + shift for _b, _s, c in record.ignore], np.int64)]
        )
        return boxes, labels

    def _note_mask(self, path: Path, text: str) -> None:
        self.set.report.add(path, "", text, NOTED)

    def _fit_stacked(self, index: int) -> np.ndarray:
        image, boxes, labels, mask = self._fit(self.records[index])
        self._fitted_boxes[index] = (boxes, labels)
        if not self.has_masks:
            return image
        if mask is None:
            mask = np.full(image.shape[:2], 255, np.uint8)
        return np.concatenate([image, mask[..., None]], axis=-1)

    def _boxes_only(self, index: int) -> tuple[np.ndarray, np.ndarray]:
        # the image came from the disk cache of an earlier process: refit the boxes alone
        record = self.records[index]
        blank = np.zeros((max(1, record.height), max(1, record.width), 3), np.uint8)
        _, boxes, labels, _ = fit_sample(
            blank, *self._with_crowds(record), None, self.size, self.options.resize
        )
        self._fitted_boxes[index] = (boxes, labels)
        return boxes, labels

    def sample(self, index: int) -> dict[str, Any]:
        """The sample dict of ``data.base`` for record ``index``.

        An image whose header read well but whose data cannot be decoded (truncated,
        damaged, removed since the set was read) is reported in the import report
        (skipped) and the next usable image of the split stands in for it, so one bad file
        never ends a run. A stand-in sample carries ``stand_in = True`` (validation leaves
        it out, so no image counts twice). A sample carries ``problems``, the report lines
        that reading it added (a broken image, mask values that are no class, a mask that
        cannot be decoded): a loader process's report is its own, so the trainer adds them to
        the run's (``note_problems``).
        Raises DataSourceError when no image of the split decodes."""
        if self.strict:
            return self._sample(index)
        before = len(self.set.report.problems)
        sample = self._first_decodable(index)
        added = self.set.report.problems[before:]
        if added:
            sample["problems"] = [(p.file, p.where, p.message, p.action) for p in added]
        return sample

    def _first_decodable(self, index: int) -> dict[str, Any]:
        n = len(self.records)
        for step in range(n):
            candidate = (index + step) % n
            if candidate in self.broken:
                continue
            try:
                sample = self._sample(candidate)
            except ImageError as exc:
                self.broken.add(candidate)
                self.set.report.add(exc.path, "", f"{exc.reason}; found while training", SKIPPED)
                continue
            if candidate != index:
                sample["stand_in"] = True
            return sample
        raise DataSourceError(f"{self.set.path}: no image of the {self.split} split can be decoded")

    def note_problems(self, problems: list[tuple[str, str, str, str]]) -> None:
        """Add problems found by a copy of this dataset in a loader process to the report."""
        for problem in problems:
            self.set.report.add(*problem)

    def _sample(self, index: int) -> dict[str, Any]:
        record = self.records[index]
        image, boxes, labels, mask = self.fitted(index)
        if self.augment is not None:
            g = torch.Generator().manual_seed(
                augment_seed(self.options.split_seed, self.run_seed, self.epoch, index)
            )
            image, boxes, labels, mask = augment_sample(image, boxes, labels, mask, self.augment, g)
        out: dict[str, Any] = {"image": np.ascontiguousarray(image)}
        keys = self.info.target_keys
        crowd = labels >= self.info.num_classes
        if crowd.any():
            if "boxes" in keys:
                out["crowd_boxes"], out["crowd_labels"] = boxes[crowd], labels[crowd] - self.info.num_classes
            boxes, labels = boxes[~crowd], labels[~crowd]
        if "boxes" in keys:
            out["boxes"], out["labels"] = boxes, labels
            out["count"] = len(labels)
            presence = np.zeros(self.info.num_classes, np.float32)
            presence[labels] = 1.0
            out["presence"] = presence
            if len(boxes):
                scales = fit_scales(record.width, record.height, self.size, self.options.resize)
                out["largest_box"] = boxes[largest_index(boxes, scales)]
        if "scene_class" in keys:
            if record.image_class is not None:
                out["scene_class"] = record.image_class
            elif self.single_class and len(record.labels):
                out["scene_class"] = int(record.labels[0])
        if mask is not None:
            out["mask"] = np.ascontiguousarray(mask)
        return out


# Sides this close (pixels of the annotated image) are one size: float32 boxes fitted and
# scaled back, and YOLO's six-decimal fractions, differ in the last digits.
SIZE_TOLERANCE_PX = 0.05


def largest_index(boxes: np.ndarray, scales: tuple[float, float] = (1.0, 1.0)) -> int:
    """The largest object of (N >= 1, 4) float32 xyxy boxes: the longest side, then the
    larger area, then the first listed (the rule the shapes scenes are built by).

    Sizes are compared in the annotated image: ``scales`` (sx, sy) are the factors that
    fitted the boxes to the input (``fit_scales``), which letterbox rounding and stretch
    make unequal, so a side measured after fitting could outrank a longer one. Sides and
    areas within ``SIZE_TOLERANCE_PX`` of the largest count as equal."""
    w = (boxes[:, 2] - boxes[:, 0]).astype(np.float64) / scales[0]
    h = (boxes[:, 3] - boxes[:, 1]).astype(np.float64) / scales[1]
    side, area = np.maximum(w, h), w * h
    tied = side >= side.max() - SIZE_TOLERANCE_PX
    # an area is uncertain by about tolerance x (w + h) when each side is by the tolerance
    tied &= area >= area[tied].max() - SIZE_TOLERANCE_PX * (w + h)
    return int(np.flatnonzero(tied)[0])


def _resize_nearest(mask: np.ndarray, width: int, height: int) -> np.ndarray:
    from PIL import Image

    return np.asarray(Image.fromarray(mask).resize((width, height), Image.Resampling.NEAREST))


def register_image_source(
    name: str,
    label: str,
    description: str,
    options_cls: type,
    read: Callable[[str, Any], AnnotatedSet],
) -> DataSource:
    """Register a format reader as data source ``name`` (see the module docstring).

    The reader is used through ``checked_reader``: what it raises beyond DataSourceError
    and what it returns are checked, so a new format's mistake is one line naming the
    format and the file, never an IndexError from a sample deep inside training."""
    read = checked_reader(name, label, read)

    def build(options: Any, path: str, split: str) -> ImageSetDataset:
        return ImageSetDataset(read_cached(name, read, path, options), options, split)

    spec = DataSource(name, label, description, options_cls, build, needs_path=True, read=read)
    DATASETS.register(name)(spec)
    return spec


def checked_reader(
    name: str, label: str, read: Callable[[str, Any], AnnotatedSet]
) -> Callable[[str, Any], AnnotatedSet]:
    """``read`` with its failures and its result checked.

    DataSourceError, OSError and MemoryError pass as they are (they name the file); any
    other exception becomes a DataSourceError naming the format and the path. The result
    must be an ``AnnotatedSet`` whose records hold (N, 4) boxes, N labels and at most N
    segmentations, with every label and image class a class index of the set: otherwise a
    DataSourceError names the image and the reader (a label past the class list was an
    IndexError when its sample was drawn, mid-training)."""

    def checked(path: str, options: Any) -> AnnotatedSet:
        try:
            data = read(path, options)
        except (DataSourceError, OSError, MemoryError, ReadStopped):
            raise
        except Exception as exc:  # noqa: BLE001 - a new format's reader: named, not a traceback
            words = str(exc).strip().splitlines()
            raise DataSourceError(
                f"{path}: the {label} reader failed: {type(exc).__name__}"
                + (f": {words[0]}" if words else "")
            ) from exc
        try:
            problem = reader_output_problem(data)
        except Exception as exc:  # noqa: BLE001 - a shape no check foresaw: still named
            problem = f"the reader's result could not be checked ({type(exc).__name__}: {exc})"
        if problem:
            raise DataSourceError(f"{problem} (as the {label} reader gave it)")
        return data

    checked.__wrapped__ = read  # type: ignore[attr-defined]
    checked.__name__ = getattr(read, "__name__", name)
    return checked


def reader_output_problem(data: Any) -> str:
    """ "" when ``data`` is a well-formed AnnotatedSet, else the first problem in one line
    naming the image (see ``checked_reader``): the set's class names and splits, and each
    record's image, boxes ((N, 4) finite float array, x1 <= x2, y1 <= y2), labels ((N,)
    integer array of class indices), segmentations (at most N) and image class."""
    if not isinstance(data, AnnotatedSet):
        return f"the reader returned {type(data).__name__}, not an AnnotatedSet"
    if not isinstance(data.class_names, list | tuple) or not all(
        isinstance(n, str) for n in data.class_names
    ):
        return f"class_names must be a list of names, got {type(data.class_names).__name__}"
    if not isinstance(data.splits, dict) or not all(isinstance(v, list) for v in data.splits.values()):
        return f"splits must be a dict {{split: [ImageRecord, ...]}}, got {type(data.splits).__name__}"
    n_classes = len(data.class_names)
    for split, records in data.splits.items():
        for k, r in enumerate(records):
            if not isinstance(r, ImageRecord):
                return f"{split} record {k + 1} is a {type(r).__name__}, not an ImageRecord"
            if not isinstance(r.image, str | os.PathLike) or not str(r.image).strip():
                return f"{split} record {k + 1}: its image is {r.image!r}, not the path of an image file"
            problem = _record_problem(r, n_classes)
            if problem:
                return f"{r.image} ({split}): {problem}"
    return ""


def _record_problem(r: ImageRecord, n_classes: int) -> str:
    boxes, labels = r.boxes, r.labels
    if not isinstance(boxes, np.ndarray) or not isinstance(labels, np.ndarray):
        wrong = boxes if not isinstance(boxes, np.ndarray) else labels
        return f"boxes and labels must be numpy arrays, got {type(wrong).__name__}"
    if boxes.ndim != 2 or boxes.shape[1] != 4:
        return f"boxes must be an (N, 4) array, got shape {tuple(boxes.shape)}"
    if labels.shape != (len(boxes),):
        return f"{len(boxes)} boxes but labels of shape {tuple(labels.shape)}"
    if labels.size and not np.issubdtype(labels.dtype, np.integer):
        return f"labels must be integer class indices, got {labels.dtype}"
    if not np.issubdtype(boxes.dtype, np.number) or not np.isfinite(boxes).all():
        return "a box holds a value that is not a finite number"
    if len(boxes) and ((boxes[:, 2] < boxes[:, 0]) | (boxes[:, 3] < boxes[:, 1])).any():
        i = int(np.flatnonzero((boxes[:, 2] < boxes[:, 0]) | (boxes[:, 3] < boxes[:, 1]))[0])
        return f"box {i + 1} {boxes[i].tolist()} ends before it starts (x1, y1, x2, y2 expected)"
    if not isinstance(r.segmentations, list) or len(r.segmentations) > len(boxes):
        return f"segmentations must be a list of at most {len(boxes)} entries (one per object)"
    if r.image_class is not None and (
        isinstance(r.image_class, bool) or not isinstance(r.image_class, int | np.integer)
    ):
        return f"image_class must be a class index, got {type(r.image_class).__name__}"
    out_of_range = labels.size and (labels.min() < 0 or labels.max() >= n_classes)
    bad = [int(v) for v in labels if not 0 <= int(v) < n_classes] if out_of_range else []
    if r.image_class is not None and not 0 <= int(r.image_class) < n_classes:
        bad.insert(0, int(r.image_class))
    if bad:
        return (
            f"class index {bad[0]} is not one of the set's {n_classes} classes (0-{n_classes - 1})"
            if n_classes
            else f"class index {bad[0]}, but the set names no classes"
        )
    return ""


__all__ = ["ImageError", "ImageSetDataset", "register_image_source", "read_cached", "choose_split"]
