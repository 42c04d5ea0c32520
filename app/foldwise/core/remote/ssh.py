"""SSH sessions as cancellable core jobs: one paramiko connection, batched or streamed commands, SFTP folders.

Host keys are checked against a Foldwise ``known_hosts`` file (per user by default, or one a project keeps).
An unknown key is never added silently: :class:`UnknownHostKeyError` carries its fingerprint, and the caller
connects again with ``trust_fingerprint=`` that exact fingerprint once the user has confirmed it (trust on
first use, explicit). A key that differs from the known one is refused (:class:`HostKeyMismatchError`).

A streamed command runs in its own process group on the remote side (sshd starts each command in a new
session, so the shell's ``$$`` is the group id); cancel kills that group, then closes the channel. Commands
run in the login user's shell (POSIX shells assumed: sh, bash, dash, busybox ash), which is not a login
shell: profile scripts are not read, so source them in the command when needed.
"""

from __future__ import annotations

import codecs
import contextlib
import logging
import os
import re
import secrets
import select
import shlex
import socket
import time
from collections.abc import Callable, Sequence
from pathlib import Path

from foldwise.core.errors import Cancelled, InputError
from foldwise.core.jobs import JobContext, null_context
from foldwise.core.lazy_import import lazy_module
from foldwise.core.remote._sftp import ResumableMixin, SftpMixin
from foldwise.core.remote.target import (
    DEFAULT_PORT,
    AuthFailedError,
    ExecResult,
    HostKeyError,
    HostKeyMismatchError,
    HostUnreachableError,
    RemoteCommandError,
    SshError,
    SshTarget,
    TransferStats,
    UnknownHostKeyError,
    _host_id,
    default_known_hosts,
    fingerprint,
)

paramiko = lazy_module("paramiko")  # imported on first use: 0.4 s the GUI's start does not need

# paramiko logs handshake failures at ERROR level; Foldwise reports them as typed errors instead
logging.getLogger("paramiko").addHandler(logging.NullHandler())

__all__ = [
    "DEFAULT_PORT", "AuthFailedError", "ExecResult", "HostKeyError", "HostKeyMismatchError", "HostUnreachableError",
    "RemoteCommandError", "SshError", "SshSession", "SshTarget", "TransferStats", "UnknownHostKeyError",
    "default_known_hosts", "fingerprint", "forget_host", "scan_host_key",
]
LineCallback = Callable[[str], None]


class _ExplicitTrust:
    """Unknown host key: accept (and save) only the fingerprint the user confirmed; else report it.

    A paramiko ``MissingHostKeyPolicy`` by shape (paramiko only calls ``missing_host_key``), not by
    inheritance: subclassing would import paramiko whenever this module is imported."""

    def __init__(self, target: SshTarget, trust_fingerprint: str | None, known_hosts: Path) -> None:
        self.target = target
        self.trust = trust_fingerprint
        self.known_hosts = known_hosts

    def missing_host_key(self, client: paramiko.SSHClient, hostname: str, key: paramiko.PKey) -> None:
        fp = fingerprint(key)
        if self.trust is not None and self.trust.strip() == fp:
            client.get_host_keys().add(hostname, key.get_name(), key)
            client.save_host_keys(str(self.known_hosts))
            return
        hint = ("" if self.trust is None else
                f" (the fingerprint given to trust, {self.trust.strip()}, is not this one: refused)")
        raise UnknownHostKeyError(
            f"{self.target.display} is not a known host{hint}. Its {key.algorithm_name} host key fingerprint is "
            f"{fp}. If that is the host's key (check it on the host with `ssh-keygen -lf "
            f"/etc/ssh/ssh_host_{key.algorithm_name.lower()}_key.pub`), trust it explicitly; it is then saved to "
            f"{self.known_hosts}.",
            host=hostname, key_type=key.get_name(), fingerprint=fp, known_hosts=self.known_hosts,
        )


