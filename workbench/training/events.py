"""Typed events the trainer emits. Plain numbers, strings and numpy arrays only.

Subscribers are callables taking one event. The GUI's worker bridge re-emits them as
queued Qt signals; the CLI draws a progress bar from them; the run store logs them.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np


@dataclass(frozen=True)
class RunStarted:
    run_dir: str
    config: dict[str, Any]  # ExperimentConfig as a plain dict
    params: dict[str, Any]  # parameter counts (see MultiTaskNet.param_counts)
    device: str
    task_names: tuple[str, ...]
    steps_per_epoch: int
    epochs: int
    start_epoch: int = 0
    start_step: int = 0  # global step the run (re)starts from
    # On resume: config fields changed since the checkpoint that a resume allows, as
    # "train.epochs: 9 -> 12"; and a note such as "restarted from the beginning".
    changes: tuple[str, ...] = ()
    note: str = ""


def rate_text(images_per_s: float) -> str:
    """Training speed as the CLI's bar and the app show it: "1,234 img/s", "3.4 img/s",
    "0.12 img/s" (two significant digits below 1: a ResNet at 256 px on a loaded CPU ran
    at 0.12 img/s and was shown as "0 img/s")."""
    rate = float(images_per_s)
    if rate >= 10:
        return f"{rate:,.0f} img/s"
    if rate >= 1:
        return f"{rate:.1f} img/s"
    return f"{rate:.2g} img/s"


@dataclass(frozen=True)
class StepEnded:
    epoch: int  # 0-based
    step: int  # step within the epoch, 0-based
    global_step: int  # 1-based count of optimiser steps so far
    steps_per_epoch: int
    losses: dict[str, float | None]  # raw per-task training loss (None: no image of the batch labels it)
    weights: dict[str, float | None]  # weight the method gave each task (None: not in the batch)
    total_loss: float  # weighted_loss + regulariser: what was backpropagated
    lr: float
    images_per_s: float
    eta_s: float  # seconds left for the whole run
    weighted_loss: float = 0.0  # sum of weight_i * loss_i
    regulariser: float = 0.0  # the method's extra term (uncertainty: 0.5 * sum s_i; may be < 0)
    elapsed_s: float = 0.0  # training wall seconds since the run started, across resumes
    # task conflict measured at this step (ConflictSample.as_dict()), None on other steps
    conflict: dict[str, Any] | None = None


@dataclass(frozen=True)
class EpochEnded:
    epoch: int
    global_step: int
    train_losses: dict[str, float]  # epoch mean per task
    val_losses: dict[str, float | None]  # None: no validation image has the task's target
    # task -> metric -> value; None where the metric is undefined on this validation set
    # (e.g. mAP when no image has an object), never NaN.
    val_metrics: dict[str, dict[str, float | None]]
    is_best: bool
    seconds: float
    elapsed_s: float = 0.0  # training wall seconds since the run started, across resumes
    best_epoch: int = -1  # 0-based best epoch so far (by the monitored metric)
    # task -> {"train": samples labelled for it this epoch, "val": validation images
    # labelled for it}; with partial labels these differ per task ({}: not recorded)
    labelled: dict[str, dict[str, int]] = field(default_factory=dict)
    # problems in the data first met in this epoch (masks read as their images are fitted:
    # values of no class, ...): one line, "" when none; import_report.txt lists them
    data_note: str = ""
    data_problems: int = 0  # how many problems data_note counts
    data_note_short: str = ""  # the same with the example's file name alone (a status bar)


@dataclass(frozen=True)
class SamplesReady:
    """A fixed set of validation images with targets and predictions.

    ``images`` is uint8 (N, H, W, 3). ``targets`` / ``predictions`` map a task name to a
    list (one item per image) of dicts of numpy arrays, as the task kind's ``decode`` makes.
    """

    epoch: int
    images: np.ndarray
    targets: dict[str, list[dict[str, np.ndarray]]]
    predictions: dict[str, list[dict[str, np.ndarray]]]


@dataclass(frozen=True)
class RunFinished:
    summary: dict[str, Any]


@dataclass(frozen=True)
class RunStopped:
    summary: dict[str, Any]
    reason: str = "stopped by user"


@dataclass(frozen=True)
class RunFailed:
    error: str  # one line: what went wrong, naming the task/file where known
    origin: str  # where: traceback text
    summary: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Paused:
    global_step: int


@dataclass(frozen=True)
class Resumed:
    global_step: int


Event = (
    RunStarted
    | StepEnded
    | EpochEnded
    | SamplesReady
    | RunFinished
    | RunStopped
    | RunFailed
    | Paused
    | Resumed
)
