"""Push a folder (a deployment package) to a board over SFTP, safely and only what changed.

On the board, ``<root>/<group>/`` holds one folder per deployment, ``<UTC time>-<content digest>``, and a
``latest`` symlink. A push: hashes the local files; if the latest deployment holds the same content (each
file's sha256 checked on the board) it is reused; else it fills ``.incoming-<digest>/`` (files the latest
deployment already has intact are copied on the board, files already complete there from an interrupted push
are kept, the rest are uploaded through ``.part`` files resumed where they stopped), checks every file's sha256
on the board, then renames the folder into place and keeps the newest ``keep`` deployments. A deployment
folder is therefore always complete: a dropped connection leaves only the ``.incoming-`` folder, which the
next push of the same content resumes.
"""

from __future__ import annotations

import json
import re
import shlex
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from foldwise.core.board.manifest import MANIFEST_NAME, FileEntry, content_digest, folder_manifest
from foldwise.core.board.profiles import BoardProfile
from foldwise.core.errors import InputError
from foldwise.core.jobs import JobContext, null_context
from foldwise.core.remote.ssh import SshError, SshSession

DEPLOY_ROOT = "~/foldwise/deployments"
_GROUP_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$")
# <UTC time to the microsecond>-<digest>: names sort in push order, even for pushes within one second
# (the older second-only names still match and sort first).
_DEPLOYMENT_RE = re.compile(r"^\d{8}-\d{6}(\.\d{6})?-[0-9a-f]{12}$")


@dataclass
class PushResult:
    """What a push did; ``mb_per_s`` is measured (bytes sent over the wall time of the uploads)."""

    board: str
    group: str
    deployment: str  # absolute remote path of the complete deployment folder
    digest: str
    files: int
    bytes_total: int
    uploaded: list[str] = field(default_factory=list)
    copied_on_board: list[str] = field(default_factory=list)
    resumed: list[str] = field(default_factory=list)  # complete in .incoming- from an interrupted push
    unchanged: bool = False  # the latest deployment already held this content
    bytes_sent: int = 0
    upload_seconds: float = 0.0
    seconds: float = 0.0
    removed: list[str] = field(default_factory=list)  # older deployments deleted (keep)

    @property
    def mb_per_s(self) -> float:
        return self.bytes_sent / 1e6 / self.upload_seconds if self.upload_seconds > 0 else 0.0

    def to_dict(self) -> dict[str, Any]:
        return {**asdict(self), "mb_per_s": round(self.mb_per_s, 2), "mb_per_s_source": "measured"}


def check_push_args(group: str, keep: int) -> None:
    if not _GROUP_RE.match(group):
        raise InputError(f"deployment group {group!r}: use letters, digits, '.', '_' or '-'")
    if keep < 1:
        raise InputError(f"keep must be at least 1 deployment (got {keep})")


def deployments(session: SshSession, group_dir: str) -> list[str]:
    """The complete deployment folder names in ``group_dir``, oldest first."""
    try:
        names = session.sftp.listdir(group_dir)
    except OSError:
        return []
    return sorted(n for n in names if _DEPLOYMENT_RE.match(n))


def _upload(session: SshSession, folder: Path, staging: str, entries: list[FileEntry], ctx: JobContext,
            result: PushResult) -> None:
    total = sum(e.size for e in entries) or 1
    session.makedirs(*sorted({f"{staging}/{e.path}".rsplit("/", 1)[0] for e in entries}))
    done = 0
    started = time.monotonic()
    try:
        for entry in entries:
            def progress(sent: int, base: int = done, name: str = entry.path) -> None:
                ctx.check_cancelled()
                ctx.progress((base + sent) / total, f"uploading {name}")

            result.bytes_sent += session.put_resumable(folder / entry.path, f"{staging}/{entry.path}", progress)
            done += entry.size
            result.uploaded.append(entry.path)
    finally:
        result.upload_seconds += time.monotonic() - started


