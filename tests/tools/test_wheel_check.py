"""The wheel, pip-installed into a fresh venv, runs `foldwise --version`, `foldwise new --example` and the
window offscreen; a wheel without its shipped files or its entry point fails that check. Here the fresh venv
borrows this venv's stack (seconds); `make check-wheel` installs the pinned stack from requirements.lock into it
instead (2.3-4.4 min on this machine, too slow for the suite)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from tools import wheel_check

PYPROJECT = (wheel_check.ROOT / "pyproject.toml").read_text()


def test_the_installed_wheel_runs_the_first_commands(tmp_path: Path) -> None:
    figures = wheel_check.check("borrow", tmp_path)
    assert figures["version"] == f"foldwise {__import__('foldwise').__version__}"
    assert Path(str(figures["module"])).is_relative_to(tmp_path / "venv")
    assert (Path(str(figures["project"])) / "manifest.json").is_file()


@pytest.mark.parametrize(
    ("broken", "pattern"),
    [
        # package data left out: no resources/ or projects/ in the wheel
        (re.sub(r"\[tool\.setuptools\.package-data\]\nfoldwise = \[.*?\]\n", "", PYPROJECT), "example|manifest"),
        # the console script left out: no `foldwise` command in the venv
        (re.sub(r'\[project\.scripts\]\nfoldwise = ".*?"\n', "", PYPROJECT), "No such file"),
    ],
)
def test_a_broken_wheel_fails_the_check(tmp_path: Path, broken: str, pattern: str) -> None:
    assert broken != PYPROJECT
    wheel = wheel_check.build_wheel(tmp_path / "build", pyproject=broken)
    wheel_check.make_venv(tmp_path / "venv", "borrow")
    (tmp_path / "run").mkdir()
    with pytest.raises((RuntimeError, OSError), match=pattern):
        wheel_check.smoke(tmp_path / "venv", wheel, tmp_path / "run")
