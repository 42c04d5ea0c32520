"""Build hosts: machines FINN builds run on over SSH, what a probe found there, and the saved list of them.

The saved list (``<config dir>/build_hosts.json``, see :mod:`foldwise.core.user_config`) is shared by the CLI
(``foldwise build --remote NAME``) and the Build panel's host picker. Passwords are never written: a host that
needs one gets it per session (``$FOLDWISE_SSH_PASSWORD``, ``--ask-password``, the panel's password field).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any

from foldwise.core.finn.kinds import BuildKind
from foldwise.core.remote.target import SshTarget
from foldwise.core.saved_list import SavedList

HOSTS_FILE = "build_hosts.json"


@dataclass
class RemoteBuildHost:
    """A machine FINN builds run on: how to log in, which Python has finn-plus, where Foldwise may work.

    ``name`` is how the saved list and ``--remote NAME`` call it (default: ``user@host:port``).
    """

    target: SshTarget
    python: str = "python3"
    remote_dir: str = "~/.foldwise"
    env: dict[str, str] = field(default_factory=dict)
    name: str = ""

    def __post_init__(self) -> None:
        self.name = self.name or self.target.display

    @classmethod
    def parse(cls, spec: str, *, python: str = "python3", remote_dir: str = "~/.foldwise",
              env: dict[str, str] | None = None, name: str = "", **target: Any) -> RemoteBuildHost:
        """From ``user@host[:port]`` plus SshTarget fields (identity, password, known_hosts, ...)."""
        return cls(SshTarget.parse(spec, **target), python=python, remote_dir=remote_dir, env=dict(env or {}),
                   name=name)

    @property
    def display(self) -> str:
        return self.target.display

    def same_machine(self, other: RemoteBuildHost | dict[str, Any]) -> bool:
        """Same host and port (where a remote build folder lives)."""
        target = other.target.to_dict() if isinstance(other, RemoteBuildHost) else dict(other.get("target", other))
        return (target.get("host"), int(target.get("port") or 22)) == (self.target.host, self.target.port)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready settings for a project or the app settings (no password)."""
        return {"name": self.name, "target": self.target.to_dict(), "python": self.python,
                "remote_dir": self.remote_dir, "env": dict(self.env)}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> RemoteBuildHost:
        return cls(SshTarget.from_dict(data["target"]), python=data.get("python", "python3"),
                   remote_dir=data.get("remote_dir", "~/.foldwise"), env=dict(data.get("env") or {}),
                   name=data.get("name") or "")

    def with_password(self, password: str | None) -> RemoteBuildHost:
        """A copy that logs in with ``password`` (kept in memory only)."""
        return replace(self, target=replace(self.target, password=password))


@dataclass
class HostCheck:
    """What a build host offers: its Python, finn-plus (or why not) and, per FINN output, what is missing."""

    host: str
    python: str
    home: str = ""
    python_version: str | None = None
    executable: str | None = None
    machine: str | None = None
    finn_version: str | None = None
    finn_error: str | None = None
    outputs: dict[str, Any] = field(default_factory=dict)
    host_fingerprint: str | None = None
    connect_seconds: float | None = None
    seconds: float = 0.0

    @property
    def ok(self) -> bool:
        """finn-plus is usable there (estimates and HLS code generation work)."""
        return self.finn_version is not None

    def can_build(self, kind: str | BuildKind) -> bool:
        out = self.outputs.get(BuildKind.parse(kind).output)
        return self.ok and (out is None or bool(out.get("available")))

    def missing_for(self, kind: str | BuildKind) -> list[str]:
        """What the host lacks for ``kind`` (empty when it can build it)."""
        if not self.ok:
            return ["finn-plus"]
        out = self.outputs.get(BuildKind.parse(kind).output) or {}
        return [] if out.get("available", True) else list(out.get("missing") or [])

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    def missing_message(self) -> str:
        """Why FINN cannot run on the host, and what to do."""
        return (f"finn-plus is not usable with `{self.python}` on build host {self.host}: {self.finn_error}. "
                "Install it in that Python (pip install --no-deps finn-plus==1.6.1 plus its dependencies) or give "
                "the Python that has it (remote python setting / --remote-python, e.g. "
                "`/opt/finn/venv/bin/python` or `. ~/finn/bin/activate && python`).")


# ------------------------------------------------------------------------------------------- the saved list
_SAVED: SavedList[RemoteBuildHost] = SavedList(HOSTS_FILE, "hosts", "build hosts", RemoteBuildHost.from_dict,
                                               RemoteBuildHost.to_dict, lambda h: h.name)


def hosts_path() -> Path:
    return _SAVED.path()


def saved_hosts() -> list[RemoteBuildHost]:
    """The saved build hosts, in the order they were added (an unreadable file is an InputError)."""
    return _SAVED.load()


def save_host(host: RemoteBuildHost) -> RemoteBuildHost:
    """Add ``host`` to the saved list, replacing one of the same name (its password is not saved)."""
    return _SAVED.save(host)


def remove_host(name: str) -> bool:
    return _SAVED.remove(name)


def find_host(name: str) -> RemoteBuildHost | None:
    """The saved host called ``name`` (or whose ``user@host:port`` is ``name``), else None."""
    hosts = saved_hosts()
    return next((h for h in hosts if h.name == name), None) or next(
        (h for h in hosts if h.display == name), None)
