"""One Slurm array task of a sweep: ``python -m foldwise.core.sweep.task SHARED TASKS_FILE TASK_ID``.

Standard library only: it is shipped to the cluster with the FINN runner (the build-host runtime, see
:mod:`foldwise.core.finn.remote_build`) and runs wherever Slurm puts it. ``TASKS_FILE`` (JSON) lists, per array
task, the point indices it builds; each point's folder ``SHARED/points/<i>/`` holds ``request.json`` (the FINN
worker request the parent prepared). The task runs them one after another in one FINN runner
(:mod:`foldwise.core.finn.runner`, so FINN's ~5 s import is paid once per task) and writes, per point:

- ``state.json``: ``running`` (with progress), then ``done``, ``failed`` (the error) or ``stopped`` (Slurm sent
  SIGTERM: a cancel or the time limit; the parent tells which from the scheduler); with where the time went
  (epoch seconds ``task_started_at``, ``started_at``, ``finished_at``; ``runner_import_s``, FINN's import);
- ``task.log``: FINN's log lines and the runner's raw output; ``build/``: FINN's build folder;
- ``events.jsonl``: the runner's events for the point; ``pid``: the runner's process id.

A runner that dies mid-point (killed, out of memory) fails that point only: the next point gets a new runner.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

RUNNER = "foldwise.core.finn.runner"
STATE = "state.json"
REQUEST = "request.json"
LOG = "task.log"
FINAL = ("done", "failed", "stopped")


def now() -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%S")


def write_state(folder: Path, **state: Any) -> None:
    """Replace ``state.json`` atomically (the parent may read it at any moment, over SFTP too)."""
    tmp = folder / f".{STATE}.{os.getpid()}.tmp"
    tmp.write_text(json.dumps(state), encoding="utf-8")
    os.replace(tmp, folder / STATE)


def read_state(folder: Path) -> dict[str, Any]:
    try:
        data = json.loads((folder / STATE).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


class Runner:
    """The FINN runner subprocess: requests on its stdin, events on a pipe, raw output to the current log."""

    def __init__(self, scratch: Path) -> None:
        read_fd, write_fd = os.pipe()
        env = dict(os.environ)
        env.pop("PYTEST_CURRENT_TEST", None)  # inherited through sbatch's --export=ALL; FINN re-raises under it
        # Slurm's SIGTERM (scancel, the time limit) goes to every process of the task. The runner and what it
        # starts ignore it (an ignored signal stays ignored across exec): this driver alone handles it, kills
        # them and records why, before a runner dying of it, or a build cut short, could record a failure.
        previous = signal.signal(signal.SIGTERM, signal.SIG_IGN)
        try:
            self.proc = self._start(scratch, write_fd, env)
        finally:
            signal.signal(signal.SIGTERM, previous)
        os.close(write_fd)
        self.events = open(read_fd, encoding="utf-8", errors="replace")  # noqa: SIM115
        self.log_path: Path | None = None
        self.import_s: float | None = None  # FINN's import in this runner, once it said it is ready
        self._lock = threading.Lock()
        threading.Thread(target=self._pump_output, daemon=True).start()

    @staticmethod
    def _start(scratch: Path, write_fd: int, env: dict[str, str]) -> subprocess.Popen[str]:
        return subprocess.Popen(
            [sys.executable, "-u", "-m", RUNNER, "--event-fd", str(write_fd), "--scratch", str(scratch)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            pass_fds=(write_fd,),
            env=env,
            start_new_session=True,
            text=True,
            bufsize=1,
            errors="replace",
        )

    def log(self, line: str) -> None:
        with self._lock:
            if self.log_path is not None:
                with open(self.log_path, "a", encoding="utf-8") as fh:
                    fh.write(line + "\n")

    def _pump_output(self) -> None:
        assert self.proc.stdout is not None
        for raw in self.proc.stdout:
            self.log(raw.rstrip("\n"))

    def send(self, message: dict[str, Any]) -> None:
        assert self.proc.stdin is not None
        with contextlib.suppress(OSError):
            self.proc.stdin.write(json.dumps(message) + "\n")
            self.proc.stdin.flush()

    def next_event(self) -> dict[str, Any] | None:
        """The runner's next event (None: its event pipe closed, i.e. it is gone)."""
        for line in self.events:
            try:
                return json.loads(line)
            except ValueError:
                self.log(f"(unreadable runner event) {line.rstrip()}")
        return None

    def kill(self) -> None:
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(self.proc.pid, signal.SIGKILL)
        with contextlib.suppress(subprocess.TimeoutExpired):
            self.proc.wait(timeout=10)

    def exit_text(self) -> str:
        with contextlib.suppress(subprocess.TimeoutExpired):
            self.proc.wait(timeout=10)
        code = self.proc.returncode
        if code is not None and code < 0:
            return f"killed by signal {signal.Signals(-code).name}"
        return f"exit code {code}"


