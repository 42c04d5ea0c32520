"""What every stage panel is: a widget over the open project, with the app's shared services."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, TypeVar

import shiboken6
from PySide6.QtCore import Qt
from PySide6.QtGui import QUndoGroup
from PySide6.QtWidgets import (
    QApplication,
    QBoxLayout,
    QFormLayout,
    QHBoxLayout,
    QProgressBar,
    QPushButton,
    QWidget,
)

from foldwise.core.jobs import Job, JobContext, JobState
from foldwise.core.project import Project
from foldwise.gui import errors
from foldwise.gui.fields import FieldGate
from foldwise.gui.undo import PanelUndoStack
from foldwise.gui.widgets.progress import set_bar_value

if TYPE_CHECKING:
    from foldwise.gui.jobs import JobsController
    from foldwise.gui.project_relay import ProjectRelay

S = TypeVar("S")  # a stage's spec
T = TypeVar("T")  # a job's result


@dataclass
class AppServices:
    """Shared by all panels: jobs (with progress and cancel), the undo group their stacks join, and where
    errors and status go."""

    jobs: JobsController
    window: QWidget
    undo: QUndoGroup | None = None
    auto_prepare: bool = True  # an untrained example project offers to train its network when opened

    def error(self, title: str, exc: BaseException) -> None:
        errors.show_error(self.window, title, exc)

    def status(self, text: str, msecs: int = 5000) -> None:
        bar = getattr(self.window, "statusBar", None)
        if bar is not None:
            bar().showMessage(text, msecs)


class StagePanel(QWidget):
    """Base of stage panels. Subclasses set ``title``/``icon`` and override :meth:`project_changed`.

    It owns starting jobs (Orange's ``ConcurrentWidgetMixin``): :meth:`run_stage` hands a core stage function
    to a job as it is, :meth:`run_job` any ``work(ctx)``. Either one shows the job in the Jobs dock, marks the
    panel :attr:`busy` (calling :meth:`set_busy`, where subclasses enable or disable their buttons), routes
    progress to the inline bar of :meth:`add_inline_progress`, and when the job ends calls ``on_done(result)``,
    or ``on_failed(job)`` and then shows the error dialog chosen by the exception's type (none for a cancel).
    A panel's whole job wiring is then, e.g.::

        def start_probe(self) -> Job | None:
            if self.busy or self.project is None:  # one job at a time is the panel's choice, not enforced
                return None
            return self.run_stage("Probe the board", probe_board, ProbeSpec(host), on_done=self._show_probe,
                                  on_log=self.log_view.append)
    """

    title = "Stage"
    icon = "stage"
    summary = ""

    def __init__(self, services: AppServices, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.services = services
        self.project: Project | None = None
        self._job: Job | None = None  # the job this panel started last
        self._running: list[Job] = []  # started here, their end not handled yet
        self.progress: QProgressBar | None = None
        self.cancel_button: QPushButton | None = None
        self._focus_kept: tuple[QWidget, QWidget | None] | None = None  # (user's focus, where Qt moved it)
        self.setObjectName(f"{self.title.lower()}Panel")
        self.fields = FieldGate(parent=self)  # the panel's number fields: its actions wait while one is invalid
        self.fields.changed.connect(self.fields_changed)
        self.undo_stack = PanelUndoStack(self.title, self)  # this panel's edits; active while it is shown
        if services.undo is not None:
            self.undo_stack.join(services.undo)

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

    # ----------------------------------------------------------------- jobs
    def add_inline_progress(self, layout: QBoxLayout | QFormLayout,
                            tooltip: str = "Stop the running job; the project is left as it was") -> QHBoxLayout:
        """Add the standard progress bar and Cancel button (hidden until a job runs) to ``layout`` (as a row)."""
        bar = QProgressBar()
        bar.setRange(0, 1000)
        button = QPushButton("Cancel")
        button.setObjectName("cancelButton")
        button.setToolTip(tooltip)
        row = QHBoxLayout()
        row.addWidget(bar, 1)
        row.addWidget(button)
        if isinstance(layout, QFormLayout):
            layout.addRow(row)
        else:
            layout.addLayout(row)
        self.use_inline_progress(bar, button)
        return row

    def use_inline_progress(self, bar: QProgressBar, cancel_button: QPushButton) -> None:
        """Show inline jobs on widgets the panel made itself (range 0..1000); Cancel cancels this panel's jobs."""
        self.progress, self.cancel_button = bar, cancel_button
        bar.setRange(0, 1000)
        bar.hide()
        cancel_button.hide()
        cancel_button.clicked.connect(self.cancel_job)

    @property
    def busy(self) -> bool:
        """A job started by this panel is running (or its end is not handled yet)."""
        return bool(self._running)

    def set_busy(self, busy: bool) -> None:
        """Called when the panel becomes busy or idle: enable or disable buttons here."""

    def fields_changed(self) -> None:
        """A number field of :attr:`fields` became valid or invalid: enable or disable the actions that read it
        (``self.fields.ok``). By default as :meth:`set_busy` does; override where that does more."""
        self.set_busy(self.busy)

    def fields_refused(self) -> bool:
        """True (and a status line saying why) when an action must wait for an invalid field to be fixed."""
        reason = self.fields.reason()
        if reason:
            self.services.status(reason)
        return bool(reason)

    def cancel_job(self) -> None:
        """Cancel every job this panel started that still runs."""
        for job in self._running:
            job.cancel()
        if self.cancel_button is not None:
            self.cancel_button.setEnabled(False)

    def run_stage(self, title: str, stage: Callable[[Project, S, JobContext], T], spec: S, *,
                  on_done: Callable[[T], None] | None = None, on_partial: Callable[[Any], None] | None = None,
                  on_log: Callable[[str], None] | None = None, on_failed: Callable[[Job], None] | None = None,
                  inline: bool = True) -> Job:
        """Run ``stage(project, spec, ctx)`` on the open project as a job (see :meth:`run_job`)."""
        project = self.project
        if project is None:
            raise RuntimeError(f"{type(self).__name__}: no project to run {title!r} on")
        return self.run_job(title, lambda ctx: stage(project, spec, ctx), on_done=on_done, on_partial=on_partial,
                            on_log=on_log, on_failed=on_failed, inline=inline)

    def run_job(self, title: str, work: Callable[[JobContext], T], *, on_done: Callable[[T], None] | None = None,
                on_partial: Callable[[Any], None] | None = None, on_log: Callable[[str], None] | None = None,
                on_failed: Callable[[Job], None] | None = None, inline: bool = True) -> Job:
        """Run ``work(ctx)`` in a thread as a job of this panel; every callback runs on the GUI thread.

        ``on_failed(job)`` runs when it failed or was cancelled (undo what the panel changed beforehand); then a
        failure shows the error dialog for its exception's type (:meth:`show_job_error`). ``inline`` routes
        progress to this panel's bar, when it has one; the Jobs dock shows every job either way.
        """
        job = Job(title, work)
        self._job = job
        self._running.append(job)
        bar = self.progress if inline else None
        if bar is not None:
            set_bar_value(bar, 0)
            bar.setFormat("%p%")
            bar.show()
            if self.cancel_button is not None:
                self.cancel_button.show()
                self.cancel_button.setEnabled(True)
        if len(self._running) == 1:
            self._go_busy()

        def ended() -> None:
            self._running.remove(job)
            if not self._running:
                for widget in (self.progress, self.cancel_button):
                    if widget is not None:
                        widget.hide()
                self.set_busy(False)
                self._give_focus_back()

        def done(result: T) -> None:
            ended()
            if on_done is not None:
                on_done(result)

        def failed(failed_job: Job) -> None:
            ended()
            if on_failed is not None:
                on_failed(failed_job)
            if failed_job.state == JobState.CANCELLED:
                self.services.status(f"{failed_job.title}: cancelled; the project is unchanged")
            else:
                self.show_job_error(failed_job)

        progress = self._show_progress if bar is not None else None
        return self.services.jobs.start(job, on_done=done, on_error=failed, on_progress=progress,
                                        on_partial=on_partial, on_log=on_log)

    def _go_busy(self) -> None:
        """set_busy(True), remembering the focus: disabling the focused button (the one just clicked) moves
        Qt's focus to the next widget in the tab chain, where it would stay after the job."""
        before = QApplication.focusWidget()
        self.set_busy(True)
        after = QApplication.focusWidget()
        self._focus_kept = (before, after) if before is not None and after is not before else None

    def _give_focus_back(self) -> None:
        """Focus back where the user left it, unless the user has put it somewhere else meanwhile."""
        kept, self._focus_kept = self._focus_kept, None
        if kept is None:
            return
        before, moved_to = kept
        if not shiboken6.isValid(before) or (moved_to is not None and not shiboken6.isValid(moved_to)):
            return
        if QApplication.focusWidget() is moved_to and before.isEnabled() and before.isVisible():
            before.setFocus(Qt.FocusReason.OtherFocusReason)

    def show_job_error(self, job: Job) -> None:
        """The dialog for a failed job, chosen by exception type; override to offer more (keep the default)."""
        errors.show_job_error(self.services.window, job)

    def _show_progress(self, fraction: float, message: str) -> None:
        if self.progress is not None:
            set_bar_value(self.progress, int(fraction * 1000))
            if message:
                self.progress.setFormat(f"%p% {message}")
