"""A dialog that runs a headless ``workbench`` command (baselines, sweep) in its own process.

The command's output scrolls in the dialog; Stop sends SIGTERM, which the command handles
like Ctrl-C (the current run stops after its step and keeps its checkpoint; a sweep
continues from there next time). Closing the dialog while it runs (Close, Escape, the
window's close button) asks first. A separate
process keeps the app responsive and leaves the app's own training thread alone.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Sequence

from PySide6.QtCore import QProcess, QProcessEnvironment, Signal
from PySide6.QtGui import QFont
from PySide6.QtWidgets import (
    QDialog,
    QDialogButtonBox,
    QLabel,
    QMessageBox,
    QPlainTextEdit,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from workbench.gui.dialog_fit import resize_within_screen

# 128 + SIGINT / SIGTERM / SIGHUP: how ``workbench`` exits when a signal stopped it (cli.signal_exit_status)
STOPPED_CODES = (130, 143, 129)


def workbench_command(args: list[str]) -> tuple[str, list[str]]:
    """The program and arguments that run ``workbench ARGS`` in a process of its own: this
    Python with ``-m workbench``, or in the packaged app (PyInstaller, ``sys.frozen``) its
    own executable, which is the ``workbench`` command and knows no ``-m``."""
    if getattr(sys, "frozen", False):
        return sys.executable, list(args)
    return sys.executable, ["-m", "workbench", *args]


class CommandDialog(QDialog):
    """Runs ``python -m workbench ARGS`` and shows its output; ``done(exit code)`` at the end."""

    done = Signal(int)

    def __init__(
        self,
        title: str,
        args: Sequence[str],
        parent: QWidget | None = None,
        stopped_text: str = "Stopped. Run it again to continue where it stopped.",
    ) -> None:
        super().__init__(parent)
        self.stopped_text = (
            stopped_text  # what the status says after Stop (a sweep continues; an export does not)
        )
        self.setWindowTitle(title)
        resize_within_screen(self, 820, 460)
        lay = QVBoxLayout(self)
        self.status = QLabel(f"Running: workbench {' '.join(args)}")
        self.status.setWordWrap(True)
        lay.addWidget(self.status)
        self.output = QPlainTextEdit()
        self.output.setReadOnly(True)
        self.output.setFont(QFont("monospace", 9))
        lay.addWidget(self.output, 1)
        self.extra = QVBoxLayout()  # room for results under the log (the sweep dialog's table)
        lay.addLayout(self.extra)
        buttons = QDialogButtonBox()
        self.stop_button = QPushButton("Stop")
        self.stop_button.setToolTip("Stop after the current step; the run keeps its checkpoint")
        self.stop_button.clicked.connect(self.stop)
        buttons.addButton(self.stop_button, QDialogButtonBox.ButtonRole.ActionRole)
        self.close_button = buttons.addButton(QDialogButtonBox.StandardButton.Close)
        self.close_button.clicked.connect(self.close)
        lay.addWidget(buttons)
        self.process = QProcess(self)
        env = QProcessEnvironment.systemEnvironment()
        env.insert("PYTHONUNBUFFERED", "1")
        self.process.setProcessEnvironment(env)
        self.process.setProcessChannelMode(QProcess.ProcessChannelMode.MergedChannels)
        self.process.readyReadStandardOutput.connect(self._read)
        self.process.finished.connect(self._finished)
        self.process.errorOccurred.connect(self._error)
        self._stop_asked = False
        self.started_at = time.time()  # wall clock, as file times are: what this command wrote
        self.process.start(*workbench_command(args))

    def running(self) -> bool:
        return self.process.state() != QProcess.ProcessState.NotRunning

    def stop(self) -> None:
        if self.running():
            self._stop_asked = True
            self.status.setText("Stopping after the current step…")
            self.process.terminate()  # SIGTERM: the CLI stops cleanly, like Ctrl-C

    def stop_and_wait(self, timeout_ms: int = 30_000) -> None:
        """Stop the command and wait for it (killed after ``timeout_ms``): nothing of it
        outlives the app."""
        if self.running():
            self.stop()
            if not self.process.waitForFinished(timeout_ms):
                self.process.kill()
                self.process.waitForFinished(5_000)

    def _read(self) -> None:
        text = bytes(self.process.readAllStandardOutput()).decode("utf-8", "replace")
        for line in text.replace("\r", "\n").splitlines():
            if line.strip():
                self.output.appendPlainText(line)

    def _finished(self, code: int, status: QProcess.ExitStatus) -> None:
        self._read()
        self.stop_button.setEnabled(False)
        # A Stop during start-up, before the CLI handles SIGTERM, ends the process by the
        # signal itself (a "crash" whose code is the signal's number): still a stop.
        signalled = status == QProcess.ExitStatus.CrashExit and self._stop_asked
        if code == 0 and not signalled:
            text = "Finished."
        elif code in STOPPED_CODES or signalled:  # the CLI's exit status after Stop (SIGTERM) or Ctrl-C
            text = self.stopped_text
        else:
            text = f"Ended with exit code {code}: see the last lines."
        self.status.setText(text)
        self.done.emit(code)

    def _error(self, error: QProcess.ProcessError) -> None:
        if error == QProcess.ProcessError.FailedToStart:
            program, arguments = workbench_command([])
            self.status.setText(f"Could not start {' '.join([program, *arguments])}")
            self.stop_button.setEnabled(False)
            self.done.emit(-1)

    def reject(self) -> None:
        """Close, Escape and the window's close button all end here: while the command runs,
        ask first (a hidden dialog would leave it running with no way to stop it)."""
        if self.running():
            answer = QMessageBox.question(
                self, "Stop the command?", "The command is still running. Stop it after its current step?"
            )
            if answer != QMessageBox.StandardButton.Yes:
                return
            self.stop_and_wait()
        super().reject()