def run_point(runner: Runner, folder: Path, request_id: int, base: dict[str, Any]) -> bool:
    """Build one point; False when the runner died (it must be replaced)."""
    request = json.loads((folder / REQUEST).read_text(encoding="utf-8"))
    runner.log_path = folder / LOG
    (folder / "pid").write_text(f"{runner.proc.pid}\n", encoding="utf-8")
    state = {
        **base,
        "status": "running",
        "started": now(),
        "started_at": time.time(),
        "progress": 0.0,
        "message": "starting",
    }
    if runner.import_s is not None:
        state["runner_import_s"] = runner.import_s
    write_state(folder, **state)
    runner.send({"id": request_id, "kind": request["kind"], "params": request["params"]})
    with open(folder / "events.jsonl", "a", encoding="utf-8") as events:
        while True:
            event = runner.next_event()
            if event is None:
                how = runner.exit_text()
                runner.log(f"--- the FINN runner (pid {runner.proc.pid}) ended mid-build: {how}")
                write_state(
                    folder,
                    **{
                        **state,
                        "status": "failed",
                        "finished": now(),
                        "error": f"the FINN runner ended mid-build ({how}); log: {folder / LOG}",
                    },
                )
                return False
            if event.get("event") not in ("ready", "log"):
                events.write(json.dumps(event) + "\n")
                events.flush()
            kind = event.get("event")
            if kind == "log":
                runner.log(str(event.get("line", "")))
            elif kind == "ready":  # the task's start-up cost, paid by its first point: Python + FINN's import
                runner.import_s = float(event.get("import_s") or 0.0)
                state.update(runner_import_s=runner.import_s, message="FINN loaded")
                write_state(folder, **state)
            elif kind == "progress" and event.get("id") == request_id:
                state.update(progress=float(event.get("fraction", 0.0)), message=str(event.get("message", "")))
                write_state(folder, **state)
            elif kind == "fatal":
                runner.log(str(event.get("traceback") or event.get("message")))
                write_state(
                    folder,
                    **{
                        **state,
                        "status": "failed",
                        "finished": now(),
                        "error": f"finn-plus could not be loaded: {event.get('message')}",
                    },
                )
                return False
            elif kind in ("result", "error") and event.get("id") == request_id:
                if kind == "error" and event.get("traceback"):
                    runner.log(str(event["traceback"]))
                final = (
                    {"status": "done", "seconds": event.get("seconds"), "finished_at": time.time()}
                    if kind == "result"
                    else {"status": "failed", "error": str(event.get("message")), "error_type": event.get("type")}
                )
                write_state(folder, **{**state, **final, "progress": 1.0, "finished": now()})
                return True


def main(argv: list[str] | None = None) -> int:
    shared, tasks_file, task_id = (argv or sys.argv[1:])[:3]
    shared_dir = Path(shared)
    indices = json.loads(Path(tasks_file).read_text(encoding="utf-8"))[int(task_id)]
    job = os.environ.get("SLURM_JOB_ID", "")
    base = {
        "task_started_at": time.time(),
        "job": job,
        "array_job": os.environ.get("SLURM_ARRAY_JOB_ID", ""),
        "task": int(task_id),
        "host": socket.gethostname(),
        "task_pid": os.getpid(),
    }
    scratch = shared_dir / "scratch" / (job or str(os.getpid()))
    current: dict[str, Any] = {}
    runner: Runner | None = None

    def stop(signum: int, _frame: Any) -> None:  # scancel or the time limit: Slurm's SIGTERM before SIGKILL
        if runner is not None:
            runner.kill()
        folder = current.get("folder")
        if folder is not None and read_state(folder).get("status") not in FINAL:
            write_state(
                folder,
                **{
                    **read_state(folder),
                    "status": "stopped",
                    "finished": now(),
                    "error": f"stopped by {signal.Signals(signum).name} from Slurm",
                },
            )
        os._exit(143)

    signal.signal(signal.SIGTERM, stop)
    with contextlib.suppress(OSError):  # the local FINN worker's priority: a one-node cluster beside the GUI
        os.nice(5)
    for request_id, index in enumerate(indices, start=1):
        folder = shared_dir / "points" / str(index)
        if read_state(folder).get("status") == "done":
            continue
        current["folder"] = folder
        if runner is None:
            runner = Runner(scratch)
        if not run_point(runner, folder, request_id, base):
            runner.kill()
            runner = None
        current.pop("folder", None)
    if runner is not None:
        # every point's state and build are written: the runner's own shutdown (unloading torch and FINN, 1-3 s)
        # would only hold the task's CPUs from the array's next task
        runner.kill()
    import shutil

    shutil.rmtree(scratch, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
