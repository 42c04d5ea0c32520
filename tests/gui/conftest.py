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
    qtbot.addWidget(window)
    window.show()
    yield window
    window.jobs.cancel_all()
    for job in window.jobs.registry.jobs:
        job.wait(10)
    window.close()
    for widget in QApplication.topLevelWidgets():
        if isinstance(widget, QMessageBox):
            widget.close()


def message_boxes() -> list[QMessageBox]:
    return [w for w in QApplication.topLevelWidgets() if isinstance(w, QMessageBox) and w.isVisible()]
