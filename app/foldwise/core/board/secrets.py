"""Board passwords in the OS keyring, only for the boards whose user opted in (``BoardProfile.keyring``).

Never on disk in Foldwise's own files, logs or bundles: the keyring (Secret Service on Linux, the macOS Keychain,
Windows Credential Locker) holds them under the service ``foldwise-board`` and the key ``user@host:port``.
A machine without a keyring backend says so instead of storing anything.
"""

from __future__ import annotations

from typing import Any

from foldwise.core.board.profiles import BoardProfile
from foldwise.core.errors import InputError

SERVICE = "foldwise-board"


def _keyring() -> Any:
    import keyring
    from keyring.backends import fail

    backend = keyring.get_keyring()
    if isinstance(backend, fail.Keyring):
        raise InputError("this machine has no OS keyring (no Secret Service running?): the password cannot be "
                         "remembered; give it each time, or log in by key (`board add --install-key`)")
    return keyring


def _key(board: BoardProfile) -> str:
    return f"{board.user}@{board.host}:{board.port}"


def remember_password(board: BoardProfile, password: str) -> None:
    if not password:
        raise InputError("an empty password is not remembered")
    _keyring().set_password(SERVICE, _key(board), password)


def recalled_password(board: BoardProfile) -> str | None:
    """The remembered password of a board that opted in, else None (also when no keyring is available)."""
    if not board.keyring:
        return None
    try:
        return _keyring().get_password(SERVICE, _key(board))
    except InputError:
        return None


def forget_password(board: BoardProfile) -> bool:
    import keyring.errors

    try:
        _keyring().delete_password(SERVICE, _key(board))
    except (keyring.errors.PasswordDeleteError, InputError):
        return False
    return True
