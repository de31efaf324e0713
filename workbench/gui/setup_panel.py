"""The experiment setup form: data, backbone, tasks, sharing depth, weighting, optimiser, training.

``SetupPanel`` edits an ``ExperimentConfig``. It shows at once without PyTorch; the
registries (backbones, task kinds, weighting methods, devices) fill in when the main window
calls ``core_loaded()``. After every edit the panel builds the config, validates it with
``workbench.experiment_check.validate_experiment`` and marks the offending field; the main window
listens to ``validityChanged`` to enable Start.

Each section is a widget of its own module: ``DataSection`` (data_section.py),
``ModelSection``, ``TasksSection`` (with one ``TaskRow`` per kind), ``SharingSection``
(slider, diagram, parameter counts), ``WeightingSection``, ``OptimSection`` and
``TrainSection``. Generated forms read the limits and help declared with the config's
fields; this panel puts the sections together, builds and validates the config, marks
the field of an error and keeps the sample previews.

Round trip: ``set_config(cfg)`` then ``config()`` gives back ``cfg`` exactly. Fields the
panel has no editor for (``data.source``, tasks it cannot show, ...) are kept from the last
config set, and a value an editor cannot hold (out of its range) is kept until that editor
is edited.
"""

from __future__ import annotations

import copy
import functools
import html
import re
import typing
from pathlib import Path
from typing import Any

from PySide6.QtCore import QSize, Qt, QTimer, Signal
from PySide6.QtGui import QStandardItemModel
from PySide6.QtWidgets import (
    QDoubleSpinBox,
    QFrame,
    QLabel,
    QLineEdit,
    QScrollArea,
    QSizePolicy,
    QSpinBox,
    QStyle,
    QVBoxLayout,
    QWidget,
)

from workbench.config import ConfigError, ExperimentConfig, TaskConfig, default_experiment
from workbench.gui.architecture_view import human
from workbench.gui.data_section import DataSection
from workbench.gui.model_section import ModelSection
from workbench.gui.optim_train_sections import OptimSection, TrainSection
from workbench.gui.setup_bindings import (
    EXTRA_ROLE,
    _bind_text,
    _Binding,
    _form,
    _hint,
    _select_data,
)
from workbench.gui.setup_jobs import LatestJob, make_previews
from workbench.gui.setup_preview import SamplePreview
from workbench.gui.setup_widgets import (
    CollapsibleSection,
    apply_field_meta,
    mark_invalid,
)
from workbench.gui.sharing_section import SharingSection
from workbench.gui.task_row import TaskRow
from workbench.gui.tasks_section import TasksSection
from workbench.gui.weighting_section import WeightingSection

LOADING = "Loading PyTorch…"

_TASK_PATH = re.compile(r"^tasks\[(\d+)\](?:\.(\w+))?(?:\.(\w+))?")
# config paths inside an error message ("must be >= data.options.min_objects (5)")
_PATH_IN_TEXT = re.compile(
    r"\b(?:data|model|optim|train|weighting)\.[A-Za-z_][\w.]*\w|\btasks\[\d+\](?:\.\w+)*"
)


def is_config_path(path: str) -> bool:
    """Whether ``path`` names a field of an experiment config ("data.path", "train.epochs",
    "tasks[1].options.head_width"), not a file name that looks like one ("data.yaml",
    "train.txt"). Entries under a free-form table (options, params) all count."""
    import dataclasses

    kind: Any = ExperimentConfig
    for part in re.sub(r"\[\d+\]", "", path).split("."):
        if kind is None:  # inside options / params: any key
            return True
        fields = {f.name: f for f in dataclasses.fields(kind)} if dataclasses.is_dataclass(kind) else {}
        if part not in fields:
            return False
        hint = typing.get_type_hints(kind).get(part)
        inner = [a for a in typing.get_args(hint) if dataclasses.is_dataclass(a)]  # list[TaskConfig]
        kind = hint if dataclasses.is_dataclass(hint) else (inner[0] if inner else None)
    return True


READING = "Reading the data set… (Start waits until it is read)"

# fields validated against each other: an error on one may be fixed on either
PAIRS = {
    "data.options.min_objects": "data.options.max_objects",
    "data.options.max_objects": "data.options.min_objects",
    "data.options.min_size": "data.options.max_size",
    "data.options.max_size": "data.options.min_size",
}
BANNER_LINES = 2


def _field_meta(path: str) -> Any:
    """The ``FieldMeta`` of a dotted config path (None when it has none)."""
    from workbench.config import path_meta

    return path_meta(path)


def _get_path(obj: Any, path: str) -> Any:
    for part in path.split("."):
        obj = getattr(obj, part)
    return obj


def _set_path(obj: Any, path: str, value: Any) -> None:
    *head, last = path.split(".")
    for part in head:
        obj = getattr(obj, part)
    setattr(obj, last, value)


