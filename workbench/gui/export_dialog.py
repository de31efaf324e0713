"""Run → Export model…: the choices of ``workbench export`` for the shown run.

The export itself runs as ``python -m workbench export`` in a ``CommandDialog`` (its own
process: an ONNX export takes seconds to a minute and must not hold the window), whose log
ends with the per-output differences and the latency table.
"""

from __future__ import annotations

from pathlib import Path

from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QFileDialog,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QWidget,
)

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
        # where it goes: the run's export/ folder, or a file of the user's (a run on a
        # read-only disk, or a model to hand on)
        self.out = QLineEdit()
        self.out.setPlaceholderText("empty: the run's export/ folder")
        self.out.setMinimumWidth(
            self.out.fontMetrics().horizontalAdvance("empty: the run's export/ folder") + 24
        )
        self.out.setToolTip("The file to write; empty: the run's own export/ folder")
        choose = QPushButton("Choose…")
        choose.setToolTip("Choose where to write the exported model")
        choose.clicked.connect(self._choose_out)
        row = QHBoxLayout()
        row.setContentsMargins(0, 0, 0, 0)
        row.addWidget(self.out, 1)
        row.addWidget(choose)
        holder = QWidget()
        holder.setLayout(row)
        form.addRow("Output", holder)
        self._confirmed = ""  # a file the save dialog asked to replace, and the user agreed
        import os

        writable = os.access(run, os.W_OK)
        note = QLabel(
            (
                f"Writes {run.name}/export/model-… (or the Output file), with a decode.json beside it, "
                "after checking it against PyTorch on the run's validation images; then times it."
            )
            if writable
            else f"{run.name} cannot be written here: choose an Output file elsewhere."
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

    def _choose_out(self) -> None:
        suffix = ".onnx" if self.format.currentData() == "onnx" else ".torchscript.pt"
        path, _ = QFileDialog.getSaveFileName(
            self, "Export the model to", str(Path.home() / f"{self.run.name}{suffix}")
        )
        if path:
            self.out.setText(path)
            self._confirmed = path if Path(path).exists() else ""

    def args(self) -> list[str]:
        """The ``workbench`` command line of the chosen export."""
        args = ["export", str(self.run), "--format", self.format.currentData()]
        args += ["--checkpoint", self.checkpoint.currentData()]
        if self.dynamic.isChecked():
            args.append("--dynamic-batch")
        out = self.out.text().strip()
        if out:
            args += ["--out", out]
            if out == self._confirmed:  # the save dialog asked before replacing it
                args.append("--force")
        return args
