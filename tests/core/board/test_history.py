"""A board's history over a project's iterations: the latest finished runs, one row per iteration, CSV."""

from __future__ import annotations

import csv
import io
from pathlib import Path

from foldwise.core.board.history import HISTORY_COLUMNS, board_history, history_csv, latest_runs, write_history_csv
from foldwise.core.board.runs import Figure, RunRecord, new_run_dir, save_run
from foldwise.core.examples import create_from_example
from foldwise.core.project import IterationKind, Project


def _save(iteration, run: RunRecord, created: str) -> RunRecord:
    run.created = created
    return save_run(new_run_dir(iteration, run.device, run.kind), run)


def test_latest_finished_runs_per_iteration_and_csv(tmp_path: Path) -> None:
    path = tmp_path / "p"
    with create_from_example(path, "defect-demo") as made:
        for name in ("a", "b", "c"):
            with made.new_iteration(IterationKind.TRAINED, name, change={"stage": "train"}):
                pass
    with Project.open(path) as project:
        a, b, _c = project.iterations
        fps = {"fps": Figure(10.0, "images/s", "measured"), "latency_ms": Figure(100.0, "ms", "measured")}
        _save(a, RunRecord("throughput", "z2", "pynq", fps, build="b1"), "2026-01-01T00:00:00Z")
        newer = {**fps, "fps": Figure(20.0, "images/s", "measured"), "fps_ratio": Figure(0.5, "×", "computed")}
        _save(a, RunRecord("throughput", "z2", "pynq", newer, build="b2"), "2026-01-02T00:00:00Z")
        _save(a, RunRecord("throughput", "z2", "unknown", status="failed", error="x"), "2026-01-03T00:00:00Z")
        _save(b, RunRecord("validate", "z2", "emulated-board", {"accuracy": Figure(0.75, "fraction", "emulated")},
                           build="b9"), "2026-01-04T00:00:00Z")
        _save(b, RunRecord("throughput", "other", "pynq", fps), "2026-01-05T00:00:00Z")  # another board
        latest = latest_runs(a, "z2")
        assert latest.throughput.build == "b2" and latest.validate is None
        rows = board_history(project, "z2")
    assert [(r.iteration, r.fps, r.fps_ratio, r.accuracy, r.source, r.build) for r in rows] == [
        (a.label, 20.0, 0.5, None, "measured", "b2"), (b.label, None, None, 0.75, "emulated", "b9")]
    parsed = list(csv.reader(io.StringIO(history_csv(rows))))
    assert tuple(parsed[0]) == HISTORY_COLUMNS and len(parsed) == 3
    assert parsed[2][HISTORY_COLUMNS.index("accuracy")] == "0.75" and parsed[2][HISTORY_COLUMNS.index("fps")] == ""
    out = write_history_csv(rows, tmp_path / "h.csv")
    assert out.read_text(encoding="utf-8") == history_csv(rows)
