"""A Foldwise project: a folder with a versioned manifest and a list of immutable iterations.

::

    project/
      manifest.json            format, version, name, settings, iterations, current
      .foldwise.lock           held (flock) by the one app instance editing the project
      iterations/0001-trained/ model.pt, metrics.json, ... (immutable once made)
      cache/                   generated data sets and other re-creatable files

Every edit is written at once with an atomic replace (autosave), so a crash never leaves a half-written
manifest and no work is lost. Opening checks, before anything on disk changes, that the folder is a project,
its manifest parses, its format is not newer than this build reads, the folder is writable and no other
instance holds the lock.
"""

from __future__ import annotations

import contextlib
import datetime as _dt
import errno
import fcntl
import json
import os
import re
import shutil
import socket
import threading
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path
from typing import Any, TypeVar

from psygnal import Signal

from foldwise.core.atomic import atomic_write_json
from foldwise.core.errors import (
    CorruptManifestError,
    InputError,
    NewerFormatError,
    NotAProjectError,
    ProjectError,
    ProjectLockedError,
    ReadOnlyProjectError,
    os_error_message,
)

MANIFEST_NAME = "manifest.json"
LOCK_NAME = ".foldwise.lock"
FORMAT_NAME = "foldwise-project"
FORMAT_VERSION = 1
ITERATIONS_DIR = "iterations"
CACHE_DIR = "cache"
_COMMIT_NOTE = ".commit-"  # iterations/.commit-<folder>: that folder is being recorded in the manifest

_F = TypeVar("_F", bound=Callable[..., Any])


def _serialised(method: _F) -> _F:
    """Edits come from the GUI thread and from job threads: one at a time, each saved whole."""

    def wrapper(self: Project, *args: Any, **kwargs: Any) -> Any:
        with self._mutex:
            return method(self, *args, **kwargs)

    wrapper.__name__ = method.__name__
    wrapper.__doc__ = method.__doc__
    return wrapper  # type: ignore[return-value]


SOURCES = ("estimated", "simulated", "synthesized", "emulated", "measured", "computed")


def now_iso() -> str:
    return _dt.datetime.now(_dt.UTC).isoformat(timespec="seconds")


def figure(value: Any, source: str, unit: str = "", **extra: Any) -> dict[str, Any]:
    """A number with the label of where it came from, as stored in metrics and shown in the GUI."""
    if source not in SOURCES:
        raise ValueError(f"unknown figure source {source!r}; use one of {', '.join(SOURCES)}")
    out: dict[str, Any] = {"value": value, "source": source}
    if unit:
        out["unit"] = unit
    out.update(extra)
    return out


class IterationKind(StrEnum):
    """What made an iteration; the value is what the manifest stores (``"kind"``)."""

    TRAINED = "trained"
    FINE_TUNED = "fine-tuned"
    IMPORTED = "imported"
    PRUNED = "pruned"
    QUANTIZED = "quantized"


def slugify(text: str) -> str:
    slug = re.sub(r"[^A-Za-z0-9]+", "-", text.strip()).strip("-").lower()
    return slug[:40] or "iteration"


@dataclass
class Iteration:
    """One state of the network: its files live in ``folder``; the record lives in the manifest.

    ``kind`` compares equal to an :class:`IterationKind`; it stays a plain string so that a manifest from
    another Foldwise version with a kind this one does not know still opens.
    """

    id: str
    name: str
    kind: str
    parent: str | None
    created: str
    folder_name: str
    change: dict[str, Any] = field(default_factory=dict)
    metrics: dict[str, Any] = field(default_factory=dict)
    note: str = ""
    hidden: bool = False
    root: Path | None = field(default=None, repr=False, compare=False)

    @property
    def folder(self) -> Path:
        if self.root is None:
            raise RuntimeError("iteration is not attached to a project")
        return self.root / ITERATIONS_DIR / self.folder_name

    @property
    def label(self) -> str:
        return f"{self.id} {self.name}"

    @property
    def missing(self) -> str | None:
        """Why this iteration's files cannot be used (its folder was deleted or moved by hand), or None."""
        if self.root is not None and not self.folder.is_dir():
            return f"iteration {self.label}: its folder {ITERATIONS_DIR}/{self.folder_name} is missing"
        return None

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "name": self.name,
            "kind": self.kind,
            "parent": self.parent,
            "created": self.created,
            "folder": self.folder_name,
            "change": self.change,
            "metrics": self.metrics,
            "note": self.note,
            "hidden": self.hidden,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any], root: Path) -> Iteration:
        return cls(
            id=str(data["id"]),
            name=str(data["name"]),
            kind=str(data.get("kind", "unknown")),
            parent=data.get("parent"),
            created=str(data.get("created", "")),
            folder_name=str(data["folder"]),
            change=dict(data.get("change") or {}),
            metrics=dict(data.get("metrics") or {}),
            note=str(data.get("note", "")),
            hidden=bool(data.get("hidden", False)),
            root=root,
        )


