"""The Baselines tab of the Board panel: time the current iteration on the host and on a loopback board,
then the table (each figure labelled) and the bars of time and energy per device and runtime."""

from __future__ import annotations

import sys

import pytest

from foldwise.core.board.profiles import BoardProfile
from foldwise.core.jobs import JobState
from foldwise.core.project import Project
from foldwise.gui.panels.base import AppServices
from foldwise.gui.panels.board_panel import BoardPanel
from tests.gui.panels.test_build_panel import services  # noqa: F401 - the panel services fixture

LONG = 120_000


@pytest.fixture
def panel(services: AppServices) -> BoardPanel:  # noqa: F811
    panel = BoardPanel(services)
    services.window.setCentralWidget(panel)
    services.window.show()
    return panel


def _wait(qtbot, panel: BoardPanel, job) -> None:
    assert job is not None
    qtbot.waitUntil(lambda: job.is_finished and not panel.busy, timeout=LONG)
    assert job.state == JobState.DONE, job.error_message


def test_host_and_board_baselines_fill_the_table_and_the_bars(qtbot, panel: BoardPanel, quantized_lenet,
                                                              sshd_factory) -> None:
    view = panel.baselines
    assert panel.tabs.tabText(panel.tabs.indexOf(view)) == "Baselines"
    assert view.run_on_host() is None and "Open a project" in view.note.text()
    with Project.open(quantized_lenet, read_only=True) as project:
        panel.set_project(project)
        assert "no baselines yet" in view.note.text() and view.table.rowCount() == 0
        view.runs.lineEdit().selectAll()
        qtbot.keyClicks(view.runs.lineEdit(), "0")  # refused as typed, with the reason; nothing can start
        assert not view.runs.valid and not view.host_button.isEnabled()
        assert "Fix the field first" in view.host_button.toolTip() and view.run_on_host() is None
        view.runs.setValue(10)
        assert view.host_button.isEnabled()
        view.power.setValue(2.2)
        _wait(qtbot, panel, view.run_on_host())
        cells = view.cells()
        assert [(c[1], c[2].split()[0]) for c in cells] == [("host", "torch"), ("host", "onnxruntime")]
        assert all(c[3].endswith("ms (measured)") and c[5] == "2.2 W (entered)" and c[6].endswith("mJ (entered)")
                   for c in cells)
        assert view.time_chart.values == [row.time_ms.value for row in view.rows]
        assert view.energy_chart.values == pytest.approx([2.2 * row.time_ms.value for row in view.rows])

        assert view.run_on_board() is None and "Select (or add) a board" in view.note.text()
        server = sshd_factory(password=None)
        panel.add_board(BoardProfile.create("loop", server.host, user=server.user, port=server.port,
                                            key=server.client_key, known_hosts=server.known_hosts,
                                            python=sys.executable))
        view.power.setValue(0.0)  # "sensor or none": the loopback device has no sensor
        view.runtime.setCurrentText("numpy")
        _wait(qtbot, panel, view.run_on_board())
        assert view.last is not None and view.last.device == "loop"
        loop = [c for c in view.cells() if c[1] == "loop"]
        assert len(loop) == 1 and "(fallback)" in loop[0][2] and loop[0][5] == "none" and loop[0][6] == "none"
        assert view.energy_chart.values[-1] is None  # no energy without a power figure: a gap, not a zero
        assert "No power for loop" in view.note.text()
        panel.set_project(None)
        assert view.table.rowCount() == 0
