"""The training bar: Start / Pause-Resume / Stop, progress by epoch and step, ETA and speed.

The buttons are views of the main window's actions (the same actions sit in the Run menu
with their shortcuts), so enabling an action enables its button. Step events can arrive
hundreds of times a second; the bar keeps the latest one and redraws once a
second (only what changed: a progress bar repaints synchronously on every new value).
"""

from __future__ import annotations

import math
from typing import Any

from PySide6.QtCore import Qt, QTimer
from PySide6.QtGui import QAction
from PySide6.QtWidgets import QHBoxLayout, QLabel, QProgressBar, QSizePolicy, QToolButton, QWidget

from workbench.training.events import rate_text  # Qt-free, torch-free

REFRESH_MS = 1000  # each refresh repaints the bar at once (~1-2 ms with the stylesheet): 1 Hz, like the ETA


def format_duration(seconds: float) -> str:
    """``h:mm:ss`` (``--:--:--`` when unknown)."""
    if seconds is None or not math.isfinite(seconds) or seconds < 0:
        return "--:--:--"
    total = int(round(seconds))
    hours, rest = divmod(total, 3600)
    minutes, secs = divmod(rest, 60)
    return f"{hours}:{minutes:02d}:{secs:02d}"


def progress_text(epoch: int, epochs: int, step: int, steps_per_epoch: int) -> str:
    """``epoch e/E · step s/S`` with 1-based ``e`` and ``s``."""
    return f"epoch {epoch}/{epochs} · step {step}/{steps_per_epoch}"


