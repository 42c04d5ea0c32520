"""Board passwords in the OS keyring: only for boards that opted in, never in Foldwise's files."""

from __future__ import annotations

import json
from collections.abc import Iterator

import keyring
import pytest
from keyring.backend import KeyringBackend
from keyring.backends import fail

from foldwise.cli import main
from foldwise.core.board.profiles import BoardProfile, boards_path, get_board
from foldwise.core.board.secrets import SERVICE, forget_password, recalled_password, remember_password
from foldwise.core.errors import InputError


class MemoryKeyring(KeyringBackend):
    priority = 1  # type: ignore[assignment]

    def __init__(self) -> None:
        super().__init__()
        self.store: dict[tuple[str, str], str] = {}

    def get_password(self, service: str, username: str) -> str | None:
        return self.store.get((service, username))

    def set_password(self, service: str, username: str, password: str) -> None:
        self.store[(service, username)] = password

    def delete_password(self, service: str, username: str) -> None:
        if self.store.pop((service, username), None) is None:
            raise keyring.errors.PasswordDeleteError("not found")


@pytest.fixture
def memory_keyring() -> Iterator[MemoryKeyring]:
    previous = keyring.get_keyring()
    backend = MemoryKeyring()
    keyring.set_keyring(backend)
    try:
        yield backend
    finally:
        keyring.set_keyring(previous)


def test_only_boards_that_opted_in_recall_their_password(memory_keyring: MemoryKeyring) -> None:
    board = BoardProfile.create("z2", "192.168.2.99")
    opted = BoardProfile.create("z2", "192.168.2.99", keyring=True)
    remember_password(opted, "xilinx")
    assert memory_keyring.store == {(SERVICE, "xilinx@192.168.2.99:22"): "xilinx"}
    assert recalled_password(opted) == "xilinx" and recalled_password(board) is None
    assert forget_password(opted) and not forget_password(opted)
    assert recalled_password(opted) is None


def test_no_keyring_backend_says_so() -> None:
    previous = keyring.get_keyring()
    keyring.set_keyring(fail.Keyring())
    try:
        with pytest.raises(InputError, match="no OS keyring"):
            remember_password(BoardProfile.create("z2", "10.0.0.2", keyring=True), "pw")
        assert recalled_password(BoardProfile.create("z2", "10.0.0.2", keyring=True)) is None
    finally:
        keyring.set_keyring(previous)


def test_board_add_remember_password_then_probe_without_giving_it(memory_keyring: MemoryKeyring, pynq_board,
                                                                   capsys, monkeypatch) -> None:
    server = pynq_board()
    monkeypatch.setenv("FOLDWISE_SSH_PASSWORD", "xilinx")
    assert main(["board", "add", "z2", "--host", server.host, "--port", str(server.port), "--known-hosts",
                 str(server.known_hosts), "--remember-password"]) == 0
    capsys.readouterr()
    assert get_board("z2").keyring and "xilinx" not in json.dumps(json.loads(boards_path().read_text())).replace(
        '"user": "xilinx"', "")
    monkeypatch.delenv("FOLDWISE_SSH_PASSWORD")
    assert main(["board", "probe", "z2", "--json"]) == 0  # the password came from the keyring
    assert json.loads(capsys.readouterr().out)["board"] == "z2"
