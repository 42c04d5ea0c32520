"""How errors reach the user: one clear message, never a traceback (that goes to the log)."""

from __future__ import annotations

import logging
import traceback

from PySide6.QtWidgets import QMessageBox, QWidget

from foldwise.core.errors import FoldwiseError

log = logging.getLogger("foldwise.gui")


def user_message(exc: BaseException) -> str:
    if isinstance(exc, FoldwiseError):
        return str(exc)
    return (
        f"Something went wrong inside Foldwise ({type(exc).__name__}: {exc}). "
        "Your project is unchanged; the details are in the log."
    )


def show_error(parent: QWidget | None, title: str, exc: BaseException) -> None:
    if not isinstance(exc, FoldwiseError):
        log.error("%s\n%s", title, "".join(traceback.format_exception(exc)))
    box = QMessageBox(QMessageBox.Icon.Warning, title, user_message(exc), QMessageBox.StandardButton.Ok, parent)
    box.setObjectName("errorBox")
    box.open()
