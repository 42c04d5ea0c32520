"""Foldwise's main window: stage navigator, stage panels, jobs/log/iterations docks, menus."""

from __future__ import annotations

import logging
from pathlib import Path

from PySide6.QtCore import QSettings, QSize, Qt, QTimer, Signal
from PySide6.QtGui import QAction, QCloseEvent, QGuiApplication, QKeySequence, QUndoGroup
from PySide6.QtWidgets import (
    QApplication,
    QFileDialog,
    QHBoxLayout,
    QLabel,
    QListWidget,
    QListWidgetItem,
    QMainWindow,
    QMessageBox,
    QScrollArea,
    QStackedWidget,
    QWidget,
)

from foldwise.core.errors import FoldwiseError
from foldwise.core.project import Project
from foldwise.gui.bundle_actions import BundleActions
from foldwise.gui.errors import show_error
from foldwise.gui.iterations_dock import IterationsDock
from foldwise.gui.jobs import JobsController, JobsDock
from foldwise.gui.log_dock import LogDock
from foldwise.gui.panels.base import AppServices, StagePanel
from foldwise.gui.project_relay import ProjectRelay
from foldwise.gui.resources import icon
from foldwise.gui.undo import PanelUndoStack
from foldwise.gui.welcome import WelcomePanel

log = logging.getLogger("foldwise.gui")
MAX_RECENT = 8


def stage_panel_classes() -> list[type[StagePanel]]:
    """The stages in navigator order; every stage has its real panel."""
    from foldwise.gui.panels.board_panel import BoardPanel
    from foldwise.gui.panels.build_panel import BuildPanel
    from foldwise.gui.panels.compare_panel import ComparePanel
    from foldwise.gui.panels.demo_panel import DemoPanel
    from foldwise.gui.panels.network_panel import NetworkPanel
    from foldwise.gui.panels.prune_panel import PrunePanel
    from foldwise.gui.panels.quantize_panel import QuantizePanel

    return [NetworkPanel, PrunePanel, QuantizePanel, BuildPanel, BoardPanel, DemoPanel, ComparePanel]


COMPACT_WIDTH = 1440  # px of screen: narrower ones (1280×800, 1366×768) put the Iterations dock at the bottom


def compact_screen() -> bool:
    """True on a screen narrower than :data:`COMPACT_WIDTH` (the panels then get the window's whole width)."""
    screen = QGuiApplication.primaryScreen()
    return screen is not None and screen.availableGeometry().width() < COMPACT_WIDTH


