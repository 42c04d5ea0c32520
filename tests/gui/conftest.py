from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from PySide6.QtWidgets import QApplication, QDialog, QFileDialog, QInputDialog, QMessageBox

from foldwise.core.project import IterationKind, Project
from foldwise.gui.app import make_settings
from foldwise.gui.gui_thread_gc import collect_garbage_anywhere, collect_garbage_on_gui_thread
from foldwise.gui.main_window import MainWindow
from foldwise.gui.panels.base import StagePanel


@pytest.fixture(scope="package", autouse=True)
def _garbage_collected_on_the_gui_thread(qapp) -> Iterator[None]:
    """As in the application (see foldwise.gui.gui_thread_gc), for every GUI test; the tests after these get
    CPython's own collection back."""
    collect_garbage_on_gui_thread()
    yield
    collect_garbage_anywhere()


class UnansweredDialog(AssertionError):
    """A modal dialog opened in a test that does not answer it."""


@pytest.fixture(autouse=True)
def _modal_dialogs_fail_the_test(monkeypatch: pytest.MonkeyPatch) -> None:
    """A modal dialog nobody answers runs its own event loop forever, out of reach of pytest-timeout's signal:
    CI of fe89955 sat in one until its 90-minute limit. Here every blocking dialog call fails the test at once,
    naming the dialog; a test that means to answer one patches it itself (its patch wins)."""
    def refuse(what: str):
        def blocked(*args, **_kwargs):
            shown = [a for a in args if isinstance(a, str)][:2]  # the title and text of the static calls
            if args and isinstance(args[0], QDialog):
                shown = [args[0].windowTitle(), type(args[0]).__name__]
            raise UnansweredDialog(f"{what} opened a modal dialog this test does not answer: {shown}")
        return blocked

    for name in ("question", "warning", "critical", "information", "about"):
        monkeypatch.setattr(QMessageBox, name, staticmethod(refuse(f"QMessageBox.{name}")))
    for name in ("getOpenFileName", "getOpenFileNames", "getSaveFileName", "getExistingDirectory"):
        monkeypatch.setattr(QFileDialog, name, staticmethod(refuse(f"QFileDialog.{name}")))
    for name in ("getText", "getInt", "getDouble", "getItem"):
        monkeypatch.setattr(QInputDialog, name, staticmethod(refuse(f"QInputDialog.{name}")))
    monkeypatch.setattr(QDialog, "exec", refuse("exec()"))


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
