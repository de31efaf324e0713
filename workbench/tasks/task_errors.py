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
                on = "" if output is None else f" on the head's output {output_shape(output)}"
                setattr(exc, ATTRIBUTE, f"task {task.name!r} ({task.kind}): its {what}{on} failed")
        raise


def task_context(exc: BaseException) -> str:
    """Where ``in_task`` saw ``exc`` ("" when it did not)."""
    return getattr(exc, ATTRIBUTE, None) or ""


def check_loss(loss: Any, count: int) -> None:
    """Raise TypeError (inside ``in_task``, which names the task) when a task kind's loss is
    not a 0-d tensor, or is cut off from the graph while it has labelled samples: a Python
    float failed in torch's words, and a detached loss trained nothing without a word."""
    import torch

    if not isinstance(loss, torch.Tensor) or loss.dim() != 0:
        got = f"shape {output_shape(loss)}" if isinstance(loss, torch.Tensor) else type(loss).__name__
        raise TypeError(f"a loss must be a 0-d tensor (the batch mean), got {got}")
    if count > 0 and torch.is_grad_enabled() and not loss.requires_grad:
        raise TypeError("the loss is detached from the head's output: nothing would be learned")


class WeightingError(ValueError):
    """A weighting method's mistake (an extension's), named with the method."""


WEIGHTING_ATTRIBUTE = "workbench_weighting_context"


@contextlib.contextmanager
def in_weighting(method: str) -> Iterator[None]:
    """Record on an ``Exception`` raised inside a weighting's backward that it came from
    ``method`` (a KeyError 'cnt' said nothing of which method)."""
    try:
        yield
    except Exception as exc:
        if getattr(exc, ATTRIBUTE, None) is None:
            with contextlib.suppress(AttributeError):
                setattr(exc, ATTRIBUTE, f"weighting {method!r} failed")
        raise


def check_weights(weights: Any, tasks: list[str], known: list[str] | None = None) -> dict[str, float]:
    """The task weights a weighting's backward returned, as {task: float}; WeightingError
    for anything else (a list, a weight missing for one of ``tasks``, the tasks labelled in
    the batch, a weight for a task not among ``known``, the run's tasks, or a weight that
    is no number). A weight for an unknown name was a typo that left the real task at no
    weight in the logs and curves, without a word."""
    if not isinstance(weights, dict):
        raise WeightingError(
            f"its task weights must be a dict {{task: weight}}, got {type(weights).__name__}"
        )
    missing = [t for t in tasks if t not in weights]
    if missing:
        raise WeightingError(f"its task weights have no weight for task {missing[0]!r}")
    unknown = [str(t) for t in weights if known is not None and t not in known]
    if unknown:
        raise WeightingError(
            f"its task weights name {unknown[0]!r}, which is not a task of this run "
            f"(tasks: {', '.join(known or [])})"
        )
    out = {}
    for task, value in weights.items():
        try:
            out[task] = float(value.detach() if hasattr(value, "detach") else value)
        except (TypeError, ValueError, RuntimeError):
            shape = f" {output_shape(value)}" if hasattr(value, "shape") else ""
            raise WeightingError(
                f"its weight for task {task!r} is not a number: {type(value).__name__}{shape}"
            ) from None
    return out


def check_metric_values(values: Any, expected: tuple[str, ...] | None = None) -> dict[str, float | None]:
    """A task kind's ``compute()`` result: {metric: float or None}; TypeError (inside
    ``in_task``) for anything else (numpy failed on a string in its own words), and for a
    result without one of ``expected`` (the kind's ``metric_names``): a metric left out
    vanished from the curves and the summary (None says "undefined")."""
    if not isinstance(values, dict):
        raise TypeError(
            f"compute() must return a dict {{metric: float or None}}, got {type(values).__name__}"
        )
    missing = [name for name in expected or () if name not in values]
    if missing:
        raise TypeError(
            f"compute() left out metric {missing[0]!r} of its metric_names ({', '.join(expected or ())}); "
            "give None where it is undefined"
        )
    out: dict[str, float | None] = {}
    for key, value in values.items():
        if value is None:
            out[key] = None
            continue
        try:
            out[key] = float(value)
        except (TypeError, ValueError, RuntimeError):
            raise TypeError(f"metric {key!r} must be a number or None, got {type(value).__name__}") from None
    return out
