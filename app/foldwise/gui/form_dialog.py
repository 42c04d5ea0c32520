"""A settings form that checks itself on Save: the error stays in the dialog instead of closing it."""

from __future__ import annotations

from PySide6.QtWidgets import QDialog, QDialogButtonBox, QFormLayout, QLabel, QWidget

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
