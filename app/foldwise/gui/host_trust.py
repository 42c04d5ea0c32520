"""First contact with an SSH host: show its key fingerprint and ask whether to trust it (never silently)."""

from __future__ import annotations

from collections.abc import Callable

from PySide6.QtWidgets import QMessageBox, QWidget

from foldwise.core.remote.target import UnknownHostKeyError


def ask_to_trust(parent: QWidget | None, error: UnknownHostKeyError, what: str,
                 retry: Callable[[str], object]) -> QMessageBox:
    """A non-modal question (object name ``trustHostBox``) with the fingerprint; Yes calls ``retry(fingerprint)``."""
    box = QMessageBox(QMessageBox.Icon.Question, f"Unknown {what} key",
                      f"{error}\n\nTrust this key ({error.fingerprint}) and connect again?",
                      QMessageBox.StandardButton.Yes | QMessageBox.StandardButton.No, parent)
    box.setObjectName("trustHostBox")
    box.buttonClicked.connect(lambda button: box.standardButton(button) == QMessageBox.StandardButton.Yes
                              and retry(error.fingerprint))
    box.open()
    return box
