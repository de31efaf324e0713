"""The runs browser: every run in the runs folder, with status and key metrics.

Double-click (or Open) emits ``openRun(Path)``; selecting several runs and pressing
Compare emits ``compareRuns(list[Path])``. The context menu adds Resume, "Use config in
setup", Copy path and Show folder. The table refreshes on demand, when the folder's
content changes, every few seconds while a listed run is live, and when the main window
tells it a run ended. A run whose files cannot be read is listed as "unreadable" with
the reason; nothing here raises into Qt.
"""

from __future__ import annotations

import dataclasses
import logging
import os
import time
from pathlib import Path
from typing import Any

from PySide6.QtCore import (
    QEvent,
    QFileSystemWatcher,
    QItemSelectionModel,
    QObject,
    QPoint,
    Qt,
    QTimer,
    QUrl,
    Signal,
)
from PySide6.QtGui import QAction, QBrush, QColor, QContextMenuEvent, QDesktopServices, QGuiApplication
from PySide6.QtWidgets import (
    QAbstractItemView,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QMenu,
    QPushButton,
    QSizePolicy,
    QTreeWidget,
    QTreeWidgetItem,
    QVBoxLayout,
    QWidget,
)

from workbench.gui.elided_label import ElidedLabel

log = logging.getLogger(__name__)

COLUMNS = (
    "Run",
    "Started",
    "Status",
    "Backbone",
    "Depth",
    "Weighting",
    "Tasks",
    "Best epoch",
    "Δm",
    "Key metrics",
)
(
    COL_NAME,
    COL_STARTED,
    COL_STATUS,
    COL_BACKBONE,
    COL_DEPTH,
    COL_WEIGHTING,
    COL_TASKS,
    COL_BEST,
    COL_DELTA,
    COL_METRICS,
) = range(len(COLUMNS))
NUMERIC_COLUMNS = (COL_DEPTH, COL_BEST, COL_DELTA, COL_METRICS)  # an unknown ("–") sorts last
PATH_ROLE = Qt.ItemDataRole.UserRole
SORT_ROLE = Qt.ItemDataRole.UserRole + 1
LIVE_STATUSES = ("running", "paused", "created")
RESUMABLE_STATUSES = ("stopped", "failed", "running", "paused", "interrupted")
STATUS_COLOURS = {
    "running": "#2b7bd6",
    "paused": "#b58900",
    "finished": "#2e9e44",
    "stopped": "#c77c0e",
    "interrupted": "#8e44ad",
    "failed": "#d03b3b",
    "unreadable": "#d03b3b",
}
STATUS_TIPS = {
    "interrupted": "The process that ran it is gone (killed or crashed); Resume continues it "
    "from its last checkpoint, or from the start when it has none.",
    "stopped": "Stopped by the user or a limit; Resume continues from its last checkpoint.",
    "running": "Training now (in this app or another process).",
    "paused": "Paused; it continues when resumed where it runs.",
}
LIVE_POLL_MS = 3000
IDLE_POLL_MS = 20_000


def format_metric(value: Any) -> str:
    if value is None:
        return "–"  # not measured yet, or undefined on this validation set
    try:
        v = float(value)
    except (TypeError, ValueError):
        return str(value)
    if v != 0 and (abs(v) >= 1000 or abs(v) < 0.001):
        return f"{v:.3g}"
    return f"{v:.3f}"


def _absolute(path: str | Path) -> Path:
    """``path`` made absolute against the current folder, once (the list never depends on it later)."""
    return Path(os.path.abspath(os.path.expanduser(str(path))))


def sweep_member_name(sweep: str, name: str) -> str:
    """``sweep › rest`` for a sweep's member, the sweep's name said once ("s › s-a-d3-s0"
    became "s › a-d3-s0"); ``name`` for a run of no sweep."""
    if not sweep:
        return name
    rest = name[len(sweep) + 1 :] if name.startswith(f"{sweep}-") and len(name) > len(sweep) + 1 else name
    return f"{sweep} › {rest}"


