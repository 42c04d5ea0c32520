"""The Profile view from saved run records alone (no board): figures with sources, stages, batches, history, CSV."""

from __future__ import annotations

import csv
from collections.abc import Iterator
from pathlib import Path

import pytest

from foldwise.core.board.history import HISTORY_COLUMNS
from foldwise.core.board.runs import Figure, RunRecord, new_run_dir, save_run
from foldwise.core.examples import create_from_example
from foldwise.core.project import IterationKind, Project
from foldwise.gui.board.profile_view import ProfileView, table_rows

STAGE_MS = {"pack_input": 0.5, "copy_input_data_to_device": 0.2, "compute": 2.0,
            "copy_output_data_from_device": 0.1, "unpack_output": 0.05}


def throughput(fps: float, estimated: float, source: str = "emulated", build: str = "b1") -> RunRecord:
    figures = {"fps": Figure(fps, "images/s", source), "latency_ms": Figure(1000.0 / fps, "ms", source),
               "fps_estimated": Figure(estimated, "images/s", "estimated"),
               "latency_ms_estimated": Figure(1000.0 / estimated, "ms", "estimated"),
               "fps_ratio": Figure(fps / estimated, "×", "computed")}
    figures.update({f"{k}_ms": Figure(v, "ms", source) for k, v in STAGE_MS.items()})
    rows = [{"batch_size": b, "runtime[ms]": b * 1000.0 / fps, "throughput[images/s]": fps,
             **{f"{k}[ms]": v * b for k, v in STAGE_MS.items()}} for b in (1, 10)]
    return RunRecord("throughput", "emu", "emulated-board", figures, rows, build,
                     info={"accelerator": "dataflow-model"})


def validation(accuracy: float, source: str = "emulated") -> RunRecord:
    return RunRecord("validate", "emu", "emulated-board",
                     {"accuracy": Figure(accuracy, "fraction", source),
                      "host_accuracy": Figure(accuracy, "fraction", "measured"),
                      "agreement": Figure(1.0, "fraction", "computed")}, [], "b1", info={"images": 24})


def record(project: Project, iteration_id: str, run: RunRecord, created: str) -> None:
    run.created = created
    save_run(new_run_dir(project.get(iteration_id), run.device, run.kind), run)


@pytest.fixture
def project(tmp_path: Path) -> Iterator[Project]:
    path = tmp_path / "story"
    with create_from_example(path, "defect-demo") as made:
        with made.new_iteration(IterationKind.TRAINED, "float", change={"stage": "train"}):
            pass
        with made.new_iteration(IterationKind.PRUNED, "smaller", parent="0001", change={"stage": "prune"}):
            pass
    with Project.open(path) as opened:
        record(opened, "0001", throughput(100.0, 400.0), "2026-12-01T10:00:00Z")
        record(opened, "0001", validation(0.9), "2026-12-01T10:01:00Z")
        record(opened, "0002", throughput(50.0, 100.0, build="old"), "2026-12-01T11:00:00Z")
        record(opened, "0002", throughput(200.0, 250.0), "2026-12-01T12:00:00Z")  # the latest
        failed = RunRecord("throughput", "emu", "unknown", status="failed", error="killed")
        record(opened, "0002", failed, "2026-12-01T13:00:00Z")  # newer, but failed: not shown
        yield opened


def test_profile_shows_the_latest_run_with_sources_ratio_stages_and_batches(qtbot, project: Project) -> None:
    view = ProfileView()
    qtbot.addWidget(view)
    view.show_for(project, "emu")  # the current iteration is 0002
    rows = {r[0]: r for r in view.figure_rows()}
    assert rows["Throughput"][1:] == ["200.0 images/s (emulated)", "250.0 images/s (estimated)", "0.8× (computed)"]
    assert rows["Latency"][1] == "5 ms (emulated)" and rows["Latency"][2] == "4 ms (estimated)"
    assert rows["Latency"][3] == "1.25× (computed)"  # board / estimate, computed from the two figures
    assert "0002" in view.heading.text() and "b1" in view.heading.text()
    assert [name for name, _ in view.chart.stages] == ["pack", "copy in", "compute", "copy out", "unpack"]
    assert view.chart.stages[2][1] == 2.0 and view.chart.source == "emulated"
    assert "compute" in view.chart.caption.text()
    batches = table_rows(view.batches)
    assert [r[0] for r in batches] == ["1", "10"] and batches[1][1] == "50"
    assert "No validation run yet" in view.validation.text()  # 0002 has none
    history = table_rows(view.history_table)
    assert [r[0] for r in history] == ["0001 float", "0002 smaller"]
    assert history[0][3] == "100.0" and history[0][5] == "90.00%" and history[0][6] == "emulated"
    assert history[1][3] == "200.0" and history[1][5] == "" and history[1][8] == "0.8×"

    project.set_current("0001")
    view.refresh()
    assert "accuracy 90.00% (emulated), host 90.00% (measured), agreement 100.00% (computed)" in \
        view.validation.text()
    assert view.validation.text().startswith("Validation on test, 24 images:")  # what it was measured on
    assert view.figure_rows()[0][3] == "0.25× (computed)"


def test_profile_of_a_board_without_runs_says_so(qtbot, project: Project) -> None:
    view = ProfileView()
    qtbot.addWidget(view)
    view.show_for(project, "other")
    assert "has not run on other yet" in view.heading.text()
    assert view.figure_rows() == [] and table_rows(view.history_table) == []
    assert not view.export_button.isEnabled()
    view.show_for(None, None)
    assert "Select a board" in view.heading.text()


def test_export_csv_writes_the_history_unrounded(qtbot, project: Project, tmp_path: Path) -> None:
    view = ProfileView()
    qtbot.addWidget(view)
    view.show_for(project, "emu")
    written = view.export_csv(tmp_path / "history.csv")
    with open(written, newline="", encoding="utf-8") as handle:
        rows = list(csv.reader(handle))
    assert tuple(rows[0]) == HISTORY_COLUMNS
    first, second = (dict(zip(rows[0], r, strict=True)) for r in rows[1:])
    assert len(rows) == 3
    assert first["iteration"] == "0001 float" and float(first["fps"]) == 100.0
    assert float(first["accuracy"]) == 0.9 and first["source"] == "emulated"
    assert first["when"] == "2026-12-01T10:01:00Z" and first["build"] == "b1"
    assert float(second["fps_ratio"]) == 0.8 and float(second["latency_ms"]) == 5.0 and second["accuracy"] == ""
