"""A sweep's results: per point its FPS and resources (FINN's, from the point's build record), the accuracy of
the iteration it built (measured on the test split by the Quantize stage), whether it keeps up with the
project's target frame rate and fits the board within a LUT/BRAM budget; the Pareto front (accuracy and FPS up,
LUT down) and the best point: the most accurate one that keeps up and fits (then fewer LUTs, then more FPS).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from foldwise.core.errors import FoldwiseError
from foldwise.core.finn.reports import read_build_reports
from foldwise.core.finn.target import project_target_fps
from foldwise.core.project import Project
from foldwise.core.sweep.record import SweepRecord

BUDGET = 0.85  # of the board's LUTs and BRAM, as auto-fit's default


@dataclass
class PointResult:
    """One point's figures; each None when its build has none (not done, or unreadable)."""

    index: int
    label: str
    status: str
    iteration: str | None
    fps: float | None = None
    lut: float | None = None
    lut_pct: float | None = None
    bram_pct: float | None = None
    accuracy: float | None = None
    keeps_up: bool | None = None
    fits: bool | None = None
    pareto: bool = False
    best: bool = False

    def to_dict(self) -> dict[str, Any]:
        return {
            "index": self.index,
            "label": self.label,
            "status": self.status,
            "iteration": self.iteration,
            "fps": _fig(self.fps, "estimated"),
            "lut": _fig(self.lut, "estimated"),
            "lut_pct": _fig(self.lut_pct, "estimated"),
            "bram_pct": _fig(self.bram_pct, "estimated"),
            "accuracy": _fig(self.accuracy, "measured"),
            "keeps_up": self.keeps_up,
            "fits": self.fits,
            "pareto": self.pareto,
            "best": self.best,
        }


def _fig(value: float | None, source: str) -> dict[str, Any] | None:
    return None if value is None else {"value": value, "source": source}


def point_results(project: Project, record: SweepRecord, budget: float = BUDGET) -> list[PointResult]:
    """Every point's figures, with the Pareto front and the best point marked."""
    target = project_target_fps(project)
    out = []
    for state in record.points:
        result = PointResult(state.index, state.point.label, state.status, state.iteration)
        if state.status == "done" and state.build:
            try:
                report = read_build_reports(project.path / state.build)
            except (FoldwiseError, OSError, ValueError):
                report = None
            if report is not None and report.fps is not None:
                result.fps = float(report.fps.value)
                lut = report.resources.get("LUT")
                result.lut = float(lut.value) if lut is not None else None
                result.lut_pct = report.utilization_pct.get("LUT")
                result.bram_pct = report.utilization_pct.get("BRAM_18K")
                result.keeps_up = None if target is None else result.fps >= target
                pcts = [p for p in (result.lut_pct, result.bram_pct) if p is not None]
                result.fits = all(p <= budget * 100 for p in pcts) if pcts else None
        if state.iteration:
            try:
                metric = project.get(state.iteration).metrics.get("accuracy")
            except FoldwiseError:
                metric = None
            if isinstance(metric, dict) and isinstance(metric.get("value"), int | float):
                result.accuracy = float(metric["value"])
        out.append(result)
    _mark(out)
    return out


def _mark(results: list[PointResult]) -> None:
    ready = [r for r in results if r.fps is not None and r.accuracy is not None and r.lut is not None]
    for r in ready:
        r.pareto = not any(
            o is not r
            and o.accuracy >= r.accuracy
            and o.fps >= r.fps
            and o.lut <= r.lut  # type: ignore[operator]
            and (o.accuracy, o.fps, -o.lut) != (r.accuracy, r.fps, -r.lut)  # type: ignore[operator]
            for o in ready
        )
    good = [r for r in ready if r.keeps_up is not False and r.fits is not False]
    if good:
        best = max(good, key=lambda r: (r.accuracy, -(r.lut or 0.0), r.fps))
        best.best = True
