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
