"""A real OpenSSH sshd on 127.0.0.1 for tests, started by the tests themselves (see shared FACTS.md).

``start_sshd(tmp)`` generates host and client keys in ``tmp``, writes an ``sshd_config`` (``ListenAddress
127.0.0.1``, a free port, ``UsePAM no``, ``StrictModes no``, authorized keys and pid file in ``tmp``) and runs
``/usr/sbin/sshd -D -e -f cfg``. Nothing on the host is changed: as root, sshd runs in a private mount namespace
(``unshare --mount``) where ``/etc`` (and ``/run`` when ``/run/sshd`` is missing) are overlay mounts whose
upper layers live under ``server.remote_root``. That is how a test gets a login user other than the current
one, a known password, or files at absolute paths only the "remote" side sees, e.g. a PYNQ-like board::

    server = start_sshd(tmp, user="xilinx", password="xilinx", overlays=["/usr/local/share", "/etc"],
                        files={"/etc/profile.d/pynq_venv.sh": "export PATH=...", ...}, sudo=True)

``server.path("/usr/local/share/pynq-venv")`` is where such a file lives on this machine before the server
starts (``files=`` writes them for you). As a non-root user only the current user with key auth is possible.

Fixtures: ``sshd`` (one server per test module: the current user, key and password ``foldwise-test``) and
``sshd_factory`` (``sshd_factory(**kwargs)`` for custom servers, stopped at the end of the test).
"""

from __future__ import annotations

import contextlib
import os
import pwd
import shutil
import socket
import subprocess
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import pytest

SSHD = Path("/usr/sbin/sshd")
TEST_PASSWORD = "foldwise-test"
_FAKE_UID = 4242


@dataclass
class SshServer:
    """A running test sshd and everything a client needs to reach it."""

    tmp: Path
    port: int
    user: str
    home: Path
    password: str | None
    client_key: Path  # private key (ed25519, no passphrase) in authorized_keys
    host_key: Path  # the server's private host key; ``host_key_line()`` is its public half
    known_hosts: Path  # a known_hosts file already trusting this server
    remote_root: Path
    log_path: Path
    proc: subprocess.Popen
    host: str = "127.0.0.1"
    namespaced: bool = False
    overlays: list[str] = field(default_factory=list)

    @property
    def spec(self) -> str:
        """``user@127.0.0.1:port`` as the CLI takes it."""
        return f"{self.user}@{self.host}:{self.port}"

    def path(self, absolute: str) -> Path:
        """Where a file that the remote side sees at ``absolute`` lives here (under an overlaid directory)."""
        return self.remote_root / absolute.lstrip("/")

    def host_key_line(self) -> str:
        """The known_hosts line for this server (``[127.0.0.1]:port ssh-ed25519 AAAA...``)."""
        key_type, blob = Path(f"{self.host_key}.pub").read_text().split()[:2]
        return f"[{self.host}]:{self.port} {key_type} {blob}\n"

    def log(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""

    def session_pids(self) -> list[int]:
        """Every process below the listening sshd (per-connection sshd and what sessions run)."""
        import psutil

        try:
            return [p.pid for p in psutil.Process(self.proc.pid).children(recursive=True)]
        except psutil.NoSuchProcess:
            return []

    def stop(self) -> None:
        """Stop the listener and anything its sessions left running."""
        import psutil

        if self.proc.poll() is None:
            try:
                children = psutil.Process(self.proc.pid).children(recursive=True)
            except psutil.NoSuchProcess:
                children = []
            self.proc.terminate()
            try:
                self.proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=5)
            for child in children:
                with contextlib.suppress(psutil.NoSuchProcess):
                    child.kill()


def sshd_available() -> str | None:
    """None if a test sshd can start here, else why not."""
    if not SSHD.is_file():
        return "OpenSSH's sshd is not installed (Debian package openssh-server)"
    if shutil.which("ssh-keygen") is None:
        return "ssh-keygen is not installed (Debian package openssh-client)"
    if os.geteuid() == 0 and shutil.which("unshare") is None:
        return "unshare (util-linux) is missing"
    return None


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _keygen(path: Path, comment: str) -> None:
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", comment, "-f", str(path)],
                   check=True, capture_output=True)


def _password_hash(password: str) -> str:
    out = subprocess.run(["openssl", "passwd", "-6", "-stdin"], input=password, text=True, capture_output=True,
                         check=True)
    return out.stdout.strip()


