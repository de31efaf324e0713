"""Which task an error inside a task's loss or metrics came from.

A task kind's ``loss`` or metric update that fails (an extension whose head returns the
wrong shape, a bug in a new kind) raised torch's own words, such as "IndexError: Target 1
is out of bounds", naming neither the task nor its output. ``in_task`` leaves the
exception as it is (its type still decides how it is handled: out of memory stays out of
memory) and records where it happened on it; ``describe_error`` puts that place first.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import Any

ATTRIBUTE = "workbench_task_context"


def output_shape(output: Any) -> str:
    """A head output's shape in words: "(16, 1)", or "{heatmap (16, 4, 32, 32), ...}"."""
    if hasattr(output, "shape"):
        return "(" + ", ".join(str(int(n)) for n in output.shape) + ")"
    if isinstance(output, dict):
        return "{" + ", ".join(f"{key} {output_shape(value)}" for key, value in output.items()) + "}"
    return type(output).__name__


@contextlib.contextmanager
def in_task(task: Any, output: Any, what: str) -> Iterator[None]:
    """Record on an ``Exception`` raised inside (not on KeyboardInterrupt) that it came from
    ``task``'s ``what`` ("loss", "metrics") on ``output``; an inner record is kept."""
    try:
        yield
    except Exception as exc:
        if getattr(exc, ATTRIBUTE, None) is None:
            with contextlib.suppress(AttributeError):  # a type without __dict__ keeps its words
                setattr(
                    exc,
                    ATTRIBUTE,
                    f"task {task.name!r} ({task.kind}): its {what} on the head's output "
                    f"{output_shape(output)} failed",
                )
        raise


def task_context(exc: BaseException) -> str:
    """Where ``in_task`` saw ``exc`` ("" when it did not)."""
    return getattr(exc, ATTRIBUTE, None) or ""
