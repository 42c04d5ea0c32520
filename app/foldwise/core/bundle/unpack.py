"""Reading a bundle: every entry checked before anything is written, every hash checked while extracting,
and the project renamed into place only when all of it is right.

Refused, with the reason: a file that is not a zip (or a truncated one: its central directory is gone), a
missing or unreadable ``bundle.json``, an unknown or newer format version, names with ``..``, absolute
names, links, device files, FIFOs and sockets, encrypted entries, entries over the size limit or compressed
more than 100:1, files the listing does not name (or names but the archive lacks), wrong sizes and hashes.
Nothing is extracted outside a temporary folder beside ``dest``, which is removed on any refusal, error or
cancel; an existing ``dest`` is never touched.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import stat
import tarfile
import tempfile
import time
import zipfile
import zlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from foldwise.core.bundle.format import (
    BUNDLE_JSON,
    CHUNK,
    FORMAT_NAME,
    FORMAT_VERSION,
    MAX_BUNDLE_JSON_BYTES,
    MAX_ENTRY_BYTES,
    MAX_RATIO,
    RATIO_FLOOR_BYTES,
    BundleError,
    is_sha256,
    path_problem,
    tool_versions,
)
from foldwise.core.errors import ProjectError
from foldwise.core.jobs import JobContext, null_context
from foldwise.core.project import MANIFEST_NAME, read_manifest

_UNIX = 3  # ZipInfo.create_system of an archive made on Unix: its mode bits are meaningful
_TYPES = {stat.S_IFLNK: "a symbolic link", stat.S_IFCHR: "a device file", stat.S_IFBLK: "a device file",
          stat.S_IFIFO: "a FIFO", stat.S_IFSOCK: "a socket"}


@dataclass
class ImportResult:
    path: Path
    files: int
    bytes: int
    seconds: float
    versions: dict[str, Any] = field(default_factory=dict)  # the exporting machine's tool versions
    version_notes: list[str] = field(default_factory=list)  # where they differ from this machine's
    left_out: list[dict[str, str]] = field(default_factory=list)
    external: list[dict[str, str]] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return {"path": str(self.path), "files": self.files, "bytes": self.bytes, "seconds": self.seconds,
                "versions": self.versions, "version_notes": self.version_notes, "left_out": self.left_out,
                "external": self.external}


def import_bundle(bundle: str | os.PathLike[str], dest: str | os.PathLike[str], ctx: JobContext | None = None,
                  max_entry_bytes: int = MAX_ENTRY_BYTES) -> ImportResult:
    """Unpack ``bundle`` into the new project folder ``dest``; :class:`BundleError` says why it was refused."""
    ctx = ctx or null_context()
    started = time.monotonic()
    source = Path(bundle).expanduser().absolute()
    target = Path(dest).expanduser().absolute()
    _check_dest(target)
    with _open_zip(source) as archive:
        meta = _check_archive(archive, source, max_entry_bytes)
        needed, free = sum(item["size"] for item in meta["files"]), shutil.disk_usage(target.parent).free
        if needed > free:
            raise BundleError(f"{source.name} unpacks to {needed / 1e9:.2f} GB, but {target.parent} has only "
                              f"{free / 1e9:.2f} GB free: free some space first")
        tmp = Path(tempfile.mkdtemp(prefix=f".{target.name}.bundle-import-", dir=target.parent))
        try:
            total = sum(item["size"] for item in meta["files"]) or 1
            done = 0
            for folder in meta.get("folders") or []:
                (tmp / folder).mkdir(parents=True, exist_ok=True)
            for item in meta["files"]:
                _extract(archive, item, tmp, ctx.sub(done / total, (done + item["size"]) / total))
                done += item["size"]
            try:
                read_manifest(tmp)
            except ProjectError as exc:
                raise BundleError(f"{source.name} does not hold a project Foldwise can open: {exc}") from None
            _check_dest(target)  # made while we extracted? then it is still not ours to replace
            os.rename(tmp, target)
        except BaseException:
            shutil.rmtree(tmp, ignore_errors=True)
            raise
    ctx.progress(1.0, f"imported {len(meta['files'])} files")
    versions = dict(meta.get("versions") or {})
    here = tool_versions()
    notes = [f"{name}: bundle made with {versions.get(name) or 'none'}, this machine has {here.get(name) or 'none'}"
             for name in here if versions.get(name) != here.get(name)]
    return ImportResult(target, len(meta["files"]), done, time.monotonic() - started, versions, notes,
                        list(meta.get("left_out") or []), list(meta.get("external") or []))


def _check_dest(target: Path) -> None:
    if target.exists() or target.is_symlink():
        raise BundleError(f"{target} already exists: Foldwise never overwrites a folder with a bundle; "
                          "give a new folder name")
    if not target.parent.is_dir():
        raise BundleError(f"{target.parent} does not exist: make the folder first")


def _open_zip(source: Path) -> zipfile.ZipFile:
    """The bundle as a ZipFile; a file that is not one (or is cut short) is refused with the reason."""
    if not source.is_file():
        raise BundleError(f"{source} does not exist or is not a file")
    try:
        return zipfile.ZipFile(source)
    except zipfile.BadZipFile:
        if tarfile.is_tarfile(source):
            raise BundleError(f"{source.name} is a tar archive: Foldwise bundles are zip files "
                              "(made by `foldwise bundle export`)") from None
        raise BundleError(f"{source.name} is not a Foldwise bundle: it is not a zip archive, or it is "
                          "truncated (its table of contents at the end is missing)") from None
    except OSError as exc:
        raise BundleError(f"cannot read {source}: {exc.strerror or exc}") from None


def _check_archive(archive: zipfile.ZipFile, source: Path, max_entry_bytes: int) -> dict[str, Any]:
    """Check every entry and the listing against each other; returns the parsed ``bundle.json``."""
    where = source.name
    seen: set[str] = set()
    for info in archive.infolist():
        problem = _entry_problem(info, max_entry_bytes)
        if problem:
            raise BundleError(f"{where}: entry {info.filename!r} {problem}; refused")
        if info.filename in seen:
            raise BundleError(f"{where}: entry {info.filename!r} appears twice; refused")
        seen.add(info.filename)
    meta = _read_meta(archive, where)
    entries = {info.filename: info for info in archive.infolist() if not info.is_dir() and
               info.filename != BUNDLE_JSON}
    listed: dict[str, dict[str, Any]] = {}
    for item in meta["files"]:
        if not isinstance(item, dict) or not isinstance(item.get("path"), str) \
                or not isinstance(item.get("size"), int) or not is_sha256(item.get("sha256")):
            raise BundleError(f"{where}: {BUNDLE_JSON} is damaged (a file record without path, size or sha256)")
        problem = path_problem(item["path"])
        if problem:
            raise BundleError(f"{where}: {BUNDLE_JSON} lists {item['path']!r}, which {problem}; refused")
        listed[item["path"]] = item
    for folder in meta.get("folders") or []:
        if not isinstance(folder, str) or path_problem(folder):
            raise BundleError(f"{where}: {BUNDLE_JSON} lists a folder {folder!r} outside the project; refused")
    unlisted = sorted(set(entries) - set(listed))
    if unlisted:
        raise BundleError(f"{where} holds files its {BUNDLE_JSON} does not list: {_names(unlisted)}; refused")
    missing = sorted(set(listed) - set(entries))
    if missing:
        raise BundleError(f"{where} lacks files its {BUNDLE_JSON} lists: {_names(missing)} (truncated or "
                          "edited?); refused")
    if MANIFEST_NAME not in listed:
        raise BundleError(f"{where} holds no {MANIFEST_NAME}: it is not a project bundle")
    for name, item in listed.items():
        if entries[name].file_size != item["size"]:
            raise BundleError(f"{where}: {name} is {entries[name].file_size} bytes, its {BUNDLE_JSON} says "
                              f"{item['size']}; refused")
    return meta


def _entry_problem(info: zipfile.ZipInfo, max_entry_bytes: int) -> str | None:
    problem = path_problem(info.filename)
    if problem:
        return problem
    mode = info.external_attr >> 16
    if info.create_system == _UNIX and stat.S_IFMT(mode) in _TYPES:
        return f"is {_TYPES[stat.S_IFMT(mode)]}"
    if info.flag_bits & 0x1:
        return "is encrypted"
    if info.compress_type not in (zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED):
        return f"uses compression method {info.compress_type}, which bundles never use"
    if info.file_size > max_entry_bytes:
        return f"is {info.file_size / 1e9:.1f} GB, over the {max_entry_bytes / 1e9:.1f} GB limit for one file"
    if info.file_size > RATIO_FLOOR_BYTES and info.file_size > MAX_RATIO * max(info.compress_size, 1):
        return (f"expands {info.file_size / max(info.compress_size, 1):,.0f}:1 (over {MAX_RATIO}:1: a zip "
                "bomb?)")
    return None


def _read_meta(archive: zipfile.ZipFile, where: str) -> dict[str, Any]:
    try:
        info = archive.getinfo(BUNDLE_JSON)
    except KeyError:
        raise BundleError(f"{where} has no {BUNDLE_JSON}: it is not a Foldwise bundle") from None
    if info.file_size > MAX_BUNDLE_JSON_BYTES:
        raise BundleError(f"{where}: {BUNDLE_JSON} is {info.file_size / 1e6:.0f} MB, too large to be real")
    try:
        with archive.open(info) as handle:
            meta = json.loads(handle.read(MAX_BUNDLE_JSON_BYTES + 1).decode("utf-8"))
    except (zipfile.BadZipFile, zlib.error, EOFError, OSError, UnicodeDecodeError, ValueError) as exc:
        raise BundleError(f"{where}: {BUNDLE_JSON} is unreadable ({exc})") from None
    if not isinstance(meta, dict) or meta.get("format") != FORMAT_NAME:
        raise BundleError(f"{where}: {BUNDLE_JSON} is not a Foldwise bundle record (no format {FORMAT_NAME!r})")
    version = meta.get("version")
    if not isinstance(version, int) or isinstance(version, bool) or version < 1:
        raise BundleError(f"{where}: unknown bundle format version {version!r}")
    if version > FORMAT_VERSION:
        raise BundleError(f"{where} was made by a newer Foldwise (bundle format {version}; this version reads up "
                          f"to {FORMAT_VERSION}): update Foldwise to import it")
    if not isinstance(meta.get("files"), list) or not isinstance(meta.get("folders") or [], list):
        raise BundleError(f"{where}: {BUNDLE_JSON} is damaged (its file list is malformed)")
    return meta


def _extract(archive: zipfile.ZipFile, item: dict[str, Any], root: Path, ctx: JobContext) -> None:
    """Write one listed file under ``root``, counting and hashing what comes out of the archive."""
    name, expected = item["path"], item["size"]
    target = root / name
    target.parent.mkdir(parents=True, exist_ok=True)
    digest, size = hashlib.sha256(), 0
    fd = os.open(target, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o644)
    try:
        with os.fdopen(fd, "wb") as sink, archive.open(name) as handle:
            while chunk := handle.read(CHUNK):
                ctx.check_cancelled()
                size += len(chunk)
                if size > expected:
                    raise BundleError(f"{name} holds more than the {expected} bytes it claims; refused")
                digest.update(chunk)
                sink.write(chunk)
                ctx.progress(size / max(expected, 1), f"unpacking {name}")
    except (zipfile.BadZipFile, zlib.error, EOFError) as exc:
        raise BundleError(f"{name} is damaged in the archive ({exc}): the bundle is truncated or corrupt; "
                          "refused") from None
    if size != expected:
        raise BundleError(f"{name} is {size} bytes, its {BUNDLE_JSON} says {expected}: truncated; refused")
    if digest.hexdigest() != item["sha256"]:
        raise BundleError(f"{name} does not match its sha256 in {BUNDLE_JSON} (damaged or altered); refused")


def _names(names: list[str], shown: int = 5) -> str:
    more = f" and {len(names) - shown} more" if len(names) > shown else ""
    return ", ".join(names[:shown]) + more