def _write_accounts(
    etc: Path, user: str, home: Path, password: str | None, sudo: bool, shell: str | None
) -> tuple[int, int]:
    """Copies of passwd/group/shadow in the /etc overlay: ``user`` added if new, its password set."""
    etc.mkdir(parents=True, exist_ok=True)
    passwd = Path("/etc/passwd").read_text().splitlines()
    group = Path("/etc/group").read_text().splitlines()
    shadow = Path("/etc/shadow").read_text().splitlines() if Path("/etc/shadow").exists() else []
    names = {line.split(":")[0] for line in passwd}
    if "sshd" not in names:  # sshd's privilege-separation user (openssh-server's postinst creates it)
        passwd.append("sshd:x:4241:65534::/run/sshd:/usr/sbin/nologin")
        shadow.append("sshd:*:19000:0:99999:7:::")
    if user in names:
        entry = pwd.getpwnam(user)
        uid, gid = entry.pw_uid, entry.pw_gid
        passwd = [
            ":".join([*p.split(":")[:5], str(home), shell or p.split(":")[6]]) if p.split(":")[0] == user else p
            for p in passwd
        ]
    else:
        uid = gid = _FAKE_UID
        passwd.append(f"{user}:x:{uid}:{gid}:{user}:{home}:{shell or '/bin/bash'}")
        group.append(f"{user}:x:{gid}:")
        shadow.append(f"{user}:*:19000:0:99999:7:::")
    if sudo:
        group = [g + ("," if not g.endswith(":") else "") + user if g.startswith("sudo:") else g for g in group]
        if not any(g.startswith("sudo:") for g in group):
            group.append(f"sudo:x:27:{user}")
    hashed = _password_hash(password) if password else "*"
    shadow = [":".join([user, hashed, *s.split(":")[2:]]) if s.split(":")[0] == user else s for s in shadow]
    (etc / "passwd").write_text("\n".join(passwd) + "\n")
    (etc / "group").write_text("\n".join(group) + "\n")
    (etc / "shadow").write_text("\n".join(shadow) + "\n")
    os.chmod(etc / "shadow", 0o640)
    return uid, gid


