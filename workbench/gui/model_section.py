"""The setup's backbone section: backbone, input size, pretrained weights, dropout."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import Signal
from PySide6.QtWidgets import (
    QCheckBox,
    QFileDialog,
    QLineEdit,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from workbench.config import path_meta
from workbench.gui.setup_bindings import (
    _bind_bool,
    _bind_combo,
    _bind_float,
    _bind_int,
    _bind_text,
    _combo,
    _edit_row,
    _form,
    _hint,
    _select_data,
)
from workbench.gui.setup_widgets import FloatSpinBox, guard_wheel, int_spin


def _declared(path: str) -> str:
    """The label declared with the field (validation's messages name it the same)."""
    meta = path_meta(path)
    return meta.label if meta is not None else path.rsplit(".", 1)[-1]


class ModelSection(QWidget):
    """``[model]`` but the sharing depth (its own section). The backbone list is filled
    by the panel once the registry is loaded."""

    edited = Signal(str)  # a config path changed other than through a binding's signal

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        form = _form()
        self.backbone_combo = _combo([])
        self.backbone_combo.setMinimumContentsLength(14)
        form.addRow(_declared("model.backbone"), self.backbone_combo)
        self.backbone_info = _hint("")
        self.backbone_info.setVisible(False)
        form.addRow(self.backbone_info)
        self.input_size = int_spin(0, 1024, 16, special="data size", suffix=" px")
        self.input_size.setToolTip("image side fed to the network; 'data size' uses the data's image size")
        guard_wheel(self.input_size)
        form.addRow(_declared("model.input_size"), self.input_size)
        self.pretrained_combo = _combo(
            [("none", "none (random init)"), ("imagenet", "ImageNet"), ("file", "weights file")]
        )
        form.addRow(_declared("model.pretrained"), self.pretrained_combo)
        self.weights_edit = QLineEdit()
        self.weights_edit.setPlaceholderText("state dict (.pt / .pth)")
        self.weights_button = QToolButton()
        self.weights_button.setText("…")
        self.weights_button.setAccessibleName("Choose weights file")
        self.weights_button.setToolTip("choose a weights file")
        self.weights_button.clicked.connect(self.choose_weights)
        form.addRow(_declared("model.weights_file"), _edit_row(self.weights_edit, self.weights_button))
        self.dropout = FloatSpinBox(0.0, 0.9, 0.05)
        self.dropout.setToolTip("dropout in the task heads")
        guard_wheel(self.dropout)
        form.addRow(_declared("model.dropout"), self.dropout)
        self.channels_last = QCheckBox("channels-last memory format")
        form.addRow(self.channels_last)
        lay = QVBoxLayout(self)
        lay.setContentsMargins(0, 0, 0, 0)
        lay.addLayout(form)
        self.bindings = {
            "model.backbone": _bind_combo(self.backbone_combo),
            "model.input_size": _bind_int(self.input_size),
            "model.pretrained": _bind_combo(self.pretrained_combo),
            "model.weights_file": _bind_text(self.weights_edit),
            "model.dropout": _bind_float(self.dropout),
            "model.channels_last": _bind_bool(self.channels_last),
        }

    def choose_weights(self) -> None:
        start = self.weights_edit.text() or str(Path.home())
        path, _ = QFileDialog.getOpenFileName(
            self, "Backbone weights", start, "PyTorch weights (*.pt *.pth *.ckpt *.bin);;All files (*)"
        )
        if path:
            self.weights_edit.setText(path)
            if self.pretrained_combo.currentData() != "file":
                _select_data(self.pretrained_combo, "file")
            self.edited.emit("model.weights_file")