def push_folder(session: SshSession, folder: Path, *, group: str, keep: int = 3, ctx: JobContext | None = None,
                root: str = DEPLOY_ROOT, board: str = "") -> PushResult:
    """Push ``folder`` as a new deployment in ``<root>/<group>`` on the open session (see the module doc)."""
    ctx = ctx or null_context()
    check_push_args(group, keep)
    started = time.monotonic()
    entries = folder_manifest(Path(folder), ctx.sub(0.0, 0.1))
    digest = content_digest(entries)
    group_dir = f"{session.expand(root).rstrip('/')}/{group}"
    session.makedirs(group_dir)
    existing = deployments(session, group_dir)
    latest = existing[-1] if existing else None
    result = PushResult(board, group, "", digest, len(entries), sum(e.size for e in entries))
    previous = session.sha256_tree(f"{group_dir}/{latest}") if latest else {}
    intact = all(previous.get(e.path) == e.sha256 for e in entries)
    if latest is not None and latest.endswith(digest[:12]) and intact:
        result.unchanged, result.deployment = True, f"{group_dir}/{latest}"
        result.removed = _prune(session, group_dir, existing, keep)
        result.seconds = time.monotonic() - started
        ctx.progress(1.0, f"unchanged: {latest} already holds this content")
        return result
    staging = f"{group_dir}/.incoming-{digest[:12]}"
    have = session.sha256_tree(staging)
    to_copy = [e for e in entries if have.get(e.path) != e.sha256 and previous.get(e.path) == e.sha256]
    result.resumed = [e.path for e in entries if have.get(e.path) == e.sha256]
    to_send = [e for e in entries if e.path not in result.resumed and e not in to_copy]
    if to_copy:
        _copy_on_board(session, f"{group_dir}/{latest}", staging, to_copy)
        result.copied_on_board = [e.path for e in to_copy]
    ctx.progress(0.1, f"{len(to_send)} file(s) to upload, {len(to_copy) + len(result.resumed)} already there")
    _upload(session, Path(folder), staging, to_send, ctx.sub(0.1, 0.95), result)
    _verify(session, staging, entries)
    result.deployment = _finish(session, group_dir, staging, digest, entries)
    result.removed = _prune(session, group_dir, deployments(session, group_dir), keep)
    result.seconds = time.monotonic() - started
    ctx.progress(1.0, f"pushed {len(result.uploaded)} file(s), {result.bytes_sent / 1e6:.1f} MB")
    return result


def _copy_on_board(session: SshSession, source: str, staging: str, entries: list[FileEntry]) -> None:
    dirs = sorted({f"{staging}/{e.path}".rsplit("/", 1)[0] for e in entries})
    copies = "; ".join(f"cp -p {shlex.quote(f'{source}/{e.path}')} {shlex.quote(f'{staging}/{e.path}')}"
                       for e in entries)
    session.run("set -e; mkdir -p " + " ".join(shlex.quote(d) for d in dirs) + f"; {copies}", timeout=300.0,
                check=True)


def _verify(session: SshSession, staging: str, entries: list[FileEntry]) -> None:
    """Every file on the board has its local sha256; a bad one is deleted (the next push re-sends it)."""
    found = session.sha256_tree(staging)
    bad = [e.path for e in entries if found.get(e.path) != e.sha256]
    if bad:
        session.run("rm -f " + " ".join(shlex.quote(f"{staging}/{p}") for p in bad), timeout=60.0)
        raise SshError(f"{len(bad)} file(s) arrived with a wrong sha256 ({', '.join(bad[:3])}): they were removed "
                       "from the board; push again to re-send them")


def _finish(session: SshSession, group_dir: str, staging: str, digest: str, entries: list[FileEntry]) -> str:
    """Write the manifest, rename the staging folder into place, point ``latest`` at it; the final path."""
    now = time.time()
    name = f"{time.strftime('%Y%m%d-%H%M%S', time.gmtime(now))}.{int(now % 1 * 1e6):06d}-{digest[:12]}"
    manifest = {"format": 1, "digest": digest, "files": [asdict(e) for e in entries],
                "pushed_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())}
    with session.sftp.open(f"{staging}/{MANIFEST_NAME}", "w") as handle:
        handle.write(json.dumps(manifest, indent=1))
    final = f"{group_dir}/{name}"
    q = shlex.quote
    session.run(f"set -e; mv {q(staging)} {q(final)}; ln -sfn {q(name)} {q(group_dir + '/latest')}; "
                f"rm -rf {q(group_dir)}/.incoming-*", timeout=60.0, check=True)
    return final


def _prune(session: SshSession, group_dir: str, existing: list[str], keep: int) -> list[str]:
    old = existing[:-keep] if len(existing) > keep else []
    if old:
        session.run("rm -rf " + " ".join(shlex.quote(f"{group_dir}/{n}") for n in old), timeout=120.0, check=True)
    return old


def push_to_board(board: BoardProfile, folder: Path, ctx: JobContext | None = None, *, group: str | None = None,
                  keep: int = 3, password: str | None = None, trust_fingerprint: str | None = None,
                  root: str = DEPLOY_ROOT) -> PushResult:
    """Log in to ``board`` and push ``folder`` (group: the folder's name unless given)."""
    ctx = ctx or null_context()
    folder = Path(folder)
    group = group or folder.resolve().name
    check_push_args(group, keep)
    if not folder.is_dir():
        raise InputError(f"{folder} is not a folder to push")
    ctx.progress(0.0, f"connecting to {board.display}")
    with board.session(password, trust_fingerprint) as session:
        return push_folder(session, folder, group=group, keep=keep, ctx=ctx, root=root, board=board.name)
