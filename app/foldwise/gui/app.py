"""Starting the GUI: QApplication, settings, style, the main window, uncaught-error handling."""

from __future__ import annotations

import logging
import sys
import time
import traceback
from pathlib import Path

from PySide6.QtCore import QSettings, QTimer
from PySide6.QtWidgets import QApplication

from foldwise.core.user_config import config_dir

log = logging.getLogger("foldwise.gui")


def settings_path() -> Path:
    return config_dir() / "foldwise.ini"


def make_settings() -> QSettings:
    return QSettings(str(settings_path()), QSettings.Format.IniFormat)


def install_excepthook(window) -> None:
    """An exception escaping a slot gets a message box and a log entry, not a crash or a traceback."""

    def hook(exc_type, exc, tb) -> None:
        if issubclass(exc_type, KeyboardInterrupt):
            sys.__excepthook__(exc_type, exc, tb)
            return
        log.error("uncaught error\n%s", "".join(traceback.format_exception(exc_type, exc, tb)))
        from foldwise.gui.errors import show_error

        show_error(window, "Unexpected error", exc)

    sys.excepthook = hook


# Torch jobs run in threads of this process and hold the GIL between their C calls. A repaint calls back into
# Python hundreds of times (pyqtgraph items, model data()), and each callback may wait up to a whole switch
# interval for the GIL (Python's default: 5 ms). A shorter interval bounds that wait; the jobs were no slower
# (benchmarks/bench_ui_responsiveness.py, BENCH_GIL_SWITCH_MS=5 for the default, side by side).
GIL_SWITCH_S = 0.0005


def create_app(argv: list[str] | None = None) -> QApplication:
    sys.setswitchinterval(GIL_SWITCH_S)
    app = QApplication.instance() or QApplication(argv or [sys.argv[0]])
    app.setApplicationName("Foldwise")
    app.setOrganizationName("Foldwise")
    from foldwise.gui.resources import style_sheet

    app.setStyleSheet(style_sheet())
    return app


def run_gui(project: str | None, quit_after_shown: bool = False) -> int:
    """Open the main window (on ``project`` if given) and run the event loop."""
    started = time.perf_counter()
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    from foldwise.gui.errors import install_log_file

    install_log_file()
    app = create_app()
    from foldwise.gui.main_window import MainWindow

    # A start-up check (--quit-after-shown) must not start the example's training job.
    window = MainWindow(make_settings(), auto_prepare=not quit_after_shown)
    install_excepthook(window)

    def on_shown() -> None:
        print(f"foldwise: window shown after {time.perf_counter() - started:.3f} s", flush=True)
        if quit_after_shown:  # a start-up check: nobody is there to answer "cancel the running jobs?"
            QTimer.singleShot(0, lambda: window.close_project(ask=False) and window.close())

    window.shown.connect(on_shown)
    window.show()
    if project:
        window.open_project(project)
    return app.exec()
