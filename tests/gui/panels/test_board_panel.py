"""Board panel against the PYNQ-shaped test sshd: add, probe (table with fixes), trust prompt, key, push."""

from __future__ import annotations

from pathlib import Path

import pytest
from PySide6.QtWidgets import QApplication, QInputDialog, QMessageBox

from foldwise.core.board.profiles import boards_path, get_board, saved_boards
from foldwise.core.jobs import JobState
from foldwise.gui.panels.base import AppServices
from foldwise.gui.panels.board_panel import BoardPanel
from tests.gui.panels.test_build_panel import services  # noqa: F401 - the panel services fixture
from tests.pynq_board import profile_for

LONG = 30_000


@pytest.fixture
def panel(services: AppServices) -> BoardPanel:  # noqa: F811
    panel = BoardPanel(services)
    services.window.setCentralWidget(panel)
    services.window.show()
    return panel


def _wait(qtbot, panel: BoardPanel, job) -> None:
    assert job is not None
    qtbot.waitUntil(lambda: job.is_finished and not panel.busy, timeout=LONG)


def _visible(kind: type, name: str, panel: BoardPanel):
    widgets = QApplication.topLevelWidgets() + panel.services.window.findChildren(kind) + panel.findChildren(kind)
    return next((w for w in widgets if isinstance(w, kind) and w.objectName() == name and w.isVisible()), None)


def test_probe_shows_measured_items_with_fixes_and_push_lands(qtbot, panel: BoardPanel, pynq_board,
                                                              tmp_path: Path) -> None:
    server = pynq_board()
    panel.add_board(profile_for(server))
    assert panel.board.name == "z2" and [b.name for b in saved_boards()] == ["z2"]
    assert panel.probe() is None  # a password board with none typed: asked for, not started
    dialog = _visible(QInputDialog, "boardPasswordDialog", panel)
    assert dialog is not None
    dialog.setTextValue("xilinx")
    dialog.accept()  # the probe starts with it
    qtbot.waitUntil(lambda: "z2" in panel.reports and not panel.busy, timeout=LONG)
    rows = {r[0]: r for r in panel.table.rows()}
    assert rows["pynq"][1] == "3.0.1" and rows["pynq"][3] == "ok"
    assert all(r[2] == "measured" for r in rows.values())
    assert rows["Runtime for the package"][3] == "missing" and "finn-plus-driver" in rows["Runtime for the package"][4]
    assert "thing(s) to fix" in panel.status.text()
    assert "xilinx" not in boards_path().read_text().replace('"user": "xilinx"', "")  # the password is not saved

    (tmp_path / "pkg").mkdir()
    (tmp_path / "pkg" / "settings.json").write_text("{}\n")
    job = panel.push(tmp_path / "pkg")
    _wait(qtbot, panel, job)
    assert job.state == JobState.DONE, job.error_message
    assert server.path(panel.last_push.deployment).joinpath("settings.json").read_text() == "{}\n"
    assert "1 uploaded" in panel.push_note.text() and "(measured)" in panel.push_note.text()


def test_unknown_host_key_is_a_question_with_its_fingerprint(qtbot, panel: BoardPanel, pynq_board,
                                                             tmp_path: Path) -> None:
    server = pynq_board()
    fresh = tmp_path / "known_hosts"
    panel.add_board(profile_for(server, known_hosts=fresh))
    panel.password.setText("xilinx")
    job = panel.probe()
    _wait(qtbot, panel, job)
    assert job.state == JobState.FAILED
    qtbot.waitUntil(lambda: _visible(QMessageBox, "trustHostBox", panel) is not None, timeout=10_000)
    box = _visible(QMessageBox, "trustHostBox", panel)
    assert job.error.fingerprint in box.text()
    box.button(QMessageBox.StandardButton.Yes).click()
    qtbot.waitUntil(lambda: "z2" in panel.reports and not panel.busy, timeout=LONG)
    assert str(server.port) in fresh.read_text()


def test_install_my_public_key_switches_the_profile_to_the_key(qtbot, panel: BoardPanel, pynq_board) -> None:
    server = pynq_board(extra_config=["Match User xilinx", "AuthorizedKeysFile .ssh/authorized_keys"])
    panel.add_board(profile_for(server))
    panel.password.setText("xilinx")
    job = panel.install_key(Path(f"{server.client_key}.pub"))
    _wait(qtbot, panel, job)
    assert job.state == JobState.DONE, job.error_message
    assert get_board("z2").auth.value == "key" and get_board("z2").key == server.client_key
    panel.password.setText("")
    panel._passwords.clear()
    job = panel.probe()  # by key now: no password asked
    _wait(qtbot, panel, job)
    assert job.state == JobState.DONE, job.error_message
