"""The local executor: a pool of FINN workers on this machine, sized to its cores and free memory.

Each pool thread owns one :class:`~foldwise.core.finn.worker.FinnWorker` (FINN imported once per worker) and
builds its share of the points through the Build stage's one call, :func:`foldwise.core.finn.stage.build`, into
a new build folder under the point's iteration, so every point is a build record like any other. The sweep runs
in the calling process; ``--cancel`` from another process leaves a mark the running sweep notices within a
second. A sweep whose process is gone is judged on ``poll``: its open points failed (interrupted), and
``resume`` builds them again.
"""

from __future__ import annotations

import os
import queue
import socket
import threading
import time
from typing import Any

from foldwise.core.errors import Cancelled
from foldwise.core.finn.build_config import BuildConfig
from foldwise.core.finn.stage import build, iteration_qonnx, new_build_dir
from foldwise.core.finn.worker import FinnWorker
from foldwise.core.jobs import JobContext, null_context, pid_alive
from foldwise.core.project import Project
from foldwise.core.sweep.prepare import build_config
from foldwise.core.sweep.record import CANCEL_MARK, OPEN, SweepRecord

#: memory one FINN worker may need per build kind (finn-plus assumes 10 GB per synthesis)
MEMORY_GB = {"estimate": 1.5, "hls": 3.0, "bitfile": 10.0}


def available_memory_gb() -> float:
    try:
        return os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE") / 2**30
    except (ValueError, OSError):
        return 4.0


def pool_size(kinds: list[str], points: int, limit: int | None = None) -> int:
    """Workers for ``points`` builds: no more than the cores, the free memory allows, or ``limit``."""
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)
    need = max((MEMORY_GB.get(k, 3.0) for k in kinds), default=1.5)
    by_memory = int(available_memory_gb() // need)
    return max(1, min(cores, by_memory, points, limit or points))


def sweep_build_meta(record: SweepRecord, index: int, **extra: Any) -> dict[str, Any]:
    """``foldwise_sweep.json`` in a point's build folder: which sweep and point it is."""
    state = record.point(index)
    return {
        "sweep": record.id,
        "point": index,
        "label": state.point.label,
        "executor": record.executor.get("kind"),
        "attempt": state.attempts,
        **extra,
    }


class LocalExecutor:
    """Builds points in a pool of FINN workers in this process."""

    kind = "local"

    def __init__(self, workers: int | None = None) -> None:
        self.workers = workers

    def to_dict(self) -> dict[str, Any]:
        return {"kind": self.kind, "workers": self.workers, "pid": os.getpid(), "host": socket.gethostname()}

    def preflight(self, record_points: int) -> None:
        """Nothing to check: this machine runs FINN in its worker."""

    def run(self, project: Project, record: SweepRecord, indices: list[int], ctx: JobContext | None = None) -> None:
        """Build ``indices`` now; returns when all are done, failed or cancelled."""
        from foldwise.core.atomic import atomic_write_json

        ctx = ctx or null_context()
        record.executor.update(pid=os.getpid(), host=socket.gethostname())
        kinds = [record.point(i).point.kind.value for i in indices]
        size = pool_size(kinds, len(indices), self.workers)
        todo: queue.Queue[int] = queue.Queue()
        for i in indices:
            record.update(i, status="queued", error=None, progress=0.0, message="queued", job=None, task=None)
            todo.put(i)
        stop = threading.Event()

        def one(worker: FinnWorker, index: int) -> None:
            state = record.point(index)
            iteration = project.get(state.iteration or record.iteration)
            started = time.monotonic()
            record.update(index, status="running", attempts=state.attempts + 1, message="starting")

            def progress(fraction: float, message: str) -> None:
                state.progress, state.message = fraction, message

            point_ctx = JobContext(progress, None, stop)
            folder = None
            try:
                model = iteration_qonnx(iteration)
                if state.config is None:
                    state.config = build_config(state.point, model, worker, point_ctx.sub(0.0, 0.3)).to_dict()
                config = BuildConfig.from_dict(state.config)
                folder = new_build_dir(iteration, config.kind, config.board, config.clock_mhz)
                atomic_write_json(folder / "foldwise_sweep.json", sweep_build_meta(record, index))
                build(iteration, config.with_(out_dir=folder), point_ctx.sub(0.3, 1.0), worker=worker)
                record.update(
                    index,
                    status="done",
                    progress=1.0,
                    message="done",
                    error=None,
                    build=str(folder.relative_to(project.path)),
                    seconds=time.monotonic() - started,
                )
            except Cancelled:
                record.update(
                    index,
                    status="cancelled",
                    message="cancelled",
                    error="cancelled",
                    build=str(folder.relative_to(project.path)) if folder and folder.is_dir() else None,
                )
            except Exception as exc:  # a FINN error, a dead worker: this point failed, the others go on
                record.update(
                    index,
                    status="failed",
                    message="failed",
                    error=f"{type(exc).__name__}: {exc}" if not str(exc) else str(exc),
                    seconds=time.monotonic() - started,
                    build=str(folder.relative_to(project.path)) if folder and folder.is_dir() else None,
                )

        def serve() -> None:
            with FinnWorker() as worker:
                while not stop.is_set():
                    try:
                        index = todo.get_nowait()
                    except queue.Empty:
                        return
                    one(worker, index)

        threads = [threading.Thread(target=serve, name=f"sweep-worker-{n}", daemon=True) for n in range(size)]
        for thread in threads:
            thread.start()
        saved = time.monotonic()
        try:
            while any(t.is_alive() for t in threads):
                if ctx.cancelled or record.cancel_requested:
                    stop.set()
                done = [record.point(i) for i in indices]
                ctx.progress(
                    sum(1.0 if p.status not in OPEN else p.progress for p in done) / len(done),
                    f"{sum(p.status == 'done' for p in done)}/{len(done)} points done on {size} workers",
                )
                if time.monotonic() - saved > 2.0:  # progress for --status from another process
                    record.save()
                    saved = time.monotonic()
                time.sleep(0.2)
        except BaseException:
            stop.set()
            for thread in threads:
                thread.join(timeout=15)
            raise
        finally:
            for i in indices:
                if record.point(i).status in OPEN:
                    record.update(i, status="cancelled", message="cancelled", error="cancelled")
            record.save()
        if ctx.cancelled:
            raise Cancelled()

    def poll(self, project: Project, record: SweepRecord) -> None:
        """Open points of a sweep whose process is gone failed (interrupted)."""
        pid = record.executor.get("pid")
        alive = pid and record.executor.get("host") == socket.gethostname() and pid_alive(int(pid))
        if alive or project.read_only:
            return
        for state in record.points:
            if state.status in ("queued", "running"):
                state.status, state.error = (
                    "failed",
                    (f"interrupted: the Foldwise process that ran it (pid {pid}) stopped; --resume builds it again"),
                )
        record.save()

    def cancel(self, project: Project, record: SweepRecord) -> None:
        (record.folder / CANCEL_MARK).touch()
        self.poll(project, record)
