from __future__ import annotations

from collections.abc import Iterator

import pytest
from PySide6.QtWidgets import QApplication, QMessageBox

from foldwise.gui.app import make_settings
from foldwise.gui.main_window import MainWindow


@pytest.fixture
def main_window(qtbot) -> Iterator[MainWindow]:
    """A main window that is closed (and its project unlocked) after the test; fails on leaked windows."""
    window = MainWindow(make_settings())

    # pytest-qt closes the window before fixture teardown runs: first let every job end, since closing with a
    # job running asks a modal question nobody answers here (a panel may start one while events are processed,
    # e.g. the Quantize panel loading Brevitas, which takes > 10 s on a busy machine and cannot stop mid-way).
    def settle(_window: MainWindow) -> None:
        def settled() -> bool:
            for job in list(window.jobs.registry.jobs):
                job.cancel()
                assert job.wait(120), f"job {job.title!r} did not end within 120 s of being cancelled"
            return not window.jobs.running

        qtbot.waitUntil(settled, timeout=150_000)

    qtbot.addWidget(window, before_close_func=settle)
    window.show()
    yield window
    settle(window)
    window.close()
    for widget in QApplication.topLevelWidgets():
        if isinstance(widget, QMessageBox):
            widget.close()


def message_boxes() -> list[QMessageBox]:
    return [w for w in QApplication.topLevelWidgets() if isinstance(w, QMessageBox) and w.isVisible()]
