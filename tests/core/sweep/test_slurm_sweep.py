"""Sweeps on a real one-node Slurm cluster (tests/slurm_cluster.py): FINN estimates of the W4A4 LeNet as array
jobs, a cancel, a task killed mid-run and the resume that builds only its point again."""

from __future__ import annotations

import json
import os
import signal
import sys
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from foldwise.core.finn.hosts import RemoteBuildHost, save_host
from foldwise.core.finn.stage import FAILURE_RECORD, BuildRecord, list_builds
from foldwise.core.project import Project
from foldwise.core.sweep.cluster import LocalCluster
from foldwise.core.sweep.grid import parse_grid
from foldwise.core.sweep.record import SweepRecord
from foldwise.core.sweep.slurm import SlurmExecutor
from foldwise.core.sweep.stage import SweepSpec, cancel_sweep, follow, resume_sweep, sweep, sweep_status
from tests.core.remote.conftest import target_for
from tests.slurm_cluster import SlurmCluster
from tests.sshd import SshServer


def _grid(points_per_task: int = 1, **extra: object) -> dict:
    return {
        "grid": {"clock_mhz": [100, 200], "folding": ["default", {"target_fps": 5000}]},
        "slurm": {"cpus": 1, "mem": "2G", "time": "00:10:00", "points_per_task": points_per_task},
        **extra,
    }


