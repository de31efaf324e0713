"""Entry point of the desktop app: ``workbench`` with no arguments calls ``run_app``.

The window shows first; torch and the registries load behind it (see ``core_loader``).
Uncaught exceptions (a slot that slipped through ``guarded``) are logged and shown in a
dialog instead of ending the app.
"""

from __future__ import annotations

import logging
import signal
import sys
import time
import traceback
from types import TracebackType

from PySide6.QtCore import QTimer
from PySide6.QtWidgets import QApplication, QMessageBox

from workbench import __version__
from workbench.gui.main_window import APP_NAME, ORG_NAME, MainWindow
from workbench.gui.worker import close_workers

log = logging.getLogger(__name__)


def configure_app(app: QApplication) -> None:
    """Names that place the QSettings file and title the windows; the icon and stylesheet."""
    app.setOrganizationName(ORG_NAME)
    app.setApplicationName(APP_NAME)
    app.setApplicationDisplayName(APP_NAME)
    app.setApplicationVersion(__version__)
    try:
        from workbench.gui.app_resources import apply_app_resources

        apply_app_resources(app)
    except Exception:  # a broken install may lack them: the app still runs, in Qt's default look
        log.exception("could not load the application resources")


def install_excepthook(window: MainWindow | None) -> None:
    """Route uncaught exceptions to the log and an error dialog (the app keeps running)."""
    previous = sys.excepthook
    showing = False

    def hook(exc_type: type[BaseException], exc: BaseException, tb: TracebackType | None) -> None:
        nonlocal showing
        if issubclass(exc_type, KeyboardInterrupt):
            previous(exc_type, exc, tb)
            return
        details = "".join(traceback.format_exception(exc_type, exc, tb))
        log.error("uncaught exception\n%s", details)
        if showing or QApplication.instance() is None:
            return
        showing = True
        try:
            text = f"{exc_type.__name__}: {exc}\n\nThe workbench keeps running; the details are in the log."
            if window is not None:
                window.show_error("Unexpected error", text, details)
            else:
                box = QMessageBox(QMessageBox.Icon.Critical, "Unexpected error", text)
                box.setDetailedText(details)
                box.exec()
        except Exception:
            previous(exc_type, exc, tb)
        finally:
            showing = False

    sys.excepthook = hook


def _handle_sigint(window: MainWindow) -> QTimer:
    """Ctrl+C in the terminal closes the window the normal way (asking if a run is live).
    SIGTERM and SIGHUP (``kill``, a logout) close it without asking: the run stops with its
    checkpoint, running commands are stopped, and the training process ends cleanly (the
    default action killed the app at once and left the training process's semaphores to
    the resource tracker's warning)."""
    signal.signal(signal.SIGINT, lambda *_: QTimer.singleShot(0, window.close))

    def ended(*_: object) -> None:
        window.confirm_close = lambda: True
        window.confirm_stop_commands = lambda names: True
        QTimer.singleShot(0, window.close)

    for name in ("SIGTERM", "SIGHUP"):
        if hasattr(signal, name):
            signal.signal(getattr(signal, name), ended)
    timer = QTimer(window)  # lets the interpreter run its signal handlers while Qt idles
    timer.timeout.connect(lambda: None)
    timer.start(250)
    return timer


def run_app(argv: list[str] | None = None, smoke_test: bool = False) -> int:
    """Show the main window and run the event loop; returns the exit code.

    ``smoke_test``: quit once the window is shown and PyTorch has loaded, printing both
    times (``workbench --smoke-test``, the check of a packaged app); exit code 1 when the
    core fails to load or nothing happens within 120 s."""
    started = time.perf_counter()
    if not logging.getLogger().handlers:
        logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    app = QApplication.instance() or QApplication(
        list(argv) if argv else [sys.argv[0] if sys.argv else "workbench"]
    )
    configure_app(app)
    from workbench.gui import gc_in_gui_thread

    gc_in_gui_thread.install(app)  # cycles holding Qt objects are never freed in a worker thread
    window = MainWindow()
    install_excepthook(window)
    app.aboutToQuit.connect(window.shutdown)
    app.aboutToQuit.connect(close_workers)  # after the window stopped its run
    window.show()
    shown = time.perf_counter() - started
    log.info("window shown %.2f s after run_app", shown)
    _handle_sigint(window)
    if smoke_test:
        window.remember_layout = False  # an offscreen check must not save its layout as the user's
        return _smoke_test(app, window, started, shown)
    return app.exec()


def _smoke_test(app: QApplication, window: MainWindow, started: float, shown: float) -> int:
    outcome = {"code": 1}

    def loaded(_info: object) -> None:
        print(
            f"smoke test: window shown after {shown:.2f} s, PyTorch loaded after "
            f"{time.perf_counter() - started:.2f} s",
            flush=True,
        )
        if window.bridge.in_process:  # runs train in a spawned process: it must start here too
            from workbench.gui.worker import idle_worker

            if idle_worker().wait_ready(120):
                print(
                    f"smoke test: training process ready after {time.perf_counter() - started:.2f} s",
                    flush=True,
                )
            else:
                print("smoke test: the training process did not start", file=sys.stderr, flush=True)
                window.close()
                app.quit()
                return
        outcome["code"] = 0
        window.close()
        app.quit()

    def failed(*_args: object) -> None:
        print("smoke test: the core did not load", file=sys.stderr, flush=True)
        window.close()
        app.quit()

    window.coreLoaded.connect(loaded)
    window.errorShown.connect(failed)  # e.g. "PyTorch could not be loaded"
    QTimer.singleShot(120_000, failed)
    app.exec()
    return outcome["code"]


if __name__ == "__main__":
    sys.exit(run_app(sys.argv))
