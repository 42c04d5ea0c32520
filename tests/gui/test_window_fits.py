"""The window never resizes itself and every panel works at 1280×800 with a project loaded (issue #14, point 4)."""

from __future__ import annotations

import time
from pathlib import Path

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QScrollArea

from foldwise.core.examples import create_from_example
from foldwise.core.project import IterationKind
from foldwise.gui.app import make_settings
from foldwise.gui.main_window import MainWindow, compact_screen

SIZE = (1280, 800)


def test_every_panel_fits_1280_by_800_and_the_window_keeps_its_size(qtbot, tmp_path: Path) -> None:
    path = tmp_path / "story"
    with create_from_example(path, "defect-demo") as project:
        with project.new_iteration(IterationKind.TRAINED, "float", change={"stage": "train"}):
            pass
        with project.new_iteration(IterationKind.PRUNED, "no block 5", parent="0001", change={"stage": "prune"}):
            pass
    window = MainWindow(make_settings(), auto_prepare=False)
    qtbot.addWidget(window)
    window.resize(*SIZE)
    window.show()
    qtbot.waitExposed(window)
    try:
        assert window.open_project(path)
        for index, panel in enumerate(window.panels):
            window.show_stage(index)
            qtbot.wait(20)
            assert window.size().toTuple() == SIZE, panel.title
            page = window.stack.currentWidget()
            assert isinstance(page, QScrollArea) and page.widget() is panel
            hint = panel.minimumSizeHint()
            viewport = page.maximumViewportSize()
            # Larger panels scroll inside their page; nothing is cut off and the window does not grow. (How wide
            # a panel is depends on the fonts: under Xvfb's, Build and Quantize are wider than 1280 px allow.)
            if hint.width() > viewport.width():
                assert page.horizontalScrollBar().maximum() > 0, (panel.title, hint.width(), viewport.width())
            if hint.height() > viewport.height():
                assert page.verticalScrollBar().maximum() > 0, panel.title
            job = panel.run_job(f"{panel.title} work", lambda ctx: (ctx.progress(0.5, "half way"), time.sleep(0.6)))
            # (not a speed check: run alone, the Quantize panel first loads torch and Brevitas, 5-15 s)
            qtbot.waitUntil(lambda j=job, p=panel: j.is_finished and not p.busy, timeout=60_000)
            qtbot.wait(20)
            assert window.size().toTuple() == SIZE, f"{panel.title}: after a job"
    finally:
        window.jobs.cancel_all()
        for job in window.jobs.registry.jobs:  # closing with a job running would ask a modal question
            job.wait(120)
        qtbot.waitUntil(lambda: not window.jobs.running, timeout=150_000)
        window.close()


def test_on_a_small_screen_the_lineage_sits_beside_the_jobs(qtbot) -> None:
    """At 1280 px the Iterations dock on the right left ~810 px to the panels: Build's cards and Quantize's
    settings were cut off in the screenshots. Below 1440 px it shares the bottom with the jobs, still in view."""
    assert compact_screen()  # the test screen (offscreen: 800×600; Xvfb: 1280×800) is a small one
    window = MainWindow(make_settings(), auto_prepare=False)
    qtbot.addWidget(window)
    window.resize(*SIZE)
    window.show()
    qtbot.waitExposed(window)
    dock = window.iterations_dock
    assert window.dockWidgetArea(dock) == Qt.DockWidgetArea.BottomDockWidgetArea
    assert window.tabifiedDockWidgets(dock) == [] and dock.isVisible()  # beside Jobs/Log, not a hidden tab
    assert window.tabifiedDockWidgets(window.jobs_dock) == [window.log_dock]
    assert dock.geometry().left() > window.jobs_dock.geometry().right()
    assert window.stack.width() > SIZE[0] - 200  # the panels get the width, less the navigator
