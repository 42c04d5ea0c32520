"""Long work as jobs: progress (fraction + message), cancel, log lines, result or error.

A long core function takes a :class:`JobContext` and calls ``ctx.progress``/``ctx.log`` as it goes and
``ctx.check_cancelled()`` between batches (it raises :class:`Cancelled`). A :class:`Job` runs such a function
in a thread (``start``) or in the caller (``run``, used by the CLI); :func:`run_subprocess` streams a child
process's lines into the context and kills its whole process group on cancel, so subprocess work is a job too.
Nothing here imports Qt: ``foldwise.gui.jobs`` marshals the psygnal events onto the GUI thread.
"""

from __future__ import annotations

import contextlib
import enum
import os
import signal
import subprocess
import threading
import time
import traceback
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from psygnal import Signal

from foldwise.core.errors import Cancelled, FoldwiseError

ProgressCallback = Callable[[float, str], None]
LogCallback = Callable[[str], None]


class JobContext:
    """What a long function reports through, and how it learns it was cancelled.

    ``sub(start, end)`` gives a child context whose 0..1 progress maps onto ``start..end`` of this one
    (Orange's ``wrap_callback``), so nested steps report on one bar.
    """

    def __init__(
        self,
        on_progress: ProgressCallback | None = None,
        on_log: LogCallback | None = None,
        cancel_event: threading.Event | None = None,
        start: float = 0.0,
        end: float = 1.0,
        on_partial: Callable[[Any], None] | None = None,
    ) -> None:
        self._on_progress = on_progress
        self._on_log = on_log
        self._on_partial = on_partial
        self._cancel = cancel_event if cancel_event is not None else threading.Event()
        self._start = start
        self._end = end

    def progress(self, fraction: float, message: str = "") -> None:
        if self._on_progress is not None:
            fraction = min(max(float(fraction), 0.0), 1.0)
            self._on_progress(self._start + (self._end - self._start) * fraction, message)

    def log(self, line: str) -> None:
        if self._on_log is not None:
            self._on_log(line)

    def partial(self, value: Any) -> None:
        """A partial result for live views (an epoch's record, a histogram): Orange's ``on_partial_result``."""
        if self._on_partial is not None:
            self._on_partial(value)

    @property
    def wants_partials(self) -> bool:
        """Whether anyone listens to :meth:`partial` (a live view): skip making partial results otherwise."""
        return self._on_partial is not None

    @property
    def cancelled(self) -> bool:
        return self._cancel.is_set()

    def cancel(self) -> None:
        self._cancel.set()

    def check_cancelled(self) -> None:
        if self._cancel.is_set():
            raise Cancelled()

    def sub(self, start: float, end: float) -> JobContext:
        span = self._end - self._start
        return JobContext(
            self._on_progress,
            self._on_log,
            self._cancel,
            self._start + span * start,
            self._start + span * end,
            self._on_partial,
        )

    def quiet(self) -> JobContext:
        """A context sharing this one's cancel flag and log but reporting no progress (work running beside
        the one that drives the bar)."""
        return JobContext(None, self._on_log, self._cancel)


def null_context() -> JobContext:
    """A context that reports nowhere and is cancelled only if its ``cancel`` is called."""
    return JobContext()


class JobState(str, enum.Enum):
    PENDING = "pending"
    RUNNING = "running"
    DONE = "done"
    FAILED = "failed"
    CANCELLED = "cancelled"


class Job:
    """One piece of long work: ``fn(ctx, *args, **kwargs)`` with its progress, log, result or error.

    Events (psygnal, emitted from the thread doing the work): ``progressed(fraction, message)``,
    ``logged(line)``, ``partial(value)``, ``finished(job)`` once in any end state.
    """

    progressed = Signal(float, str)
    logged = Signal(str)
    partial = Signal(object)
    finished = Signal(object)

    def __init__(self, title: str, fn: Callable[..., Any], *args: Any, **kwargs: Any) -> None:
        self.title = title
        self._fn = fn
        self._args = args
        self._kwargs = kwargs
        self._cancel_event = threading.Event()
        self._done = threading.Event()
        self._thread: threading.Thread | None = None
        self.state = JobState.PENDING
        self.fraction = 0.0
        self.message = ""
        self.log_lines: list[str] = []
        self.result: Any = None
        self.error: BaseException | None = None
        self.error_traceback = ""
        self.started_at: float | None = None
        self.ended_at: float | None = None

    @property
    def context(self) -> JobContext:
        return JobContext(self._report_progress, self._report_log, self._cancel_event, on_partial=self.partial.emit)

    def _report_progress(self, fraction: float, message: str) -> None:
        self.fraction = fraction
        if message:
            self.message = message
        self.progressed.emit(fraction, message)

    def _report_log(self, line: str) -> None:
        self.log_lines.append(line)
        self.logged.emit(line)

    def run(self) -> Any:
        """Run in the calling thread; return the result or raise the error."""
        self._execute()
        if self.error is not None:
            raise self.error
        return self.result

    def start(self) -> Job:
        """Run in a daemon thread; returns at once."""
        self._thread = threading.Thread(target=self._execute, name=f"job:{self.title}", daemon=True)
        self._thread.start()
        return self

    def _execute(self) -> None:
        self.state = JobState.RUNNING
        self.started_at = time.monotonic()
        try:
            self.result = self._fn(self.context, *self._args, **self._kwargs)
            self.state = JobState.DONE
            self._report_progress(1.0, "done")
        except Cancelled as exc:
            self.error = exc
            self.state = JobState.CANCELLED
        except BaseException as exc:
            self.error = exc
            self.error_traceback = traceback.format_exc()
            self.state = JobState.FAILED
            if not isinstance(exc, FoldwiseError):
                self._report_log(self.error_traceback)
        finally:
            self.ended_at = time.monotonic()
            self._done.set()
            self.finished.emit(self)

    def cancel(self) -> None:
        self._cancel_event.set()

    @property
    def is_finished(self) -> bool:
        return self._done.is_set()

    def wait(self, timeout: float | None = None) -> bool:
        return self._done.wait(timeout)

    @property
    def error_message(self) -> str:
        """One line for the user: a FoldwiseError's own text, else the exception type and text."""
        if self.error is None:
            return ""
        if isinstance(self.error, FoldwiseError):
            return str(self.error)
        return f"{type(self.error).__name__}: {self.error}"


