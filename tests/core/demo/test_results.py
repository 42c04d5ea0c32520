"""A finished demo run is kept as a run record of its iteration, and Compare shows its FPS and verdict."""

from __future__ import annotations

from pathlib import Path

from foldwise.core.board.runs import list_runs
from foldwise.core.compare import compare_table
from foldwise.core.demo.pipeline import DemoSpec, run_demo
from foldwise.core.demo.results import newest_demo
from foldwise.core.project import Project


def test_a_demo_run_is_saved_and_compared(defect_project: Path) -> None:
    with Project.open(defect_project) as project:
        project.update_settings(target_fps=60)
        result = run_demo(project, DemoSpec(backend="host-quantized", frames=24))
        current = project.current
        rows = {row.id: row for row in compare_table(project)}
    runs = [r for r in list_runs(current) if r.kind == "demo"]
    assert len(runs) == 1 and runs[0].device == "host" and runs[0].device_kind == "host"
    assert str(runs[0].folder) == result.extra["run"]
    record = newest_demo(current)
    fps = result.stats["processed_fps"]["value"]
    assert record is not None and record.figures["processed_fps"].value == fps
    assert record.figures["processed_fps"].source == "measured" and record.figures["target_fps"].value == 60
    assert record.info["verdict"] == result.stats["verdict"] and record.info["backend"] == "host-quantized"
    assert {"latency_p50_ms", "latency_p95_ms", "latency_p99_ms", "frames_dropped"} <= set(record.figures)
    row = rows[current.id]
    assert row.cells["demo_fps"] is not None and row.cells["demo_fps"].value == fps
    assert row.cells["demo_fps"].source == "measured" and result.stats["verdict"] in row.cells["demo_fps"].note
    assert row.demo is not None and row.demo["keeps_up"] == result.stats["keeps_up"]
    assert rows["0001"].cells["demo_fps"] is None and rows["0001"].demo is None  # the float parent never ran


def test_a_run_not_asked_to_save_leaves_the_project_as_it_was(defect_project: Path) -> None:
    with Project.open(defect_project) as project:
        result = run_demo(project, DemoSpec(backend="host-float", frames=8, save=False))
        assert "run" not in result.extra and newest_demo(project.current) is None


def test_a_record_that_cannot_be_written_only_loses_the_record(defect_project: Path) -> None:
    with Project.open(defect_project) as project:
        (project.current.folder / "runs").write_text("")  # the tests run as root: a file where the folder goes
        result = run_demo(project, DemoSpec(backend="host-float", frames=8))
    assert result.reason == "8 frames processed" and "run" not in result.extra
    assert any("not saved in the project" in note for note in result.extra["notes"])
