"""A finished demo run kept in the project: a run record (kind ``demo``) under the iteration it ran, like a board
run or a baseline (:mod:`foldwise.core.board.runs`), so Compare can show its FPS and keeps-up verdict.

``iterations/<it>/runs/<device>/<stamp>-demo/run.json``; ``device`` is ``host`` for the host backends and the
board's name for ``board:NAME``. The figures keep the run's own source label (measured on the host or a real
board, emulated on the software board). Runs never change their iteration, so saving one needs no lock.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from foldwise.core.board.runs import Figure, RunRecord, list_runs, new_run_dir, save_run
from foldwise.core.project import Iteration

if TYPE_CHECKING:
    from foldwise.core.demo.pipeline import DemoResult

KIND = "demo"
HOST = "host"
#: figures copied from the run's stats into the record, under the same names
FIGURES = ("processed_fps", "source_fps", "target_fps", "frames_processed", "frames_dropped", "drop_rate",
           "capacity_fps", "agreement")


def demo_device(backend: str) -> str:
    """The run folder's device for a backend name: the board's name for ``board:NAME``, else ``host``."""
    return backend[len("board:"):] if backend.startswith("board:") else HOST


def demo_record(result: DemoResult, iteration: Iteration) -> RunRecord:
    """The run record of ``result`` (not yet saved): the headline figures, p50/p95/p99 latency and the verdict."""
    stats = result.stats
    backend = str(result.backend.get("name", ""))
    figures: dict[str, Figure] = {}
    for name in FIGURES:
        figures.update(_figure(name, stats.get(name)))
    for quantile, value in (stats.get("latency_ms") or {}).items():
        figures.update(_figure(f"latency_{quantile}_ms", value))
    kind = "emulated-board" if result.stats.get("processed_fps", {}).get("source") == "emulated" else (
        HOST if demo_device(backend) == HOST else "pynq")
    info = {"iteration": iteration.id, "backend": backend, "source": result.source.get("name"),
            "verdict": stats.get("verdict"), "keeps_up": bool(stats.get("keeps_up")), "reason": result.reason,
            "roi": list(result.roi), "window": result.backend.get("window"), "batch": result.backend.get("batch")}
    return RunRecord(KIND, demo_device(backend), kind, figures=figures, info=info)


def save_demo_run(iteration: Iteration, result: DemoResult) -> RunRecord:
    """Save ``result`` as a demo run record of ``iteration`` and return it (with its folder)."""
    record = demo_record(result, iteration)
    return save_run(new_run_dir(iteration, record.device, KIND), record)


def newest_demo(iteration: Iteration) -> RunRecord | None:
    """The iteration's newest demo run that processed frames, or None."""
    runs = list_runs(iteration) if iteration.missing is None else []
    return next((r for r in runs if r.kind == KIND and r.status == "done" and "processed_fps" in r.figures), None)


def _figure(name: str, data: Any) -> dict[str, Figure]:
    if not isinstance(data, dict) or isinstance(data.get("value"), bool):
        return {}
    value, source = data.get("value"), data.get("source")
    if not isinstance(value, (int, float)) or source not in ("computed", "measured", "emulated"):
        return {}
    return {name: Figure(float(value), str(data.get("unit") or ""), str(source))}