class TrainingBar(QWidget):
    """Run buttons plus a progress bar, ETA and images/s.

    Args:
        start_action, pause_action, stop_action: the window's run actions.
    """

    def __init__(
        self,
        start_action: QAction,
        pause_action: QAction,
        stop_action: QAction,
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self.setObjectName("TrainingBar")
        layout = QHBoxLayout(self)
        layout.setContentsMargins(4, 2, 4, 2)
        layout.setSpacing(6)
        self.buttons: dict[str, QToolButton] = {}
        for key, action in (("start", start_action), ("pause", pause_action), ("stop", stop_action)):
            button = QToolButton(self)
            button.setDefaultAction(action)
            button.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextBesideIcon)
            button.setObjectName(f"{key}Button")
            layout.addWidget(button)
            self.buttons[key] = button

        self.progress = QProgressBar(self)
        self.progress.setObjectName("runProgress")
        self.progress.setMinimumWidth(260)
        self.progress.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Fixed)
        self.progress.setTextVisible(True)
        layout.addWidget(self.progress, 1)

        self.eta_label = QLabel(self)
        self.eta_label.setObjectName("etaLabel")
        self.eta_label.setToolTip("Estimated time left for the whole run")
        self.speed_label = QLabel(self)
        self.speed_label.setObjectName("speedLabel")
        self.speed_label.setToolTip("Training throughput (moving average)")
        metrics = self.fontMetrics()
        self.eta_label.setMinimumWidth(metrics.horizontalAdvance("ETA 00:00:00") + 12)
        self.speed_label.setMinimumWidth(metrics.horizontalAdvance("00,000 img/s") + 12)
        for label in (self.eta_label, self.speed_label):
            label.setAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
            label.setTextInteractionFlags(Qt.TextInteractionFlag.NoTextInteraction)
            layout.addWidget(label)

        self._epochs = 0
        self._steps_per_epoch = 0
        self._pending: Any = None
        self._timer = QTimer(self)
        self._timer.setInterval(REFRESH_MS)
        self._timer.timeout.connect(self._flush)
        self.reset()

    # ------------------------------------------------------------------ public
    def reset(self, message: str = "No run") -> None:
        """Back to the idle look."""
        self._timer.stop()
        self._pending = None
        self._sticky = None
        self._paused = False
        self.progress.setRange(0, 1)
        self.progress.setValue(0)
        self.progress.setFormat(message)
        self.eta_label.setText("ETA --:--:--")
        self.speed_label.setText("– img/s")

    def on_run_started(self, event: Any) -> None:
        self._epochs = max(1, int(event.epochs))
        self._steps_per_epoch = max(1, int(event.steps_per_epoch))
        self.progress.setRange(0, self._epochs * self._steps_per_epoch)
        self.progress.setValue(int(event.start_step))
        epoch = min(self._epochs, int(event.start_epoch) + 1)
        step = int(event.start_step) - int(event.start_epoch) * self._steps_per_epoch
        self._sticky = None
        self._paused = False
        self.progress.setFormat(progress_text(epoch, self._epochs, max(0, step), self._steps_per_epoch))
        self.eta_label.setText("ETA --:--:--")
        self.speed_label.setText("– img/s")
        self._timer.start()

    def on_step(self, event: Any) -> None:
        """Keep the latest step; the timer draws it."""
        self._pending = event
        if not self._timer.isActive():
            self._timer.start()

    def on_epoch(self, event: Any) -> None:
        """Draw the epoch as complete (drops the "validating" note)."""
        self._flush()
        steps = self._steps_per_epoch or 1
        self.progress.setValue(min(self.progress.maximum(), int(event.global_step)))
        if self._sticky is None:
            self.progress.setFormat(progress_text(int(event.epoch) + 1, self._epochs or 1, steps, steps))

    def set_message(self, message: str, sticky: bool = False) -> None:
        """Replace the text on the progress bar (e.g. "stopping…"), keeping the value.

        ``sticky``: steps still arriving (already on their way) do not replace it; the next
        run, ``clear_message`` or ``finish`` does.
        """
        self._flush()
        self._sticky = message if sticky else None
        self._paused = False
        self.progress.setFormat(message)

    def clear_message(self) -> None:
        """Back to showing epoch and step (after a resume)."""
        self._sticky = None
        self._paused = False

    def stop_updates(self) -> None:
        """Draw the last step and stop the refresh timer (run ended)."""
        self._flush()
        self._timer.stop()

    def finish(self, message: str | None = None) -> None:
        """The run ended: no more updates, no estimate or speed left from it (``message`` on the bar)."""
        self._pending = None  # a late step must not bring the old ETA back
        self._timer.stop()
        self._sticky = None
        self._paused = False
        if message is not None:
            self.progress.setFormat(message.replace("%", "%%"))
        self.eta_label.setText("ETA --:--:--")
        self.speed_label.setText("– img/s")

    def on_paused(self, message: str) -> None:
        """Paused: the message on the bar; the estimate waits (time paused is not counted)."""
        self.set_message(message, sticky=True)
        self._paused = True
        self.eta_label.setText("ETA paused")
        self.speed_label.setText("– img/s")

    @property
    def text(self) -> str:
        """The progress bar's current text (for tests and the status bar)."""
        return self.progress.text()

    # ------------------------------------------------------------------ drawing
    def _flush(self) -> None:
        event, self._pending = self._pending, None
        if event is None:
            return
        steps = max(1, int(event.steps_per_epoch) or self._steps_per_epoch)
        if self.progress.maximum() <= 1 and self._epochs:
            self.progress.setRange(0, self._epochs * steps)
        text = progress_text(
            int(event.epoch) + 1, self._epochs or int(event.epoch) + 1, int(event.step) + 1, steps
        )
        if int(event.step) + 1 >= steps:
            text += " · validating"
        text = text.replace("%", "%%") if self._sticky is None else self._sticky
        if self.progress.format() != text:
            self.progress.setFormat(text)
        value = min(self.progress.maximum(), int(event.global_step))
        if self.progress.value() != value:
            # QProgressBar.setValue repaints synchronously (2-3 ms with the stylesheet, and
            # again for the new text): set it with updates off, then paint once, later.
            self.progress.setUpdatesEnabled(False)
            self.progress.setValue(value)
            self.progress.setUpdatesEnabled(True)
            self.progress.update()
        eta = "ETA paused" if self._paused else f"ETA {format_duration(float(event.eta_s))}"
        if self.eta_label.text() != eta:
            self.eta_label.setText(eta)
        speed = rate_text(event.images_per_s)
        if self.speed_label.text() != speed:
            self.speed_label.setText(speed)
