"""The Slurm executor: one array job per submission, FINN builds on the cluster, reports back as build records.

Submitting stages the points' QONNX models and FINN requests into the shared folder
(``<shared>/models/``, ``<shared>/points/<i>/request.json``), ships Foldwise's FINN runtime once, and runs
``sbatch --array`` with the per-task CPUs, memory, time limit, partition and account; each array task runs
:mod:`foldwise.core.sweep.task` over its points. Status comes from the points' ``state.json`` (written by the
task) and ``scontrol show job`` (no slurmdbd needed): pending and running tasks, and why an ended task ended
(cancelled, over its time or memory limit). A point that finished, or failed, is fetched into a new build
folder under its iteration (FINN's reports, its log as ``sweep_task.log``, ``foldwise_failed.json`` when it
failed); cancel is ``scancel``; resume and requeue submit a new array job for the chosen points.
"""

from __future__ import annotations

import json
import re
import shlex
import time
from pathlib import Path
from typing import Any

from foldwise.core.atomic import atomic_write_json
from foldwise.core.errors import FoldwiseError, InputError
from foldwise.core.finn.build import params_for
from foldwise.core.finn.build_config import BuildConfig
from foldwise.core.finn.stage import CONFIG_RECORD, FAILURE_RECORD, iteration_qonnx, new_build_dir
from foldwise.core.jobs import JobContext, null_context
from foldwise.core.project import Project
from foldwise.core.sweep.cluster import Cluster, make_cluster
from foldwise.core.sweep.grid import SlurmResources
from foldwise.core.sweep.local import sweep_build_meta
from foldwise.core.sweep.prepare import build_config
from foldwise.core.sweep.record import OPEN, SweepRecord
from foldwise.core.sweep.task import LOG, REQUEST, STATE

_TASK_RE = re.compile(r"^(\d+)(?:-(\d+))?$")
#: Slurm job states and what they mean for a point whose task ended without a result
_ENDED = {
    "CANCELLED": ("cancelled", "cancelled (scancel)"),
    "TIMEOUT": ("failed", "over its time limit ({time})"),
    "OUT_OF_MEMORY": ("failed", "over its memory limit ({mem})"),
    "DEADLINE": ("failed", "past its deadline"),
    "NODE_FAIL": ("failed", "its node failed"),
    "BOOT_FAIL": ("failed", "its node did not boot"),
    "PREEMPTED": ("failed", "preempted by Slurm"),
    "FAILED": ("failed", "the task failed (exit code {exit})"),
    "COMPLETED": ("failed", "the task ended without a result (exit code {exit})"),
}
#: slurmstepd's messages in a task's output (lower case) and the ending they mean
_OUTPUT_MARKERS = (
    ("exceeded job memory limit", "OUT_OF_MEMORY"),
    ("exceeded memory limit", "OUT_OF_MEMORY"),
    ("oom-kill event", "OUT_OF_MEMORY"),
    ("due to time limit", "TIMEOUT"),
    ("due to preemption", "PREEMPTED"),
)
_OUTPUT_TAIL = 20_000
_ACTIVE = {
    "PENDING": "queued",
    "CONFIGURING": "queued",
    "REQUEUED": "queued",
    "RESIZING": "queued",
    "SUSPENDED": "queued",
    "REQUEUE_HOLD": "queued",
    "REQUEUE_FED": "queued",
    "RESV_DEL_HOLD": "queued",
    "POWER_UP_NODE": "queued",
    "RUNNING": "running",
    "COMPLETING": "running",
    "STAGE_OUT": "running",
    "SIGNALING": "running",
    "STOPPED": "running",
}


def parse_scontrol(text: str) -> dict[int, dict[str, str]]:
    """``scontrol show job -o`` of an array job: array task id → its fields (ranges of pending tasks expanded)."""
    out: dict[int, dict[str, str]] = {}
    for line in text.splitlines():
        fields = dict(f.split("=", 1) for f in line.split() if "=" in f)
        task = fields.get("ArrayTaskId", "").split("%")[0]
        for part in filter(None, task.split(",")):
            match = _TASK_RE.match(part)
            if match:
                first, last = int(match.group(1)), int(match.group(2) or match.group(1))
                for t in range(first, last + 1):
                    out[t] = fields
    return out


