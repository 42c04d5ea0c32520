"""What a pushed folder holds: sha256 and size per file, and one digest naming that exact content."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from pathlib import Path

from foldwise.core.errors import InputError
from foldwise.core.hashing import sha256_file
from foldwise.core.jobs import JobContext, null_context

MANIFEST_NAME = "foldwise-push.json"  # written into every deployment on the board
_SKIP = {"__pycache__", ".DS_Store"}


@dataclass(frozen=True)
class FileEntry:
    path: str  # relative, POSIX
    size: int
    sha256: str


def folder_manifest(folder: Path, ctx: JobContext | None = None) -> list[FileEntry]:
    """Every regular file below ``folder`` (symlinks followed, ``__pycache__`` skipped), sorted by path."""
    ctx = ctx or null_context()
    folder = Path(folder)
    if not folder.is_dir():
        raise InputError(f"{folder} is not a folder")
    files = [p for p in sorted(folder.rglob("*"))
             if p.is_file() and not _SKIP.intersection(p.relative_to(folder).parts)]
    if not files:
        raise InputError(f"{folder} holds no files to push")
    if any(p.name == MANIFEST_NAME for p in files):
        raise InputError(f"{folder} holds a file named {MANIFEST_NAME}, which the push writes itself")
    entries = []
    for i, path in enumerate(files):
        ctx.check_cancelled()
        ctx.progress(i / len(files), f"hashing {path.name}")
        entries.append(FileEntry(path.relative_to(folder).as_posix(), path.stat().st_size, sha256_file(path)))
    return entries


def content_digest(entries: list[FileEntry]) -> str:
    """sha256 over the (path, sha256) list: equal for equal content, whatever the timestamps."""
    text = json.dumps([[e.path, e.sha256] for e in entries], separators=(",", ":"))
    return hashlib.sha256(text.encode()).hexdigest()
