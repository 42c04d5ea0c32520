"""No traceback reaches the user in the GUI: an exception escaping a slot, or a job failing with an error nobody
planned for, is one dialog saying what happened and what to do, and its traceback goes to the log file."""

from __future__ import annotations

import logging
import sys
from collections.abc import Iterator
from logging.handlers import RotatingFileHandler
from pathlib import Path

import pytest
from PySide6.QtCore import QTimer

from foldwise.core.errors import InputError
from foldwise.core.jobs import Job, JobContext
from foldwise.gui import errors
from foldwise.gui.app import install_excepthook
from foldwise.gui.main_window import MainWindow


@pytest.fixture
def log_path() -> Iterator[Path]:
    """The GUI's log file as run_gui installs it (in this test's config dir), removed from the logger after."""
    path = errors.install_log_file()
    yield path
    logger = logging.getLogger("foldwise")
    for handler in [h for h in logger.handlers if isinstance(h, RotatingFileHandler)]:
        logger.removeHandler(handler)
        handler.close()


@pytest.fixture
def dialogs(monkeypatch: pytest.MonkeyPatch) -> list[tuple[str, str]]:
    shown: list[tuple[str, str]] = []
    monkeypatch.setattr(errors, "message_box", lambda _parent, title, text: shown.append((title, text)))
    return shown


def _log_text(path: Path) -> str:
    for handler in logging.getLogger("foldwise").handlers:
        handler.flush()
    return path.read_text(encoding="utf-8")


@pytest.mark.qt_no_exception_capture  # the app's own hook is what is tested, not pytest-qt's
def test_an_exception_escaping_a_slot_is_one_dialog_and_its_traceback_is_in_the_log(
        main_window: MainWindow, qtbot, log_path: Path, dialogs: list[tuple[str, str]],
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(sys, "excepthook", sys.excepthook)  # restored after the test
    install_excepthook(main_window)

    def broken_slot() -> None:
        {}["no such key"]  # a bug in a slot

    QTimer.singleShot(0, broken_slot)
    qtbot.waitUntil(lambda: bool(dialogs), timeout=5000)
    [(title, text)] = dialogs
    assert title == "Unexpected error" and "Traceback" not in text
    assert "KeyError" in text and "Your project is unchanged" in text and str(log_path) in text
    logged = _log_text(log_path)
    assert "Traceback (most recent call last)" in logged and "broken_slot" in logged
    assert main_window.isVisible()  # the window lives on


def test_a_job_failing_unexpectedly_is_one_dialog_and_its_traceback_is_in_the_log(
        main_window: MainWindow, qtbot, log_path: Path, dialogs: list[tuple[str, str]]) -> None:
    def work(_ctx: JobContext) -> None:
        raise ZeroDivisionError("division by zero in the job")

    job = main_window.jobs.start(Job("Broken job", work),
                                 on_error=lambda failed: errors.show_job_error(main_window, failed))
    qtbot.waitUntil(lambda: job.is_finished and bool(dialogs), timeout=5000)
    [(title, text)] = dialogs
    assert title == "Unexpected error" and text.startswith("Broken job: ") and "Traceback" not in text
    assert str(log_path) in text
    logged = _log_text(log_path)
    assert "Traceback (most recent call last)" in logged and "division by zero in the job" in logged


def test_an_expected_error_is_one_dialog_with_advice_and_no_traceback_anywhere(
        main_window: MainWindow, qtbot, log_path: Path, dialogs: list[tuple[str, str]]) -> None:
    def work(_ctx: JobContext) -> None:
        raise InputError("layer conv9 does not exist")

    job = main_window.jobs.start(Job("Prune", work), on_error=lambda failed: errors.show_job_error(main_window, failed))
    qtbot.waitUntil(lambda: job.is_finished and bool(dialogs), timeout=5000)
    assert dialogs == [("Cannot use this input", "Prune: layer conv9 does not exist")]
    assert "Traceback" not in _log_text(log_path)
