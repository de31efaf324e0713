"""Open the app in a given state for a screenshot (run under ../shared/tools/xshot).

    xshot -d 16 docs/screenshots/curves.png -- .venv/bin/python docs/screenshot_view.py curves RUN_DIR [OTHER_RUN ...]

Views: live (trains a short default experiment), curves, predictions, large, compare, setup, export,
dataset (``dataset PATH``: the setup's data section opened on a data set).
"compare RUN OTHER..." opens RUN and compares it with the others, at the default window size.
Settings go to a temporary file, so the user's own are untouched.
"""

from __future__ import annotations

import os
import sys
import tempfile
from pathlib import Path

from PySide6.QtCore import QSettings, QTimer
from PySide6.QtWidgets import QApplication

from workbench.gui.app import configure_app
from workbench.gui.main_window import MainWindow


def main() -> None:
    view = sys.argv[1]
    runs = [Path(p) for p in sys.argv[2:]] if sys.argv[1] != "dataset" else []
    dataset = sys.argv[2] if sys.argv[1] == "dataset" else ""
    app = QApplication(sys.argv[:1])
    configure_app(app)
    tmp = tempfile.mkdtemp()
    root = runs[0].parent if runs else Path(tmp) / "runs"
    window = MainWindow(settings=QSettings(f"{tmp}/s.ini", QSettings.Format.IniFormat), runs_root=root)
    window.confirm_close = lambda: True
    if view != "compare":  # the comparison is shown at the default window size (90% of the screen)
        area = app.primaryScreen().availableGeometry()  # a small screen gets a window that fits it
        window.resize(min(1440, area.width()), min(900, area.height()))
    window.show()

    def ready(_info: object) -> None:
        if view == "live":
            from workbench.config import default_experiment

            cfg = default_experiment()
            cfg.data.options["train_size"] = 480  # short epochs: a few done within the shot's delay
            cfg.data.options["val_size"] = 160
            window.setup.set_config(cfg)
            window.start_run()
            return
        if view == "setup":
            from workbench.config import TaskConfig

            cfg = window.setup.config()
            cfg.model.sharing_depth = 2
            cfg.tasks.append(TaskConfig(name="count", kind="counting"))
            window.setup.set_config(cfg)
            for key in ("data", "model"):
                window.setup.sections[key].set_expanded(False)
            QTimer.singleShot(800, lambda: window.setup.scroll.ensureWidgetVisible(window.setup.architecture))
        if view == "methods":
            cfg = window.setup.config()
            cfg.weighting.method = os.environ.get("SHOT_METHOD", "nash_mtl")
            cfg.weighting.params = {}
            cfg.model.sharing_depth = 0
            window.setup.set_config(cfg)
            for key in ("data", "model", "tasks", "optim", "train"):
                if key in window.setup.sections:
                    window.setup.sections[key].set_expanded(False)
            QTimer.singleShot(800, lambda: window.setup.scroll.ensureWidgetVisible(window.setup.weighting))
        if view == "dataset":
            cfg = window.setup.config()  # the tasks a VOC set labels: the scene class it has not
            cfg.tasks = [t for t in cfg.tasks if t.kind != "classification"]
            window.setup.set_config(cfg)
            for key in ("model", "tasks", "sharing", "weighting", "optim", "train"):
                if key in window.setup.sections:
                    window.setup.sections[key].set_expanded(False)
            window.open_dataset(dataset)
            QTimer.singleShot(
                6000, lambda: window.setup.scroll.ensureWidgetVisible(window.setup.preview, 20, 8)
            )
        if runs:
            window.open_run(runs[0])
        if view == "conflict":
            window.tabs.setCurrentWidget(window.conflict_view)
        if view in ("predictions", "large"):
            window.tabs.setCurrentWidget(window.inspector)
        if view == "large":
            QTimer.singleShot(1500, lambda: window.inspector.open_large_view(1))
        if view == "compare":
            window.compare_runs(runs)
        if view == "export":  # Run -> Export model..., the command's log with its latency table
            from workbench.gui.command_dialog import CommandDialog
            from workbench.gui.export_dialog import ExportDialog

            choice = ExportDialog(runs[0], window)
            choice.dynamic.setChecked(True)
            dialog = CommandDialog(f"Export of {runs[0].name}", choice.args(), window)
            dialog.resize(900, 560)
            dialog.show()

    window.coreLoaded.connect(lambda info: QTimer.singleShot(300, lambda: ready(info)))
    app.exec()


if __name__ == "__main__":
    main()
