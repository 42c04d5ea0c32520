"""The Compare stage: every iteration side by side — a tree of what was made from what, the table with each
figure's source, bar and accuracy-vs-FPS charts, the diff of two iterations and the story root → current.

It only reads the project (:mod:`foldwise.core.compare`). Builds and board runs are records the manifest does
not announce, so besides the project's events it refreshes whenever a job ends and whenever it is shown (and
only while it is shown: reading every build's reports is not for a panel nobody looks at).
"""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import Qt, QTimer
from PySide6.QtWidgets import (
    QHBoxLayout,
    QLabel,
    QPushButton,
    QSplitter,
    QTabWidget,
    QTreeWidget,
    QTreeWidgetItem,
    QVBoxLayout,
    QWidget,
)

from foldwise.core.compare import Row, compare_table
from foldwise.core.errors import FoldwiseError
from foldwise.core.finn.target import project_target_fps
from foldwise.core.project import Project
from foldwise.gui.compare.diff_view import DiffView
from foldwise.gui.compare.story_view import StoryView
from foldwise.gui.compare.table import CompareTable
from foldwise.gui.panels.base import AppServices, StagePanel
from foldwise.gui.project_relay import ProjectRelay

TREE_COLUMNS = ("Iteration", "When", "What changed")


class ComparePanel(StagePanel):
    title = "Compare"
    icon = "compare"
    summary = "<p>Iterations side by side — size, accuracy, FPS, resources — with the source of every figure.</p>"

    def __init__(self, services: AppServices, parent: QWidget | None = None) -> None:
        super().__init__(services, parent)
        self.rows: list[Row] = []
        self.selected_id: str | None = None
        self._tree_items: dict[str, QTreeWidgetItem] = {}
        self.tree = QTreeWidget()
        self.tree.setObjectName("compareTree")
        self.tree.setHeaderLabels(list(TREE_COLUMNS))
        self.tree.setMinimumWidth(220)
        self.tree.currentItemChanged.connect(self._tree_selected)
        self.table = CompareTable()
        self.table.iteration_selected.connect(self.select)
        self.bars: Any = None  # MetricBars and AccuracyFpsScatter: made when first shown (pyqtgraph loads then)
        self.scatter: Any = None
        self.diff_view = DiffView()
        self.story_view = StoryView()
        self.tabs = QTabWidget()
        self.tabs.setObjectName("compareTabs")
        self.tabs.addTab(self.table, "Table")
        self.tabs.addTab(self.diff_view, "Diff")
        self.tabs.addTab(self.story_view, "Story")
        self.status = QLabel()
        self.status.setObjectName("compareStatus")
        self.status.setWordWrap(True)
        refresh = QPushButton("Refresh")
        refresh.setToolTip("Read the project's iterations, builds and board runs again")
        refresh.clicked.connect(self.refresh)
        split = QSplitter(Qt.Orientation.Horizontal)
        split.addWidget(self.tree)
        split.addWidget(self.tabs)
        split.setStretchFactor(1, 3)
        top = QHBoxLayout()
        top.addWidget(QLabel(f"<h2>{self.title}</h2>"))
        top.addWidget(self.status, 1)
        top.addWidget(refresh)
        layout = QVBoxLayout(self)
        layout.addLayout(top)
        layout.addWidget(split, 1)
        self._pending = QTimer(self)  # several events in a row (a stage's commit) refresh once
        self._pending.setSingleShot(True)
        self._pending.setInterval(50)
        self._pending.timeout.connect(self.refresh)
        services.jobs.job_started.connect(lambda relay: relay.finished.connect(self._pending.start))

    # ----------------------------------------------------------------- project
    def set_project(self, project: Project | None, relay: ProjectRelay | None = None) -> None:
        if relay is not None:
            relay.iteration_added.connect(lambda _it: self._pending.start())
        super().set_project(project, relay)

    def project_changed(self) -> None:
        self.refresh()

    def showEvent(self, event) -> None:
        super().showEvent(event)
        self.refresh()

    def refresh(self) -> None:
        """Read the project again; while the panel is hidden this waits for it to be shown (showEvent)."""
        if not self.isVisible():
            return
        self._ensure_charts()
        project = self.project
        try:
            self.rows = compare_table(project) if project is not None else []
        except FoldwiseError as exc:
            self.rows = []
            self.status.setText(f"Cannot read the project: {exc}")
        else:
            warnings = [w for row in self.rows for w in row.warnings]
            target = project_target_fps(project)
            self.status.setText("; ".join(dict.fromkeys(warnings)) if warnings else
                                (f"{len(self.rows)} iterations · target {target:,} FPS" if target else
                                 f"{len(self.rows)} iterations · no target FPS set (Build stage)")
                                if project is not None else "")
        ids = {row.id for row in self.rows}
        if self.selected_id not in ids:
            self.selected_id = project.current_id if project is not None and project.current_id in ids else None
        self._fill_tree()
        self.table.set_rows(self.rows)
        target = project_target_fps(project)
        self.bars.set_rows(self.rows, target)
        self.scatter.set_rows(self.rows, target, self.selected_id)
        self.diff_view.set_rows(project, self.rows)
        self.story_view.set_project(project)
        self._show_selection(pair=self.diff_view.result is None)

    def _ensure_charts(self) -> None:
        if self.bars is not None:
            return
        from foldwise.gui.compare.charts import AccuracyFpsScatter, MetricBars

        self.bars = MetricBars()
        self.bars.iteration_clicked.connect(self.select)
        self.scatter = AccuracyFpsScatter()
        self.scatter.iteration_clicked.connect(self.select)
        self.tabs.insertTab(1, self.bars, "Bars")
        self.tabs.insertTab(2, self.scatter, "Accuracy vs FPS")

    def _fill_tree(self) -> None:
        self.tree.blockSignals(True)
        self.tree.clear()
        items: dict[str, QTreeWidgetItem] = {}
        for row in self.rows:
            created = row.created.replace("T", " ")[:16]  # shown without the year, which the tooltip has
            item = QTreeWidgetItem([row.label, created[5:], row.change or row.kind])
            item.setToolTip(1, created)
            item.setData(0, Qt.ItemDataRole.UserRole, row.id)
            item.setToolTip(2, row.change or row.kind)
            if row.current:
                font = item.font(0)
                font.setBold(True)
                item.setFont(0, font)
            parent = items.get(row.parent or "")
            if parent is not None:
                parent.addChild(item)
            else:
                self.tree.addTopLevelItem(item)
            items[row.id] = item
        self.tree.expandAll()
        self.tree.resizeColumnToContents(0)
        self.tree.resizeColumnToContents(1)
        self.tree.blockSignals(False)
        self._tree_items = items

    # ----------------------------------------------------------------- selection
    def select(self, iteration_id: str | None) -> None:
        """Select an iteration in the tree, the table and the scatter; the diff shows its parent → it."""
        if iteration_id == self.selected_id:
            return
        self.selected_id = iteration_id
        if self.scatter is not None:
            self.scatter.set_rows(self.rows, project_target_fps(self.project), iteration_id)
        self._show_selection(pair=True)

    def _show_selection(self, pair: bool) -> None:
        item = self._tree_items.get(self.selected_id or "")
        self.tree.blockSignals(True)
        self.tree.setCurrentItem(item)
        self.tree.blockSignals(False)
        self.table.select(self.selected_id)
        row = next((r for r in self.rows if r.id == self.selected_id), None)
        if pair and row is not None and row.parent:
            self.diff_view.set_pair(row.parent, row.id)

    def _tree_selected(self, item: QTreeWidgetItem | None, _previous: QTreeWidgetItem | None) -> None:
        if item is not None:
            self.select(item.data(0, Qt.ItemDataRole.UserRole))


if __name__ == "__main__":  # preview: python -m foldwise.gui.panels.compare_panel PROJECT
    import sys

    from PySide6.QtWidgets import QApplication

    from foldwise.gui.jobs import JobsController

    app = QApplication(sys.argv)
    window = QWidget()
    panel = ComparePanel(AppServices(JobsController(), window))
    panel.set_project(Project.open(sys.argv[1], read_only=True))
    panel.resize(1200, 700)
    panel.show()
    app.exec()
