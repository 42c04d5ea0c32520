"""SshSession against a real OpenSSH sshd on 127.0.0.1: auth, host keys, exec, streaming cancel, SFTP."""

from __future__ import annotations

import functools
import os
import socket
import subprocess
import threading
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from foldwise.core.errors import Cancelled, InputError
from foldwise.core.jobs import JobContext
from foldwise.core.remote.ssh import (
    AuthFailedError,
    HostKeyMismatchError,
    HostUnreachableError,
    SshError,
    SshSession,
    SshTarget,
    UnknownHostKeyError,
    forget_host,
    scan_host_key,
)
from tests.core.remote.conftest import target_for
from tests.sshd import TEST_PASSWORD, SshServer, free_port


def needs_root(test: Callable[..., None]) -> Callable[..., None]:
    """Password logins and other users need the namespaced test sshd, which only root can start."""

    @functools.wraps(test)
    def run(*args: object, **kwargs: object) -> None:
        assert os.geteuid() == 0, "this test starts the namespaced test sshd: run the suite as root (as CI does)"
        test(*args, **kwargs)

    return run


def _cmdline(pid: int) -> list[str]:
    import psutil

    try:
        return psutil.Process(pid).cmdline()
    except psutil.Error:
        return []


def _ssh_keygen_fingerprint(pub: Path) -> str:
    return subprocess.run(["ssh-keygen", "-lf", str(pub)], capture_output=True, text=True, check=True).stdout.split()[1]


def test_parse_targets() -> None:
    t = SshTarget.parse("xilinx@192.168.2.99")
    assert (t.user, t.host, t.port) == ("xilinx", "192.168.2.99", 22)
    t = SshTarget.parse("build.example:2222", user="me")
    assert (t.user, t.host, t.port, t.display) == ("me", "build.example", 2222, "me@build.example:2222")
    assert SshTarget.parse("u@[::1]:2200").host == "::1"
    with pytest.raises(InputError):
        SshTarget.parse("u@host:99999")
    with pytest.raises(InputError):
        SshTarget.parse("a b")
    assert "password" not in SshTarget.parse("u@h", password="secret").to_dict()


def test_key_login_exec_and_batch(sshd: SshServer) -> None:
    with SshSession(target_for(sshd)) as session:
        assert session.connect_seconds is not None and session.connect_seconds < 5
        assert session.host_fingerprint == _ssh_keygen_fingerprint(Path(f"{sshd.host_key}.pub"))
        result = session.run("echo out; echo err >&2; exit 3")
        assert (result.exit_code, result.stdout, result.stderr) == (3, "out\n", "err\n")
        with pytest.raises(SshError, match="exit code 3"):
            result.check()
        batch = session.run_batch(["echo a", "printf 'no newline'", "false", "echo e >&2; exit 7", "echo $((2+3))"])
        assert [(r.exit_code, r.stdout, r.stderr) for r in batch] == [
            (0, "a\n", ""), (0, "no newline", ""), (1, "", ""), (7, "", "e\n"), (0, "5\n", "")]
        assert session.home == str(sshd.home)
        assert session.expand("~/x") == f"{sshd.home}/x"


@needs_root
def test_password_login_and_wrong_credentials(sshd: SshServer, tmp_path: Path) -> None:
    with SshSession(target_for(sshd, identity=None, password=TEST_PASSWORD)) as session:
        assert session.run("echo ok").stdout == "ok\n"
    started = time.monotonic()
    with pytest.raises(AuthFailedError, match=rf"authentication failed for {sshd.user}@127.0.0.1:{sshd.port} "
                                              r"\(password\)"):
        SshSession(target_for(sshd, identity=None, password="wrong")).connect()
    other_key = tmp_path / "other"
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(other_key)], check=True)
    with pytest.raises(AuthFailedError, match=f"key {other_key}"):
        SshSession(target_for(sshd, identity=other_key)).connect()
    assert time.monotonic() - started < 15
    with pytest.raises(InputError, match="identity file not found"):
        SshSession(target_for(sshd, identity=tmp_path / "missing")).connect()


def test_unknown_host_key_needs_explicit_trust(sshd: SshServer, tmp_path: Path) -> None:
    known = tmp_path / "sub" / "known_hosts"
    expected = _ssh_keygen_fingerprint(Path(f"{sshd.host_key}.pub"))
    assert scan_host_key(sshd.host, sshd.port) == ("ssh-ed25519", expected)
    with pytest.raises(UnknownHostKeyError) as info:
        SshSession(target_for(sshd, known_hosts=known)).connect()
    assert info.value.fingerprint == expected and expected in str(info.value)
    assert known.read_text() == ""  # nothing was added silently
    with pytest.raises(UnknownHostKeyError, match="is not this one: refused"):
        SshSession(target_for(sshd, known_hosts=known), trust_fingerprint="SHA256:not-it").connect()
    assert known.read_text() == ""
    with SshSession(target_for(sshd, known_hosts=known), trust_fingerprint=expected) as session:
        assert session.run("true").ok
    assert f"[127.0.0.1]:{sshd.port} ssh-ed25519 " in known.read_text()
    with SshSession(target_for(sshd, known_hosts=known)) as session:  # trusted from now on
        assert session.run("true").ok


