"""SFTP side of an SSH session: folders up and down with progress by bytes and cancel between chunks."""

from __future__ import annotations

import os
import shlex
import stat
import time
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path, PurePosixPath

from foldwise.core.jobs import JobContext, null_context
from foldwise.core.lazy_import import lazy_module
from foldwise.core.remote.target import ExecResult, SshError, SshTarget, TransferStats

paramiko = lazy_module("paramiko")  # imported on first use: 0.4 s the GUI's start does not need


class SftpMixin:
    """File transfer for :class:`~foldwise.core.remote.ssh.SshSession` (which provides the transport)."""

    # provided by SshSession
    target: SshTarget
    _sftp: paramiko.SFTPClient | None
    _home: str | None
    _transport: Callable[[], paramiko.Transport]
    run: Callable[..., ExecResult]

    @property
    def sftp(self) -> paramiko.SFTPClient:
        if self._sftp is None:
            try:
                self._sftp = self._transport().open_sftp_client()
            except paramiko.SSHException as exc:
                raise SshError(f"{self.target.display} refused SFTP: {exc}") from None
        return self._sftp

    @property
    def home(self) -> str:
        """The login user's home directory on the remote side."""
        if self._home is None:
            self._home = self.sftp.normalize(".")
        return self._home

    def expand(self, path: str) -> str:
        """``~`` and ``~/x`` become absolute remote paths (SFTP does not expand them)."""
        if path == "~":
            return self.home
        if path.startswith("~/"):
            return f"{self.home}/{path[2:]}"
        return path

    def makedirs(self, *paths: str) -> None:
        """``mkdir -p`` for all ``paths`` in one command."""
        if paths:
            self.run("mkdir -p " + " ".join(shlex.quote(self.expand(p)) for p in paths), check=True)

    def exists(self, path: str) -> bool:
        try:
            self.sftp.stat(self.expand(path))
            return True
        except OSError:
            return False

    def put_files(
        self, pairs: Sequence[tuple[Path, str]], ctx: JobContext | None = None, what: str = "uploading"
    ) -> TransferStats:
        """Upload (local file, remote path) pairs, creating remote folders; progress by bytes."""
        ctx = ctx or null_context()
        pairs = [(Path(local), self.expand(remote)) for local, remote in pairs]
        self.makedirs(*sorted({str(PurePosixPath(r).parent) for _, r in pairs}))
        total = sum(p.stat().st_size for p, _ in pairs) or 1
        stats, started = TransferStats(), time.monotonic()
        for local, remote in pairs:
            done_before = stats.bytes

            def progress(sent: int, _size: int, base: int = done_before, name: str = local.name) -> None:
                ctx.check_cancelled()
                ctx.progress((base + sent) / total, f"{what} {name}")

            self.sftp.put(str(local), remote, callback=progress)
            stats.files += 1
            stats.bytes += local.stat().st_size
        stats.seconds = time.monotonic() - started
        ctx.progress(1.0, f"{what}: {stats.files} files, {stats.bytes / 1e6:.1f} MB")
        return stats

    def put_dir(self, local: str | os.PathLike[str], remote: str, ctx: JobContext | None = None,
                exclude: Iterable[str] = ("__pycache__",)) -> TransferStats:
        """Upload a local folder's contents into ``remote`` (created), skipping names in ``exclude``."""
        local = Path(local)
        skip = set(exclude)
        pairs = []
        for path in sorted(local.rglob("*")):
            rel = path.relative_to(local)
            if path.is_file() and not skip.intersection(rel.parts):
                pairs.append((path, f"{remote.rstrip('/')}/{rel.as_posix()}"))
        return self.put_files(pairs, ctx)

    def _walk(self, remote: str, include: Iterable[str] | None, exclude: Iterable[str]) -> list[tuple[str, int]]:
        """(relative path, size) of every file below ``remote``; top-level names limited to ``include``."""
        wanted = set(include) if include is not None else None
        skip = set(exclude)
        found: list[tuple[str, int]] = []
        stack = [""]
        while stack:
            rel = stack.pop()
            try:
                entries = self.sftp.listdir_attr(f"{remote}/{rel}" if rel else remote)
            except FileNotFoundError:
                if not rel:
                    raise SshError(f"remote folder {remote} does not exist on {self.target.display}") from None
                continue
            for entry in entries:
                if entry.filename in skip or (not rel and wanted is not None and entry.filename not in wanted):
                    continue
                child = f"{rel}/{entry.filename}" if rel else entry.filename
                if stat.S_ISDIR(entry.st_mode or 0):
                    stack.append(child)
                elif stat.S_ISREG(entry.st_mode or 0):
                    found.append((child, int(entry.st_size or 0)))
        return sorted(found)

    def get_dir(self, remote: str, local: str | os.PathLike[str], ctx: JobContext | None = None,
                include: Iterable[str] | None = None, exclude: Iterable[str] = ()) -> TransferStats:
        """Download a remote folder's files into ``local``: only the top-level names in ``include`` (if given),
        never names in ``exclude`` (at any depth)."""
        ctx = ctx or null_context()
        remote = self.expand(remote).rstrip("/")
        local = Path(local)
        files = self._walk(remote, include, exclude)
        total = sum(size for _, size in files) or 1
        stats, started = TransferStats(), time.monotonic()
        for rel, size in files:
            target = local / rel
            target.parent.mkdir(parents=True, exist_ok=True)
            done_before = stats.bytes

            def progress(got: int, _size: int, base: int = done_before, name: str = rel) -> None:
                ctx.check_cancelled()
                ctx.progress((base + got) / total, f"downloading {name}")

            self.sftp.get(f"{remote}/{rel}", str(target), callback=progress)
            stats.files += 1
            stats.bytes += size
        stats.seconds = time.monotonic() - started
        ctx.progress(1.0, f"downloaded {stats.files} files, {stats.bytes / 1e6:.1f} MB")
        return stats


