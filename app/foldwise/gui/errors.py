"""How errors reach the user: one clear message, never a traceback (that goes to the log).

A failed job's dialog is chosen by the exception's TYPE, through :data:`ERROR_TABLE` (most specific class
first), never by words in the job's title. A cancelled job gets no dialog at all.
"""

from __future__ import annotations

import errno
import logging
import traceback
from collections.abc import Callable
from dataclasses import dataclass
from logging.handlers import RotatingFileHandler
from pathlib import Path

from PySide6.QtWidgets import QMessageBox, QWidget

from foldwise.core.board.run_errors import BoardRunError
from foldwise.core.errors import (
    Cancelled,
    FoldwiseError,
    InputError,
    ProjectError,
    ProjectLockedError,
    ReadOnlyProjectError,
    SshError,
    ToolMissingError,
)
from foldwise.core.jobs import Job
from foldwise.core.prune.config import QuantizedIterationError
from foldwise.core.user_config import config_dir
from foldwise.gui.board.run_errors import explanation_for

log = logging.getLogger("foldwise.gui")
LOG_NAME = "foldwise.log"


def log_file() -> Path:
    """Where the GUI's log goes (the tracebacks an error dialog leaves out): beside the user settings."""
    return config_dir() / LOG_NAME


def install_log_file() -> Path:
    """Send Foldwise's log (INFO and up) to :func:`log_file`, kept to 3 × 1 MB; returns the path."""
    path = log_file()
    logger = logging.getLogger("foldwise")
    if not any(isinstance(h, RotatingFileHandler) and Path(h.baseFilename) == path for h in logger.handlers):
        path.parent.mkdir(parents=True, exist_ok=True)
        handler = RotatingFileHandler(path, maxBytes=1_000_000, backupCount=2, encoding="utf-8")
        handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
        logger.addHandler(handler)
        logger.setLevel(min(logger.getEffectiveLevel(), logging.INFO))
    return path


@dataclass(frozen=True)
class ErrorWording:
    """The dialog for one kind of error: its title and a sentence on what to do about it."""

    title: str
    advice: str = ""
    log_details: bool = False  # unexpected errors: the traceback goes to the log


UNEXPECTED = ErrorWording("Unexpected error", "Your project is unchanged; the details are in the log",
                          log_details=True)


def _os_wording(exc: BaseException) -> ErrorWording:
    code = getattr(exc, "errno", None)
    if code in (errno.ENOSPC, errno.EDQUOT):
        return ErrorWording("Disk full", "Free some space on that disk, then run it again.")
    if code in (errno.EROFS, errno.EACCES, errno.EPERM):
        return ErrorWording("Cannot write there", "The folder is read-only for you: pick another one, or fix its "
                                                  "permissions.")
    return ErrorWording("File or folder problem", "Check that the file exists and the disk is reachable.")


def _board_run_wording(exc: BaseException) -> ErrorWording:
    found = explanation_for(exc)
    if found is None:
        return ErrorWording("Board run failed", "The run log is in the Board panel's Deploy tab.")
    return ErrorWording(found.title, found.text)


Wording = ErrorWording | Callable[[BaseException], ErrorWording] | None

# Checked in order: put subclasses before their bases. ``None`` means no dialog.
ERROR_TABLE: tuple[tuple[type[BaseException], Wording], ...] = (
    (Cancelled, None),
    (BoardRunError, _board_run_wording),  # before InputError: a refused package is both
    (QuantizedIterationError, ErrorWording("Needs a float iteration",
                                           "Switch to the float iteration it was quantized from.")),
    (ProjectLockedError, ErrorWording("Project in use", "Another Foldwise window or command has it open: close "
                                                        "that one first.")),
    (ReadOnlyProjectError, ErrorWording("Project is read-only", "Copy the project to a folder you can write.")),
    (ProjectError, ErrorWording("Project problem")),
    (ToolMissingError, ErrorWording("A tool is missing", "Install it, or run this where it is installed.")),
    (SshError, ErrorWording("Remote machine problem", "Check the host in the host list and that it answers "
                                                      "over SSH.")),
    (InputError, ErrorWording("Cannot use this input")),
    (OSError, _os_wording),
    (FoldwiseError, ErrorWording("Cannot finish")),
)


def wording_for(exc: BaseException) -> ErrorWording | None:
    """The dialog for ``exc`` from :data:`ERROR_TABLE`; ``None`` when it needs none (a cancel)."""
    for cls, wording in ERROR_TABLE:
        if isinstance(exc, cls):
            return wording(exc) if callable(wording) else wording
    return UNEXPECTED


def user_message(exc: BaseException) -> str:
    if isinstance(exc, FoldwiseError):
        return str(exc)
    if isinstance(exc, OSError) and exc.strerror:
        return f"{exc.strerror}: {exc.filename}" if exc.filename else exc.strerror
    return f"Something went wrong inside Foldwise ({type(exc).__name__}: {exc})."


def message_box(parent: QWidget | None, title: str, text: str) -> QMessageBox:
    """Open (not exec: never blocks) the warning box every error goes through; tests patch this."""
    box = QMessageBox(QMessageBox.Icon.Warning, title, text, QMessageBox.StandardButton.Ok, parent)
    box.setObjectName("errorBox")
    box.open()
    return box


def _report(parent: QWidget | None, what: str, exc: BaseException, wording: ErrorWording, title: str,
            lead: str = "") -> None:
    if wording.log_details:
        log.error("%s\n%s", what, "".join(traceback.format_exception(exc)))
    text = lead + user_message(exc)
    if wording.advice:
        text += f"\n\n{wording.advice}"
        if wording.log_details:
            text += f" ({log_file()})."
    message_box(parent, title, text)


def show_error(parent: QWidget | None, title: str, exc: BaseException) -> None:
    """An error outside a job (opening a project, a bad setting): ``title`` says what could not be done."""
    wording = wording_for(exc)
    if wording is not None:
        _report(parent, title, exc, wording, title)


def show_job_error(parent: QWidget | None, job: Job) -> None:
    """The dialog for a failed job, titled by its exception's type; nothing for a cancelled one."""
    wording = wording_for(job.error) if job.error is not None else None
    if wording is not None:
        _report(parent, f"{job.title} failed", job.error, wording, wording.title, lead=f"{job.title}: ")