class _LineSplitter:
    """Bytes in, complete decoded lines out (the last partial line is kept until ``flush``)."""

    def __init__(self, on_line: LineCallback) -> None:
        self._decoder = codecs.getincrementaldecoder("utf-8")(errors="replace")
        self._buf = ""
        self._on_line = on_line

    def feed(self, data: bytes) -> None:
        self._buf += self._decoder.decode(data)
        while "\n" in self._buf:
            line, self._buf = self._buf.split("\n", 1)
            self._on_line(line.rstrip("\r"))

    def flush(self) -> None:
        self._buf += self._decoder.decode(b"", final=True)
        if self._buf:
            self._on_line(self._buf)
            self._buf = ""


def _auth_label(target: SshTarget) -> str:
    methods = []
    if target.identity:
        methods.append(f"key {target.identity}")
    if target.password is not None:
        methods.append("password")
    if not methods:
        methods.append("agent/default keys" if target.use_default_keys else "no credentials")
    return " and ".join(methods)


class SshSession(SftpMixin, ResumableMixin):
    """One SSH connection to ``target``; use as a context manager or call ``connect()``/``close()``.

    ``trust_fingerprint``: accept an unknown host key only if its fingerprint equals this (and save it).
    """

    def __init__(self, target: SshTarget, *, trust_fingerprint: str | None = None) -> None:
        self.target = target
        self.trust_fingerprint = trust_fingerprint
        self.client: paramiko.SSHClient | None = None
        self.host_fingerprint: str | None = None
        self.connect_seconds: float | None = None
        self._sftp: paramiko.SFTPClient | None = None
        self._home: str | None = None

    # -- connection ------------------------------------------------------------------------------------

    def connect(self) -> SshSession:
        """Open the connection and authenticate; typed SshError subclasses on every failure."""
        if self.client is not None:
            return self
        target = self.target
        known = target.known_hosts_path()
        known.parent.mkdir(parents=True, exist_ok=True)
        if not known.exists():
            known.touch(mode=0o600)
        client = paramiko.SSHClient()
        client.load_host_keys(str(known))
        client.set_missing_host_key_policy(_ExplicitTrust(target, self.trust_fingerprint, known))
        pkey = self._load_identity()
        fallback = target.use_default_keys and pkey is None and target.password is None
        started = time.monotonic()
        try:
            client.connect(
                target.host, port=target.port, username=target.login, password=target.password, pkey=pkey,
                timeout=target.connect_timeout, banner_timeout=target.connect_timeout,
                auth_timeout=target.connect_timeout, channel_timeout=target.connect_timeout,
                allow_agent=fallback, look_for_keys=fallback,
            )
        except HostKeyError:
            client.close()
            raise
        except paramiko.BadHostKeyException as exc:
            client.close()
            expected, got = fingerprint(exc.expected_key), fingerprint(exc.key)
            raise HostKeyMismatchError(
                f"HOST KEY MISMATCH for {target.display}: {known} holds {exc.expected_key.algorithm_name} "
                f"{expected}, but the host presented {exc.key.algorithm_name} {got}. Refusing to connect: the "
                "host may have been re-installed, or someone may be intercepting the connection. If you know "
                f"the host was re-installed, remove its line for {_host_id(target.host, target.port)} "
                f"from {known} and trust the new key.",
                host=target.host, key_type=exc.key.get_name(), fingerprint=got, known_hosts=known,
                expected_fingerprint=expected,
            ) from None
        except paramiko.AuthenticationException as exc:
            client.close()
            raise AuthFailedError(
                f"authentication failed for {target.display} ({_auth_label(target)}): {exc}"
            ) from None
        except TimeoutError:
            client.close()
            raise HostUnreachableError(
                f"no answer from {target.host}:{target.port} within {target.connect_timeout:g} s "
                "(host down, wrong address, or a firewall)"
            ) from None
        except socket.gaierror as exc:
            client.close()
            raise HostUnreachableError(f"cannot resolve host name {target.host!r}: {exc.strerror}") from None
        except paramiko.SSHException as exc:
            client.close()
            # paramiko reports a handshake that never started as a banner error or as "No existing session"
            if "banner" in str(exc).lower() or "no existing session" in str(exc).lower():
                raise HostUnreachableError(
                    f"{target.host}:{target.port} did not answer like an SSH server within "
                    f"{target.connect_timeout:g} s ({exc})"
                ) from None
            raise SshError(f"SSH connection to {target.display} failed: {exc}") from None
        except OSError as exc:
            client.close()
            causes = list(getattr(exc, "errors", {}).values()) or [exc]
            if any(isinstance(c, TimeoutError) for c in causes):
                reason = f"no answer within {target.connect_timeout:g} s (host down, wrong address, or a firewall)"
            elif all(isinstance(c, ConnectionRefusedError) for c in causes):
                reason = "connection refused (no SSH server on that port?)"
            else:
                reason = "; ".join(sorted({c.strerror or str(c) for c in causes}))
            raise HostUnreachableError(f"cannot reach {target.host}:{target.port}: {reason}") from None
        self.connect_seconds = time.monotonic() - started
        transport = client.get_transport()
        assert transport is not None
        transport.set_keepalive(15)
        self.host_fingerprint = fingerprint(transport.get_remote_server_key())
        self.client = client
        return self

    def _load_identity(self) -> paramiko.PKey | None:
        path = self.target.identity
        if path is None:
            return None
        path = Path(path).expanduser()
        if not path.is_file():
            raise InputError(f"SSH identity file not found: {path}")
        try:
            return paramiko.PKey.from_path(str(path), self.target.passphrase)
        except paramiko.PasswordRequiredException:
            raise AuthFailedError(f"the key {path} is encrypted: give its passphrase") from None
        except (paramiko.SSHException, ValueError) as exc:
            raise AuthFailedError(f"cannot load the key {path}: {exc}") from None

    @property
    def connected(self) -> bool:
        transport = self.client.get_transport() if self.client else None
        return bool(transport and transport.is_active())

    def _transport(self) -> paramiko.Transport:
        if not self.connected:
            if self.client is None:
                self.connect()
            else:
                raise SshError(f"the connection to {self.target.display} was lost")
        transport = self.client.get_transport() if self.client else None
        assert transport is not None
        return transport

    def close(self) -> None:
        if self._sftp is not None:
            with contextlib.suppress(Exception):
                self._sftp.close()
            self._sftp = None
        if self.client is not None:
            self.client.close()
            self.client = None

    def __enter__(self) -> SshSession:
        return self.connect()

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- commands --------------------------------------------------------------------------------------

    def open_exec(self, command: str) -> paramiko.Channel:
        """A channel running ``command``, for a long-lived exchange on its stdin/stdout (the caller closes it)."""
        return self._open(command)

    def _open(self, command: str) -> paramiko.Channel:
        try:
            chan = self._transport().open_session(timeout=self.target.connect_timeout)
            chan.exec_command(command)
        except paramiko.SSHException as exc:
            raise SshError(f"cannot start a command on {self.target.display}: {exc}") from None
        return chan

    @staticmethod
    def _pump(
        chan: paramiko.Channel, on_out: Callable[[bytes], None], on_err: Callable[[bytes], None],
        stop: Callable[[], str | None],
    ) -> str | int:
        """Feed the channel's output to the callbacks until it exits (its code) or ``stop()`` says why not."""
        while True:
            reason = stop()
            if reason:
                return reason
            select.select([chan], [], [], 0.1)
            while chan.recv_ready():
                on_out(chan.recv(65536))
            while chan.recv_stderr_ready():
                on_err(chan.recv_stderr(65536))
            if (chan.eof_received or chan.closed) and not chan.recv_ready() and not chan.recv_stderr_ready():
                break
        while not chan.status_event.wait(0.1):
            reason = stop()
            if reason:
                return reason
        return chan.recv_exit_status()

    def run(self, command: str, *, timeout: float = 60.0, stdin: str | bytes | None = None,
            check: bool = False) -> ExecResult:
        """Run one command and collect its output (each call costs a round trip: batch with ``run_batch``)."""
        started = time.monotonic()
        chan = self._open(command)
        out, err = bytearray(), bytearray()
        try:
            if stdin is not None:
                chan.sendall(stdin.encode() if isinstance(stdin, str) else stdin)
            chan.shutdown_write()
            deadline = started + timeout
            code = self._pump(chan, out.extend, err.extend,
                              lambda: "timeout" if time.monotonic() > deadline else None)
        finally:
            chan.close()
        if code == "timeout":
            raise SshError(f"`{command[:80]}` on {self.target.display} timed out after {timeout:g} s")
        result = ExecResult(command, int(code), out.decode(errors="replace"), err.decode(errors="replace"),
                            time.monotonic() - started)
        return result.check() if check else result

    def run_batch(self, commands: Sequence[str], *, timeout: float = 60.0) -> list[ExecResult]:
        """Run several commands one after another in one channel (one round trip); one result each.

        Each runs in its own subshell, so a failing command does not stop the next ones.
        """
        nonce = secrets.token_hex(6)
        parts = []
        for i, cmd in enumerate(commands):
            parts.append(f"( {cmd}\n) </dev/null; __fw_rc=$?; printf '\\n@@fw-{nonce} {i} %s\\n' \"$__fw_rc\"; "
                         f"printf '\\n@@fw-{nonce} {i}\\n' >&2")
        started = time.monotonic()
        raw = self.run("\n".join(parts), timeout=timeout)
        outs = re.split(rf"\n@@fw-{nonce} (\d+) (-?\d+)\n", raw.stdout)
        errs = re.split(rf"\n@@fw-{nonce} \d+\n", raw.stderr)
        results = []
        for i, cmd in enumerate(commands):
            if 3 * i + 2 >= len(outs):  # the batch stopped early (connection lost, shell died)
                results.append(ExecResult(cmd, -1, "", raw.stderr, time.monotonic() - started))
                continue
            results.append(ExecResult(cmd, int(outs[3 * i + 2]), outs[3 * i],
                                      errs[i] if i < len(errs) else "", time.monotonic() - started))
        return results

    def stream(
        self,
        command: str,
        ctx: JobContext | None = None,
        *,
        on_stdout: LineCallback | None = None,
        on_stderr: LineCallback | None = None,
        stdin: str | bytes | None = None,
        log_file: str | os.PathLike[str] | None = None,
        timeout: float | None = None,
        kill_grace: float = 3.0,
    ) -> int:
        """Run ``command`` with its output streamed line by line as it comes; return the exit code.

        Lines go to ``on_stdout``/``on_stderr`` if given, else to ``ctx.log``, and all of them to
        ``log_file``. Cancel (``ctx``) or ``timeout`` kill the command's remote process group (SIGTERM, then
        SIGKILL after ``kill_grace`` s), close the channel and raise Cancelled / SshError.
        """
        ctx = ctx or null_context()
        nonce = secrets.token_hex(6)
        marker = f"@@fw-pgid-{nonce} "
        pgid: list[int] = []
        log_handle = open(log_file, "a", encoding="utf-8") if log_file else None  # noqa: SIM115

        def emit(line: str, callback: LineCallback | None) -> None:
            if log_handle:
                log_handle.write(line + "\n")
                log_handle.flush()
            (callback or ctx.log)(line)

        def err_line(line: str) -> None:
            if not pgid and line.startswith(marker):
                pgid.append(int(line[len(marker):]))
                return
            emit(line, on_stderr)

        out = _LineSplitter(lambda line: emit(line, on_stdout))
        err = _LineSplitter(err_line)
        deadline = None if timeout is None else time.monotonic() + timeout

        def stop() -> str | None:
            if ctx.cancelled:
                return "cancelled"
            if deadline is not None and time.monotonic() > deadline:
                return "timeout"
            return None

        chan = self._open(f"echo '{marker}'$$ >&2; {command}")
        try:
            if stdin is not None:
                chan.sendall(stdin.encode() if isinstance(stdin, str) else stdin)
            chan.shutdown_write()
            code = self._pump(chan, out.feed, err.feed, stop)
            if isinstance(code, str):
                wait_until = time.monotonic() + 2.0
                while not pgid and time.monotonic() < wait_until and not chan.closed:
                    if chan.recv_stderr_ready():
                        err.feed(chan.recv_stderr(65536))
                    else:
                        time.sleep(0.02)
                if pgid:
                    self.kill_process_group(pgid[0], grace=kill_grace)
                else:
                    emit(f"(could not learn the remote process group: {self.target.display} may still run it)",
                         on_stderr)
                if code == "cancelled":
                    raise Cancelled()
                raise SshError(f"`{command[:80]}` on {self.target.display} timed out after {timeout:g} s")
            out.flush()
            err.flush()
            return int(code)
        finally:
            chan.close()
            if log_handle:
                log_handle.close()

    def kill_process_group(self, pgid: int, *, grace: float = 3.0, sudo_password: str | None = None) -> bool:
        """SIGTERM the remote process group ``pgid``, SIGKILL it after ``grace`` s; True if it is gone.

        ``sudo_password``: kill through ``sudo -S`` (for processes started as root, e.g. on a PYNQ board).
        """
        if pgid <= 1:
            raise InputError(f"refusing to kill process group {pgid}")
        steps = max(int(grace / 0.1), 1)
        script = (f"kill -TERM -{pgid} 2>/dev/null; i=0; while kill -0 -{pgid} 2>/dev/null && [ $i -lt {steps} ];"
                  f" do sleep 0.1; i=$((i+1)); done; kill -KILL -{pgid} 2>/dev/null; sleep 0.1; "
                  f"kill -0 -{pgid} 2>/dev/null && echo alive || echo gone")
        command, stdin = f"sh -c {shlex.quote(script)}", None
        if sudo_password is not None:
            command, stdin = f"sudo -S -p '' {command}", sudo_password + "\n"
        result = self.run(command, timeout=grace + 15.0, stdin=stdin)
        return result.stdout.strip().endswith("gone")


