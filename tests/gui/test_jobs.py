"""Jobs dock: failures red with their reason, Clear, running rows on top, no trivial rows, time left."""

from __future__ import annotations

import threading
import time

import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QMainWindow

from foldwise.core.errors import FoldwiseError
from foldwise.core.jobs import Job, JobContext, JobState
from foldwise.gui.jobs import JobsController, JobsDock


@pytest.fixture
def dock(qtbot):
    window = QMainWindow()
    qtbot.addWidget(window)
    controller = JobsController(parent=window)
    dock = JobsDock(controller, window)
    window.addDockWidget(Qt.DockWidgetArea.BottomDockWidgetArea, dock)
    window.show()
    yield dock
    controller.cancel_all()
    for job in controller.registry.jobs:
        job.wait(5)


def _waiting(release: threading.Event, fraction: float = 0.1):
    def work(ctx: JobContext) -> None:
        ctx.progress(fraction, "working")
        while not release.wait(0.01):
            ctx.check_cancelled()
    return work


def _start(dock: JobsDock, job: Job) -> Job:
    dock.parent().findChild(JobsController).start(job)
    return job


def test_a_failed_job_is_red_with_its_reason(dock: JobsDock, qtbot) -> None:
    def work(ctx: JobContext) -> None:
        ctx.progress(0.05, "reading")
        time.sleep(0.6)
        raise FoldwiseError("the model has no hardware nodes")

    job = _start(dock, Job("Estimate", work))
    row = dock.rows()[0]
    qtbot.waitUntil(lambda: row.ended, timeout=5000)
    assert job.state == JobState.FAILED
    assert "#c0392b" in row.bar.styleSheet() and row.bar.format() == "failed" and row.bar.value() == 1000
    assert "the model has no hardware nodes" in row.message.text() and "#c0392b" in row.message.text()


def test_trivial_rows_go_and_clear_removes_finished_ones(dock: JobsDock, qtbot) -> None:
    quick = _start(dock, Job("Load torch and Brevitas (first use)", lambda ctx: None))
    qtbot.waitUntil(lambda: quick.is_finished and not dock.rows(), timeout=5000)
    assert not dock.clear_button.isEnabled()

    slow = _start(dock, Job("Train", lambda ctx: time.sleep(0.6)))
    release = threading.Event()
    running = _start(dock, Job("Calibrate", _waiting(release)))
    qtbot.waitUntil(lambda: slow.is_finished and dock.rows()[-1].ended, timeout=5000)
    assert [r.relay.job for r in dock.rows()] == [running, slow]
    assert "done in" in dock.rows()[1].message.text() and dock.clear_button.isEnabled()
    qtbot.mouseClick(dock.clear_button, Qt.MouseButton.LeftButton)
    assert [r.relay.job for r in dock.rows()] == [running]  # a running job is never cleared
    assert not dock.clear_button.isEnabled()
    release.set()


def test_running_rows_stay_on_top_in_the_order_they_started(dock: JobsDock, qtbot) -> None:
    release_a, release_b = threading.Event(), threading.Event()
    first = _start(dock, Job("Auto-fit bits", _waiting(release_a)))
    top = dock.rows()[0]
    second = _start(dock, Job("Hardware nodes", _waiting(release_b)))
    assert dock.rows()[0] is top  # the first job's Cancel did not move down
    time.sleep(0.6)  # long enough to keep its row
    release_b.set()
    qtbot.waitUntil(lambda: dock.rows()[1].ended, timeout=5000)
    release_c = threading.Event()
    third = _start(dock, Job("Estimate", _waiting(release_c)))
    assert [r.relay.job for r in dock.rows()] == [first, third, second]
    release_a.set()
    release_c.set()


def test_a_long_job_shows_the_time_left(dock: JobsDock, qtbot) -> None:
    release = threading.Event()
    job = _start(dock, Job("Auto-fit bits", _waiting(release, 0.25)))
    row = dock.rows()[0]
    qtbot.waitUntil(lambda: row.bar.value() == 250, timeout=5000)
    assert "left" not in row.message.text()  # too early to say
    row.show_eta(now=job.started_at + 60.0)
    assert row.message.text() == "working · about 3 min 00 s left"
    release.set()
