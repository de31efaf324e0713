"""What the setup shows of a data source before training: classes, split sizes, the
tasks its annotations support, and the import report's problems. Qt-free; the GUI runs
``summarise`` off its thread."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from workbench.data.base import DataInfo
from workbench.data.class_names import names_text
from workbench.data.source import DATASETS


@dataclass
class DataSummary:
    """``splits``: images per split as training will use them ("train", "val");
    ``per_class``: objects (or images, for image folders) per class over both splits;
    ``target_keys``: the sample targets the data gives (task kinds read one each);
    ``problems``: the import report's lines; ``format``: the detected format."""

    source: str
    format: str
    class_names: tuple[str, ...]
    splits: dict[str, int]
    per_class: dict[str, int] = field(default_factory=dict)
    target_keys: frozenset[str] = frozenset()
    tasks: tuple[str, ...] = ()
    problems: tuple[str, ...] = ()
    image_size: int = 0

    def unusable(self) -> str:
        """Why training cannot start on this data ("" when it can): a split without images."""
        empty = [split for split, n in self.splits.items() if n == 0]
        return f"no usable images for the {empty[0]} split" if empty else ""

    def headline(self) -> str:
        """One line: format, classes, split sizes and problem count."""
        names = names_text(self.class_names[:6]) + (", …" if len(self.class_names) > 6 else "")
        sizes = " / ".join(f"{n} {split}" for split, n in self.splits.items())
        problems = (
            f"; {len(self.problems)} problem{'s' if len(self.problems) != 1 else ''}" if self.problems else ""
        )
        return f"{self.format}: {len(self.class_names)} classes ({names}); {sizes} images{problems}"


def summarise(source: Any, input_size: int = 0) -> DataSummary:
    """The summary of one source config (``DataConfig`` or ``SourceConfig``).

    Raises DataSourceError or ConfigError (bad path or options), ImageError."""
    from workbench.data import build_dataset, source_options

    spec = DATASETS.get(source.source)
    options = source_options(source, input_size)
    if spec.read is None:  # generated data: ask the datasets themselves
        val = build_dataset(source, "val", input_size)
        train = build_dataset(source, "train", input_size)
        info: DataInfo = val.info
        return DataSummary(
            source.source,
            source.source,
            tuple(info.class_names),
            {"train": len(train), "val": len(val)},
            target_keys=info.target_keys,
            image_size=int(info.image_size),
        )
    from workbench.data.real_dataset import choose_split, read_cached, target_keys

    data = read_cached(spec.name, spec.read, source.path, options)
    splits = {}
    counts: Counter = Counter()
    for split in ("train", "val"):
        records = choose_split(data, split, options.val_fraction, options.split_seed)
        if options.max_images:
            records = records[: options.max_images]
        splits[split] = len(records)
    for split in data.splits:
        counts.update(data.summary(split).per_class)
    return DataSummary(
        source.source,
        data.format,
        tuple(data.class_names),
        splits,
        {name: int(counts.get(name, 0)) for name in data.class_names},
        target_keys(data),
        tuple(data.tasks),
        tuple(_relative(line, data.path) for line in data.report.lines()),
        int(options.image_size),
    )


def _relative(line: str, path: Any) -> str:
    """A report line with the data set's own folder left out of file names (shorter to
    read); a line about the folder itself names it by its last part, as the others do."""
    from pathlib import Path

    root = Path(path)
    root = root if root.is_dir() else root.parent
    if line.startswith((f"{root}, ", f"{root}: ")):
        line = root.name + line[len(str(root)) :]
    return line.replace(f"{root}/", "")
