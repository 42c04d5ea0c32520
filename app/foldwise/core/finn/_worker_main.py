"""The FINN worker process: ``python -m foldwise.core.finn._worker_main --event-fd N``.

It sets up the no-Vivado environment, imports finn-plus once, then serves JSON-lines requests
(``{"id", "kind", "params"}``) read from its stdin and answers with JSON-lines events written to fd ``N``:
``ready``, ``progress``, ``log``, ``result``, ``error``. FINN's builder replaces ``sys.stdout``/``sys.stderr``
and the logging handlers, so the protocol never uses them: stdin is moved to a private fd (fd 0 becomes
/dev/null), Python-level output becomes ``log`` events, and C-level output on fds 1/2 goes to the parent's
log pipe untouched. Cancel is the parent killing this process group.

With ``--parent-pid`` the worker never outlives its parent: a watchdog thread notices the reparenting
(``os.getppid()`` changes when the parent dies, even by SIGKILL) within 0.1 s and kills the worker's whole
process group, FINN's helpers included. A polled parent pid is used rather than ``PR_SET_PDEATHSIG``, which
fires when the parent *thread* that started the worker ends (a GUI job thread does, long before the process).
"""

from __future__ import annotations

import argparse
import contextlib
import io
import json
import logging
import os
import re
import signal
import sys
import tempfile
import threading
import time
import traceback
from pathlib import Path
from typing import Any

from foldwise.core.finn.finn_env import import_finn, setup_environment

STEP_RE = re.compile(r"Running step: (\S+) \[(\d+)/(\d+)\]")
_MAX_LINE = 3000  # keeps every event below PIPE_BUF, so forked FINN helpers cannot interleave with it


class Channel:
    """Writes events as single ``os.write`` calls on the protocol fd."""

    def __init__(self, fd: int) -> None:
        self.fd = fd
        self.lock = threading.Lock()
        self.request_id: int | None = None
        #: the part of a request's 0..1 progress that FINN's step lines map onto (set by the operation)
        self.span = (0.0, 1.0)

    def send(self, event: str, **fields: Any) -> None:
        data = (json.dumps({"id": self.request_id, "event": event, **fields}, default=str) + "\n").encode()
        with self.lock:
            view = memoryview(data)
            while view:
                written = os.write(self.fd, view)
                view = view[written:]

    def log(self, line: str) -> None:
        self.send("log", line=line[:_MAX_LINE])

    def progress(self, fraction: float, message: str) -> None:
        self.send("progress", fraction=fraction, message=message)


class EventStream(io.TextIOBase):
    """Stands in for sys.stdout/stderr: each line becomes a log event; FINN's step lines become progress."""

    def __init__(self, channel: Channel) -> None:
        super().__init__()
        self.channel = channel
        self._buf = ""

    @property
    def encoding(self) -> str:  # type: ignore[override]
        return "utf-8"

    def isatty(self) -> bool:
        return False

    def writable(self) -> bool:
        return True

    def write(self, s: str) -> int:
        self._buf += s
        while "\n" in self._buf:
            line, self._buf = self._buf.split("\n", 1)
            self._emit(line)
        return len(s)

    def flush(self) -> None:
        if self._buf:
            self._emit(self._buf)
            self._buf = ""

    def _emit(self, line: str) -> None:
        line = line.rstrip()
        if not line:
            return
        self.channel.log(line)
        match = STEP_RE.search(line)
        if match:
            step, i, n = match.group(1), int(match.group(2)), int(match.group(3))
            lo, hi = self.channel.span
            self.channel.progress(lo + (hi - lo) * (i - 1) / n, f"{step} [{i}/{n}]")


class _EventLogHandler(logging.Handler):
    def __init__(self, channel: Channel) -> None:
        super().__init__(logging.INFO)
        self.channel = channel

    def emit(self, record: logging.LogRecord) -> None:
        with contextlib.suppress(Exception):  # a log line must never take the worker down
            self.channel.log(f"{record.levelname}: {record.getMessage()}")


def reset_io(channel: Channel) -> None:
    """Point stdout/stderr/logging back at the channel (FINN's builder redirects them to its build log)."""
    sys.stdout = EventStream(channel)
    sys.stderr = EventStream(channel)
    root = logging.getLogger()
    for handler in list(root.handlers):
        root.removeHandler(handler)
        handler.close()
    root.addHandler(_EventLogHandler(channel))
    root.setLevel(logging.WARNING)


ERROR_TYPES = ("InputError", "ToolMissingError", "DiskFullError", "FoldwiseError")


