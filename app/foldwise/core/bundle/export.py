"""Writing a bundle: the project's files streamed into a zip, hashed as they go, ``bundle.json`` last.

The project lock is held for the whole export (taken here for a project folder; an open :class:`Project`
already holds it), so no other Foldwise process writes the project half-way through. Each file is read once
through a file descriptor that refuses links, and its size and modification time are compared before and
after: a file that changed under the export (another job in the same window) fails the export instead of
bundling a mix. The archive is written under a temporary name beside ``out`` and renamed at the end.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import tempfile
import time
import zipfile
import zlib
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from foldwise.core.bundle.contents import select
from foldwise.core.bundle.format import (
    BUNDLE_JSON,
    CHUNK,
    FORMAT_NAME,
    FORMAT_VERSION,
    MAX_RATIO,
    RATIO_FLOOR_BYTES,
    BundleError,
    tool_versions,
)
from foldwise.core.errors import ProjectLockedError, ReadOnlyProjectError
from foldwise.core.jobs import JobContext, null_context
from foldwise.core.project import MANIFEST_NAME, Project, now_iso


@dataclass(frozen=True)
class BundleOptions:
    """What goes in beyond the default: deployment packages and bitfiles, demo recordings."""

    with_bitfiles: bool = False
    with_recordings: bool = False


@dataclass
class ExportResult:
    path: Path
    files: int
    bytes_in: int  # the files' total size
    bytes_out: int  # the archive's size
    seconds: float
    left_out: list[dict[str, str]] = field(default_factory=list)
    external: list[dict[str, str]] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return {"path": str(self.path), "files": self.files, "bytes_in": self.bytes_in, "bytes_out": self.bytes_out,
                "seconds": self.seconds, "left_out": self.left_out, "external": self.external}


def export_bundle(project: Project | str | os.PathLike[str], out: str | os.PathLike[str],
                  options: BundleOptions | None = None, ctx: JobContext | None = None,
                  overwrite: bool = False) -> ExportResult:
    """Write a bundle of ``project`` (an open project holding its lock, or a project folder) to ``out``.

    Raises :class:`~foldwise.core.errors.ProjectLockedError` if another Foldwise process has the folder open,
    :class:`BundleError` if ``out`` exists (unless ``overwrite``) or lies inside the project, or a file changed
    while it was read; ``out`` is then left as it was.
    """
    options = options or BundleOptions()
    ctx = ctx or null_context()
    started = time.monotonic()
    with _locked(project) as opened:
        target = _check_out(opened, Path(out).expanduser().absolute(), overwrite)
        ctx.progress(0.0, "listing the project's files")
        # The manifest as it is now, bundled first and from these bytes: every iteration it lists is already in
        # place (a stage renames its folder in before saving the manifest), and one made later is left out whole.
        manifest = (opened.path / MANIFEST_NAME).read_bytes()
        known = {str(it.get("folder")) for it in json.loads(manifest).get("iterations", [])}
        selection = select(opened, options.with_bitfiles, options.with_recordings, known)
        selection.files = [(name, path) for name, path in selection.files if name != MANIFEST_NAME]
        total = len(manifest) + sum(path.stat().st_size for _, path in selection.files) or 1
        fd, tmp_name = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".partial", dir=target.parent)
        os.close(fd)
        tmp = Path(tmp_name)
        try:
            with zipfile.ZipFile(tmp, "w", zipfile.ZIP_DEFLATED, allowZip64=True) as archive:
                archive.writestr(MANIFEST_NAME, manifest)
                records = [{"path": MANIFEST_NAME, "size": len(manifest),
                            "sha256": hashlib.sha256(manifest).hexdigest()}]
                done = len(manifest)
                for name, path in selection.files:
                    record = _add_file(archive, name, path, ctx, done, total)
                    records.append(record)
                    done += record["size"]
                meta = {"format": FORMAT_NAME, "version": FORMAT_VERSION, "created": now_iso(),
                        "project": {"name": opened.name}, "versions": tool_versions(),
                        "options": {"with_bitfiles": options.with_bitfiles,
                                    "with_recordings": options.with_recordings},
                        "files": records, "folders": selection.folders,
                        "left_out": selection.left_out, "external": selection.external}
                archive.writestr(BUNDLE_JSON, json.dumps(meta, indent=2) + "\n")
            with open(tmp, "rb+") as handle:
                os.fsync(handle.fileno())
            os.replace(tmp, target)
        except BaseException:
            tmp.unlink(missing_ok=True)
            raise
    ctx.progress(1.0, f"bundled {len(records)} files")
    return ExportResult(target, len(records), done, target.stat().st_size, time.monotonic() - started,
                        selection.left_out, selection.external)


@contextlib.contextmanager
def _locked(project: Project | str | os.PathLike[str]) -> Iterator[Project]:
    """The project with its lock held for the block: ``project`` itself if it holds it, else opened here."""
    if isinstance(project, Project) and project.holds_lock:
        yield project
        return
    path = project.path if isinstance(project, Project) else project
    try:
        opened = Project.open(path)
    except ProjectLockedError as exc:
        raise ProjectLockedError(f"{exc}, or export the bundle from that window (File > Export Bundle...): "
                                 "a project being written is not bundled half-way") from None
    except ReadOnlyProjectError:
        # Nobody can write a folder we cannot write either, unless someone holds its lock: check that.
        opened = Project.open(path, read_only=True)
        opened.check_not_locked()
    with opened:
        yield opened


def _check_out(project: Project, out: Path, overwrite: bool) -> Path:
    if out.resolve().is_relative_to(project.path.resolve()):
        raise BundleError(f"{out} is inside the project {project.path}: write the bundle somewhere else")
    if out.is_dir():
        raise BundleError(f"{out} is a folder: give the bundle's file name (e.g. {project.path.name}.foldwise.zip)")
    if out.exists() and not overwrite:
        raise BundleError(f"{out} already exists: remove it or pick another name")
    if not out.parent.is_dir():
        raise BundleError(f"{out.parent} does not exist: make the folder first")
    return out


def _add_file(archive: zipfile.ZipFile, name: str, path: Path, ctx: JobContext, done: int,
              total: int) -> dict[str, Any]:
    """Stream one file into ``archive``; returns its record (path, size, sha256)."""
    fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW)
    with os.fdopen(fd, "rb") as handle:
        before = os.fstat(fd)
        info = zipfile.ZipInfo(name, time.gmtime(max(before.st_mtime, 315532800))[:6])  # zip dates start 1980
        info.external_attr = (0o100644 if not before.st_mode & 0o111 else 0o100755) << 16
        info.compress_type = _compression(handle, before.st_size)
        digest, size = hashlib.sha256(), 0
        with archive.open(info, "w", force_zip64=before.st_size > 2**31) as sink:
            # never past the size it had: a file written all the time (a live log) must not keep us reading
            while size <= before.st_size and (chunk := handle.read(CHUNK)):
                ctx.check_cancelled()
                digest.update(chunk)
                sink.write(chunk)
                size += len(chunk)
                ctx.progress((done + size) / total, f"bundling {name}")
        after = os.fstat(fd)
    if (after.st_size, after.st_mtime_ns) != (before.st_size, before.st_mtime_ns) or size != before.st_size:
        raise BundleError(f"{name} changed while it was being bundled (a job is still writing the project?): "
                          "wait for it to finish, then export again")
    return {"path": name, "size": size, "sha256": digest.hexdigest()}


def _compression(handle: Any, size: int) -> int:
    """Deflate, unless the file would expand past the importer's zip-bomb ratio: a large, almost empty file
    (zero padding) is then stored as it is."""
    if size <= RATIO_FLOOR_BYTES:
        return zipfile.ZIP_DEFLATED
    packer, packed = zlib.compressobj(zlib.Z_DEFAULT_COMPRESSION, zlib.DEFLATED, -15), 0
    while chunk := handle.read(CHUNK):
        packed += len(packer.compress(chunk))
    packed += len(packer.flush())
    handle.seek(0)
    return zipfile.ZIP_STORED if size > (MAX_RATIO // 2) * packed else zipfile.ZIP_DEFLATED
