"""Console progress for the verbs: a live bar on a terminal, a few readable lines anywhere else.

Core functions call ``ctx.progress(fraction, message)`` as often as they like (training does once per
batch). On a terminal that drives a rich progress bar; in a log file or a CI console it prints a line at
the start, each time another tenth of the work is done, when ``interval`` seconds have passed since the last
line, and at the end, so a three-epoch training writes about a dozen lines instead of one per batch.
``cli.main`` opens one :class:`ConsoleProgress` per verb run (``open_progress``) and closes it before it
prints an error; ``verbs._common.console_context(args)`` hands the verb a JobContext reporting to it.
"""

from __future__ import annotations

import argparse
import math
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any, TextIO

from foldwise.core.jobs import JobContext, eta, format_duration

_ARG = "_progress"  # where open_progress keeps the run's reporter on the parsed arguments


class ConsoleProgress:
    """Shows one job's ``(fraction, message)`` reports on ``stream`` (stderr by default).

    ``terminal`` (default: ``stream.isatty()``) picks the rich bar; otherwise lines are printed every
    ``step`` of the work or every ``interval`` seconds (``clock`` is swappable for tests). ``quiet`` shows
    nothing (``--json``). ``mode`` tells which was chosen: ``"bar"``, ``"lines"`` or ``"quiet"``.
    """

    def __init__(self, stream: TextIO | None = None, *, quiet: bool = False, terminal: bool | None = None,
                 interval: float = 10.0, step: float = 0.1, clock: Callable[[], float] = time.monotonic) -> None:
        self.stream = stream if stream is not None else sys.stderr
        terminal = bool(getattr(self.stream, "isatty", lambda: False)()) if terminal is None else terminal
        self.mode = "quiet" if quiet else "bar" if terminal else "lines"
        self.interval = interval
        self.step = step
        self._clock = clock
        self._bar: Any = None
        self._task: Any = None
        self._last_text = ""
        self._last_fraction = 0.0
        self._last_time: float | None = None
        self._last_share = 0
        self._started: float | None = None
        self._eta_fraction = 0.0

    def time_left(self, fraction: float, now: float) -> str:
        """`` · about 40 s left`` at the rate so far (as the GUI's jobs dock shows it), or "" while it says
        nothing."""
        if self._started is None or fraction < self._eta_fraction:  # a verb's next job starts from 0 again
            self._started = now
        self._eta_fraction = fraction
        left = eta(fraction, now - self._started)
        return f" · about {format_duration(left)} left" if left is not None else ""

    def update(self, fraction: float, message: str = "") -> None:
        if self.mode == "quiet":
            return
        now = self._clock()
        message = message + self.time_left(fraction, now)
        if self.mode == "bar":
            self._update_bar(fraction, message)
        else:
            self._update_lines(fraction, message, now)

    def context(self) -> JobContext:
        return JobContext(on_progress=self.update)

    def close(self) -> None:
        """Finish the bar (it stays on screen with its last state); safe to call more than once."""
        if self._bar is not None:
            self._bar.stop()
            self._bar = None

    def __enter__(self) -> ConsoleProgress:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _update_bar(self, fraction: float, message: str) -> None:
        if self._bar is None:
            from rich.console import Console
            from rich.progress import BarColumn, Progress, TaskProgressColumn, TextColumn, TimeElapsedColumn

            console = Console(file=self.stream, force_terminal=True)
            self._bar = Progress(BarColumn(), TaskProgressColumn(), TimeElapsedColumn(),
                                 TextColumn("{task.description}"), console=console, refresh_per_second=4)
            self._task = self._bar.add_task(message, total=1.0)
            self._bar.start()
        self._bar.update(self._task, completed=fraction, description=message)
        if fraction >= 1.0:  # a verb may run several jobs: the next one starts a new bar
            self.close()

    def _update_lines(self, fraction: float, message: str, now: float) -> None:
        text = f"[{fraction * 100:5.1f}%] {message}"
        if text == self._last_text:
            return
        share = math.floor(fraction / self.step + 1e-9)  # tenths done, by default
        due = (self._last_time is None or fraction >= 1.0 or share > self._last_share
               or fraction < self._last_fraction or now - self._last_time >= self.interval)
        if not due:
            return
        self.stream.write(text + "\n")
        self.stream.flush()
        self._last_text, self._last_fraction, self._last_time, self._last_share = text, fraction, now, share


def _quiet(args: argparse.Namespace) -> bool:
    return bool(getattr(args, "json", False) or getattr(args, "quiet", False))


def for_args(args: argparse.Namespace) -> ConsoleProgress:
    """The run's reporter (see :func:`open_progress`), or a new one on stderr when there is none."""
    reporter = getattr(args, _ARG, None)
    return reporter if reporter is not None else ConsoleProgress(quiet=_quiet(args))


@contextmanager
def open_progress(args: argparse.Namespace) -> Iterator[ConsoleProgress]:
    """One reporter for a whole verb run, closed when the run ends (so an error line comes after the bar)."""
    reporter = ConsoleProgress(quiet=_quiet(args))
    setattr(args, _ARG, reporter)
    try:
        yield reporter
    finally:
        reporter.close()
