"""Pick a folder for a new project and, optionally, a shipped example to start from."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtWidgets import (
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QFileDialog,
    QFormLayout,
    QHBoxLayout,
    QLineEdit,
    QPushButton,
    QWidget,
)

from foldwise.core.examples import list_examples


class NewProjectDialog(QDialog):
    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("New Foldwise project")
        self.path_edit = QLineEdit(str(Path.home() / "foldwise-project"))
        browse = QPushButton("Browse…")
        browse.clicked.connect(self._browse)
        row = QHBoxLayout()
        row.addWidget(self.path_edit, 1)
        row.addWidget(browse)
        self.example_combo = QComboBox()
        self.example_combo.addItem("Empty project", None)
        for name, description in list_examples().items():
            self.example_combo.addItem(f"{name} — {description}", name)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel)
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        form = QFormLayout(self)
        form.addRow("Folder:", row)
        form.addRow("Start from:", self.example_combo)
        form.addRow(buttons)

    def _browse(self) -> None:
        path, _ = QFileDialog.getSaveFileName(self, "New project folder", self.path_edit.text())
        if path:
            self.path_edit.setText(path)

    def path(self) -> str:
        return self.path_edit.text().strip()

    def example(self) -> str | None:
        return self.example_combo.currentData()
