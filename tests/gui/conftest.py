from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from PySide6.QtWidgets import QApplication, QMessageBox

from foldwise.core.project import IterationKind, Project
from foldwise.gui.app import make_settings
from foldwise.gui.main_window import MainWindow
from foldwise.gui.panels.base import StagePanel


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


@pytest.fixture
def float_window(main_window: MainWindow, project_path: Path) -> MainWindow:
    """The main window with a project of one float iteration open (no files: for tests that never load it)."""
    with Project.create(project_path) as project, project.new_iteration(IterationKind.TRAINED, "base"):
        pass
    assert main_window.open_project(project_path)
    return main_window


def show_panel(window: MainWindow, title: str) -> StagePanel:
    """Show the stage panel called ``title`` (as clicking it in the navigator does) and return it."""
    index = next(i for i, p in enumerate(window.panels) if p.title == title)
    window.show_stage(index)
    return window.panels[index]
