"""A sweep's state, kept in the project: ``<project>/sweeps/<id>/sweep.json``, so it survives closing.

It holds the expanded grid, the executor it runs on (local, or Slurm here or on a login host), the array jobs
submitted, and per point: the iteration it builds, the build configuration, its status (``pending``,
``queued``, ``running``, ``done``, ``failed``, ``cancelled``), progress, the error, the attempts and the build
record it became (``iterations/<it>/builds/<folder>``, listed by the Build and Compare panels like any build).
Written atomically after every change; one writer at a time within a process.
"""

from __future__ import annotations

import json
import secrets
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from foldwise.core.atomic import atomic_write_json
from foldwise.core.errors import InputError
from foldwise.core.project import Project
from foldwise.core.sweep.grid import DesignPoint

SWEEPS_DIR = "sweeps"
RECORD = "sweep.json"
CANCEL_MARK = "cancel-requested"
STATUSES = ("pending", "queued", "running", "done", "failed", "cancelled")
OPEN = ("pending", "queued", "running")


@dataclass
class PointState:
    """One design point's progress through the sweep."""

    point: DesignPoint
    iteration: str | None = None
    config: dict[str, Any] | None = None
    status: str = "pending"
    progress: float = 0.0
    message: str = ""
    error: str | None = None
    build: str | None = None
    attempts: int = 0
    job: str | None = None
    task: int | None = None
    seconds: float | None = None

    @property
    def index(self) -> int:
        return self.point.index

    def to_dict(self) -> dict[str, Any]:
        return {
            "point": self.point.to_dict(),
            "label": self.point.label,
            "iteration": self.iteration,
            "config": self.config,
            "status": self.status,
            "progress": self.progress,
            "message": self.message,
            "error": self.error,
            "build": self.build,
            "attempts": self.attempts,
            "job": self.job,
            "task": self.task,
            "seconds": self.seconds,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> PointState:
        fields = {k: data.get(k) for k in ("iteration", "config", "error", "build", "job", "task", "seconds")}
        return cls(
            DesignPoint.from_dict(data["point"]),
            status=str(data.get("status") or "pending"),
            progress=float(data.get("progress") or 0.0),
            message=str(data.get("message") or ""),
            attempts=int(data.get("attempts") or 0),
            **fields,
        )


@dataclass
class SweepRecord:
    """The saved state of one sweep (see the module docstring)."""

    folder: Path
    id: str
    iteration: str
    executor: dict[str, Any]
    grid: dict[str, Any]
    points: list[PointState]
    created: str = ""
    submissions: list[dict[str, Any]] = field(default_factory=list)
    _lock: threading.RLock = field(default_factory=threading.RLock, repr=False, compare=False)

    @property
    def path(self) -> Path:
        return self.folder / RECORD

    @property
    def status(self) -> str:
        """``running`` while any point is open, else ``done`` (all done), ``cancelled`` or ``failed``."""
        states = {p.status for p in self.points}
        if states & set(OPEN):
            return "running" if states & {"queued", "running"} or self.submissions else "pending"
        if states == {"done"}:
            return "done"
        return "failed" if "failed" in states else "cancelled"

    def counts(self) -> dict[str, int]:
        return {s: sum(p.status == s for p in self.points) for s in STATUSES}

    def point(self, index: int) -> PointState:
        return self.points[index]

    def update(self, index: int, **changes: Any) -> None:
        with self._lock:
            for key, value in changes.items():
                setattr(self.points[index], key, value)
            self.save()

    def save(self) -> None:
        with self._lock:
            atomic_write_json(self.path, self.to_dict())

    @property
    def cancel_requested(self) -> bool:
        return (self.folder / CANCEL_MARK).exists()

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "iteration": self.iteration,
            "created": self.created,
            "executor": self.executor,
            "grid": self.grid,
            "submissions": self.submissions,
            "status": self.status,
            "counts": self.counts(),
            "points": [p.to_dict() for p in self.points],
        }

    @classmethod
    def read(cls, folder: Path) -> SweepRecord:
        try:
            data = json.loads((folder / RECORD).read_text(encoding="utf-8"))
            points = [PointState.from_dict(p) for p in data["points"]]
            return cls(
                folder,
                str(data["id"]),
                str(data["iteration"]),
                dict(data["executor"]),
                dict(data["grid"]),
                points,
                str(data.get("created") or ""),
                list(data.get("submissions") or []),
            )
        except (OSError, ValueError, KeyError, TypeError) as exc:
            raise InputError(
                f"the sweep record {folder / RECORD} is unreadable or damaged ({type(exc).__name__}: {exc})"
            ) from exc


def new_record(
    project: Project, iteration: str, executor: dict[str, Any], grid: dict[str, Any], points: list[DesignPoint]
) -> SweepRecord:
    """A fresh sweep folder under ``<project>/sweeps/`` (the id sorts by time) and its first record."""
    root = project.path / SWEEPS_DIR
    root.mkdir(exist_ok=True)
    while True:
        sweep_id = f"{time.strftime('%Y%m%d-%H%M%S')}-{secrets.token_hex(2)}"
        try:
            (root / sweep_id).mkdir()
            break
        except FileExistsError:
            continue
    record = SweepRecord(
        root / sweep_id,
        sweep_id,
        iteration,
        executor,
        grid,
        [PointState(p) for p in points],
        time.strftime("%Y-%m-%dT%H:%M:%S"),
    )
    record.save()
    return record


def list_sweeps(project: Project) -> list[str]:
    """The project's sweep ids, oldest first."""
    root = project.path / SWEEPS_DIR
    if not root.is_dir():
        return []
    return sorted(p.name for p in root.iterdir() if (p / RECORD).is_file())


def open_sweep(project: Project, sweep_id: str | None = None) -> SweepRecord:
    """The sweep ``sweep_id`` (default: the newest); InputError naming the known ones."""
    known = list_sweeps(project)
    if not known:
        raise InputError(f"project {project.name} has no sweeps yet: start one with --grid FILE")
    if sweep_id is None:
        sweep_id = known[-1]
    if sweep_id not in known:
        raise InputError(f"no sweep {sweep_id!r} in {project.name} (sweeps: {', '.join(known)})")
    return SweepRecord.read(project.path / SWEEPS_DIR / sweep_id)
