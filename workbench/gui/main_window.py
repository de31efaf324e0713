"""The main window: menus, run toolbar, status bar, docks, settings and close handling.

Layout: the central area is a tab widget with "Curves" (PlotsPanel) and "Predictions"
(InspectorPanel); the "Setup" dock (SetupPanel) sits left and the "Runs" dock (RunsPanel)
at the bottom. A ``TrainingBridge`` runs the trainer in a thread; its events reach the
panels here.

Start-up: building the window imports no torch. ``showEvent`` starts a ``CoreLoader``;
until it reports, the status bar says "Loading PyTorch…", Start stays disabled and actions
that need the core (open a config or a run, ...) are queued and run once it is loaded.

Every slot that can raise is wrapped by ``guarded``: an exception becomes an error
dialog (and a log line) instead of a crash.
"""

from __future__ import annotations

import contextlib
import dataclasses
import functools
import inspect
import logging
import platform
import traceback
from collections.abc import Callable
from pathlib import Path
from typing import Any

from PySide6.QtCore import QByteArray, QSettings, Qt, QTimer, Signal
from PySide6.QtGui import QAction, QCloseEvent, QGuiApplication, QKeySequence, QShowEvent
from PySide6.QtWidgets import (
    QApplication,
    QDockWidget,
    QFileDialog,
    QLabel,
    QMainWindow,
    QMessageBox,
    QProgressBar,
    QSplitter,
    QStyle,
    QTabWidget,
    QToolBar,
    QWidget,
)

from workbench import __version__
from workbench.config import ExperimentConfig, from_dict
from workbench.gui.accessible_names import DialogNamer, name_unnamed
from workbench.gui.compare_view import CompareView
from workbench.gui.conflict_view import ConflictView
from workbench.gui.core_loader import CoreLoader, loaded_module
from workbench.gui.inspector_panel import InspectorPanel
from workbench.gui.off_thread import off_thread
from workbench.gui.plots_panel import PlotsPanel, series_from_records
from workbench.gui.runs_panel import RunsPanel
from workbench.gui.setup_panel import SetupPanel
from workbench.gui.status_line import StatusLine
from workbench.gui.tab_order import focus_next
from workbench.gui.training_bar import TrainingBar, format_duration
from workbench.gui.worker import PAUSED, PAUSING, STARTING, STOPPING, TrainingBridge

log = logging.getLogger(__name__)

APP_NAME = "MTL Workbench"
ORG_NAME = "mtl-workbench"
DEFAULT_RUNS_ROOT = "runs"
CLOSE_WAIT_MS = 10_000
MAX_OPEN_ERROR_DIALOGS = 3

KEY_GEOMETRY = "window/geometry"
SETUP_MIN_WIDTH = 300  # px: below this the setup's labels and hints are cut off
KEY_STATE = "window/state"
KEY_TAB = "window/tab"
KEY_CONFIG = "experiment/config_toml"
KEY_CONFIG_PATH = "experiment/config_path"
KEY_RUNS_ROOT = "runs/root"

STATE_TEXT = {
    "idle": "Idle",
    STARTING: "Starting…",
    "running": "Running",
    PAUSING: "Pausing…",
    PAUSED: "Paused",
    STOPPING: "Stopping…",
}

# said when a comparison folds its table to leave the plots one readable row
FOLDED_NOTE = "the table is folded to give the plots room (▸ beside its title unfolds it)"


def guarded(method: Callable) -> Callable:
    """Wrap a MainWindow slot: an exception shows an error dialog instead of escaping into Qt.

    Extra signal arguments (e.g. ``triggered(bool)``) beyond what the method takes are dropped.
    """
    params = list(inspect.signature(method).parameters.values())[1:]
    if any(p.kind is p.VAR_POSITIONAL for p in params):
        max_args: int | None = None
    else:
        max_args = sum(p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD) for p in params)

    @functools.wraps(method)
    def wrapper(self: MainWindow, *args: Any, **kwargs: Any) -> Any:
        try:
            return method(self, *(args if max_args is None else args[:max_args]), **kwargs)
        except Exception as exc:
            self.report_exception(method.__name__, exc)
            return None

    return wrapper


# ---------------------------------------------------------------------------- window


