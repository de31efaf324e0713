"""The window from the keyboard: runs open with Enter, their menu comes with the Menu key,
every tab has a shortcut, and no two actions share one (Ctrl+E was "Export plots" in
the menu but did nothing: a second action had taken its name)."""

from __future__ import annotations

import pytest

pytest.importorskip("pytestqt")

from PySide6.QtCore import Qt  # noqa: E402
from PySide6.QtGui import QAction  # noqa: E402
from PySide6.QtWidgets import QApplication, QMenu  # noqa: E402


def test_no_two_actions_share_a_shortcut_and_each_is_in_a_menu(window):
    actions = [a for a in window.findChildren(QAction) if not a.shortcut().isEmpty()]
    keys = [a.shortcut().toString() for a in actions]
    assert len(keys) == len(set(keys)), sorted(keys)
    in_menus = {a for menu in window.menuBar().findChildren(QMenu) for a in menu.actions()}
    assert window.act_export_plots in in_menus and window.act_export_model in in_menus
    assert window.act_export_plots.shortcut().toString() == "Ctrl+E"
    assert "plots" in window.act_export_plots.text() and "model" in window.act_export_model.text()


def test_every_tab_has_a_shortcut(window, qtbot):
    for key, widget in ((Qt.Key.Key_3, window.conflict_view), (Qt.Key.Key_2, window.inspector)):
        window.activateWindow()
        qtbot.keyClick(window, key, Qt.KeyboardModifier.ControlModifier)
        assert window.tabs.currentWidget() is widget


def test_runs_open_with_enter_and_their_menu_comes_with_the_menu_key(qtbot, tmp_path):
    from test_gui_shell import _fake_run

    from workbench.gui.runs_panel import RunsPanel

    root = tmp_path / "runs"
    run = _fake_run(root, "alpha", "finished", 1_700_000_000.0, 0.91)
    panel = RunsPanel(root)
    qtbot.addWidget(panel)
    panel.show()
    panel.refresh()
    panel.tree.setFocus()
    panel.tree.setCurrentItem(panel.tree.topLevelItem(0))
    with qtbot.waitSignal(panel.openRun) as opened:
        qtbot.keyClick(panel.tree, Qt.Key.Key_Return)
    assert opened.args[0] == run
    # what the Menu key or Shift+F10 sends: a keyboard context-menu event at the middle of
    # the view, which is empty space below a single row (no menu came before)
    from PySide6.QtGui import QContextMenuEvent

    viewport = panel.tree.viewport()
    centre = viewport.rect().center()
    assert panel.tree.itemAt(centre) is None
    event = QContextMenuEvent(QContextMenuEvent.Reason.Keyboard, centre, viewport.mapToGlobal(centre))
    QApplication.sendEvent(viewport, event)
    menus = [w for w in QApplication.topLevelWidgets() if isinstance(w, QMenu) and w.isVisible()]
    assert menus and "Resume training" in [a.text() for a in menus[-1].actions()]
    menus[-1].close()


def test_reading_order_goes_row_by_row_whatever_the_order_of_creation(qtbot):
    """Widgets made bottom-right first still come top-left first; a field and a check box a
    few pixels lower share a row; a tall box beside them is not on their row."""
    from PySide6.QtWidgets import QCheckBox, QLineEdit, QPlainTextEdit, QWidget

    from workbench.gui.tab_order import reading_order

    top = QWidget()
    qtbot.addWidget(top)
    top.resize(400, 300)
    made = {}
    for name, cls, (x, y, w, h) in [
        ("bottom_right", QLineEdit, (200, 100, 100, 24)),
        ("bottom_left", QCheckBox, (10, 103, 100, 20)),  # 3 px lower, same row
        ("tall", QPlainTextEdit, (320, 0, 70, 200)),  # starts at the top, spans both rows
        ("top_right", QLineEdit, (200, 10, 100, 24)),
        ("top_left", QLineEdit, (10, 10, 100, 24)),
    ]:
        widget = cls(top)
        widget.setGeometry(x, y, w, h)
        made[name] = widget
    top.show()
    qtbot.waitExposed(top)
    names = {id(w): n for n, w in made.items()}
    order = [names[id(w)] for w in reading_order(top, [])]
    assert order == ["tall", "top_left", "top_right", "bottom_left", "bottom_right"]
    made["top_right"].setEnabled(False)
    made["tall"].hide()
    assert [names[id(w)] for w in reading_order(top, [])] == ["top_left", "bottom_left", "bottom_right"]


