"""The Sweep stage: start a sweep over an iteration, and its status, cancel, resume and requeue.

``sweep(project, spec, ctx)`` checks everything it can before writing a byte (the grid against the network,
Slurm's presence and its acceptance of the tasks' limits), re-quantizes the points that ask for other bit
widths, saves the sweep in the project (:mod:`foldwise.core.sweep.record`) and hands the points to the
executor: the local pool builds them now; Slurm gets an array job, which ``spec.wait`` follows until every
point ended. ``sweep_status`` polls the executor (fetching finished points as build records), ``cancel_sweep``
stops it, ``resume_sweep`` builds again every point not done (``only_failed``: the failed ones, a requeue).
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from foldwise.core.errors import Cancelled, InputError
from foldwise.core.jobs import JobContext, null_context
from foldwise.core.project import Project
from foldwise.core.sweep.grid import SlurmResources, SweepGrid
from foldwise.core.sweep.local import LocalExecutor
from foldwise.core.sweep.prepare import check_points, point_iterations
from foldwise.core.sweep.record import CANCEL_MARK, OPEN, SweepRecord, new_record, open_sweep
from foldwise.core.sweep.slurm import SlurmExecutor, shared_folder

Executor = LocalExecutor | SlurmExecutor
POLL_S = 1.0


@dataclass
class SweepSpec:
    """A sweep to start.

    Attributes
    ----------
    grid
        The design points (:func:`foldwise.core.sweep.grid.load_grid`).
    executor
        ``local`` (a pool of FINN workers here), ``slurm`` (sbatch on this machine's PATH) or
        ``slurm:USER@LOGIN-HOST`` / ``slurm:NAME`` (a saved build host) over SSH.
    partition, account
        Slurm's partition and account (override the grid's ``slurm:`` settings).
    limits
        Other ``slurm:`` settings that override the grid's (``cpus``, ``mem``, ``time``, ``points_per_task``).
    workers
        Local pool size (None: as many as the cores and free memory allow).
    shared
        The folder the compute nodes see (None: ``<project>/cache/sweeps`` here, ``<remote_dir>/sweeps`` on a
        login host).
    wait
        Follow a Slurm sweep until every point ended (the local pool always runs to the end).
    iteration
        The iteration to sweep (None: the current one).
    """

    grid: SweepGrid
    executor: str = "local"
    partition: str | None = None
    account: str | None = None
    workers: int | None = None
    shared: Path | None = None
    wait: bool = True
    iteration: str | None = None
    trust_fingerprint: str | None = None
    limits: dict[str, Any] | None = None


def with_limits(resources: SlurmResources, limits: dict[str, Any] | None) -> SlurmResources:
    """``resources`` with ``limits`` (``slurm:`` settings) given instead, checked like a grid's."""
    if not limits:
        return resources
    return SlurmResources.from_dict({**resources.to_dict(), **{k: v for k, v in limits.items() if v is not None}})


def make_executor(spec: SweepSpec) -> Executor:
    name = spec.executor.strip()
    if name == "local":
        return LocalExecutor(spec.workers)
    if name == "slurm" or name.startswith("slurm:"):
        from foldwise.core.sweep.cluster import parse_target

        resources = with_limits(spec.grid.slurm, spec.limits)
        if spec.partition:
            resources.partition = spec.partition
        if spec.account:
            resources.account = spec.account
        host = parse_target(name[len("slurm:") :]).to_dict() if name.startswith("slurm:") else None
        return SlurmExecutor({"host": host}, resources, trust_fingerprint=spec.trust_fingerprint)
    raise InputError(f"unknown executor {spec.executor!r}: use local, slurm or slurm:USER@LOGIN-HOST")


def executor_for(record: SweepRecord) -> Executor:
    if record.executor.get("kind") == "slurm":
        return SlurmExecutor.from_record(record)
    return LocalExecutor(record.executor.get("workers"))


def sweep(project: Project, spec: SweepSpec, ctx: JobContext | None = None) -> SweepRecord:
    """Start (and, locally or with ``spec.wait``, finish) a sweep of ``spec.iteration``; its record."""
    ctx = ctx or null_context()
    base = project.get(spec.iteration) if spec.iteration else project.current
    if base is None:
        raise InputError(f"project {project.name} has no iterations yet: train, import and quantize a network")
    points = spec.grid.points
    check_points(project, base, points)
    executor = make_executor(spec)
    try:
        executor.preflight(len(points))
        iterations = point_iterations(project, base, points, ctx.sub(0.0, 0.2))
        record = new_record(project, base.id, {}, spec.grid.to_dict(), points)
        info = executor.to_dict()
        if isinstance(executor, SlurmExecutor):
            info["shared"] = executor.shared = shared_folder(project, record.id, executor.cluster, spec.shared)
        record.executor = info
        for state in record.points:
            state.iteration = iterations[state.index]
        record.save()
        _run(project, record, executor, [p.index for p in record.points], spec.wait, ctx.sub(0.2, 1.0))
    finally:
        if isinstance(executor, SlurmExecutor):
            executor.close()
    return record


