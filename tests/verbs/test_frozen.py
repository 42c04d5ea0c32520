"""The packaged app's entry point is also the Python of Foldwise's own child processes (``-m``/``-c``)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from foldwise.frozen import python_form

APP = Path(__file__).resolve().parents[2] / "app"


@pytest.mark.parametrize(
    ("argv", "expected"),
    [
        (
            ["-m", "foldwise.core.board.emulator", "DIR", "run"],
            ("-m", "foldwise.core.board.emulator", ["DIR", "run"], False),
        ),
        (["-u", "-m", "pkg.mod", "--event-fd", "3"], ("-m", "pkg.mod", ["--event-fd", "3"], True)),
        (["-B", "-c", "print(1)", "x"], ("-c", "print(1)", ["x"], False)),
        (["gui", "PROJECT"], None),
        (["--version"], None),
        ([], None),
        (["-m"], None),  # no module named: the CLI answers (with its usage error)
        (["new", "-m", "x"], None),  # a verb first: never an interpreter line
    ],
)
def test_python_form(argv: list[str], expected: object) -> None:
    assert python_form(argv) == expected


def _frozen(*args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": str(APP)}
    return subprocess.run(
        [sys.executable, "-m", "foldwise.frozen", *args], capture_output=True, text=True, env=env, timeout=60
    )


def test_it_runs_a_module_with_its_arguments_and_exit_code() -> None:
    done = _frozen("-u", "-m", "json.tool", "--no-such-option")
    assert done.returncode == 2 and "no-such-option" in done.stderr  # json.tool's own argparse answered


def test_it_runs_code_with_argv() -> None:
    done = _frozen("-c", "import sys; print(sys.argv); sys.exit(3)", "a", "b")
    assert done.returncode == 3 and done.stdout.strip() == "['-c', 'a', 'b']"


def test_anything_else_is_the_foldwise_command_line() -> None:
    done = _frozen("--version")
    assert done.returncode == 0 and done.stdout.startswith("foldwise ")


def test_the_packaged_app_says_what_it_runs_as(monkeypatch) -> None:
    from foldwise.frozen import runtime_description

    assert runtime_description().startswith(f"Python {sys.executable}:")
    monkeypatch.setattr(sys, "frozen", True, raising=False)
    assert runtime_description().startswith(f"packaged app {sys.executable}: FINN's worker and the board emulator")
