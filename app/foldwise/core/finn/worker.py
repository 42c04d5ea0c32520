"""Parent side of the long-lived FINN worker process (FINN is never imported in the calling process).

``FinnWorker.request(kind, params, ctx)`` starts the worker lazily (paying FINN's ~5 s import once), sends one
JSON-lines request and streams the worker's progress and log into ``ctx`` until the result arrives. Cancel
kills the worker's whole process group; a crash raises FoldwiseError with the log kept; either way the next
request starts a fresh worker. One request runs at a time per worker. The worker dies with this process
(``--parent-pid``, see ``_worker_main.watch_parent``), even when this process is killed with SIGKILL.

Without a ``state_dir`` the worker's files go to ``$TMPDIR/foldwise-finn-<pid>-*``, removed by ``close()``
(kept only when the worker died, so the log an error names is still there); folders left by processes that
are gone (killed before ``close()``) are swept when the next one is made.
"""

from __future__ import annotations

import atexit
import collections
import contextlib
import itertools
import json
import os
import queue
import re
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

from foldwise.core.errors import Cancelled, DiskFullError, FoldwiseError, InputError, ToolMissingError
from foldwise.core.jobs import JobContext, kill_process_tree, null_context, pid_alive

_APP_DIR = Path(__file__).resolve().parents[3]
_STATE_PREFIX = "foldwise-finn-"
_KEEP_LOG_S = 24 * 3600.0
_KEPT_MARK = "log-kept"  # close() kept worker.log on purpose
_STATE_RE = re.compile(rf"^{_STATE_PREFIX}(\d+)-")
_ERRORS: dict[str, type[FoldwiseError]] = {
    "InputError": InputError,
    "ToolMissingError": ToolMissingError,
    "DiskFullError": DiskFullError,
    "FoldwiseError": FoldwiseError,
}


