"""Help → About: Foldwise's version and the versions of the stack it drives (read without importing them)."""

from __future__ import annotations

import html
import platform
from importlib import metadata

from PySide6 import __version__ as pyside_version
from PySide6.QtWidgets import QDialog, QDialogButtonBox, QLabel, QVBoxLayout, QWidget

from foldwise import __version__
from foldwise.frozen import runtime_description

STACK = ("torch", "brevitas", "qonnx", "finn-plus", "onnx", "onnxruntime", "torch-pruning", "paramiko")


def stack_versions() -> dict[str, str]:
    versions = {"foldwise": __version__, "python": platform.python_version(), "PySide6": pyside_version}
    for dist in STACK:
        try:
            versions[dist] = metadata.version(dist)
        except metadata.PackageNotFoundError:
            versions[dist] = "not installed"
    return versions


class AboutDialog(QDialog):
    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("About Foldwise")
        self.setObjectName("aboutDialog")
        rows = "".join(f"<tr><td>{k}</td><td><b>{v}</b></td></tr>" for k, v in stack_versions().items())
        text = QLabel(
            "<h2>Foldwise</h2><p>Prototype deep-learning networks on FPGAs.</p>"
            f"<table cellspacing='6'>{rows}</table><p>Runs as {html.escape(runtime_description())}.</p>"
        )
        text.setWordWrap(True)
        text.setObjectName("aboutText")
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addWidget(text)
        layout.addWidget(buttons)