def _wait_for(what: str, ready: Callable[[], bool], timeout: float = 120.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if ready():
            return
        time.sleep(0.2)
    raise AssertionError(f"timed out waiting for {what}")


def _task_state(record: SweepRecord, index: int) -> dict:
    try:
        return json.loads((Path(record.executor["shared"]) / "points" / str(index) / "state.json").read_text())
    except (OSError, ValueError):
        return {}


def _task_log(record: SweepRecord, index: int) -> str:
    try:
        return (Path(record.executor["shared"]) / "points" / str(index) / "task.log").read_text()
    except OSError:
        return ""


def test_four_estimate_points_run_as_one_array_job(slurm_cluster: SlurmCluster, quantized_lenet: Path) -> None:
    with Project.open(quantized_lenet) as project:
        before = {b.name for b in list_builds(project.current)}
        record = sweep(project, SweepSpec(parse_grid(_grid()), executor="slurm"))
        assert record.status == "done", [p.error for p in record.points]
        assert len(record.submissions) == 1 and record.submissions[0]["tasks"] == [[0], [1], [2], [3]]
        job = record.submissions[0]["job"]
        _wait_for("the tasks to exit", lambda: not slurm_cluster.run("squeue", "-h", "-j", job).stdout.strip(), 60)
        states = slurm_cluster.run("scontrol", "show", "job", job, "-o").stdout
        assert states.count("JobState=COMPLETED") == 4, states
        builds = {b.name: b for b in list_builds(project.current)}
        new = [builds[Path(p.build).name] for p in record.points]
        assert not {b.name for b in new} & before
        for state, build in zip(record.points, new, strict=True):
            assert build.ok and build.status == "done", build.folder
            assert build.clock_mhz == state.point.clock_mhz
            meta = json.loads((build.folder / "foldwise_sweep.json").read_text())
            assert (meta["sweep"], meta["point"], meta["job"]) == (record.id, state.index, job)
            assert (build.folder / "report" / "estimate_network_performance.json").is_file()
            assert (
                "Running step" in (build.folder / "sweep_task.log").read_text()
                or "step_" in (build.folder / "build_dataflow.log").read_text()
            )
        fps = {(p.point.clock_mhz, p.point.folding["mode"]): b.fps for p, b in zip(record.points, new, strict=True)}
        assert fps[(200.0, "default")] == pytest.approx(2 * fps[(100.0, "default")], rel=1e-6)  # same cycles
        assert fps[(100.0, "target_fps")] >= 5000 and fps[(200.0, "target_fps")] >= 5000
        assert project.current.id == "0002"  # the sweep made no iteration current
    with Project.open(quantized_lenet, read_only=True) as project:
        assert sweep_status(project).status == "done"  # the sweep was saved in the project


def test_cancelling_a_running_sweep_stops_its_array_job(slurm_cluster: SlurmCluster, quantized_lenet: Path) -> None:
    with Project.open(quantized_lenet) as project:
        record = sweep(project, SweepSpec(parse_grid(_grid()), executor="slurm", wait=False))
        _wait_for("a point running", lambda: _task_state(record, 0).get("status") == "running")
        started = time.monotonic()
        record = cancel_sweep(project)
        assert time.monotonic() - started < 30
        assert {p.status for p in record.points} == {"cancelled"}, [(p.status, p.error) for p in record.points]
        assert record.status == "cancelled"
        job = record.submissions[0]["job"]
        # scancel's tasks may show CG (completing) while slurmd reaps them; none may still be running
        queued = slurm_cluster.run("squeue", "-h", "-j", job, "-o", "%t").stdout.split()
        assert set(queued) <= {"CG"}, queued
        assert "JobState=CANCELLED" in slurm_cluster.run("scontrol", "show", "job", job, "-o").stdout


def test_a_task_killed_mid_run_fails_its_point_only_and_resume_builds_just_that_one(
    slurm_cluster: SlurmCluster, quantized_lenet: Path
) -> None:
    grid = {
        "points": [{"clock_mhz": 100}, {"clock_mhz": 150}, {"clock_mhz": 200}],
        "slurm": {"cpus": 1, "mem": "2G", "time": "00:10:00", "points_per_task": 2},
    }
    with Project.open(quantized_lenet) as project:
        record = sweep(project, SweepSpec(parse_grid(grid), executor="slurm", wait=False))
        assert record.submissions[0]["tasks"] == [[0, 1], [2]]
        pid_file = Path(record.executor["shared"]) / "points" / "0" / "pid"
        _wait_for("point 0 inside a FINN step", lambda: _task_state(record, 0).get("progress", 0) > 0.1)
        os.kill(int(pid_file.read_text()), signal.SIGKILL)
        _wait_for("the other points to end", lambda: sweep_status(project).counts()["done"] == 2, timeout=300)
        record = sweep_status(project)
        failed, *done = record.points
        assert failed.status == "failed" and "killed by signal SIGKILL" in (failed.error or ""), failed.error
        assert [p.status for p in done] == ["done", "done"]
        kept = BuildRecord.read(project.path / failed.build)
        assert kept.status == "failed" and (kept.folder / FAILURE_RECORD).is_file()
        assert "ended mid-build: killed by signal SIGKILL" in (kept.folder / "sweep_task.log").read_text()
        done_builds = [p.build for p in done]

        record = resume_sweep(project)
        assert record.submissions[-1]["tasks"] == [[0]]  # only the failed point was submitted again
        assert record.status == "done", [p.error for p in record.points]
        assert [p.build for p in record.points[1:]] == done_builds
        assert record.points[0].attempts == 2 and BuildRecord.read(project.path / record.points[0].build).ok


def test_a_sweep_through_a_login_host_over_ssh(
    slurm_cluster: SlurmCluster, quantized_lenet: Path, tmp_path: Path, sshd_factory: Callable[..., SshServer]
) -> None:
    server = sshd_factory(password=None, shell="/bin/sh")
    env = {**slurm_cluster.env, "PATH": os.environ["PATH"]}
    save_host(
        RemoteBuildHost(
            target_for(server), python=sys.executable, remote_dir=str(tmp_path / "login"), env=env, name="login"
        )
    )
    grid = {
        "points": [{"clock_mhz": 100}, {"clock_mhz": 200, "folding": {"target_fps": 4000}}],
        "slurm": {"mem": "2G", "points_per_task": 2},
    }
    with Project.open(quantized_lenet) as project:
        record = sweep(project, SweepSpec(parse_grid(grid), executor="slurm:login"))
        assert record.status == "done", [p.error for p in record.points]
        assert record.executor["where"] == server.spec
        assert record.executor["shared"].startswith(str(tmp_path / "login" / "sweeps"))
        for state in record.points:
            build = BuildRecord.read(project.path / state.build)
            assert build.ok and build.clock_mhz == state.point.clock_mhz
            meta = json.loads((build.folder / "foldwise_build.json").read_text())
            assert meta["remote"]["host"] == server.spec and meta["model"].startswith(str(quantized_lenet))
        assert not (Path(record.executor["shared"]) / "points" / "0" / "build").exists()  # fetched, then removed


def test_tasks_over_their_time_and_memory_limits_name_the_point_and_lose_nothing(
    slurm_cluster: SlurmCluster, quantized_lenet: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Slurm's own limits on the real cluster: a task past its one-minute time limit (its first point made slow:
    the FINN runner's sleep request in place of the build) and one over its memory limit (the FINN runner
    needs ~0.5 GB; slurmd's accounting kills the task at 300 MB), then requeued with more. They run at once;
    Slurm's time limit takes 60-90 s to strike (slurmctld checks limits every 30 s)."""
    slow: list[str] = []
    write_text = LocalCluster.write_text

    def slow_first_point(self: LocalCluster, path: str, text: str) -> None:
        if slow and path.endswith("/points/0/request.json"):
            text = json.dumps({"kind": "debug", "params": {"action": "sleep", "seconds": 600}})
        write_text(self, path, text)

    monkeypatch.setattr(LocalCluster, "write_text", slow_first_point)
    timed = {
        "points": [{"clock_mhz": 100}, {"clock_mhz": 150}],
        "slurm": {"mem": "2G", "time": "00:01:00", "points_per_task": 2},
    }
    hungry = {"points": [{"clock_mhz": 200}], "slurm": {"mem": "300M", "time": "00:10:00"}}
    with Project.open(quantized_lenet) as project:
        before = {b.name for b in list_builds(project.current)}
        slow.append("on")
        record = sweep(project, SweepSpec(parse_grid(timed), executor="slurm", wait=False))
        slow.clear()
        _wait_for("the slow point running", lambda: "grandchild pid" in _task_log(record, 0), 60)

        oom = sweep(project, SweepSpec(parse_grid(hungry), executor="slurm"))
        (point,) = oom.points
        assert point.status == "failed" and point.error == f"{point.point.label}: over its memory limit (300M)"
        assert oom.status == "failed"
        kept = BuildRecord.read(project.path / point.build)
        assert kept.status == "failed" and "over its memory limit (300M)" in (kept.error or "")
        job = oom.submissions[0]["job"]
        assert "JobState=COMPLETED" not in slurm_cluster.run("scontrol", "show", "job", job, "-o").stdout
        # requeued with more memory (while the slow task waits for its time limit on the other CPU)
        oom = resume_sweep(project, oom.id, only_failed=True, limits={"mem": "2G"})
        assert oom.status == "done" and oom.points[0].attempts == 2, oom.points[0].error
        assert oom.executor["resources"]["mem"] == "2G" and BuildRecord.read(project.path / oom.points[0].build).ok
        assert kept.folder.is_dir()  # the failed attempt's build record stays

        record = follow(project, record, SlurmExecutor.from_record(record), timeout=150)
        late, never = record.points
        assert late.status == "failed", (late.status, late.message)
        assert late.error == f"{late.point.label}: over its time limit (00:01:00)"
        assert never.status == "failed" and never.error == (
            f"{never.point.label}: not built: its array task ended before this point started "
            "(over its time limit (00:01:00))"
        )
        job = record.submissions[0]["job"]
        assert "JobState=TIMEOUT" in slurm_cluster.run("scontrol", "show", "job", job, "-o").stdout
        kept = BuildRecord.read(project.path / late.build)
        assert kept.status == "failed" and (kept.folder / FAILURE_RECORD).is_file()
        assert "grandchild pid" in (kept.folder / "sweep_task.log").read_text()  # the point's log came back
        assert project.current.id == "0002" and before <= {b.name for b in list_builds(project.current)}
    with Project.open(quantized_lenet, read_only=True) as project:  # both sweeps were saved
        assert {p.error for p in sweep_status(project, record.id).points} == {late.error, never.error}
        assert sweep_status(project, oom.id).status == "done"
