"""The typed state of a training run: where it is (``Position``) and what it has learned
so far (``TrainingState``). Checkpoints hold them as plain dicts (``as_dict``), in the
same keys as before these types existed, so every earlier checkpoint still resumes."""

from __future__ import annotations

import copy
import dataclasses
from dataclasses import dataclass, field
from typing import Any

Metrics = dict[str, dict[str, float | None]]  # task -> metric -> value (None: undefined)


@dataclass
class Position:
    """Epochs done, steps done in the current epoch, steps done in all (0-based counts)."""

    epoch: int = 0
    step: int = 0
    global_step: int = 0

    def as_dict(self) -> dict[str, int]:
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Position:
        return cls(int(data["epoch"]), int(data["step"]), int(data["global_step"]))


@dataclass
class TrainingState:
    """What a resume needs besides the weights.

    ``best_value``/``best_epoch``/``bad_epochs``/``best_metrics``: the monitored metric's
    best so far (epoch 0-based, -1 none) and the epochs since; ``final_metrics``: the last
    validation; ``epoch_sums``: per-task sums of the step losses of this epoch over the
    ``epoch_steps`` steps that labelled the task, ``epoch_samples`` its labelled samples,
    ``epoch_count`` all steps of the epoch; ``elapsed``: training seconds across resumes;
    ``epoch_record``: the last epoch's log line, kept with the commit (see ``Trainer._repair``);
    ``conflict``: the task-conflict measurements so far (``ConflictTally.as_dict``).
    """

    best_value: float | None = None
    best_epoch: int = -1
    bad_epochs: int = 0
    best_metrics: Metrics = field(default_factory=dict)
    final_metrics: Metrics = field(default_factory=dict)
    epoch_sums: dict[str, float] = field(default_factory=dict)
    epoch_count: int = 0
    epoch_steps: dict[str, int] = field(default_factory=dict)
    epoch_samples: dict[str, int] = field(default_factory=dict)
    elapsed: float = 0.0
    epoch_record: dict[str, Any] | None = None
    conflict: dict[str, Any] = field(default_factory=dict)  # ConflictTally.as_dict()

    def as_dict(self) -> dict[str, Any]:
        data = copy.deepcopy(dataclasses.asdict(self))
        if data["epoch_record"] is None:
            del data["epoch_record"]
        return data

    @classmethod
    def from_dict(cls, data: dict[str, Any], task_names: list[str], batch_size: int) -> TrainingState:
        """A checkpoint's state. One from before partial labels has no per-task step
        counts: every step labelled every task then."""
        known = {f.name for f in dataclasses.fields(cls)}
        state = cls(**copy.deepcopy({k: v for k, v in data.items() if k in known}))
        if "epoch_steps" not in data:
            state.epoch_steps = {n: state.epoch_count for n in task_names}
            state.epoch_samples = {n: state.epoch_count * batch_size for n in task_names}
        return state

    def start_epoch(self, task_names: list[str]) -> None:
        self.epoch_sums = {n: 0.0 for n in task_names}
        self.epoch_count = 0
        self.epoch_steps = {n: 0 for n in task_names}
        self.epoch_samples = {n: 0 for n in task_names}

    def add_step(self, losses: dict[str, float], labelled: dict[str, int]) -> None:
        """One training step: ``losses`` per task, ``labelled`` samples per task (0: the
        task was not in the batch and its loss does not count)."""
        for name, value in losses.items():
            if labelled.get(name, 0) > 0:
                self.epoch_sums[name] += value
                self.epoch_steps[name] += 1
                self.epoch_samples[name] += labelled[name]
        self.epoch_count += 1

    def train_losses(self) -> dict[str, float]:
        """The epoch's mean training loss per task (over the steps that labelled it)."""
        return {n: s / max(1, self.epoch_steps.get(n, 0)) for n, s in self.epoch_sums.items()}

    def record_validation(
        self, metrics: Metrics, epoch: int, value: float | None, higher_is_better: bool
    ) -> bool:
        """Update the best with the monitored ``value`` of ``epoch``; whether it is the best.

        An undefined value (None) is never better than a defined one; before any defined
        value, the latest epoch counts as best so that a best checkpoint always exists."""
        best = self.best_value
        if value is None:
            better = best is None
        else:
            better = best is None or (value > best if higher_is_better else value < best)
        if better:
            self.best_value, self.best_epoch, self.bad_epochs, self.best_metrics = value, epoch, 0, metrics
        else:
            self.bad_epochs += 1
        self.final_metrics = metrics
        return better