class MainWindow(QMainWindow):
    """The workbench window.

    Args:
        settings: where geometry, dock layout, the last config and the runs folder persist
            (default: the application's QSettings; tests pass their own ini file).
        runs_root: the runs folder, overriding the stored one.
    """

    coreLoaded = Signal(object)  # core_info dict, after the panels were told
    errorShown = Signal(str, str)  # title, text of every error dialog (tests, logging)

    def __init__(
        self,
        settings: QSettings | None = None,
        runs_root: str | Path | None = None,
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self.setObjectName("MainWindow")
        self.setWindowTitle(APP_NAME)
        self.settings = settings if settings is not None else QSettings()
        self.core_ready = False
        self.core_info: dict[str, Any] = {}
        self.confirm_close: Callable[[], bool] = self._ask_stop_running
        self.close_wait_ms = CLOSE_WAIT_MS
        self.last_error: tuple[str, str, str] | None = None
        self._runs_root_override = Path(runs_root) if runs_root is not None else None
        self._loader: CoreLoader | None = None
        self._shown_once = False
        self._setup_valid = False
        self._setup_error = "Loading PyTorch…"
        self._after_core: list[Callable[[], None]] = []
        self._pending_config_text: str | None = None
        self._config_path: Path | None = None
        self._live_view = True  # the plots/inspector follow the live run
        self._live_started: Any = None  # RunStarted of the live run
        self._live_floor = (0, -1)  # (global step, epoch) already drawn from disk
        self._data_problems_met = 0  # problems the live run met in its data while training
        self._shown_run: Path | None = None
        self._remove_if_empty: Path | None = None  # a new run's folder when the run never started
        self._stopping_commands = False  # Quit asked the running commands to stop
        self._follower: Any = None  # RunFollower of a run another process writes
        # after a followed run ended: a look every 3 s whether another process resumed it
        self._rewatch = QTimer(self)
        self._rewatch_seen: tuple[Any, ...] = ()  # the watched run's (status, step) when armed
        self._rewatch.setInterval(3000)
        self._rewatch.timeout.connect(self._check_resumed)
        # the run shown, still on disk? (one stat every 2 s; a deleted folder went unsaid)
        self._gone_said: Path | None = None
        self._compared_gone: set[Path] = set()  # compared runs whose removal was said
        self._gone_check = QTimer(self)
        self._gone_check.setInterval(2000)
        self._gone_check.timeout.connect(self._check_shown_run_still_there)
        self._gone_check.start()
        self._run_config: ExperimentConfig | None = None
        self._run_outcome = ""
        self._closing = False
        self._close_when_stopped = False
        self._error_boxes: list[QMessageBox] = []
        # False for a check that is not the user's session (``--smoke-test``): the window's
        # layout and config are not saved over the user's own
        self.remember_layout = True

        self.bridge = TrainingBridge(self)
        self._build_panels()
        self._build_actions()
        self._build_menus()
        self._build_toolbar()
        self._build_status_bar()
        self._connect()
        self.read_settings()
        self._update_actions()

    # ================================================================== building
    def _build_panels(self) -> None:
        self.plots = PlotsPanel(self)
        self.inspector = InspectorPanel(self)
        self.setup = SetupPanel(self)
        self.runs = RunsPanel(DEFAULT_RUNS_ROOT, self)

        self.compare_view = CompareView(self)
        self.compare_view.closeRequested.connect(self.clear_comparison)
        self.compare_view.tableToggled.connect(self._on_compare_table_toggled)
        self._fold_chosen = False  # the user folded or unfolded the table: no automatic fold
        self._auto_folding = False
        self.curves_tab = QSplitter(Qt.Orientation.Vertical, self)
        self.curves_tab.setObjectName("curvesTab")
        self.curves_tab.setChildrenCollapsible(False)
        self.curves_tab.addWidget(self.compare_view)
        self.curves_tab.addWidget(self.plots)
        self.curves_tab.setStretchFactor(0, 0)
        self.curves_tab.setStretchFactor(1, 1)

        self.tabs = QTabWidget(self)
        self.tabs.setObjectName("centralTabs")
        self.tabs.setDocumentMode(True)
        self.tabs.tabBar().setAccessibleName("Views")
        self.tabs.addTab(self.curves_tab, "Curves")
        self.tabs.addTab(self.inspector, "Predictions")
        self.conflict_view = ConflictView(self)
        self.tabs.addTab(self.conflict_view, "Task conflict")
        self.setCentralWidget(self.tabs)

        self.setup_dock = QDockWidget("Setup", self)
        self.setup_dock.setObjectName("setupDock")
        self.setup_dock.setWidget(self.setup)
        # a layout saved on a smaller screen (or squeezed by hand) must leave the setup readable
        self.setup_dock.setMinimumWidth(SETUP_MIN_WIDTH)
        self.addDockWidget(Qt.DockWidgetArea.LeftDockWidgetArea, self.setup_dock)

        self.runs_dock = QDockWidget("Runs", self)
        self.runs_dock.setObjectName("runsDock")
        self.runs_dock.setWidget(self.runs)
        self.addDockWidget(Qt.DockWidgetArea.BottomDockWidgetArea, self.runs_dock)
        self.setCorner(Qt.Corner.BottomLeftCorner, Qt.DockWidgetArea.LeftDockWidgetArea)

    def _action(
        self,
        text: str,
        slot: Callable,
        shortcut: QKeySequence | str | None = None,
        tip: str = "",
        icon: QStyle.StandardPixmap | None = None,
    ) -> QAction:
        action = QAction(text, self)
        if shortcut is not None:
            action.setShortcut(QKeySequence(shortcut))
        if tip:
            action.setStatusTip(tip)
            action.setToolTip(tip)
        if icon is not None:
            action.setIcon(self.style().standardIcon(icon))
        action.triggered.connect(slot)
        return action

    def _build_actions(self) -> None:
        sp = QStyle.StandardPixmap
        self.act_new = self._action(
            "&New experiment",
            self.new_experiment,
            QKeySequence.StandardKey.New,
            "Reset the setup to the built-in experiment",
            sp.SP_FileIcon,
        )
        self.act_open_config = self._action(
            "&Open config…",
            self.open_config,
            QKeySequence.StandardKey.Open,
            "Load an experiment from a TOML file",
            sp.SP_DialogOpenButton,
        )
        self.act_save_config = self._action(
            "&Save config…",
            self.save_config,
            QKeySequence.StandardKey.Save,
            "Save the current setup as a TOML file",
            sp.SP_DialogSaveButton,
        )
        self.act_open_dataset = self._action(
            "Open &dataset…",
            self.open_dataset,
            "Ctrl+Shift+D",
            "Point the setup at a data set folder (COCO, Pascal VOC, YOLO or class folders); "
            "its format is detected, and its classes, splits and problems are shown in Data",
            sp.SP_DirIcon,
        )
        self.act_open_run = self._action(
            "Open &run…",
            self.open_run,
            "Ctrl+Shift+O",
            "Show a run folder's curves and predictions",
            sp.SP_DirOpenIcon,
        )
        self.act_runs_root = self._action(
            "Set runs &folder…", self.choose_runs_root, None, "Choose where new runs are written and listed"
        )
        self.act_export_plots = self._action(
            "&Export plots…",
            self.export_plots,
            "Ctrl+E",
            "Save the curves as PNG or SVG, or their points as CSV",
        )
        self.act_quit = self._action("&Quit", self.close, QKeySequence("Ctrl+Q"), "Quit the workbench")

        self.act_start = self._action("Start", self.start_run, "F5", "Start training (F5)", sp.SP_MediaPlay)
        self.act_start.setObjectName("actStart")
        self.act_pause = self._action(
            "Pause", self.toggle_pause, "F6", "Pause or resume training (F6)", sp.SP_MediaPause
        )
        self.act_pause.setObjectName("actPause")
        self.act_stop = self._action(
            "Stop",
            self.stop_run,
            "Shift+F5",
            "Stop training; the last checkpoint is kept (Shift+F5)",
            sp.SP_MediaStop,
        )
        self.act_stop.setObjectName("actStop")

        self.act_baselines = self._action(
            "Single-task &baselines",
            self.run_baselines,
            None,
            "Train (or reuse) each task alone with the same data, backbone, budget and seed, and write the "
            "shown run's Δm",
        )
        self.act_export_model = self._action(
            "E&xport model…",
            self.export_model,
            None,
            "Write the shown run's network as ONNX or TorchScript, checked against PyTorch and timed",
        )
        self.act_sweep = self._action(
            "S&weep…",
            self.open_sweep,
            None,
            "Run a series of experiments (depths, methods, seeds) from this setup",
        )
        self.act_live = self._action(
            "Show &live run",
            self.show_live_run,
            "Ctrl+L",
            "Show the run being trained again after opening another run",
        )
        self.act_clear_compare = self._action(
            "Clear &comparison", self.clear_comparison, None, "Remove the compared runs' curves"
        )
        self.act_curves = self._action("&Curves", lambda: self.tabs.setCurrentIndex(0), "Ctrl+1")
        self.act_predictions = self._action("&Predictions", lambda: self.tabs.setCurrentIndex(1), "Ctrl+2")
        self.act_conflict = self._action(
            "Task c&onflict", lambda: self.tabs.setCurrentWidget(self.conflict_view), "Ctrl+3"
        )

        self.act_about = self._action(
            "&About MTL Workbench",
            self.show_about,
            None,
            "Versions of the workbench, Python, Qt and PyTorch, and the devices",
        )
        self.act_about_qt = self._action("About &Qt", QApplication.aboutQt)

    def _build_menus(self) -> None:
        bar = self.menuBar()
        file_menu = bar.addMenu("&File")
        for action in (self.act_new, self.act_open_config, self.act_save_config):
            file_menu.addAction(action)
        file_menu.addSeparator()
        file_menu.addAction(self.act_open_dataset)
        file_menu.addAction(self.act_open_run)
        file_menu.addAction(self.act_runs_root)
        file_menu.addSeparator()
        file_menu.addAction(self.act_export_plots)
        file_menu.addSeparator()
        file_menu.addAction(self.act_quit)

        run_menu = bar.addMenu("&Run")
        for action in (self.act_start, self.act_pause, self.act_stop):
            run_menu.addAction(action)
        run_menu.addSeparator()
        run_menu.addAction(self.act_baselines)
        run_menu.addAction(self.act_export_model)
        run_menu.addAction(self.act_sweep)

        self.view_menu = bar.addMenu("&View")
        self.view_menu.addAction(self.act_curves)
        self.view_menu.addAction(self.act_predictions)
        self.view_menu.addAction(self.act_conflict)
        self.view_menu.addSeparator()
        for dock in (self.setup_dock, self.runs_dock):
            toggle = dock.toggleViewAction()
            toggle.setStatusTip(f"Show or hide the {dock.windowTitle()} panel")
            self.view_menu.addAction(toggle)
        self._view_separator = self.view_menu.addSeparator()
        self.view_menu.addAction(self.act_live)
        self.view_menu.addAction(self.act_clear_compare)

        help_menu = bar.addMenu("&Help")
        help_menu.addAction(self.act_about)
        help_menu.addAction(self.act_about_qt)

    def _build_toolbar(self) -> None:
        self.run_toolbar = QToolBar("Run toolbar", self)
        self.run_toolbar.setObjectName("runToolBar")
        self.run_toolbar.setMovable(False)
        self.training_bar = TrainingBar(self.act_start, self.act_pause, self.act_stop, self.run_toolbar)
        self.run_toolbar.addWidget(self.training_bar)
        self.addToolBar(Qt.ToolBarArea.TopToolBarArea, self.run_toolbar)
        self.view_menu.insertAction(self._view_separator, self.run_toolbar.toggleViewAction())

    def _build_status_bar(self) -> None:
        status = self.status_line = StatusLine(self)  # long messages shortened, marked "…"
        self.setStatusBar(status)
        status.setObjectName("statusBar")
        self.core_busy = QProgressBar(self)
        self.core_busy.setRange(0, 0)  # busy indicator
        self.core_busy.setMaximumWidth(90)
        self.core_busy.setMaximumHeight(14)
        self.core_busy.setTextVisible(False)
        self.core_label = QLabel("Loading PyTorch…", self)
        self.core_label.setObjectName("coreLabel")
        self.device_label = QLabel("Device: –", self)
        self.device_label.setObjectName("deviceLabel")
        self.state_label = QLabel("Idle", self)
        self.state_label.setObjectName("runStateLabel")
        self.state_label.setMinimumWidth(80)
        status.addPermanentWidget(self.core_busy)
        for label in (self.core_label, self.device_label, self.state_label):
            label.setContentsMargins(8, 0, 8, 0)
            status.addPermanentWidget(label)

    def _connect(self) -> None:
        self.setup.validityChanged.connect(self._on_validity_changed)
        from workbench.gui.typed_number import on_refused

        # a number typed into any setup field that cannot be kept: said here as well as at the field
        undo = on_refused(self._say_refused)
        self.destroyed.connect(lambda *_: undo())
        self.setup.configChanged.connect(self._on_config_changed)
        # forms add rows as the setup changes: name their controls for screen readers again
        self._naming = QTimer(self, singleShot=True, interval=0)
        self._naming.timeout.connect(lambda: name_unnamed(self))
        self._dialog_namer = DialogNamer(self)  # dialogs too, as the focus enters each
        self.setup.configChanged.connect(lambda *_: self._naming.start())
        self.setup.validityChanged.connect(lambda *_: self._naming.start())  # also after set_config
        self.coreLoaded.connect(lambda *_: self._naming.start())
        self._naming.start()

        b = self.bridge
        b.runStarted.connect(self._on_run_started)
        b.stepEnded.connect(self._on_step)
        b.epochEnded.connect(self._on_epoch)
        b.samplesReady.connect(self._on_samples)
        b.paused.connect(self._on_paused)
        b.resumed.connect(self._on_resumed)
        b.finished.connect(self._on_finished)
        b.stopped.connect(self._on_stopped)
        b.failed.connect(self._on_failed)
        b.runningChanged.connect(self._on_running_changed)
        b.stateChanged.connect(self._on_state_changed)

        self.runs.openRun.connect(self.show_run)
        self.runs.compareRuns.connect(self.compare_runs)
        self.runs.resumeRun.connect(self.resume_run)
        self.runs.useConfig.connect(self.use_run_config)

    # ================================================================== core loading
    def showEvent(self, event: QShowEvent) -> None:  # noqa: N802 - Qt override
        super().showEvent(event)
        if not self._shown_once:
            self._shown_once = True
            # Loading imports torch in a thread, but imports hold the GIL for long stretches
            # and the first layout/paint needs it for every Python event filter: start
            # loading only once the window is on screen.
            self._expose_polls = 0
            QTimer.singleShot(10, self._load_core_when_exposed)

    def _load_core_when_exposed(self) -> None:
        handle = self.windowHandle()
        self._expose_polls += 1
        if (handle is not None and handle.isExposed()) or self._expose_polls > 100:
            QTimer.singleShot(30, self.load_core)  # leave the first paint its turn
        else:
            QTimer.singleShot(10, self._load_core_when_exposed)

    def load_core(self) -> None:
        """Start importing torch and the registries in the background (idempotent)."""
        if self.core_ready or self._loader is not None:
            return
        self.core_label.setText("Loading PyTorch…")
        self.core_busy.show()
        self.statusBar().showMessage("Loading PyTorch… you can look around meanwhile")
        loader = CoreLoader(self)
        loader.setObjectName("coreLoader")
        loader.loaded.connect(self._on_core_loaded)
        loader.failed.connect(self._on_core_failed)
        loader.finished.connect(self._on_loader_finished)
        self._loader = loader
        loader.start()

    def _on_loader_finished(self) -> None:
        loader, self._loader = self._loader, None
        if loader is not None:
            loader.wait()
            loader.deleteLater()

    @guarded
    def _on_core_loaded(self, info: dict) -> None:
        self.core_ready = True
        self.core_info = dict(info)
        try:
            self.bridge.prepare()  # the training process loads PyTorch now, not at the first run
        except Exception:  # noqa: BLE001 - the first run tries again and reports
            log.exception("could not start the training process")
        self.core_busy.hide()
        cuda = f", CUDA {info['cuda']}" if info.get("cuda") else ""
        self.core_label.setText(f"PyTorch {info.get('torch', '?')}{cuda}")
        devices = info.get("devices") or []
        self.core_label.setToolTip("Devices here:\n" + "\n".join(label for _, label in devices))
        self.device_label.setText(
            "Devices: " + ", ".join(value for value, _ in devices) if devices else "Device: –"
        )
        for panel in (self.setup, self.plots, self.inspector, self.runs):
            hook = getattr(panel, "core_loaded", None)
            if callable(hook):
                try:
                    hook()
                except Exception as exc:
                    self.report_exception(f"{type(panel).__name__}.core_loaded", exc)
        self._apply_pending_config()
        # keyboard focus starts in the setup, the first thing to fill in: while it was
        # disabled (loading), Qt gave it to the first enabled control, the curves' slider
        focus = QApplication.focusWidget()
        if focus is None or self.plots.isAncestorOf(focus):
            self.setup.name_edit.setFocus(Qt.FocusReason.OtherFocusReason)
        self.statusBar().showMessage(f"PyTorch loaded in {info.get('seconds', 0):.1f} s", 5000)
        pending, self._after_core = self._after_core, []
        for action in pending:
            try:
                action()
            except Exception as exc:
                self.report_exception("a queued action", exc)
        self._update_actions()
        self.coreLoaded.emit(self.core_info)

    def _on_core_failed(self, error: str, details: str) -> None:
        self.core_busy.hide()
        self.core_label.setText("PyTorch failed to load")
        self._after_core.clear()
        self.show_error(
            "PyTorch could not be loaded",
            f"{error}\n\nTraining is unavailable; finished runs can still be listed.",
            details,
        )
        self._update_actions()

    def _when_core_ready(self, action: Callable[[], None], what: str) -> None:
        """Run ``action`` now if the core is loaded, else once it is."""
        if self.core_ready:
            action()
            return
        self._after_core.append(action)
        self.statusBar().showMessage(f"{what} as soon as PyTorch has loaded…")

    def _join_loader(self) -> None:
        if self._loader is not None:
            self._loader.wait()  # an import cannot be interrupted; it ends within seconds

    # ================================================================== settings
    def read_settings(self) -> None:
        """Restore geometry, dock layout, the runs folder and (after core load) the last config."""
        s = self.settings
        geometry = s.value(KEY_GEOMETRY)
        if isinstance(geometry, QByteArray) and not geometry.isEmpty():
            self.restoreGeometry(geometry)
        else:
            self._default_geometry()
        state = s.value(KEY_STATE)
        if isinstance(state, QByteArray) and not state.isEmpty():
            self.restoreState(state)
        tab = s.value(KEY_TAB, 0)
        with contextlib.suppress(TypeError, ValueError):
            self.tabs.setCurrentIndex(max(0, min(self.tabs.count() - 1, int(tab))))
        root = self._runs_root_override or Path(str(s.value(KEY_RUNS_ROOT, "") or DEFAULT_RUNS_ROOT))
        self.runs.set_root(root)
        path = str(s.value(KEY_CONFIG_PATH, "") or "")
        self._config_path = Path(path) if path else None
        text = str(s.value(KEY_CONFIG, "") or "")
        self._pending_config_text = text or None
        if self.core_ready:
            self._apply_pending_config()

    def write_settings(self) -> None:
        """Store geometry, dock layout, the runs folder and the current config."""
        s = self.settings
        s.setValue(KEY_GEOMETRY, self.saveGeometry())
        s.setValue(KEY_STATE, self.saveState())
        s.setValue(KEY_TAB, self.tabs.currentIndex())
        s.setValue(KEY_RUNS_ROOT, str(self.runs_root()))
        s.setValue(KEY_CONFIG_PATH, str(self._config_path) if self._config_path else "")
        if self.core_ready:  # before that the setup holds no config of the user's
            try:
                from workbench.config import config_to_toml

                s.setValue(KEY_CONFIG, config_to_toml(self.setup.config()))
            except Exception:
                log.exception("could not store the current config in the settings")
        s.sync()

    def _default_geometry(self) -> None:
        screen = QGuiApplication.primaryScreen()
        if screen is None:
            self.resize(1400, 900)
            return
        area = screen.availableGeometry()
        self.resize(min(1600, int(area.width() * 0.9)), min(1000, int(area.height() * 0.9)))
        # room for the setup form without a horizontal scroll bar; a short runs table
        setup_width = max(360, min(460, self.setup.sizeHint().width() + 24))
        self.resizeDocks([self.setup_dock], [setup_width], Qt.Orientation.Horizontal)
        self.resizeDocks([self.runs_dock], [max(150, self.height() // 5)], Qt.Orientation.Vertical)

    def _apply_pending_config(self) -> None:
        text, self._pending_config_text = self._pending_config_text, None
        if not text:
            return
        from workbench.experiment_check import config_from_toml_text

        try:
            cfg = config_from_toml_text(text)
        except Exception as exc:  # an old or broken stored config: keep the default, say so
            log.warning("the stored config could not be used: %s", exc)
            self.statusBar().showMessage(f"The last session's config could not be restored ({exc})", 8000)
            return
        self.setup.set_config(cfg)

    # ================================================================== runs folder
    def run_baselines(self) -> None:
        """Single-task baselines and Δm of the shown run, in a background process."""
        from workbench.gui.command_dialog import CommandDialog

        run = self._shown_run
        if run is None or not (run / "config.toml").is_file():
            self.show_error("No run", "Open a finished multi-task run first (Runs, or File → Open run…).")
            return
        dialog = CommandDialog(f"Baselines of {run.name}", ["baselines", str(run), "--quiet"], self)
        dialog.done.connect(lambda _code: self.runs.refresh())
        dialog.show()

    def export_model(self) -> None:
        """Run → Export model…: the shown run's network, exported in a background process."""
        from workbench.gui.command_dialog import CommandDialog
        from workbench.gui.export_dialog import ExportDialog

        run = self._shown_run
        checkpoints = [] if run is None else [run / "checkpoints" / f"{k}.pt" for k in ("best", "last")]
        if run is None or not any(p.is_file() for p in checkpoints):
            self.show_error(
                "No checkpoint", "Open a run that has saved a checkpoint first (Runs, or File → Open run…)."
            )
            return
        choice = ExportDialog(run, self)
        if choice.exec() != ExportDialog.DialogCode.Accepted:
            return
        dialog = CommandDialog(
            f"Export of {run.name}", choice.args(), self, stopped_text="Stopped; the export was not written."
        )
        dialog.show()

    def open_sweep(self) -> None:
        """Run → Sweep…: axes from a dialog, the sweep in a background process."""
        from workbench.gui.sweep_dialog import SweepDialog, SweepRunDialog
        from workbench.weighting import WEIGHTINGS

        cfg = self.setup.config()
        try:
            from workbench.models.backbones import BACKBONES

            stages = BACKBONES.get(cfg.model.backbone).num_stages
        except Exception:  # noqa: BLE001 - an unknown backbone: the sweep's own check names it
            stages = 4
        dialog = SweepDialog(cfg, stages, WEIGHTINGS.names(), self.runs_root(), self)
        if dialog.exec() != SweepDialog.DialogCode.Accepted:
            return
        try:
            path = dialog.sweep_file()
        except (OSError, ValueError) as exc:
            self.show_error("Cannot write the sweep", str(exc))
            return
        out = self.runs_root() / "sweeps"
        run = SweepRunDialog(path, out, path.stem, self)
        run.done.connect(lambda _code: self.runs.refresh())  # the last run's final status
        run.show()
        self.runs.refresh()  # watch the sweep's folders from its start (a first sweep makes them)

    def runs_root(self) -> Path:
        return self.runs.root()

    @guarded
    def set_runs_root(self, path: str | Path) -> None:
        self._runs_root_override = None
        self.runs.set_root(Path(path))  # made absolute there: the list never depends on the launch folder
        self.settings.setValue(KEY_RUNS_ROOT, str(self.runs_root()))
        self.statusBar().showMessage(f"Runs folder: {self.runs_root()}", 5000)

    @guarded
    def choose_runs_root(self) -> None:
        path = QFileDialog.getExistingDirectory(self, "Runs folder", str(self.runs_root()))
        if path:
            self.set_runs_root(path)

    # ================================================================== config files
    @guarded
    def new_experiment(self) -> None:
        def reset() -> None:
            from workbench.config import default_experiment

            self.setup.set_config(default_experiment())
            self._config_path = None
            self.statusBar().showMessage("New experiment: the built-in setup", 5000)

        self._when_core_ready(reset, "The setup resets")

    @guarded
    def open_config(self, path: str | Path | None = None) -> None:
        """Load an experiment TOML into the setup (a dialog asks when ``path`` is None)."""
        if not path:
            start = str(self._config_path.parent) if self._config_path else str(Path.cwd())
            path, _ = QFileDialog.getOpenFileName(
                self, "Open config", start, "Experiment (*.toml);;All files (*)"
            )
            if not path:
                return
        path = Path(path)
        self._when_core_ready(lambda: self._load_config_file(path), f"{path.name} opens")

    @guarded
    def open_dataset(self, path: str | Path | None = None) -> None:
        """Show a data set in the setup's data section (a folder dialog asks when ``path``
        is None; an annotation file can be chosen there with "File…")."""
        if not path:
            path = QFileDialog.getExistingDirectory(self, "Open dataset", str(Path.cwd()))
            if not path:
                return
        chosen = str(path)
        self._when_core_ready(lambda: self.setup.open_dataset(chosen), "The data set opens")
        self.statusBar().showMessage(f"Reading {chosen}…", 5000)

    def _load_config_file(self, path: Path) -> None:
        from workbench.config import ConfigError
        from workbench.experiment_check import load_config

        try:
            cfg = load_config(path)
        except (ConfigError, OSError) as exc:
            self.show_error("Cannot open config", f"{path}:\n{exc}")
            return
        from workbench.training.experiment import absolute_paths

        # the app's working folder is wherever it was started from (a desktop launcher's):
        # a config's relative data paths are read from the config's own folder
        relative = absolute_paths(cfg, base=path.parent.resolve())
        self.setup.set_config(cfg)
        self._config_path = path
        if relative:
            self.statusBar().showMessage(
                f"Opened {path}; its relative paths ({', '.join(relative)}) are read from its folder "
                f"{path.parent.resolve()} and saved as absolute paths",
                15000,
            )
        else:
            self.statusBar().showMessage(f"Opened {path}", 5000)

    @guarded
    def save_config(self, path: str | Path | None = None) -> None:
        """Save the setup as TOML (a dialog asks when ``path`` is None)."""
        if not self.core_ready:
            self.statusBar().showMessage("PyTorch is still loading; the setup is not ready to save yet", 5000)
            return
        cfg = self.setup.config()
        if not path:
            default = self._config_path or (Path.cwd() / f"{cfg.name}.toml")
            path, _ = QFileDialog.getSaveFileName(
                self, "Save config", str(default), "Experiment (*.toml);;All files (*)"
            )
            if not path:
                return
        path = Path(path)
        if not path.suffix:
            path = path.with_suffix(".toml")
        from workbench.experiment_check import save_config

        try:
            save_config(cfg, path)
        except OSError as exc:
            self.statusBar().showMessage(f"Not saved: {path}", 8000)  # never "Saved" from before
            self.show_error("Cannot save config", f"{path}:\n{exc.strerror or exc}")
            return
        self._config_path = path
        self.statusBar().showMessage(f"Saved {path}", 5000)

    # ================================================================== runs
    @guarded
    def open_run(self, path: str | Path | None = None) -> None:
        """Show a run folder (a dialog asks when ``path`` is None)."""
        if not path:
            path = QFileDialog.getExistingDirectory(self, "Open run", str(self.runs_root()))
            if not path:
                return
        self.show_run(Path(path))

    @guarded
    def show_run(self, path: str | Path) -> None:
        """Load a run from disk into the plots and the inspector (RunsPanel.openRun)."""
        path = Path(path)
        if self._is_live_run(path):
            self.show_live_run()
            return
        self._when_core_ready(lambda: self._load_run(path), f"Run {path.name} opens")

    def _load_run(self, path: Path) -> bool:
        from workbench.fsutil import os_reason
        from workbench.training.run_store import RunFileError, RunStore

        self._stop_following()
        self._rewatch.stop()
        store = RunStore(path)
        try:
            looks_like_a_run = store.summary_path.exists() or store.config_path.exists()
        except OSError as exc:  # a folder it may not look into: one line, no traceback
            self._open_failed(path)
            self.show_error("Cannot open run", f"Cannot open run {path}: {os_reason(exc)}.")
            return False
        if not looks_like_a_run:
            reason = store.not_a_run_reason() or f"{path} is not a run folder"
            self.show_error("Cannot open run", f"{reason}.")
            return False
        try:
            summary = store.read_summary()
            follow = store.effective_status(summary) in ("running", "paused") and not self._is_live_run(path)
            series = None
            if follow:
                records = self._follow(path)
            else:  # a long log takes a second or more to parse: the window keeps painting
                records, series = off_thread(lambda: _read_run(store))
            self.compare_view.clear()
            self.plots.clear()
            self.plots.load_run(store, records, series)
            self.conflict_view.clear()
            self.conflict_view.add_records(records)
            self.inspector.clear()
            self.inspector.load_run(store)  # also hands the run's checkpoint to "Open image…"
        except (OSError, RunFileError) as exc:  # a file it cannot read: said in one line
            self._open_failed(path)
            where = f"{exc.filename}: " if isinstance(exc, OSError) and exc.filename else ""
            self.show_error("Cannot open run", f"Run {path} could not be loaded: {where}{os_reason(exc)}")
            return False
        except Exception as exc:
            log.exception("opening run %s failed", path)
            self._open_failed(path)
            self.show_error(
                "Cannot open run", f"Run {path} could not be loaded:\n{exc}", traceback.format_exc()
            )
            return False
        self._shown_run = path
        self._live_view = self.bridge.is_running() and self._is_live_run(path)
        name = summary.get("name", path.name)
        self.setWindowTitle(f"{APP_NAME} — {name} ({path.name})")
        note = (
            "  The live run continues; View ▸ Show live run returns to it."
            if self.bridge.is_running()
            else ""
        )
        if self._follower is not None:
            note = "  It is being written by another process: the views follow it (read-only)."
        if store.skipped_lines:  # damaged lines (a disk that filled, a hand edit): left out, said
            note += f"  {store.skipped_lines} damaged line(s) of metrics.jsonl were left out."
        status = store.effective_status(summary)  # "interrupted" when its process is gone
        steps = summary.get("global_step")
        if not records and isinstance(steps, int) and steps > 0:
            # a log emptied or lost (a disk that filled, a copy without it) is not "no steps yet"
            lost = f"Its log metrics.jsonl is empty or missing, though the run trained {steps} step(s)"
            self.plots.set_empty_note(f"{lost}: no curves to draw.")
            note += f"  {lost}: no curves (its summary's metrics are in the Runs table)."
        self.status_line.show_named("Showing run ", path.name, f" ({status}).{note}", 8000)
        self._update_actions()
        if self._follower is None and status != "finished":
            self._watch_for_resume(path)  # `workbench resume` in a terminal: followed when it starts
        return True

    def _open_failed(self, path: Path) -> None:
        """Nothing half-shown of a run that failed to open (or of the run before) stays."""
        for view in (self.plots, self.conflict_view, self.inspector):
            with contextlib.suppress(Exception):
                view.clear()
        self._shown_run = None
        self._update_actions()
        self.setWindowTitle(APP_NAME)
        self.status_line.show_named("Could not open run ", path.name, ".", 8000)  # not "Showing" the last one

    def _follow(self, path: Path) -> list[dict[str, Any]]:
        """Follow a run another process writes (a headless or torchrun job); its records so far."""
        from workbench.gui.run_follower import RunFollower

        follower = RunFollower(path, parent=self)
        follower.step.connect(self.plots.on_step)
        follower.step.connect(self.conflict_view.on_step)
        follower.epoch.connect(self.plots.on_epoch)
        follower.samples.connect(self.inspector.on_samples)
        follower.restarted.connect(lambda: self._load_run(path))  # resumed: its log was cut back
        follower.ended.connect(lambda status: self._on_followed_end(path, status))
        follower.damaged.connect(
            lambda n: self.statusBar().showMessage(
                f"Run {path.name}: {n} damaged line(s) of metrics.jsonl were left out.", 15000
            )
        )
        self._follower = follower
        records = follower.start()
        self._budget_for_followed(path)
        return records

    def _budget_for_followed(self, path: Path) -> None:
        """A run that another process trains on this machine takes the cores like one
        trained here: drawing it gets the same budget (redraw_pacer.draw_budget)."""
        import socket
        from types import SimpleNamespace

        from workbench.training.run_lock import read_lock
        from workbench.training.run_store import RunStore

        lock = read_lock(path)
        if self.bridge.is_running() or lock is None or lock.host != socket.gethostname():
            return  # the app's own run set the budget, or the job runs elsewhere
        store = RunStore(path)
        try:
            config = store.read_config_dict()
            device = str(
                store.read_summary().get("device") or (config.get("train") or {}).get("device", "cpu")
            )
        except Exception:  # noqa: BLE001 - unreadable: keep the budget, the follower reports the run
            return
        self.plots.set_training(SimpleNamespace(config=config, device=device))

    def _on_followed_end(self, path: Path, status: str) -> None:
        self.runs.refresh()
        self._stop_following()
        if status == "deleted":  # what was read stays drawn; nothing acts on a folder that is gone
            self.statusBar().showMessage(
                f"Run {path.name} was moved or deleted while shown (its folder is gone): its curves "
                "stay until another run opens.",
                15000,
            )
            self._shown_run = None
            self.setWindowTitle(f"{APP_NAME} — {path.name} (moved or deleted)")
            self._update_actions()
            return
        self.status_line.show_named("Run ", path.name, f" ended ({status}).", 10000)
        self._watch_for_resume(path)

    def _watch_for_resume(self, path: Path) -> None:
        """Look every 3 s whether the shown, unfinished run ``path`` is trained again by
        another process (``workbench resume``), and follow it then. Armed for a followed
        run that ended, a stopped run opened from the list, and the app's own run once it
        stopped: that one stayed "Stopped at step 12" while a terminal finished it."""
        self._rewatch.setProperty("path", str(path))
        self._rewatch_seen = _progress_mark(path)
        self._rewatch.start()

    def _check_resumed(self) -> None:
        """The unfinished run shown: is it live again (``workbench resume``)? Or did another
        process train it on between two looks (a short resume that began and ended within
        3 s): then it is read again as it is now."""
        from workbench.training.run_store import LIVE_STATUSES, RunStore

        path = Path(self._rewatch.property("path") or "")
        if (
            self._shown_run is None
            or not _same_path(self._shown_run, path)
            or self._follower is not None
            or self._is_live_run(path)  # the app trains it again itself
        ):
            self._rewatch.stop()
            return
        try:
            live = RunStore(path).effective_status() in LIVE_STATUSES
        except Exception:  # noqa: BLE001 - a summary being rewritten: next tick
            return
        moved_on = _progress_mark(path) != self._rewatch_seen
        if (live or moved_on) and not self._is_live_run(path):
            self._rewatch.stop()
            if not self.bridge.is_running():  # the bar and state spoke of the app's run that stopped
                self.training_bar.reset(f"{path.name}: trained by another process")
                self.state_label.setText("Idle")
            self._load_run(path)
            if live:
                self.status_line.show_named("Run ", path.name, " was resumed: following it again.", 8000)
            else:
                status = RunStore(path).effective_status()
                self.statusBar().showMessage(
                    f"Run {path.name} was trained on by another process: showing it as it is now ({status}).",
                    15000,
                )

    def _check_shown_run_still_there(self) -> None:
        """Say once when the folder of the run shown (or of a compared one) is removed: the
        curves and predictions stay as read, but nothing more can be read from it."""
        table = self.compare_view.table()
        for facts in getattr(table, "facts", None) or []:
            compared = Path(facts.path)
            if not compared.exists() and compared != self._shown_run and compared not in self._compared_gone:
                self._compared_gone.add(compared)
                self.statusBar().showMessage(
                    f"Run folder {compared.name} (compared) was removed: showing what was read before.", 0
                )
        run = self._shown_run
        if run is None or (self._live_view and self.bridge.is_running()):
            return
        if run.exists():
            self._gone_said = None
            return
        if self._gone_said == run:
            return
        self._gone_said = run
        self.plots.run_label.setText(f"(removed) {run.name}")
        self.plots.run_label.setToolTip(f"{run} was removed from disk")
        # short: a status bar cuts what does not fit
        self.status_line.show_named("Run folder ", run.name, " was removed: showing what was read before.", 0)

    def _stop_following(self) -> None:
        if self._follower is not None:
            self._follower.stop()
            self._follower.deleteLater()
            self._follower = None
            if not self.bridge.is_running():
                self.plots.set_training(None)

    def following(self) -> Path | None:
        """The run folder followed (written by another process), or None."""
        return None if self._follower is None else self._follower.store.path

    def _offer_checkpoint(self, store: Any) -> None:
        """Let the inspector run the run's best (else last) weights on new images."""
        for ckpt in (store.best_checkpoint, store.last_checkpoint):
            if ckpt.exists():
                self.inspector.set_checkpoint(ckpt, store.read_config())
                return

    @guarded
    def compare_runs(self, paths: list) -> None:
        """Compare runs (RunsPanel.compareRuns): a table of them above their overlaid curves.

        The run shown now (live or opened) stays drawn with solid lines and heads the table;
        the others are overlaid once each, dashed. With nothing shown, the first run opens.
        """
        paths = [Path(p) for p in paths]
        if not paths:
            return
        current = self._shown_run if self._shown_run is not None and self._shown_run.exists() else None
        if current is None:
            if not self._core_ready_or_queue(lambda: self.compare_runs(paths), "The comparison opens"):
                return
            if not self._load_run(paths[0]):
                return
            current = paths[0]
        others: list[Path] = []
        for p in paths:  # a run named twice is compared once (it would be marked best twice)
            if not _same_path(p, current) and not any(_same_path(p, o) for o in others):
                others.append(p)

        def read() -> tuple[list, list, list]:  # in a helper thread: logs of many runs are slow to parse
            facts, series, problems = [], [], []
            for path in [current, *others]:
                try:
                    fact, log_records, note = self._compare_facts(path, with_records=path is not current)
                except Exception as exc:
                    problems.append(f"{path}: {exc}")
                    continue
                if note:
                    problems.append(note)
                facts.append(fact)
                series.append(series_from_records(log_records, for_compare=True))
            return facts, series, problems

        facts, records, problems = off_thread(read)
        from workbench.analysis.compare import compare_table, run_labels

        if facts and _same_path(Path(facts[0].path), current):
            labels = run_labels(facts)
            self.compare_view.set_table(compare_table(facts, labels))
            # a run without any logged record (its log emptied or lost) has no curves: it
            # stays in the table, and is said, not listed in the legend as drawn
            pairs = list(zip(labels[1:], records[1:], strict=True))
            no_log = [label for label, series in pairs if not any(len(b) for b in series.buffers.values())]
            self.plots.set_compare_runs([p for p in pairs if p[0] not in no_log], current_label=labels[0])
            self.tabs.setCurrentWidget(self.curves_tab)
            folded = self._fit_compare_split(auto_fold=True)
            # again once the runs' key and the task boxes have their lines at this width
            QTimer.singleShot(0, lambda: self._fit_compare_split(auto_fold=True, say=True))
            drawn = 1 + len(self.plots.compare_labels())
            self.statusBar().showMessage(
                f"Comparing {len(facts)} run(s)"
                + (f": the curves of {drawn}, the table of all" if drawn < len(facts) else "")
                + (
                    f"; no curves for {', '.join(no_log)}: its log metrics.jsonl is empty or missing"
                    if no_log
                    else ""
                )
                + (f"; {FOLDED_NOTE}" if folded else ""),
                10000,
            )
        if problems:
            self.show_error("Some runs could not be compared", "\n".join(problems))

    def _core_ready_or_queue(self, action: Callable[[], None], what: str) -> bool:
        if self.core_ready:
            return True
        self._when_core_ready(action, what)
        return False

    @staticmethod
    def _compare_facts(path: Path, with_records: bool) -> tuple[Any, list[dict], str]:
        """A run's RunFacts (summary.json + config.toml with its defaults filled in), its
        metric records if asked, and a note ("" if none) when its config cannot be read:
        the run stays in the table with its results, its settings unknown (they were "—"
        in every column, each a difference, and nothing said why)."""
        import tomllib

        from workbench.analysis.compare import facts_from_summary
        from workbench.training.run_store import RunStore

        store = RunStore(path)
        if not Path(path).is_dir():
            raise ValueError("the folder is not there any more (deleted or moved)")
        if not store.summary_path.exists() and not store.config_path.exists():
            raise ValueError("not a run folder (no summary.json or config.toml)")
        summary = store.read_summary()
        summary = {**summary, "status": store.effective_status(summary)}  # a killed run: "interrupted"
        note = ""
        try:
            config = tomllib.loads(store.config_path.read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
            config = {}
            why = getattr(exc, "strerror", None) or str(exc).splitlines()[0]
            note = f"{store.config_path}: cannot be read ({why}); the run's settings are left out of the comparison"
        if config:
            from workbench.training.trainer import normalised_config

            # a default written out ("noise = 0.08") is no difference from one left out
            config = normalised_config(config)
        records = store.read_metrics() if with_records else []
        return facts_from_summary(path, summary, config), records, note

    @guarded
    def _fit_compare_split(self, auto_fold: bool = False, say: bool = False) -> bool:
        """Share the Curves tab between the comparison table and the plots.

        The table as tall as its rows, at most a third of the tab (it scrolls): on a
        1,024 x 700 screen it took all but 100 px. Where even its two-row minimum leaves
        the plots less than one row of ``PlotsPanel.MIN_ROW_PX`` (six long task names, the
        runs dock open), ``auto_fold`` folds it to its title row, unless the user has
        folded or unfolded it this session; the plots had 65 px. True when it folded it
        (``say``: and said so in the status bar).
        """
        view = self.compare_view
        total = sum(self.curves_tab.sizes())
        if not view.isVisibleTo(self) or total <= 0:
            return False
        need = self.plots.header_height() + self.plots.MIN_ROW_PX
        if view.table_shown():
            wanted = min(view.sizeHint().height(), max(120, total // 3))
            wanted = max(view.minimumSizeHint().height(), min(wanted, total - need))
            if auto_fold and not self._fold_chosen and total - wanted < need:
                self._auto_folding = True
                try:
                    view.set_table_shown(False)  # refits through _on_compare_table_toggled
                finally:
                    self._auto_folding = False
                if say:
                    self.statusBar().showMessage(FOLDED_NOTE[0].upper() + FOLDED_NOTE[1:], 10000)
                return True
        else:
            wanted = view.folded_height()
        self.curves_tab.setSizes([wanted, max(0, total - wanted)])
        return False

    def _on_compare_table_toggled(self, _shown: bool) -> None:
        if not self._auto_folding:
            self._fold_chosen = True
        self._fit_compare_split()

    def clear_comparison(self) -> None:
        self.plots.set_compare_runs([])
        self.compare_view.clear()

    @guarded
    def use_run_config(self, path: str | Path) -> None:
        """Copy a run's config into the setup (RunsPanel.useConfig)."""
        path = Path(path)

        def apply() -> None:
            from workbench.training.run_store import RunStore

            try:
                cfg = RunStore(path).read_config()
            except Exception as exc:
                self.show_error("Cannot use config", f"{path / 'config.toml'}:\n{exc}")
                return
            self.setup.set_config(cfg)
            self.status_line.show_named("Setup loaded from run ", path.name, "", 5000)

        self._when_core_ready(apply, "The run's config loads")

    @guarded
    def show_live_run(self) -> None:
        """Follow the live run again (reloads what it wrote so far, then streams)."""
        if not self.bridge.is_running() or self.bridge.run_dir is None:
            self.statusBar().showMessage("No run is in progress", 4000)
            return
        if self._live_view:
            self.tabs.setCurrentWidget(self.curves_tab)
            return
        from workbench.training.run_store import RunStore

        self._stop_following()
        store = RunStore(self.bridge.run_dir)
        self.compare_view.clear()
        self.plots.clear()
        self.inspector.clear()
        if self._live_started is not None:
            # Replay what the run wrote so far from one read of its log (drawn at once), and
            # remember how far it went: events already queued for us are on disk too and
            # must not be drawn twice.
            self.plots.on_run_started(dataclasses.replace(self._live_started, start_step=0))
            records = store.read_metrics()
            steps = [r.get("global_step", 0) for r in records if r.get("type") == "step"]
            epochs = [r.get("epoch", -1) for r in records if r.get("type") == "epoch"]
            self.plots.replay_records(records)
            self.conflict_view.clear()
            self.conflict_view.add_records(records)
            self._live_floor = (max(steps, default=0), max(epochs, default=-1))
            if store.sample_epochs():
                self.inspector.load_run(store)
            elif self._run_config is not None:
                self.inspector.set_tasks(self._build_tasks(self._run_config, store.path))
        self._live_view = True
        self._shown_run = self.bridge.run_dir
        self._update_title()
        self._update_actions()

    def _is_live_run(self, path: Path) -> bool:
        live = self.bridge.run_dir if self.bridge.is_running() else None
        if live is None:
            return False
        try:
            return Path(path).resolve() == Path(live).resolve()
        except OSError:
            return False

    # ================================================================== training
    @guarded
    def start_run(self) -> None:
        """Start training the setup's experiment (F5)."""
        blocker = self._start_blocker()
        if blocker:
            self.statusBar().showMessage(f"Cannot start: {blocker}", 8000)
            return
        from workbench.config import ConfigError, config_to_toml
        from workbench.experiment_check import validate_experiment
        from workbench.training.experiment import absolute_paths, path_problem

        cfg = self.setup.config()
        try:
            validate_experiment(cfg)
        except ConfigError as exc:
            self.show_error("The setup is not valid", str(exc))
            return
        absolute_paths(cfg)  # the run folder's config reads the same files from anywhere
        problem = path_problem(cfg)  # said before a run folder exists, naming the field
        if problem is not None:
            self.show_error("The setup is not valid", str(ConfigError(*problem)))
            return
        self.settings.setValue(KEY_CONFIG, config_to_toml(cfg))
        self._begin_run(lambda: self.bridge.start(cfg, self.runs_root()), cfg)

    @guarded
    def resume_run(self, path: str | Path) -> None:
        """Continue a stopped or killed run from its last checkpoint (RunsPanel.resumeRun)."""
        path = Path(path)
        if self.bridge.is_running():
            self.show_error("Cannot resume", "A run is in progress. Stop it before resuming another one.")
            return

        def go() -> None:
            from workbench.training.outcome import budget_spent
            from workbench.training.run_store import RunStore

            store = RunStore(path)
            if not store.last_checkpoint.exists() and not self.runs.can_resume(path):
                self.show_error("Cannot resume", f"{store.last_checkpoint} does not exist.")
                return
            more_time_s = None
            try:
                summary = store.read_summary()
            except Exception:  # noqa: BLE001 - the resume itself names a damaged summary
                summary = {}
            if budget_spent(summary):  # it would stop at once: ask for more time, as --time-limit
                more_time_s = self.ask_more_time(path, summary)
                if more_time_s is None:
                    return
            self._begin_run(
                lambda: self.bridge.start(None, None, resume_dir=path, more_time_s=more_time_s), None
            )

        self._when_core_ready(go, f"Run {path.name} resumes")

    def ask_more_time(self, path: Path, summary: dict[str, Any]) -> float | None:
        """How many more seconds a run that spent its time limit may train (0: no limit);
        None when the user cancels. (A resume of it was refused, with only the CLI's
        ``--time-limit`` named as the way on.)"""
        from PySide6.QtWidgets import QInputDialog

        elapsed = summary.get("elapsed_s")
        spent = f" after {elapsed / 60:.1f} min of training" if isinstance(elapsed, (int, float)) else ""
        minutes, ok = QInputDialog.getDouble(
            self,
            "More time",
            f"Run {path.name} stopped at its time limit{spent}.\n"
            "Train it for how many more minutes? (0: no limit)",
            10.0,
            0.0,
            7 * 24 * 60.0,
            1,
        )
        return minutes * 60.0 if ok else None

    def _begin_run(self, start: Callable[[], Path], cfg: ExperimentConfig | None) -> None:
        try:
            run_dir = start()
        except OSError as exc:
            self.show_error("Cannot start the run", f"The run folder could not be created:\n{exc}")
            return
        self._run_config = cfg
        self._run_outcome = ""
        self._live_view = True
        self._live_started = None
        self._live_floor = (0, -1)
        self._shown_run = run_dir
        self.training_bar.reset("Preparing data and model…")
        self.runs.set_live_run(run_dir)
        self.runs.refresh()
        self.tabs.setCurrentWidget(self.curves_tab)
        self.status_line.show_named("Starting ", run_dir.name, "…")
        self._update_title()
        self._update_actions()

    @guarded
    def toggle_pause(self) -> None:
        if not self.bridge.is_running():
            return
        self.bridge.toggle_pause()

    @guarded
    def stop_run(self) -> None:
        if not self.bridge.is_running():
            return
        preparing = self.bridge.state == "starting"  # no step yet: "after the current step" was wrong
        self.bridge.stop()
        if preparing:
            # a run still reading image files stops at the next file with nothing saved;
            # one past its read (synthetic data, or read already) stops before its first
            # step with a checkpoint: the run's end says which
            self.training_bar.set_message("Stopping… (before the first step)", sticky=True)
            self.statusBar().showMessage("Stopping before the run's first step…")
            return
        self.training_bar.set_message("Stopping… (saving the checkpoint)", sticky=True)
        self.statusBar().showMessage("Stopping after the current step; the checkpoint is saved…")

    def _build_tasks(self, cfg: ExperimentConfig, run_dir: Any) -> list:
        """TaskKind objects of a run on the classes it learned (for the inspector)."""
        from workbench.training.experiment import run_tasks

        return run_tasks(cfg, run_dir)

    # -- bridge slots (GUI thread)
    @guarded
    def _on_run_started(self, event: Any) -> None:
        cfg = from_dict(ExperimentConfig, event.config)
        self._run_config = cfg
        self._data_problems_met = 0  # in the data while training: said again when the run ends
        self._live_started = event
        self._live_floor = (0, -1)
        self.device_label.setText(f"Device: {event.device}")
        self.plots.set_training(event)  # whichever run is shown, drawing competes with this one
        self.training_bar.on_run_started(event)
        self._update_title()
        self.runs.set_live_run(Path(event.run_dir))
        self.runs.refresh()  # summary.json exists from now on: the run shows as running
        if not self._live_view:
            return
        self._stop_following()
        self.compare_view.clear()
        self.plots.clear()
        self.plots.on_run_started(event)
        self.conflict_view.clear()
        self.inspector.clear()
        try:
            from workbench.training.run_store import RunStore

            if event.start_step > 0:  # resumed: show the samples of the epochs done so far
                self.inspector.load_run(RunStore(event.run_dir))
            else:
                self.inspector.set_tasks(self._build_tasks(cfg, event.run_dir))
                self.inspector.set_run_folder(RunStore(event.run_dir))
        except Exception as exc:  # the run goes on; only the predictions view is affected
            log.exception("could not prepare the predictions view")
            self.statusBar().showMessage(f"Predictions view unavailable: {exc}", 8000)
        resumed = f", resumed at step {event.start_step}" if event.start_step else ""
        self.status_line.show_named(
            "Training ", Path(event.run_dir).name, f" on {event.device}{resumed}", 5000
        )

    def _on_step(self, event: Any) -> None:
        self.training_bar.on_step(event)
        if self._live_view and event.global_step > self._live_floor[0]:
            self.plots.on_step(event)
            self.conflict_view.on_step(event)

    @guarded
    def _on_epoch(self, event: Any) -> None:
        self.training_bar.on_epoch(event)
        if self._live_view and event.epoch > self._live_floor[1]:
            self.plots.on_epoch(event)
        epochs = self._run_config.train.epochs if self._run_config else "?"
        parts = []
        for task, metrics in event.val_metrics.items():
            for name, value in list(metrics.items())[:1]:
                shown = "undefined" if value is None else f"{value:.3f}"
                parts.append(f"{task}/{name} {shown}")
        best = " (best so far)" if event.is_best else ""
        # problems met reading this epoch's images (a mask value of no class) go first: the
        # metrics are in the plots, the problems nowhere else on screen
        data = event.data_note_short
        self._data_problems_met += event.data_problems
        self.statusBar().showMessage(
            (f"{data[0].upper()}{data[1:]} · " if data else "")
            + f"Epoch {event.epoch + 1}/{epochs} done in {event.seconds:.1f} s: {', '.join(parts)}{best}",
            10000,
        )

    @guarded
    def _on_samples(self, event: Any) -> None:
        if self._live_view:
            self.inspector.on_samples(event)

    def _on_paused(self, event: Any) -> None:
        if self.bridge.state == STOPPING:  # paused just before the stop arrived: it is stopping now
            return
        self.training_bar.on_paused(f"Paused at step {event.global_step} — F6 resumes")

    def _on_resumed(self, event: Any) -> None:
        if self.bridge.state != STOPPING:
            self.training_bar.clear_message()
        self.statusBar().showMessage(f"Resumed at step {event.global_step}", 3000)

    @guarded
    def _on_finished(self, event: Any) -> None:
        s = event.summary
        self._run_outcome = "Finished"
        best = ""
        monitor = s.get("monitor", "")
        task, _, metric = monitor.partition("/")
        value = s.get("best_metrics", {}).get(task, {}).get(metric)
        if isinstance(value, (int, float)) and int(s.get("best_epoch", -1)) >= 0:
            best = f"; best {monitor} {value:.3f} at epoch {int(s.get('best_epoch', 0)) + 1}"
        note = f" ({s['note']})" if s.get("note") else ""
        self.training_bar.finish(f"Finished in {format_duration(s.get('elapsed_s', 0))}{note}")
        met = self._data_problems_met
        data = (
            f"; {met} problem{'s' if met != 1 else ''} met in the data while training: import_report.txt "
            "in the run folder lists them"
            if met
            else ""
        )
        self.statusBar().showMessage(f"Run finished{note}{best}{data}", 15000)
        self._after_run_ended()

    @guarded
    def _on_stopped(self, event: Any) -> None:
        s = event.summary
        run_dir = self.bridge.run_dir
        if s.get("not_started"):  # stopped while its data was read: nothing was written
            self._run_outcome = "Not started"
            self.training_bar.finish("Stopped while reading the data — nothing saved")
            self._remove_if_empty = Path(run_dir) if run_dir is not None else None  # a new run's folder
            self.statusBar().showMessage(
                "Run stopped while reading the data, before its first step; nothing was saved", 15000
            )
            self._after_run_ended(offer_checkpoint=False)
            return
        self._run_outcome = "Stopped"
        kept = "checkpoint kept" if self._has_checkpoint() else "no checkpoint yet"
        self.training_bar.finish(f"Stopped at step {s.get('global_step', '?')} — {kept}")
        if run_dir is not None and not _same_path(Path(run_dir).parent, self.runs.root()):
            # the runs folder was changed while it trained: the list does not show it
            where = f"; it is in {run_dir} (the Runs panel shows {self.runs.root()}): open that folder to resume it"
        else:
            where = "; resume it from the Runs panel"
        self.statusBar().showMessage(f"Run stopped ({event.reason}){where}", 15000)
        self._after_run_ended()

    @guarded
    def _on_failed(self, event: Any) -> None:
        run_dir = self.bridge.run_dir
        if (getattr(event, "summary", None) or {}).get("not_started"):
            # refused before anything was written (a resume with nothing left, data that
            # cannot be read): not a failed run; a new run's empty folder goes
            self._run_outcome = "Not started"
            self.training_bar.finish("Not started")
            # removed once the run has ended (its lock file goes last); only when empty, so
            # a resumed run's folder stays
            self._remove_if_empty = Path(run_dir) if run_dir is not None else None
            if self.setup.data_section is not None:  # the files may have changed since they were read
                self.setup.data_section.reread()
            # said of a new run's empty folder only: a resumed run's folder holds its results
            details = (
                f"Run folder: {run_dir}" + (" (empty: it is removed)" if _empty_run_folder(run_dir) else "")
                if run_dir
                else ""
            )
            self.show_error("Run not started", event.error, details)
            self.statusBar().showMessage(f"Run not started: {event.error}", 15000)
            self._after_run_ended(offer_checkpoint=False)
            return
        self._run_outcome = "Failed"
        self.training_bar.finish("Failed")
        where = f"Run: {run_dir}\n\n" if run_dir else ""
        self.show_error("Training failed", event.error, f"{where}{event.origin}")
        self.statusBar().showMessage(f"Run failed: {event.error}", 15000)
        self._after_run_ended(offer_checkpoint=False)

    def _has_checkpoint(self) -> bool:
        run_dir = self.bridge.run_dir
        return run_dir is not None and (Path(run_dir) / "checkpoints" / "last.pt").exists()

    def _after_run_ended(self, offer_checkpoint: bool = True) -> None:
        self.runs.refresh()
        if offer_checkpoint and self._live_view and self.bridge.run_dir is not None:
            from workbench.training.run_store import RunStore

            try:
                self._offer_checkpoint(RunStore(self.bridge.run_dir))
            except Exception:
                log.exception("could not hand the checkpoint to the inspector")

    def _on_running_changed(self, running: bool) -> None:
        if not running and self._remove_if_empty is not None:
            with contextlib.suppress(OSError):
                self._remove_if_empty.rmdir()
                # removed here, by the app: not a folder someone deleted ("was removed:
                # showing what was read before" followed the "Run not started" dialog)
                self._gone_said = self._remove_if_empty
                if self._shown_run == self._remove_if_empty:
                    self.plots.run_label.setText(f"(not started) {self._remove_if_empty.name}")
                    self.plots.run_label.setToolTip(
                        "the run ended before it wrote anything (refused, or stopped while its data was read)"
                    )
            self._remove_if_empty = None
        if not running:
            self.plots.set_training(None)
            self.training_bar.finish()
            self.runs.set_live_run(None)
            self.runs.refresh()
            self.state_label.setText(self._run_outcome or "Idle")
            ended = self.bridge.run_dir
            if (
                self._run_outcome in ("Stopped", "Failed")
                and ended is not None
                and self._shown_run is not None
                and _same_path(self._shown_run, ended)
                and Path(ended).is_dir()
            ):
                self._watch_for_resume(Path(ended))  # `workbench resume` in a terminal
            if self._close_when_stopped:
                self._close_when_stopped = False
                self._closing = False
                QTimer.singleShot(0, self.close)
        self._update_title()
        self._update_actions()

    def _on_state_changed(self, state: str) -> None:
        self.state_label.setText(STATE_TEXT.get(state, state.capitalize()))
        self._update_actions()

    # ================================================================== setup panel
    def _on_validity_changed(self, valid: bool, message: str) -> None:
        self._setup_valid = bool(valid)
        self._setup_error = message
        self._update_actions()

    def _on_config_changed(self, cfg: Any) -> None:
        if not self.bridge.is_running():
            self._update_title()

    # ================================================================== state of actions
    def _update_actions(self) -> None:
        running = self.bridge.is_running()
        state = self.bridge.state
        if self._closing:
            for action in (self.act_start, self.act_pause, self.act_stop, self.act_live, self.act_sweep):
                action.setEnabled(False)
            return
        reason = self._start_blocker()
        self.act_start.setEnabled(not reason)
        self.act_start.setToolTip("Start training (F5)" + (f"\nCannot start: {reason}" if reason else ""))
        paused = state in (PAUSING, PAUSED)
        self.act_pause.setEnabled(running and state != STOPPING)
        self.act_pause.setText("Resume" if paused else "Pause")
        sp = QStyle.StandardPixmap
        self.act_pause.setIcon(self.style().standardIcon(sp.SP_MediaPlay if paused else sp.SP_MediaPause))
        self.act_stop.setEnabled(running and state != STOPPING)
        self.act_live.setEnabled(running and not self._live_view)
        for action in (self.act_baselines, self.act_sweep, self.act_export_model):
            action.setEnabled(self.core_ready)

    def _start_blocker(self) -> str:
        """Why Start is unavailable right now ("" when it is available)."""
        if self._closing:
            return "the workbench is closing"
        if not self.core_ready:
            return "PyTorch is still loading" if self._loader is not None else "PyTorch is not loaded"
        if self.bridge.is_running():
            return "a run is in progress"
        if not self._setup_valid:
            return self._setup_error or "the setup is not valid"
        return ""

    def _update_title(self) -> None:
        if self._closing:
            self.setWindowTitle(f"{APP_NAME} — stopping…")
        elif self.bridge.is_running() and self.bridge.run_dir is not None and self._live_view:
            self.setWindowTitle(f"{APP_NAME} — training {self.bridge.run_dir.name}")
        elif self._shown_run is not None and not self._live_view:
            self.setWindowTitle(f"{APP_NAME} — {self._shown_run.name}")
        else:
            self.setWindowTitle(APP_NAME)

    # ================================================================== export, about
    @guarded
    def export_plots(self, path: str | Path | None = None) -> None:
        """Export the curves: .png / .svg image or .csv points (a dialog asks when ``path`` is None)."""
        filters = {"PNG image (*.png)": ".png", "SVG image (*.svg)": ".svg", "CSV points (*.csv)": ".csv"}
        if not path:
            default = self.runs_root() / "plots.png"
            path, chosen = QFileDialog.getSaveFileName(self, "Export plots", str(default), ";;".join(filters))
            if not path:
                return
            if Path(path).suffix.lower() not in filters.values():
                path = str(path) + filters.get(chosen, ".png")
        path = Path(path)
        suffix = path.suffix.lower()
        exporters = {".png": "export_png", ".svg": "export_svg", ".csv": "export_csv"}
        if suffix not in exporters:
            self.show_error("Cannot export", f"{path}: use a .png, .svg or .csv file name.")
            return
        path.parent.mkdir(parents=True, exist_ok=True)
        getattr(self.plots, exporters[suffix])(path)
        self.statusBar().showMessage(f"Exported {path}", 5000)

    def about_text(self) -> str:
        """Versions of everything that matters for reproducing a run, and the devices."""
        from PySide6 import __version__ as pyside_version
        from PySide6.QtCore import qVersion

        lines = [
            f"<b>{APP_NAME}</b> {__version__}",
            "Train, watch and compare multi-task networks.",
            "",
            f"Python {platform.python_version()} ({platform.system()} {platform.machine()})",
            f"Qt {qVersion()} · PySide6 {pyside_version}",
        ]
        for name in ("pyqtgraph", "numpy"):
            module = loaded_module(name)
            if module is not None:
                lines.append(f"{name} {getattr(module, '__version__', '?')}")
        torch = loaded_module("torch")
        if torch is not None and self.core_ready:
            cuda = f" (CUDA {torch.version.cuda})" if torch.version.cuda else " (no CUDA build)"
            lines.append(f"PyTorch {torch.__version__}{cuda}")
            for name in ("torchvision", "torchmetrics"):
                module = loaded_module(name)
                if module is not None:
                    lines.append(f"{name} {getattr(module, '__version__', '?')}")
            devices = self.core_info.get("devices") or []
            lines.append("Devices: " + ("; ".join(label for _, label in devices) or "none"))
        else:
            lines.append("PyTorch: not loaded yet")
        lines += ["", f"Runs folder: {self.runs_root().resolve()}", f"Settings: {self.settings.fileName()}"]
        return "<br>".join(_html_escape_keep_bold(line) for line in lines)

    @guarded
    def show_about(self) -> QMessageBox:
        box = QMessageBox(
            QMessageBox.Icon.Information,
            f"About {APP_NAME}",
            self.about_text(),
            QMessageBox.StandardButton.Ok,
            self,
        )
        box.setTextFormat(Qt.TextFormat.RichText)
        box.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        box.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        self._about_box = box
        box.open()
        return box

    # ================================================================== errors
    def show_error(self, title: str, text: str, details: str = "") -> QMessageBox | None:
        """A non-blocking error dialog; ``details`` goes behind its "Show Details…" button."""
        log.error("%s: %s", title, text)
        self.last_error = (title, text, details)
        self.errorShown.emit(title, text)
        if len(self._error_boxes) >= MAX_OPEN_ERROR_DIALOGS:  # an error storm: keep the screen usable
            self.statusBar().showMessage(f"{title}: {text.splitlines()[0] if text else ''}", 10000)
            return None
        box = QMessageBox(QMessageBox.Icon.Critical, title, text, QMessageBox.StandardButton.Ok, self)
        if details:
            box.setDetailedText(details)
        self._error_boxes.append(box)

        def done(_result: int, box: QMessageBox = box) -> None:
            if box in self._error_boxes:
                self._error_boxes.remove(box)
            box.deleteLater()

        box.finished.connect(done)
        box.open()
        return box

    def error_dialogs(self) -> list[QMessageBox]:
        """The error dialogs open now (tests close them with ``.accept()``)."""
        return list(self._error_boxes)

    def report_exception(self, where: str, exc: BaseException) -> None:
        """Log an unexpected exception and show it; the app carries on."""
        details = "".join(traceback.format_exception(type(exc), exc, exc.__traceback__))
        log.error("unexpected error in %s\n%s", where, details)
        try:
            self.show_error("Unexpected error", f"{type(exc).__name__}: {exc}", details)
        except Exception:
            log.exception("could not show the error dialog")

    # ================================================================== closing
    def _ask_stop_running(self) -> bool:
        answer = QMessageBox.question(
            self,
            "Quit",
            "A run is in progress. Stop it and quit? The last checkpoint is kept.",
            QMessageBox.StandardButton.Yes | QMessageBox.StandardButton.No,
            QMessageBox.StandardButton.No,
        )
        return answer == QMessageBox.StandardButton.Yes

    def _say_refused(self, line: str) -> None:
        with contextlib.suppress(RuntimeError):  # a window already deleted by Qt
            self.statusBar().showMessage(f"Not kept: {line}", 10_000)

    def focusNextPrevChild(self, next: bool) -> bool:  # noqa: N802, A002 - Qt override
        # Tab in reading order (toolbar, setup, tabs, runs), not in the order of creation
        regions = [self.run_toolbar, self.setup_dock, self.tabs, self.runs_dock]
        return focus_next(self, regions, next) or super().focusNextPrevChild(next)

    def closeEvent(self, event: QCloseEvent) -> None:  # noqa: N802 - Qt override
        """Quit: during a run the window stays up, "stopping…", until the run thread has ended.

        The run is asked to stop (it saves its checkpoint); the window closes itself once the
        thread has ended and its last events were delivered, so the process never outlives it.
        No nested event loop: a second Quit while stopping is simply ignored.
        """
        commands = self.running_commands()
        if commands and not self._closing:
            if self._stopping_commands:  # a second Quit while they stop: they are on their way
                event.ignore()
                return
            names = ", ".join(d.windowTitle() for d in commands)
            if not self.confirm_stop_commands(names):
                event.ignore()
                return
            # a command never goes on training without its window: each is asked to stop (it
            # saves its checkpoint), and the window closes once the last has ended; until
            # then it stays responsive and says so (waiting here froze it for 10-30 s)
            self._stopping_commands = True
            for dialog in commands:
                dialog.done.connect(self._close_when_commands_end)
                dialog.stop()
            QTimer.singleShot(self.command_stop_ms, self._kill_commands)
            self.statusBar().showMessage(f"Stopping {names}; the window closes when they have stopped…")
            self.setWindowTitle(f"{APP_NAME} — stopping…")
            event.ignore()
            return
        self._stopping_commands = False
        if self.bridge.is_running():
            event.ignore()
            if self._closing:
                self.statusBar().showMessage(self.STOPPING_TEXT)
                return
            if not self.confirm_close():
                return
            self._begin_closing()
            return
        self._closing = False
        self._close_when_stopped = False
        try:
            if self.remember_layout:
                self.write_settings()
        except Exception:
            log.exception("could not write the settings")
        # a data set still being read (seconds for a large one) is waited for with the window
        # already gone, so Quit answers at once
        self.hide()
        self._join_loader()
        self._shutdown_panels()
        for box in self._error_boxes:
            box.close()
        super().closeEvent(event)

    STOPPING_TEXT = "Stopping the run and saving its checkpoint; the window closes when it has stopped…"
    command_stop_ms = 30_000  # a command still running after this on Quit is killed

    def _close_when_commands_end(self, *_: object) -> None:
        if self._stopping_commands and not self.running_commands():
            self._stopping_commands = False
            self.close()

    def _kill_commands(self) -> None:
        for dialog in self.running_commands():
            dialog.process.kill()

    def running_commands(self) -> list[Any]:
        """The command dialogs (baselines, sweep, export) whose process still runs."""
        from workbench.gui.command_dialog import CommandDialog

        return [d for d in self.findChildren(CommandDialog) if d.running()]

    def confirm_stop_commands(self, names: str) -> bool:
        """Ask before quitting while commands run (tests replace this)."""
        answer = QMessageBox.question(
            self,
            "Quit",
            f"Still running: {names}. Stop them (each run keeps its checkpoint) and quit?",
        )
        return answer == QMessageBox.StandardButton.Yes

    def _begin_closing(self) -> None:
        self._closing = True
        self._close_when_stopped = True
        self.bridge.stop()
        self.training_bar.set_message("Stopping… (saving the checkpoint, then closing)", sticky=True)
        self.state_label.setText("Stopping…")
        self.statusBar().showMessage(self.STOPPING_TEXT)
        self.setWindowTitle(f"{APP_NAME} — stopping…")
        self._update_actions()

    def is_closing(self) -> bool:
        """True from a confirmed Quit during a run until the window closes."""
        return self._closing

    def shutdown(self) -> None:
        """Stop and join every thread (the application quits without our close, e.g. a session end)."""
        if self.bridge.is_running():
            self.bridge.stop()
            # the trainer stops between steps and validation batches: well within this
            self.bridge.wait(max(self.close_wait_ms * 30, 300_000))
        self._join_loader()
        self._shutdown_panels()

    def _shutdown_panels(self) -> None:
        """Let panels with background work (setup previews, ...) join their threads."""
        for panel in (self.setup, self.plots, self.inspector):
            hook = getattr(panel, "shutdown", None)
            if callable(hook):
                try:
                    hook()
                except Exception:
                    log.exception("%s.shutdown failed", type(panel).__name__)


def _read_run(store: Any) -> tuple[list[dict[str, Any]], Any]:
    """A run's metrics records and the plots' series built from them (Qt-free: off_thread)."""
    records = store.read_metrics()
    return records, series_from_records(records)


def _progress_mark(path: Path) -> tuple[Any, ...]:
    """What says a run was trained on: its summary's status and step (an empty tuple when
    it cannot be read)."""
    from workbench.training.run_store import RunStore

    try:
        summary = RunStore(path).read_summary()
    except Exception:  # noqa: BLE001 - being rewritten or gone: compared as unreadable
        return ()
    return (summary.get("status"), summary.get("global_step"))


def _same_path(a: str | Path, b: str | Path) -> bool:
    try:
        return Path(a).resolve() == Path(b).resolve()
    except OSError:
        return Path(a) == Path(b)


def _html_escape_keep_bold(line: str) -> str:
    import html

    if line.startswith("<b>"):
        return line
    return html.escape(line)


def _empty_run_folder(run_dir: str | Path | None) -> bool:
    """Whether ``run_dir`` holds nothing but its lock file (a run that never began)."""
    try:
        return run_dir is not None and not any(p.name != ".lock" for p in Path(run_dir).iterdir())
    except OSError:
        return False