def test_tab_goes_through_the_setup_top_to_bottom_then_the_tabs_then_the_runs(window, qtbot):
    """The plot controls came before the experiment's name and the task rows (built once
    PyTorch had loaded) after the runs list: Qt's order is the order of creation."""
    window.activateWindow()
    setup = window.setup
    setup.name_edit.setFocus()
    content = setup.scroll.widget()
    regions = [window.run_toolbar, window.setup_dock, window.tabs, window.runs_dock]

    def region(widget) -> int:
        return next(i for i, r in enumerate(regions) if r is widget or r.isAncestorOf(widget))

    seen = [QApplication.focusWidget()]
    for _ in range(200):
        qtbot.keyClick(QApplication.focusWidget(), Qt.Key.Key_Tab)
        seen.append(QApplication.focusWidget())
        if seen[-1] is setup.name_edit:
            break
    assert seen[-1] is setup.name_edit, "Tab came back to the name field after one round"
    kinds = [region(w) for w in seen[:-1]]
    # setup, then the tabs, the runs, the toolbar, and round to the setup again
    changes = [kinds[0]] + [b for a, b in zip(kinds, kinds[1:], strict=False) if a != b]
    assert changes == [1, 2, 3, 0, 1]  # the last: the setup's scroll area, just above the name
    in_setup = [w for w in seen[:-1] if region(w) == 1 and content.isAncestorOf(w)]
    tops = [w.mapTo(content, w.rect().topLeft()).y() for w in in_setup]
    assert all(b >= a - 6 for a, b in zip(tops, tops[1:], strict=False)), tops  # never back up a row

    def text(widget) -> str:
        return widget.text() if hasattr(widget, "text") else ""

    headers = [text(w) for w in in_setup if w.objectName() == "sectionHeader"]
    assert headers[:3] == ["Data", "Backbone", "Tasks"]
    task_names = [text(w) for w in in_setup if text(w) in ("scene", "objects", "masks")]
    assert task_names == ["scene", "objects", "masks"]
    after_tasks = in_setup.index(next(w for w in in_setup if text(w) == "masks"))
    sharing = in_setup.index(next(w for w in in_setup if text(w) == "Parameter sharing"))
    assert after_tasks < sharing
    # Shift+Tab walks back the same way
    qtbot.keyClick(setup.name_edit, Qt.Key.Key_Backtab, Qt.KeyboardModifier.ShiftModifier)
    assert QApplication.focusWidget() is seen[-2]


def test_tab_never_stays_inside_a_table(window):
    """The comparison table took Tab from cell to cell (77 presses and still inside it):
    no view of the window keeps Tab for itself; arrows move within it."""
    from PySide6.QtWidgets import QAbstractItemView

    views = window.findChildren(QAbstractItemView)
    assert window.compare_view.grid in views
    assert [v.objectName() or type(v).__name__ for v in views if v.tabKeyNavigation()] == []


def test_every_control_has_a_name_a_screen_reader_can_say(window, qtbot):
    """Task rows' name fields and weights, icon buttons, sliders and tables had no
    accessible name: a screen reader said "edit", "0.60" or nothing."""
    from workbench.config import TaskConfig
    from workbench.gui.accessible_names import unnamed_controls

    cfg = window.setup.config()
    cfg.tasks.append(TaskConfig(name="count", kind="counting"))  # a row added later
    cfg.weighting.method = "dwa"  # a method's parameter fields, built later
    window.setup.set_config(cfg)
    for section in window.setup.sections.values():
        section.set_expanded(True)
    qtbot.wait(50)
    unnamed = [
        f"{type(w).__name__} {w.objectName()!r} {w.toolTip()[:30]!r}" for w in unnamed_controls(window)
    ]
    assert unnamed == [], unnamed
    rows = window.setup.task_rows if hasattr(window.setup, "task_rows") else None
    names = {w.accessibleName() for w in window.findChildren(type(window.setup.name_edit))}
    assert "counting task name" in names and "detection task name" in names
    # a field sharing its form row with a button is named by the row's label, not its help
    assert window.setup.model_section.weights_edit.accessibleName() == "Weights file"
    assert window.setup.data_section.path_edit.accessibleName() == "Path"
    assert window.compare_view.grid.accessibleName() == "Run comparison"
    # the plots' scroll area and plot widget take the focus once a run is shown
    assert window.plots._scroll.accessibleName() and window.plots.layout_widget.accessibleName()
    assert rows is None or rows


def test_keyboard_focus_starts_in_the_setup_once_it_is_editable(window, qtbot):
    """While PyTorch loaded the setup was disabled and Qt gave the focus to the first
    enabled control, the curves' smoothing slider; the first thing to fill in is the setup."""
    window.activateWindow()
    qtbot.waitUntil(lambda: QApplication.focusWidget() is not None, timeout=5_000)
    assert QApplication.focusWidget() is window.setup.name_edit


def test_dialogs_controls_are_named_as_the_focus_enters_each(window, qtbot, tmp_path):
    """The sweep dialog's Name, Methods and Seeds, the export dialog's two combo boxes and
    Qt's file dialogs had no accessible name: only the main window's controls were named.
    They are named as the focus enters the dialog, before a screen reader hears of it."""
    from PySide6.QtWidgets import QFileDialog

    from workbench.config import default_experiment
    from workbench.gui.accessible_names import unnamed_controls
    from workbench.gui.export_dialog import ExportDialog
    from workbench.gui.sweep_dialog import SweepDialog
    from workbench.weighting import WEIGHTINGS

    run = tmp_path / "run-1"
    (run / "checkpoints").mkdir(parents=True)
    (run / "checkpoints" / "last.pt").write_bytes(b"")
    files = QFileDialog(window, "Open")
    files.setOption(QFileDialog.Option.DontUseNativeDialog)  # Qt's own widgets, as on most Linux desktops
    for dialog in (
        SweepDialog(default_experiment(), 4, list(WEIGHTINGS.names()), tmp_path),
        ExportDialog(run),
        files,
    ):
        qtbot.addWidget(dialog)
        dialog.show()
        qtbot.waitExposed(dialog)
        assert unnamed_controls(dialog), "named before the focus entered it: the test shows nothing"
        dialog.activateWindow()  # as a window manager does with a new dialog
        qtbot.waitUntil(lambda d=dialog: d.isAncestorOf(QApplication.focusWidget()), timeout=5_000)
        unnamed = [f"{type(w).__name__} {w.objectName()!r}" for w in unnamed_controls(dialog)]
        assert unnamed == [], (type(dialog).__name__, unnamed)
        dialog.close()
    assert window.tabs.tabBar().accessibleName() == "Views"
