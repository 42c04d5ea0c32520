"""Network stage: the current iteration's network (filled in by the networks issue)."""

from __future__ import annotations

from PySide6.QtWidgets import QLabel, QVBoxLayout, QWidget

from foldwise.gui.panels.base import AppServices, StagePanel


class NetworkPanel(StagePanel):
    title = "Network"
    icon = "network"

    def __init__(self, services: AppServices, parent: QWidget | None = None) -> None:
        super().__init__(services, parent)
        self.info = QLabel()
        self.info.setWordWrap(True)
        layout = QVBoxLayout(self)
        layout.addWidget(self.info)
        layout.addStretch(1)

    def project_changed(self) -> None:
        if self.project is None:
            self.info.setText("")
            return
        settings = self.project.settings
        arch = settings.get("network", {}).get("arch", "none chosen")
        data = settings.get("dataset", {}).get("name", "none chosen")
        current = self.project.current
        self.info.setText(
            f"<h2>{self.project.name}</h2><p>Network: <b>{arch}</b> · data: <b>{data}</b></p>"
            f"<p>Current iteration: {current.label if current else 'none yet'}</p>"
        )
