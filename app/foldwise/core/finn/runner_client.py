"""Parent side of the one-shot FINN runner (:mod:`foldwise.core.finn.runner`): its event lines, and running it locally.

The runner speaks the FINN worker's protocol: JSON event lines on its stdout (``ready``, ``progress``, ``log``,
``result``, ``error``, ``fatal``) and raw C-level output on its stderr. The same :class:`RunnerEvents` reads
them from an SSH channel (remote builds) or from a local subprocess (:func:`run_local`, resumed local builds).
"""

from __future__ import annotations

import contextlib
import json
import os
import queue
import subprocess
import threading
import time
from pathlib import Path
from typing import Any

from foldwise.core.errors import Cancelled, FoldwiseError, InputError, ToolMissingError
from foldwise.core.jobs import JobContext, kill_process_tree

_APP_DIR = Path(__file__).resolve().parents[3]
RUNNER_MODULE = "foldwise.core.finn.runner"
_ERRORS: dict[str, type[FoldwiseError]] = {"InputError": InputError, "ToolMissingError": ToolMissingError}


class RunnerEvents:
    """Turns the runner's event lines (its stdout) and raw output (its stderr) into progress, log and result."""

    def __init__(self, ctx: JobContext, log_path: Path | None, where: str) -> None:
        self.ctx = ctx
        self.where = where
        self.result: dict[str, Any] | None = None
        self.error: dict[str, Any] | None = None
        self.fatal: dict[str, Any] | None = None
        self.ready: dict[str, Any] | None = None
        self.tail: list[str] = []
        self._log = open(log_path, "a", encoding="utf-8") if log_path else None  # noqa: SIM115

    def close(self) -> None:
        if self._log:
            self._log.close()
            self._log = None

    def log(self, line: str) -> None:
        self.tail = [*self.tail[-19:], line]
        if self._log:
            self._log.write(line + "\n")
            self._log.flush()
        self.ctx.log(line)

    def on_stdout(self, line: str) -> None:
        try:
            event = json.loads(line)
            kind = event["event"]
        except (ValueError, KeyError, TypeError):
            self.log(line)
            return
        if kind == "progress":
            self.ctx.progress(float(event.get("fraction", 0.0)), str(event.get("message", "")))
        elif kind == "log":
            self.log(str(event.get("line", "")))
        elif kind == "ready":
            self.ready = event
            self.log(f"--- FINN runner pid {event.get('pid')} on {self.where}: finn-plus {event.get('finn_version')}"
                     f", Vivado {'found' if event.get('vivado') else 'not found'}")
        elif kind == "fatal":
            self.fatal = event
            self.log(str(event.get("traceback") or event.get("message")))
        elif kind == "error":
            if event.get("traceback"):
                self.log(event["traceback"])
            self.error = self.error or event
        elif kind == "result" and self.result is None and event.get("id") == 1:
            self.result = dict(event.get("result") or {})

    def raise_if_failed(self, exit_code: int, python: str, hint: str = "") -> dict[str, Any]:
        if self.fatal is not None:
            raise ToolMissingError(f"finn-plus could not be loaded by `{python}` on {self.where}: "
                                   f"{self.fatal.get('message')}{hint}")
        if self.error is not None:
            error = _ERRORS.get(str(self.error.get("type")), FoldwiseError)
            raise error(f"{self.error.get('message')}{hint}")
        if self.result is None:
            tail = " | ".join(self.tail[-5:])
            raise FoldwiseError(f"the FINN runner on {self.where} exited (code {exit_code}) without a result"
                                f"{hint}. Last lines: {tail}")
        return self.result


def request_lines(kind: str, params: dict[str, Any]) -> str:
    """One worker request (``kind`` as the worker names it), then the worker's shutdown."""
    return (json.dumps({"id": 1, "kind": kind, "params": params}) + "\n"
            + json.dumps({"id": 2, "kind": "shutdown"}) + "\n")


def run_local(params: dict[str, Any], kind: str, build_dir: Path, python: str, ctx: JobContext,
              timeout: float | None) -> dict[str, Any]:
    """The one-shot runner as a local subprocess (its own process group: cancel kills it all)."""
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(p for p in (str(_APP_DIR), os.environ.get("PYTHONPATH")) if p)}
    env.pop("PYTEST_CURRENT_TEST", None)  # it makes FINN's builder re-raise instead of reporting
    scratch = build_dir / ".finn-scratch"  # FINN_BUILD_DIR: kept with the build, later resumes may need it
    cmd = ["/bin/sh", "-c", f'exec "$0" -u -m {RUNNER_MODULE} --event-fd 3 --scratch "$1" --parent-pid "$2" 3>&1 1>&2',
           python, str(scratch), str(os.getpid())]
    proc = subprocess.Popen(cmd, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env,
                            start_new_session=True, text=True, bufsize=1, errors="replace")
    lines: queue.Queue[tuple[str, str] | None] = queue.Queue()

    def pump(stream: Any, name: str) -> None:
        with stream:
            for raw in stream:
                lines.put((name, raw.rstrip("\n")))
        lines.put(None)

    events = RunnerEvents(ctx, build_dir / "resume_build.log", "this machine")
    readers = [threading.Thread(target=pump, args=(s, n), daemon=True)
               for s, n in ((proc.stdout, "out"), (proc.stderr, "err"))]
    for reader in readers:
        reader.start()
    assert proc.stdin is not None
    with contextlib.suppress(OSError):
        proc.stdin.write(request_lines(kind, params))
        proc.stdin.close()
    deadline = None if timeout is None else time.monotonic() + timeout
    open_streams = 2
    try:
        while open_streams:
            if ctx.cancelled:
                kill_process_tree(proc, 2.0)
                raise Cancelled()
            if deadline is not None and time.monotonic() > deadline:
                kill_process_tree(proc, 2.0)
                raise FoldwiseError(f"the FINN runner timed out after {timeout:g} s")
            try:
                item = lines.get(timeout=0.1)
            except queue.Empty:
                continue
            if item is None:
                open_streams -= 1
            elif item[0] == "out":
                events.on_stdout(item[1])
            else:
                events.log(item[1])
        code = proc.wait(timeout=30)
    finally:
        events.close()
        if proc.poll() is None:
            kill_process_tree(proc, 2.0)
    return events.raise_if_failed(code, python, f" (log: {build_dir / 'build_dataflow.log'})")