def debug(channel: Channel, params: dict[str, Any]) -> dict[str, Any]:
    """Test hooks: ``sleep`` (in a grandchild process), ``crash`` (hard exit), ``print``, else echo."""
    import subprocess

    action = params.get("action")
    if action == "sleep":
        child = subprocess.Popen(["sleep", str(params.get("seconds", 60))])
        channel.log(f"grandchild pid {child.pid}")
        child.wait()
    elif action == "crash":
        print("about to crash")
        os._exit(int(params.get("code", 3)))
    elif action == "print":
        print(params.get("text", ""))
        os.write(1, b"raw fd1 output\n")
    return {"echo": params}


def serve(channel: Channel, requests: io.TextIOBase, scratch: Path, light: bool = False) -> None:
    from foldwise.core.errors import FoldwiseError, InputError, is_disk_full, os_error_message

    if not light:
        from foldwise.core.finn import _worker_ops as ops

        ops.init(channel, scratch)
    for raw in requests:
        if not raw.strip():
            continue
        req = json.loads(raw)
        channel.request_id = req.get("id")
        kind = req.get("kind", "")
        if kind == "shutdown":
            channel.send("result", result={})
            return
        started = time.monotonic()
        try:
            params = req.get("params") or {}
            if kind == "debug":
                result = debug(channel, params)
            elif light:
                raise InputError(f"{kind} needs FINN; this worker was started without it")
            else:
                result = ops.dispatch(kind, params)
            channel.send("result", result=result, seconds=time.monotonic() - started)
        except FoldwiseError as exc:
            name = type(exc).__name__
            channel.send("error", type=name if name in ERROR_TYPES else "FoldwiseError", message=str(exc))
        except Exception as exc:  # any FINN failure becomes an error event; the worker lives on
            if is_disk_full(exc):  # OSError is an Exception, not a FoldwiseError: say what to do
                channel.send("error", type="DiskFullError", message=f"FINN's {kind} stopped: {os_error_message(exc)}")
            else:
                channel.send(
                    "error",
                    type="FoldwiseError",
                    message=f"FINN failed during {kind}: {type(exc).__name__}: {exc}",
                    traceback=traceback.format_exc(),
                )
        finally:
            reset_io(channel)
            channel.request_id = None


def watch_parent(parent_pid: int, interval: float = 0.1) -> threading.Thread:
    """Kill this process group as soon as ``parent_pid`` is no longer this process's parent."""

    def watch() -> None:
        while os.getppid() == parent_pid:
            time.sleep(interval)
        with contextlib.suppress(OSError):
            if os.getpgrp() == os.getpid():  # the group is ours (started with start_new_session)
                os.killpg(os.getpid(), signal.SIGKILL)
        os._exit(137)

    thread = threading.Thread(target=watch, name="parent-watchdog", daemon=True)
    thread.start()
    return thread


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--event-fd", type=int, required=True)
    parser.add_argument("--scratch", default=None)
    parser.add_argument("--parent-pid", type=int, default=None, help="exit as soon as this process is gone")
    args = parser.parse_args()
    if args.parent_pid is not None:  # a local worker: FINN is background work beside the GUI's event loop
        watch_parent(args.parent_pid)
        with contextlib.suppress(OSError):
            os.nice(5)
    channel = Channel(args.event_fd)
    # the request pipe moves off fd 0 so nothing FINN reads from stdin (pdb, prompts) can eat requests
    req_fd = os.dup(0)
    devnull = os.open(os.devnull, os.O_RDONLY)
    os.dup2(devnull, 0)
    os.close(devnull)
    requests = io.TextIOWrapper(io.FileIO(req_fd, "r"), encoding="utf-8")
    scratch = Path(args.scratch or tempfile.mkdtemp(prefix="foldwise-finn-"))
    reset_io(channel)
    started = time.monotonic()
    # protocol-only mode for tests of cancel/crash handling: skips the 5 s FINN import
    light = os.environ.get("FOLDWISE_FINN_WORKER_LIGHT") == "1"
    try:
        info = {"vivado": None} if light else setup_environment(scratch)
        if not light:
            import_finn(info["vivado"] is not None)
    except Exception as exc:  # reported to the parent, which raises ToolMissingError
        channel.send("fatal", message=f"{type(exc).__name__}: {exc}", traceback=traceback.format_exc())
        return 2
    from foldwise.core.finn.tools import finn_version

    channel.send(
        "ready", pid=os.getpid(), finn_version=finn_version(), import_s=time.monotonic() - started, **info
    )
    serve(channel, requests, scratch, light)
    return 0


if __name__ == "__main__":
    sys.exit(main())
