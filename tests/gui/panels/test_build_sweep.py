"""The Build panel's Sweep tab: a local sweep started from a grid file, each point's row and its spot on the
accuracy-vs-FPS plot, the best point starred, and "make this the current iteration"."""

from __future__ import annotations

from pathlib import Path

from foldwise.gui.main_window import MainWindow
from tests.gui.conftest import message_boxes, show_panel

LONG = 240_000  # ms: FINN's import in two workers and a re-quantization on a shared 2-core machine


def test_a_sweep_runs_from_the_sweep_tab(main_window: MainWindow, quantized_lenet: Path, tmp_path: Path, qtbot) -> None:
    grid = tmp_path / "sweep.yml"
    grid.write_text(
        "points:\n  - {clock_mhz: 100, folding: {target_fps: 3000}}\n"
        "  - {bits: w3a4, clock_mhz: 100, folding: {target_fps: 3000}}\n"
    )
    assert main_window.open_project(quantized_lenet)
    panel = show_panel(main_window, "Build")
    view, tab = panel.sweep_view, panel.sweep_tab
    panel.tabs.setCurrentWidget(view)
    assert not view.start_button.isEnabled()  # no grid yet
    assert view.summary.text().startswith("No sweep yet")
    tab.set_grid(grid)
    view.executor.setCurrentText("local")
    qtbot.waitUntil(view.start_button.isEnabled, timeout=LONG)
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
