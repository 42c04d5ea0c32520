"""A board's profile over a project: the latest runs of an iteration, and the history over every iteration.

Read-only over the run records of :mod:`.runs` (what the Board panel's profile view and its CSV export show).
Only finished runs count: a failed or cancelled run keeps its record for the log, not for the figures.
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from pathlib import Path

from foldwise.core.atomic import atomic_write_bytes
from foldwise.core.board.runs import RunRecord, list_runs
from foldwise.core.project import Iteration, Project

STAGES = (("pack_input", "pack"), ("copy_input_data_to_device", "copy in"), ("compute", "compute"),
          ("copy_output_data_from_device", "copy out"), ("unpack_output", "unpack"))
"""The FINN runtime's per-stage keys (``<key>[ms]`` per batch, ``<key>_ms`` per image) and their short names."""

HISTORY_COLUMNS = ("iteration", "when", "build", "fps", "latency_ms", "accuracy", "source", "fps_estimated",
                   "fps_ratio")


@dataclass
class LatestRuns:
    """The newest finished throughput and validation runs of one iteration on one device (None: none yet)."""

    throughput: RunRecord | None = None
    validate: RunRecord | None = None


def latest_runs(iteration: Iteration, device: str) -> LatestRuns:
    latest = LatestRuns()
    for run in list_runs(iteration, device):  # newest first
        if run.status != "done":
            continue
        if run.kind == "throughput" and latest.throughput is None:
            latest.throughput = run
        elif run.kind == "validate" and latest.validate is None:
            latest.validate = run
    return latest


@dataclass
class HistoryRow:
    """One iteration's latest figures on a device; ``source`` is how they were obtained (emulated / measured)."""

    iteration: str
    when: str
    build: str
    fps: float | None
    latency_ms: float | None
    accuracy: float | None
    source: str
    fps_estimated: float | None = None
    fps_ratio: float | None = None

    def values(self) -> list[object]:
        return [getattr(self, name) for name in HISTORY_COLUMNS]


def _value(run: RunRecord | None, name: str) -> float | None:
    figure = run.figures.get(name) if run is not None else None
    return figure.value if figure is not None else None


def _source(*runs: RunRecord | None) -> str:
    for run in runs:
        for name in ("fps", "accuracy"):
            if run is not None and name in run.figures:
                return run.figures[name].source
    return ""


def board_history(project: Project, device: str) -> list[HistoryRow]:
    """One row per iteration (in project order) that has a finished run on ``device``."""
    rows = []
    for iteration in project.visible_iterations:
        latest = latest_runs(iteration, device)
        runs = [r for r in (latest.throughput, latest.validate) if r is not None]
        if not runs:
            continue
        rows.append(HistoryRow(
            iteration=iteration.label, when=max(r.created for r in runs),
            build=", ".join(dict.fromkeys(r.build for r in runs if r.build)),
            fps=_value(latest.throughput, "fps"), latency_ms=_value(latest.throughput, "latency_ms"),
            accuracy=_value(latest.validate, "accuracy"), source=_source(latest.throughput, latest.validate),
            fps_estimated=_value(latest.throughput, "fps_estimated"),
            fps_ratio=_value(latest.throughput, "fps_ratio")))
    return rows


def history_csv(rows: list[HistoryRow]) -> str:
    """The history as CSV text: a header of :data:`HISTORY_COLUMNS`, numbers unrounded, empty when absent."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(HISTORY_COLUMNS)
    for row in rows:
        writer.writerow(["" if v is None else v for v in row.values()])
    return out.getvalue()


def write_history_csv(rows: list[HistoryRow], path: Path) -> Path:
    atomic_write_bytes(path, history_csv(rows).encode("utf-8"))
    return Path(path)
