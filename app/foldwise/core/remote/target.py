"""SSH connection settings, results and typed errors (no network code: see ``ssh``)."""

from __future__ import annotations

import getpass
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from foldwise.core.errors import InputError, SshError
from foldwise.core.user_config import config_dir

if TYPE_CHECKING:  # only an annotation here; paramiko costs 0.4 s of start-up
    import paramiko

DEFAULT_PORT = 22
_SPEC_RE = re.compile(r"^(?:(?P<user>[^@\s]+)@)?(?P<host>\[[^\]]+\]|[^:@\s]+)(?::(?P<port>\d+))?$")


class HostUnreachableError(SshError):
    """No SSH server answered at host:port (refused, timed out, unknown name, not SSH)."""


class AuthFailedError(SshError):
    """The server refused the key or password."""


class HostKeyError(SshError):
    """The server's host key is not (or not the) trusted one."""

    def __init__(self, message: str, *, host: str, key_type: str, fingerprint: str, known_hosts: Path) -> None:
        super().__init__(message)
        self.host = host
        self.key_type = key_type
        self.fingerprint = fingerprint
        self.known_hosts = known_hosts


class UnknownHostKeyError(HostKeyError):
    """First contact: the host's key is not in known_hosts. Show ``fingerprint``; trust it explicitly."""


class HostKeyMismatchError(HostKeyError):
    """The host presented a different key than known_hosts holds: refused (re-installed host, or an attack)."""

    def __init__(self, message: str, *, expected_fingerprint: str, **kwargs: Any) -> None:
        super().__init__(message, **kwargs)
        self.expected_fingerprint = expected_fingerprint


class RemoteCommandError(SshError):
    """A remote command exited non-zero where success was required."""


def default_known_hosts() -> Path:
    """Foldwise's own known_hosts (``$FOLDWISE_CONFIG_DIR`` or ``~/.config/foldwise``), not OpenSSH's."""
    return config_dir() / "known_hosts"


def fingerprint(key: paramiko.PKey) -> str:
    """OpenSSH's ``SHA256:...`` fingerprint of a public key (as ``ssh-keygen -l`` prints it)."""
    return key.fingerprint


def _host_id(host: str, port: int) -> str:
    """How known_hosts names a host: ``host`` on port 22, else ``[host]:port``."""
    return host if port == DEFAULT_PORT else f"[{host}]:{port}"


@dataclass
class SshTarget:
    """Where and how to log in. ``password`` (and a key ``passphrase``) are never written anywhere."""

    host: str
    port: int = DEFAULT_PORT
    user: str | None = None
    identity: Path | None = None
    password: str | None = field(default=None, repr=False)
    passphrase: str | None = field(default=None, repr=False)
    known_hosts: Path | None = None
    connect_timeout: float = 10.0
    #: also try the SSH agent and ~/.ssh/id_* keys when neither identity nor password is given
    use_default_keys: bool = True

    @classmethod
    def parse(cls, spec: str, **kwargs: Any) -> SshTarget:
        """``user@host[:port]`` (IPv6 as ``[addr]:port``) plus any field as a keyword."""
        match = _SPEC_RE.match(spec.strip())
        if not match:
            raise InputError(f"expected user@host[:port], got {spec!r}")
        port = int(match.group("port")) if match.group("port") else kwargs.pop("port", DEFAULT_PORT)
        if not 0 < port < 65536:
            raise InputError(f"port {port} is out of range")
        host = match.group("host").strip("[]")
        return cls(host=host, port=port, user=match.group("user") or kwargs.pop("user", None), **kwargs)

    @property
    def login(self) -> str:
        return self.user or getpass.getuser()

    @property
    def display(self) -> str:
        """``user@host:port`` for messages."""
        return f"{self.login}@{self.host}:{self.port}"

    def known_hosts_path(self) -> Path:
        return Path(self.known_hosts) if self.known_hosts else default_known_hosts()

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready settings, without password or passphrase."""
        return {"host": self.host, "port": self.port, "user": self.user,
                "identity": str(self.identity) if self.identity else None,
                "known_hosts": str(self.known_hosts) if self.known_hosts else None,
                "connect_timeout": self.connect_timeout}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> SshTarget:
        data = dict(data)
        for key in ("identity", "known_hosts"):
            if data.get(key):
                data[key] = Path(data[key])
        return cls(**{k: v for k, v in data.items() if k in cls.__dataclass_fields__})


@dataclass
class ExecResult:
    """One remote command's outcome."""

    command: str
    exit_code: int
    stdout: str
    stderr: str
    seconds: float = 0.0

    @property
    def ok(self) -> bool:
        return self.exit_code == 0

    def check(self, what: str | None = None) -> ExecResult:
        """Raise RemoteCommandError (with the end of stderr) unless the command succeeded."""
        if not self.ok:
            tail = (self.stderr.strip() or self.stdout.strip()).splitlines()[-3:]
            raise RemoteCommandError(f"{what or self.command} failed (exit code {self.exit_code})"
                                     + (f": {' | '.join(tail)}" if tail else ""))
        return self


@dataclass
class TransferStats:
    files: int = 0
    bytes: int = 0
    seconds: float = 0.0

    @property
    def mb_per_s(self) -> float:
        return self.bytes / 1e6 / self.seconds if self.seconds > 0 else 0.0
