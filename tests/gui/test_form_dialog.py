"""The add-a-board and add-a-build-host forms keep a wrong entry's message in the dialog instead of closing."""

from __future__ import annotations

from PySide6.QtWidgets import QDialog

from foldwise.gui.board.board_dialog import BoardDialog
from foldwise.gui.build.host_dialog import BuildHostDialog


def test_board_dialog_checks_before_saving(qtbot, tmp_path) -> None:
    dialog = BoardDialog()
    qtbot.addWidget(dialog)
    dialog.show()
    dialog.name.setText("z2")
    dialog.accept()
    assert dialog.isVisible() and "board host ''" in dialog.error.text()
    dialog.host.setText("192.168.2.99")
    dialog.auth.setCurrentIndex(dialog.auth.findData("key"))
    dialog.accept()
    assert dialog.isVisible() and "needs a key file" in dialog.error.text()
    dialog.key.setText(str(tmp_path / "none"))
    dialog.accept()
    assert "SSH key file not found" in dialog.error.text()
    dialog.auth.setCurrentIndex(dialog.auth.findData("password"))
    dialog.accept()
    assert dialog.result() == QDialog.DialogCode.Accepted
    board = dialog.board()
    assert (board.name, board.host, board.user, board.port, board.auth.value) == ("z2", "192.168.2.99", "xilinx",
                                                                                 22, "password")
    assert board.python is None
    dialog.python.setText(" /opt/venv/bin/python ")
    assert dialog.board().python == "/opt/venv/bin/python"  # the Python baselines run on that device


def test_build_host_dialog_checks_before_saving(qtbot) -> None:
    dialog = BuildHostDialog()
    qtbot.addWidget(dialog)
    dialog.show()
    dialog.address.setText("@@:x")
    dialog.accept()
    assert dialog.isVisible() and "expected user@host" in dialog.error.text()
    dialog.address.setText("me@builder:2222")
    dialog.env.setPlainText("not an assignment")
    dialog.accept()
    assert "NAME=VALUE" in dialog.error.text()
    dialog.env.setPlainText("XILINX_VIVADO=/tools/Vivado/2022.2")
    dialog.accept()
    assert dialog.result() == QDialog.DialogCode.Accepted and dialog.host().env == {
        "XILINX_VIVADO": "/tools/Vivado/2022.2"}


def test_a_port_out_of_range_is_kept_with_its_reason(qtbot) -> None:
    """#14: a spin box dropped the keystrokes of 99999 without a word."""
    dialog = BoardDialog()
    qtbot.addWidget(dialog)
    dialog.show()
    dialog.name.setText("z2")
    dialog.host.setText("192.168.2.99")
    dialog.port.lineEdit().selectAll()
    qtbot.keyClicks(dialog.port.lineEdit(), "99999")
    assert dialog.port.text() == "99999" and dialog.port.message.isVisible()
    assert dialog.port.message.text() == "Must be at most 65535 (not 99999)"
    dialog.accept()
    assert dialog.isVisible() and dialog.error.text() == "Port: Must be at most 65535 (not 99999)"
    dialog.port.lineEdit().selectAll()
    qtbot.keyClicks(dialog.port.lineEdit(), "2222")
    dialog.accept()
    assert dialog.result() == QDialog.DialogCode.Accepted and dialog.board().port == 2222
