"""Helpers for fault-injection tests: run a `foldwise` command as a real process, stop it at a chosen moment."""

from __future__ import annotations

import errno
import os
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]


def cli_env(**extra: str) -> dict[str, str]:
    return {**os.environ, "PYTHONPATH": str(REPO / "app"), **extra}


class Cli:
    """``python -m foldwise ARGS`` with stderr read line by line (so a test can wait for a progress line)."""

    def __init__(self, *args: str, **env: str) -> None:
        self.proc = subprocess.Popen([sys.executable, "-m", "foldwise", *args], stdout=subprocess.PIPE,
                                     stderr=subprocess.PIPE, text=True, env=cli_env(**env))
        self.lines: list[str] = []
        self._stdout = ""
        self._new_line = threading.Condition()
        threading.Thread(target=self._read_stderr, daemon=True).start()
        threading.Thread(target=self._read_stdout, daemon=True).start()

    def _read_stderr(self) -> None:
        assert self.proc.stderr is not None
        for line in self.proc.stderr:
            with self._new_line:
                self.lines.append(line.rstrip("\n"))
                self._new_line.notify_all()

    def _read_stdout(self) -> None:
        assert self.proc.stdout is not None
        self._stdout = self.proc.stdout.read()

    def wait_for(self, text: str, timeout: float = 120.0) -> str:
        """The first stderr line containing ``text``; AssertionError if the process ends or time runs out first."""
        deadline = time.monotonic() + timeout
        with self._new_line:
            while True:
                found = next((line for line in self.lines if text in line), None)
                if found is not None:
                    return found
                if self.proc.poll() is not None or time.monotonic() > deadline:
                    raise AssertionError(f"{text!r} never appeared; stderr: {self.stderr}")
                self._new_line.wait(0.1)

    def finish(self, timeout: float = 120.0) -> int:
        code = self.proc.wait(timeout=timeout)
        time.sleep(0.1)  # the readers drain the pipes
        return code

    @property
    def stderr(self) -> str:
        return "\n".join(self.lines)

    @property
    def stdout(self) -> str:
        return self._stdout


def run_cli(*args: str, timeout: float = 300.0) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "foldwise", *args], capture_output=True, text=True,
                          env=cli_env(), timeout=timeout)


def pid_gone(pid: int, within: float) -> bool:
    """True if process ``pid`` is gone (or a zombie) within ``within`` seconds."""
    import psutil

    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        try:
            if psutil.Process(pid).status() == psutil.STATUS_ZOMBIE:
                return True
        except psutil.NoSuchProcess:
            return True
        time.sleep(0.02)
    return False


def snapshot(folder: Path, *, skip: Path | None = None) -> dict[str, bytes]:
    """Every file under ``folder`` with its bytes (those under ``skip`` left out; the lock file's holder line
    is what a killed command may leave behind, released by the OS, so it is left out too)."""
    from foldwise.core.project import LOCK_NAME

    return {str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*"))
            if p.is_file() and p.name != LOCK_NAME and (skip is None or not p.is_relative_to(skip))}


def sigkill_once(project: Path, *args: str, after: str) -> None:
    """Run `foldwise ARGS` on ``project``, SIGKILL it once a stderr line holds ``after``; then check it left at
    most `.draft-*` folders in ``iterations/`` and that the next open sweeps them: the project is then byte for
    byte as before."""
    from foldwise.core.project import Project

    before = snapshot(project)
    cli = Cli(*args)
    cli.wait_for(after)
    cli.proc.kill()
    cli.finish(30)
    had = {Path(name).parts[1] for name in before if name.startswith("iterations/")}
    leftovers = {p.name for p in (project / "iterations").iterdir()} - had
    assert all(name.startswith(".draft-") for name in leftovers), leftovers
    Project.open(project).close()  # the lock went with the process; the draft is swept
    assert snapshot(project) == before


@pytest.fixture
def tiny_disk(tmp_path: Path) -> Iterator[Path]:
    """A 1 MiB tmpfs mounted by the test (CI runs as root), unmounted after it."""
    assert os.geteuid() == 0, "the full-disk tests mount a tmpfs: run the suite as root (as CI does)"
    mount = tmp_path / "tiny"
    mount.mkdir()
    subprocess.run(["mount", "-t", "tmpfs", "-o", "size=1m", "tmpfs", str(mount)], check=True)
    try:
        yield mount
    finally:
        subprocess.run(["umount", "-l", str(mount)], check=True)


def fill_disk(disk: Path) -> Path:
    """Fill ``disk`` to its last block with one file; returns it (delete it to free the space)."""
    filler = disk / "filler"
    fd = os.open(filler, os.O_WRONLY | os.O_CREAT)
    try:
        while True:
            os.write(fd, b"\0" * 4096)
    except OSError as exc:
        assert exc.errno == errno.ENOSPC
    finally:
        os.close(fd)
    return filler
