"""Board profiles: how to reach a board and log in, saved in ``<config dir>/boards.json``.

Auth is a key file, the SSH agent (with ``~/.ssh`` keys), or a password asked for when needed: a password is
passed in per session (:meth:`BoardProfile.target`) and never written to the profile, logs or bundles.
"""

from __future__ import annotations

import enum
import re
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from foldwise.core.errors import InputError
from foldwise.core.remote.ssh import SshSession
from foldwise.core.remote.target import DEFAULT_PORT, SshTarget
from foldwise.core.saved_list import SavedList

BOARDS_FILE = "boards.json"
_NAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")


class Auth(str, enum.Enum):
    KEY = "key"  # a private key file
    AGENT = "agent"  # the SSH agent, then ~/.ssh/id_* keys
    PASSWORD = "password"  # asked for when needed, kept in memory only


@dataclass(frozen=True)
class BoardProfile:
    """One board: ``name`` is how verbs and the panel call it."""

    name: str
    host: str
    user: str = "xilinx"
    port: int = DEFAULT_PORT
    auth: Auth = Auth.PASSWORD
    key: Path | None = None
    known_hosts: Path | None = None  # None: Foldwise's own known_hosts
    connect_timeout: float = 10.0
    python: str | None = None  # the Python that runs Foldwise's scripts there (None: PYNQ venv, else python3)
    keyring: bool = False  # the user opted in: its password is remembered in the OS keyring (core/board/secrets)

    def __post_init__(self) -> None:
        if not _NAME_RE.match(self.name):
            raise InputError(f"board name {self.name!r}: use letters, digits, '.', '_' or '-' (up to 64)")
        if not self.host.strip() or any(c.isspace() or c in "@/" for c in self.host):
            raise InputError(f"board host {self.host!r} is not a host name or address")
        if not 0 < int(self.port) < 65536:
            raise InputError(f"port {self.port} is out of range (1-65535)")
        if self.auth == Auth.KEY and self.key is None:
            raise InputError("key authentication needs a key file (--key FILE)")

    @classmethod
    def create(cls, name: str, host: str, user: str = "xilinx", port: int = DEFAULT_PORT,
               key: Path | str | None = None, agent: bool = False, **kwargs: Any) -> BoardProfile:
        """A profile whose auth follows from what is given: a key file, the agent, else a password."""
        if key is not None:
            key = Path(key).expanduser()
            if not key.is_file():
                raise InputError(f"SSH key file not found: {key}")
            auth = Auth.KEY
        else:
            auth = Auth.AGENT if agent else Auth.PASSWORD
        return cls(name=name, host=host, user=user, port=int(port), auth=auth, key=key, **kwargs)

    @property
    def display(self) -> str:
        return f"{self.user}@{self.host}:{self.port}"

    @property
    def needs_password(self) -> bool:
        return self.auth == Auth.PASSWORD

    def target(self, password: str | None = None) -> SshTarget:
        """SSH settings for one session; ``password`` stays in memory (also used for sudo on the board)."""
        return SshTarget(host=self.host, port=self.port, user=self.user,
                         identity=self.key if self.auth == Auth.KEY else None, password=password,
                         known_hosts=self.known_hosts, connect_timeout=self.connect_timeout,
                         use_default_keys=self.auth == Auth.AGENT)

    def session(self, password: str | None = None, trust_fingerprint: str | None = None) -> SshSession:
        """An unopened SSH session (use ``with``); an unknown host key raises UnknownHostKeyError to confirm."""
        if self.needs_password and password is None:
            raise InputError(f"board {self.name} logs in with a password: give it (it is never saved)")
        return SshSession(self.target(password), trust_fingerprint=trust_fingerprint)

    def with_key(self, key: Path) -> BoardProfile:
        return replace(self, auth=Auth.KEY, key=Path(key))

    def to_dict(self) -> dict[str, Any]:
        return {"name": self.name, "host": self.host, "user": self.user, "port": self.port,
                "auth": self.auth.value, "key": str(self.key) if self.key else None,
                "known_hosts": str(self.known_hosts) if self.known_hosts else None,
                "connect_timeout": self.connect_timeout, "python": self.python, "keyring": self.keyring}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> BoardProfile:
        return cls(name=data["name"], host=data["host"], user=data.get("user") or "xilinx",
                   port=int(data.get("port") or DEFAULT_PORT), auth=Auth(data.get("auth") or "password"),
                   key=Path(data["key"]) if data.get("key") else None,
                   known_hosts=Path(data["known_hosts"]) if data.get("known_hosts") else None,
                   connect_timeout=float(data.get("connect_timeout") or 10.0), python=data.get("python") or None,
                   keyring=bool(data.get("keyring", False)))


_SAVED: SavedList[BoardProfile] = SavedList(BOARDS_FILE, "boards", "boards", BoardProfile.from_dict,
                                            BoardProfile.to_dict, lambda b: b.name)


def boards_path() -> Path:
    return _SAVED.path()


def saved_boards() -> list[BoardProfile]:
    """The saved boards in the order they were added."""
    return _SAVED.load()


def save_board(board: BoardProfile) -> BoardProfile:
    """Add or replace the board of that name (no password is ever part of a profile)."""
    return _SAVED.save(board)


def remove_board(name: str) -> bool:
    return _SAVED.remove(name)


def get_board(name: str) -> BoardProfile:
    """The saved board called ``name``; an InputError naming the saved ones otherwise."""
    board = _SAVED.find(name)
    if board is None:
        names = ", ".join(b.name for b in saved_boards()) or "none saved yet"
        raise InputError(f"no board named {name!r} (saved boards: {names}); add it with `foldwise board add`")
    return board