def scan_host_key(host: str, port: int = DEFAULT_PORT, timeout: float = 10.0) -> tuple[str, str]:
    """(key type, ``SHA256:`` fingerprint) the server presents, without logging in: show it before trusting."""
    target = SshTarget(host=host, port=port, connect_timeout=timeout)
    try:
        sock = socket.create_connection((host, port), timeout=timeout)
    except OSError as exc:
        raise HostUnreachableError(f"cannot reach {host}:{port}: {exc.strerror or exc}") from None
    transport = paramiko.Transport(sock)
    transport.banner_timeout = timeout
    try:
        transport.start_client(timeout=timeout)
        key = transport.get_remote_server_key()
        return key.get_name(), fingerprint(key)
    except paramiko.SSHException as exc:
        raise HostUnreachableError(f"{target.display} did not complete an SSH handshake: {exc}") from None
    finally:
        transport.close()


def forget_host(host: str, port: int = DEFAULT_PORT, known_hosts: Path | None = None) -> bool:
    """Remove a host's keys from the Foldwise known_hosts (after a re-install); True if any were there."""
    path = Path(known_hosts) if known_hosts else default_known_hosts()
    if not path.is_file():
        return False
    keys = paramiko.HostKeys(str(path))
    name = _host_id(host, port)
    if name not in keys:
        return False
    del keys[name]
    keys.save(str(path))
    return True
