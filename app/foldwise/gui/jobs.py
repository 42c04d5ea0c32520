"""Runs core jobs off the GUI thread and brings their events back onto it.

Core :class:`~foldwise.core.jobs.Job` objects emit psygnal events from their worker thread; each is relayed
through a QObject living in the GUI thread, so Qt queues the calls and no widget is touched from a worker
(napari's ``_qt/qthreading.py``, Orange's ``ConcurrentWidgetMixin``).
"""

from __future__ import annotations

import html
import os
import sys
import time
from collections.abc import Callable
from typing import Any

from PySide6.QtCore import QObject, Qt, QTimer, Signal
from PySide6.QtWidgets import (
    QDockWidget,
    QHBoxLayout,
    QLabel,
    QProgressBar,
    QPushButton,
    QScrollArea,
    QSizePolicy,
    QVBoxLayout,
    QWidget,
)

from foldwise.core.jobs import Job, JobRegistry, JobState, eta, format_duration
from foldwise.gui.gui_thread_gc import collect_garbage_on_gui_thread
from foldwise.gui.widgets.progress import set_bar_value


def leave_a_core_for_the_gui() -> None:
    """Cap torch's intra-op threads at one fewer than the cores, so a training or calibration job never takes
    every core from the event loop (on 2 cores torch's 2 threads plus a FINN estimate stalled it ~200 ms)."""
    cores = max(1, (os.cpu_count() or 2) - 1)
    os.environ.setdefault("OMP_NUM_THREADS", str(cores))  # read by torch when it is first imported
    torch = sys.modules.get("torch")
    if torch is not None and torch.get_num_threads() > cores:
        torch.set_num_threads(cores)


class _JobRelay(QObject):
    progressed = Signal(float, str)
    logged = Signal(str)
    partial = Signal(object)
    finished = Signal()

    def __init__(self, job: Job) -> None:
        super().__init__()
        self.job = job
        job.progressed.connect(self.progressed.emit)
        job.logged.connect(self.logged.emit)
        job.partial.connect(self.partial.emit)
        job.finished.connect(lambda _job: self.finished.emit())


