"""Add a board: name, address, how to log in (saved through core; a typed password stays in memory)."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtWidgets import QComboBox, QLineEdit, QWidget

from foldwise.core.board.profiles import BoardProfile
from foldwise.core.errors import InputError
from foldwise.gui.fields import NumberField, with_messages
from foldwise.gui.form_dialog import CheckedFormDialog

_AUTH = [("Password (asked when needed, never saved)", "password"), ("Key file", "key"),
         ("SSH agent / ~/.ssh keys", "agent")]


class BoardDialog(CheckedFormDialog):
    """A form for one :class:`BoardProfile`; :meth:`board` parses it (InputError says what is wrong)."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__("Add a board", "boardDialog", parent)
        self.name = QLineEdit()
        self.name.setPlaceholderText("e.g. z2")
        self.host = QLineEdit()
        self.host.setPlaceholderText("e.g. 192.168.2.99")
        self.user = QLineEdit("xilinx")
        self.port = NumberField(1, 65535, 22)  # 99999 stays as typed, with its reason under it
        self.auth = QComboBox()
        for text, value in _AUTH:
            self.auth.addItem(text, value)
        self.key = QLineEdit()
        self.key.setPlaceholderText("private key file (for key authentication)")
        self.known_hosts = QLineEdit()
        self.known_hosts.setPlaceholderText("(Foldwise's own known_hosts)")
        self.python = QLineEdit()
        self.python.setPlaceholderText("(the PYNQ venv's, else python3)")
        self.python.setToolTip("The Python with numpy (and ONNX Runtime) that baselines run on the device")
        self.add_rows([("Name:", self.name), ("Address:", self.host), ("User:", self.user),
                       ("Port:", with_messages(self.port)), ("Log in with:", self.auth), ("Key file:", self.key),
                       ("known_hosts file:", self.known_hosts), ("Python there:", self.python)])

    def board(self) -> BoardProfile:
        if not self.port.valid:
            raise InputError(f"Port: {self.port.problem()}")
        auth = self.auth.currentData()
        key = self.key.text().strip()
        if auth == "key" and not key:
            raise InputError("key authentication needs a key file")
        known = self.known_hosts.text().strip()
        return BoardProfile.create(self.name.text().strip(), self.host.text().strip(),
                                   user=self.user.text().strip() or "xilinx", port=self.port.value(),
                                   key=key if auth == "key" else None, agent=auth == "agent",
                                   known_hosts=Path(known).expanduser() if known else None,
                                   python=self.python.text().strip() or None)

    def check(self) -> None:
        self.board()
