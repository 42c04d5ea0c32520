"""An emulated board for users without hardware: an OpenSSH sshd of the user's own account on 127.0.0.1.

``start_emulated_board(name)`` writes host and client keys, an ``sshd_config`` and a known_hosts entry under
``<config dir>/emulated-boards/<name>/``, starts ``/usr/sbin/sshd`` (it detaches itself), and saves a board
profile ``name`` that logs in with the generated key. Its sshd sets ``FOLDWISE_EMULATOR`` to this Python: the
deployment runner then executes FINN's dataflow model here in place of a bitfile (every figure labelled
emulated). Nothing listens beyond loopback, no root is needed, and the user's own ``~/.ssh`` is left alone. The
host key is trusted because Foldwise generated it here, not because it was seen on the network.
"""

from __future__ import annotations

import contextlib
import getpass
import json
import os
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import foldwise
from foldwise.core.board.profiles import BoardProfile, get_board, save_board
from foldwise.core.board.runner_remote import EMULATOR_ENV, EMULATOR_PATH_ENV
from foldwise.core.errors import FoldwiseError, InputError, ToolMissingError
from foldwise.core.jobs import pid_alive
from foldwise.core.user_config import config_dir

SSHD = Path("/usr/sbin/sshd")
HOST = "127.0.0.1"
STATE = "emulated.json"


@dataclass
class EmulatedBoard:
    name: str
    port: int
    pid: int
    folder: Path
    profile: BoardProfile


def emulated_dir(name: str) -> Path:
    BoardProfile(name=name, host=HOST)  # checks the name
    return config_dir() / "emulated-boards" / name


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind((HOST, 0))
        return int(sock.getsockname()[1])


def _keygen(path: Path, comment: str) -> None:
    if not path.is_file():
        subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", comment, "-f", str(path)], check=True,
                       stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)


def _answers(port: int) -> bool:
    try:
        with socket.create_connection((HOST, port), timeout=1.0) as sock:
            return sock.recv(64).startswith(b"SSH-2.0")
    except OSError:
        return False


def running(name: str) -> EmulatedBoard | None:
    folder = emulated_dir(name)
    try:
        state = json.loads((folder / STATE).read_text(encoding="utf-8"))
        pid = int((folder / "sshd.pid").read_text().strip())
    except (OSError, ValueError):
        return None
    if not pid_alive(pid):
        return None
    return EmulatedBoard(name, int(state["port"]), pid, folder, get_board(name))


def _config(folder: Path, port: int, user: str) -> str:
    package_root = Path(foldwise.__file__).resolve().parents[1]
    return "\n".join([
        f"ListenAddress {HOST}", f"Port {port}",
        f"HostKey {folder / 'ssh_host_ed25519_key'}", f"PidFile {folder / 'sshd.pid'}",
        f"AuthorizedKeysFile {folder / 'authorized_keys'}",
        "UsePAM no", "StrictModes no", "PasswordAuthentication no", "KbdInteractiveAuthentication no",
        "PubkeyAuthentication yes", f"AllowUsers {user}",
        f"PermitRootLogin {'prohibit-password' if user == 'root' else 'no'}",
        "Subsystem sftp internal-sftp", "PrintMotd no", "MaxSessions 20",
        f"SetEnv {EMULATOR_ENV}={Path(sys.executable)} {EMULATOR_PATH_ENV}={package_root}",
    ]) + "\n"


def start_emulated_board(name: str, port: int | None = None, timeout: float = 15.0) -> EmulatedBoard:
    """Start (or find running) the emulated board ``name`` and save its board profile."""
    if not SSHD.is_file():
        raise ToolMissingError("an emulated board needs OpenSSH's server: apt-get install openssh-server "
                               "(`make setup` installs it)")
    if port is not None and not 0 < port < 65536:
        raise InputError(f"port {port} is out of range (1-65535)")
    already = running(name)
    if already is not None:
        if port is not None and port != already.port:
            raise InputError(f"emulated board {name} already runs on port {already.port}: stop it first (--stop)")
        return already
    folder = emulated_dir(name)
    folder.mkdir(parents=True, exist_ok=True)
    os.chmod(folder, 0o700)
    host_key, client_key = folder / "ssh_host_ed25519_key", folder / "client_ed25519"
    _keygen(host_key, f"foldwise-emulated-{name}-host")
    _keygen(client_key, f"foldwise-emulated-{name}")
    (folder / "authorized_keys").write_text(Path(f"{client_key}.pub").read_text())
    port = port or _free_port()
    user = getpass.getuser()
    (folder / "sshd_config").write_text(_config(folder, port, user))
    if os.geteuid() == 0:
        Path("/run/sshd").mkdir(mode=0o755, exist_ok=True)  # sshd's privilege-separation directory
    (folder / "sshd.pid").unlink(missing_ok=True)
    started = subprocess.run([str(SSHD), "-f", str(folder / "sshd_config"), "-E", str(folder / "sshd.log")],
                             stdin=subprocess.DEVNULL, capture_output=True, text=True)
    if started.returncode != 0:
        raise FoldwiseError(f"sshd did not start: {started.stderr.strip() or _log_tail(folder)}")
    deadline = time.monotonic() + timeout
    while not _answers(port):
        if time.monotonic() > deadline:
            raise FoldwiseError(f"the emulated board's sshd did not answer on {HOST}:{port} within {timeout:g} s "
                                f"(port in use?): {_log_tail(folder)}")
        time.sleep(0.05)
    host_line = Path(f"{host_key}.pub").read_text().split()
    known = folder / "known_hosts"
    known.write_text(f"[{HOST}]:{port} {host_line[0]} {host_line[1]}\n")
    (folder / STATE).write_text(json.dumps({"port": port, "user": user}))
    profile = save_board(BoardProfile.create(name, HOST, user=user, port=port, key=client_key, known_hosts=known,
                                             connect_timeout=5.0))
    pid = int((folder / "sshd.pid").read_text().strip())
    return EmulatedBoard(name, port, pid, folder, profile)


def _log_tail(folder: Path) -> str:
    try:
        return " / ".join((folder / "sshd.log").read_text(errors="replace").strip().splitlines()[-3:])
    except OSError:
        return "no log"


def stop_emulated_board(name: str, timeout: float = 5.0) -> bool:
    """Stop the emulated board's sshd (its profile stays, for its run records); False if it was not running."""
    board = running(name)
    if board is None:
        return False
    with contextlib.suppress(ProcessLookupError):
        os.kill(board.pid, signal.SIGTERM)
    deadline = time.monotonic() + timeout
    while pid_alive(board.pid) and time.monotonic() < deadline:
        time.sleep(0.05)
    (board.folder / "sshd.pid").unlink(missing_ok=True)
    return True
