"""What the Build panel's Sweep tab does: start, follow, cancel, resume and requeue sweeps as the panel's jobs
(the Sweep stage's calls, :mod:`foldwise.core.sweep.stage`), and make a point's iteration the current one.

While a sweep job runs, a one-second timer re-reads the sweep's record from the project (the executor saves it
as points progress), so every point's progress shows without the job touching a widget.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from PySide6.QtCore import QTimer
from PySide6.QtWidgets import QFileDialog

from foldwise.core.errors import FoldwiseError
from foldwise.core.finn.hosts import saved_hosts
from foldwise.core.sweep.grid import load_grid
from foldwise.core.sweep.record import SWEEPS_DIR, SweepRecord, list_sweeps
from foldwise.core.sweep.results import point_results
from foldwise.core.sweep.stage import SweepSpec, cancel_sweep, resume_sweep, sweep, sweep_status
from foldwise.gui.build.sweep_view import SweepView


class SweepTab:
    """Binds a :class:`SweepView` to the Build panel (its project, its jobs, its error dialogs)."""

    def __init__(self, panel: Any, view: SweepView) -> None:
        self.panel = panel
        self.view = view
        self.grid_path: Path | None = None
        self.record: SweepRecord | None = None
        self.timer = QTimer(view)
        self.timer.setInterval(1000)
        self.timer.timeout.connect(self.reload)
        view.grid_button.clicked.connect(self.choose_grid)
        view.start_button.clicked.connect(lambda: self.start())
        view.refresh_button.clicked.connect(lambda: self.refresh())
        view.cancel_button.clicked.connect(lambda: self.cancel())
        view.resume_button.clicked.connect(lambda: self.resume(only_failed=False))
        view.requeue_button.clicked.connect(lambda: self.resume(only_failed=True))
        view.current_button.clicked.connect(self.make_current)
        view.sweeps.currentIndexChanged.connect(lambda _i: self.reload())
        view.point_selected.connect(lambda _i: self.update_enabled())
        self.refresh_executors()
        self.update_enabled()

    @property
    def project(self) -> Any:
        return self.panel.project

    def refresh_executors(self) -> None:
        current = self.view.executor.currentText()
        self.view.executor.clear()
        self.view.executor.addItems(["local", "slurm", *(f"slurm:{h.name}" for h in _hosts())])
        if current:
            self.view.executor.setCurrentText(current)

    def project_changed(self) -> None:
        """List the project's sweeps (newest selected) and show it."""
        known = list_sweeps(self.project) if self.project is not None else []
        previous = self.view.sweeps.currentText()
        self.view.sweeps.blockSignals(True)
        self.view.sweeps.clear()
        self.view.sweeps.addItems(list(reversed(known)))
        if previous in known:
            self.view.sweeps.setCurrentText(previous)
        self.view.sweeps.blockSignals(False)
        self.reload()

    def reload(self) -> None:
        """Show the selected sweep as saved in the project (no call to the executor)."""
        name = self.view.sweeps.currentText()
        self.record = None
        if self.project is not None and name:
            try:
                self.record = SweepRecord.read(self.project.path / SWEEPS_DIR / name)
            except FoldwiseError:
                self.record = None
        results = point_results(self.project, self.record) if self.record is not None else []
        self.view.show_sweep(self.record, results)
        self.update_enabled()

    def update_enabled(self) -> None:
        has_project = self.project is not None and self.project.current is not None
        record, busy = self.record, self.panel.busy
        open_points = record is not None and record.status in ("running", "pending")
        self.view.start_button.setEnabled(has_project and self.grid_path is not None and not busy)
        self.view.refresh_button.setEnabled(record is not None)
        self.view.cancel_button.setEnabled(open_points)
        self.view.resume_button.setEnabled(
            record is not None and not open_points and not busy and record.status != "done"
        )
        self.view.requeue_button.setEnabled(
            record is not None and not open_points and not busy and record.counts()["failed"] > 0
        )
        index = self.view.selected_index()
        point = record.points[index] if record is not None and index is not None else None
        self.view.current_button.setEnabled(
            point is not None
            and point.iteration is not None
            and point.iteration != getattr(self.project.current, "id", None)
        )

    # ----------------------------------------------------------------------------------------------- actions
    def choose_grid(self) -> None:
        start = str(self.grid_path.parent) if self.grid_path else str(getattr(self.project, "path", Path.home()))
        path, _ = QFileDialog.getOpenFileName(self.view, "Sweep grid", start, "Sweep grids (*.yml *.yaml *.json)")
        if path:
            self.set_grid(Path(path))

    def set_grid(self, path: Path) -> None:
        self.grid_path = path
        self.view.grid_label.setText(path.name)
        self.update_enabled()

    def _follow(self, title: str, work: Any) -> Any:
        self.timer.start()

        def done(record: SweepRecord) -> None:
            self.timer.stop()
            self.project_changed()
            self.view.sweeps.setCurrentText(record.id)

        def failed(_job: Any) -> None:
            self.timer.stop()
            self.project_changed()

        job = self.panel.run_job(title, work, on_done=done, on_failed=failed)
        self.update_enabled()
        return job

    def start(self) -> Any:
        """Start a sweep of the current iteration over the chosen grid (a job of the panel)."""
        project = self.project
        try:
            grid = load_grid(self.grid_path) if self.grid_path else None
        except FoldwiseError as exc:
            self.panel.services.error("Sweep grid", exc)
            return None
        if grid is None or project is None:
            return None
        spec = SweepSpec(
            grid,
            executor=self.view.executor.currentText().strip() or "local",
            partition=self.view.partition.text().strip() or None,
        )
        started: list[str] = []

        def work(ctx: Any) -> SweepRecord:
            return sweep(project, spec, ctx)

        before = set(list_sweeps(project))
        job = self._follow(f"Sweep {len(grid.points)} points ({spec.executor})", work)
        QTimer.singleShot(300, lambda: self._show_new(before, started))
        return job

    def _show_new(self, before: set[str], shown: list[str]) -> None:
        """Select the sweep the running job made, once its record exists."""
        if self.project is None or shown:
            return
        new = sorted(set(list_sweeps(self.project)) - before)
        if new:
            shown.append(new[-1])
            self.project_changed()
            self.view.sweeps.setCurrentText(new[-1])
        elif self.timer.isActive():
            QTimer.singleShot(300, lambda: self._show_new(before, shown))

    def refresh(self) -> Any:
        project, name = self.project, self.view.sweeps.currentText() or None
        return self._follow("Sweep status", lambda _ctx: sweep_status(project, name))

    def cancel(self) -> Any:
        project, name = self.project, self.view.sweeps.currentText() or None
        return self._follow("Cancel sweep", lambda _ctx: cancel_sweep(project, name))

    def resume(self, only_failed: bool) -> Any:
        project, name = self.project, self.view.sweeps.currentText() or None
        title = "Requeue failed points" if only_failed else "Resume sweep"
        return self._follow(title, lambda ctx: resume_sweep(project, name, only_failed=only_failed, ctx=ctx))

    def make_current(self) -> None:
        index = self.view.selected_index()
        if self.record is None or index is None or self.project is None:
            return
        iteration = self.record.points[index].iteration
        if iteration:
            self.project.set_current(iteration)
            self.panel.services.status(f"iteration {iteration} is the current one")
        self.update_enabled()


def _hosts() -> list[Any]:
    try:
        return saved_hosts()
    except FoldwiseError:
        return []
