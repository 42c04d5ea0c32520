"""The iterations of the open project as a tree (parent → child), with undoable edits."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtGui import QAction, QColor, QUndoCommand
from PySide6.QtWidgets import QDockWidget, QInputDialog, QMenu, QTreeWidget, QTreeWidgetItem, QWidget

from foldwise.core.finn.build_state import iteration_fps
from foldwise.core.finn.target import TargetVerdict, project_target_fps, target_verdict
from foldwise.core.project import Iteration, Project
from foldwise.core.protocol import where
from foldwise.gui.project_relay import ProjectRelay
from foldwise.gui.undo import HideIteration, PanelUndoStack, RenameIteration, SetCurrentIteration

COLUMNS = ("Iteration", "Kind", "Accuracy", "Params", "MB", "Keeps up?")
KEEPS_UP_COLUMN = COLUMNS.index("Keeps up?")


def metric_text(iteration: Iteration, key: str, fmt: str = "{:.4g}") -> str:
    figure = iteration.metrics.get(key)
    if not isinstance(figure, dict) or figure.get("value") is None:
        return ""
    value = figure["value"]
    return fmt.format(value) if isinstance(value, (int, float)) else str(value)


def iteration_verdict(iteration: Iteration, target_fps: int | None) -> TargetVerdict | None:
    """Its latest FPS figure (estimated) against the project's target; None before any estimate."""
    found = iteration_fps(iteration) if target_fps else None
    return target_verdict(found[0], target_fps, found[1]) if found else None


class IterationsDock(QDockWidget):
    def __init__(self, undo: PanelUndoStack, parent: QWidget | None = None) -> None:
        super().__init__("Iterations", parent)
        self.setObjectName("iterationsDock")
        self.undo = undo
        self.project: Project | None = None
        self.tree = QTreeWidget()
        self.tree.setHeaderLabels(list(COLUMNS))
        self.tree.setRootIsDecorated(True)
        self.tree.setContextMenuPolicy(Qt.ContextMenuPolicy.CustomContextMenu)
        self.tree.customContextMenuRequested.connect(self._menu)
        self.tree.itemDoubleClicked.connect(lambda item, _col: self._make_current(item))
        self.setWidget(self.tree)

    def set_project(self, project: Project | None, relay: ProjectRelay | None = None) -> None:
        self.project = project
        if relay is not None:
            relay.changed.connect(self.refresh)
            relay.current_changed.connect(self.refresh)
            relay.iteration_added.connect(self.refresh)
        self.refresh()

    def refresh(self, *_args: object) -> None:
        self.tree.clear()
        if self.project is None:
            return
        items: dict[str, QTreeWidgetItem] = {}
        target = project_target_fps(self.project)
        for it in self.project.visible_iterations:
            verdict = iteration_verdict(it, target)
            row = QTreeWidgetItem(
                [
                    it.label,
                    it.kind,
                    metric_text(it, "accuracy", "{:.1%}"),
                    metric_text(it, "params", "{:,}"),
                    metric_text(it, "weight_mb", "{:.3f}"),
                    (f"{'yes' if verdict.keeps_up else 'no'} {verdict.margin_text}" if verdict else ""),
                ]
            )
            if verdict is not None:
                row.setForeground(KEEPS_UP_COLUMN, QColor("#1e7e34" if verdict.keeps_up else "#b03a2e"))
                row.setToolTip(KEEPS_UP_COLUMN, f"{verdict.fps:,.0f} fps ({verdict.source}) against the target "
                               f"{verdict.target:,.0f} fps: {verdict.text}")
            measured_on = where(it.metrics.get("accuracy"))
            if measured_on:
                row.setToolTip(2, f"measured on {measured_on}")
            row.setData(0, Qt.ItemDataRole.UserRole, it.id)
            row.setToolTip(0, it.note or str(it.change or ""))
            if it.id == self.project.current_id:
                font = row.font(0)
                font.setBold(True)
                for col in range(len(COLUMNS)):
                    row.setFont(col, font)
            parent_item = items.get(it.parent or "")
            if parent_item is not None:
                parent_item.addChild(row)
            else:
                self.tree.addTopLevelItem(row)
            items[it.id] = row
        self.tree.expandAll()
        for col in range(len(COLUMNS)):
            self.tree.resizeColumnToContents(col)

    def push(self, command: QUndoCommand) -> None:
        """Do ``command`` undoably here: the Edit menu then undoes the dock's edits until a panel has focus."""
        self.undo.push(command)
        self.undo.activate()

    def _id(self, item: QTreeWidgetItem | None) -> str | None:
        return None if item is None else item.data(0, Qt.ItemDataRole.UserRole)

    def _make_current(self, item: QTreeWidgetItem) -> None:
        iteration_id = self._id(item)
        if self.project is not None and iteration_id and iteration_id != self.project.current_id:
            self.push(SetCurrentIteration(self.project, iteration_id))

    def _menu(self, pos) -> None:
        item = self.tree.itemAt(pos)
        iteration_id = self._id(item)
        if self.project is None or iteration_id is None:
            return
        menu = QMenu(self)
        current = QAction("Make current", menu)
        current.triggered.connect(lambda: self._make_current(item))
        rename = QAction("Rename…", menu)
        rename.triggered.connect(lambda: self._rename(iteration_id))
        hide = QAction("Remove from list", menu)
        hide.triggered.connect(lambda: self.push(HideIteration(self.project, iteration_id)))
        menu.addActions([current, rename, hide])
        menu.exec(self.tree.viewport().mapToGlobal(pos))

    def _rename(self, iteration_id: str) -> None:
        assert self.project is not None
        name, ok = QInputDialog.getText(self, "Rename iteration", "Name:", text=self.project.get(iteration_id).name)
        if ok and name.strip():
            self.push(RenameIteration(self.project, iteration_id, name))