def eta(fraction: float, elapsed: float, *, min_elapsed: float = 5.0, min_fraction: float = 0.02) -> float | None:
    """Seconds left at the rate so far (``fraction`` done in ``elapsed`` s), or None while the rate says nothing:
    too early (under ``min_elapsed`` s or ``min_fraction`` done) or already done."""
    if elapsed < min_elapsed or fraction < min_fraction or fraction >= 1.0:
        return None
    return elapsed * (1.0 - fraction) / fraction


def format_duration(seconds: float) -> str:
    """``42 s``, ``3 min 05 s``, ``1 h 12 min``: a time left for a person to read."""
    seconds = max(0, round(seconds))
    if seconds < 60:
        return f"{seconds} s"
    minutes, secs = divmod(seconds, 60)
    if minutes < 60:
        return f"{minutes} min {secs:02d} s"
    hours, minutes = divmod(minutes, 60)
    return f"{hours} h {minutes:02d} min"


class Pace:
    """Progress for work whose length is only estimated as it goes: each report passes the caller's estimate
    of the seconds left and becomes the fraction elapsed / (elapsed + left), so the time left :func:`eta`
    derives from the fraction (the jobs dock, the console) is that estimate. The fraction never goes back."""

    def __init__(self, ctx: JobContext, clock: Callable[[], float] = time.monotonic) -> None:
        self.ctx = ctx
        self._clock = clock
        self.started = clock()
        self.fraction = 0.0

    @property
    def elapsed(self) -> float:
        return self._clock() - self.started

    def report(self, left: float, message: str) -> None:
        elapsed = self.elapsed
        total = elapsed + max(left, 0.0)
        fraction = elapsed / total if total > 0 else 0.0
        self.fraction = max(self.fraction, min(fraction, 0.99))
        self.ctx.progress(self.fraction, message)

    def done(self, message: str = "done") -> None:
        self.fraction = 1.0
        self.ctx.progress(1.0, message)


class JobRegistry:
    """Every job the app started, for the jobs dock; ``added(job)`` fires when one is submitted."""

    added = Signal(object)

    def __init__(self) -> None:
        self.jobs: list[Job] = []

    def submit(self, job: Job) -> Job:
        self.jobs.append(job)
        self.added.emit(job)
        return job.start()

    def cancel_all(self) -> None:
        for job in self.jobs:
            if not job.is_finished:
                job.cancel()


def run_subprocess(
    cmd: Sequence[str],
    ctx: JobContext,
    *,
    cwd: str | os.PathLike[str] | None = None,
    env: dict[str, str] | None = None,
    log_file: str | os.PathLike[str] | None = None,
    on_line: Callable[[str], None] | None = None,
    timeout: float | None = None,
    kill_grace: float = 3.0,
) -> int:
    """Run ``cmd``, streaming each output line to ``ctx.log`` (and ``log_file``, ``on_line``) as it comes.

    The child gets its own session so a cancel or timeout kills its whole process tree (SIGTERM, then
    SIGKILL after ``kill_grace`` s). Returns the exit code; raises :class:`Cancelled` if cancelled and
    :class:`FoldwiseError` on timeout.
    """
    log_handle = open(log_file, "a", encoding="utf-8") if log_file else None  # noqa: SIM115
    try:
        proc = subprocess.Popen(
            list(cmd),
            cwd=cwd,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            bufsize=1,
            errors="replace",
            start_new_session=True,
        )
    except OSError as exc:
        if log_handle:
            log_handle.close()
        raise FoldwiseError(f"could not start {cmd[0]}: {exc.strerror or exc}") from exc

    def pump() -> None:
        assert proc.stdout is not None
        for raw in proc.stdout:
            line = raw.rstrip("\n")
            if log_handle:
                log_handle.write(line + "\n")
                log_handle.flush()
            ctx.log(line)
            if on_line is not None:
                on_line(line)

    reader = threading.Thread(target=pump, daemon=True)
    reader.start()
    deadline = None if timeout is None else time.monotonic() + timeout
    try:
        while proc.poll() is None:
            if ctx.cancelled:
                kill_process_tree(proc, kill_grace)
                raise Cancelled()
            if deadline is not None and time.monotonic() > deadline:
                kill_process_tree(proc, kill_grace)
                raise FoldwiseError(f"{Path(cmd[0]).name} timed out after {timeout:.0f} s")
            time.sleep(0.05)
        reader.join(timeout=5)
        return proc.returncode
    finally:
        if log_handle:
            reader.join(timeout=1)
            log_handle.close()


def kill_process_tree(proc: subprocess.Popen, grace: float = 3.0) -> None:
    """SIGTERM the process group of ``proc`` (started with ``start_new_session``), SIGKILL if it lingers."""
    if proc.poll() is not None:
        return
    try:
        os.killpg(proc.pid, signal.SIGTERM)
    except ProcessLookupError:
        return
    try:
        proc.wait(timeout=grace)
    except subprocess.TimeoutExpired:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(timeout=5)


def pid_alive(pid: int) -> bool:
    """Whether process ``pid`` exists (one of another user's processes counts)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True
