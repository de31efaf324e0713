"""What an importer found wrong in a data set: one line per problem, naming file and place."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

# What the importer did about a problem.
SKIPPED = "skipped"  # the annotation (or line) is left out
CLIPPED = "clipped"  # kept, cut to the image
DROPPED = "dropped"  # left out because nothing usable remained (zero area)
REFUSED = "refused"  # the whole file is left out
NOTED = "noted"  # nothing left out, but probably not what was meant
DOUBLED_KEY = "is given again: this later value is used"  # a key written twice (a data.yaml's)


def one_line(text: str) -> str:
    """``text`` with line breaks shown as \\n, so a name from a file cannot start a new line."""
    return text.replace("\r", "\\r").replace("\n", "\\n")


@dataclass(frozen=True)
class Problem:
    """``file``: the file at fault; ``where``: "line 3", "annotation 17" or ""; ``message``:
    what is wrong; ``action``: one of SKIPPED, CLIPPED, DROPPED, REFUSED, NOTED."""

    file: str
    where: str
    message: str
    action: str

    def __str__(self) -> str:
        place = f"{self.file}, {self.where}" if self.where else self.file
        return one_line(f"{place}: {self.message} ({self.action})")


@dataclass
class ImportReport:
    """Problems in the order they were found."""

    problems: list[Problem] = field(default_factory=list)
    _seen: set[Problem] = field(default_factory=set, repr=False, compare=False)
    _skipped: Counter = field(default_factory=Counter, repr=False, compare=False)
    _first: dict[str, str] = field(default_factory=dict, repr=False, compare=False)

    def add(self, file: object, where: str, message: str, action: str) -> None:
        """Record a problem; the same problem found again (a file read for two splits) is
        recorded once."""
        problem = Problem(str(file), where, message, action)
        if problem not in self._seen:
            self._seen.add(problem)
            self.problems.append(problem)
            if action == SKIPPED and where:  # a line or object within the file, not the file
                self._skipped[problem.file] += 1
                self._first.setdefault(problem.file, f"{where}: {message}")

    def first_skipped(self, file: object) -> str:
        """The first place in ``file`` left out as unreadable, "line 3: ..." ("" if none)."""
        return self._first.get(str(file), "")

    def skipped_in(self, file: object) -> int:
        """How many places in ``file`` (lines, objects, annotations) were left out as
        unreadable (SKIPPED problems with a ``where``)."""
        return self._skipped.get(str(file), 0)

    def by_action(self) -> dict[str, int]:
        return dict(Counter(p.action for p in self.problems))

    def lines(self) -> list[str]:
        return [str(p) for p in self.problems]


# How far (pixels) a coordinate may pass the image's edge and still count as on it: the
# rounding of annotation tools. A YOLO line's 6 decimals put a box drawn to the edge of a
# 48 px image up to 0.00002 px outside, and 111 of 3,000 such boxes were reported clipped.
ROUNDING_PX = 0.5


def beyond_rounding(moved_px: float) -> bool:
    """Whether cutting a coordinate to the image moved it by more than rounding explains."""
    return moved_px > ROUNDING_PX


def clip_box(
    box: list[float], width: int, height: int, report: ImportReport, file: object, where: str
) -> list[float] | None:
    """``box`` (x1, y1, x2, y2 pixels) cut to a ``width`` x ``height`` image (reported as
    clipped when it passed the edge by more than ``ROUNDING_PX``), None when nothing of it
    is inside (reported as dropped); unchanged when the size is unknown (0)."""
    if not (width and height):
        return box
    clipped = [min(max(v, 0.0), limit) for v, limit in zip(box, (width, height, width, height), strict=True)]
    if clipped == box:
        return box
    if clipped[2] <= clipped[0] or clipped[3] <= clipped[1]:
        report.add(file, where, "box entirely outside the image", DROPPED)
        return None
    if beyond_rounding(max(abs(a - b) for a, b in zip(clipped, box, strict=True))):
        report.add(file, where, "box outside the image", CLIPPED)
    return clipped


def objects_unknown(report: ImportReport, file: object, image: object, lost: int, example: str = "") -> None:
    """Say that ``image`` is left out because ``lost`` of its objects could not be read
    (``example``: the first, "line 3: ...", else the file's first such place): what it
    holds is unknown, and kept it would teach "no object here" where one is (a count too
    low, a mask of background over the object)."""
    example = example or report.first_skipped(file)
    report.add(
        file,
        "",
        f"{lost} object(s) of {getattr(image, 'name', image)} could not be read"
        + (f" ({example}{', ...' if lost > 1 else ''})" if example else "")
        + ", so what the image holds is unknown: left out",
        SKIPPED,
    )


def with_doubled_keys(message: str, report: ImportReport) -> str:
    """A refusal with the first key the set's files give twice: the value kept (the later
    one) may be its cause ("nc = 2 but 'names' has 4 entries" after two ``nc:``, an empty
    val split after a second ``val:``)."""
    doubled = [p for p in report.problems if p.message.endswith(DOUBLED_KEY)]
    if not doubled or "is given again" in message:
        return message
    first = doubled[0]
    more = f" (and {len(doubled) - 1} more)" if len(doubled) > 1 else ""
    where = f"{Path(first.file).name} {first.where}".strip()
    return f"{message} (note: {where}: {first.message}{more})"
