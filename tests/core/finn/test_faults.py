"""Fault injection around FINN: the estimate verb stopped by SIGTERM or SIGKILL, the FINN worker killed mid-build,
its parent killed, the SSH connection to a build host cut mid-build. Each test states the promise it checks."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import psutil
import pytest

from foldwise.core.errors import FoldwiseError, SshError
from foldwise.core.finn import worker as worker_mod
from foldwise.core.finn.build_config import BuildConfig
from foldwise.core.finn.hosts import RemoteBuildHost
from foldwise.core.finn.remote_build import REMOTE_RECORD
from foldwise.core.finn.stage import BuildRecord, build, list_builds
from foldwise.core.finn.worker import FinnWorker
from foldwise.core.jobs import JobContext
from foldwise.core.project import Project
from tests.core.remote.conftest import target_for
from tests.faults import Cli, cli_env, pid_gone, run_cli, snapshot
from tests.sshd import SshServer

LIGHT = {"FOLDWISE_FINN_WORKER_LIGHT": "1"}


def _builds(project: Path) -> list[BuildRecord]:
    with Project.open(project, read_only=True) as opened:
        assert opened.current is not None
        return list_builds(opened.current)


def _worker_of(cli: Cli) -> int:
    """The pid of the FINN worker a `foldwise` process started."""
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        for child in psutil.Process(cli.proc.pid).children():
            if "_worker_main" in " ".join(child.cmdline()):
                return child.pid
        time.sleep(0.05)
    raise AssertionError("the FINN worker never started")


def _left_worker_dirs(tmp: Path) -> list[str]:
    return sorted(p.name for p in tmp.glob("foldwise-finn-*"))


def test_sigterm_mid_estimate_cleans_up_and_leaves_the_project_as_it_was(quantized_lenet: Path,
                                                                         tmp_path: Path) -> None:
    """`foldwise estimate` stopped by SIGTERM mid-build: exit 143, one line, the FINN worker gone at once, no
    build folder left (nothing to resume), the project byte for byte as before, no temp folder left; the next
    estimate works."""
    before = snapshot(quantized_lenet)
    tmp = tmp_path / "tmp"
    tmp.mkdir()
    cli = Cli("estimate", str(quantized_lenet), TMPDIR=str(tmp))
    worker = _worker_of(cli)
    cli.wait_for("step_streamline")
    cli.proc.send_signal(signal.SIGTERM)
    assert cli.finish(60) == 143
    assert "terminated" in cli.stderr and "Traceback" not in cli.stderr, cli.stderr
    assert pid_gone(worker, 2.0), "the FINN worker outlived the stopped estimate"
    assert snapshot(quantized_lenet) == before
    assert _left_worker_dirs(tmp) == []
    again = run_cli("estimate", str(quantized_lenet), "--json")
    assert again.returncode == 0, again.stderr
    assert json.loads(again.stdout)["fps"]["value"] > 0
    assert [b.status for b in _builds(quantized_lenet)] == ["done"]


def test_sigkill_mid_estimate_leaves_a_build_listed_as_failed_and_the_next_estimate_works(
        quantized_lenet: Path, tmp_path: Path) -> None:
    """`foldwise estimate` killed with SIGKILL mid-build: the FINN worker dies with it within 2 s (so nothing
    goes on writing), the half build folder lists as failed, nothing else in the project changed, and the next
    estimate works beside it and sweeps the dead process's temp folder."""
    before = snapshot(quantized_lenet)
    tmp = tmp_path / "tmp"
    tmp.mkdir()
    cli = Cli("estimate", str(quantized_lenet), TMPDIR=str(tmp))
    worker = _worker_of(cli)
    cli.wait_for("step_streamline")
    cli.proc.kill()
    cli.finish(30)
    assert pid_gone(worker, 2.0), "the FINN worker outlived its killed parent"
    [half] = _builds(quantized_lenet)
    assert half.status == "failed" and half.resume_step is not None
    assert snapshot(quantized_lenet, skip=half.folder) == before
    assert len(_left_worker_dirs(tmp)) == 1  # SIGKILL cannot be caught: the next worker sweeps it
    again = subprocess.run([sys.executable, "-m", "foldwise", "estimate", str(quantized_lenet), "--json"],
                           capture_output=True, text=True, env=cli_env(TMPDIR=str(tmp)), timeout=300)
    assert again.returncode == 0, again.stderr
    assert [b.status for b in _builds(quantized_lenet)] == ["done", "failed"]
    assert _left_worker_dirs(tmp) == []


def test_a_worker_killed_mid_estimate_fails_the_job_clearly_and_the_next_estimate_restarts_it(
        quantized_lenet: Path, tmp_path: Path) -> None:
    """The FINN worker killed (SIGKILL) mid-estimate: the build raises one clear FoldwiseError naming the dead
    worker and its log (no traceback, no hang), the build folder is kept with FINN's log and recorded as failed,
    and the next estimate starts a fresh worker and works."""
    steps: list[str] = []
    ctx = JobContext(on_progress=lambda _f, m: steps.append(m))
    outcome: dict[str, BaseException] = {}
    with FinnWorker(state_dir=tmp_path / "worker") as finn:

        def run() -> None:
            try:
                build(quantized_lenet, BuildConfig(), ctx, worker=finn)
            except BaseException as exc:  # the test inspects whatever came out
                outcome["error"] = exc

        job = threading.Thread(target=run)
        job.start()
        deadline = time.monotonic() + 120
        while not any(m.startswith("step_streamline") for m in steps) and time.monotonic() < deadline:
            time.sleep(0.02)
        assert finn.pid is not None
        os.kill(finn.pid, signal.SIGKILL)
        job.join(30)
        assert not job.is_alive(), "the estimate hung after its worker was killed"
        error = outcome["error"]
        assert type(error) is FoldwiseError and "FINN worker died" in str(error)
        assert "log kept at" in str(error) and "Traceback" not in str(error)
        [failed] = _builds(quantized_lenet)
        assert failed.status == "failed" and "FINN worker died" in (failed.error or "")
        assert (failed.folder / "build_dataflow.log").is_file()
        report = build(quantized_lenet, BuildConfig(), worker=finn)
        assert report.fps is not None and finn.starts == 2
        assert [b.status for b in _builds(quantized_lenet)] == ["done", "failed"]