class ResumableMixin:
    """Uploads that survive a dropped connection (``.part`` file appended from where it stopped, then renamed)
    and remote sha256 checksums in one command; for :class:`~foldwise.core.remote.ssh.SshSession`."""

    target: SshTarget
    sftp: paramiko.SFTPClient
    expand: Callable[[str], str]
    run: Callable[..., ExecResult]
    connected: bool

    def sha256_tree(self, remote: str, timeout: float = 300.0) -> dict[str, str]:
        """{relative path: sha256} of every regular file below ``remote`` (``*.part`` left out); {} if absent."""
        folder = shlex.quote(self.expand(remote))
        result = self.run(f"cd {folder} 2>/dev/null || exit 0; find . -type f ! -name '*.part' -exec sha256sum "
                          "{} +", timeout=timeout, check=True)
        hashes = {}
        for line in result.stdout.splitlines():
            digest, _, name = line.partition("  ")
            if len(digest) == 64 and name.startswith("./"):
                hashes[name[2:]] = digest
        return hashes

    def _short_write(self, remote: str, arrived: int, size: int) -> str:
        folder = remote.rsplit("/", 1)[0] or "/"
        free = self.run(f"df -Pk {shlex.quote(folder)} | tail -1", timeout=30.0).stdout.split()  # type: ignore[attr-defined]
        free_kib = int(free[3]) if len(free) > 3 and free[3].isdigit() else None
        if free_kib is not None and free_kib * 1024 < size - arrived + 65536:
            return (f"no space left on the board: only {arrived:,} of {size:,} bytes of {remote} arrived and "
                    f"{free_kib:,} KiB are free in {folder}; remove old deployments (push --keep) or other files")
        return f"only {arrived:,} of {size:,} bytes of {remote} arrived on {self.target.display}: push again"

    def put_resumable(self, local: Path, remote: str, progress: Callable[[int], None] | None = None,
                      chunk: int = 1 << 18) -> int:
        """Upload ``local`` to ``remote`` through ``remote.part`` (resumed from its size), then rename it into
        place; ``progress(bytes sent so far)`` between chunks (it may raise Cancelled). Returns bytes sent.

        A dropped connection raises SshError; the ``.part`` stays, so a new session continues it.
        """
        remote = self.expand(remote)
        part = remote + ".part"
        size = Path(local).stat().st_size
        sent = 0
        try:
            try:
                offset = int(self.sftp.stat(part).st_size or 0)
            except FileNotFoundError:
                offset = 0
            mode = "ab" if 0 < offset <= size else "wb"
            offset = offset if mode == "ab" else 0
            with open(local, "rb") as src, self.sftp.open(part, mode) as dst:
                dst.set_pipelined(True)
                src.seek(offset)
                while True:
                    data = src.read(chunk)
                    if not data:
                        break
                    dst.write(data)
                    sent += len(data)
                    if progress is not None:
                        progress(offset + sent)
            # pipelined writes that failed (a full disk) are not always reported: check what arrived
            arrived = int(self.sftp.stat(part).st_size or 0)
            if arrived != size:
                self.sftp.remove(part)  # a full disk needs its space back more than a resumable part
                raise SshError(self._short_write(remote, arrived, size))
            self.sftp.posix_rename(part, remote)
        except (OSError, EOFError, paramiko.SSHException) as exc:
            lost = not self.connected or isinstance(exc, (EOFError, paramiko.SSHException))
            why = "the connection was lost" if lost else f"{exc}"
            raise SshError(f"uploading {Path(local).name} to {self.target.display} stopped: {why}"
                           + (" (the upload resumes where it stopped when run again)" if lost else "")) from None
        return sent