def test_host_key_mismatch_is_refused(sshd: SshServer, tmp_path: Path) -> None:
    impostor = tmp_path / "impostor_key"
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(impostor)], check=True)
    known = tmp_path / "known_hosts"
    key_type, blob = Path(f"{impostor}.pub").read_text().split()[:2]
    known.write_text(f"[127.0.0.1]:{sshd.port} {key_type} {blob}\n")
    before = known.read_text()
    with pytest.raises(HostKeyMismatchError) as info:
        SshSession(target_for(sshd, known_hosts=known), trust_fingerprint="anything").connect()
    error = info.value
    assert error.expected_fingerprint == _ssh_keygen_fingerprint(Path(f"{impostor}.pub"))
    assert error.fingerprint == _ssh_keygen_fingerprint(Path(f"{sshd.host_key}.pub"))
    assert "HOST KEY MISMATCH" in str(error) and error.fingerprint in str(error)
    assert known.read_text() == before
    assert forget_host("127.0.0.1", sshd.port, known)
    with pytest.raises(UnknownHostKeyError):
        SshSession(target_for(sshd, known_hosts=known)).connect()


def test_unreachable_hosts_fail_fast(tmp_path: Path) -> None:
    started = time.monotonic()
    with pytest.raises(HostUnreachableError, match="connection refused"):
        SshSession(SshTarget("127.0.0.1", free_port(), known_hosts=tmp_path / "kh", connect_timeout=2)).connect()
    assert time.monotonic() - started < 2
    with socket.socket() as silent:  # accepts TCP (the kernel does) but never speaks SSH
        silent.bind(("127.0.0.1", 0))
        silent.listen(1)
        port = silent.getsockname()[1]
        started = time.monotonic()
        with pytest.raises(HostUnreachableError, match="within 1 s"):
            SshSession(SshTarget("127.0.0.1", port, known_hosts=tmp_path / "kh", connect_timeout=1)).connect()
        assert time.monotonic() - started < 4


def test_stream_lines_live_and_cancel_kills_remote_group(sshd: SshServer, tmp_path: Path) -> None:
    lines: list[str] = []
    ctx = JobContext(on_log=lines.append)
    stamps: list[float] = []

    def on_line(line: str) -> None:
        stamps.append(time.monotonic())
        lines.append(line)
        if line == "tick 2":
            threading.Timer(0.2, ctx.cancel).start()

    script = "echo group $$; sleep 300 & for i in 1 2 3 4 5 6 7 8 9; do echo tick $i; sleep 0.3; done; wait"
    with SshSession(target_for(sshd)) as session:
        with pytest.raises(Cancelled):
            session.stream(script, ctx, on_stdout=on_line, log_file=tmp_path / "log.txt")
        pgid = int(lines[0].split()[1])
        with pytest.raises(ProcessLookupError):  # the sshd is on this machine: the whole group is gone
            os.killpg(pgid, 0)
        assert "tick 2" in lines and "tick 9" not in lines
        assert stamps[2] - stamps[1] > 0.2  # lines arrived as printed, not at the end
        assert "tick 1" in (tmp_path / "log.txt").read_text()
        assert session.stream("echo one; echo two >&2; exit 4", ctx=JobContext(on_log=lines.append)) == 4
        assert lines[-2:] == ["one", "two"]
        with pytest.raises(SshError, match="timed out"):
            session.stream("sleep 301", JobContext(on_log=lines.append), timeout=0.5)
        assert not [p for p in sshd.session_pids() if "301" in " ".join(_cmdline(p))]


def test_sftp_folders_round_trip(sshd: SshServer, tmp_path: Path) -> None:
    src = tmp_path / "src"
    (src / "a" / "b").mkdir(parents=True)
    (src / "top.txt").write_text("top")
    (src / "a" / "b" / "deep.bin").write_bytes(os.urandom(300_000))
    (src / "__pycache__").mkdir()
    (src / "__pycache__" / "x.pyc").write_bytes(b"x")
    progress: list[float] = []
    ctx = JobContext(on_progress=lambda f, _m: progress.append(f))
    remote = str(tmp_path / "remote" / "copy")
    with SshSession(target_for(sshd)) as session:
        up = session.put_dir(src, remote, ctx)
        assert (up.files, up.bytes) == (2, 300_003)
        assert progress[-1] == 1.0 and progress == sorted(progress)
        assert session.exists(f"{remote}/a/b/deep.bin") and not session.exists(f"{remote}/__pycache__")
        down = session.get_dir(remote, tmp_path / "back")
        assert (tmp_path / "back" / "a" / "b" / "deep.bin").read_bytes() == (src / "a" / "b" / "deep.bin").read_bytes()
        assert down.files == 2
        only = session.get_dir(remote, tmp_path / "only", include=["top.txt"])
        assert only.files == 1 and not (tmp_path / "only" / "a").exists()
        with pytest.raises(SshError, match="does not exist"):
            session.get_dir(remote + "-missing", tmp_path / "x")


@needs_root
def test_pynq_like_server_for_the_board_stage(sshd_factory) -> None:
    """The fixture can pose as a PYNQ image: user xilinx, venv and profile scripts at their real paths, sudo."""
    import shutil

    server = sshd_factory(
        user="xilinx", password="xilinx", overlays=["/usr/local/share"], sudo=shutil.which("sudo") is not None,
        files={"/etc/profile.d/pynq_venv.sh": "export PYNQ_VENV=/usr/local/share/pynq-venv\n",
               "/usr/local/share/pynq-venv/bin/activate": "export VIRTUAL_ENV=/usr/local/share/pynq-venv\n"},
    )
    target = SshTarget.parse(server.spec, password="xilinx", known_hosts=server.known_hosts)
    with SshSession(target) as session:
        result = session.run(". /etc/profile.d/pynq_venv.sh && . $PYNQ_VENV/bin/activate && echo $VIRTUAL_ENV; "
                             "id -un; pwd", check=True)
        assert result.stdout.split() == ["/usr/local/share/pynq-venv", "xilinx", str(server.home)]
        if shutil.which("sudo"):  # the password goes on stdin, never on the command line
            assert session.run("sudo -S -p '' id -u", stdin="xilinx\n", check=True).stdout == "0\n"
    assert not Path("/etc/profile.d/pynq_venv.sh").exists()  # the host is untouched