class JobsController(QObject):
    """Starts jobs and routes their progress, log lines and outcome to GUI callbacks on the GUI thread."""

    job_started = Signal(object)  # _JobRelay
    log_line = Signal(str, str)  # job title, line

    def __init__(self, registry: JobRegistry | None = None, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.registry = registry or JobRegistry()
        self._relays: list[_JobRelay] = []
        leave_a_core_for_the_gui()
        collect_garbage_on_gui_thread()  # worker threads must never be the ones destroying widgets

    def start(
        self,
        job: Job,
        on_done: Callable[[Any], None] | None = None,
        on_error: Callable[[Job], None] | None = None,
        on_progress: Callable[[float, str], None] | None = None,
        on_partial: Callable[[Any], None] | None = None,
        on_log: Callable[[str], None] | None = None,
    ) -> Job:
        """Run ``job`` in a thread; every callback is called on the GUI thread. ``on_error`` gets the job when it
        failed or was cancelled; ``on_log`` each log line as it comes (they also go to the log dock)."""
        relay = _JobRelay(job)
        self._relays.append(relay)
        if on_progress is not None:
            relay.progressed.connect(on_progress)
        if on_partial is not None:
            relay.partial.connect(on_partial)
        if on_log is not None:
            relay.logged.connect(on_log)
        relay.logged.connect(lambda line: self.log_line.emit(job.title, line))

        def finished() -> None:
            self._relays.remove(relay)
            if job.state == JobState.DONE and on_done is not None:
                on_done(job.result)
            elif job.state in (JobState.FAILED, JobState.CANCELLED) and on_error is not None:
                on_error(job)

        relay.finished.connect(finished, Qt.ConnectionType.QueuedConnection)
        self.job_started.emit(relay)
        self.registry.submit(job)
        return job

    @property
    def running(self) -> list[Job]:
        # A finished job keeps its relay until the queued "finished" call runs: it is not running any more.
        return [relay.job for relay in self._relays if not relay.job.is_finished]

    def cancel_all(self) -> None:
        self.registry.cancel_all()


#: a job that succeeded faster than this leaves no row (module loads, cache hits: noise in the dock)
TRIVIAL_SECONDS = 0.5
_FAILED_BAR = "QProgressBar::chunk { background: #c0392b; }"


class _JobRow(QWidget):
    finished = Signal(object)  # the row, once its job has ended and the row shows it

    def __init__(self, relay: _JobRelay, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.relay = relay
        self.setObjectName("jobRow")
        # One line per job (title · bar · message · Cancel), so the dock shows several without scrolling.
        self.title = QLabel(f"<b>{relay.job.title}</b>")
        self.title.setToolTip(relay.job.title)
        self.title.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)
        self.message = QLabel("starting…")
        self.message.setObjectName("jobMessage")
        self.message.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)
        self.bar = QProgressBar()
        self.bar.setRange(0, 1000)
        self.bar.setTextVisible(True)
        self.bar.setFormat("%p%")
        self.bar.setFixedWidth(180)
        self.bar.setMaximumHeight(16)
        self.cancel_button = QPushButton("Cancel")
        self.cancel_button.setToolTip("Stop this job; the project is left as it was")
        self.cancel_button.clicked.connect(self._cancel)
        keep = self.cancel_button.sizePolicy()
        keep.setRetainSizeWhenHidden(True)  # finished rows keep their columns aligned with running ones
        self.cancel_button.setSizePolicy(keep)
        layout = QHBoxLayout(self)
        layout.setContentsMargins(6, 1, 6, 1)
        layout.addWidget(self.title, 2)
        layout.addWidget(self.bar)
        layout.addWidget(self.message, 3)
        layout.addWidget(self.cancel_button)
        self._text = ""
        self.ended = False  # the row shows its job's end (set when the queued finish has run)
        relay.progressed.connect(self._on_progress)
        relay.finished.connect(self._on_finished, Qt.ConnectionType.QueuedConnection)

    def _cancel(self) -> None:
        self.relay.job.cancel()
        self.cancel_button.setEnabled(False)
        self.message.setText("cancelling…")

    def _on_progress(self, fraction: float, message: str) -> None:
        if self.relay.job.is_finished or not self.cancel_button.isEnabled():
            return
        set_bar_value(self.bar, int(fraction * 1000))
        if message:
            self._text = message
            self.message.setToolTip(message)
        self.show_eta()

    def show_eta(self, now: float | None = None) -> None:
        """The message, with the time left at the rate so far once that says something (long jobs)."""
        job = self.relay.job
        if job.is_finished or job.started_at is None:
            return
        elapsed = (time.monotonic() if now is None else now) - job.started_at
        left = eta(job.fraction, elapsed)
        suffix = f" · about {format_duration(left)} left" if left is not None else ""
        self.message.setText(f"{self._text}{suffix}" if self._text or suffix else "running…")

    def _on_finished(self) -> None:
        job = self.relay.job
        self.ended = True
        self.cancel_button.setEnabled(False)
        self.cancel_button.hide()
        seconds = (job.ended_at or 0) - (job.started_at or 0)
        if job.state == JobState.DONE:
            set_bar_value(self.bar, 1000)
            self.message.setText(f"done in {seconds:.1f} s")
        elif job.state == JobState.CANCELLED:
            self.message.setText("cancelled")
        else:
            set_bar_value(self.bar, 1000)
            self.bar.setFormat("failed")
            self.bar.setStyleSheet(_FAILED_BAR)
            self.message.setText(f"<span style='color:#c0392b'><b>failed:</b> {html.escape(job.error_message)}"
                                 "</span>")
            self.message.setToolTip(job.error_message)
        self.finished.emit(self)

    @property
    def is_trivial(self) -> bool:
        """Succeeded in under :data:`TRIVIAL_SECONDS`: nothing the user needs to see."""
        job = self.relay.job
        return job.state == JobState.DONE and (job.ended_at or 0) - (job.started_at or 0) < TRIVIAL_SECONDS


