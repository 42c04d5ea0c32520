"""Add a build host: how to log in, which Python has finn-plus, where Foldwise may work (saved through core).

The host goes to the saved list the CLI's ``build --remote NAME`` reads too
(:func:`foldwise.core.finn.hosts.save_host`); its password, if one is typed, stays in memory for this session.
"""

from __future__ import annotations

from pathlib import Path

from PySide6.QtWidgets import QLineEdit, QPlainTextEdit, QWidget

from foldwise.core.errors import InputError
from foldwise.core.finn.hosts import RemoteBuildHost
from foldwise.gui.form_dialog import CheckedFormDialog


class BuildHostDialog(CheckedFormDialog):
    """A form for one :class:`RemoteBuildHost`; :meth:`host` parses it (InputError says what is wrong)."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__("Add a build host", "buildHostDialog", parent)
        self.address = QLineEdit()
        self.address.setPlaceholderText("user@host[:port]")
        self.name = QLineEdit()
        self.name.setPlaceholderText("(default: user@host:port)")
        self.python = QLineEdit("python3")
        self.python.setToolTip("The host's Python that has finn-plus: a path, or a shell prefix such as "
                               "'. ~/finn/bin/activate && python'")
        self.remote_dir = QLineEdit("~/.foldwise")
        self.remote_dir.setToolTip("Where Foldwise keeps its FINN runner and the builds on the host")
        self.identity = QLineEdit()
        self.identity.setPlaceholderText("(SSH agent or ~/.ssh keys)")
        self.known_hosts = QLineEdit()
        self.known_hosts.setPlaceholderText("(Foldwise's own known_hosts)")
        self.env = QPlainTextEdit()
        self.env.setPlaceholderText("NAME=VALUE per line, e.g. XILINX_VIVADO=/tools/Xilinx/Vivado/2022.2")
        self.env.setMaximumHeight(70)
        self.password = QLineEdit()
        self.password.setEchoMode(QLineEdit.EchoMode.Password)
        self.password.setPlaceholderText("(only if it needs one: kept for this session, never saved)")
        self.add_rows([("Address:", self.address), ("Name:", self.name), ("Python with finn-plus:", self.python),
                       ("Folder on the host:", self.remote_dir), ("Private key file:", self.identity),
                       ("known_hosts file:", self.known_hosts), ("Environment:", self.env),
                       ("Password:", self.password)])

    def host(self) -> RemoteBuildHost:
        """The host the form describes (without its password: see :meth:`password_text`)."""
        env = {}
        for line in self.env.toPlainText().splitlines():
            if line.strip():
                name, sep, value = line.strip().partition("=")
                if not sep or not name.isidentifier():
                    raise InputError(f"environment lines are NAME=VALUE, got {line.strip()!r}")
                env[name] = value
        optional = {"identity": self.identity.text().strip(), "known_hosts": self.known_hosts.text().strip()}
        return RemoteBuildHost.parse(
            self.address.text(), python=self.python.text().strip() or "python3",
            remote_dir=self.remote_dir.text().strip() or "~/.foldwise", env=env, name=self.name.text().strip(),
            **{k: Path(v).expanduser() for k, v in optional.items() if v})

    def password_text(self) -> str | None:
        return self.password.text() or None

    def check(self) -> None:
        self.host()