class MainWindow(QMainWindow):
    project_opened = Signal(object)
    shown = Signal()

    def __init__(self, settings: QSettings, auto_prepare: bool = True) -> None:
        super().__init__()
        self.settings = settings
        self.project: Project | None = None
        self.relay: ProjectRelay | None = None
        self.setWindowTitle("Foldwise")
        self.setWindowIcon(icon("foldwise"))
        self.resize(1320, 840)
        self.undo_group = QUndoGroup(self)  # every panel's stack; the shown panel's is the active one
        self.jobs = JobsController(parent=self)
        self.services = AppServices(jobs=self.jobs, undo=self.undo_group, window=self, auto_prepare=auto_prepare)

        self.navigator = QListWidget()
        self.navigator.setObjectName("stageNavigator")
        self.navigator.setIconSize(QSize(28, 28))
        self.navigator.setFixedWidth(150)
        self.stack = QStackedWidget()
        self.welcome = WelcomePanel(self)
        self.stack.addWidget(self.welcome)
        self.panels: list[StagePanel] = []
        for index, panel_class in enumerate(stage_panel_classes()):
            panel = panel_class(self.services)
            self.panels.append(panel)
            self.stack.addWidget(self._page(panel))
            item = QListWidgetItem(icon(panel.icon), panel.title)
            item.setToolTip(f"{panel.title} (Ctrl+{index + 1})")
            self.navigator.addItem(item)
        self.navigator.currentRowChanged.connect(self._show_stage)
        central = QWidget()
        row = QHBoxLayout(central)
        row.setContentsMargins(0, 0, 0, 0)
        row.setSpacing(0)
        row.addWidget(self.navigator)
        row.addWidget(self.stack, 1)
        self.setCentralWidget(central)

        self.jobs_dock = JobsDock(self.jobs, self)
        self.log_dock = LogDock(self)
        iterations_undo = PanelUndoStack("Iterations", self)
        iterations_undo.join(self.undo_group)
        self.iterations_dock = IterationsDock(iterations_undo, self)
        self.iterations_dock.setMinimumWidth(190)  # the lineage tree is unreadable narrower
        self.addDockWidget(Qt.DockWidgetArea.BottomDockWidgetArea, self.jobs_dock)
        compact = compact_screen()
        if compact:
            # Below 1440 px the panels need the width: the lineage goes beside the jobs and the log, still in view
            # (split before the log joins the jobs: a dock split from a tabbed one becomes another tab)
            self.addDockWidget(Qt.DockWidgetArea.BottomDockWidgetArea, self.iterations_dock)
            self.splitDockWidget(self.jobs_dock, self.iterations_dock, Qt.Orientation.Horizontal)
        else:
            self.addDockWidget(Qt.DockWidgetArea.RightDockWidgetArea, self.iterations_dock)
        self.addDockWidget(Qt.DockWidgetArea.BottomDockWidgetArea, self.log_dock)
        self.tabifyDockWidget(self.jobs_dock, self.log_dock)
        self.jobs_dock.raise_()
        if compact:  # the lineage's columns need ~500 px; the jobs' titles the rest
            self.resizeDocks([self.jobs_dock, self.iterations_dock], [700, 500], Qt.Orientation.Horizontal)
        else:
            self.resizeDocks([self.iterations_dock], [300], Qt.Orientation.Horizontal)
        self.resizeDocks([self.jobs_dock], [120], Qt.Orientation.Vertical)
        self.jobs.log_line.connect(lambda title, line: self.log_dock.append(line, title))
        for panel in self.panels:  # a new estimate changes the dock's Keeps up? column
            saved = getattr(panel, "state_saved", None)
            if saved is not None:
                saved.connect(self.iterations_dock.refresh)

        app = QApplication.instance()
        if isinstance(app, QApplication):
            app.focusChanged.connect(self._focus_changed)

        self.project_label = QLabel("No project")
        self.statusBar().addPermanentWidget(self.project_label)
        self.bundles = BundleActions(self)
        self._build_menus()
        self.set_project(None)

    # ----------------------------------------------------------------- menus
    def _build_menus(self) -> None:
        file_menu = self.menuBar().addMenu("&File")
        self.new_action = self._action("&New Project…", QKeySequence.StandardKey.New, self.new_project_dialog)
        self.open_action = self._action("&Open Project…", QKeySequence.StandardKey.Open, self.open_project_dialog)
        self.recent_menu = file_menu.addMenu("Open &Recent")
        self.save_action = self._action("&Save", QKeySequence.StandardKey.Save, self.save_project)
        self.close_action = self._action("&Close Project", QKeySequence.StandardKey.Close, self.close_project)
        self.quit_action = self._action("&Quit", QKeySequence.StandardKey.Quit, self.close)
        file_menu.addActions([self.new_action, self.open_action])
        file_menu.insertMenu(self.save_action, self.recent_menu)
        file_menu.addSeparator()
        file_menu.addActions([self.save_action, self.close_action])
        file_menu.addSeparator()
        file_menu.addActions([self.bundles.export_action, self.bundles.import_action])
        file_menu.addSeparator()
        file_menu.addAction(self.quit_action)
        self._refresh_recent_menu()

        edit_menu = self.menuBar().addMenu("&Edit")
        # the group's actions act on the active stack and name its panel ("Undo Build: Auto-fit folding")
        self.undo_action = self.undo_group.createUndoAction(self, "&Undo")
        self.undo_action.setShortcut(QKeySequence.StandardKey.Undo)
        self.redo_action = self.undo_group.createRedoAction(self, "&Redo")
        self.redo_action.setShortcut(QKeySequence.StandardKey.Redo)
        edit_menu.addActions([self.undo_action, self.redo_action])

        view_menu = self.menuBar().addMenu("&View")
        for index in range(len(self.panels)):
            action = QAction(self.panels[index].title, self)
            action.setShortcut(QKeySequence(f"Ctrl+{index + 1}"))
            action.triggered.connect(lambda _checked=False, i=index: self.show_stage(i))
            view_menu.addAction(action)
        view_menu.addSeparator()
        for dock in (self.iterations_dock, self.jobs_dock, self.log_dock):
            view_menu.addAction(dock.toggleViewAction())

        help_menu = self.menuBar().addMenu("&Help")
        self.guide_action = self._action("&User Guide", QKeySequence.StandardKey.HelpContents, self.guide)
        self.about_action = QAction("&About Foldwise", self)
        self.about_action.triggered.connect(lambda _checked=False: self.about())
        help_menu.addActions([self.guide_action, self.about_action])

    def _action(self, text: str, shortcut: QKeySequence.StandardKey, slot) -> QAction:
        action = QAction(text, self)
        action.setShortcut(QKeySequence(shortcut))
        action.triggered.connect(lambda _checked=False: slot())
        return action

    # ----------------------------------------------------------------- stages
    @staticmethod
    def _page(panel: QWidget) -> QScrollArea:
        """The panel in a scroll area: a panel wider or taller than the window scrolls instead of growing the
        window (which would push the status bar and docks off the screen)."""
        page = QScrollArea()
        page.setObjectName(f"{panel.objectName()}Page")
        page.setWidgetResizable(True)
        page.setFrameShape(QScrollArea.Shape.NoFrame)
        page.setWidget(panel)
        return page

    def show_stage(self, index: int) -> None:
        self.navigator.setCurrentRow(index)

    def _show_stage(self, row: int) -> None:
        if self.project is None or row < 0:
            self.stack.setCurrentWidget(self.welcome)
            self.undo_group.setActiveStack(None)
        else:
            self.stack.setCurrentIndex(row + 1)  # page 0 is the welcome
            self.panels[row].undo_stack.activate()

    def _focus_changed(self, _old: QWidget | None, new: QWidget | None) -> None:
        """Undo acts where the user works: the Iterations dock's stack while it has focus, the panel's when the
        focus comes back into the panel (the navigator and other docks leave it as it is)."""
        widget = new
        while widget is not None:
            if widget is self.iterations_dock:
                self.iterations_dock.undo.activate()
                return
            if isinstance(widget, StagePanel) and widget in self.panels:
                widget.undo_stack.activate()
                return
            widget = widget.parentWidget()

    def current_panel(self) -> QWidget:
        page = self.stack.currentWidget()
        return page.widget() if isinstance(page, QScrollArea) else page

    # ----------------------------------------------------------------- projects
    def set_project(self, project: Project | None) -> None:
        if self.relay is not None:
            self.relay.detach()
            self.relay.deleteLater()
        self.project = project
        self.relay = ProjectRelay(project, self) if project is not None else None
        for stack in self.undo_group.stacks():
            stack.clear()
        for panel in self.panels:
            panel.set_project(project, self.relay)
        self.iterations_dock.set_project(project, self.relay)
        enabled = project is not None
        for action in (self.save_action, self.close_action):
            action.setEnabled(enabled)
        self.bundles.set_project(project)
        self.navigator.setEnabled(enabled)
        if self.relay is not None:
            self.relay.changed.connect(self._update_title)
            self.relay.current_changed.connect(self._update_title)
            self.navigator.setCurrentRow(max(self.navigator.currentRow(), 0))
            self._show_stage(self.navigator.currentRow())
        else:
            self.stack.setCurrentWidget(self.welcome)
        self._update_title()
        self.project_opened.emit(project)

    def _update_title(self, *_args: object) -> None:
        if self.project is None:
            self.setWindowTitle("Foldwise")
            self.project_label.setText("No project")
            return
        current = self.project.current
        where = current.label if current else "no iteration yet"
        self.setWindowTitle(f"{self.project.name} — Foldwise")
        self.project_label.setText(f"{self.project.name} · {where}")

    def open_project(self, path: str | Path) -> bool:
        """Open ``path``; on failure show why and keep the current project. Returns whether it opened."""
        if self.project is not None and Path(path).absolute() == self.project.path:
            return True
        try:
            project = Project.open(path)
        except FoldwiseError as exc:
            show_error(self, "Cannot open project", exc)
            return False
        if not self.close_project():
            project.close()
            return False
        self.set_project(project)
        self._add_recent(project.path)
        self.statusBar().showMessage(f"Opened {project.path}", 4000)
        log.info("opened project %s", project.path)
        return True

    def create_project(self, path: str | Path, example: str | None = None, arch: str | None = None,
                       data_folder: str | None = None, data: str | None = None) -> bool:
        from foldwise.core.examples import new_project

        try:
            project = new_project(path, example=example, arch=arch, data_folder=data_folder, data=data)
        except FoldwiseError as exc:
            show_error(self, "Cannot create project", exc)
            return False
        path = project.path
        project.close()
        return self.open_project(path)

    def close_project(self, ask: bool = True) -> bool:
        """Close the open project (cancelling its running jobs, after asking unless ``ask`` is False). False if
        the user declined."""
        if self.project is None:
            return True
        running = self.jobs.running
        if running and ask:
            answer = QMessageBox.question(
                self,
                "Jobs are running",
                f"{len(running)} job(s) are still running. Cancel them and close the project?",
            )
            if answer != QMessageBox.StandardButton.Yes:
                return False
        if running:
            self.jobs.cancel_all()
            for job in running:
                job.wait(10)
        project = self.project
        self.set_project(None)
        project.close()
        return True

    def save_project(self) -> None:
        if self.project is None:
            return
        try:
            self.project.save()
            self.statusBar().showMessage("Saved (Foldwise also saves after every change)", 3000)
        except FoldwiseError as exc:
            show_error(self, "Cannot save project", exc)

    def new_project_dialog(self) -> None:
        from foldwise.gui.new_project_dialog import NewProjectDialog

        dialog = NewProjectDialog(self)
        if dialog.exec():
            self.create_project(dialog.path(), dialog.example(), dialog.arch(), dialog.data_folder(),
                                dialog.dataset())

    def open_project_dialog(self) -> None:
        start = str(self.project.path.parent) if self.project else str(Path.home())
        path = QFileDialog.getExistingDirectory(self, "Open Foldwise project", start)
        if path:
            self.open_project(path)

    # ----------------------------------------------------------------- recent
    def recent_projects(self) -> list[str]:
        value = self.settings.value("recent", [])
        if isinstance(value, str):
            value = [value]
        return [str(v) for v in (value or [])]

    def _add_recent(self, path: Path) -> None:
        recent = [p for p in self.recent_projects() if p != str(path)]
        recent.insert(0, str(path))
        self.settings.setValue("recent", recent[:MAX_RECENT])
        self.settings.sync()
        self._refresh_recent_menu()

    def _refresh_recent_menu(self) -> None:
        self.recent_menu.clear()
        recent = self.recent_projects()
        for path in recent:
            action = self.recent_menu.addAction(path)
            action.triggered.connect(lambda _checked=False, p=path: self.open_project(p))
        self.recent_menu.setEnabled(bool(recent))
        self.welcome.set_recent(recent)

    # ----------------------------------------------------------------- misc
    def guide(self) -> None:
        from foldwise.gui.guide import GuideDialog

        dialog = GuideDialog(self)
        dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        dialog.open()

    def about(self) -> None:
        from foldwise.gui.about import AboutDialog

        AboutDialog(self).open()

    def showEvent(self, event) -> None:
        super().showEvent(event)
        QTimer.singleShot(0, self.shown.emit)

    def closeEvent(self, event: QCloseEvent) -> None:
        if not self.close_project():
            event.ignore()
            return
        self.log_dock.detach()
        event.accept()

