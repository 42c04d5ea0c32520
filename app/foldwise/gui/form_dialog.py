"""A settings form that checks itself on Save: the error stays in the dialog instead of closing it."""

from __future__ import annotations

from collections.abc import Callable

from PySide6.QtWidgets import (
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QWidget,
)

from foldwise.core.errors import InputError


class CheckedFormDialog(QDialog):
    """Subclasses add rows with :meth:`add_rows` and implement :meth:`check` (raise InputError when wrong)."""

    def __init__(self, title: str, object_name: str, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle(title)
        self.setObjectName(object_name)
        self.error = QLabel()
        self.error.setStyleSheet("color:#b03a2e;")
        self.error.setWordWrap(True)
        self.error.hide()
        self.form = QFormLayout(self)

    def add_rows(self, rows: list[tuple[str, QWidget]]) -> None:
        """The labelled fields, then the error line and Save / Cancel."""
        for label, widget in rows:
            self.form.addRow(label, widget)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Save | QDialogButtonBox.StandardButton.Cancel)
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        self.form.addRow(self.error)
        self.form.addRow(buttons)

    def check(self) -> None:
        """Parse the form; raise InputError saying what is wrong."""

    def accept(self) -> None:
        try:
            self.check()
        except InputError as exc:
            self.error.setText(str(exc))
            self.error.show()
            return
        super().accept()


def with_browse(edit: QLineEdit, browse: Callable[[], None]) -> QWidget:
    """A path field with its Browse… button, as one row of a form."""
    button = QPushButton("Browse…")
    button.clicked.connect(lambda _checked=False: browse())
    row = QWidget()
    layout = QHBoxLayout(row)
    layout.setContentsMargins(0, 0, 0, 0)
    layout.addWidget(edit, 1)
    layout.addWidget(button)
    return row