class SlurmExecutor:
    """Runs a sweep's points as Slurm array jobs, here (``sbatch`` on PATH) or on a login host over SSH."""

    kind = "slurm"

    def __init__(
        self,
        cluster_spec: dict[str, Any],
        resources: SlurmResources,
        shared: str | None = None,
        trust_fingerprint: str | None = None,
    ) -> None:
        self.spec = dict(cluster_spec)
        self.resources = resources
        self.shared = shared
        self.trust_fingerprint = trust_fingerprint
        self._cluster: Cluster | None = None

    @classmethod
    def from_record(cls, record: SweepRecord) -> SlurmExecutor:
        ex = record.executor
        return cls(
            {"host": ex.get("host"), "python": ex.get("python")},
            SlurmResources.from_dict(ex.get("resources")),
            ex.get("shared"),
        )

    @property
    def cluster(self) -> Cluster:
        if self._cluster is None:
            self._cluster = make_cluster(self.spec, self.trust_fingerprint)
        return self._cluster

    def close(self) -> None:
        if self._cluster is not None:
            self._cluster.close()
            self._cluster = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "host": self.spec.get("host"),
            "python": self.spec.get("python"),
            "where": self.cluster.where,
            "resources": self.resources.to_dict(),
            "shared": self.shared,
        }

    def _limits(self) -> list[str]:
        r = self.resources
        args = [f"--cpus-per-task={r.cpus}", f"--mem={r.mem}", f"--time={r.time}"]
        args += [f"--partition={r.partition}"] if r.partition else []
        args += [f"--account={r.account}"] if r.account else []
        return args

    def preflight(self, points: int) -> None:
        """Before anything is written: Slurm is there and accepts this job's limits (``sbatch --test-only``)."""
        self.cluster.check()
        code, out, err = self.cluster.slurm("sbatch", "--test-only", "--array=0", *self._limits(), "--wrap", "true")
        if code != 0:
            raise InputError(
                f"Slurm on {self.cluster.where} refuses the sweep's tasks "
                f"({' '.join(self._limits())}): {_first_error(err or out)}"
            )

    # ------------------------------------------------------------------------------------------ submit
    def run(self, project: Project, record: SweepRecord, indices: list[int], ctx: JobContext | None = None) -> None:
        """Stage ``indices`` and submit them as one array job (returns once Slurm accepted it)."""
        ctx = ctx or null_context()
        cluster = self.cluster
        shared = record.executor["shared"]
        ctx.progress(0.0, f"shipping Foldwise's FINN runtime to {cluster.where}")
        runtime = cluster.runtime(shared, ctx.sub(0.0, 0.1))
        staged: set[str] = set()
        for n, index in enumerate(indices):
            ctx.check_cancelled()
            state = record.point(index)
            iteration = project.get(state.iteration or record.iteration)
            model = iteration_qonnx(iteration)
            if state.config is None:
                ctx.progress(0.1 + 0.8 * n / len(indices), f"auto-fitting the folding of {state.point.label}")
                state.config = build_config(state.point, model, None, ctx.sub(0.1, 0.9)).to_dict()
            remote_model = f"{shared}/models/{iteration.id}.onnx"
            if remote_model not in staged:
                cluster.stage(model, remote_model, ctx.sub(0.1, 0.9))
                staged.add(remote_model)
            folder = f"{shared}/points/{index}"
            cluster.remove(folder)  # a resumed point starts clean (its last attempt's log is in its build record)
            params = params_for(model, BuildConfig.from_dict(state.config), f"{folder}/build")
            params["model"] = remote_model
            cluster.write_text(
                f"{folder}/{REQUEST}",
                json.dumps({"kind": BuildConfig.from_dict(state.config).kind.request, "params": params}),
            )
        per = self.resources.points_per_task
        tasks = [indices[i : i + per] for i in range(0, len(indices), per)]
        n = len(record.submissions)
        tasks_file, script = f"{shared}/submissions/{n}.json", f"{shared}/submissions/{n}.sh"
        cluster.write_text(tasks_file, json.dumps(tasks))
        args = f'-u -m foldwise.core.sweep.task {shlex.quote(shared)} {shlex.quote(tasks_file)} "$SLURM_ARRAY_TASK_ID"'
        cluster.write_text(script, "#!/bin/sh\n" + cluster.python_line(runtime, args) + "\n")
        code, out, err = cluster.slurm(
            "sbatch",
            "--parsable",
            f"--array=0-{len(tasks) - 1}",
            f"--job-name=foldwise-sweep-{record.id}",
            f"--chdir={shared}",
            f"--output={shared}/submissions/{n}-%a.out",
            *self._limits(),
            script,
        )
        if code != 0:
            raise FoldwiseError(f"sbatch on {cluster.where} refused the sweep: {_first_error(err or out)}")
        job = out.strip().split(";")[0]
        record.submissions.append({"job": job, "tasks": tasks, "when": time.strftime("%Y-%m-%dT%H:%M:%S")})
        for task, members in enumerate(tasks):
            for index in members:
                state = record.point(index)
                state.status, state.job, state.task, state.error = "queued", job, task, None
                state.progress, state.message, state.attempts = 0.0, "queued", state.attempts + 1
        record.save()
        ctx.progress(1.0, f"array job {job} submitted ({len(tasks)} tasks)")

    # ------------------------------------------------------------------------------------------ status
    def poll(self, project: Project, record: SweepRecord) -> None:
        """Bring the points' states up to date; fetch the ones that ended. A read-only project (open in another
        Foldwise, which fetches them) only gets the states, in memory."""
        open_points = [p for p in record.points if p.status in OPEN and p.job]
        if not open_points:
            return
        jobs: dict[str, dict[int, dict[str, str]] | None] = {}
        for job in sorted({p.job for p in open_points if p.job}):
            code, out, err = self.cluster.slurm("scontrol", "show", "job", job, "-o")
            if code != 0 and "invalid job id" not in (err + out).lower():
                raise FoldwiseError(f"scontrol on {self.cluster.where} failed: {_first_error(err or out)}")
            jobs[job] = parse_scontrol(out) if code == 0 else None
        shared = record.executor["shared"]
        outputs: dict[tuple[str, int], str] = {}
        for state in open_points:
            folder = f"{shared}/points/{state.index}"
            text = self.cluster.read_text(f"{folder}/{STATE}")
            try:
                task_state = json.loads(text) if text else {}
            except ValueError:
                task_state = {}
            status = task_state.get("status")
            known = jobs.get(state.job or "")
            fields = (known or {}).get(state.task if state.task is not None else -1)
            slurm_state = (fields or {}).get("JobState", "")
            if status == "done":
                self._finish(project, record, state.index, "done", None, task_state)
            elif status == "failed":
                self._finish(project, record, state.index, "failed", task_state.get("error"), task_state)
            elif slurm_state in _ACTIVE:
                # a task that caught Slurm's SIGTERM says "stopped" while Slurm still ends it: its final state
                # (cancelled, time limit, ...) tells why, so wait for it
                running = _ACTIVE[slurm_state] == "running" and status in ("running", "stopped")
                state.status = "running" if running else "queued"
                state.progress = float(task_state.get("progress") or 0.0) if running else 0.0
                if status == "stopped":
                    state.message = "stopping (Slurm ends its task)"
                elif running:
                    state.message = str(task_state.get("message") or "")
                else:
                    state.message = f"{_ACTIVE[slurm_state]} ({(fields or {}).get('Reason', '')})"
            else:
                key = (state.job or "", state.task if state.task is not None else -1)
                if key not in outputs:
                    outputs[key] = self._task_output(record, *key)
                how, why = _ended(slurm_state, outputs[key], status, task_state, known is None or fields is None)
                why = why.format(
                    time=self.resources.time, mem=self.resources.mem, exit=(fields or {}).get("ExitCode", "?")
                )
                if how == "failed" and not status:  # its task ended before it got to this point
                    why = f"not built: its array task ended before this point started ({why})"
                error = f"{state.point.label}: {why}" if how == "failed" else why
                self._finish(project, record, state.index, how, error, task_state)
        if not project.read_only:
            record.save()

    def _finish(
        self,
        project: Project,
        record: SweepRecord,
        index: int,
        status: str,
        error: str | None,
        task_state: dict[str, Any],
    ) -> None:
        """A point that ended: its build (and log) fetched into a new build folder under its iteration."""
        state = record.point(index)
        shared = record.executor["shared"]
        folder = f"{shared}/points/{index}"
        log = self.cluster.read_text(f"{folder}/{LOG}")
        build = None
        if status != "cancelled" or log:
            config = BuildConfig.from_dict(state.config or {})
            iteration = project.get(state.iteration or record.iteration)
            local = new_build_dir(iteration, config.kind, config.board, config.clock_mhz)
            self.cluster.fetch_dir(f"{folder}/build", local)
            if log is not None:
                (local / "sweep_task.log").write_text(log, encoding="utf-8")
            atomic_write_json(local / CONFIG_RECORD, {**config.to_dict(), "out_dir": str(local)})
            meta_path = local / "foldwise_build.json"
            if meta_path.is_file():
                meta = json.loads(meta_path.read_text(encoding="utf-8"))
                meta.update(
                    model=str(iteration_qonnx(iteration)),
                    remote={"host": self.cluster.where, "remote_build_dir": f"{folder}/build"},
                )
                atomic_write_json(meta_path, meta)
            atomic_write_json(
                local / "foldwise_sweep.json",
                sweep_build_meta(
                    record, index, job=state.job, task=state.task, node=task_state.get("host"), where=self.cluster.where
                ),
            )
            if status != "done":
                atomic_write_json(
                    local / FAILURE_RECORD,
                    {"status": status, "error": error or status, "when": time.strftime("%Y-%m-%dT%H:%M:%S")},
                )
            build = str(local.relative_to(project.path))
        state.status, state.error, state.build = status, error, build
        state.progress = 1.0 if status == "done" else state.progress
        state.message = status
        state.seconds = task_state.get("seconds")
        if status == "done":
            self.cluster.remove(f"{folder}/build")  # the reports are in the project now

    def _task_output(self, record: SweepRecord, job: str, task: int) -> str:
        """The end of an array task's Slurm output (where slurmstepd says why it killed the task)."""
        shared = record.executor["shared"]
        for n, submission in enumerate(record.submissions):
            if str(submission.get("job")) == job:
                text = self.cluster.read_text(f"{shared}/submissions/{n}-{task}.out") or ""
                return text[-_OUTPUT_TAIL:]
        return ""

    def cancel(self, project: Project, record: SweepRecord) -> None:
        jobs = sorted({p.job for p in record.points if p.status in OPEN and p.job})
        if jobs:
            code, out, err = self.cluster.slurm("scancel", *jobs)
            if code != 0:
                raise FoldwiseError(f"scancel on {self.cluster.where} failed: {_first_error(err or out)}")
        for state in record.points:
            if state.status == "pending":
                state.status, state.error, state.message = "cancelled", "cancelled", "cancelled"
        if not project.read_only:
            record.save()