def start_sshd(
    tmp: Path,
    *,
    user: str | None = None,
    password: str | None = TEST_PASSWORD,
    home: Path | None = None,
    overlays: Sequence[str] = (),
    files: dict[str, str] | None = None,
    sudo: bool = False,
    permit_root_login: str | None = None,
    shell: str | None = None,
    extra_config: Sequence[str] = (),
    traversable: Sequence[str] = (),
    start_timeout: float = 15.0,
) -> SshServer:
    """Start a test sshd on 127.0.0.1 (see the module docstring); the caller stops it.

    ``user`` (default: the current user) logs in with ``server.client_key`` or ``password`` (None: keys only).
    ``home`` defaults to the user's own home, or ``/home/<user>`` (in a ``/home`` overlay) for another user.
    ``overlays``: absolute directories the remote side sees with ``remote_root/<dir>`` laid over them;
    ``files``: {absolute path: text} written there. ``sudo``: the user may ``sudo`` (needs Debian's sudo).
    ``shell``: the user's login shell on the remote side (default: the user's own; ``/bin/sh`` skips a slow
    ``~/.bashrc``, which bash reads for every command sshd runs). ``traversable``: directories the remote user
    may pass through (``o+x``, set in their overlay only), e.g. ``/root`` when this machine's Python lives there.
    """
    why = sshd_available()
    if why:
        raise RuntimeError(why)
    tmp.mkdir(parents=True, exist_ok=True)
    current = pwd.getpwuid(os.geteuid()).pw_name
    user = user or current
    root = os.geteuid() == 0
    if not root and (user != current or password or overlays or files or sudo or shell):
        raise RuntimeError("as a non-root user the test sshd can only log in the current user with a key")
    remote_root = tmp / "remote_root"
    remote_root.mkdir(exist_ok=True)
    overlays = list(dict.fromkeys(["/etc", *overlays, *traversable])) if root else []
    if root and not Path("/run/sshd").is_dir():  # sshd's privilege-separation directory
        overlays.append("/run")
        (remote_root / "run" / "sshd").mkdir(parents=True, exist_ok=True, mode=0o755)
    if home is None and user == current:
        home = Path(pwd.getpwnam(user).pw_dir)
    elif home is None:  # /home/<user> as on a real machine, living in the /home overlay
        home = Path("/home") / user
        overlays.append("/home")
    host_key, client_key = tmp / "ssh_host_ed25519_key", tmp / "client_ed25519"
    _keygen(host_key, "foldwise-test-host")
    _keygen(client_key, "foldwise-test-client")
    authorized = tmp / "authorized_keys"
    authorized.write_text(Path(f"{client_key}.pub").read_text())
    if root:
        uid, gid = _write_accounts(remote_root / "etc", user, home, password, sudo, shell)
        under_overlay = any(str(home).startswith(d.rstrip("/") + "/") for d in overlays)
        local_home = remote_root / str(home).lstrip("/") if under_overlay else home
        if not local_home.exists():
            local_home.mkdir(parents=True)
            os.chown(local_home, uid, gid)
        if sudo:
            sudoers = remote_root / "etc" / "sudoers.d"
            sudoers.mkdir(parents=True, exist_ok=True)
            (sudoers / "foldwise-test").write_text(f"{user} ALL=(ALL:ALL) ALL\n")
            os.chmod(sudoers / "foldwise-test", 0o440)
    for absolute, text in (files or {}).items():
        target = remote_root / absolute.lstrip("/")
        if not any(absolute == d or absolute.startswith(d.rstrip("/") + "/") for d in overlays):
            raise ValueError(f"{absolute} is not under an overlaid directory ({overlays})")
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(text)
    port = free_port()
    if permit_root_login is None:
        permit_root_login = "yes" if user == "root" else "no"
    config = tmp / "sshd_config"
    config.write_text("\n".join([
        "ListenAddress 127.0.0.1",
        f"Port {port}",
        f"HostKey {host_key}",
        f"PidFile {tmp / 'sshd.pid'}",
        f"AuthorizedKeysFile {authorized}",
        "UsePAM no",
        "StrictModes no",
        f"PasswordAuthentication {'yes' if password else 'no'}",
        "KbdInteractiveAuthentication no",
        "PubkeyAuthentication yes",
        f"PermitRootLogin {permit_root_login}",
        f"AllowUsers {user}",
        "Subsystem sftp internal-sftp",
        "PrintMotd no",
        "LogLevel VERBOSE",
        "MaxStartups 50",
        "MaxSessions 50",
        *extra_config,
    ]) + "\n")
    known_hosts = tmp / "known_hosts"
    log_path = tmp / "sshd.log"
    cmd = [str(SSHD), "-D", "-e", "-f", str(config)]
    if root:
        script = ["set -e"]
        for i, directory in enumerate(overlays):
            upper, work = remote_root / directory.lstrip("/"), tmp / "overlay-work" / str(i)
            upper.mkdir(parents=True, exist_ok=True)
            work.mkdir(parents=True, exist_ok=True)
            script.append(f"mount -t overlay foldwise-test -o lowerdir={directory},upperdir={upper},"
                          f"workdir={work} {directory}")
        script += [f"chmod o+x {directory}" for directory in traversable]
        script.append("exec " + " ".join(cmd))
        cmd = ["unshare", "--mount", "--propagation", "private", "--", "/bin/sh", "-c", "\n".join(script)]
    with open(log_path, "wb") as log:
        proc = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT,
                                start_new_session=True)
    server = SshServer(tmp, port, user, home, password, client_key, host_key, known_hosts, remote_root, log_path,
                       proc, namespaced=root, overlays=overlays)
    known_hosts.write_text(server.host_key_line())
    deadline = time.monotonic() + start_timeout
    while True:
        if proc.poll() is not None:
            raise RuntimeError(f"sshd exited with code {proc.returncode}: {server.log()}")
        try:
            with socket.create_connection((server.host, port), timeout=1.0) as sock:
                if sock.recv(64).startswith(b"SSH-2.0"):
                    return server
        except OSError:
            pass
        if time.monotonic() > deadline:
            server.stop()
            raise RuntimeError(f"sshd did not answer on port {port} within {start_timeout:.0f} s: {server.log()}")
        time.sleep(0.05)


def _skip_or_fail(why: str) -> None:
    # `make test` installs openssh-server (packaging/system-deps): a missing sshd is a broken set-up, never a skip.
    pytest.fail(f"test sshd unavailable: {why} (run `make test`, which installs openssh-server)")


@pytest.fixture(scope="module")
def sshd(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SshServer]:
    """A test sshd for the current user (key ``sshd.client_key``, password ``TEST_PASSWORD``), per module."""
    why = sshd_available()
    if why:
        _skip_or_fail(why)
    server = start_sshd(tmp_path_factory.mktemp("sshd"), password=TEST_PASSWORD if os.geteuid() == 0 else None)
    yield server
    server.stop()


@pytest.fixture
def sshd_factory(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Callable[..., SshServer]]:
    """``sshd_factory(**start_sshd_kwargs)``: servers stopped when the test ends."""
    why = sshd_available()
    if why:
        _skip_or_fail(why)
    servers: list[SshServer] = []

    def make(**kwargs: object) -> SshServer:
        server = start_sshd(tmp_path_factory.mktemp("sshd"), **kwargs)  # type: ignore[arg-type]
        servers.append(server)
        return server

    yield make
    for server in servers:
        server.stop()