class SetupPanel(QWidget):
    """Edits an ExperimentConfig; see the module docstring."""

    configChanged = Signal(object)  # ExperimentConfig, after every user edit
    validityChanged = Signal(bool, str)  # valid, first error message ("" when valid)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._core = False
        self._base: ExperimentConfig = default_experiment()
        self._filling = False
        self._bindings: dict[str, _Binding] = {}
        self._overrides: dict[str, Any] = {}  # path -> value a widget could not hold
        self._task_sources: list[TaskRow | TaskConfig] = []  # per task of the last built config
        self._full_depth_as = -1
        self._valid = False
        self._message = LOADING
        self._emitted: tuple[bool, str] | None = None
        self._error_path = ""
        self._marked: list[tuple[QWidget, str]] = []
        self._imagenet_cache: dict[str, tuple[bool, str]] = {}
        self._preview_key: tuple | None = None
        self._shown_preview_key: tuple | None = None
        self._bb: Any = None  # workbench.models.backbones after core_loaded
        self._task_kinds: Any = None
        self._weightings: Any = None

        self._preview_job = LatestJob(self)
        self._preview_job.done.connect(self._on_previews)
        self._preview_job.failed.connect(self._on_previews_failed)
        self._preview_job.busyChanged.connect(lambda busy: self.preview.set_busy(busy))
        self._preview_timer = QTimer(self, singleShot=True, interval=300, timeout=self._submit_previews)
        # a config of several sources ([[data.sources]]): each read off the GUI thread
        self._sources_job = LatestJob(self)
        self._sources_job.done.connect(self._on_sources_read)
        self._sources_job.failed.connect(self._on_sources_failed)
        self._sources_key: Any = None
        self._sources_read: tuple[Any, Any] = (None, None)  # (key, summaries list or failure text)
        # a chosen weights file is loaded off the GUI thread: what it holds, said in the
        # banner when it is chosen rather than when Start refuses it
        self._weights_job = LatestJob(self)
        self._weights_job.done.connect(self._on_weights_checked)
        self._weights_job.failed.connect(self._on_weights_checked)
        self._weights_checked: dict[tuple, str] = {}  # (path, mtime, size, backbone) -> problem or ""
        # the CLI's preflight (a model BatchNorm cannot train at this batch and size), off the
        # GUI thread: Start was enabled for what the run then refused
        self._preflight_job = LatestJob(self)
        self._preflight_job.done.connect(self._on_preflight)
        self._preflight_job.failed.connect(lambda key, _error: self._on_preflight(key, None))
        self._preflight_checked: dict[tuple, tuple[str, str] | None] = {}

        self._last_edited = ""  # config path of the field the user changed last
        self._banner_text = ""
        self._build_ui()
        self._apply(self._base)
        self._set_core_enabled(False)
        self._after_change(user=False)

    # ------------------------------------------------------------------ UI

    def _build_ui(self) -> None:
        self.banner = QLabel(LOADING)
        self.banner.setObjectName("banner")
        self.banner.setWordWrap(True)
        self.banner.setTextFormat(Qt.TextFormat.RichText)
        self.banner.setTextInteractionFlags(
            Qt.TextInteractionFlag.TextSelectableByMouse | Qt.TextInteractionFlag.LinksAccessibleByMouse
        )
        self.banner.linkActivated.connect(lambda _link: self.show_error_field())
        self.banner.setContentsMargins(6, 4, 6, 4)
        self.banner.setFrameShape(QFrame.Shape.StyledPanel)
        self.banner.setAlignment(Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter)
        # Always shown, always this high: a problem appearing never moves the form below.
        self.banner.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Fixed)
        self._fit_banner_height()

        content = QWidget()
        self._content = content
        col = QVBoxLayout(content)
        col.setContentsMargins(4, 4, 4, 4)
        col.setSpacing(6)
        self.sections: dict[str, CollapsibleSection] = {}

        # experiment name
        self.name_edit = QLineEdit()
        self.name_edit.setToolTip("run name; the run folder is named after it")
        top = _form()
        top.addRow(_field_meta("name").label, self.name_edit)
        col.addLayout(top)
        self._bind("name", _bind_text(self.name_edit))

        col.addWidget(self._build_data())
        col.addWidget(self._build_model())
        col.addWidget(self._build_tasks())
        col.addWidget(self._build_sharing())
        col.addWidget(self._build_weighting())
        col.addWidget(self._build_optim())
        col.addWidget(self._build_train())
        col.addStretch(1)

        self.scroll = QScrollArea()
        self.scroll.setAccessibleName("Experiment setup")
        self.scroll.setWidget(content)
        self.scroll.setWidgetResizable(True)
        self.scroll.setFrameShape(QFrame.Shape.NoFrame)
        self.scroll.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAsNeeded)
        lay = QVBoxLayout(self)
        lay.setContentsMargins(0, 0, 0, 0)
        lay.setSpacing(2)
        lay.addWidget(self.banner)
        lay.addWidget(self.scroll, 1)
        self._apply_declared_limits()

    def _apply_declared_limits(self) -> None:
        """Spin-box ranges and tooltips from the config's field metadata (declared once, in the core)."""
        for path, binding in self._bindings.items():
            widget = binding.widget
            meta = _field_meta(path)
            if meta is None:
                continue
            if not isinstance(widget, (QSpinBox, QDoubleSpinBox)):
                # combo boxes, check boxes, text fields: the declared help where the form
                # gave none of its own (16 controls had no tooltip at all)
                if meta.help and not widget.toolTip():
                    widget.setToolTip(meta.help)
                continue
            apply_field_meta(widget, meta)

    def sizeHint(self) -> QSize:  # noqa: N802 - Qt override
        """Wide enough for the form and its vertical scroll bar, no horizontal one."""
        bar = self.style().pixelMetric(QStyle.PixelMetric.PM_ScrollBarExtent)
        return QSize(self._content.sizeHint().width() + bar + 4, 720)

    def _section(self, key: str, title: str, expanded: bool = True) -> tuple[CollapsibleSection, QVBoxLayout]:
        section = CollapsibleSection(title, expanded)
        self.sections[key] = section
        lay = QVBoxLayout(section.body)
        lay.setContentsMargins(4, 0, 2, 4)
        lay.setSpacing(4)
        return section, lay

    def _bind(self, path: str, binding: _Binding) -> _Binding:
        self._bindings[path] = binding
        binding.signal.connect(lambda *_a, p=path: self._edited(p))
        return binding

    def _build_data(self) -> QWidget:
        section, lay = self._section("data", "Data")
        # The data section proper needs the source registry: it is built in core_loaded.
        self.source_label = QLabel("")
        self.source_label.setWordWrap(True)
        lay.addWidget(self.source_label)
        self._data_layout = lay
        self.data_section: DataSection | None = None
        self.sources_note = _hint("")
        self.sources_note.setVisible(False)
        lay.addWidget(self.sources_note)
        self.preview = SamplePreview()
        lay.addWidget(self.preview)
        return section

    def _build_model(self) -> QWidget:
        section, lay = self._section("model", "Backbone")
        self.model_section = ModelSection()
        self.model_section.edited.connect(self._edited)
        lay.addWidget(self.model_section)
        self._adopt(self.model_section)
        return section

    def _build_tasks(self) -> QWidget:
        section, lay = self._section("tasks", "Tasks")
        self.tasks_section = TasksSection(LOADING)
        self.tasks_section.changed.connect(self._edited)
        lay.addWidget(self.tasks_section)
        self._rows = self.tasks_section.rows
        self.tasks_header = self.tasks_section.tasks_header
        self.tasks_note = self.tasks_section.tasks_note
        return section

    def _build_sharing(self) -> QWidget:
        section, lay = self._section("sharing", "Parameter sharing")
        self.sharing = SharingSection()
        lay.addWidget(self.sharing)
        self.depth_slider = self.sharing.depth_slider
        self.depth_label = self.sharing.depth_label
        self.architecture = self.sharing.architecture
        self.sharing.depthMoved.connect(lambda: self._edited("model.sharing_depth"))
        self.sharing.countsArrived.connect(self._redisplay_counts)
        return section

    def _build_weighting(self) -> QWidget:
        section, lay = self._section("weighting", "Loss weighting")
        self.weighting = WeightingSection()
        self.weighting.changed.connect(self._edited)
        lay.addWidget(self.weighting)
        # the section's widgets, as the rest of the panel (and its tests) name them
        self.weighting_combo = self.weighting.combo
        self.weighting_info = self.weighting.info
        self._weighting_forms = self.weighting.forms
        return section

    def _build_optim(self) -> QWidget:
        section, lay = self._section("optim", "Optimisation")
        self.optim_section = OptimSection()
        lay.addWidget(self.optim_section)
        self._adopt(self.optim_section)
        return section

    def _build_train(self) -> QWidget:
        section, lay = self._section("train", "Training")
        self.train_section = TrainSection(lambda: "{} (not detected)" if self._core else "{}")
        lay.addWidget(self.train_section)
        self._adopt(self.train_section)
        return section

    def _adopt(self, section: QWidget) -> None:
        """Take a section's bindings, and name its widgets on the panel as before."""
        for path, binding in section.bindings.items():
            self._bind(path, binding)
        for name, value in vars(section).items():
            if isinstance(value, QWidget) and not name.startswith("_"):
                setattr(self, name, value)

    # -------------------------------------------------------------- core load

    def _set_core_enabled(self, on: bool) -> None:
        for w in (self.backbone_combo, self.weighting_combo, self.depth_slider):
            w.setEnabled(on)
        self.tasks_header.setVisible(on)
        if not on:
            self._set_banner(LOADING, "loading")
            self.tasks_note.setText(LOADING)
            self.weighting_info.setText(LOADING)
            self.architecture.set_counts(None, LOADING)

    def core_loaded(self) -> None:
        """Fill the registries' choices; call once PyTorch and the registries are imported."""
        if self._core:
            return
        from workbench.models import backbones
        from workbench.tasks import TASK_KINDS
        from workbench.training.device import list_devices
        from workbench.weighting import WEIGHTINGS

        current = self.config()  # keeps edits made while loading
        self._bb = backbones
        self._task_kinds = TASK_KINDS
        self._weightings = WEIGHTINGS
        self._filling = True
        try:
            self.backbone_combo.clear()
            for name in backbones.BACKBONES.names():
                # which backbones can start from ImageNet weights here (torchvision's cache)
                cached = self._imagenet_state(name)[0]
                self.backbone_combo.addItem(f"{name}  · ImageNet" if cached else name, name)
                self.backbone_combo.setItemData(
                    self.backbone_combo.count() - 1,
                    backbones.BACKBONES.get(name).description,
                    Qt.ItemDataRole.ToolTipRole,
                )
            self.device_combo.clear()
            self.device_combo.addItem("auto", "auto")
            self._devices = list_devices()
            for value, label in self._devices:
                self.device_combo.addItem(label, value)
            self._build_data_section()
            self._build_task_rows()
            self.weighting.set_methods([WEIGHTINGS.get(n) for n in WEIGHTINGS.names()])
        finally:
            self._filling = False
        self._core = True
        self._set_core_enabled(True)
        self.tasks_note.setText("")
        self.tasks_note.setVisible(False)
        self.preview.set_message("generating…")
        self.set_config(current)

    def is_core_loaded(self) -> bool:
        return self._core

    def _build_data_section(self) -> None:
        from workbench.data import DATASETS

        section = DataSection([DATASETS.get(n) for n in DATASETS.names()])
        section.changed.connect(self._edited)
        section.summaryChanged.connect(self._on_data_summary)
        self._data_layout.insertWidget(0, section)
        self.source_label.setVisible(False)
        self.data_section = section

    def _on_data_summary(self, summary: Any) -> None:
        """Offer the tasks the data supports; the others are greyed out, with the reason;
        the setup is checked again (data that cannot be used disables Start)."""
        several = bool(self._base.data.sources)  # the section's form is not what the config reads
        keys = summary.target_keys if summary is not None and not several else None
        self.tasks_section.offer(keys, self._task_kinds)
        if self._core:
            self._after_change(user=False)

    def _request_sources(self, cfg: ExperimentConfig) -> None:
        from workbench.data.set_summary import summarise
        from workbench.data.source import DataSourceError
        from workbench.gui.setup_jobs import job_error

        sources = copy.deepcopy(cfg.data.sources)
        size = int(cfg.model.input_size)
        key = (repr(sources), size)
        if key == self._sources_key:
            return
        self._sources_key = key

        def read_all() -> list[Any]:
            out = []
            for i, source in enumerate(sources):
                try:
                    out.append(summarise(source, size))
                except Exception as exc:  # named with its source, as the banner shows it
                    raise DataSourceError(
                        f"data.sources[{i}] ({source.source} {source.path}): {job_error(exc)}"
                    ) from None
            return out

        self._sources_job.submit(key, read_all)

    def _on_sources_read(self, key: Any, summaries: Any) -> None:
        if key == self._sources_key:
            self._sources_read = (key, summaries)
            self._after_change(user=False)

    def _on_sources_failed(self, key: Any, message: str) -> None:
        if key == self._sources_key:
            self._sources_read = (key, message)  # a DataSourceError naming its source (job_error)
            self._after_change(user=False)

    def _sources_reading(self) -> bool:
        return bool(self._base.data.sources) and self._sources_read[0] != self._sources_key

    def _sources_problem(self, cfg: ExperimentConfig) -> ConfigError | None:
        """What reading a config's several sources found: one that cannot be used, or a
        task given to a source whose annotations cannot label it."""
        key, read = self._sources_read
        if key != self._sources_key or read is None:
            return None
        if isinstance(read, str):
            return ConfigError("data.sources", f"cannot use this data: {read}")
        for i, (source, summary) in enumerate(zip(cfg.data.sources, read, strict=False)):
            if why := summary.unusable():
                return ConfigError(f"data.sources[{i}]", f"{source.source} {source.path}: {why}")
            for name in source.tasks:
                task = next((t for t in cfg.tasks if t.name == name), None)
                if task is None or task.kind not in self._task_kinds:
                    continue
                needed = self._task_kinds.get(task.kind).target_key
                if needed not in summary.target_keys:
                    return ConfigError(
                        f"data.sources[{i}].tasks",
                        f"{source.source} {source.path} has no '{needed}' annotations for the {task.kind} "
                        f"task {name!r}",
                    )
        return None

    def _data_problem(self, cfg: ExperimentConfig) -> ConfigError | None:
        """What the data section read makes invalid: data that cannot be used, or a chosen
        task the annotations cannot label (``workbench data check`` refuses the same)."""
        section = self.data_section
        if self._base.data.sources:
            return self._sources_problem(cfg)
        if section is None:
            return None
        failure = section.current_failure()
        if failure:
            return ConfigError("data.path", f"cannot use this data: {failure}")
        summary = section.current_summary()
        if summary is None:
            return None  # still being read: the run checks it again
        unfed = []  # every task the data cannot label, said at once (not one fix at a time)
        for i, task in enumerate(cfg.tasks):
            if task.kind not in self._task_kinds:
                continue
            key = self._task_kinds.get(task.kind).target_key
            if key not in summary.target_keys:
                unfed.append((i, task, key))
        if len(unfed) == 1:
            i, task, key = unfed[0]
            return ConfigError(
                f"tasks[{i}].kind",
                f"this data has no '{key}' annotations for the {task.kind} task {task.name!r}; "
                "untick it or choose other data",
            )
        if unfed:
            listed = ", ".join(f"{task.name!r} ({task.kind}: no '{key}')" for _i, task, key in unfed)
            return ConfigError(
                f"tasks[{unfed[0][0]}].kind",
                f"this data cannot label {len(unfed)} tasks: {listed}; untick them or choose other data",
            )
        return None

    def _build_task_rows(self) -> None:
        self.tasks_section.set_kinds([self._task_kinds.get(n) for n in self._task_kinds.names()])

    # ------------------------------------------------------------ config io

    def config(self) -> ExperimentConfig:
        """The configuration the form shows now."""
        cfg = copy.deepcopy(self._base)
        for path, binding in self._bindings.items():
            if path in self._overrides:
                _set_path(cfg, path, copy.deepcopy(self._overrides[path]))
            elif path == "model.backbone" and not self._core:
                continue
            else:
                _set_path(cfg, path, binding.get())
        if self.data_section is not None and not self._base.data.sources:
            cfg.data.source, cfg.data.path, cfg.data.options = self.data_section.values()
        if self._core:
            depth = self.depth_slider.value()
            cfg.model.sharing_depth = self._full_depth_as if depth == self.depth_slider.maximum() else depth
            if "model.sharing_depth" in self._overrides:
                cfg.model.sharing_depth = self._overrides["model.sharing_depth"]
            cfg.tasks, self._task_sources = self.tasks_section.tasks()
            cfg.weighting.method, cfg.weighting.params = self.weighting.values(self._base.weighting.params)
        cfg.weighting.conflict_every = self.weighting.conflict_every(self._base.weighting.conflict_every)
        cfg.weighting.lookahead_affinity = self.weighting.lookahead_affinity(
            self._base.weighting.lookahead_affinity
        )
        return cfg

    def set_config(self, cfg: ExperimentConfig) -> None:
        """Show ``cfg`` in every widget (before ``core_loaded`` the registry parts wait)."""
        self._base = copy.deepcopy(cfg)
        self._apply(self._base)
        self._after_change(user=False, force_emit=True)

    def _apply(self, cfg: ExperimentConfig) -> None:
        self._filling = True
        try:
            self._overrides = {}
            for path, binding in self._bindings.items():
                if path == "model.backbone" and not self._core:
                    self.backbone_combo.clear()
                    self.backbone_combo.addItem(cfg.model.backbone, cfg.model.backbone)
                    continue
                if path == "train.early_stopping_metric":
                    continue  # after the task rows
                value = _get_path(cfg, path)
                if not binding.put(value):
                    self._overrides[path] = copy.deepcopy(value)
            self._apply_data(cfg)
            if self._core:
                self._apply_registry_parts(cfg)
            self._refresh_es_combo(select=cfg.train.early_stopping_metric)
        finally:
            self._filling = False

    def _apply_data(self, cfg: ExperimentConfig) -> None:
        d = cfg.data
        if d.sources:
            names = "; ".join(
                f"{s.source} {s.path} ({', '.join(s.tasks) or 'all tasks'})".replace("  ", " ")
                for s in d.sources
            )
            self.sources_note.setText(
                f"This config combines {len(d.sources)} sources, kept as written: {names}. "
                "File → Open dataset… replaces them with one."
            )
        self.sources_note.setVisible(bool(d.sources))
        self.source_label.setText(f"Source: {d.source}" + (f"\nPath: {d.path}" if d.path else ""))
        if d.sources and self._core:
            self._request_sources(cfg)
        if self.data_section is not None:
            # hidden, not greyed: its form (the default source) is not what the config reads
            self.data_section.setVisible(not d.sources)
            self.data_section.set_input_size(cfg.model.input_size)
            self.data_section.set_data(d.source, d.path, d.options)

    def open_dataset(self, path: str) -> None:
        """Point the data section at ``path`` (format detected), as "Open dataset…" does."""
        if self.data_section is None:
            return
        self.sections["data"].set_expanded(True)
        if self._base.data.sources:  # one data set chosen: it replaces the config's sources
            self._base.data.sources = []
            self._apply_data(self._base)
        self.data_section.open_path(path)

    def _apply_registry_parts(self, cfg: ExperimentConfig) -> None:
        # sharing depth
        stages = self._num_stages(cfg.model.backbone)
        self.depth_slider.setMaximum(stages)
        depth = cfg.model.sharing_depth
        self._full_depth_as = depth if depth == stages else -1
        if depth == -1:
            self.depth_slider.setValue(stages)
        elif isinstance(depth, int) and 0 <= depth <= stages:
            self.depth_slider.setValue(depth)
        else:
            self.depth_slider.setValue(stages)
            self._overrides["model.sharing_depth"] = depth
        self.tasks_section.set_tasks(cfg.tasks)
        # weighting
        self.weighting.set_values(cfg.weighting.method, cfg.weighting.params)
        self.weighting.set_conflict_every(cfg.weighting.conflict_every, cfg.weighting.lookahead_affinity)
        self._show_weighting_form()

    def _num_stages(self, backbone: str) -> int:
        if self._bb is not None and backbone in self._bb.BACKBONES:
            return self._bb.BACKBONES.get(backbone).num_stages
        return max(self.depth_slider.maximum(), 0)

    # --------------------------------------------------------------- editing

    def _edited(self, path: str) -> None:
        if self._filling:
            return
        self._last_edited = path
        self._overrides.pop(path, None)
        if path.startswith("tasks."):
            kind = path.split(".", 1)[1]
            self.tasks_section.kept.pop(kind, None)
            self._refresh_es_combo()
        if path == "model.backbone":
            self._on_backbone_changed()
        if path == "weighting.method":
            self._show_weighting_form()
        self._after_change(user=True)

    def _on_backbone_changed(self) -> None:
        stages = self._num_stages(self.backbone_combo.currentData())
        self._filling = True
        try:
            at_full = self.depth_slider.value() == self.depth_slider.maximum()
            self.depth_slider.setMaximum(stages)
            if at_full:
                self.depth_slider.setValue(stages)
        finally:
            self._filling = False

    def _show_weighting_form(self) -> None:
        # loss weights only matter to methods that read them
        method = self.weighting_combo.currentData()
        for row in self._rows.values():
            row.weight.setToolTip(
                "loss weight, used by the 'static' method"
                + ("" if method == "static" else " (not by the chosen method)")
            )

    def _choose_weights(self) -> None:
        self.model_section.choose_weights()

    def _refresh_es_combo(self, select: str | None = None) -> None:
        """Fill the early-stopping choices from the chosen tasks' metrics."""
        combo = self.es_combo
        previous = combo.currentData() if select is None else select
        prev_entry = combo.itemData(combo.currentIndex(), EXTRA_ROLE + 1) if select is None else None
        filling = self._filling
        self._filling = True
        try:
            combo.clear()
            combo.addItem("(off)", "")
            if self._core:
                tasks, sources = self.tasks_section.tasks()
                for task, source in zip(tasks, sources, strict=True):
                    if task.kind not in self._task_kinds:
                        continue
                    kind = self._task_kinds.get(task.kind)
                    for metric in kind.metric_names:
                        combo.addItem(f"{task.name}/{metric}", f"{task.name}/{metric}")
                        better = "higher" if kind.metric_higher_is_better(metric) else "lower"
                        combo.setItemData(
                            combo.count() - 1,
                            f"{kind.metric_label(metric)}: {better} is better",
                            Qt.ToolTipRole,
                        )
                        # which task row and metric this entry is: survives a rename
                        combo.setItemData(combo.count() - 1, (id(source), metric), EXTRA_ROLE + 1)
            index = -1
            if prev_entry is not None:
                for i in range(combo.count()):
                    if combo.itemData(i, EXTRA_ROLE + 1) == prev_entry:
                        index = i
                        break
            if index >= 0:
                combo.setCurrentIndex(index)
            else:
                _select_data(combo, previous or "", "{} (not a chosen task)" if self._core else "{}")
        finally:
            self._filling = filling

    # ------------------------------------------------------------ validation

    def _after_change(self, user: bool, force_emit: bool = False) -> None:
        cfg = self.config()
        self._sync_enabled(cfg)
        error: ConfigError | None = None
        if self._core:
            error = self._validate(cfg)
            self._update_backbone_info(cfg)
            self._update_depth_label()
            self._request_counts(cfg)
            self._request_previews(cfg)
        self._show_error(error)
        reading = (
            self._core
            and error is None
            and (
                self._sources_reading()
                if self._base.data.sources
                else self.data_section is not None and self.data_section.reading()
            )
        )
        if reading:  # Start waits until the data is known to be usable
            self._set_banner(READING, "loading")
        if self._core:
            valid, message = (
                error is None and not reading,
                (READING if reading else "" if error is None else self.human_message(error)),
            )
        else:
            valid, message = False, LOADING
        self._valid, self._message = valid, message
        if force_emit or self._emitted != (valid, message):
            self._emitted = (valid, message)
            self.validityChanged.emit(valid, message)
        if user:
            self.configChanged.emit(cfg)

    def _validate(self, cfg: ExperimentConfig) -> ConfigError | None:
        from workbench.experiment_check import validate_experiment

        try:
            validate_experiment(cfg)
        except ConfigError as exc:
            return exc
        except Exception as exc:  # a registry raising something else: still report, never crash
            return ConfigError("", f"{type(exc).__name__}: {exc}")
        from workbench.training.experiment import path_problem

        if (found := path_problem(cfg)) is not None:  # in `workbench train`'s words
            return ConfigError(*found)
        if (problem := self._data_problem(cfg)) is not None:
            return problem
        if (problem := self._device_problem(cfg.train.device)) is not None:
            return problem
        if (found := self._preflight(cfg)) is not None:
            return ConfigError(*found)
        m = cfg.model
        if m.pretrained == "imagenet":
            ok, why = self._imagenet_state(m.backbone)
            if not ok:
                return ConfigError("model.pretrained", why)
        if m.pretrained == "file" and (problem := self._weights_problem(m.weights_file, m.backbone)):
            return ConfigError("model.weights_file", problem)
        return None

    def _preflight(self, cfg: ExperimentConfig) -> tuple[str, str] | None:
        """The preflight's refusal of ``cfg`` when known (None while it runs: it validates
        again when it is done), from a cache keyed by what the check depends on."""
        from workbench.gui.setup_jobs import preflight_problem

        if (
            cfg.data.sources
            or not cfg.tasks
            or self._bb is None
            or cfg.model.backbone not in self._bb.BACKBONES
        ):
            return None
        summary = self.data_section.summary if self.data_section is not None else None
        if cfg.data.source == "shapes":
            train_size = cfg.data.options.get("train_size") if isinstance(cfg.data.options, dict) else None
            if not isinstance(train_size, int):
                form = self.data_section.forms.get("shapes") if self.data_section is not None else None
                train_size = int(form.defaults.get("train_size", 1)) if form is not None else 1
        elif summary is not None:
            train_size = int(summary.splits.get("train", 1) or 1)
        else:
            return None  # not read yet: the run's own check stays
        num_classes = len(summary.class_names) if summary is not None and summary.class_names else 4
        size = self._image_size(cfg)
        specs = tuple(
            (t.name, t.kind, repr(sorted(t.options.items())) if isinstance(t.options, dict) else "")
            for t in cfg.tasks
        )
        key = (
            cfg.model.backbone,
            repr(cfg.model.sharing_depth),
            specs,
            num_classes,
            size,
            min(int(cfg.train.batch_size), max(1, int(train_size))),
            int(train_size),
            cfg.data.source,
            bool(cfg.model.input_size),
        )
        if key in self._preflight_checked:
            return self._preflight_checked[key]
        if self._preflight_job.running_key() != key:
            job = functools.partial(preflight_problem, copy.deepcopy(cfg), int(train_size), num_classes, size)
            self._preflight_job.submit(key, job)
        return None

    def _on_preflight(self, key: Any, found: Any) -> None:
        self._preflight_checked[key] = tuple(found) if found else None
        if found:
            self._after_change(user=False)

    def _device_problem(self, device: str) -> ConfigError | None:
        """A device this machine does not have, refused here as a run would refuse it
        (``training.device.resolve_device``): Start was enabled and the run then failed."""
        have = [value for value, _ in getattr(self, "_devices", [])]
        if device in ("auto", "cpu") or device in have or not have:
            return None
        cuda = [v for v in have if v.startswith("cuda")]
        if device == "cuda" and cuda:
            return None
        if device.startswith("cuda"):
            if not cuda:
                why = f"device {device!r} was asked for but CUDA is not available here"
            else:
                why = f"device {device!r} does not exist; this machine has {len(cuda)} CUDA device(s)"
        elif device == "mps":
            why = "device 'mps' was asked for but MPS is not available here"
        else:
            return None  # validation names a device it does not know
        return ConfigError("train.device", why)

    def _weights_problem(self, weights_file: str, backbone: str) -> str:
        """What the weights file holds that a run would refuse ("" when fine or still being
        read: the check runs off the GUI thread and validates again when it is done)."""
        path = Path(weights_file).expanduser()
        try:
            st = path.stat()
        except OSError:
            return ""  # said as "file not found" above
        key = (str(path), st.st_mtime_ns, st.st_size, backbone)
        if key in self._weights_checked:
            return self._weights_checked[key]
        if self._weights_job.running_key() != key:

            def check() -> str:
                from workbench.config import ConfigError
                from workbench.training.preflight import check_weights_file

                try:
                    check_weights_file(path, backbone)
                except ConfigError as exc:
                    return exc.message
                return ""

            self._weights_job.submit(key, check)
        return ""

    def _on_weights_checked(self, key: Any, problem: Any) -> None:
        self._weights_checked[key] = str(problem or "")
        if problem:
            self._after_change(user=False)

    def is_valid(self) -> bool:
        return self._valid

    def error_message(self) -> str:
        """The first problem ("" when valid; "Loading PyTorch…" before core_loaded)."""
        return self._message

    def _widget_for(self, path: str) -> tuple[QWidget | None, list[CollapsibleSection | TaskRow]]:
        """The widget showing ``path`` and the folds to open to see it."""
        if path in self._bindings:
            return self._bindings[path].widget, [self._section_of(path)]
        if path.startswith("data"):
            widget = self.data_section.widget_for(path) if self.data_section is not None else None
            return widget or self.source_label, [self.sections["data"]]
        if path == "model.sharing_depth":
            return self.depth_slider, [self.sections["sharing"]]
        if path == "tasks":
            return self.sections["tasks"].header, []
        m = _TASK_PATH.match(path)
        if m:
            index, field, option = int(m.group(1)), m.group(2), m.group(3)
            source = self._task_sources[index] if index < len(self._task_sources) else None
            folds: list[Any] = [self.sections["tasks"]]
            if not isinstance(source, TaskRow):
                return self.tasks_note, folds
            if field == "name":
                return source.name_edit, folds
            if field == "loss_weight":
                return source.weight, folds
            if field == "options":
                editor = source.options.editor(option) if option else None
                return (editor or source.options_button), folds + [source]
            return source.check, folds
        if path.startswith("weighting"):
            return self.weighting.editor_for(path), [self.sections["weighting"]]
        return None, []

    def _section_of(self, path: str) -> CollapsibleSection | None:
        head = path.split(".")[0]
        if head == "model":
            return self.sections["model"]
        return self.sections.get(head)

    # -------------------------------------------------------------- messages

    def field_name(self, path: str) -> str:
        """The label a user sees for a config path ("Learning rate", "detection task: Task name")."""
        if not path:
            return ""
        from workbench.experiment_check import field_label

        source = self.data_section.values()[0] if self.data_section is not None else self._base.data.source
        try:
            label = field_label(path, source)
        except Exception:  # an odd path: still a readable name
            label = path.rsplit(".", 1)[-1].replace("_", " ")
        if path.startswith("weighting.params."):
            # the label of the parameter's row ("stch: Smoothing mu"), not its key
            method = self.weighting_combo.currentData() or "weighting"
            key = path.split(".", 2)[2]
            form = self.weighting.forms.get(method)
            return f"{method}: {form.label_of(key) if form is not None else key}"
        m = _TASK_PATH.match(path)
        if m:
            index = int(m.group(1))
            source = self._task_sources[index] if index < len(self._task_sources) else None
            kind = source.kind if isinstance(source, TaskRow) else getattr(source, "kind", "")
            if kind and m.group(2) == "options" and m.group(3) and isinstance(source, TaskRow):
                # an option's row label ("classification task: Hidden units"), not its key
                return f"{kind} task: {source.options.label_of(m.group(3))}"
            if kind:  # "Task 2: Task name" -> "detection task name"
                rest = re.sub(r"^Task \d+: ", "", label)
                rest = rest[5:] if rest.startswith("Task ") else rest
                return f"{kind} task {rest[:1].lower()}{rest[1:]}" if rest else f"{kind} task"
        return label

    def human_message(self, error: ConfigError) -> str:
        """``error`` with field labels instead of config paths, for the banner and tooltips."""
        message = _PATH_IN_TEXT.sub(
            lambda m: self.field_name(m.group(0)) if is_config_path(m.group(0)) else m.group(0), error.message
        )
        label = self.field_name(error.path)
        return f"{label}: {message}" if label else message

    def _fit_banner_height(self) -> None:
        fm = self.banner.fontMetrics()
        margins = self.banner.contentsMargins()
        frame = 2 * self.banner.frameWidth()
        self.banner.setFixedHeight(
            BANNER_LINES * fm.lineSpacing() + margins.top() + margins.bottom() + frame + 2
        )

    def _set_banner(self, text: str, state: str, link: bool = False) -> None:
        """Show ``text`` (plain) in the banner, shortened to its lines; the whole text in the tooltip."""
        self._banner_text = text
        self._banner_state = (state, link)
        width = max(
            50, self.banner.width() - self.banner.contentsMargins().left() - 12 - 2 * self.banner.frameWidth()
        )
        fm = self.banner.fontMetrics()
        suffix = "  show" if link else ""

        def fits(t: str) -> bool:
            rect = fm.boundingRect(0, 0, width, 10_000, int(Qt.TextFlag.TextWordWrap), t + suffix)
            return rect.height() <= BANNER_LINES * fm.lineSpacing()

        shown = text
        if not fits(shown):
            lo, hi = 0, len(text)
            while lo < hi:  # the longest prefix that fits with an ellipsis
                mid = (lo + hi + 1) // 2
                if fits(text[:mid].rstrip() + "…"):
                    lo = mid
                else:
                    hi = mid - 1
            cut = text[:lo]
            space = cut.rfind(" ")
            if space > lo - 25 and space > 0:  # at a word's end, not in the middle of "data"
                cut = cut[:space]
            shown = cut.rstrip(" ,;:") + "…"
        body = html.escape(shown)
        if link:
            body += ' &nbsp;<a href="show">show</a>'
        self.banner.setText(body)
        self.banner.setToolTip(text if shown != text else "")
        self.banner.setProperty("state", state)
        self.banner.style().unpolish(self.banner)
        self.banner.style().polish(self.banner)

    def banner_text(self) -> str:
        """The banner's whole message (plain text)."""
        return self._banner_text

    def resizeEvent(self, event) -> None:  # noqa: N802 - Qt override
        super().resizeEvent(event)
        if self._banner_text:
            self._set_banner(self._banner_text, *self._banner_state)

    def changeEvent(self, event) -> None:  # noqa: N802 - Qt override
        super().changeEvent(event)
        if event.type() == event.Type.FontChange and hasattr(self, "banner"):
            self._fit_banner_height()

    def _show_error(self, error: ConfigError | None) -> None:
        for widget, tip in self._marked:
            mark_invalid(widget, False)
            widget.setToolTip(tip)
        self._marked = []
        if error is None:
            self._error_path = ""
            if self._core:
                self._set_banner("Ready: the configuration is valid.", "ok")
            return
        message = self.human_message(error)
        self._set_banner(f"⚠ {message}", "error", link=True)
        targets: list[QWidget] = []
        folds: list[Any] = []
        for path in self._paths_to_mark(error.path):
            widget, widget_folds = self._widget_for(path)
            if widget is not None and widget not in targets:
                targets.append(widget)
                folds += [f for f in widget_folds if f not in folds]
        section = next((f for f in folds if isinstance(f, CollapsibleSection)), None)
        if section is not None and section.header not in targets:
            targets.append(section.header)
        for w in targets:
            self._marked.append((w, w.toolTip()))
            mark_invalid(w, True)
            w.setToolTip(message)
        if error.path != self._error_path:  # a new problem: unfold what hides it
            for fold in folds:
                if isinstance(fold, CollapsibleSection):
                    fold.set_expanded(True)
                elif isinstance(fold, TaskRow):
                    fold.show_options(True)
        self._error_path = error.path

    def _paths_to_mark(self, path: str) -> list[str]:
        """The field of the error; of a min/max pair, the one the user just edited (else both)."""
        partner = PAIRS.get(path)
        if partner is None:
            return [path]
        if self._last_edited in (path, partner):
            return [self._last_edited]
        return [path, partner]

    def show_error_field(self) -> None:
        """Scroll to the field of the current error and focus it."""
        if not self._marked:
            return
        widget = self._marked[0][0]
        self.scroll.ensureWidgetVisible(widget, 20, 40)
        widget.setFocus(Qt.FocusReason.OtherFocusReason)

    def invalid_widgets(self) -> list[QWidget]:
        """Widgets marked invalid now (for tests)."""
        return [w for w, _ in self._marked]

    # ------------------------------------------------------ dependent state

    def _sync_enabled(self, cfg: ExperimentConfig) -> None:
        self.momentum.setEnabled(cfg.optim.optimizer == "sgd")
        self.step_size.setEnabled(cfg.optim.schedule == "step")
        self.gamma.setEnabled(cfg.optim.schedule == "step")
        file = cfg.model.pretrained == "file"
        self.weights_edit.setEnabled(file)
        self.weights_button.setEnabled(True)
        self.patience.setEnabled(bool(cfg.train.early_stopping_metric))
        if self._core:
            self._update_pretrained_items(cfg.model.backbone)

    def _imagenet_state(self, backbone: str) -> tuple[bool, str]:
        if backbone not in self._imagenet_cache:
            self._imagenet_cache[backbone] = self._look_up_imagenet(backbone)
        return self._imagenet_cache[backbone]

    def _look_up_imagenet(self, backbone: str) -> tuple[bool, str]:
        bb = self._bb
        if bb is None or backbone not in bb.BACKBONES:
            return False, f"unknown backbone {backbone!r}"
        entry = bb.BACKBONES.get(backbone)
        if not entry.torchvision_name:
            return False, f"{backbone} has no ImageNet weights (it is not a torchvision model)"
        try:
            if bb.imagenet_available(backbone):
                return True, f"ImageNet weights for {backbone} found in torchvision's cache"
            where = str(bb.imagenet_cache_path(entry.torchvision_name))
        except Exception as exc:
            return False, f"cannot look up ImageNet weights for {backbone}: {exc}"
        return False, (
            f"ImageNet weights for {backbone} are not in torchvision's cache ({where}); "
            "this app never downloads them: copy the file there, or use a weights file"
        )

    def _update_pretrained_items(self, backbone: str) -> None:
        ok, why = self._imagenet_state(backbone)
        model = self.pretrained_combo.model()
        index = self.pretrained_combo.findData("imagenet")
        if isinstance(model, QStandardItemModel) and index >= 0:
            item = model.item(index)
            item.setEnabled(ok)
            item.setToolTip(why)
        self.pretrained_combo.setToolTip("ImageNet: " + why)

    def imagenet_enabled(self) -> bool:
        """Whether the ImageNet choice can be picked now (for tests)."""
        model = self.pretrained_combo.model()
        index = self.pretrained_combo.findData("imagenet")
        return bool(isinstance(model, QStandardItemModel) and index >= 0 and model.item(index).isEnabled())

    def refresh_weights_availability(self) -> None:
        """Look again for cached ImageNet weights (after the user copied a file)."""
        self._imagenet_cache.clear()
        self._after_change(user=False)

    def _image_size(self, cfg: ExperimentConfig) -> int:
        """The model's input side: model.input_size, else the source's image_size option."""
        if cfg.model.input_size:
            return int(cfg.model.input_size)
        # several sources: the first's, as training takes it (the unused top-level shapes
        # default, 128, was shown for sources at 48 px)
        source = cfg.data.sources[0] if cfg.data.sources else cfg.data
        options = source.options
        value = options.get("image_size") if isinstance(options, dict) else None
        if isinstance(value, int) and not isinstance(value, bool):
            return value
        form = self.data_section.forms.get(source.source) if self.data_section is not None else None
        default = form.defaults.get("image_size") if form is not None else None
        return int(default) if isinstance(default, int) else 128

    def _update_backbone_info(self, cfg: ExperimentConfig) -> None:
        name = cfg.model.backbone
        parts = []
        if self._bb is not None and name in self._bb.BACKBONES:
            parts.append(self._bb.BACKBONES.get(name).description)
            self.backbone_combo.setToolTip(self._bb.BACKBONES.get(name).description)
        params = self.sharing.backbone_params.get(name)
        parts.append(f"backbone parameters: {human(params) if params else '…'}")
        size = self._image_size(cfg)
        parts.append(f"input {size}×{size} px" + ("" if cfg.model.input_size else " (data size)"))
        self.backbone_info.setText("\n".join(parts))
        self.backbone_info.setVisible(True)

    def _update_depth_label(self) -> None:
        self.sharing.update_depth_label()

    # ------------------------------------------------------- param counts

    def _request_counts(self, cfg: ExperimentConfig) -> None:
        backbone = cfg.model.backbone
        names = [t.name for t in cfg.tasks]
        if self._bb is None or backbone not in self._bb.BACKBONES:
            self.sharing.show_unknown(names, f"unknown backbone {backbone!r}")
            return
        stages = self._num_stages(backbone)
        depth = cfg.model.sharing_depth
        depth = stages if depth == -1 else depth
        if not isinstance(depth, int) or not 0 <= depth <= stages:
            depth = stages
        self.weighting.set_nothing_shared(depth == 0)
        specs = [(t.kind, dict(t.options) if isinstance(t.options, dict) else {}) for t in cfg.tasks]
        summary = self.data_section.summary if self.data_section is not None else None
        num_classes = len(summary.class_names) if summary is not None else 4
        self.sharing.show_counts(backbone, stages, depth, names, specs, num_classes, self._image_size(cfg))

    def _redisplay_counts(self) -> None:
        if not self._core:
            return
        cfg = self.config()
        self._update_backbone_info(cfg)
        self._request_counts(cfg)

    def counts_busy(self) -> bool:
        """True while parameter counts for the current config are pending."""
        return self.sharing.busy()

    # ------------------------------------------------------------ previews

    def _request_previews(self, cfg: ExperimentConfig) -> None:
        d = cfg.data
        source = d.sources[0] if d.sources else d
        key = (source.source, source.path, repr(sorted(source.options.items())), cfg.model.input_size)
        if self.data_section is not None:
            self.data_section.set_input_size(cfg.model.input_size)
        if key == self._preview_key:
            return
        self._preview_key = key
        self._preview_source = copy.deepcopy(source)
        self._preview_size = int(cfg.model.input_size)
        self._preview_timer.start()

    def _submit_previews(self) -> None:
        source = self._preview_source
        if self._error_path.startswith("data"):
            self.preview.set_message("fix the data settings to see samples")
            self._shown_preview_key = None
            return
        self._preview_job.submit(
            self._preview_key,
            functools.partial(make_previews, source, self._preview_size, self.preview.strip.count),
        )

    def _on_previews(self, key: tuple, samples: list[dict[str, Any]]) -> None:
        if key != self._preview_key:
            return  # a newer request is on its way
        self._shown_preview_key = key
        self.preview.set_samples(samples)

    def _on_previews_failed(self, key: tuple, message: str) -> None:
        if key == self._preview_key:
            self.preview.set_message(f"cannot show samples: {message}")

    def previews_ready(self) -> bool:
        """True when the strip shows the scenes of the current data settings."""
        return self._preview_key is not None and self._shown_preview_key == self._preview_key

    def preview_pixmaps(self) -> list:
        return self.preview.pixmaps()

    # ------------------------------------------------------------ shutdown

    def shutdown(self, timeout_ms: int = 10000) -> None:
        """Wait for background builds (call before the app quits)."""
        self._preview_timer.stop()
        self.sharing.shutdown(timeout_ms)
        self._preview_job.wait(timeout_ms)
        self._sources_job.wait(timeout_ms)
        if self.data_section is not None:
            self.data_section.shutdown(timeout_ms)