@dataclass
class IterationDraft:
    """A new iteration being written: put files in ``folder`` and figures in ``metrics``."""

    folder: Path
    kind: IterationKind
    name: str
    parent: str | None
    change: dict[str, Any]
    metrics: dict[str, Any] = field(default_factory=dict)
    note: str = ""


class Project:
    """An open project. Mutating methods save at once; events tell views what changed.

    Open with :meth:`open` (or :meth:`create`), and :meth:`close` when done (or use ``with``).
    ``read_only=True`` opens without the lock, for readers such as ``foldwise info``.
    """

    changed = Signal()  # name, settings, notes, hidden flags: anything in the manifest
    iteration_added = Signal(object)
    current_changed = Signal(object)

    def __init__(self, path: Path, manifest: dict[str, Any], read_only: bool) -> None:
        self.path = path
        self.read_only = read_only
        self.name: str = str(manifest.get("name") or path.name)
        self.created: str = str(manifest.get("created", ""))
        self.modified: str = str(manifest.get("modified", ""))
        self.settings: dict[str, Any] = dict(manifest.get("settings") or {})
        self.iterations: list[Iteration] = [
            Iteration.from_dict(item, path) for item in manifest.get("iterations", [])
        ]
        self.current_id: str | None = manifest.get("current")
        self._lock_handle: Any = None
        self._mutex = threading.RLock()

    # ----------------------------------------------------------------- opening and closing
    @classmethod
    def create(
        cls,
        path: str | os.PathLike[str],
        name: str | None = None,
        settings: dict[str, Any] | None = None,
    ) -> Project:
        """Make a new project folder (which must not exist or be empty) and open it for editing."""
        folder = Path(path).expanduser().absolute()
        if folder.exists() and (not folder.is_dir() or any(folder.iterdir())):
            raise InputError(f"{folder} already exists and is not an empty folder")
        existed = folder.exists()
        stamp = now_iso()
        manifest = {
            "format": FORMAT_NAME,
            "version": FORMAT_VERSION,
            "name": name or folder.name,
            "created": stamp,
            "modified": stamp,
            "settings": settings or {},
            "iterations": [],
            "current": None,
        }
        try:
            folder.mkdir(parents=True, exist_ok=True)
            (folder / ITERATIONS_DIR).mkdir(exist_ok=True)
            atomic_write_json(folder / MANIFEST_NAME, manifest)
        except OSError as exc:
            # A folder without a manifest is no project: leave none behind (an empty one given to us stays).
            with contextlib.suppress(OSError):
                (folder / MANIFEST_NAME).unlink(missing_ok=True)
            with contextlib.suppress(OSError):
                shutil.rmtree(folder / ITERATIONS_DIR if existed else folder)
            error = ReadOnlyProjectError if exc.errno in (errno.EROFS, errno.EACCES, errno.EPERM) else ProjectError
            raise error(f"cannot create a project at {folder}: {os_error_message(exc)}") from exc
        return cls.open(folder)

    @classmethod
    def open(cls, path: str | os.PathLike[str], read_only: bool = False) -> Project:
        """Open an existing project; raises a :class:`ProjectError` subclass, changing nothing, if it can't."""
        folder = Path(path).expanduser().absolute()
        manifest = read_manifest(folder)
        project = cls(folder, manifest, read_only)
        if not read_only:
            if not os.access(folder, os.W_OK) or not os.access(folder / MANIFEST_NAME, os.W_OK):
                raise ReadOnlyProjectError(
                    f"{folder} is read-only: Foldwise cannot save changes there "
                    "(copy the project somewhere writable or fix its permissions)"
                )
            project._acquire_lock()
            project._sweep_stale_drafts()
        return project

    def _sweep_stale_drafts(self) -> None:
        """What a process that was killed (SIGKILL, power loss) left half-done: drafts, a commit whose folder
        was renamed into place but never recorded in the manifest (its ``.commit-*`` note says so), and temp
        files of an atomic write. Nobody else can be writing them, since this instance holds the lock."""
        folder = self.path / ITERATIONS_DIR
        if folder.is_dir():
            for stale in folder.glob(".draft-*"):
                shutil.rmtree(stale, ignore_errors=True)
            recorded = {it.folder_name for it in self.iterations}
            for note in folder.glob(f"{_COMMIT_NOTE}*"):
                name = note.name[len(_COMMIT_NOTE):]
                if name not in recorded and re.fullmatch(r"\d+-[^/]+", name):
                    shutil.rmtree(folder / name, ignore_errors=True)
                note.unlink(missing_ok=True)
        for temp in self.path.glob(f".{MANIFEST_NAME}.*.tmp"):
            temp.unlink(missing_ok=True)

    def _acquire_lock(self) -> None:
        lock_path = self.path / LOCK_NAME
        try:
            handle = open(lock_path, "a+", encoding="utf-8")  # noqa: SIM115 - held open while the project is
        except OSError as exc:
            raise ReadOnlyProjectError(f"cannot write the lock file in {self.path}: {exc.strerror}") from exc
        try:
            fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            handle.seek(0)
            holder = handle.read()
            handle.close()
            raise self._locked_error(holder) from None
        # The holder's name is only for the "open elsewhere" message: on a full disk the lock holds without it.
        with contextlib.suppress(OSError):
            os.ftruncate(handle.fileno(), 0)
            os.pwrite(handle.fileno(), f"pid {os.getpid()} on {socket.gethostname()} since {now_iso()}\n".encode(), 0)
        self._lock_handle = handle

    def _locked_error(self, holder: str) -> ProjectLockedError:
        return ProjectLockedError(f"{self.path} is open in another Foldwise instance "
                                  f"({holder.strip() or 'another Foldwise instance'}); close it there first")

    def close(self) -> None:
        if self._lock_handle is not None:
            with contextlib.suppress(OSError):
                os.ftruncate(self._lock_handle.fileno(), 0)
                fcntl.flock(self._lock_handle.fileno(), fcntl.LOCK_UN)
            self._lock_handle.close()
            self._lock_handle = None

    @property
    def holds_lock(self) -> bool:
        """This instance has the project open for editing: no other Foldwise process can write it."""
        return self._lock_handle is not None

    def check_not_locked(self) -> None:
        """Raise :class:`ProjectLockedError` if another instance holds the lock (for a read-only reader that
        needs the project to stand still, e.g. a bundle export of a folder it cannot write)."""
        try:
            handle = open(self.path / LOCK_NAME, encoding="utf-8")  # noqa: SIM115 - closed below
        except OSError:
            return  # no lock file: nobody has it open for editing
        with handle:
            try:
                fcntl.flock(handle.fileno(), fcntl.LOCK_SH | fcntl.LOCK_NB)
            except OSError:
                raise self._locked_error(handle.read()) from None
            fcntl.flock(handle.fileno(), fcntl.LOCK_UN)

    @property
    def is_open(self) -> bool:
        return self.read_only or self._lock_handle is not None

    def __enter__(self) -> Project:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # ----------------------------------------------------------------- manifest
    def to_manifest(self) -> dict[str, Any]:
        return {
            "format": FORMAT_NAME,
            "version": FORMAT_VERSION,
            "name": self.name,
            "created": self.created,
            "modified": self.modified,
            "settings": self.settings,
            "iterations": [it.to_dict() for it in self.iterations],
            "current": self.current_id,
        }

    @_serialised
    def save(self) -> None:
        self._check_writable()
        self.modified = now_iso()
        atomic_write_json(self.path / MANIFEST_NAME, self.to_manifest())

    def _check_writable(self) -> None:
        if self.read_only:
            raise ReadOnlyProjectError(f"{self.path} was opened read-only")
        if self._lock_handle is None:
            raise ReadOnlyProjectError(f"{self.path} is closed")

    def _commit_edit(self) -> None:
        self.save()
        self.changed.emit()

    # ----------------------------------------------------------------- iterations
    @property
    def cache_dir(self) -> Path:
        return self.path / CACHE_DIR

    @property
    def visible_iterations(self) -> list[Iteration]:
        return [it for it in self.iterations if not it.hidden]

    def get(self, iteration_id: str) -> Iteration:
        for it in self.iterations:
            if it.id == iteration_id:
                return it
        known = ", ".join(it.id for it in self.iterations) or "none"
        raise InputError(f"no iteration {iteration_id!r} in {self.name} (iterations: {known})")

    @property
    def current(self) -> Iteration | None:
        if self.current_id is None:
            return None
        for it in self.iterations:
            if it.id == self.current_id:
                return it
        return None

    @_serialised
    def set_current(self, iteration_id: str | None) -> None:
        if iteration_id is not None:
            self.get(iteration_id)
        self._check_writable()
        self.current_id = iteration_id
        self.save()
        self.current_changed.emit(self.current)

    @_serialised
    def rename(self, name: str) -> None:
        if not name.strip():
            raise InputError("a project name cannot be empty")
        self._check_writable()
        self.name = name.strip()
        self._commit_edit()

    @_serialised
    def set_note(self, iteration_id: str, note: str) -> None:
        self._check_writable()
        self.get(iteration_id).note = note
        self._commit_edit()

    @_serialised
    def rename_iteration(self, iteration_id: str, name: str) -> None:
        if not name.strip():
            raise InputError("an iteration name cannot be empty")
        self._check_writable()
        self.get(iteration_id).name = name.strip()
        self._commit_edit()

    @_serialised
    def set_hidden(self, iteration_id: str, hidden: bool) -> None:
        """Hide an iteration from lists (its files stay, so hiding is undoable)."""
        self._check_writable()
        self.get(iteration_id).hidden = hidden
        if hidden and self.current_id == iteration_id:
            visible = self.visible_iterations
            self.current_id = visible[-1].id if visible else None
            self.current_changed.emit(self.current)
        self._commit_edit()

    @_serialised
    def update_settings(self, **values: Any) -> None:
        self._check_writable()
        self.settings.update(values)
        self._commit_edit()

    def _next_id(self) -> str:
        """One past every id in the manifest and every numbered folder on disk (an orphan is never reused)."""
        numbers = [int(it.id) for it in self.iterations if it.id.isdigit()]
        folder = self.path / ITERATIONS_DIR
        if folder.is_dir():
            numbers += [int(m.group(1)) for p in folder.iterdir() if (m := re.match(r"(\d+)-", p.name))]
        return f"{(max(numbers) + 1) if numbers else 1:04d}"

    @contextlib.contextmanager
    def new_iteration(
        self,
        kind: IterationKind,
        name: str,
        parent: Iteration | str | None = None,
        change: dict[str, Any] | None = None,
    ) -> Iterator[IterationDraft]:
        """Write a new iteration: files go into ``draft.folder``; on success it becomes current.

        The folder is built under a temporary name and renamed into place only when the block ends without
        an exception; on an exception (a cancel included) the draft is removed and the project is unchanged.
        """
        self._check_writable()
        kind = IterationKind(kind)  # a typo fails here, before any file is written
        parent_id = parent.id if isinstance(parent, Iteration) else parent
        if parent_id is not None:
            self.get(parent_id)
        iterations_dir = self.path / ITERATIONS_DIR
        iterations_dir.mkdir(exist_ok=True)
        draft_dir = iterations_dir / f".draft-{uuid.uuid4().hex[:8]}"
        draft_dir.mkdir()
        draft = IterationDraft(draft_dir, kind, name, parent_id, dict(change or {}))
        try:
            yield draft
            with self._mutex:
                iteration = self._commit_draft(draft, draft_dir, iterations_dir)
        except BaseException:
            shutil.rmtree(draft_dir, ignore_errors=True)
            raise
        self.iteration_added.emit(iteration)
        self.current_changed.emit(iteration)

    def _commit_draft(self, draft: IterationDraft, draft_dir: Path, iterations_dir: Path) -> Iteration:
        """Rename the draft into place and record it in the manifest: both happen, or neither (on a full disk,
        a read-only medium or a signal, the folder goes back to its draft name for the caller to remove)."""
        new_id = self._next_id()
        folder_name = f"{new_id}-{slugify(draft.name)}"
        atomic_write_json(draft_dir / "metrics.json", draft.metrics)
        final_dir = iterations_dir / folder_name
        # Renaming the folder and writing the manifest are two steps: a SIGKILL between them would leave an
        # unrecorded folder. The note names it, so the next open removes it (see _sweep_stale_drafts).
        note = iterations_dir / f"{_COMMIT_NOTE}{folder_name}"
        note.touch()
        try:
            os.rename(draft_dir, final_dir)  # _next_id skips folders on disk, so final_dir is new
        except BaseException:
            note.unlink(missing_ok=True)
            raise
        previous_current = self.current_id
        iteration = Iteration(
            id=new_id,
            name=draft.name,
            kind=str(draft.kind),
            parent=draft.parent,
            created=now_iso(),
            folder_name=folder_name,
            change=draft.change,
            metrics=draft.metrics,
            note=draft.note,
            root=self.path,
        )
        self.iterations.append(iteration)
        self.current_id = new_id
        try:
            self.save()
        except BaseException:
            self.iterations.remove(iteration)
            self.current_id = previous_current
            try:
                os.rename(final_dir, draft_dir)
            except OSError:
                pass  # the note stays: the next open removes the unrecorded folder
            else:
                note.unlink(missing_ok=True)
            raise
        note.unlink(missing_ok=True)
        return iteration

    def lineage(self, iteration: Iteration) -> list[Iteration]:
        """The iteration and its ancestors, oldest first."""
        chain: list[Iteration] = []
        seen: set[str] = set()
        node: Iteration | None = iteration
        while node is not None and node.id not in seen:
            chain.append(node)
            seen.add(node.id)
            node = self.get(node.parent) if node.parent else None
        return list(reversed(chain))

    def summary(self) -> dict[str, Any]:
        """What ``foldwise info --json`` prints: the manifest with paths resolved."""
        data = self.to_manifest()
        data["path"] = str(self.path)
        for item, it in zip(data["iterations"], self.iterations, strict=True):
            item["path"] = str(it.folder)
            if it.missing:
                item["missing"] = it.missing
        return data


