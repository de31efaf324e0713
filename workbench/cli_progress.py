"""A terminal progress bar fed by trainer events (per-task losses, ETA, images/s)."""

from __future__ import annotations

import sys
from typing import Any

from tqdm import tqdm

from workbench.training.events import EpochEnded, RunFailed, RunStarted, StepEnded, rate_text
from workbench.training.outcome import unlabelled_note


class ProgressPrinter:
    """``enabled``: the bar and the epoch lines (off with --quiet). ``notes``: the run's
    notes as it starts ("weights_file is set but not loaded", "the data changed"), said
    with --quiet too: --quiet drops the progress, not the warnings."""

    def __init__(self, enabled: bool = True, notes: bool = True) -> None:
        self.enabled = enabled
        self.notes = notes
        self.bar: tqdm | None = None
        self._unlabelled_said: set[str] = set()

    def __call__(self, event: Any) -> None:
        if not self.enabled:  # --quiet drops the progress only: the notes are still said
            if self.notes and isinstance(event, RunStarted) and event.note:
                print(f"note: {event.note}", file=sys.stderr)
            elif self.notes and isinstance(event, EpochEnded):
                for note in (self._unlabelled_note(event), event.data_note):
                    if note:
                        print(note, file=sys.stderr)
            return
        if isinstance(event, RunStarted):
            print(
                f"run {event.run_dir} on {event.device}; "
                f"params: {event.params['total']:,} (independent nets: {event.params['independent']:,})",
                file=sys.stderr,
            )
            if event.note:
                print(f"note: {event.note}", file=sys.stderr)
            self.bar = tqdm(
                total=event.epochs * event.steps_per_epoch,
                initial=event.start_step,
                unit="step",
                dynamic_ncols=True,
                file=sys.stderr,
                mininterval=0.5,
            )
        elif isinstance(event, StepEnded) and self.bar is not None:
            losses = " ".join(f"{k} {'—' if v is None else _number(v)}" for k, v in event.losses.items())
            # the words first, then the count: update() draws the bar, and drawn before them
            # it showed "epoch 1: 62% 5/8" for epoch 2's first step
            self.bar.set_description(f"epoch {event.epoch + 1}", refresh=False)
            self.bar.set_postfix_str(f"{losses} | {rate_text(event.images_per_s)}", refresh=False)
            self.bar.update(event.global_step - self.bar.n)
        elif isinstance(event, EpochEnded):
            parts = []
            for task, metrics in event.val_metrics.items():
                parts.append(f"{task} " + " ".join(f"{k}={_metric(v)}" for k, v in metrics.items()))
            lines = [f"epoch {event.epoch + 1} ({event.seconds:.0f}s): " + "; ".join(parts)]
            if note := self._unlabelled_note(event):
                lines.append(note)
            if event.data_note:
                lines.append(event.data_note)
            # one write: tqdm clears and redraws its bar around each write, and where stderr
            # is not a terminal every redraw stays in the text between the lines
            if self.bar is not None:
                self.bar.write("\n".join(lines), file=sys.stderr)
            else:
                print("\n".join(lines), file=sys.stderr)
        elif isinstance(event, RunFailed):
            self.close()

    def _unlabelled_note(self, event: Any) -> str:
        """The note on tasks no validation image labels, once per task ("" otherwise):
        every later epoch is the same."""
        unlabelled = [
            t
            for t, n in (event.labelled or {}).items()
            if not n.get("val") and t not in self._unlabelled_said
        ]
        if not unlabelled:
            return ""
        self._unlabelled_said.update(unlabelled)
        return f"note: {unlabelled_note(unlabelled)}"

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()
            self.bar = None


def _number(value: float) -> str:
    """Three decimals, never "-0.000" (a zero loss of a batch without the task's labels)."""
    return f"{round(float(value), 3) + 0.0:.3f}"


def _metric(value: Any) -> str:
    return "undefined" if value is None else _number(value)
