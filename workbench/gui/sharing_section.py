"""The setup's parameter-sharing section: the sharing-depth slider, the architecture
diagram and its parameter counts (built off the GUI thread, on the meta device)."""

from __future__ import annotations

import functools
from typing import Any

from PySide6.QtCore import Qt, QTimer, Signal
from PySide6.QtWidgets import QHBoxLayout, QLabel, QSlider, QVBoxLayout, QWidget

from workbench.gui.architecture_view import ArchitectureView
from workbench.gui.setup_bindings import _hint
from workbench.gui.setup_jobs import LatestJob, compute_counts, count_key, counts_at
from workbench.gui.setup_widgets import guard_wheel


def depth_text(depth: int, stages: int) -> str:
    """What a sharing depth means, in words."""
    if depth == 0:
        return f"depth 0 of {stages}: independent networks, nothing shared"
    if depth == stages:
        return f"depth {depth} of {stages}: all stages shared (hard sharing), one head per task"
    shared = "stage 1" if depth == 1 else f"stages 1–{depth}"
    copied = f"stage {stages}" if depth + 1 == stages else f"stages {depth + 1}–{stages}"
    return f"depth {depth} of {stages}: {shared} shared, {copied} copied per task"


class SharingSection(QWidget):
    """``model.sharing_depth`` and what it builds."""

    depthMoved = Signal()
    countsArrived = Signal()  # new counts (and backbone structure) are known

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.depth_slider = QSlider(Qt.Orientation.Horizontal)
        self.depth_slider.setAccessibleName("Sharing depth")
        self.depth_slider.setRange(0, 4)
        self.depth_slider.setPageStep(1)
        self.depth_slider.setTickPosition(QSlider.TickPosition.TicksBelow)
        self.depth_slider.setTickInterval(1)
        self.depth_slider.setToolTip("how many backbone stages all tasks share")
        guard_wheel(self.depth_slider)
        self.depth_label = QLabel()
        self.depth_label.setWordWrap(True)
        ends = QHBoxLayout()
        ends.setContentsMargins(0, 0, 0, 0)
        left = _hint("0 = independent")
        left.setWordWrap(False)
        ends.addWidget(left)
        ends.addStretch(1)
        right = _hint("max = hard sharing")
        right.setWordWrap(False)
        right.setAlignment(Qt.AlignmentFlag.AlignRight)
        ends.addWidget(right)
        self.architecture = ArchitectureView()
        lay = QVBoxLayout(self)
        lay.setContentsMargins(0, 0, 0, 0)
        lay.addWidget(self.depth_label)
        lay.addWidget(self.depth_slider)
        lay.addLayout(ends)
        lay.addWidget(self.architecture)
        self.depth_slider.valueChanged.connect(self._moved)

        self.cache: dict[tuple, dict[str, Any]] = {}
        self.errors: dict[tuple, str] = {}
        self.structures: dict[str, tuple[list[int], list[int]]] = {}
        self.backbone_params: dict[str, int] = {}
        self._wanted_key: tuple | None = None
        self._wanted_args: tuple | None = None
        self._job = LatestJob(self)
        self._job.done.connect(self._on_counts)
        self._job.failed.connect(self._on_failed)
        self._timer = QTimer(self, singleShot=True, interval=150, timeout=self._submit)

    def _moved(self, _value: int) -> None:
        self.update_depth_label()
        self.depthMoved.emit()

    def update_depth_label(self) -> None:
        self.depth_label.setText(depth_text(self.depth_slider.value(), self.depth_slider.maximum()))

    def show_unknown(self, names: list[str], why: str) -> None:
        self.architecture.set_architecture(4, 4, names)
        self.architecture.set_counts(None, why)

    def show_counts(
        self,
        backbone: str,
        stages: int,
        depth: int,
        names: list[str],
        specs: list[tuple[str, dict[str, Any]]],
        num_classes: int,
        size: int,
    ) -> None:
        """Draw the network and its counts (computed in the background when not known)."""
        channels, strides = self.structures.get(backbone, (None, None))
        self.architecture.set_architecture(stages, depth, names, channels, strides, size)
        if not names:
            self.architecture.set_counts(None, "choose at least one task")
            self._wanted_key = None
            return
        key = count_key(backbone, depth, specs, num_classes)
        self._wanted_key = key
        if key in self.cache:
            self._timer.stop()
            self.architecture.set_counts(self.cache[key])
            return
        if key in self.errors:
            self.architecture.set_counts(None, f"cannot build this network: {self.errors[key]}")
            return
        self.architecture.set_counts(None, "computing…")
        self._wanted_args = (backbone, depth, specs, num_classes, max(32, int(size)))
        if self._job.running_key() != key:
            self._timer.start()

    def _submit(self) -> None:
        key, args = self._wanted_key, self._wanted_args
        if key is None or args is None or key in self.cache or key in self.errors:
            return
        self._job.submit(key, functools.partial(compute_counts, *args))

    def _on_counts(self, key: tuple, counts: dict[str, Any]) -> None:
        backbone, _depth, frozen, num_classes = key
        self.structures[backbone] = (counts["channels"], counts["strides"])
        self.backbone_params[backbone] = counts["backbone"]
        for d in range(counts["num_stages"] + 1):
            c = counts_at(counts["stage_params"], counts["head_params"], d)
            c.update(channels=counts["channels"], strides=counts["strides"])
            self.cache[(backbone, d, frozen, num_classes)] = c
        self.countsArrived.emit()

    def _on_failed(self, key: tuple, message: str) -> None:
        self.errors[key] = message
        self.countsArrived.emit()

    def busy(self) -> bool:
        """True while the counts of the wanted network are pending."""
        key = self._wanted_key
        return key is not None and key not in self.cache and key not in self.errors

    def shutdown(self, timeout_ms: int) -> None:
        self._timer.stop()
        self._job.wait(timeout_ms)
