"""StagePanel owns starting jobs: a panel of a few lines gets busy state, inline progress, cancel, the done
callback, live log lines, the Jobs dock and an error dialog chosen by the exception's type."""

from __future__ import annotations

import errno
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QMainWindow, QPushButton, QVBoxLayout

from foldwise.core.errors import InputError, ProjectLockedError, SshError, ToolMissingError
from foldwise.core.jobs import Job, JobContext, JobState
from foldwise.core.prune.config import QuantizedIterationError
from foldwise.core.remote.target import HostUnreachableError
from foldwise.gui import errors
from foldwise.gui.jobs import JobsController, JobsDock
from foldwise.gui.panels.base import AppServices, StagePanel


@dataclass
class CountSpec:
    upto: int
    fail_with: BaseException | None = None


def count_stage(project: Any, spec: CountSpec, ctx: JobContext) -> int:
    """A stage of the standard shape: progress and a log line per step, cancellable, then a result."""
    for i in range(spec.upto):
        ctx.check_cancelled()
        ctx.progress(i / spec.upto, f"step {i}")
        ctx.log(f"line {i} of {project}")
    if spec.fail_with is not None:
        raise spec.fail_with
    return spec.upto


class CountPanel(StagePanel):
    """The whole wiring of a new panel: one button, the inline progress, a stage call."""

    title = "Count"

    def __init__(self, services: AppServices) -> None:
        super().__init__(services)
        self.run_button = QPushButton("Run")
        self.run_button.clicked.connect(lambda: self.start(CountSpec(3)))
        layout = QVBoxLayout(self)
        layout.addWidget(self.run_button)
        self.add_inline_progress(layout)
        self.results: list[int] = []
        self.lines: list[str] = []
        self.busy_calls: list[bool] = []

    def set_busy(self, busy: bool) -> None:
        self.busy_calls.append(busy)
        self.run_button.setEnabled(not busy)

    def start(self, spec: CountSpec) -> Job:
        return self.run_stage(f"Count to {spec.upto}", count_stage, spec, on_done=self.results.append,
                              on_log=self.lines.append)


@pytest.fixture
def services(qtbot) -> Iterator[AppServices]:
    window = QMainWindow()
    qtbot.addWidget(window)
    jobs = JobsController(parent=window)
    window.jobs_dock = JobsDock(jobs, window)  # type: ignore[attr-defined]
    yield AppServices(jobs=jobs, window=window)
    jobs.cancel_all()
    for job in jobs.registry.jobs:
        job.wait(10)


@pytest.fixture
def panel(services: AppServices, qtbot) -> CountPanel:
    panel = CountPanel(services)
    panel.project = "demo-project"  # type: ignore[assignment]  # the stage only prints it
    qtbot.addWidget(panel)
    panel.show()
    return panel


@pytest.fixture
def dialogs(monkeypatch: pytest.MonkeyPatch) -> list[tuple[str, str]]:
    shown: list[tuple[str, str]] = []
    monkeypatch.setattr(errors, "message_box", lambda _parent, title, text: shown.append((title, text)))
    return shown


def finish(qtbot, panel: StagePanel, job: Job) -> None:
    qtbot.waitUntil(lambda: job.is_finished and not panel.busy, timeout=10_000)


def test_a_stage_runs_with_busy_state_done_callback_log_and_the_jobs_dock(panel: CountPanel, services, qtbot,
                                                                         dialogs) -> None:
    qtbot.mouseClick(panel.run_button, Qt.MouseButton.LeftButton)
    job = panel._job
    assert job is not None and panel.busy and not panel.run_button.isEnabled()
    assert not panel.progress.isHidden() and not panel.cancel_button.isHidden()
    assert [row.relay.job for row in services.window.jobs_dock.rows()] == [job]
    finish(qtbot, panel, job)
    assert job.state == JobState.DONE and panel.results == [3]
    assert panel.lines == [f"line {i} of demo-project" for i in range(3)]
    assert panel.busy_calls == [True, False] and panel.run_button.isEnabled()
    assert panel.progress.isHidden() and panel.cancel_button.isHidden()
    assert dialogs == []


def test_progress_shows_inline_and_cancel_stops_the_job_without_a_dialog(panel: CountPanel, services, qtbot,
                                                                         dialogs) -> None:
    release = threading.Event()
    failed: list[JobState] = []

    def work(ctx: JobContext) -> None:
        ctx.progress(0.25, "waiting")
        while not release.wait(0.01):
            ctx.check_cancelled()

    job = panel.run_job("Wait", work, on_done=lambda _r: pytest.fail("a cancelled job is not done"),
                        on_failed=lambda j: failed.append(j.state))
    qtbot.waitUntil(lambda: panel.progress.value() == 250, timeout=5000)
    assert "waiting" in panel.progress.format()
    qtbot.mouseClick(panel.cancel_button, Qt.MouseButton.LeftButton)
    finish(qtbot, panel, job)
    assert job.state == JobState.CANCELLED and failed == [JobState.CANCELLED]
    assert dialogs == [] and panel.progress.isHidden()
    assert "cancelled" in services.window.statusBar().currentMessage()


def test_a_job_not_inline_leaves_the_bar_alone(panel: CountPanel, qtbot) -> None:
    job = panel.run_job("Quiet", lambda ctx: ctx.progress(0.5, "half"), inline=False)
    finish(qtbot, panel, job)
    assert panel.progress.value() != 500


@pytest.mark.parametrize(("exc", "title"), [
    (InputError("layer x does not exist"), "Cannot use this input"),
    (QuantizedIterationError("0002 is quantized", "0002", "0001"), "Needs a float iteration"),
    (ToolMissingError("vitis_hls is not on PATH"), "A tool is missing"),
    (SshError("connection lost"), "Remote machine problem"),
    (HostUnreachableError("nobody at 10.0.0.9:22"), "Remote machine problem"),
    (ProjectLockedError("locked by pid 12"), "Project in use"),
    (OSError(errno.ENOSPC, "No space left on device", "/p/model.pt"), "Disk full"),
    (OSError(errno.EROFS, "Read-only file system", "/p"), "Cannot write there"),
    (ZeroDivisionError("division by zero"), "Unexpected error"),
])
def test_the_error_dialog_is_chosen_by_exception_type(panel: CountPanel, qtbot, dialogs, exc, title) -> None:
    failed: list[Job] = []
    job = panel.run_stage("Count to 2", count_stage, CountSpec(2, fail_with=exc), on_failed=failed.append)
    finish(qtbot, panel, job)
    assert job.state == JobState.FAILED and failed == [job] and panel.results == []
    assert len(dialogs) == 1
    shown_title, text = dialogs[0]
    assert shown_title == title
    assert text.startswith("Count to 2: ") and "Traceback" not in text
    assert panel.run_button.isEnabled() and not panel.busy


def test_the_error_table_puts_subclasses_before_their_bases() -> None:
    for i, (cls, _wording) in enumerate(errors.ERROR_TABLE):
        for later, _ in errors.ERROR_TABLE[i + 1:]:
            assert not issubclass(later, cls), f"{later.__name__} is shadowed by {cls.__name__}"