def read_manifest(folder: Path) -> dict[str, Any]:
    """Read and check a project's manifest without changing anything on disk."""
    if not folder.exists():
        raise NotAProjectError(f"{folder} does not exist")
    if not folder.is_dir():
        raise NotAProjectError(f"{folder} is a file, not a Foldwise project folder")
    manifest_path = folder / MANIFEST_NAME
    if not manifest_path.exists():
        raise NotAProjectError(f"{folder} is not a Foldwise project (it has no {MANIFEST_NAME})")
    try:
        text = manifest_path.read_text(encoding="utf-8")
    except PermissionError as exc:
        raise ReadOnlyProjectError(f"cannot read {manifest_path}: permission denied") from exc
    except UnicodeDecodeError as exc:
        raise CorruptManifestError(f"{manifest_path} is corrupt (not UTF-8 text)") from exc
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise CorruptManifestError(
            f"{manifest_path} is corrupt (line {exc.lineno}, column {exc.colno}: {exc.msg})"
        ) from exc
    if not isinstance(data, dict) or data.get("format") != FORMAT_NAME:
        raise CorruptManifestError(f"{manifest_path} is not a Foldwise manifest (no format {FORMAT_NAME!r})")
    version = data.get("version")
    if not isinstance(version, int) or version < 1:
        raise CorruptManifestError(f"{manifest_path} has no valid format version")
    if version > FORMAT_VERSION:
        raise NewerFormatError(
            f"{folder} was saved by a newer Foldwise (project format {version}; this version reads up to "
            f"{FORMAT_VERSION}); update Foldwise to open it"
        )
    iterations = data.get("iterations", [])
    if not isinstance(iterations, list) or not all(
        isinstance(it, dict) and "id" in it and "folder" in it and "name" in it for it in iterations
    ):
        raise CorruptManifestError(f"{manifest_path} is corrupt (its iteration list is malformed)")
    if not isinstance(data.get("settings") or {}, dict):
        raise CorruptManifestError(f"{manifest_path} is corrupt (settings is not an object)")
    for item in iterations:
        problem = _iteration_record_problem(item)
        if problem:
            raise CorruptManifestError(f"{manifest_path} is corrupt (iteration {item.get('id')!r}: {problem})")
    return data


_FOLDER_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]*$")


def _iteration_record_problem(item: dict[str, Any]) -> str | None:
    """Why one manifest record cannot be trusted, or None. Folders must be plain names under iterations/:
    a manifest must never send a stage to write into another project."""
    folder = item.get("folder")
    if not isinstance(folder, str) or not _FOLDER_NAME.match(folder) or ".." in folder:
        return f"its folder {folder!r} is outside the project's iterations/ folder"
    for key in ("metrics", "change"):
        if item.get(key) is not None and not isinstance(item[key], dict):
            return f"{key} is not an object"
    if item.get("parent") is not None and not isinstance(item["parent"], str):
        return "parent is not an iteration id"
    return None