def delta_text(delta: dict[str, Any] | None, note: str = "") -> str:
    """Δm (Maninis convention, %) for a table cell; 'undefined' when the baselines were
    compared and it has none (``note`` says why); '–' before."""
    value = (delta or {}).get("maninis")
    if isinstance(value, (int, float)):
        return f"{value:+.2f} %"
    return "undefined" if note else "–"


def _delta_p_line(delta: dict[str, Any]) -> str:
    value = delta.get("libmtl")
    if isinstance(value, (int, float)):
        return f"Δp {value:+.2f} % (LibMTL, over every metric; higher is better)"
    why = str(delta.get("libmtl_note") or "undefined").removeprefix("undefined: ")
    return f"Δp (LibMTL) undefined: {why}" if why != "undefined" else "Δp (LibMTL) undefined"


def delta_tip(delta: dict[str, Any] | None, note: str = "") -> str:
    if not delta and note:  # the baselines were compared: why there is no Δm
        return f"Δm against single-task baselines is {note}"
    if not delta:
        return (
            "Δm against single-task baselines: run 'workbench baselines RUN' (or Run → Single-task baselines)"
        )
    lines = [
        f"Δm {delta['maninis']:+.2f} % (Maninis et al. 2019; lower is better)",
        _delta_p_line(delta),
        "per task, positive = better than single-task:",
    ]
    for task, change in (delta.get("per_task") or {}).items():
        metric = (delta.get("metric") or {}).get(task, "")
        lines.append(f"  {task} {metric}: {change:+.2f} %")
    return "\n".join(lines)


class _RunItem(QTreeWidgetItem):
    """Sorts by SORT_ROLE when set (dates by timestamp), else by text."""

    def __lt__(self, other: QTreeWidgetItem) -> bool:
        tree = self.treeWidget()
        column = tree.sortColumn() if tree is not None else 0
        a = self.data(column, SORT_ROLE)
        b = other.data(column, SORT_ROLE)
        if a is not None and b is not None:
            return a < b
        if (a is None) != (b is None) and column in NUMERIC_COLUMNS:  # "–" last either way
            from workbench.gui.compare_view import unknown_last

            return unknown_last(a is not None, tree)
        return self.text(column).lower() < other.text(column).lower()


