"""The Demo panel on a small trained DefectNet project: the synthetic conveyor through host-float for about two
seconds, frames and live figures arriving, Stop ending the run with its final figures, ROI drawn and saved."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from PySide6.QtCore import QPoint, Qt

from foldwise.core.demo.roi import load_roi
from foldwise.core.jobs import JobState
from foldwise.core.project import Project
from foldwise.gui import main_window as main_window_module
from foldwise.gui.main_window import MainWindow
from foldwise.gui.panels.demo_panel import DemoPanel


@pytest.fixture(autouse=True)
def _network_and_demo_only(monkeypatch: pytest.MonkeyPatch) -> None:
    """The Build panel would start a FINN worker for the quantized current iteration: leave it out."""
    original = main_window_module.stage_panel_classes
    monkeypatch.setattr(main_window_module, "stage_panel_classes",
                        lambda: [cls for cls in original() if cls.title in ("Network", "Demo")])


@pytest.fixture
def window(main_window: MainWindow, qtbot) -> Iterator[MainWindow]:
    yield main_window
    main_window.jobs.cancel_all()
    qtbot.waitUntil(lambda: not main_window.jobs.running, timeout=30_000)


def open_panel(window: MainWindow, path: Path) -> DemoPanel:
    assert window.open_project(path)
    index = next(i for i, p in enumerate(window.panels) if p.title == "Demo")
    window.show_stage(index)
    panel = window.panels[index]
    assert isinstance(panel, DemoPanel) and panel.isVisible()
    return panel


def test_demo_runs_the_conveyor_live_and_stops(window: MainWindow, defect_project: Path, qtbot) -> None:
    panel = open_panel(window, defect_project)
    assert panel.start_button.isEnabled() and not panel.stop_button.isEnabled()
    panel.source.setCurrentText("synthetic")
    panel.backend.setCurrentText("host-float")
    job = panel.start()
    assert job is not None and panel.busy and panel.stop_button.isEnabled()
    qtbot.waitUntil(lambda: panel.updates >= 5, timeout=60_000)
    shown = panel.preview.frames_shown
    qtbot.wait(2000)
    assert panel.preview.frames_shown > shown  # frames keep coming
    assert panel.cards.values["processed_fps"].text() not in ("", "–")
    assert "Keeps up?" in panel.cards.verdict.text()
    qtbot.mouseClick(panel.stop_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: job.is_finished and not panel.busy, timeout=30_000)
    assert job.state == JobState.DONE and panel.result is not None
    assert panel.result.reason == "stopped" and panel.result.backend["label"] == "measured"
    assert panel.result.stats["frames_processed"]["value"] > 5
    assert panel.status.text().startswith("Ended: stopped")
    assert panel.start_button.isEnabled()


def test_roi_drawn_on_the_preview_is_saved_in_the_project(window: MainWindow, defect_project: Path, qtbot) -> None:
    panel = open_panel(window, defect_project)
    preview = panel.preview
    target = preview.image_rect()
    start = QPoint(int(target.x() + target.width() * 0.25), int(target.y() + target.height() * 0.25))
    end = QPoint(int(target.x() + target.width() * 0.75), int(target.y() + target.height() * 0.75))
    qtbot.mousePress(preview, Qt.MouseButton.LeftButton, pos=start)
    qtbot.mouseMove(preview, end)
    qtbot.mouseRelease(preview, Qt.MouseButton.LeftButton, pos=end)
    roi = preview.roi
    assert roi is not None and roi.w == pytest.approx(0.5, abs=0.02) and roi.x == pytest.approx(0.25, abs=0.02)
    assert load_roi(panel.project) == roi
    assert panel.spec().roi == roi
    qtbot.mouseClick(panel.reset_roi, Qt.MouseButton.LeftButton)
    assert load_roi(panel.project) is None and preview.roi is None
    assert panel.spec().roi is None  # the run then takes the default inspection window


def test_a_bad_source_is_an_error_dialog_not_a_crash(window: MainWindow, defect_project: Path, qtbot,
                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    shown: list[str] = []
    monkeypatch.setattr("foldwise.gui.errors.show_job_error", lambda _w, job: shown.append(job.error_message))
    panel = open_panel(window, defect_project)
    panel.source.setCurrentText("camera:97")
    job = panel.start()
    qtbot.waitUntil(lambda: job.is_finished and not panel.busy, timeout=30_000)
    assert job.state == JobState.FAILED and shown and "camera 97 not found" in shown[0]
    with Project.open(defect_project, read_only=True) as project:
        assert project.current is not None


def test_budget_bars_answer_keeps_up_before_a_run_and_saved_boards_are_backends(
        window: MainWindow, estimated_defect: Path, qtbot) -> None:
    from foldwise.core.board.profiles import BoardProfile, save_board

    save_board(BoardProfile.create("z2", "127.0.0.1", port=1))
    panel = open_panel(window, estimated_defect)
    panel.hide()
    panel.show()  # boards saved elsewhere appear when the panel is shown
    backends = [panel.backend.itemText(i) for i in range(panel.backend.count())]
    assert backends == ["host-float", "host-quantized", "board:z2"]
    assert panel.budget_from.itemText(0) == "estimate"
    panel.budget_from.setCurrentText("estimate")
    panel.target.setValue(120)
    job = panel.check_budget()
    assert job is not None
    qtbot.waitUntil(lambda: bool(panel.budget_bars.verdict.text()), timeout=60_000)
    assert job.state is JobState.DONE
    text = panel.budget_bars.findChild(type(panel.status), "budget_inference").text()
    assert "(estimated)" in text and "%" in text
    verdict = panel.budget_bars.verdict.text()
    assert verdict.startswith(("keeps up", "does not keep up")) and "120 FPS" in verdict


def test_a_board_backend_that_logs_in_by_password_asks_for_it_once_and_never_saves_it(
        window: MainWindow, estimated_defect: Path, qtbot) -> None:
    from PySide6.QtWidgets import QInputDialog

    from foldwise.core.board.profiles import BoardProfile, boards_path, save_board

    save_board(BoardProfile.create("pw", "127.0.0.1", port=1, connect_timeout=1.0))
    panel = open_panel(window, estimated_defect)
    panel.hide()
    panel.show()
    panel.backend.setCurrentText("board:pw")
    assert panel.start() is None  # asks first
    dialog = panel.findChild(QInputDialog, "demoPasswordDialog")
    assert dialog is not None and dialog.textEchoMode() == dialog.textEchoMode().Password
    dialog.setTextValue("secret-pw")
    dialog.accept()
    qtbot.waitUntil(lambda: not panel.busy, timeout=60_000)  # the run fails: nothing listens on port 1
    assert panel.spec().password == "secret-pw"
    assert "secret-pw" not in boards_path().read_text()


def test_threshold_field_and_keyboard_shortcuts(window: MainWindow, defect_project: Path, qtbot) -> None:
    from foldwise.core.demo.roi import Roi

    panel = open_panel(window, defect_project)
    panel.threshold.setValue(0.8)
    assert panel.spec().threshold == pytest.approx(0.8)
    assert set(panel.shortcuts) == {"Ctrl+Return", "Esc", "Ctrl+0"}
    assert "Ctrl+Return" in panel.start_button.toolTip() and "Esc" in panel.stop_button.toolTip()
    panel._save_roi(Roi(0.1, 0.1, 0.5, 0.5))
    panel.shortcuts["Ctrl+0"].activated.emit()
    assert load_roi(panel.project) is None and panel.preview.roi is None
    panel.source.setCurrentText("synthetic")
    panel.backend.setCurrentText("host-float")
    panel.shortcuts["Ctrl+Return"].activated.emit()
    qtbot.waitUntil(lambda: panel.updates >= 2, timeout=60_000)
    assert panel.busy and not panel.threshold.isEnabled()
    assert "(live)" in panel.budget_bars.title.text()  # the budget bars follow the run
    assert "(measured)" in panel.budget_bars.findChild(type(panel.status), "budget_inference").text()
    panel.shortcuts["Esc"].activated.emit()
    qtbot.waitUntil(lambda: not panel.busy, timeout=30_000)
    assert panel.result is not None and panel.result.reason == "stopped"