_PARENT_OF_A_WORKER = """
import sys
from foldwise.core.finn.worker import FinnWorker
from foldwise.core.jobs import JobContext

worker = FinnWorker(env={"FOLDWISE_FINN_WORKER_LIGHT": "1"})
worker.request("debug", {"action": "echo"})
print("worker", worker.pid, worker.state_dir, flush=True)
worker.request("debug", {"action": "sleep", "seconds": 120}, JobContext(on_log=lambda line: print(line, flush=True)))
"""


def test_the_worker_dies_within_two_seconds_of_its_killed_parent(tmp_path: Path,
                                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    """A process holding a FINN worker killed with SIGKILL (no atexit, no clean-up): the worker and what it
    started are gone within 2 s; the dead process's temp folder is swept by the next worker made."""
    proc = subprocess.Popen([sys.executable, "-c", _PARENT_OF_A_WORKER], stdout=subprocess.PIPE, text=True,
                            env=cli_env(TMPDIR=str(tmp_path)))
    assert proc.stdout is not None
    _, worker_pid, state_dir = proc.stdout.readline().split()
    grandchild = next(int(line.split()[2]) for line in proc.stdout if line.startswith("grandchild pid"))
    proc.kill()
    proc.wait(10)
    assert pid_gone(int(worker_pid), 2.0), "the FINN worker outlived its parent"
    assert pid_gone(grandchild, 2.0), "a process the worker started outlived it"
    assert Path(state_dir).is_dir() and Path(state_dir).parent == tmp_path
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    with FinnWorker(env=LIGHT) as fresh:
        assert not Path(state_dir).exists()
        assert fresh.state_dir.parent == tmp_path and fresh.state_dir.name.startswith(f"foldwise-finn-{os.getpid()}-")
        assert fresh.request("debug", {"action": "echo"})["echo"] == {"action": "echo"}
    assert not fresh.state_dir.exists(), "a closed worker left its temp folder"


def test_a_crashed_workers_log_outlives_close_and_its_scratch_does_not(tmp_path: Path,
                                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    """A worker that died keeps the log its error names after close() (scratch files removed); a sweep made
    while its process lives leaves it alone."""
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    worker = FinnWorker(env=LIGHT)
    with pytest.raises(FoldwiseError, match="log kept at"):
        worker.request("debug", {"action": "crash", "code": 3})
    worker.close()
    assert sorted(p.name for p in worker.state_dir.iterdir()) == ["log-kept", "worker.log"]
    assert worker_mod.sweep_stale_state_dirs(tmp_path) == []  # this process is alive


def _kill_connections(server: SshServer) -> list[int]:
    """Cut every open connection: SIGKILL the per-connection sshd processes (children of the listener)."""
    killed = []
    for conn in psutil.Process(server.proc.pid).children():
        conn.kill()
        killed.append(conn.pid)
    return killed


def test_a_connection_cut_mid_remote_build_is_one_clear_error_and_resumable(build_sshd: SshServer,
                                                                            tmp_path: Path, tfc: Path) -> None:
    """The SSH connection to the build host cut mid-build: one clear SshError saying the build may still run
    there and how to resume, the local record says failed, no FINN report half-downloaded; resuming at the
    step it stopped in finishes the build with the right figures."""
    steps: list[str] = []
    ctx = JobContext(on_progress=lambda _f, m: steps.append(m))
    host = RemoteBuildHost(target_for(build_sshd), python=sys.executable, remote_dir=str(tmp_path / "remote"))
    build_dir = tmp_path / "b"
    cut: list[int] = []

    def cut_at_step_4() -> None:
        while not any(m.startswith("step_convert_to_hw") for m in steps):
            time.sleep(0.02)
        cut.extend(_kill_connections(build_sshd))

    threading.Thread(target=cut_at_step_4, daemon=True).start()
    config = BuildConfig(host=host, target_fps=100_000, out_dir=build_dir, keep_intermediate=True, timeout=120)
    started = time.monotonic()
    with pytest.raises(SshError) as info:
        build(tfc, config, ctx)
    assert cut and time.monotonic() - started < 90
    message = str(info.value)
    assert "connection" in message and "resume" in message and "Traceback" not in message, message
    record = json.loads((build_dir / REMOTE_RECORD).read_text())
    assert record["status"] == "failed"
    assert not (build_dir / "report").exists()
    deadline = time.monotonic() + 20  # the cut runner dies of its broken pipe
    while build_sshd.session_pids() and time.monotonic() < deadline:
        time.sleep(0.1)
    resume_at = BuildRecord.read(build_dir).resume_step
    assert resume_at is not None
    report = build(tfc, config.with_(start_step=resume_at))
    assert report.fps is not None and report.fps.value == pytest.approx(111_607.14, rel=1e-6)
    assert json.loads((build_dir / REMOTE_RECORD).read_text())["status"] == "done"
