"""What every stage panel is: a widget over the open project, with the app's shared services."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from PySide6.QtGui import QUndoStack
from PySide6.QtWidgets import QLabel, QVBoxLayout, QWidget

from foldwise.core.project import Project

if TYPE_CHECKING:
    from foldwise.gui.jobs import JobsController
    from foldwise.gui.project_relay import ProjectRelay


@dataclass
class AppServices:
    """Shared by all panels: jobs (with progress and cancel), undo, and where errors and status go."""

    jobs: JobsController
    undo: QUndoStack
    window: QWidget
    auto_prepare: bool = True  # example projects train their network on first open

    def error(self, title: str, exc: BaseException) -> None:
        from foldwise.gui.errors import show_error

        show_error(self.window, title, exc)

    def status(self, text: str, msecs: int = 5000) -> None:
        bar = getattr(self.window, "statusBar", None)
        if bar is not None:
            bar().showMessage(text, msecs)


class StagePanel(QWidget):
    """Base of stage panels. Subclasses set ``title``/``icon`` and override :meth:`project_changed`."""

    title = "Stage"
    icon = "stage"
    summary = ""

    def __init__(self, services: AppServices, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.services = services
        self.project: Project | None = None
        self.setObjectName(f"{self.title.lower()}Panel")

    def set_project(self, project: Project | None, relay: ProjectRelay | None = None) -> None:
        """Show ``project``; ``relay`` delivers its events on the GUI thread (the window owns it)."""
        self.project = project
        if relay is not None:
            relay.current_changed.connect(self._on_current_changed)
            relay.changed.connect(self._on_manifest_changed)
        self.project_changed()

    def _on_current_changed(self, _iteration: object) -> None:
        self.project_changed()

    def _on_manifest_changed(self) -> None:
        self.project_changed()

    def project_changed(self) -> None:
        """The project, its current iteration or its manifest changed: refresh the view."""


class InlineJobMixin:
    """For panels showing their running job inline: they own ``progress`` (a QProgressBar, range 0..1000),
    ``cancel_button`` and ``_job``; this routes progress there, cancels, and tidies up when the job ends."""

    def _on_progress(self, fraction: float, message: str) -> None:
        self.progress.setValue(int(fraction * 1000))
        if message:
            self.progress.setFormat(f"%p% {message}")

    def _finish(self) -> None:
        self.progress.hide()
        self.cancel_button.hide()
        self.project_changed()

    def cancel(self) -> None:
        if self._job is not None:
            self._job.cancel()
            self.cancel_button.setEnabled(False)


class PlaceholderPanel(StagePanel):
    """A stage whose issue is not done yet: says what will come, so the navigator is honest."""

    def __init__(self, services: AppServices, parent: QWidget | None = None) -> None:
        super().__init__(services, parent)
        heading = QLabel(f"<h2>{self.title}</h2>")
        body = QLabel(self.summary + "<p><i>This stage is not built yet.</i></p>")
        body.setWordWrap(True)
        body.setObjectName("placeholderText")
        layout = QVBoxLayout(self)
        layout.addWidget(heading)
        layout.addWidget(body)
        layout.addStretch(1)
