"""Shown while no project is open: new, open, the shipped examples and recent projects."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from PySide6.QtWidgets import QHBoxLayout, QLabel, QListWidget, QPushButton, QVBoxLayout, QWidget

if TYPE_CHECKING:
    from foldwise.gui.main_window import MainWindow


class WelcomePanel(QWidget):
    def __init__(self, window: MainWindow) -> None:
        super().__init__()
        self.setObjectName("welcomePanel")
        self.window_ = window
        title = QLabel("<h1>Foldwise</h1><p>Prune, quantize and fold a network until it keeps up with the "
                       "camera — then run it on a PYNQ-Z2.</p>")
        title.setWordWrap(True)
        new_button = QPushButton("New project…")
        new_button.clicked.connect(window.new_project_dialog)
        open_button = QPushButton("Open project…")
        open_button.clicked.connect(window.open_project_dialog)
        buttons = QHBoxLayout()
        buttons.addWidget(new_button)
        buttons.addWidget(open_button)
        buttons.addStretch(1)
        self.recent = QListWidget()
        self.recent.setObjectName("recentProjects")
        self.recent.itemActivated.connect(lambda item: window.open_project(item.text()))
        layout = QVBoxLayout(self)
        layout.addWidget(title)
        layout.addLayout(buttons)
        layout.addWidget(QLabel("<b>Recent projects</b> (double-click to open)"))
        layout.addWidget(self.recent, 1)

    def set_recent(self, paths: list[str]) -> None:
        self.recent.clear()
        for path in paths:
            if Path(path).exists():
                self.recent.addItem(path)