def _run(
    project: Project, record: SweepRecord, executor: Executor, indices: list[int], wait: bool, ctx: JobContext
) -> None:
    if isinstance(executor, LocalExecutor):
        executor.run(project, record, indices, ctx)
        return
    executor.run(project, record, indices, ctx.sub(0.0, 0.1))
    if wait:
        follow(project, record, executor, ctx.sub(0.1, 1.0))


def follow(
    project: Project,
    record: SweepRecord,
    executor: Executor,
    ctx: JobContext | None = None,
    timeout: float | None = None,
) -> SweepRecord:
    """Poll until no point is open (progress: the points' mean); Cancelled leaves the sweep running."""
    ctx = ctx or null_context()
    deadline = None if timeout is None else time.monotonic() + timeout
    while True:
        executor.poll(project, record)
        open_points = [p for p in record.points if p.status in OPEN]
        c = record.counts()
        ctx.progress(
            sum(1.0 if p.status not in OPEN else p.progress for p in record.points) / len(record.points),
            f"{c['done']} done, {c['running']} running, {c['queued']} queued, {c['failed']} failed",
        )
        if not open_points:
            return record
        if ctx.cancelled:
            raise Cancelled("stopped following the sweep; it goes on (--status, --cancel)")
        if deadline is not None and time.monotonic() > deadline:
            return record
        time.sleep(POLL_S)


def sweep_status(project: Project, sweep_id: str | None = None) -> SweepRecord:
    """The sweep (default: newest) brought up to date: finished points fetched into the project."""
    record = open_sweep(project, sweep_id)
    executor = executor_for(record)
    try:
        executor.poll(project, record)
    finally:
        if isinstance(executor, SlurmExecutor):
            executor.close()
    return record


def cancel_sweep(project: Project, sweep_id: str | None = None, wait_s: float = 30.0) -> SweepRecord:
    """Cancel every open point (scancel, or the local sweep's cancel mark); waits up to ``wait_s`` for them.

    A read-only project (open in the Foldwise that runs or follows the sweep) is only asked to stop: that
    Foldwise records the points as cancelled."""
    record = open_sweep(project, sweep_id)
    executor = executor_for(record)
    try:
        executor.cancel(project, record)
        if isinstance(executor, SlurmExecutor):
            follow(project, record, executor, timeout=0.0 if project.read_only else wait_s)
    finally:
        if isinstance(executor, SlurmExecutor):
            executor.close()
    return record


def resume_sweep(
    project: Project,
    sweep_id: str | None = None,
    *,
    only_failed: bool = False,
    wait: bool = True,
    ctx: JobContext | None = None,
    limits: dict[str, Any] | None = None,
) -> SweepRecord:
    """Build again the points not done (``only_failed``: only the failed ones); done points are skipped.
    ``limits`` (``slurm:`` settings: ``mem``, ``time``, ``cpus``, ...) replace the sweep's for the new array job,
    e.g. more memory for points that were over their memory limit."""
    ctx = ctx or null_context()
    record = open_sweep(project, sweep_id)
    executor = executor_for(record)
    if limits and not isinstance(executor, SlurmExecutor):
        raise InputError(f"sweep {record.id} runs here (local): Slurm limits ({', '.join(limits)}) do not apply")
    try:
        executor.poll(project, record)
        busy = [p.point.label for p in record.points if p.status in ("queued", "running")]
        if busy:
            raise InputError(
                f"sweep {record.id} is still running ({len(busy)} points queued or running): wait for "
                "it, or --cancel it first"
            )
        wanted = ("failed",) if only_failed else ("failed", "cancelled", "pending")
        indices = [p.index for p in record.points if p.status in wanted]
        if not indices:
            raise InputError(
                f"sweep {record.id} has no {'failed' if only_failed else 'unfinished'} points to run "
                f"again ({_counts_text(record)})"
            )
        if isinstance(executor, SlurmExecutor):
            executor.resources = with_limits(executor.resources, limits)
            executor.preflight(len(indices))
            record.executor["resources"] = executor.resources.to_dict()
        (record.folder / CANCEL_MARK).unlink(missing_ok=True)  # an earlier --cancel of a local sweep
        _run(project, record, executor, indices, wait, ctx)
    finally:
        if isinstance(executor, SlurmExecutor):
            executor.close()
    return record


def _counts_text(record: SweepRecord) -> str:
    return ", ".join(f"{n} {s}" for s, n in record.counts().items() if n)


def summary(record: SweepRecord, project: Project) -> dict[str, Any]:
    """What ``foldwise sweep --json`` prints: the record plus each point's figures (FINN's estimates, the measured
    accuracy), whether it keeps up and fits, the Pareto front and the best point."""
    from foldwise.core.sweep.results import point_results

    data = record.to_dict()
    for point, result in zip(data["points"], point_results(project, record), strict=True):
        figures = result.to_dict()
        point.update(
            {
                k: figures[k]
                for k in ("fps", "lut", "lut_pct", "bram_pct", "accuracy", "keeps_up", "fits", "pareto", "best")
            }
        )
    best = next((p for p in data["points"] if p["best"]), None)
    data["best"] = best["point"]["index"] if best else None
    return data