class JobsDock(QDockWidget):
    """Every job of this session: title, progress bar, message (with the time left) and a Cancel button.

    Running jobs stay on top in the order they started, so a Cancel button never moves down when another job
    starts; finished ones follow, newest first, until Clear. Jobs that succeeded at once leave no row.
    """

    MAX_ROWS = 30

    def __init__(self, controller: JobsController, parent: QWidget | None = None) -> None:
        super().__init__("Jobs", parent)
        self.setObjectName("jobsDock")
        self._list = QWidget()
        self._layout = QVBoxLayout(self._list)
        self._layout.setContentsMargins(0, 0, 0, 0)
        self._layout.setSpacing(0)
        self._empty = QLabel("No jobs yet. Long work (training, calibration, builds) shows up here.")
        self._empty.setWordWrap(True)
        self._layout.addWidget(self._empty)
        self._layout.addStretch(1)
        scroll = QScrollArea()
        scroll.setWidgetResizable(True)
        scroll.setWidget(self._list)
        self.clear_button = QPushButton("Clear finished")
        self.clear_button.setObjectName("clearJobsButton")
        self.clear_button.setToolTip("Remove the rows of jobs that have ended")
        self.clear_button.setEnabled(False)
        self.clear_button.clicked.connect(self.clear_finished)
        bar = QHBoxLayout()
        bar.setContentsMargins(4, 2, 4, 0)
        bar.addStretch(1)
        bar.addWidget(self.clear_button)
        body = QWidget()
        outer = QVBoxLayout(body)
        outer.setContentsMargins(0, 0, 0, 0)
        outer.setSpacing(0)
        outer.addLayout(bar)
        outer.addWidget(scroll, 1)
        self.setWidget(body)
        self._eta_timer = QTimer(self)
        self._eta_timer.setInterval(1000)  # the time left counts down between progress reports too
        self._eta_timer.timeout.connect(self._tick)
        controller.job_started.connect(self.add_job)

    def add_job(self, relay: _JobRelay) -> None:
        self._empty.hide()
        row = _JobRow(relay)
        row.finished.connect(self._row_finished)
        self._layout.insertWidget(len(self.running_rows()), row)  # below the jobs already running
        self._eta_timer.start()
        self._trim()

    def _row_finished(self, row: _JobRow) -> None:
        if row.is_trivial:
            self._remove(row)
        else:
            self._layout.removeWidget(row)
            self._layout.insertWidget(len(self.running_rows()), row)  # top of the finished ones
        if not self.running_rows():
            self._eta_timer.stop()
        self._update_clear()

    def _tick(self) -> None:
        for row in self.running_rows():
            row.show_eta()

    def _remove(self, row: _JobRow) -> None:
        self._layout.removeWidget(row)
        row.setParent(None)
        row.deleteLater()

    def _trim(self) -> None:
        for old in self.rows()[self.MAX_ROWS :]:
            if old.ended:
                self._remove(old)
        self._update_clear()

    def _update_clear(self) -> None:
        self.clear_button.setEnabled(any(r.ended for r in self.rows()))

    def clear_finished(self) -> None:
        for row in self.rows():
            if row.ended:
                self._remove(row)
        self._update_clear()

    def rows(self) -> list[_JobRow]:
        found = [self._layout.itemAt(i).widget() for i in range(self._layout.count())]
        return [w for w in found if isinstance(w, _JobRow)]

    def running_rows(self) -> list[_JobRow]:
        """Rows whose job has not ended yet, as far as the GUI has been told."""
        return [r for r in self.rows() if not r.ended]
