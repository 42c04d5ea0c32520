"""How ended array tasks are judged, from ``scontrol show job -o`` lines as Slurm 22.05 prints them: a time or
memory limit names the point and the limit, and a task that ended before a point started says so (the real
cluster's time and memory limits, cancel and kill are in test_slurm_sweep.py)."""

from __future__ import annotations

import json
from pathlib import Path

from foldwise.core.finn.build_config import BuildConfig
from foldwise.core.finn.stage import FAILURE_RECORD, BuildRecord
from foldwise.core.project import Project
from foldwise.core.sweep.cluster import Cluster
from foldwise.core.sweep.grid import SlurmResources, parse_grid
from foldwise.core.sweep.record import new_record
from foldwise.core.sweep.slurm import SlurmExecutor, parse_scontrol

LINES = (
    "JobId=11 ArrayJobId=10 ArrayTaskId=0 JobName=s JobState=TIMEOUT Reason=TimeLimit ExitCode=0:15\n"
    "JobId=12 ArrayJobId=10 ArrayTaskId=1 JobName=s JobState=OUT_OF_MEMORY Reason=OutOfMemory ExitCode=0:125\n"
    "JobId=13 ArrayJobId=10 ArrayTaskId=2 JobName=s JobState=RUNNING Reason=None ExitCode=0:0\n"
    "JobId=10 ArrayJobId=10 ArrayTaskId=3-5%2 JobName=s JobState=PENDING Reason=JobArrayTaskLimit ExitCode=0:0\n"
)


class Answers(Cluster):
    """The scheduler's and the tasks' answers for one poll."""

    def __init__(self, states: dict[int, dict]) -> None:
        self.states = states

    def slurm(self, *argv: str, timeout: float = 60.0) -> tuple[int, str, str]:
        assert argv[:3] == ("scontrol", "show", "job")
        return 0, LINES, ""

    def read_text(self, path: str) -> str | None:
        parts = path.split("/")
        index = int(parts[-2])
        if parts[-1] == "state.json" and index in self.states:
            return json.dumps(self.states[index])
        return "FINN's log of the point\n" if parts[-1] == "task.log" and index in self.states else None

    def fetch_dir(self, path: str, local: Path) -> bool:
        return False

    def remove(self, path: str) -> None:
        pass


def test_pending_ranges_are_expanded() -> None:
    tasks = parse_scontrol(LINES)
    assert sorted(tasks) == [0, 1, 2, 3, 4, 5]
    assert tasks[4]["JobState"] == "PENDING" and tasks[4]["Reason"] == "JobArrayTaskLimit"


def test_time_and_memory_limits_name_the_point_and_the_limit(quantized_lenet: Path) -> None:
    grid = parse_grid({"grid": {"clock_mhz": [100, 110, 120, 130, 140, 150]}})
    resources = SlurmResources(mem="1G", time="00:01:00")
    with Project.open(quantized_lenet) as project:
        record = new_record(project, "0002", {"kind": "slurm", "shared": "/shared"}, grid.to_dict(), grid.points)
        for state in record.points:
            state.iteration, state.job, state.task, state.status = "0002", "10", state.index, "queued"
            state.config = BuildConfig(clock_mhz=state.point.clock_mhz).to_dict()
        executor = SlurmExecutor({"host": None}, resources, "/shared")
        executor._cluster = Answers(
            {
                0: {"status": "stopped", "error": "stopped by SIGTERM from Slurm"},
                1: {"status": "running", "progress": 0.1, "message": "starting"},
                2: {"status": "running", "progress": 0.4, "message": "step_tidy_up [2/11]"},
            }
        )
        executor.poll(project, record)
        timeout, oom, running, *pending = record.points
        assert timeout.status == "failed"
        assert timeout.error == "p0 as is estimate Pynq-Z2 100MHz default folding: over its time limit (00:01:00)"
        assert oom.status == "failed" and oom.error.endswith("over its memory limit (1G)")
        assert (running.status, running.progress, running.message) == ("running", 0.4, "step_tidy_up [2/11]")
        assert [p.status for p in pending] == ["queued"] * 3
        assert pending[0].message == "queued (JobArrayTaskLimit)"
        # the pending tasks end without ever starting their points: over the memory limit, by slurmstepd's word
        executor._cluster = Answers({})
        executor._cluster.slurm = lambda *argv, timeout=60.0: (0, LINES.replace("RUNNING", "FAILED").replace(
            "PENDING", "FAILED"), "")
        record.submissions = [{"job": "10", "tasks": [[i] for i in range(6)]}]
        executor._cluster.read_text = lambda path: (
            "slurmstepd-node1: error: Exceeded job memory limit\n" if path.endswith("/submissions/0-3.out") else None
        )
        executor.poll(project, record)
        assert pending[0].status == "failed" and pending[0].error == (
            f"{pending[0].point.label}: not built: its array task ended before this point started "
            "(over its memory limit (1G))"
        )
        assert pending[1].error.endswith("(the task failed (exit code 0:0))")
        kept = BuildRecord.read(project.path / timeout.build)
        assert kept.status == "failed" and "time limit" in kept.error
        assert (kept.folder / "sweep_task.log").read_text() == "FINN's log of the point\n"
        assert json.loads((kept.folder / FAILURE_RECORD).read_text())["status"] == "failed"
        assert BuildRecord.read(project.path / oom.build).status == "failed"
