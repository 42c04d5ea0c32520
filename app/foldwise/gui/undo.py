"""Undo where the edit was made: each panel (and the Iterations dock) owns a :class:`PanelUndoStack`; the
window's QUndoGroup makes the shown panel's stack the active one. Project edits are QUndoCommands here: each
calls the core Project method, and its inverse on undo."""

from __future__ import annotations

from PySide6.QtCore import QObject
from PySide6.QtGui import QUndoCommand, QUndoGroup, QUndoStack

from foldwise.core.project import Project


class PanelUndoStack(QUndoStack):
    """The undo stack of one panel: the Edit menu names the panel with the action ("Undo Build: Auto-fit
    folding"), while the command's own text (what an undo view lists) stays as it was."""

    def __init__(self, owner: str, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.owner = owner
        self.setObjectName(f"{owner.lower()}UndoStack")
        self._group: QUndoGroup | None = None

    def join(self, group: QUndoGroup) -> None:
        group.addStack(self)
        self._group = group

    def push(self, command: QUndoCommand) -> None:
        # QUndoCommand.setText: the part after a newline is actionText(), which undoText() and the menu show
        command.setText(f"{command.text()}\n{self.owner}: {command.actionText()}")
        super().push(command)

    def activate(self) -> None:
        """Make this the stack the Edit menu's Undo/Redo act on (when it is in a group)."""
        if self._group is not None:
            self._group.setActiveStack(self)


class SetCurrentIteration(QUndoCommand):
    def __init__(self, project: Project, iteration_id: str | None) -> None:
        super().__init__(f"Switch to iteration {iteration_id}")
        self.project = project
        self.before = project.current_id
        self.after = iteration_id

    def redo(self) -> None:
        self.project.set_current(self.after)

    def undo(self) -> None:
        self.project.set_current(self.before)


class RenameIteration(QUndoCommand):
    def __init__(self, project: Project, iteration_id: str, name: str) -> None:
        super().__init__(f"Rename iteration {iteration_id}")
        self.project = project
        self.iteration_id = iteration_id
        self.before = project.get(iteration_id).name
        self.after = name

    def redo(self) -> None:
        self.project.rename_iteration(self.iteration_id, self.after)

    def undo(self) -> None:
        self.project.rename_iteration(self.iteration_id, self.before)


class SetIterationNote(QUndoCommand):
    def __init__(self, project: Project, iteration_id: str, note: str) -> None:
        super().__init__(f"Edit note of iteration {iteration_id}")
        self.project = project
        self.iteration_id = iteration_id
        self.before = project.get(iteration_id).note
        self.after = note

    def redo(self) -> None:
        self.project.set_note(self.iteration_id, self.after)

    def undo(self) -> None:
        self.project.set_note(self.iteration_id, self.before)


class HideIteration(QUndoCommand):
    """Hiding keeps the files, so undo brings the iteration back exactly as it was (and current again)."""

    def __init__(self, project: Project, iteration_id: str) -> None:
        super().__init__(f"Remove iteration {iteration_id}")
        self.project = project
        self.iteration_id = iteration_id
        self.current_before = project.current_id

    def redo(self) -> None:
        self.project.set_hidden(self.iteration_id, True)

    def undo(self) -> None:
        self.project.set_hidden(self.iteration_id, False)
        self.project.set_current(self.current_before)


class RenameProject(QUndoCommand):
    def __init__(self, project: Project, name: str) -> None:
        super().__init__("Rename project")
        self.project = project
        self.before = project.name
        self.after = name

    def redo(self) -> None:
        self.project.rename(self.after)

    def undo(self) -> None:
        self.project.rename(self.before)


class ChangeDataset(QUndoCommand):
    """The project's data set (``settings.dataset``), as core.iterations.dataset_choice made it."""

    def __init__(self, project: Project, settings: dict) -> None:
        super().__init__(f"Data set: {settings.get('name')}")
        self.project = project
        self.before = dict(project.settings.get("dataset") or {})
        self.after = dict(settings)

    def redo(self) -> None:
        self.project.update_settings(dataset=self.after)

    def undo(self) -> None:
        self.project.update_settings(dataset=self.before)


class CommitIteration(QUndoCommand):
    """Pushed after a stage made a new iteration: undo hides it and restores the previous current one."""

    def __init__(self, project: Project, iteration_id: str, previous_current: str | None, text: str) -> None:
        super().__init__(text)
        self.project = project
        self.iteration_id = iteration_id
        self.previous = previous_current
        self._first = True

    def redo(self) -> None:
        if self._first:  # the stage already made it; the first redo is QUndoStack.push's own call
            self._first = False
            return
        self.project.set_hidden(self.iteration_id, False)
        self.project.set_current(self.iteration_id)

    def undo(self) -> None:
        self.project.set_hidden(self.iteration_id, True)
        self.project.set_current(self.previous)
