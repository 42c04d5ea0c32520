"""Pick a folder for a new project, a shipped example or zoo network to start from (with its weights' fit on
the board, computed), and its data set: a shipped one or own images."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtWidgets import (
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QFileDialog,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QWidget,
)

from foldwise.core.data.folders import survey_image_folder
from foldwise.core.data.registry import DATASETS
from foldwise.core.errors import InputError
from foldwise.core.examples import list_examples
from foldwise.core.networks.zoo import ZOO


class NewProjectDialog(QDialog):
    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("New Foldwise project")
        self.setMinimumWidth(560)
        self.path_edit = QLineEdit(str(Path.home() / "foldwise-project"))
        self.example_combo = QComboBox()
        self.example_combo.addItem("Empty project", None)
        for name, description in list_examples().items():
            self.example_combo.addItem(f"{name} — {description}", name)
        self.arch_combo = QComboBox()
        self.arch_combo.addItem("As the example sets it (or LeNet-5)", None)
        for name, entry in ZOO.items():
            self.arch_combo.addItem(f"{name} — {entry.description}", name)
        self.fit_status = QLabel()
        self.fit_status.setWordWrap(True)
        self.dataset_combo = QComboBox()
        self.dataset_combo.addItem("The network's own (or the example's)", None)
        for name, meta in DATASETS.items():
            self.dataset_combo.addItem(f"{name} — {meta['description']}", name)
        self.data_edit = QLineEdit()
        self.data_edit.setPlaceholderText("shipped data (leave empty), or a folder with one sub-folder per class")
        self.data_status = QLabel()
        self.data_status.setWordWrap(True)
        self.buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel)
        self.buttons.accepted.connect(self.accept)
        self.buttons.rejected.connect(self.reject)

        form = QFormLayout(self)
        form.addRow("Folder:", _with_browse(self.path_edit, self._browse_project))
        form.addRow("Start from:", self.example_combo)
        form.addRow("Network:", self.arch_combo)
        form.addRow("", self.fit_status)
        form.addRow("Data set:", self.dataset_combo)
        form.addRow("Or images:", _with_browse(self.data_edit, self._browse_data))
        form.addRow("", self.data_status)
        form.addRow(self.buttons)
        self.path_edit.textChanged.connect(self._validate)
        self.data_edit.textChanged.connect(self._validate)
        self.arch_combo.currentIndexChanged.connect(self._show_fit)
        self._validate()

    def _browse_project(self) -> None:
        path, _ = QFileDialog.getSaveFileName(self, "New project folder", self.path_edit.text())
        if path:
            self.path_edit.setText(path)

    def _browse_data(self) -> None:
        path = QFileDialog.getExistingDirectory(self, "Image folder (one sub-folder per class)",
                                                self.data_edit.text() or str(Path.home()))
        if path:
            self.data_edit.setText(path)

    def _show_fit(self) -> None:
        """The chosen network's weights at 4 bits against the default board's on-chip memory (computed)."""
        from foldwise.core.networks.fit import fit_line, zoo_fit

        arch = self.arch()
        self.fit_status.setText(fit_line(zoo_fit(arch)) if arch else "")
        self.fit_status.setStyleSheet("" if not arch or zoo_fit(arch)["fits"] else "color: #c0392b")

    def _validate(self) -> None:
        ok = bool(self.path())
        folder = self.data_folder()
        if folder is None:
            self.data_status.setText("")
        else:
            try:
                counts = survey_image_folder(folder)
            except InputError as exc:
                ok = False
                self.data_status.setStyleSheet("color: #c0392b")
                self.data_status.setText(str(exc))
            else:
                self.data_status.setStyleSheet("")
                per_class = ", ".join(f"{name} {n:,}" for name, n in counts.items())
                self.data_status.setText(f"{len(counts)} classes, {sum(counts.values()):,} images: {per_class}")
        self.buttons.button(QDialogButtonBox.StandardButton.Ok).setEnabled(ok)

    def path(self) -> str:
        return self.path_edit.text().strip()

    def example(self) -> str | None:
        return self.example_combo.currentData()

    def arch(self) -> str | None:
        return self.arch_combo.currentData()

    def data_folder(self) -> str | None:
        return self.data_edit.text().strip() or None

    def dataset(self) -> str | None:
        """A shipped data set's name, or None (the network's own, or the image folder when one is given)."""
        return None if self.data_folder() else self.dataset_combo.currentData()


def _with_browse(edit: QLineEdit, browse: object) -> QHBoxLayout:
    button = QPushButton("Browse…")
    button.clicked.connect(browse)
    row = QHBoxLayout()
    row.addWidget(edit, 1)
    row.addWidget(button)
    return row
