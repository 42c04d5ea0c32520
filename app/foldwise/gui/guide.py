"""Help → User Guide (F1): the short guide shipped with Foldwise (``resources/guide.md``), shown as rich text."""

from __future__ import annotations

from PySide6.QtWidgets import QDialog, QDialogButtonBox, QTextBrowser, QVBoxLayout, QWidget

from foldwise.core.paths import resources_dir

GUIDE_NAME = "guide.md"


def guide_text() -> str:
    """The guide's Markdown (package data, so a wheel or the desktop package finds it as a checkout does)."""
    path = resources_dir() / GUIDE_NAME
    try:
        return path.read_text(encoding="utf-8")
    except OSError as exc:
        return f"# Foldwise user guide\n\nThe guide could not be read from {path}: {exc.strerror or exc}."


class GuideDialog(QDialog):
    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Foldwise user guide")
        self.setObjectName("guideDialog")
        self.text = QTextBrowser()
        self.text.setObjectName("guideText")
        self.text.setOpenExternalLinks(True)
        self.text.setMarkdown(guide_text())
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addWidget(self.text)
        layout.addWidget(buttons)
        self.resize(760, 620)  # a dialog of its own size; it never resizes the main window
