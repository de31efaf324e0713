"""The status bar shortens a message that does not fit, marked "…", and keeps it whole
in its tooltip; a run's name is shortened before the message's end (its state)."""

from __future__ import annotations

from PySide6.QtWidgets import QLabel, QMainWindow

from workbench.gui.status_line import StatusLine

NAME = "six-tasks-uncertainty-weighting-a-long-name_v3-20261202-114040"


def _window(qtbot, width: int) -> tuple[QMainWindow, StatusLine]:
    window = QMainWindow()
    bar = StatusLine(window)
    window.setStatusBar(bar)
    bar.addPermanentWidget(QLabel("PyTorch 2.14.1+cu130, CUDA 13.0"))
    qtbot.addWidget(window)
    window.resize(width, 300)
    window.show()
    qtbot.waitExposed(window)
    return window, bar


def test_a_message_that_fits_is_shown_whole_without_tooltip(qtbot):
    _, bar = _window(qtbot, 900)
    bar.showMessage("Runs folder: /tmp/runs", 5000)
    assert bar.currentMessage() == "Runs folder: /tmp/runs"
    assert bar.full_message() == "Runs folder: /tmp/runs"
    assert bar.toolTip() == ""


def test_a_long_message_ends_in_an_ellipsis_within_its_room(qtbot):
    _, bar = _window(qtbot, 500)
    text = "Not kept: Learning rate: “15”: above the maximum 10; kept 0.002 " * 3
    bar.showMessage(text)
    shown = bar.currentMessage()
    assert shown != text and shown.endswith("…")
    assert text.startswith(shown[:-1])  # its start, then the mark
    assert bar.fontMetrics().horizontalAdvance(shown) <= bar.message_room()
    assert bar.full_message() == text and bar.toolTip() == text


def test_a_runs_name_is_shortened_in_its_middle_and_its_state_kept(qtbot):
    _, bar = _window(qtbot, 640)
    bar.show_named("Showing run ", NAME, " (finished).", 8000)
    shown = bar.currentMessage()
    assert shown.startswith("Showing run six-tasks") and shown.endswith("114040 (finished).")
    assert "…" in shown and len(shown) < len("Showing run " + NAME + " (finished).")
    assert bar.fontMetrics().horizontalAdvance(shown) <= bar.message_room()
    assert bar.full_message() == f"Showing run {NAME} (finished)."


def test_made_wider_the_message_is_whole_again_and_cleared_it_is_gone(qtbot):
    window, bar = _window(qtbot, 420)
    bar.show_named("Run ", NAME, " ended (finished).", 0)
    assert "…" in bar.currentMessage()
    window.resize(1400, 300)
    qtbot.waitUntil(lambda: bar.currentMessage() == f"Run {NAME} ended (finished).")
    assert bar.toolTip() == ""
    bar.clearMessage()
    assert bar.full_message() == "" and bar.toolTip() == ""


def test_a_message_set_before_the_window_shows_is_fitted_when_it_shows(qtbot):
    window = QMainWindow()
    bar = StatusLine(window)
    window.setStatusBar(bar)
    bar.addPermanentWidget(QLabel("Idle"))
    qtbot.addWidget(window)
    bar.showMessage("x" * 400)
    assert bar.currentMessage() == "x" * 400  # hidden: no width to fit yet
    window.resize(400, 200)
    window.show()
    qtbot.waitExposed(window)
    assert bar.currentMessage().endswith("…")
    assert bar.fontMetrics().horizontalAdvance(bar.currentMessage()) <= bar.message_room()
