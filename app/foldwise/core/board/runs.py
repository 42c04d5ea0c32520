"""Run records: what a board run or a baseline measured, kept as a child record of the iteration it ran.

``iterations/<it>/runs/<device>/<stamp>-<kind>/run.json`` (plus the run's log and raw outputs beside it). Like
builds, runs never change their iteration. Every figure is a :class:`Figure` holding its value, unit and
source label (``emulated`` from the software board, ``measured`` on a real board or the host, ``entered`` by
the user, ``estimated`` when copied from FINN's report for comparison).
"""

from __future__ import annotations

import json
import re
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from foldwise.core.atomic import atomic_write_json, unique_dir
from foldwise.core.errors import InputError
from foldwise.core.project import Iteration

RUNS_DIR = "runs"
RUN_RECORD = "run.json"
SOURCES = ("computed", "estimated", "simulated", "synthesized", "emulated", "measured", "entered")
_DEVICE_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$")
_KIND_RE = re.compile(r"^[a-z][a-z0-9-]{0,39}$")


@dataclass(frozen=True)
class Figure:
    """One number and where it came from (``source`` is one of :data:`SOURCES`)."""

    value: float
    unit: str
    source: str

    def __post_init__(self) -> None:
        if self.source not in SOURCES:
            raise ValueError(f"unknown figure source {self.source!r}")

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Figure:
        return cls(float(data["value"]), str(data.get("unit", "")), str(data["source"]))


@dataclass
class RunRecord:
    """A finished (or failed) run: ``kind`` e.g. ``throughput``, ``validate``, ``baseline``; ``figures`` by name.

    ``build`` names the build folder the deployed package came from (None for baselines of the exported model);
    ``rows`` holds per-batch or per-stage tables; ``status`` is ``done`` or ``failed`` with ``error``.
    """

    kind: str
    device: str
    device_kind: str  # "emulated-board" | "pynq" | "linux" | "host"
    figures: dict[str, Figure] = field(default_factory=dict)
    rows: list[dict[str, Any]] = field(default_factory=list)
    build: str | None = None
    info: dict[str, Any] = field(default_factory=dict)
    status: str = "done"
    error: str | None = None
    created: str = field(default_factory=lambda: time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()))
    folder: Path | None = None

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["figures"] = {name: asdict(fig) for name, fig in self.figures.items()}
        data["folder"] = str(self.folder) if self.folder else None
        return data

    @classmethod
    def from_dict(cls, data: dict[str, Any], folder: Path | None = None) -> RunRecord:
        try:
            figures = {str(k): Figure.from_dict(v) for k, v in (data.get("figures") or {}).items()}
            return cls(kind=str(data["kind"]), device=str(data["device"]), device_kind=str(data["device_kind"]),
                       figures=figures, rows=list(data.get("rows") or []), build=data.get("build"),
                       info=dict(data.get("info") or {}), status=str(data.get("status", "done")),
                       error=data.get("error"), created=str(data.get("created", "")), folder=folder)
        except (KeyError, TypeError, ValueError) as exc:
            raise InputError(f"run record {folder or ''} is damaged: {exc}") from exc


def check_device_name(device: str) -> str:
    if not _DEVICE_RE.match(device or ""):
        raise InputError(f"device name {device!r}: use letters, digits, '.', '_' or '-'")
    return device


def new_run_dir(iteration: Iteration, device: str, kind: str) -> Path:
    """A fresh run folder under ``runs/<device>/``; ``mkdir`` is atomic, so two runs never share one."""
    check_device_name(device)
    if not _KIND_RE.match(kind):
        raise InputError(f"run kind {kind!r}: lower-case letters, digits and '-'")
    stamp = time.strftime("%Y%m%d-%H%M%S", time.gmtime())
    return unique_dir(iteration.folder / RUNS_DIR / device, f"{stamp}-{kind}")


def save_run(folder: Path, record: RunRecord) -> RunRecord:
    record.folder = Path(folder)
    atomic_write_json(Path(folder) / RUN_RECORD, {k: v for k, v in record.to_dict().items() if k != "folder"})
    return record


def read_run(folder: Path) -> RunRecord:
    try:
        data = json.loads((Path(folder) / RUN_RECORD).read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise InputError(f"run record {folder} is unreadable: {exc}") from exc
    if not isinstance(data, dict):
        raise InputError(f"run record {folder} is damaged: not an object")
    return RunRecord.from_dict(data, Path(folder))


def list_runs(iteration: Iteration, device: str | None = None) -> list[RunRecord]:
    """The iteration's readable run records (of ``device`` if given), newest first; damaged ones are left out."""
    root = iteration.folder / RUNS_DIR
    if not root.is_dir():
        return []
    devices = [root / device] if device else sorted(p for p in root.iterdir() if p.is_dir())
    found = []
    for device_dir in devices:
        if not device_dir.is_dir():
            continue
        for folder in device_dir.iterdir():
            if (folder / RUN_RECORD).is_file():
                try:
                    found.append(read_run(folder))
                except InputError:
                    continue
    return sorted(found, key=lambda r: (r.created, r.folder.name if r.folder else ""), reverse=True)
