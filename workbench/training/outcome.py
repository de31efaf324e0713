"""What a run's summary says about its result, for sweeps, baselines and Δm.

A run ended by its time limit (``train.time_limit_s``) before its last epoch is
``stopped`` with ``stop_reason = "time_limit"``: on its own, ``resume`` continues it. For a
sweep or a set of baselines the limit is the budget every run gets, so such a run is done:
its last validated epoch is its result, and it is not resumed (that would give it a second
budget). A run stopped by its limit before it validated an epoch has no result.
"""

from __future__ import annotations

from typing import Any


def budget_spent(summary: dict[str, Any]) -> bool:
    """Whether the run was stopped by its time limit (``stop_reason`` in summary.json)."""
    return summary.get("status") == "stopped" and summary.get("stop_reason") == "time_limit"


def has_result(summary: dict[str, Any]) -> bool:
    """Whether the run has final metrics that a comparison may use: it finished, or it
    spent its time budget after validating at least one epoch."""
    if summary.get("status") == "finished":
        return True
    return budget_spent(summary) and bool(summary.get("final_metrics"))


def no_result_reason(summary: dict[str, Any]) -> str:
    """Why a run that is done for a sweep has no result ("" when it has one)."""
    if has_result(summary):
        return ""
    if budget_spent(summary):
        return "its time limit was reached before the first validation; raise train.time_limit_s"
    if summary.get("not_started") and summary.get("status") == "stopped":
        return "it was stopped while reading its data; run the command again to continue"
    if summary.get("not_started"):  # a resume refused: the file may still say "running"
        return f"it could not be resumed: {summary.get('error') or 'its error is above'}"
    return f"it is {summary.get('status') or 'not started'}"


def fresh_start_hint(summary: dict[str, Any], folder: Any) -> str:
    """What to do about a run whose resume was refused for good (an unreadable checkpoint,
    a changed config): "" for refusals that pass (another process training it)."""
    if not summary.get("refusal_lasts"):
        return ""
    return f"; to train it again from the start, delete or move {folder} and run the command again"


def unlabelled_note(tasks: list[str]) -> str:
    """What a validation set that labels none of its images for ``tasks`` means for the run."""
    names = ", ".join(repr(t) for t in tasks)
    if len(tasks) == 1:
        return (
            f"no validation image labels task {names}: its validation loss and metrics are undefined, and "
            "when the best epoch is picked by one of them, best.pt follows the latest epoch"
        )
    return (
        f"no validation image labels tasks {names}: their validation losses and metrics are undefined, and "
        "when the best epoch is picked by one of them, best.pt follows the latest epoch"
    )
