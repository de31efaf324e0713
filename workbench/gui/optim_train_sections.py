"""The setup's optimisation and training sections: plain forms, each field bound to one
config path (``bindings``), limits and help applied by the panel from the config's field
metadata."""

from __future__ import annotations

from collections.abc import Callable

from PySide6.QtWidgets import QCheckBox, QComboBox, QVBoxLayout, QWidget

from workbench.config import SEED_MAX, path_meta
from workbench.gui.setup_bindings import (
    _bind_bool,
    _bind_combo,
    _bind_float,
    _bind_int,
    _Binding,
    _combo,
    _form,
)
from workbench.gui.setup_widgets import INT_LIMIT, FloatSpinBox, guard_wheel, int_spin


def _rows(
    section: QWidget, rows: list[tuple[str, str, QWidget, Callable[[QWidget], _Binding]]]
) -> dict[str, _Binding]:
    form = _form()
    bindings = {}
    for label, path, widget, binder in rows:
        guard_wheel(widget)
        if label:  # the label declared with the field: validation's messages use the same
            meta = path_meta(path)
            form.addRow(meta.label if meta is not None and meta.label else label, widget)
        else:
            form.addRow(widget)
        bindings[path] = binder(widget)
    lay = QVBoxLayout(section)
    lay.setContentsMargins(0, 0, 0, 0)
    lay.addLayout(form)
    return bindings


class OptimSection(QWidget):
    """``[optim]``: optimiser, learning rate and schedule."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.optimizer_combo = _combo([("adamw", "AdamW"), ("adam", "Adam"), ("sgd", "SGD (Nesterov)")])
        self.lr = FloatSpinBox(0.0, 10.0, log_step=True)
        self.lr.setToolTip("peak learning rate (arrows step 1-2-5)")
        self.weight_decay = FloatSpinBox(0.0, 10.0, log_step=True)
        self.weight_decay.setToolTip("on conv/linear weights only")
        self.momentum = FloatSpinBox(0.0, 1.0, 0.01)
        self.momentum.setToolTip("SGD momentum")
        self.schedule_combo = _combo(
            [("constant", "constant"), ("cosine", "cosine to 0"), ("step", "step decay")]
        )
        self.warmup = int_spin(0, INT_LIMIT, 10, suffix=" steps")
        self.warmup.setToolTip("linear warm-up from 0")
        self.step_size = int_spin(1, INT_LIMIT, suffix=" epochs")
        self.step_size.setToolTip("epochs between decays (step schedule)")
        self.gamma = FloatSpinBox(0.0, 1.0, 0.05)
        self.gamma.setToolTip("decay factor (step schedule)")
        self.grad_clip = FloatSpinBox(0.0, 1e6, 0.5, special="off")
        self.grad_clip.setToolTip("max global gradient norm; 0 = off")
        self.bindings = _rows(
            self,
            [
                ("Optimiser", "optim.optimizer", self.optimizer_combo, _bind_combo),
                ("Learning rate", "optim.lr", self.lr, _bind_float),
                ("Weight decay", "optim.weight_decay", self.weight_decay, _bind_float),
                ("Momentum", "optim.momentum", self.momentum, _bind_float),
                ("Schedule", "optim.schedule", self.schedule_combo, _bind_combo),
                ("Warm-up", "optim.warmup_steps", self.warmup, _bind_int),
                ("Step size", "optim.step_size", self.step_size, _bind_int),
                ("Gamma", "optim.gamma", self.gamma, _bind_float),
                ("Grad clip", "optim.grad_clip", self.grad_clip, _bind_float),
            ],
        )


class TrainSection(QWidget):
    """``[train]``: length, batch, device, seed, loader, early stopping, limits.

    ``device_label`` says how a device missing from the list is shown (before the core
    loads, a device cannot be known to be missing)."""

    def __init__(self, device_label: Callable[[], str], parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.epochs = int_spin(1, INT_LIMIT)
        self.batch_size = int_spin(1, 4096)
        self.device_combo = _combo([("auto", "auto")])
        self.device_combo.setToolTip("auto: CUDA, then MPS, then CPU")
        self.amp = QCheckBox("mixed precision (CUDA only)")
        self.amp_dtype = _combo(
            [
                ("auto", "auto (bfloat16 if supported)"),
                ("bfloat16", "bfloat16"),
                ("float16", "float16 + loss scaling"),
            ]
        )
        self.amp.toggled.connect(self.amp_dtype.setEnabled)
        self.seed = int_spin(0, SEED_MAX)  # past a QSpinBox's 2**31 - 1: a wide box
        self.seed.setToolTip("seed of the weights, data order and random weighting")
        self.workers = int_spin(0, 256, special="main thread")
        self.workers.setToolTip("data loader worker processes")
        self.threads = int_spin(0, 1024, special="torch default")
        self.threads.setToolTip("torch intra-op CPU threads")
        self.es_combo = _combo([("", "(off)")])
        self.es_combo.setToolTip("stop when this validation metric has not improved for 'patience' epochs")
        self.patience = int_spin(1, INT_LIMIT, suffix=" epochs")
        self.time_limit = FloatSpinBox(0.0, 1e9, 60.0, special="off", suffix=" s")
        self.time_limit.setToolTip("stop cleanly after this many seconds; 0 = off")
        self.num_samples = int_spin(0, 256)
        self.num_samples.setToolTip("validation images saved with predictions each epoch")

        def bind_device(combo: QComboBox) -> _Binding:
            return _bind_combo(combo, device_label)

        self.bindings = _rows(
            self,
            [
                ("Epochs", "train.epochs", self.epochs, _bind_int),
                ("Batch size", "train.batch_size", self.batch_size, _bind_int),
                ("Device", "train.device", self.device_combo, bind_device),
                ("", "train.amp", self.amp, _bind_bool),
                ("Precision", "train.amp_dtype", self.amp_dtype, _bind_combo),
                ("Seed", "train.seed", self.seed, _bind_int),
                ("Loader workers", "train.workers", self.workers, _bind_int),
                ("CPU threads", "train.threads", self.threads, _bind_int),
                ("Early stopping", "train.early_stopping_metric", self.es_combo, _bind_combo),
                ("Patience", "train.patience", self.patience, _bind_int),
                ("Time limit", "train.time_limit_s", self.time_limit, _bind_float),
                ("Sample images", "train.num_samples", self.num_samples, _bind_int),
            ],
        )
