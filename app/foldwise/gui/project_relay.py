"""Brings a Project's psygnal events onto the GUI thread.

Stages commit new iterations from job threads; views must only ever hear of it on the GUI thread. The relay
lives in the GUI thread and re-emits each core event as a Qt signal, which Qt queues across threads.
"""

from __future__ import annotations

from PySide6.QtCore import QObject, Signal

from foldwise.core.project import Project


class ProjectRelay(QObject):
    changed = Signal()
    iteration_added = Signal(object)
    current_changed = Signal(object)

    def __init__(self, project: Project, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.project = project
        project.changed.connect(self.changed.emit)
        project.iteration_added.connect(self.iteration_added.emit)
        project.current_changed.connect(self.current_changed.emit)

    def detach(self) -> None:
        self.project.changed.disconnect(self.changed.emit)
        self.project.iteration_added.disconnect(self.iteration_added.emit)
        self.project.current_changed.disconnect(self.current_changed.emit)
