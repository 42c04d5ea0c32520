"""The Build panel's Sweep tab: a local sweep, and a Slurm sweep on the real one-node test cluster, started from
a grid file; each point's row (its progress while it runs) and its spot on the accuracy-vs-FPS plot, the best
point starred, and "make this the current iteration"."""

from __future__ import annotations

from pathlib import Path

from foldwise.gui.main_window import MainWindow
from tests.gui.conftest import message_boxes, show_panel
from tests.slurm_cluster import SlurmCluster

LONG = 240_000  # ms: FINN's import in two workers and a re-quantization on a shared 2-core machine


def _sweep_tab(window: MainWindow, project: Path, grid: Path, executor: str, qtbot) -> tuple:
    """The Build panel's Sweep tab on ``project`` with ``grid`` chosen and ``executor`` picked, ready to start."""
    assert window.open_project(project)
    panel = show_panel(window, "Build")
    view, tab = panel.sweep_view, panel.sweep_tab
    panel.tabs.setCurrentWidget(view)
    assert not view.start_button.isEnabled()  # no grid yet
    assert view.summary.text().startswith("No sweep yet")
    tab.set_grid(grid)
    view.executor.setCurrentText(executor)
    assert view.executor.currentText() == executor
    qtbot.waitUntil(view.start_button.isEnabled, timeout=LONG)
    return panel, view, tab


def test_a_sweep_runs_from_the_sweep_tab(main_window: MainWindow, quantized_lenet: Path, tmp_path: Path, qtbot) -> None:
    grid = tmp_path / "sweep.yml"
    grid.write_text(
        "points:\n  - {clock_mhz: 100, folding: {target_fps: 3000}}\n"
        "  - {bits: w3a4, clock_mhz: 100, folding: {target_fps: 3000}}\n"
    )
    panel, view, tab = _sweep_tab(main_window, quantized_lenet, grid, "local", qtbot)
    view.start_button.click()
    qtbot.waitUntil(lambda: tab.record is not None and tab.record.status == "done" and not panel.busy, timeout=LONG)
    assert not message_boxes()
    assert view.table.rowCount() == 2
    assert [view.table.item(r, 1).text() for r in range(2)] == ["done", "done"]
    assert all(view.table.item(r, 3).text() for r in range(2))  # FPS (estimated)
    assert len(view.scatter.points()) == 2
    starred = [r for r in range(2) if view.table.item(r, 0).text().startswith("★ ")]
    assert len(starred) == 1 and "Best:" in view.summary.text()
    iterations = [p.iteration for p in tab.record.points]
    assert iterations[0] == "0002" and iterations[1] != "0002"
    view.select_point(1)
    assert view.current_button.isEnabled()
    view.current_button.click()
    assert main_window.project.current.id == iterations[1]
    assert not view.current_button.isEnabled()


def test_a_slurm_sweep_from_the_sweep_tab_shows_every_point_progressing(
    main_window: MainWindow, quantized_lenet: Path, tmp_path: Path, qtbot, slurm_cluster: SlurmCluster
) -> None:
    """The same tab against the real one-node cluster: three array tasks (two at a time on its 2 CPUs), each
    point's row seen queued or running with its progress before its result, the results, the best point and
    "make this the current iteration" for the point that built a re-quantized sibling."""
    grid = tmp_path / "sweep.yml"
    grid.write_text(
        "points:\n  - {clock_mhz: 100}\n  - {clock_mhz: 200, folding: {target_fps: 3000}}\n"
        "  - {bits: w3a4, clock_mhz: 100, folding: {target_fps: 3000}}\n"
        "slurm: {cpus: 1, mem: 2G, time: '00:10:00', points_per_task: 1}\n"
    )
    panel, view, tab = _sweep_tab(main_window, quantized_lenet, grid, "slurm", qtbot)
    view.start_button.click()
    seen: dict[int, list[tuple[str, str]]] = {}
    statuses: set[tuple[str, ...]] = set()

    def watch() -> bool:
        for row in range(view.table.rowCount()):
            cells = (view.table.item(row, 1).text(), view.table.item(row, 2).text())
            if not seen.get(row) or seen[row][-1] != cells:
                seen.setdefault(row, []).append(cells)
        statuses.add(tuple(view.table.item(row, 1).text() for row in range(view.table.rowCount())))
        return tab.record is not None and tab.record.status == "done" and not panel.busy

    qtbot.waitUntil(watch, timeout=LONG)
    assert not message_boxes()
    assert tab.record.executor["kind"] == "slurm" and len(tab.record.submissions[0]["tasks"]) == 3
    assert sorted(seen) == [0, 1, 2]
    for row, states in seen.items():
        running = [progress for status, progress in states if status == "running"]
        assert running, f"point {row} was never shown running: {states}"
        assert states[-1] == ("done", "100%"), states
    steps = [p for states in seen.values() for status, p in states if status == "running" and "% step_" in p]
    assert steps, seen  # a point's progress through FINN's steps, e.g. "18% step_streamline [3/11]"
    assert any(s.count("running") == 2 and "queued" in s for s in statuses), statuses  # 3 tasks, 2 CPUs
    assert "on this machine: done (3 done)" in view.summary.text()
    assert [view.table.item(r, 1).text() for r in range(3)] == ["done"] * 3
    rows = [[view.table.item(r, c).text() for c in range(view.table.columnCount())] for r in range(3)]
    assert all(row[3] and row[5].endswith("%") for row in rows), rows  # FPS (estimated), accuracy (measured)
    assert all(view.table.item(r, 7).text().startswith("iterations/") for r in range(3))  # its build record
    assert len(view.scatter.points()) == 3
    assert sum(view.table.item(r, 0).text().startswith("★ ") for r in range(3)) == 1
    iterations = [p.iteration for p in tab.record.points]
    assert iterations[:2] == ["0002", "0002"] and iterations[2] != "0002"
    view.select_point(0)
    assert not view.current_button.isEnabled()  # already the current iteration
    view.select_point(2)
    assert view.current_button.isEnabled()
    view.current_button.click()
    assert main_window.project.current.id == iterations[2]
    assert not view.current_button.isEnabled()
