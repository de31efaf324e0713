"""The prediction inspector: a gallery of validation samples per epoch, drawn from specs.

Every image is drawn with the specs its tasks make (``task.draw(prediction, target,
threshold)``) through ``SpecRenderer``, so the panel knows nothing about task kinds.
Clicking a thumbnail opens the large view; "Open image…" runs the run's model on a file.

Torch-free at import: the task kinds, the model and torch are imported inside methods.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
from PySide6.QtCore import QSize, Qt, QTimer, Signal
from PySide6.QtGui import QIcon, QImage, QPainter, QPixmap
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QFileDialog,
    QHBoxLayout,
    QLabel,
    QListView,
    QListWidget,
    QListWidgetItem,
    QMessageBox,
    QPushButton,
    QSlider,
    QStackedWidget,
    QVBoxLayout,
    QWidget,
)

from workbench.gui.elided_label import ElidedLabel
from workbench.gui.flow_layout import FlowRow, group_row
from workbench.gui.image_view import ImageViewDialog
from workbench.gui.spec_renderer import RenderOptions, SpecRenderer
from workbench.training.events import SamplesReady

if TYPE_CHECKING:  # workbench.tasks' package import loads torch; only the types are needed
    from workbench.tasks.drawing import DrawBox, DrawSpec

_log = logging.getLogger(__name__)

THUMB_PX = 180
IMAGE_FILTER = "Images (*.png *.jpg *.jpeg *.bmp);;All files (*)"


LETTERBOX_FILL = 114  # grey of the padding around a non-square image (sample_transforms.PAD_IMAGE)


def letterbox(image: np.ndarray, size: int, mode: str = "letterbox") -> np.ndarray:
    """``image`` (H, W, 3 uint8) fitted to ``size`` x ``size`` as the data sources fit
    training images (``workbench.data.sample_transforms.fit_sample``): ``letterbox`` keeps
    the aspect ratio and centres the image on grey, ``stretch`` resizes to the square."""
    from workbench.data.sample_transforms import fit_sample

    empty = np.zeros((0, 4), np.float32)
    return fit_sample(image, empty, np.zeros((0,), np.int64), None, size, mode)[0]


def _pad_to(image: QImage, width: int, height: int) -> QImage:
    """``image`` at the top left of a ``width`` x ``height`` image of its caption colour."""
    if image.width() == width and image.height() == height:
        return image
    out = QImage(width, height, image.format())
    out.fill(image.pixelColor(image.width() - 1, image.height() - 1))
    painter = QPainter(out)
    painter.drawImage(0, 0, image)
    painter.end()
    return out


class InspectorPanel(QWidget):
    """Gallery of one epoch's validation predictions with filters, plus single-image inference."""

    imageOpened = Signal(str)  # path of an image run through the model

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._tasks: dict[str, Any] = {}  # name -> TaskKind
        self._task_boxes: dict[str, QCheckBox] = {}
        self._samples: dict[int, SamplesReady | None] = {}  # None: on disk, load on demand
        self._store: Any = None
        self._checkpoint: Path | None = None
        self._config: Any = None
        self._model: Any = None  # (model, tasks, (path, mtime)) built on first use
        self._core_ready = False
        self._shown: list[int] = []  # image indices in the gallery, in order
        self._specs: dict[int, list[DrawSpec]] = {}  # index -> specs drawn on it
        self._current_event: SamplesReady | None = None
        self._view_index: int | None = None  # image shown in the large view (None: opened file)
        self._opened: tuple[str, np.ndarray, list[DrawSpec]] | None = None
        self._opened_predictions: dict[str, dict[str, np.ndarray]] | None = None
        self.last_error = ""
        self._run_problem = ""  # why the opened run's predictions cannot be shown at all
        self._draw_errors: dict[str, str] = {}  # task -> why its draw failed (this gallery)
        self._unreadable_epoch: int | None = None  # the epoch whose samples file failed to load
        self.view: ImageViewDialog | None = None
        self._pending_open: tuple[Path, np.ndarray] | None = None
        self._stale = False  # the gallery waits for the panel to be shown
        from workbench.gui.setup_jobs import LatestJob

        self._predict_job = LatestJob(self)
        self._predict_job.done.connect(self._on_predicted)
        self._predict_job.failed.connect(self._on_predict_failed)

        self._build()
        self._rerender = QTimer(self)
        self._rerender.setSingleShot(True)
        self._rerender.setInterval(40)  # coalesce slider moves
        self._rerender.timeout.connect(self.refresh)
        self._update_placeholder()

    # ------------------------------------------------------------------ building
    def _build(self) -> None:
        # one line where there is room, wrapped in a narrow window (never wider than it)
        controls = FlowRow(spacing=8)
        epoch = group_row(QLabel("Epoch"))
        self.epoch_combo = QComboBox()
        self.epoch_combo.setMinimumWidth(90)
        self.epoch_combo.setAccessibleName("Epoch")
        self.epoch_combo.setToolTip("Validation samples are stored at the end of each epoch")
        self.epoch_combo.currentIndexChanged.connect(self._on_epoch_selected)
        epoch.layout().addWidget(self.epoch_combo)
        controls.addWidget(epoch)

        score = group_row(QLabel("Score ≥"))
        self.threshold_slider = QSlider(Qt.Orientation.Horizontal)
        self.threshold_slider.setRange(0, 100)
        self.threshold_slider.setValue(30)
        self.threshold_slider.setFixedWidth(100)
        self.threshold_slider.setAccessibleName("Score threshold")
        self.threshold_slider.setToolTip("Hide predicted boxes scoring below this")
        self.threshold_slider.valueChanged.connect(self._on_threshold)
        score.layout().addWidget(self.threshold_slider)
        self.threshold_label = QLabel("0.30")
        self.threshold_label.setMinimumWidth(self.threshold_label.fontMetrics().horizontalAdvance("0.000"))
        score.layout().addWidget(self.threshold_label)
        controls.addWidget(score)

        self.truth_box = QCheckBox("Ground truth")
        self.truth_box.setChecked(True)
        self.truth_box.setToolTip("Draw ground-truth boxes (dashed) and mask outlines")
        self.truth_box.toggled.connect(self._schedule)
        controls.addWidget(self.truth_box)

        masks = group_row(QLabel("Masks"))
        self.opacity_slider = QSlider(Qt.Orientation.Horizontal)
        self.opacity_slider.setRange(0, 100)
        self.opacity_slider.setValue(45)
        self.opacity_slider.setFixedWidth(80)
        self.opacity_slider.setAccessibleName("Mask opacity")
        self.opacity_slider.setToolTip("Opacity of predicted segmentation masks")
        self.opacity_slider.valueChanged.connect(self._schedule)
        masks.layout().addWidget(self.opacity_slider)
        controls.addWidget(masks)

        self.errors_box = QCheckBox("Only errors")
        self.errors_box.setToolTip("Show only images where a visible task's prediction is wrong")
        self.errors_box.toggled.connect(self._schedule)
        controls.addWidget(self.errors_box)

        self.open_button = QPushButton("Open image…")
        self.open_button.setToolTip("Run the model of this run on an image file (PNG/JPEG)")
        self.open_button.clicked.connect(self._open_dialog)
        controls.addWidget(self.open_button)
        self._update_open_button()

        # the task boxes wrap too; the count on the right keeps room for its usual text
        self._tasks_row = QHBoxLayout()
        self._tasks_row.setSpacing(10)
        self._task_flow = FlowRow(spacing=10)
        self._task_flow.addWidget(QLabel("Tasks:"))
        self._tasks_row.addWidget(self._task_flow)
        self.status = ElidedLabel("", keep_chars=40)
        self.status.setAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignTop)
        self.status.setObjectName("inspectorStatus")
        self._tasks_row.addWidget(self.status, 1)

        self.gallery = QListWidget()
        self.gallery.setAccessibleName("Validation images with predictions")
        self.gallery.setViewMode(QListView.ViewMode.IconMode)
        self.gallery.setResizeMode(QListView.ResizeMode.Adjust)
        self.gallery.setMovement(QListView.Movement.Static)
        self.gallery.setUniformItemSizes(True)
        self.gallery.setWrapping(True)
        self.gallery.setSpacing(6)
        self.gallery.setIconSize(QSize(THUMB_PX, THUMB_PX))
        self.gallery.setSelectionMode(QListWidget.SelectionMode.SingleSelection)
        self.gallery.itemClicked.connect(self._on_item_clicked)
        self.gallery.itemActivated.connect(self._on_item_clicked)

        self.placeholder = QLabel()
        self.placeholder.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.placeholder.setWordWrap(True)
        self.placeholder.setObjectName("inspectorPlaceholder")
        self.stack = QStackedWidget()
        self.stack.addWidget(self.placeholder)
        self.stack.addWidget(self.gallery)

        layout = QVBoxLayout(self)
        layout.setContentsMargins(4, 4, 4, 4)
        layout.setSpacing(4)
        layout.addWidget(controls)
        layout.addLayout(self._tasks_row)
        layout.addWidget(self.stack, 1)

    def _update_placeholder(self) -> None:
        if self.gallery.count():
            self.stack.setCurrentWidget(self.gallery)
            return
        if not self._core_ready:
            text = "Loading PyTorch…"
        elif self._run_problem:
            text = self._run_problem
        elif self._unreadable_epoch is not None and self._unreadable_epoch == self.current_epoch():
            text = self.last_error
        elif not self._samples and self._store is not None and self._finished_epochs(self._store):
            folder = Path(self._store.path) / "samples"
            text = (
                f"This run validated {self._finished_epochs(self._store)} epoch(s), but {folder} holds no "
                "samples file (epoch_NNN.npz): it was deleted or moved, or the run kept no samples "
                "(train.num_samples = 0)."
            )
        elif not self._samples:
            text = "No predictions yet.\nStart a run (samples appear after each epoch) or open a run from the Runs list."
        elif self.errors_box.isChecked():
            text = "No image with an error at this threshold for the visible tasks."
        else:
            text = "No images to show."
        self.placeholder.setText(text)
        self.stack.setCurrentWidget(self.placeholder)

    # ------------------------------------------------------------------ options
    def score_threshold(self) -> float:
        return self.threshold_slider.value() / 100.0

    def set_score_threshold(self, value: float) -> None:
        self.threshold_slider.setValue(round(max(0.0, min(1.0, value)) * 100))

    def set_show_truth(self, on: bool) -> None:
        self.truth_box.setChecked(on)

    def set_only_errors(self, on: bool) -> None:
        self.errors_box.setChecked(on)

    def set_mask_opacity(self, value: float) -> None:
        self.opacity_slider.setValue(round(max(0.0, min(1.0, value)) * 100))

    def set_task_visible(self, task: str, visible: bool) -> None:
        box = self._task_boxes.get(task)
        if box is not None:
            box.setChecked(visible)

    def renderer(self, scale: float = 1.0) -> SpecRenderer:
        return SpecRenderer(
            RenderOptions(
                scale=scale,
                show_truth=self.truth_box.isChecked(),
                score_threshold=self.score_threshold(),
                mask_opacity=self.opacity_slider.value() / 100.0,
            )
        )

    def _on_threshold(self, value: int) -> None:
        self.threshold_label.setText(f"{value / 100:.2f}")
        self._schedule()

    def _schedule(self, *_: Any) -> None:
        self._rerender.start()

    # ------------------------------------------------------------------ public API
    def core_loaded(self) -> None:
        self._core_ready = True
        self._update_placeholder()

    def clear(self) -> None:
        self._samples.clear()
        self._run_problem = ""
        self._unreadable_epoch = None
        self._store = None
        self._current_event = None
        self._shown = []
        self._specs = {}
        self._opened = None
        self._opened_predictions = None
        self._view_index = None
        self._checkpoint = None
        self._config = None
        self._model = None
        self._update_open_button()
        self.epoch_combo.blockSignals(True)
        self.epoch_combo.clear()
        self.epoch_combo.blockSignals(False)
        self.gallery.clear()
        self.status.setText("")
        if self.view is not None:
            self.view.hide()
        self._update_placeholder()

    def set_tasks(self, tasks: list[Any]) -> None:
        """The run's task kinds (TaskKind instances); drawing goes through ``task.draw``."""
        self._core_ready = True
        self._tasks = {t.name: t for t in tasks}
        for box in self._task_boxes.values():
            self._task_flow.flow.removeWidget(box)
            box.deleteLater()
        self._task_boxes = {}
        for task in tasks:
            box = QCheckBox(f"{task.name} ({task.kind})")
            box.setChecked(True)
            box.toggled.connect(self._schedule)
            self._task_flow.addWidget(box)
            self._task_boxes[task.name] = box
        self.refresh()

    # Epochs of samples held in memory; the others are read back from the run folder when
    # chosen. Without a bound a long run grew the app by its samples (about 1 MB an epoch
    # for the built-in three tasks) for as long as it trained.
    SAMPLES_IN_MEMORY = 4

    def on_samples(self, event: SamplesReady) -> None:
        """A new epoch of samples: add it to the selector and show it."""
        self._samples[event.epoch] = event
        self._add_epoch(event.epoch, select=True)
        self._forget_old_samples()

    def _forget_old_samples(self, wanted: int | None = None) -> None:
        """Keep ``SAMPLES_IN_MEMORY`` loaded epochs: ``wanted`` (just chosen), the one shown
        and the newest; drop the others whose file is in the run folder (they load again
        on demand)."""
        if self._store is None:
            return
        shown = self._current_event.epoch if self._current_event is not None else None
        first = [e for e in (wanted, shown) if e is not None and self._samples.get(e) is not None]
        loaded = sorted((e for e, event in self._samples.items() if event is not None), reverse=True)
        order = list(dict.fromkeys([*first, *loaded]))  # wanted, shown, then the newest first
        keep = set(order[: self.SAMPLES_IN_MEMORY])
        for epoch in loaded:
            if epoch not in keep and self._store.samples_path(epoch).exists():
                self._samples[epoch] = None

    def set_run_folder(self, store: Any) -> None:
        """The live run's folder: epochs of samples dropped from memory are read back from it."""
        self._store = store

    def load_run(self, store: Any) -> None:
        """Show a run from disk: its sample epochs (loaded on demand), tasks and checkpoint."""
        self.clear()
        self._store = store
        try:
            cfg = store.read_config()
        except Exception as exc:  # noqa: BLE001 - a damaged config.toml: the curves still open
            words = str(exc).strip().splitlines()
            self._run_problem = (
                f"{words[0] if words else type(exc).__name__}\n\nThe predictions are drawn with the run's "
                "tasks, which its config.toml holds: fix the file and open the run again."
            )
            self._update_placeholder()
            return
        self.set_tasks(self._build_tasks(cfg, store.path))
        for task in cfg.tasks:  # the run's own detection threshold, as its export says
            if task.kind == "detection" and isinstance(task.options.get("score_threshold"), (int, float)):
                self.set_score_threshold(float(task.options["score_threshold"]))
                break
        for path in (store.best_checkpoint, store.last_checkpoint):
            if Path(path).exists():
                self.set_checkpoint(path, cfg)
                break
        else:
            self.set_checkpoint(None, cfg)
        for epoch in store.sample_epochs():
            self._samples[epoch] = None
            self._add_epoch(epoch, select=False)
        if self.epoch_combo.count():
            self.epoch_combo.setCurrentIndex(self.epoch_combo.count() - 1)
            self._on_epoch_selected(self.epoch_combo.currentIndex())
        self._update_placeholder()

    @staticmethod
    def _finished_epochs(store: Any) -> int:
        """The epochs the opened run validated (summary.json), 0 when unknown."""
        try:
            done = store.read_summary().get("epochs_done", 0)
        except Exception:  # noqa: BLE001 - a damaged summary: nothing to say from it
            return 0
        return done if isinstance(done, int) and done > 0 else 0

    def set_checkpoint(self, path: str | Path | None, config: Any) -> None:
        """The weights "Open image…" runs (built lazily on first use)."""
        self._checkpoint = Path(path) if path else None
        self._config = config
        self._model = None
        self._update_open_button()

    def _update_open_button(self) -> None:
        ready = self._checkpoint is not None and self._config is not None
        self.open_button.setEnabled(ready)
        self.open_button.setToolTip(
            f"Run {self._checkpoint.name} of this run on an image file (PNG/JPEG)"
            if ready
            else "Available once a run has a checkpoint (after its first epoch, or open a finished run)"
        )

    def visible_boxes(self) -> list[DrawBox]:
        """Boxes drawn on the selected image, else on the first image in the gallery."""
        self._ensure_fresh()
        index = self._selected_index()
        if index is None:
            if not self._shown:
                return []
            index = self._shown[0]
        return self.renderer().visible_boxes(self._specs.get(index, []))

    def shown_indices(self) -> list[int]:
        """Indices (in the epoch's sample set) of the images in the gallery, in order."""
        self._ensure_fresh()
        return list(self._shown)

    def epochs(self) -> list[int]:
        return [self.epoch_combo.itemData(i) for i in range(self.epoch_combo.count())]

    def current_epoch(self) -> int | None:
        return self.epoch_combo.currentData()

    def select_epoch(self, epoch: int) -> None:
        index = self.epoch_combo.findData(epoch)
        if index >= 0:
            self.epoch_combo.setCurrentIndex(index)

    # ------------------------------------------------------------------ epochs and drawing
    @staticmethod
    def _build_tasks(cfg: Any, run_dir: Any) -> list[Any]:
        from workbench.training.experiment import run_tasks

        return run_tasks(cfg, run_dir)  # the run's classes: its data folder may be gone

    def _add_epoch(self, epoch: int, select: bool) -> None:
        index = self.epoch_combo.findData(epoch)
        if index < 0:
            # keep the list sorted by epoch
            position = sum(1 for e in self.epochs() if e < epoch)
            self.epoch_combo.insertItem(position, f"epoch {epoch + 1}", epoch)
            index = position
        if select:
            if self.epoch_combo.currentIndex() == index:
                self._on_epoch_selected(index)
            else:
                self.epoch_combo.setCurrentIndex(index)

    def _event(self, epoch: int) -> SamplesReady | None:
        event = self._samples.get(epoch)
        if event is None and self._store is not None and epoch in self._samples:
            try:
                event = self._store.load_samples(epoch)
            except (OSError, ValueError) as exc:  # RunFileError names the file
                # said in place of the gallery, not in a dialog: the run's curves still open
                self.last_error = f"The samples of epoch {epoch + 1} cannot be shown: {exc}"
                self._unreadable_epoch = epoch
                return None
            self._samples[epoch] = event
            self._forget_old_samples(wanted=epoch)
        return event

    def _on_epoch_selected(self, index: int) -> None:
        if index < 0:
            return
        epoch = self.epoch_combo.itemData(index)
        self._current_event = self._event(epoch)
        self.refresh()

    def _visible_tasks(self) -> list[str]:
        return [name for name, box in self._task_boxes.items() if box.isChecked()]

    def specs_for(self, event: SamplesReady, index: int, truth: bool = True) -> list[DrawSpec]:
        """Specs of image ``index``: one per visible task, from its prediction and target."""
        threshold = self.score_threshold()
        specs = []
        for name in self._visible_tasks():
            task = self._tasks[name]
            preds = event.predictions.get(name)
            targets = event.targets.get(name) if truth else None
            prediction = preds[index] if preds is not None and index < len(preds) else None
            target = targets[index] if targets is not None and index < len(targets) else None
            if prediction is None and target is None:
                continue
            spec = self._draw(task, prediction, target, threshold, f"image {index + 1}")
            if spec is not None:
                specs.append(spec)
        return specs

    def _draw(self, task: Any, prediction: Any, target: Any, threshold: float, where: str) -> Any:
        """``task.draw``'s spec, or None after recording why it failed: a task kind's draw is
        extension code and may raise anything; it was a traceback on stderr from inside a
        paint, and the gallery silently lacked the task."""
        from workbench.tasks.drawing import DrawSpec  # (loaded with the task kinds already)

        try:
            spec = task.draw(prediction, target, threshold)
            if not isinstance(spec, DrawSpec):
                raise TypeError(f"draw() must return a DrawSpec, got {type(spec).__name__}")
            return spec
        except Exception as exc:  # noqa: BLE001 - extension code: named, the rest still drawn
            words = str(exc).strip().splitlines()
            text = f"{type(exc).__name__}: {words[0]}" if words else type(exc).__name__
            if task.name not in self._draw_errors:
                self._draw_errors[task.name] = f"task {task.name!r} ({task.kind}) cannot draw {where}: {text}"
                self.last_error = self._draw_errors[task.name]
                _log.warning("%s", self.last_error)
            return None

    def _render(self, renderer: Any, image: np.ndarray, specs: list[DrawSpec], where: str, **kw: Any) -> Any:
        """The image with its specs painted, or bare (the failure recorded) when a spec holds
        values that cannot be painted (an extension's draw that returned text for a box)."""
        try:
            return renderer.render(image, specs, **kw)
        except Exception:  # noqa: BLE001 - a spec from extension code: find whose, keep the rest
            good = []
            for spec in specs:
                try:
                    renderer.render(image, [spec], **kw)
                    good.append(spec)
                except Exception as exc:  # noqa: BLE001
                    key = f"{spec.task} (painting)"
                    if key not in self._draw_errors:
                        self._draw_errors[key] = (
                            f"task {spec.task!r}: its drawing of {where} could not be painted: "
                            f"{type(exc).__name__}: {exc}"
                        )
                        self.last_error = self._draw_errors[key]
                        _log.warning("%s", self.last_error)
            return renderer.render(image, good, **kw)

    def _draw_problem(self) -> str:
        """The status line's warning for draws that failed in this gallery ("" if none)."""
        if not self._draw_errors:
            return ""
        first = next(iter(self._draw_errors.values()))
        more = len(self._draw_errors) - 1
        return f"⚠ {first}" + (f" (and {more} more)" if more else "") + " · "

    def showEvent(self, event) -> None:  # noqa: N802 - Qt override
        super().showEvent(event)
        if self._stale:
            self.refresh()

    def _ensure_fresh(self) -> None:
        if self._stale:
            self.refresh(force=True)

    def refresh(self, force: bool = False) -> None:
        """Redraw the gallery for the current epoch and options (filters included).

        While the panel is hidden (another tab is shown) the work waits until it is shown:
        an epoch's samples arriving during training cost the GUI thread nothing then.
        """
        self._rerender.stop()
        view_open = self.view is not None and self.view.isVisible()
        if not force and not self.isVisible() and not view_open:
            self._stale = True
            return
        self._stale = False
        selected = self._selected_index()
        self.gallery.clear()
        self._shown = []
        self._specs = {}
        self._draw_errors = {}
        event = self._current_event
        if event is None:
            self.status.setText("")
            self._update_placeholder()
            return
        renderer = self.renderer()
        n = len(event.images)
        height, width = event.images.shape[1:3]
        scale = THUMB_PX / max(height, width)
        only_errors = self.errors_box.isChecked()
        errors = 0
        thumbs = []
        for i in range(n):
            specs = self.specs_for(event, i)
            wrong = any(s.has_error for s in specs)
            errors += wrong
            if only_errors and not wrong:
                continue
            self._specs[i] = specs
            self._shown.append(i)
            thumbs.append(
                (i, wrong, self._render(renderer, event.images[i], specs, f"image {i + 1}", scale=scale))
            )
        if thumbs:
            # Captions wrap to different heights: pad every thumbnail to the tallest, so
            # the grid's cells (and the labels under them) line up.
            icon_h = max(img.height() for _, _, img in thumbs)
            icon_w = max(img.width() for _, _, img in thumbs)
            thumbs = [(i, wrong, _pad_to(img, icon_w, icon_h)) for i, wrong, img in thumbs]
            self.gallery.setIconSize(QSize(icon_w, icon_h))
        for i, wrong, image in thumbs:
            item = QListWidgetItem(QIcon(QPixmap.fromImage(image)), f"#{i + 1}" + ("  ✗" if wrong else ""))
            item.setData(Qt.ItemDataRole.UserRole, i)
            item.setToolTip(self._tooltip(self._specs[i]))
            self.gallery.addItem(item)
            if i == selected:
                item.setSelected(True)
        self.status.setText(  # the warning first: a narrow status line elides its middle
            self._draw_problem()
            + f"{len(self._shown)} of {n} images · {errors} with errors"
            + ("" if self._tasks else " · tasks not loaded")
        )
        self.status.setToolTip("\n".join(self._draw_errors.values()))
        self._update_placeholder()
        if self.view is not None and self.view.isVisible():
            self._refresh_view()

    @staticmethod
    def _tooltip(specs: list[DrawSpec]) -> str:
        lines = [t.text for s in specs for t in s.texts]
        boxes = sum(1 for s in specs for b in s.boxes if not b.truth)
        if boxes:
            lines.append(f"{boxes} predicted box(es)")
        return "\n".join(lines) or "no predictions"

    def _selected_index(self) -> int | None:
        items = self.gallery.selectedItems()
        return items[0].data(Qt.ItemDataRole.UserRole) if items else None

    # ------------------------------------------------------------------ large view
    def _ensure_view(self) -> ImageViewDialog:
        if self.view is None:
            self.view = ImageViewDialog(self)
            self.view.navigate.connect(self._navigate)
        return self.view

    def _on_item_clicked(self, item: QListWidgetItem) -> None:
        self.open_large_view(item.data(Qt.ItemDataRole.UserRole))

    def open_large_view(self, index: int) -> None:
        """Show image ``index`` of the current epoch in the large view."""
        if self._current_event is None:
            return
        self._view_index = index
        self._opened = None
        self._refresh_view()

    def _refresh_view(self) -> None:
        view = self._ensure_view()
        renderer = self.renderer()
        if self._opened is not None:
            title, image, _ = self._opened
            specs = self._predict_specs(self._opened_predictions) if self._opened_predictions else []
            self._opened = (title, image, specs)
            view.show_image(title, image, specs, renderer.with_options(show_truth=False), can_navigate=False)
            return
        event = self._current_event
        if event is None or self._view_index is None or self._view_index >= len(event.images):
            return
        i = self._view_index
        specs = self.specs_for(event, i)
        wrong = any(s.has_error for s in specs)
        title = f"Epoch {event.epoch + 1} · image {i + 1} of {len(event.images)}" + (
            " · has errors" if wrong else ""
        )
        view.show_image(title, event.images[i], specs, renderer)

    def _navigate(self, step: int) -> None:
        if self._opened is not None or not self._shown or self._view_index is None:
            return
        try:
            pos = self._shown.index(self._view_index)
        except ValueError:
            pos = 0
        self._view_index = self._shown[(pos + step) % len(self._shown)]
        self._refresh_view()

    # ------------------------------------------------------------------ open image
    def _open_dialog(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self, "Open image", "", IMAGE_FILTER)
        if path:
            self.open_image(path)

    def _error(self, title: str, text: str) -> None:
        self.last_error = text
        QMessageBox.warning(self, title, text)

    def _input_size(self) -> int:
        cfg = self._config
        if cfg is None:
            return 0
        from workbench.training.experiment import image_size

        return image_size(cfg)

    def open_image(self, path: str | Path) -> bool:
        """Run the checkpoint's model on an image file; show its predictions in the large view.

        The image is fitted to the run's input size as its training images were
        (letterboxed, or stretched when the run's data used ``resize = "stretch"``). The model runs in a background thread
        (``imageOpened`` follows, or a message). Returns False (after a message naming the
        file) when the file or the model cannot be used; never raises for a bad file.
        """
        path = Path(path)
        try:
            from workbench.data.image_io import load_rgb

            # decoded as training decodes: by content, EXIF orientation applied, any mode to RGB
            rgb = load_rgb(path).pixels
        except Exception as exc:  # noqa: BLE001 - one message for every way a file can be bad
            words = str(exc)  # the reader's message names the file already: not twice
            self._error(
                "Cannot open image",
                words if str(path) in words else f"{path} could not be read as an image:\n{words}",
            )
            return False
        if self._config is None or self._checkpoint is None:
            self._error(
                "No model to run",
                f"{path.name} was read, but there is no checkpoint to run: open a run that has "
                "saved checkpoints (Runs list) or finish an epoch of training first.",
            )
            return False
        size = self._input_size()
        options = self._config.data.source_list()[0].options
        mode = options.get("resize", "letterbox") if isinstance(options, dict) else "letterbox"
        image = (
            letterbox(rgb, size, mode if mode in ("letterbox", "stretch") else "letterbox")
            if size > 0
            else rgb
        )
        self._pending_open = (path, image)
        self.open_button.setEnabled(False)
        self.open_button.setText("Running…")
        self._predict_job.submit((str(path), id(image)), lambda: self._predict(image))
        return True

    def _on_predicted(self, key: Any, predictions: Any) -> None:
        self._restore_open_button()
        pending, self._pending_open = self._pending_open, None
        if pending is None or key[0] != str(pending[0]):
            return
        path, image = pending
        self._opened_predictions = predictions
        title = f"{path.name} · predictions of {self._checkpoint.name} (no ground truth)"
        self._opened = (title, image, [])
        self._view_index = None
        self._refresh_view()
        self.imageOpened.emit(str(path))

    def _on_predict_failed(self, key: Any, message: str) -> None:
        self._restore_open_button()
        pending, self._pending_open = self._pending_open, None
        name = pending[0].name if pending is not None else key[0]
        where = f"Running {self._checkpoint.name if self._checkpoint else 'the model'} on {name} failed"
        self._error("Inference failed", f"{where}:\n{message}")

    def _restore_open_button(self) -> None:
        self.open_button.setText("Open image…")
        self._update_open_button()

    def predicting(self) -> bool:
        """True while "Open image…" inference runs."""
        return self._predict_job.busy()

    def shutdown(self) -> None:
        self._predict_job.wait(30_000)

    def _predict_specs(self, predictions: dict[str, dict[str, np.ndarray]]) -> list[DrawSpec]:
        threshold = self.score_threshold()
        tasks = self._model[1] if self._model is not None else []
        specs = []
        for task in tasks:
            box = self._task_boxes.get(task.name)
            if box is not None and not box.isChecked():
                continue
            if task.name in predictions:
                spec = self._draw(task, predictions[task.name], None, threshold, "the opened image")
                if spec is not None:
                    specs.append(spec)
        return specs

    def _predict(self, image: np.ndarray) -> dict[str, dict[str, np.ndarray]]:
        """Runs in the job thread (one at a time): never on the GUI thread."""
        import torch

        if not self._checkpoint.exists():  # best.pt removed since the run was opened: last.pt
            other = self._checkpoint.with_name("last.pt" if self._checkpoint.name == "best.pt" else "best.pt")
            if other.exists():
                self._checkpoint = other
            else:  # both deleted since the run was opened
                from workbench.training.checkpoint import CheckpointError

                raise CheckpointError(
                    f"{self._checkpoint.parent}: best.pt and last.pt are no longer there (deleted or moved "
                    "since the run was opened): there are no weights to run"
                )
        key = (str(self._checkpoint), self._checkpoint.stat().st_mtime_ns)
        if self._model is None or self._model[2] != key:  # rebuilt when best.pt is rewritten
            from workbench.training.checkpoint import load_checkpoint, load_model_state
            from workbench.training.experiment import run_network

            # the classes the run learned, not the data folder's as it is now (a class added
            # since gave heads of another shape; one renamed, wrong names), and no data read:
            # the folder may be gone
            model, tasks = run_network(self._config, self._checkpoint.parent.parent)
            # Checked load: a wrong or foreign file is one line naming it and what is wrong.
            # inference needs the model alone: last.pt is checked as a best checkpoint is
            state = load_checkpoint(self._checkpoint, "best")
            load_model_state(model, state["model"], self._checkpoint)
            model.eval()
            self._model = (model, tasks, key)
        model, tasks, _ = self._model
        batch = torch.from_numpy(np.ascontiguousarray(image)).permute(2, 0, 1).unsqueeze(0)
        with torch.no_grad():
            outputs = model(batch)
        return {task.name: task.decode(outputs[task.name])[0] for task in tasks}
