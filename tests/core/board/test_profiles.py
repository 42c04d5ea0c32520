"""Board profiles: saved in the user's config dir (the list shared with build hosts), never with a password."""

from __future__ import annotations

import json

import pytest

from foldwise.core.board.keys import read_public_key
from foldwise.core.board.profiles import (
    Auth,
    BoardProfile,
    boards_path,
    get_board,
    remove_board,
    save_board,
    saved_boards,
)
from foldwise.core.errors import InputError
from foldwise.core.finn.hosts import RemoteBuildHost, save_host, saved_hosts


def test_profiles_round_trip_without_passwords(tmp_path) -> None:
    key = tmp_path / "id"
    key.write_text("k")
    save_board(BoardProfile.create("z2", "192.168.2.99"))
    save_board(BoardProfile.create("lab", "10.0.0.5", user="me", port=2222, key=key))
    save_board(BoardProfile.create("z2", "192.168.2.98", agent=True))  # same name: replaced, order kept
    assert [(b.name, b.host, b.auth) for b in saved_boards()] == [("lab", "10.0.0.5", Auth.KEY),
                                                                  ("z2", "192.168.2.98", Auth.AGENT)]
    assert get_board("lab").target(password="secret").password == "secret"
    assert "secret" not in boards_path().read_text()
    assert json.loads(boards_path().read_text())["format"] == 1
    assert remove_board("lab") and not remove_board("lab")
    with pytest.raises(InputError, match=r"no board named 'lab' \(saved boards: z2\)"):
        get_board("lab")
    # the build hosts' list is its own file through the same helper
    save_host(RemoteBuildHost.parse("u@h:2200", name="builder"))
    assert [h.name for h in saved_hosts()] == ["builder"] and [b.name for b in saved_boards()] == ["z2"]


def test_a_device_python_round_trips_and_old_profiles_have_none() -> None:
    save_board(BoardProfile.create("jetson", "10.0.0.7", user="nvidia", python="/home/nvidia/venv/bin/python"))
    assert get_board("jetson").python == "/home/nvidia/venv/bin/python"
    assert BoardProfile.from_dict({"name": "z2", "host": "192.168.2.99"}).python is None


def test_a_password_board_needs_its_password_per_session() -> None:
    board = BoardProfile.create("z2", "127.0.0.1")
    with pytest.raises(InputError, match="logs in with a password"):
        board.session()
    assert board.session("pw").target.password == "pw"
    assert "pw" not in repr(board.session("pw").target)


def test_a_corrupt_list_says_which_file(tmp_path) -> None:
    boards_path().parent.mkdir(parents=True, exist_ok=True)
    boards_path().write_text("{")
    with pytest.raises(InputError, match=r"boards\.json cannot be read"):
        saved_boards()


def test_only_public_key_lines_are_sent(tmp_path) -> None:
    private = tmp_path / "id"
    private.write_text("-----BEGIN OPENSSH PRIVATE KEY-----\nabc\n-----END OPENSSH PRIVATE KEY-----\n")
    with pytest.raises(InputError, match="is a private key"):
        read_public_key(private)
    (tmp_path / "x.pub").write_text("hello\n")
    with pytest.raises(InputError, match="not an OpenSSH public key"):
        read_public_key(tmp_path / "x.pub")
    (tmp_path / "ok.pub").write_text("ssh-ed25519 AAAAC3Nza me@host\n")
    assert read_public_key(tmp_path / "ok.pub") == "ssh-ed25519 AAAAC3Nza me@host"
