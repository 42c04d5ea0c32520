"""Board panel, Deploy and Profile tabs against PYNQ-shaped test sshds; emulated boards started from the panel."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from PySide6.QtWidgets import QApplication, QInputDialog, QMessageBox

from foldwise.core.board.emulate import running, stop_emulated_board
from foldwise.core.board.runs import list_runs
from foldwise.core.jobs import JobState
from foldwise.core.project import Project
from foldwise.gui.board.profile_view import table_rows
from foldwise.gui.panels.base import AppServices
from foldwise.gui.panels.board_panel import BoardPanel
from foldwise.gui.project_relay import ProjectRelay
from tests.gui.panels.test_board_panel import _visible, _wait
from tests.gui.panels.test_build_panel import services  # noqa: F401 - the panel services fixture
from tests.pynq_board import profile_for

LONG = 240_000


@pytest.fixture
def project(estimated_defect: Path) -> Iterator[Project]:
    with Project.open(estimated_defect) as opened:
        yield opened


@pytest.fixture
def panel(services: AppServices, project: Project) -> Iterator[BoardPanel]:  # noqa: F811
    panel = BoardPanel(services)
    services.window.setCentralWidget(panel)
    services.window.resize(1280, 800)
    services.window.show()
    relay = ProjectRelay(project)
    panel.set_project(project, relay)
    yield panel
    services.jobs.cancel_all()
    for job in services.jobs.registry.jobs:
        job.wait(60)
    relay.detach()


def _error_box() -> QMessageBox | None:
    return next((w for w in QApplication.topLevelWidgets()
                 if isinstance(w, QMessageBox) and w.objectName() == "errorBox" and w.isVisible()), None)


def test_deploy_to_an_emulated_board_fills_the_profile_with_emulated_figures_and_a_ratio(
        qtbot, panel: BoardPanel, project: Project, pynq_board) -> None:
    panel.add_board(profile_for(pynq_board(emulated=True), "emu"))
    form = panel.deploy_form
    assert form.has_build and form.build.currentIndex() == 0  # choose_build's default: the newest usable build
    form.batches.setText("1,3")
    form.validate.setChecked(True)
    form.images.setValue(24)
    panel.tabs.setCurrentWidget(form)
    assert panel.deploy() is None  # a password board: asked for, then started
    dialog = _visible(QInputDialog, "boardPasswordDialog", panel)
    dialog.setTextValue("xilinx")
    dialog.accept()
    qtbot.waitUntil(lambda: panel.last_deploy is not None and not panel.busy, timeout=LONG)
    assert panel.last_deploy.emulated and "[emulated]" in panel.board_list.currentItem().text()
    assert panel.tabs.currentWidget() is panel.profile and "See the Profile tab" in form.note.text()
    assert form.log.lines, "the runner's log is streamed into the Deploy tab"
    assert form.log.text.isReadOnly()
    rows = {r[0]: r for r in panel.profile.figure_rows()}
    assert rows["Throughput"][1].endswith("images/s (emulated)")
    assert rows["Throughput"][2].endswith("images/s (estimated)")
    assert rows["Throughput"][3].endswith("× (computed)") and rows["Latency"][1].endswith("ms (emulated)")
    ratio = panel.last_deploy.runs[0].figures["fps_ratio"].value
    assert rows["Throughput"][3] == f"{ratio:.3g}× (computed)"
    assert [r[0] for r in table_rows(panel.profile.batches)] == ["1", "3"]
    assert "(emulated)" in panel.profile.validation.text() and "agreement 100.00% (computed)" in \
        panel.profile.validation.text()
    assert panel.profile.chart.source == "emulated" and len(panel.profile.chart.stages) == 5
    assert panel.profile.history_table.rowCount() == 1

    parent = project.current.parent
    project.set_current(parent)  # the relay tells the panel: that iteration has no builds and no runs
    assert "has not run on emu yet" in panel.profile.heading.text()
    assert panel.profile.figure_rows() == [] and panel.profile.history_table.rowCount() == 1
    assert not form.has_build and not form.run_button.isEnabled()
    assert "no build to deploy" in form.build_note.text() and not form.build_note.isHidden()


def test_a_real_board_refuses_a_build_without_bitfile_with_an_explanation(qtbot, panel: BoardPanel,
                                                                          pynq_board) -> None:
    server = pynq_board()
    panel.add_board(profile_for(server, "z2"))
    panel.password.setText("xilinx")
    job = panel.deploy()
    _wait(qtbot, panel, job)
    assert job.state == JobState.FAILED and job.error.code == "no-bitfile"
    explanation = panel.deploy_form.explanation
    assert explanation.isVisible() and "No bitfile for a real board" in explanation.text()
    assert "only an emulated board" in explanation.text() and "Start emulated" in explanation.text()
    qtbot.waitUntil(lambda: _error_box() is not None, timeout=10_000)
    box = _error_box()
    assert box.windowTitle() == "No bitfile for a real board" and "What to do:" in box.text()
    assert not server.path("/home/xilinx/foldwise").exists()
    assert panel.deploy_form.run_button.isEnabled()


def test_cancel_during_a_run_kills_it_and_leaves_the_panel_usable(qtbot, panel: BoardPanel, project: Project,
                                                                   pynq_board) -> None:
    panel.add_board(profile_for(pynq_board(emulated=True), "emu"))
    panel.password.setText("xilinx")
    panel.deploy_form.batches.setText("400")
    job = panel.deploy()
    runs = project.current.folder / "runs" / "emu"
    qtbot.waitUntil(lambda: runs.is_dir() and any(runs.iterdir()), timeout=LONG)
    time.sleep(1.0)  # the runner is running on the board
    assert panel.cancel_button.isVisible()
    panel.cancel_button.click()
    _wait(qtbot, panel, job)
    assert job.state == JobState.CANCELLED
    assert [r.status for r in list_runs(project.current, "emu")] == ["cancelled"]
    assert _error_box() is None and not panel.deploy_form.explanation.isVisible()
    assert panel.deploy_form.run_button.isEnabled() and not panel.cancel_button.isVisible()
    panel.deploy_form.batches.setText("1")
    again = panel.deploy()
    _wait(qtbot, panel, again)
    assert again.state == JobState.DONE, again.error_message
    assert panel.profile.figure_rows()[0][1].endswith("(emulated)")


def test_start_and_stop_an_emulated_board_from_the_panel(qtbot, panel: BoardPanel, pynq_board) -> None:
    panel.add_board(profile_for(pynq_board(), "z2"))
    assert panel.start_emulated("z2") is None  # a real board's name: refused, its profile kept
    assert _error_box() is not None and "saved board already" in _error_box().text()
    _error_box().close()
    try:
        panel.emulate_button.click()
        dialog = _visible(QInputDialog, "emulatedNameDialog", panel)
        dialog.setTextValue("bench")
        dialog.accept()
        qtbot.waitUntil(lambda: panel.board is not None and not panel.busy, timeout=60_000)
        assert running("bench") is not None
        assert panel.board.name == "bench" and "[emulated, running]" in panel.board_list.currentItem().text()
        texts = [panel.board_list.item(i).text() for i in range(panel.board_list.count())]
        assert sorted(t.split()[0] for t in texts if "[emulated" not in t) == ["z2"]  # a real board, not marked
        assert panel.stop_button.isEnabled()
        job = panel.stop_emulated()
        _wait(qtbot, panel, job)
        assert running("bench") is None and "[emulated, stopped]" in panel.board_list.currentItem().text()
        assert not panel.stop_button.isEnabled()
    finally:
        stop_emulated_board("bench")
