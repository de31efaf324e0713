"""Run → Export model…: the choices of ``workbench export`` for the shown run.

The export itself runs as ``python -m workbench export`` in a ``CommandDialog`` (its own
process: an ONNX export takes seconds to a minute and must not hold the window), whose log
ends with the per-output differences and the latency table.
"""

from __future__ import annotations

from pathlib import Path

from PySide6.QtWidgets import QCheckBox, QComboBox, QDialog, QDialogButtonBox, QFormLayout, QLabel, QWidget

from workbench.gui.dialog_fit import no_enter_default


class ExportDialog(QDialog):
    """Format, checkpoint and batch rule of an export of ``run``; ``args()`` once accepted."""

    def __init__(self, run: Path, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.run = run
        self.setWindowTitle(f"Export the model of {run.name}")
        form = QFormLayout(self)
        self.format = QComboBox()
        self.format.addItem("ONNX (onnxruntime, TensorRT, OpenVINO, ...)", "onnx")
        self.format.addItem("TorchScript (C++ libtorch)", "torchscript")
        form.addRow("Format", self.format)
        self.checkpoint = QComboBox()
        for kind, label in (("best", "best epoch (best.pt)"), ("last", "last epoch (last.pt)")):
            self.checkpoint.addItem(label, kind)
            if not (run / "checkpoints" / f"{kind}.pt").is_file():
                index = self.checkpoint.count() - 1
                self.checkpoint.model().item(index).setEnabled(False)
                self.checkpoint.setItemText(index, f"{label} – not saved yet")
        if not (run / "checkpoints" / "best.pt").is_file():
            self.checkpoint.setCurrentIndex(1)
        form.addRow("Weights", self.checkpoint)
        self.dynamic = QCheckBox("any batch size (dynamic batch axis)")
        self.dynamic.setToolTip("Without it the model takes one image at a time")
        form.addRow("Batch", self.dynamic)
        note = QLabel(
            f"Writes {run.name}/export/model-…, with a decode.json beside it, after checking it against "
            "PyTorch on the run's validation images; then times it."
        )
        note.setWordWrap(True)
        form.addRow(note)
        buttons = QDialogButtonBox(
            QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel
        )
        buttons.button(QDialogButtonBox.StandardButton.Ok).setText("Export")
        no_enter_default(self)  # an export takes minutes: not from an Enter in a field
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        form.addRow(buttons)

    def args(self) -> list[str]:
        """The ``workbench`` command line of the chosen export."""
        args = ["export", str(self.run), "--format", self.format.currentData()]
        args += ["--checkpoint", self.checkpoint.currentData()]
        if self.dynamic.isChecked():
            args.append("--dynamic-batch")
        return args
