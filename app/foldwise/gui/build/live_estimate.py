"""Live re-estimates of folding edits: debounced, one at a time, stale ones dropped.

Each edit calls :meth:`LiveEstimator.request`; after ``delay_ms`` of quiet the latest request runs as a job
(FINN's re-estimate in the warm worker, ~0.2 s for TFC). A request arriving while one runs cancels it as
stale: the job ends without reporting, but the worker request itself is left to finish, because cancelling
a worker request kills the worker and the next edit would pay FINN's ~5 s import again. The newest request
then runs as soon as the worker is free. Jobs run through a private jobs controller (results are marshalled
onto the GUI thread as usual) so the Jobs dock is not flooded with sub-second re-estimates.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from PySide6.QtCore import QObject, QTimer, Signal

from foldwise.core.jobs import Job, JobContext, JobState
from foldwise.gui.jobs import JobsController


class LiveEstimator(QObject):
    """``request(payload)`` → after the debounce, ``run(payload, ctx)`` in a job → ``finished(result, payload,
    seconds since the request)`` or ``failed(error, payload)`` for the newest request only."""

    started = Signal()
    finished = Signal(object, object, float)
    failed = Signal(object, object)

    def __init__(self, run: Callable[[Any, JobContext], Any], delay_ms: int = 300,
                 parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._run = run
        self._timer = QTimer(self)
        self._timer.setSingleShot(True)
        self._timer.setInterval(delay_ms)
        self._timer.timeout.connect(self._fire)
        self._jobs = JobsController(parent=self)
        self._generation = 0
        self._pending: tuple[int, Any] | None = None
        self._job: Job | None = None
        self._requested_at = 0.0
        self.runs = 0
        self.dropped = 0
        self.last_latency: float | None = None  # request (edit) -> result on screen, seconds

    @property
    def busy(self) -> bool:
        return self._pending is not None or self._job is not None  # _job is cleared when its result is shown

    def request(self, payload: Any, immediate: bool = False) -> None:
        self._generation += 1
        self._pending = (self._generation, payload)
        self._requested_at = time.monotonic()
        if self._job is not None and not self._job.is_finished:
            self._job.cancel()  # stale: its result will be dropped
        if immediate:
            self._timer.stop()
            self._fire()
        else:
            self._timer.start()

    def cancel(self) -> None:
        """Forget pending work (e.g. another model was opened)."""
        self._timer.stop()
        self._pending = None
        self._generation += 1
        if self._job is not None:
            self._job.cancel()

    def _fire(self) -> None:
        if self._pending is None or (self._job is not None and not self._job.is_finished):
            return  # the running job's end starts the pending one
        generation, payload = self._pending
        self._pending = None
        job = Job("Re-estimate folding", self._work, payload)
        self._job = job
        self.runs += 1
        self.started.emit()
        self._jobs.start(job, on_done=lambda result: self._done(job, generation, payload, result),
                         on_error=lambda failed: self._done(failed, generation, payload, None))

    def _work(self, ctx: JobContext, payload: Any) -> Any:
        ctx.check_cancelled()
        # a context without the cancel flag: cancelling must not kill the warm worker (see module doc)
        result = self._run(payload, JobContext(on_progress=ctx.progress, on_log=ctx.log))
        ctx.check_cancelled()
        return result

    def _done(self, job: Job, generation: int, payload: Any, result: Any) -> None:
        if self._job is job:
            self._job = None
        self._jobs.registry.jobs = [j for j in self._jobs.registry.jobs if not j.is_finished]
        current = generation == self._generation
        if job.state == JobState.DONE and current:
            self.last_latency = time.monotonic() - self._requested_at
            self.finished.emit(result, payload, self.last_latency)
        elif job.state == JobState.FAILED and current:
            self.failed.emit(job.error, payload)
        else:
            self.dropped += 1
        if self._pending is not None and not self._timer.isActive():
            self._fire()
