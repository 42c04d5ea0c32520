"""The Compare panel on the W4A4 lenet with a measured board run: the table with source tags, the tree, a click
on the scatter selecting its iteration, the diff of two iterations, the story, and refreshing on new records."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from PySide6.QtCore import QPoint, QPointF, Qt

from foldwise.core.board.runs import Figure, RunRecord, new_run_dir, save_run
from foldwise.core.compare import COLUMN_KEYS
from foldwise.core.project import IterationKind, Project
from foldwise.gui import main_window as main_window_module
from foldwise.gui.compare.table import VERDICT_COLUMN
from foldwise.gui.main_window import MainWindow
from foldwise.gui.panels.compare_panel import ComparePanel
from tests.gui.ticks import tick_texts

BOARD_FPS = 1 + COLUMN_KEYS.index("board_fps")


@pytest.fixture(autouse=True)
def _network_and_compare_only(monkeypatch: pytest.MonkeyPatch) -> None:
    """The Build panel would start a FINN worker for the quantized current iteration: leave it out."""
    original = main_window_module.stage_panel_classes
    monkeypatch.setattr(main_window_module, "stage_panel_classes",
                        lambda: [cls for cls in original() if cls.title in ("Network", "Compare")])


def _throughput(project: Project, iteration: str, fps: float, source: str = "measured") -> None:
    it = project.get(iteration)
    save_run(new_run_dir(it, "z2", "throughput"),
             RunRecord("throughput", "z2", "pynq", {"fps": Figure(fps, "images/s", source)}))


@pytest.fixture
def panel(main_window: MainWindow, quantized_lenet: Path, qtbot) -> Iterator[ComparePanel]:
    with Project.open(quantized_lenet) as project:
        project.update_settings(target_fps=120)
        _throughput(project, "0002", 480.0)
    assert main_window.open_project(quantized_lenet)
    index = next(i for i, p in enumerate(main_window.panels) if p.title == "Compare")
    main_window.show_stage(index)
    compare = main_window.panels[index]
    assert isinstance(compare, ComparePanel) and compare.isVisible()
    yield compare
    main_window.jobs.cancel_all()
    qtbot.waitUntil(lambda: not main_window.jobs.running, timeout=30_000)


def test_the_table_and_tree_show_every_iteration_with_source_tags(panel: ComparePanel) -> None:
    table = panel.table
    assert table.rowCount() == 2
    assert [table.item(r, 0).text() for r in range(2)] == ["0001 trained-3ep", "0002 w4a4"]
    board = table.item(1, BOARD_FPS)
    assert board.text() == "480 meas" and "measured" in board.toolTip() and "z2" in board.toolTip()
    assert table.item(0, BOARD_FPS).text() == "–"
    quant_acc = table.item(1, 1 + COLUMN_KEYS.index("quant_accuracy"))
    assert quant_acc.text().endswith("% meas")
    assert re.search(r"test, [\d,]+ images", quant_acc.toolTip())  # the report protocol: the whole test split
    assert table.item(1, VERDICT_COLUMN).text() == "yes (measured)"
    assert "target 120 FPS" in table.item(1, VERDICT_COLUMN).toolTip()
    root = panel.tree.topLevelItem(0)
    assert panel.tree.topLevelItemCount() == 1 and root.childCount() == 1
    assert root.child(0).text(0) == "0002 w4a4" and root.child(0).text(2) == "quantized W4A4"
    when = root.child(0).toolTip(1)  # the When column fits the tree at 1280×800: no year, which the tooltip has
    assert len(when) == 16 and root.child(0).text(1) == when[5:] and panel.tree.columnWidth(1) > 0
    assert panel.selected_id == "0002" and panel.tree.currentItem() is root.child(0)
    panel.bars.metric.setCurrentIndex(panel.bars.metric.findData("board_fps"))
    assert panel.bars.heights() == [None, 480.0]


def test_clicking_a_scatter_point_selects_its_iteration(panel: ComparePanel, qtbot) -> None:
    panel.tree.setCurrentItem(panel.tree.topLevelItem(0))
    assert panel.selected_id == "0001" and panel.table.selectedItems()[0].row() == 0
    panel.tabs.setCurrentWidget(panel.scatter)
    qtbot.wait(50)
    assert [r.id for r in panel.scatter.plotted()] == ["0002"]  # the float iteration has no FPS
    spot = panel.scatter.points.scatter.points()[0]
    plot = panel.scatter.plot
    where = plot.mapFromScene(plot.getViewBox().mapViewToScene(spot.pos()))
    qtbot.mouseClick(plot.viewport(), Qt.MouseButton.LeftButton, pos=QPoint(where.x(), where.y()))
    qtbot.waitUntil(lambda: panel.selected_id == "0002", timeout=2000)
    assert panel.tree.currentItem().text(0) == "0002 w4a4"
    assert panel.table.selectedItems()[0].row() == 1
    assert "Pareto front: 0002" in panel.scatter.caption.text()
    accuracy_ticks = tick_texts(plot.getAxis("left"))
    assert accuracy_ticks and all(t.endswith(" %") for t in accuracy_ticks)  # as the table's cells read
    # a bar selects its iteration too (Params: both iterations have one)
    panel.tabs.setCurrentWidget(panel.bars)
    qtbot.wait(50)
    bars = panel.bars.plot
    assert panel.bars.metric.currentData() == "params"
    where = bars.mapFromScene(bars.getViewBox().mapViewToScene(QPointF(0, panel.bars.heights()[0] / 2)))
    qtbot.mouseClick(bars.viewport(), Qt.MouseButton.LeftButton, pos=QPoint(where.x(), where.y()))
    qtbot.waitUntil(lambda: panel.selected_id == "0001", timeout=2000)


def test_the_diff_of_two_iterations(panel: ComparePanel) -> None:
    view = panel.diff_view
    assert (view.a.currentData(), view.b.currentData()) == ("0001", "0002")  # the selection's parent → it
    text = view.text.toPlainText()
    assert "0001 trained-3ep → 0002 w4a4" in text and "features.conv1" in text and "W4A4" in text
    assert "not compared: 0001 trained-3ep and 0002 w4a4 without a finished build" in text
    view.a.setCurrentIndex(view.a.findData("0002"))
    view.b.setCurrentIndex(view.b.findData("0001"))
    assert view.result is not None and (view.result.a.id, view.result.b.id) == ("0002", "0001")
    assert view.result.bits[0]["b"] is None
    view.b.setCurrentIndex(view.b.findData("0002"))
    assert view.result is None and "the same iteration" in view.text.toPlainText()


def test_the_story_and_refreshing_on_new_runs_and_iterations(panel: ComparePanel, main_window: MainWindow,
                                                             qtbot) -> None:
    story = panel.story_view
    assert " MB → " in story.headline.text()
    assert "480 FPS (measured), target 120 FPS: keeps up (×4.0)" in story.fps_line.text()
    assert "quantized W4A4" in story.steps.toPlainText()
    # a board run finishing in a job (as the Board panel's do) refreshes the table when the job ends
    project = main_window.project
    job = panel.run_job("slow board", lambda ctx: _throughput(project, "0002", 60.0))
    qtbot.waitUntil(lambda: job.is_finished and panel.table.item(1, BOARD_FPS).text() == "60 meas", timeout=5000)
    assert panel.table.item(1, VERDICT_COLUMN).text() == "no (measured)"
    assert "too slow" in story.fps_line.text()
    # a new iteration shows up in the tree under its parent
    with project.new_iteration(IterationKind.FINE_TUNED, "more", parent="0001", change={"stage": "train"}):
        pass
    qtbot.waitUntil(lambda: panel.table.rowCount() == 3, timeout=2000)
    assert panel.tree.topLevelItem(0).childCount() == 2


def test_a_demo_run_shows_its_fps_and_verdict(panel: ComparePanel) -> None:
    column = 1 + COLUMN_KEYS.index("demo_fps")
    assert panel.table.item(1, column).text() == "–"
    it = panel.project.get("0002")
    verdict = "drops about 40 % of the 120 FPS target: fix the inference stage"
    save_run(new_run_dir(it, "host", "demo"),
             RunRecord("demo", "host", "host", {"processed_fps": Figure(72.0, "FPS", "measured")},
                       info={"backend": "host-quantized", "source": "synthetic conveyor", "verdict": verdict,
                             "keeps_up": False}))
    panel.refresh()
    item = panel.table.item(1, column)
    assert item.text() == "72 meas" and verdict in item.toolTip() and "host-quantized" in item.toolTip()
