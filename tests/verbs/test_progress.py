"""The verbs' console progress: a few lines in a log, a rich bar on a terminal, nothing with --json."""

import argparse
import io
from pathlib import Path

import pytest

from foldwise.cli import main
from foldwise.verbs._common import console_context
from foldwise.verbs._progress import ConsoleProgress, for_args, open_progress


class _Clock:
    def __init__(self, tick: float) -> None:
        self.now, self.tick = 0.0, tick

    def __call__(self) -> float:
        self.now += self.tick
        return self.now


class _Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def _fake_job(reporter: ConsoleProgress, updates: int = 1000) -> None:
    ctx = reporter.context()
    for i in range(1, updates + 1):
        ctx.progress(i / updates, f"batch {i}/{updates}")


def test_a_log_gets_a_line_per_tenth_not_per_update() -> None:
    log = io.StringIO()
    reporter = ConsoleProgress(log, clock=_Clock(0.001))  # the whole job takes one second
    assert reporter.mode == "lines"
    _fake_job(reporter)
    lines = log.getvalue().splitlines()
    assert len(lines) == 11  # the first update, each further 10 %, the end
    assert lines[0] == "[  0.1%] batch 1/1000" and lines[-1] == "[100.0%] batch 1000/1000"
    assert [line[:8] for line in lines[1:-1]] == [f"[{10 * k:5.1f}%]" for k in range(1, 10)]


def test_a_slow_job_also_gets_a_line_every_interval() -> None:
    log = io.StringIO()
    reporter = ConsoleProgress(log, clock=_Clock(0.1), interval=5.0)  # 10 s per tenth: one more line in each
    _fake_job(reporter)
    lines = log.getvalue().splitlines()
    assert 19 <= len(lines) <= 23 and "[ 55.0%] batch 550/1000 · about 45 s left" in lines


def test_the_time_left_is_the_rate_so_far_and_restarts_with_the_next_job() -> None:
    log = io.StringIO()
    reporter = ConsoleProgress(log, clock=_Clock(5.0), interval=0.0)  # five seconds per update
    for fraction in (0.0, 0.1, 0.5):
        reporter.update(fraction, "first")
    reporter.update(0.0, "second")  # a verb's next job
    reporter.update(0.5, "second")
    assert log.getvalue().splitlines() == ["[  0.0%] first", "[ 10.0%] first · about 45 s left",
                                           "[ 50.0%] first · about 10 s left", "[  0.0%] second",
                                           "[ 50.0%] second · about 5 s left"]


def test_a_terminal_gets_a_rich_bar() -> None:
    screen = _Terminal()
    with ConsoleProgress(screen) as reporter:
        assert reporter.mode == "bar"
        _fake_job(reporter, 50)
    out = screen.getvalue()
    assert "━" in out and "100%" in out and "batch 50/50" in out
    assert "\x1b[" in out  # drawn in place with terminal control codes, not one line per update
    assert out.count("\n") < 10


def test_json_runs_are_quiet_and_share_one_reporter(capsys: pytest.CaptureFixture) -> None:
    args = argparse.Namespace(json=True)
    with open_progress(args) as reporter:
        assert reporter.mode == "quiet" and for_args(args) is reporter
        console_context(args).progress(0.5, "half")
    assert capsys.readouterr().err == ""
    with open_progress(argparse.Namespace()):
        console_context(argparse.Namespace()).progress(0.5, "half")  # no run reporter: a fresh one
    assert capsys.readouterr().err == "[ 50.0%] half\n"


def test_train_verb_writes_a_few_lines_to_a_log(trained_lenet: Path, capsys: pytest.CaptureFixture) -> None:
    assert main(["train", str(trained_lenet), "--epochs", "1"]) == 0
    err = capsys.readouterr().err.splitlines()
    assert any("epoch 1/1, batch" in line for line in err) and err[-1].startswith("[100.0%]")
    assert len(err) <= 20