class FinnWorker:
    """One FINN worker process, started on first use and restarted after a cancel or crash.

    ``python``: interpreter holding finn-plus (default: this one). ``state_dir``: where the worker log
    (``worker.log``) and FINN's scratch files go (default: a temporary directory).
    """

    def __init__(
        self,
        python: str | None = None,
        state_dir: str | os.PathLike[str] | None = None,
        env: dict[str, str] | None = None,
        startup_timeout: float = 180.0,
    ) -> None:
        self.python = python or sys.executable
        self._owns_state_dir = state_dir is None
        if state_dir is None:
            sweep_stale_state_dirs()
            state_dir = tempfile.mkdtemp(prefix=f"{_STATE_PREFIX}{os.getpid()}-")
        self.state_dir = Path(state_dir)
        self._died = False  # the worker died or was killed mid-request: keep its log past close()
        self.state_dir.mkdir(parents=True, exist_ok=True)
        self.log_path = self.state_dir / "worker.log"
        self.extra_env = dict(env or {})
        self.startup_timeout = startup_timeout
        self.info: dict[str, Any] = {}
        self.starts = 0
        self._proc: subprocess.Popen | None = None
        self._events: queue.Queue[dict[str, Any] | None] = queue.Queue()
        self._lock = threading.Lock()
        self._ids = itertools.count(1)
        self._ctx: JobContext = null_context()
        self._tail: collections.deque[str] = collections.deque(maxlen=40)
        self._log_lock = threading.Lock()

    # -- lifecycle -------------------------------------------------------------------------------------

    @property
    def pid(self) -> int | None:
        return self._proc.pid if self.alive else None

    @property
    def alive(self) -> bool:
        return self._proc is not None and self._proc.poll() is None

    def _log(self, line: str) -> None:
        self._tail.append(line)
        with self._log_lock, open(self.log_path, "a", encoding="utf-8") as fh:
            fh.write(line + "\n")
        self._ctx.log(line)

    def _start(self, ctx: JobContext) -> None:
        read_fd, write_fd = os.pipe()
        env = {**os.environ, **self.extra_env}
        env["PYTHONPATH"] = os.pathsep.join(p for p in (str(_APP_DIR), env.get("PYTHONPATH", "")) if p)
        env.pop("PYTEST_CURRENT_TEST", None)  # it makes FINN's builder re-raise instead of reporting
        cmd = [self.python, "-m", "foldwise.core.finn._worker_main", "--event-fd", str(write_fd),
               "--scratch", str(self.state_dir / "scratch"), "--parent-pid", str(os.getpid())]
        ctx.progress(0.0, "starting the FINN worker (imports finn-plus once, ~5 s)")
        try:
            self._proc = subprocess.Popen(
                cmd, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                pass_fds=(write_fd,), env=env, start_new_session=True, text=True, bufsize=1, errors="replace",
            )
        except OSError as exc:
            os.close(read_fd)
            raise ToolMissingError(f"cannot start the FINN worker with {self.python}: {exc}") from exc
        finally:
            os.close(write_fd)
        self.starts += 1
        self._events = queue.Queue()
        proc, events = self._proc, self._events
        self._log(f"--- worker pid {proc.pid} started: {' '.join(cmd)}")
        threading.Thread(target=self._pump_stdout, args=(proc,), daemon=True).start()
        threading.Thread(target=self._pump_events, args=(read_fd, events), daemon=True).start()
        ready = self._wait(events, ctx, None, self.startup_timeout, "starting the FINN worker")
        if ready.get("event") == "fatal":
            self._kill()
            raise ToolMissingError(
                f"finn-plus could not be loaded in {self.python}: {ready.get('message')} "
                f"(install it with `pip install --no-deps finn-plus==1.6.1`; log: {self.log_path})"
            )
        self.info = ready

    def _pump_stdout(self, proc: subprocess.Popen) -> None:
        assert proc.stdout is not None
        with proc.stdout:
            for raw in proc.stdout:
                self._log(raw.rstrip("\n"))

    def _pump_events(self, fd: int, events: queue.Queue) -> None:
        with open(fd, encoding="utf-8", errors="replace") as fh:
            for line in fh:
                try:
                    events.put(json.loads(line))
                except ValueError:
                    self._log(f"(unreadable worker event) {line.rstrip()}")
        events.put(None)  # EOF: the worker is gone

    def _kill(self) -> None:
        # Taken first: close() (which may not get the lock) and a failing request can kill at the same time.
        proc, self._proc = self._proc, None
        if proc is not None:
            kill_process_tree(proc, grace=2.0)
            if proc.stdin is not None:
                with contextlib.suppress(OSError):
                    proc.stdin.close()
            self._log(f"--- worker pid {proc.pid} stopped (exit code {proc.returncode})")

    def close(self) -> None:
        """Ask the worker to exit; kill it if it does not within a few seconds."""
        # a request still running in another thread is not waited for: the kill ends it
        got_lock = self._lock.acquire(timeout=1.0)
        try:
            if got_lock and self.alive and self._proc is not None and self._proc.stdin is not None:
                try:
                    self._proc.stdin.write(json.dumps({"id": 0, "kind": "shutdown"}) + "\n")
                    self._proc.stdin.flush()
                    self._proc.wait(timeout=5)
                except (OSError, subprocess.TimeoutExpired):
                    pass
            self._kill()
        finally:
            if got_lock:
                self._lock.release()
        self._remove_state_dir()

    def _remove_state_dir(self) -> None:
        if not self._owns_state_dir:
            return
        if self._died:  # the error that was raised names worker.log: keep it, drop FINN's scratch files
            shutil.rmtree(self.state_dir / "scratch", ignore_errors=True)
            with contextlib.suppress(OSError):
                (self.state_dir / _KEPT_MARK).touch()
        else:
            shutil.rmtree(self.state_dir, ignore_errors=True)

    def __enter__(self) -> FinnWorker:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- requests --------------------------------------------------------------------------------------

    def _wait(
        self, events: queue.Queue, ctx: JobContext, req_id: int | None, timeout: float | None, what: str
    ) -> dict[str, Any]:
        deadline = None if timeout is None else time.monotonic() + timeout
        while True:
            if ctx.cancelled:
                self._kill()
                raise Cancelled()
            if deadline is not None and time.monotonic() > deadline:
                self._died = True
                self._kill()
                raise FoldwiseError(f"FINN worker timed out after {timeout:.0f} s while {what} (log: {self.log_path})")
            try:
                event = events.get(timeout=0.05)
            except queue.Empty:
                continue
            if event is None:
                self._died = True
                rc = self._proc.wait(timeout=5) if self._proc is not None else None
                self._kill()
                tail = " | ".join(list(self._tail)[-6:])
                raise FoldwiseError(
                    f"the FINN worker died (exit code {rc}) while {what}; log kept at {self.log_path}. "
                    f"Last lines: {tail}"
                )
            kind = event.get("event")
            if kind in ("ready", "fatal"):
                return event
            if req_id is not None and event.get("id") not in (req_id, None):
                continue
            if kind == "progress":
                ctx.progress(float(event.get("fraction", 0.0)), str(event.get("message", "")))
            elif kind == "log":
                self._log(str(event.get("line", "")))
            elif kind in ("result", "error"):
                return event

    def request(
        self, kind: str, params: dict[str, Any] | None = None, ctx: JobContext | None = None,
        timeout: float | None = None,
    ) -> dict[str, Any]:
        """Run one request in the worker and return its result dict.

        Raises the worker's typed error (InputError, ToolMissingError, FoldwiseError), Cancelled if ``ctx``
        is cancelled (the worker is killed), FoldwiseError if the worker dies or ``timeout`` passes.
        """
        ctx = ctx or null_context()
        while not self._lock.acquire(timeout=0.1):  # another job holds the worker; stay cancellable
            ctx.check_cancelled()
        try:
            self._ctx = ctx
            if not self.alive:
                self._start(ctx.sub(0.0, 0.05) if kind != "info" else ctx)
                ctx = ctx.sub(0.05, 1.0)
            assert self._proc is not None and self._proc.stdin is not None
            req_id = next(self._ids)
            try:
                self._proc.stdin.write(json.dumps({"id": req_id, "kind": kind, "params": params or {}}) + "\n")
                self._proc.stdin.flush()
            except OSError:
                pass  # the worker died; _wait reports it with the log
            try:
                event = self._wait(self._events, ctx, req_id, timeout, f"running {kind}")
            except BaseException:
                # cancelled, timed out, died, or this process is being stopped (Ctrl+C, SIGTERM): the worker is
                # mid-request, so it must not go on writing into a build folder nobody waits for any more
                self._kill()
                raise
        finally:
            self._ctx = null_context()
            self._lock.release()
        if event["event"] == "error":
            if event.get("traceback"):
                self._log(event["traceback"])
            error = _ERRORS.get(str(event.get("type")), FoldwiseError)
            raise error(str(event.get("message")))
        ctx.progress(1.0, f"{kind} done")
        result = dict(event.get("result") or {})
        result.setdefault("_seconds", event.get("seconds"))
        return result


def sweep_stale_state_dirs(root: str | os.PathLike[str] | None = None) -> list[Path]:
    """Remove the worker folders (``foldwise-finn-<pid>-*``) of processes that are gone; the removed ones.

    A folder ``close()`` left after the worker died (``worker.log``, named by the error) is kept a day so the
    log can still be read.
    """
    root = Path(root or tempfile.gettempdir())
    removed = []
    try:
        entries = list(root.iterdir())
    except OSError:
        return removed
    for entry in entries:
        match = _STATE_RE.match(entry.name)
        if not (match and entry.is_dir()) or pid_alive(int(match.group(1))):
            continue
        with contextlib.suppress(OSError):
            mark = entry / _KEPT_MARK
            if mark.is_file() and time.time() - mark.stat().st_mtime < _KEEP_LOG_S:
                continue
            shutil.rmtree(entry, ignore_errors=True)
            removed.append(entry)
    return removed


_default: FinnWorker | None = None
_default_lock = threading.Lock()


def get_worker() -> FinnWorker:
    """The process-wide shared worker (created lazily, closed at exit)."""
    global _default
    with _default_lock:
        if _default is None:
            _default = FinnWorker()
            atexit.register(_default.close)
        return _default
