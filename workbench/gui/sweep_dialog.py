"""Run → Sweep…: a series of experiments from the current setup, run in the background.

The dialog picks the axes (sharing depths, methods, seeds, and each task alone or all
together), writes SWEEP.toml beside a copy of the current experiment in
``RUNS/sweeps/``, and runs ``workbench sweep`` there in its own process. When it ends,
the sweep's table (mean ± std over seeds) and its charts are shown under the log.
"""

from __future__ import annotations

import contextlib
import csv
from pathlib import Path
from typing import Any

from PySide6.QtCore import Qt
from PySide6.QtGui import QPixmap
from PySide6.QtWidgets import (
    QCheckBox,
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QGridLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QListWidget,
    QListWidgetItem,
    QScrollArea,
    QSizePolicy,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from workbench.gui.command_dialog import CommandDialog
from workbench.gui.core_loader import loaded_module
from workbench.gui.dialog_fit import no_enter_default, resize_within_screen


class SweepDialog(QDialog):
    """Choose the axes; ``sweep_file()`` writes the TOML; ``run()`` starts it."""

    def __init__(
        self, config: Any, num_stages: int, methods: list[str], runs_root: Path, parent=None
    ) -> None:
        super().__init__(parent)
        self.setWindowTitle("Sweep")
        self.config = config
        self.runs_root = Path(runs_root)
        lay = QVBoxLayout(self)
        intro = QLabel(
            "Runs one experiment per combination, one after another, from the current setup. "
            "A stopped sweep continues where it stopped when run again with the same name."
        )
        intro.setWordWrap(True)
        lay.addWidget(intro)
        form = QFormLayout()
        self.name = QLineEdit(f"{config.name}-sweep")
        form.addRow("Name", self.name)
        depths = QWidget()
        grid = QHBoxLayout(depths)
        grid.setContentsMargins(0, 0, 0, 0)
        self.depths = []
        for d in range(num_stages + 1):
            box = QCheckBox(str(d))
            box.setChecked(True)
            box.setToolTip("0: nothing shared (independent networks); the last: hard parameter sharing")
            grid.addWidget(box)
            self.depths.append((d, box))
        form.addRow("Sharing depths", depths)
        self.methods = QListWidget()
        self.methods.setMaximumHeight(140)
        checked = None
        for m in self._grouped(methods):
            if m.startswith("#"):  # a group's heading, as in the setup's list
                heading = QListWidgetItem(m[1:])
                heading.setFlags(Qt.ItemFlag.NoItemFlags)
                font = heading.font()
                font.setBold(True)
                heading.setFont(font)
                self.methods.addItem(heading)
                continue
            item = QListWidgetItem(m)
            item.setFlags(item.flags() | Qt.ItemFlag.ItemIsUserCheckable)
            item.setCheckState(
                Qt.CheckState.Checked if m == config.weighting.method else Qt.CheckState.Unchecked
            )
            self.methods.addItem(item)
            if m == config.weighting.method:
                checked = item
        if checked is not None:  # the setup's method in view: it sat below the list's fold
            self.methods.setCurrentItem(checked)
            self.methods.scrollToItem(checked, QListWidget.ScrollHint.PositionAtCenter)
        form.addRow("Methods", self.methods)
        self.seeds = QLineEdit("0, 1, 2")
        self.seeds.setToolTip("Comma-separated seeds; comparisons show mean ± std over them")
        form.addRow("Seeds", self.seeds)
        self.alone = QCheckBox("also each task alone")
        form.addRow("Tasks", self.alone)
        self.baselines = QCheckBox("Δm against single-task baselines")
        self.baselines.setChecked(True)
        form.addRow("", self.baselines)
        lay.addLayout(form)
        self.count = QLabel("")
        lay.addWidget(self.count)
        buttons = QDialogButtonBox(
            QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel
        )
        buttons.button(QDialogButtonBox.StandardButton.Ok).setText("Run sweep")
        no_enter_default(self)  # Enter in Seeds must not start fifteen trainings
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        self.ok = buttons.button(QDialogButtonBox.StandardButton.Ok)
        lay.addWidget(buttons)
        for _, box in self.depths:
            box.toggled.connect(self._update_count)
        self.methods.itemChanged.connect(self._update_count)
        self.seeds.textChanged.connect(self._update_count)
        self.name.textChanged.connect(self._update_count)
        self.alone.toggled.connect(self._update_count)
        self._update_count()

    @staticmethod
    def _grouped(methods: list[str]) -> list[str]:
        """The method names in the setup's groups and order, each group after "#heading"
        (as they are given when the weighting registry cannot be read)."""

        from workbench.gui.weighting_section import method_groups

        registry = loaded_module("workbench.weighting")  # loaded with the core
        if registry is None:
            return list(methods)
        try:
            classes = [registry.WEIGHTINGS.get(m) for m in methods]
        except KeyError:
            return list(methods)
        return [
            n for title, group in method_groups(classes) for n in (f"#{title}", *(c.method for c in group))
        ]

    def axes(self) -> dict[str, Any]:
        seeds = []
        for part in self.seeds.text().replace(";", ",").split(","):
            part = part.strip()
            if part:
                seeds.append(int(part))  # ValueError: reported by _update_count
        tasks = [t.name for t in self.config.tasks]
        task_sets = [tasks] + ([[t] for t in tasks] if self.alone.isChecked() and len(tasks) > 1 else [])
        axes = {
            "sharing_depth": [d for d, box in self.depths if box.isChecked()],
            "methods": [
                self.methods.item(i).text()
                for i in range(self.methods.count())
                if self.methods.item(i).checkState() == Qt.CheckState.Checked
            ],
            "task_sets": task_sets,
        }
        if seeds:  # none given: the key is left out and the base's seed is used (as the sweep reads it)
            axes["seeds"] = seeds
        return axes

    def sweep_name(self) -> str:
        """The typed name as a run-folder name: ASCII letters, digits and ._+- (others become
        -), starting and ending with a letter or digit; "sweep" when nothing is left."""
        typed = self.name.text().strip()
        name = "".join(c if (c.isascii() and c.isalnum()) or c in "._+-" else "-" for c in typed)
        return name.strip("._+-") or "sweep"

    def _update_count(self) -> None:
        from workbench.config import ConfigError, TrainConfig, check_value, field_meta, validate_name

        try:
            axes = self.axes()
        except ValueError:
            self.count.setText("Seeds: whole numbers separated by commas.")
            self.ok.setEnabled(False)
            return
        from workbench.sweep.spec import check_distinct

        try:  # the checks the sweep itself makes, before any file is written
            for seed in axes.get("seeds", []):
                check_value("seeds", seed, field_meta(TrainConfig, "seed"))
            check_distinct("seeds", axes.get("seeds", []))
            validate_name("name", self.sweep_name())
        except ConfigError as exc:
            self.count.setText(f"{'Seeds' if exc.path == 'seeds' else 'Name'}: {exc.message}")
            self.ok.setEnabled(False)
            return
        n = (
            len(axes["sharing_depth"])
            * len(axes["methods"])
            * max(1, len(axes.get("seeds", [])))
            * len(axes["task_sets"])
        )
        self.ok.setEnabled(n > 0)
        shown = f" as {self.sweep_name()!r}" if self.sweep_name() != self.name.text().strip() else ""
        self.count.setText(
            f"{n} experiment{'' if n == 1 else 's'}{shown}"
            if n
            else "Pick at least one depth and one method."
        )

    def sweep_file(self) -> Path:
        """Write the current experiment and SWEEP.toml into RUNS/sweeps/; returns the sweep file."""
        import tomli_w

        from workbench.experiment_check import save_config

        folder = self.runs_root / "sweeps"
        folder.mkdir(parents=True, exist_ok=True)
        name = self.sweep_name()
        base = folder / f"{name}.base.toml"
        save_config(self.config, base)
        data = {"name": name, "base": base.name, "baselines": self.baselines.isChecked(), **self.axes()}
        path = folder / f"{name}.toml"
        path.write_text(tomli_w.dumps(data), encoding="utf-8")
        return path


class FitWidthImage(QLabel):
    """A chart as wide as its column (never wider than the image), its height following:
    charts drawn 760 px wide overflowed a dialog on a 1,024 px screen."""

    def __init__(self, pixmap: QPixmap, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._full = pixmap
        self.setMinimumWidth(160)
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Preferred)

    def hasHeightForWidth(self) -> bool:  # noqa: N802 - Qt override
        return not self._full.isNull()

    def heightForWidth(self, width: int) -> int:  # noqa: N802 - Qt override
        if self._full.isNull() or self._full.width() == 0:
            return 0
        return round(self._full.height() * min(width, self._full.width()) / self._full.width())

    def sizeHint(self):  # noqa: N802 - Qt override
        return self._full.size() if not self._full.isNull() else super().sizeHint()

    def resizeEvent(self, event) -> None:  # noqa: N802 - Qt override
        super().resizeEvent(event)
        if not self._full.isNull():
            width = min(self.width(), self._full.width())
            if self.pixmap().isNull() or self.pixmap().width() != width:
                self.setPixmap(self._full.scaledToWidth(width, Qt.TransformationMode.SmoothTransformation))


class SweepRunDialog(CommandDialog):
    """The sweep's log, then its table and charts."""

    def __init__(self, sweep_file: Path, out: Path, name: str, parent=None) -> None:
        super().__init__(f"Sweep {name}", ["sweep", str(sweep_file), "--out", str(out), "--quiet"], parent)
        self.folder = out / name
        self.done.connect(self._on_done)

    def _on_done(self, code: int) -> None:
        # a sweep refused at once (or stopped) wrote nothing new: an older sweep's table in the
        # same folder is not this one's result. A stopped sweep's table is current, and says so.
        if code == 0 or (self.folder / "table.csv").is_file() and self._wrote_table():
            self.show_results(partial=code != 0)

    def _wrote_table(self) -> bool:
        try:
            return (self.folder / "table.csv").stat().st_mtime >= self.started_at
        except OSError:
            return False

    def show_results(self, partial: bool = False) -> None:
        table_path = self.folder / "table.csv"
        if not table_path.is_file():
            return
        with table_path.open(encoding="utf-8") as fh:
            rows = list(csv.reader(fh))
        if not rows:
            return
        header, body = rows[0], rows[1:]
        shown = [i for i, h in enumerate(header) if not h.endswith("_std")]
        table = QTableWidget(len(body), len(shown))
        table.setTabKeyNavigation(False)  # Tab leaves the table; arrows move between cells
        table.setHorizontalHeaderLabels([header[i] for i in shown])
        for r, row in enumerate(body):
            for c, i in enumerate(shown):
                text = row[i]
                std_col = f"{header[i]}_std"
                if std_col in header and row[header.index(std_col)] not in ("", "0.0"):
                    with contextlib.suppress(ValueError):
                        text = f"{float(row[i]):.4g} ± {float(row[header.index(std_col)]):.2g}"
                table.setItem(r, c, QTableWidgetItem(text))
        table.resizeColumnsToContents()
        note = " so far (the sweep did not finish)" if partial else ""
        self.extra.addWidget(QLabel(f"Results in {self.folder}{note} (mean ± std over seeds):"))
        self.extra.addWidget(table)
        charts = QWidget()
        grid = QGridLayout(charts)
        for k, png in enumerate(sorted(self.folder.glob("*.png"))):
            label = FitWidthImage(QPixmap(str(png)))
            label.setToolTip(str(png))
            grid.addWidget(label, k, 0)
        scroll = QScrollArea()
        scroll.setWidgetResizable(True)  # the charts take the dialog's width: no sideways scrolling
        scroll.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        scroll.setWidget(charts)
        scroll.setMinimumHeight(260)
        self.extra.addWidget(scroll)
        resize_within_screen(self, max(self.width(), 900), max(self.height(), 800))