class RunsPanel(QWidget):
    """A table of the runs under a root folder.

    Signals:
        openRun(Path): show this run (double-click, Open).
        compareRuns(list[Path]): overlay these runs' curves (Compare).
        resumeRun(Path): continue a stopped or killed run from its last checkpoint.
        useConfig(Path): load this run's config into the setup.
    """

    openRun = Signal(object)
    compareRuns = Signal(list)
    resumeRun = Signal(object)
    useConfig = Signal(object)

    def __init__(self, root: str | Path | None = None, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("RunsPanel")
        self._root = _absolute(root if root is not None else "runs")
        self._infos: dict[Path, Any] = {}
        self._listed: list[Any] = []  # what the table shows (a refresh that finds the same skips)
        self.rebuild_count = 0
        self._live_run: Path | None = None

        self.open_button = QPushButton("Open", self)
        self.open_button.setToolTip("Show the selected run's curves and predictions (double-click)")
        self.open_button.clicked.connect(self._open_selected)
        self.compare_button = QPushButton("Compare", self)
        self.compare_button.setToolTip(
            "Overlay the curves of the selected runs (select several with Ctrl/Shift)"
        )
        self.compare_button.clicked.connect(self._compare_selected)
        self.refresh_button = QPushButton("Refresh", self)
        self.refresh_button.setToolTip("Read the runs folder again")
        self.refresh_button.clicked.connect(self.refresh)
        # a long path shortened in its middle: the end names the folder (it was cut mid-word)
        self.root_label = ElidedLabel("", self, path=True)
        self.root_label.setObjectName("runsRootLabel")
        self.root_label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.root_label.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)

        top = QHBoxLayout()
        top.setContentsMargins(0, 0, 0, 0)
        for button in (self.open_button, self.compare_button, self.refresh_button):
            top.addWidget(button)
        top.addWidget(self.root_label, 1)

        self.tree = QTreeWidget(self)
        self.tree.setAccessibleName("Runs")
        self.tree.setObjectName("runsTable")
        self.tree.setColumnCount(len(COLUMNS))
        self.tree.setHeaderLabels(list(COLUMNS))
        self.tree.setRootIsDecorated(False)
        self.tree.setUniformRowHeights(True)
        self.tree.setAlternatingRowColors(True)
        self.tree.setSelectionMode(QAbstractItemView.SelectionMode.ExtendedSelection)
        self.tree.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.tree.setSortingEnabled(True)
        self.tree.sortByColumn(1, Qt.SortOrder.DescendingOrder)
        self.tree.setContextMenuPolicy(Qt.ContextMenuPolicy.CustomContextMenu)
        self.tree.customContextMenuRequested.connect(self._context_menu)
        self._menu_by_keyboard = False  # the Menu key / Shift+F10: the current row's menu
        self.tree.viewport().installEventFilter(self)
        # Enter as well as a double click (the platform's activation): a keyboard user opens runs too
        self.tree.itemActivated.connect(self._on_double_click)
        self.tree.itemSelectionChanged.connect(self._update_buttons)
        header = self.tree.header()
        # every column as wide as its text (the metrics too): a horizontal scroll bar rather
        # than cut-off values when the dock is narrow
        header.setStretchLastSection(False)
        header.setSectionResizeMode(QHeaderView.ResizeMode.Interactive)
        self.tree.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAsNeeded)
        # the middle: runs of one experiment or sweep share their names' start and differ
        # at the end ("…-equal_sum-d3-s0" against "…-d4-s0"), which must stay in sight
        self.tree.setTextElideMode(Qt.TextElideMode.ElideMiddle)

        self.message_label = QLabel(self)
        self.message_label.setObjectName("runsMessage")
        self.message_label.setWordWrap(True)
        self.message_label.hide()

        layout = QVBoxLayout(self)
        layout.setContentsMargins(4, 4, 4, 4)
        layout.addLayout(top)
        layout.addWidget(self.tree, 1)
        layout.addWidget(self.message_label)

        self._watcher = QFileSystemWatcher(self)
        self._watcher.directoryChanged.connect(self._schedule_refresh)
        self._debounce = QTimer(self)
        self._debounce.setSingleShot(True)
        self._debounce.setInterval(400)
        self._debounce.timeout.connect(self.refresh)
        self._live_poll = QTimer(self)
        self._live_poll.setInterval(LIVE_POLL_MS)
        self._live_poll.timeout.connect(self.refresh)
        # A folder watch sees runs come and go, not a summary rewritten inside a run (a sweep
        # or `workbench baselines` run from a terminal): a slow poll catches those. Cheap:
        # unchanged runs come from run_store's cache.
        self._idle_poll = QTimer(self)
        self._idle_poll.setInterval(IDLE_POLL_MS)
        self._idle_poll.timeout.connect(self._refresh_if_shown)
        self._idle_poll.start()
        self._update_root_label()
        self._update_buttons()

    # ------------------------------------------------------------------ public
    def root(self) -> Path:
        return self._root

    def set_root(self, path: str | Path) -> None:
        """Show the runs under ``path`` (it need not exist yet); kept as an absolute path."""
        self._root = _absolute(path)
        self._update_root_label()
        self.refresh()

    def set_live_run(self, path: str | Path | None) -> None:
        """Mark the run the app is training right now (drawn in bold)."""
        self._live_run = Path(path) if path is not None else None
        self._apply_live_marker()
        self._fit_columns()

    def refresh(self) -> None:
        """Read the runs folder again, keeping the selection."""
        try:
            self._refresh()
        except Exception as exc:  # never let a bad folder crash the app
            log.exception("refreshing the runs list failed")
            self.show_message(f"Cannot list runs in {self._root}: {exc}")

    def core_loaded(self) -> None:
        """Name the runs again: names made before the core loaded compare configs without
        their defaults ("path — · lookahead affinity —" for a run whose config predates a
        field), and a refresh that finds the same runs keeps what it shows."""
        self._listed = []
        self.refresh()

    def _refresh_if_shown(self) -> None:
        if self.isVisible() and not self._live_poll.isActive():
            self.refresh()

    def runs(self) -> list[Any]:
        """The RunInfo of every listed run, in table order."""
        return [self._infos[p] for p in self._paths_in_order() if p in self._infos]

    def selected_paths(self) -> list[Path]:
        items = sorted(self.tree.selectedItems(), key=lambda it: self.tree.indexOfTopLevelItem(it))
        return [Path(it.data(0, PATH_ROLE)) for it in items]

    def select_paths(self, paths: list[Path]) -> None:
        wanted = {Path(p) for p in paths}
        self.tree.clearSelection()
        for i in range(self.tree.topLevelItemCount()):
            item = self.tree.topLevelItem(i)
            if Path(item.data(0, PATH_ROLE)) in wanted:
                item.setSelected(True)

    def can_resume(self, path: str | Path) -> bool:
        """A stopped, failed or interrupted run with a checkpoint (an interrupted one restarts without)."""
        path = Path(path)
        info = self._infos.get(path)
        if info is None or info.status not in RESUMABLE_STATUSES or path == self._live_run:
            return False
        return info.status == "interrupted" or (path / "checkpoints" / "last.pt").exists()

    def info(self, path: str | Path) -> Any:
        """The RunInfo of a listed run (None when not listed)."""
        return self._infos.get(Path(path))

    def show_message(self, text: str, note: bool = False) -> None:
        """Show (or with "" hide) one line under the table: a problem (red), or with
        ``note`` a plain remark (no runs yet: a first launch is no error)."""
        self.message_label.setText(text)
        if self.message_label.property("kind") != ("note" if note else "problem"):
            self.message_label.setProperty("kind", "note" if note else "problem")
            self.message_label.style().unpolish(self.message_label)  # the style sheet reads the property
            self.message_label.style().polish(self.message_label)
        self.message_label.setVisible(bool(text))

    def _say_empty(self) -> None:
        """Why the list is empty: the folder's problem (red), or a note (none yet, or runs
        one folder down)."""
        from workbench.training.run_store import no_runs_reason, runs_root_problem

        problem = runs_root_problem(self._root)
        if problem and not problem.endswith("a run started here creates it"):
            self.show_message(problem)
        else:
            self.show_message(problem or no_runs_reason(self._root), note=True)

    # ------------------------------------------------------------------ internals
    def _refresh(self) -> None:
        from workbench.training.run_store import list_runs, sweep_runs

        selected = set(self.selected_paths())
        current = self.tree.currentItem()
        current_path = Path(current.data(0, PATH_ROLE)) if current is not None else None
        infos = sorted(list_runs(self._root) + sweep_runs(self._root), key=lambda r: r.created, reverse=True)
        self._watch_root()
        if infos == self._listed and self.tree.topLevelItemCount() == len(infos):
            if not infos:  # the folder itself may have gone or come back: say which
                self._say_empty()
            self._poll_while_live(infos)  # a folder made by a run that is reading its data
            return  # nothing changed (the live poll mostly): no rebuild, no repaint
        self._listed = list(infos)
        self.rebuild_count += 1

        self.tree.setSortingEnabled(False)
        self.tree.clear()
        self._infos = {}
        problems = []
        names = [
            sweep_member_name(getattr(info, "sweep", ""), name)
            for info, name in zip(infos, self._names(infos), strict=True)
        ]
        for info, name in zip(infos, names, strict=True):
            self._infos[Path(info.path)] = info
            try:
                item = self._make_item(info, name)
            except Exception as exc:  # one odd summary must not empty the whole list
                log.exception("could not show the run %s", info.path)
                info = dataclasses.replace(info, status="unreadable", error=f"{type(exc).__name__}: {exc}")
                self._infos[Path(info.path)] = info
                item = _RunItem([name, "?", "unreadable", *["–"] * (len(COLUMNS) - 3)])
                item.setData(COL_NAME, PATH_ROLE, str(info.path))
                item.setToolTip(COL_NAME, f"{info.path}\n\n{info.error}")
            self.tree.addTopLevelItem(item)
            if Path(info.path) in selected:
                item.setSelected(True)
            if current_path is not None and Path(info.path) == current_path:
                self.tree.setCurrentItem(item, 0, QItemSelectionModel.SelectionFlag.NoUpdate)
            if info.status == "unreadable":  # the error names its file; else name the summary
                where = Path(info.path) / "summary.json"
                problems.append(info.error if str(info.path) in info.error else f"{where}: {info.error}")
        self.tree.setSortingEnabled(True)
        self._apply_live_marker()  # bold first: the live run's text is wider
        self._fit_columns()
        if not infos:  # an empty list must say why: deleted, unreadable, not yet made, none yet
            self._say_empty()
        elif problems:
            more = f" (and {len(problems) - 1} more)" if len(problems) > 1 else ""
            self.show_message(f"Unreadable run: {problems[0]}{more}")
        else:
            self.show_message("")
        self._poll_while_live(infos)
        self._update_buttons()

    def _poll_while_live(self, infos: list[Any]) -> None:
        live = any(info.status in LIVE_STATUSES for info in infos) or self._a_run_is_starting()
        if live and not self._live_poll.isActive():
            self._live_poll.start()
        elif not live:
            self._live_poll.stop()

    def _make_item(self, info: Any, name: str) -> _RunItem:
        created = float(info.created or 0.0)
        started = time.strftime("%Y-%m-%d %H:%M", time.localtime(created)) if created else "?"
        config = getattr(info, "config", None) or {}
        model = config.get("model", {}) if isinstance(config, dict) else {}
        backbone = getattr(info, "backbone", "") or model.get("backbone", "") or "–"
        depth = getattr(info, "sharing_depth", None)
        stages = getattr(info, "num_stages", 0) or 0
        raw = model.get("sharing_depth") if isinstance(model, dict) else None
        if isinstance(depth, int) and depth >= 0:
            depth_text, depth_sort = (f"{depth} of {stages}" if stages else str(depth)), depth
        elif raw == -1:
            depth_text, depth_sort = "full", 99
        elif isinstance(raw, int) and raw >= 0:
            depth_text, depth_sort = str(raw), raw
        else:
            depth_text, depth_sort = "–", None
        weighting = (
            getattr(info, "weighting", "") or (config.get("weighting", {}) or {}).get("method", "") or "–"
        )
        best = getattr(info, "best_epoch", -1)
        best = best if isinstance(best, int) else -1
        done = getattr(info, "epochs_done", 0) or 0
        best_text = (f"{best + 1} of {done}" if done else str(best + 1)) if best >= 0 else "–"
        metrics = "   ".join(f"{k} {format_metric(v)}" for k, v in info.key_metrics.items() if v is not None)
        texts = (
            name,
            started,
            info.status,
            backbone,
            depth_text,
            weighting,
            ", ".join(info.tasks),
            best_text,
            delta_text(getattr(info, "delta_m", None), getattr(info, "delta_m_note", "")),
            metrics or "–",
        )
        item = _RunItem([str(t) for t in texts])
        item.setData(COL_NAME, PATH_ROLE, str(info.path))
        item.setData(COL_STARTED, SORT_ROLE, created)
        item.setData(COL_DEPTH, SORT_ROLE, depth_sort)
        item.setData(COL_BEST, SORT_ROLE, best if best >= 0 else None)
        delta = getattr(info, "delta_m", None) or {}
        maninis = delta.get("maninis")
        item.setData(COL_DELTA, SORT_ROLE, float(maninis) if isinstance(maninis, (int, float)) else None)
        item.setToolTip(COL_DELTA, delta_tip(delta, getattr(info, "delta_m_note", "")))
        first = next(iter(info.key_metrics.values()), None)
        item.setData(COL_METRICS, SORT_ROLE, float(first) if isinstance(first, (int, float)) else None)
        tip = f"{info.name}\n{info.path}"
        if info.error:
            tip += f"\n\n{info.error}"
        item.setToolTip(COL_NAME, tip)
        item.setToolTip(
            COL_STARTED, time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(created)) if created else ""
        )
        status_tip = STATUS_TIPS.get(info.status, info.status)
        item.setToolTip(COL_STATUS, f"{status_tip}\n\n{info.error}" if info.error else status_tip)
        for column in (COL_BACKBONE, COL_DEPTH, COL_WEIGHTING, COL_TASKS):
            item.setToolTip(column, texts[column])
        item.setToolTip(
            COL_BEST, "best epoch (1-based) of the epochs done" if best >= 0 else "no epoch done yet"
        )
        higher = getattr(info, "higher_is_better", None) or {}
        lines = []
        for key, value in info.key_metrics.items():
            task = key.split("/", 1)[0]
            note = (
                ""
                if task not in higher
                else (" (higher is better)" if higher[task] else " (lower is better)")
            )
            lines.append(f"{key}: {format_metric(value)}{note}")
        item.setToolTip(COL_METRICS, "\n".join(lines) if lines else "no metrics yet")
        colour = STATUS_COLOURS.get(info.status)
        if colour:
            item.setForeground(COL_STATUS, QBrush(QColor(colour)))
        return item

    def _fit_columns(self) -> None:
        for column in range(len(COLUMNS)):
            self.tree.resizeColumnToContents(column)
            if column != COL_METRICS and self.tree.columnWidth(column) > 320:
                self.tree.setColumnWidth(column, 320)

    def metrics_fully_shown(self) -> bool:
        """Whether the key-metrics column is as wide as its longest text (tests)."""
        fm = self.tree.fontMetrics()
        items = [self.tree.topLevelItem(i) for i in range(self.tree.topLevelItemCount())]
        needed = max((fm.horizontalAdvance(it.text(COL_METRICS)) for it in items), default=0)
        return self.tree.columnWidth(COL_METRICS) >= needed

    @staticmethod
    def _names(infos: list[Any]) -> list[str]:
        """Names that tell runs of one experiment apart ("exp · depth 2", else the start time).

        Once the core is loaded the configs are compared with their defaults filled in (as
        Compare does): a default written out ("noise = 0.08") named the run as different.
        Before, torch is not imported for a name."""
        import dataclasses

        from workbench.analysis.compare import distinguishing_names, facts_from_info
        from workbench.gui.core_loader import loaded_module

        trainer = loaded_module("workbench.training.trainer")  # None while it is being imported
        try:
            facts = [facts_from_info(info) for info in infos]
            if trainer is not None:
                facts = [
                    dataclasses.replace(f, config=_normalised(trainer, info)) if f.config else f
                    for f, info in zip(facts, infos, strict=True)
                ]
            return distinguishing_names(facts)
        except Exception:  # never lose the list over a name
            log.exception("could not name the runs")
            return [str(info.name) for info in infos]

    def _apply_live_marker(self) -> None:
        for i in range(self.tree.topLevelItemCount()):
            item = self.tree.topLevelItem(i)
            live = self._live_run is not None and Path(item.data(0, PATH_ROLE)) == self._live_run
            font = item.font(0)
            if font.bold() != live:
                font.setBold(live)
                for column in range(len(COLUMNS)):
                    item.setFont(column, font)

    def _watch_root(self) -> None:
        # the runs folder, its sweeps folder and each sweep's runs: a new run anywhere shows up
        from workbench.training.run_store import SWEEPS_FOLDER, sweep_folders

        targets = [self._root, self._root / SWEEPS_FOLDER]
        targets += [p / "runs" for p in sweep_folders(self._root)]
        wanted = sorted(str(p) for p in targets if p.is_dir())
        watched = sorted(self._watcher.directories())
        if watched == wanted:
            return
        if watched:
            self._watcher.removePaths(watched)
        if wanted:
            self._watcher.addPaths(wanted)

    def _a_run_is_starting(self) -> bool:
        """A folder in a watched folder holds a live lock and no config.toml yet: a run
        started from a terminal reading its data. The folder watch fired when it was made,
        before it was a run, and the 20 s idle poll kept it out of the list; the live poll
        picks it up within seconds."""
        from workbench.training.run_lock import LOCK_NAME, lock_is_live, read_lock

        for target in self._watcher.directories():
            try:
                children = [c for c in Path(target).iterdir() if (c / LOCK_NAME).is_file()]
            except OSError:
                continue
            if any(not (c / "config.toml").exists() and lock_is_live(read_lock(c)) for c in children):
                return True
        return False

    def _schedule_refresh(self, *_: Any) -> None:
        self._debounce.start()

    def _paths_in_order(self) -> list[Path]:
        return [
            Path(self.tree.topLevelItem(i).data(0, PATH_ROLE)) for i in range(self.tree.topLevelItemCount())
        ]

    def _update_root_label(self) -> None:
        self.root_label.setText(f"Folder: {self._root}")
        self.root_label.setToolTip(str(self._root.resolve()) if self._root else "")

    def _update_buttons(self) -> None:
        selected = self.tree.selectedItems()
        self.open_button.setEnabled(len(selected) == 1)
        self.compare_button.setEnabled(len(selected) >= 1)

    def _readable(self, path: Path) -> bool:
        info = self._infos.get(Path(path))
        if info is not None and info.status == "unreadable":
            self.show_message(f"Cannot open {Path(path) / 'summary.json'}: {info.error}")
            return False
        return True

    def _on_double_click(self, item: QTreeWidgetItem, _column: int) -> None:
        path = Path(item.data(0, PATH_ROLE))
        if self._readable(path):
            self.openRun.emit(path)

    def _open_selected(self) -> None:
        paths = self.selected_paths()
        if len(paths) == 1 and self._readable(paths[0]):
            self.openRun.emit(paths[0])

    def _compare_selected(self) -> None:
        paths = [p for p in self.selected_paths() if self._readable(p)]
        if paths:
            self.compareRuns.emit(paths)

    def eventFilter(self, obj: QObject, event: QEvent) -> bool:  # noqa: N802 - Qt override
        if event.type() == QEvent.Type.ContextMenu and obj is self.tree.viewport():
            self._menu_by_keyboard = event.reason() == QContextMenuEvent.Reason.Keyboard
        return False

    def _context_menu(self, pos: QPoint) -> None:
        item = self.tree.itemAt(pos)
        if self._menu_by_keyboard and self.tree.currentItem() is not None:
            # the Menu key or Shift+F10: the menu of the current row, shown at that row
            item = self.tree.currentItem()
            pos = self.tree.visualItemRect(item).center()
        if item is None:
            return
        path = Path(item.data(0, PATH_ROLE))
        info = self._infos.get(path)
        selected = self.selected_paths()
        menu = QMenu(self)

        def add(text: str, slot: Any, enabled: bool = True) -> QAction:
            action = menu.addAction(text)
            action.triggered.connect(slot)
            action.setEnabled(enabled)
            return action

        readable = info is None or info.status != "unreadable"
        add("Open", lambda: self._readable(path) and self.openRun.emit(path), readable)
        add(f"Compare {len(selected)} selected", self._compare_selected, bool(selected))
        menu.addSeparator()
        resumable = self.can_resume(path)
        add("Resume training", lambda: self.resumeRun.emit(path), resumable)
        add("Use config in setup", lambda: self.useConfig.emit(path), (path / "config.toml").exists())
        menu.addSeparator()
        add("Copy path", lambda: QGuiApplication.clipboard().setText(str(path.resolve())))
        add("Show folder", lambda: QDesktopServices.openUrl(QUrl.fromLocalFile(str(path.resolve()))))
        menu.popup(self.tree.viewport().mapToGlobal(pos))


_NORMALISED: dict[int, tuple[Any, dict[str, Any]]] = {}  # id(RunInfo) -> (info, its filled config)


def _normalised(trainer: Any, info: Any) -> dict[str, Any]:
    """``info.config`` with its defaults filled in, remembered per RunInfo object (the listing
    reuses the object while the run's files are unchanged): a refresh costs nothing more."""
    hit = _NORMALISED.get(id(info))
    if hit is not None and hit[0] is info:
        return hit[1]
    if len(_NORMALISED) > 4096:
        _NORMALISED.clear()
    filled = trainer.normalised_config(dict(info.config))
    _NORMALISED[id(info)] = (info, filled)
    return filled
