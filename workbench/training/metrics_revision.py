"""Which rules measured a run's numbers.

A run's losses and metrics are only comparable with another's when both were measured the
same way. Fixes to a metric or a loss change the numbers a run reports for the same
weights (detection's validation loss became a mean per image; mAP took pycocotools' own
thresholds), so each run records the revision of the measuring rules in effect when it
trained: ``summary.json``'s ``metrics_revision`` (absent: revision 0, a run from before
revisions were recorded). A resume across a change records where it happened
(``revision_changes``) and says so; ``eval`` says when today's rules differ from the
run's; Compare shows a "Metrics revision" column when the compared runs differ; baselines
are reused only when measured by today's rules.

Raise ``METRICS_REVISION`` with every change that moves a reported loss or metric for the
same weights and data, and add a line to ``REVISIONS``.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

METRICS_REVISION = 1

# revision -> what it changed (said where runs of two revisions meet)
REVISIONS: dict[int, str] = {
    0: (
        "a run from before revisions were recorded (before 2026-12-03); among the changes since: "
        "detection's validation loss a mean per image (2026-12-01), mAP with pycocotools' float64 "
        "thresholds and 100 boxes per image, counts rounding halves up (2026-12-02)"
    ),
    1: (
        "2026-12-03: the localization target of an annotated set is the largest object of the "
        "annotated image (it was chosen after fitting)"
    ),
}


def run_revision(summary: Mapping[str, Any] | None) -> int:
    """The metrics revision a run's ``summary.json`` records: 0 when it records none (or
    a value that is not a non-negative int)."""
    value = (summary or {}).get("metrics_revision")
    return value if type(value) is int and value >= 0 else 0


def revision_text(revision: int) -> str:
    """ "metrics revision 0 (a run from before …)"; a revision newer than this workbench
    knows is said as such."""
    what = REVISIONS.get(revision)
    if what is None:
        return f"metrics revision {revision} (newer than this workbench's {METRICS_REVISION})"
    return f"metrics revision {revision} ({what})"


def resume_note(previous: int, epochs_done: int) -> str:
    """The note of a resume that measures by revision ``METRICS_REVISION`` a run whose first
    ``epochs_done`` epochs were measured by ``previous``."""
    return (
        f"epochs 1-{epochs_done} were measured by {revision_text(previous)}; from epoch "
        f"{epochs_done + 1} on, by metrics revision {METRICS_REVISION}: its validation curves may "
        "change at that epoch for the same weights (workbench eval measures its checkpoints by "
        "today's rules)"
    )


def eval_note(revision: int) -> str:
    """The note of an ``eval`` of a run measured by another revision ("" for today's)."""
    if revision == METRICS_REVISION:
        return ""
    return (
        f"the run was measured by {revision_text(revision)}; these numbers are by metrics "
        f"revision {METRICS_REVISION} and may differ from its log for the same weights"
    )