def _ended(
    slurm_state: str, output: str, status: str | None, task_state: dict[str, Any], gone: bool
) -> tuple[str, str]:
    """(status, why) of a point whose array task ended without its result.

    slurmstepd's own lines in the task's output name a limit Slurm's state does not always carry: a task
    killed over its memory limit by the accounting plugin (``JobAcctGatherParams=OverMemoryKill``) ends FAILED,
    or CANCELLED, with only "Exceeded job memory limit" to say why."""
    for marker, state in _OUTPUT_MARKERS:
        if marker in output.lower():
            return _ENDED[state]
    if slurm_state in _ENDED:
        return _ENDED[slurm_state]
    if status == "stopped":
        return "cancelled", str(task_state.get("error") or "stopped by Slurm")
    if gone:
        return "failed", "the array task is gone from Slurm without a result"
    return "failed", f"the array task ended ({slurm_state or 'state unknown'}) without a result"


def _first_error(text: str) -> str:
    lines = [ln.strip() for ln in text.strip().splitlines() if ln.strip()]
    errors = [ln.split("error:", 1)[-1].strip() for ln in lines if "error" in ln.lower()]
    return "; ".join(dict.fromkeys(errors or lines[-1:])) or "no message"


def shared_folder(project: Project, sweep_id: str, cluster: Cluster, shared: str | Path | None) -> str:
    """Where the sweep's inputs and the tasks' outputs live (seen by the compute nodes)."""
    if shared is not None:
        return f"{str(shared).rstrip('/')}/{sweep_id}"
    root = getattr(cluster, "root", None)
    if root:
        return f"{root}/sweeps/{sweep_id}"
    return str((project.cache_dir / "sweeps" / sweep_id).resolve())
