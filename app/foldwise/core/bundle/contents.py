"""Which files of a project go into a bundle, and why the others stay out.

Walked without following links; every file left out gets a reason in ``bundle.json``. Never bundled:
credentials and SSH host keys, the lock file, ``cache/`` (generated data sets, exports), unfinished drafts
and half-written temporary files, FINN's regenerable intermediate folders, iteration folders the manifest does
not know. Only with ``with_bitfiles``: deployment packages (``package/``), bitfiles, drivers and FINN's
dataflow model for the emulated board (``emulation/``). Only with ``with_recordings``: demo recordings.
"""

from __future__ import annotations

import fnmatch
import os
import stat
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from foldwise.core.board.package import PACKAGE_DIR
from foldwise.core.finn.kinds import EMULATION_DIR
from foldwise.core.finn.stage import BUILDS_DIR
from foldwise.core.project import CACHE_DIR, ITERATIONS_DIR, LOCK_NAME, Project

#: file names that hold secrets or trust decisions: never bundled, wherever they are
CREDENTIALS = ("known_hosts", "known_hosts.old", "authorized_keys", "id_rsa", "id_dsa", "id_ecdsa", "id_ed25519",
               "*.pem", "*.key", "*.p12", "*.pfx", "*.ppk", ".netrc", "boards.json", "build_hosts.json")
#: in a build folder: FINN's intermediate models and generated sources, remade by running the build again
REGENERABLE = ("intermediate_models", "stitched_ip", "codegen", "code_gen_ipgen", "verification_output")
#: in a build folder: what a deployment carries (large; kept with ``with_bitfiles``)
DEPLOYMENT = (PACKAGE_DIR, "bitfile", "deploy", "driver", EMULATION_DIR)
#: the files :class:`foldwise.core.demo.record.Recorder` writes (that module imports OpenCV)
RECORDING_FILES = ("demo.avi", "frames.csv")
RECORDINGS_DIR = "demo"

REASONS = {
    "lock": "the project lock (held by whoever has the project open)",
    "cache": "generated data sets and exports, made again when needed",
    "draft": "an unfinished iteration or a file being written",
    "credentials": "credentials or SSH host keys are never bundled",
    "link": "a symbolic link: bundles hold plain files only",
    "special": "not a regular file (device, FIFO or socket)",
    "orphan": "an iteration folder manifest.json does not list",
    "regenerable": "FINN's intermediate files, made again by running the build again",
    "deployment": "a deployment package, bitfile or FINN dataflow model (remade on deploy or by running the "
                  "build again; --with-bitfiles keeps it)",
    "recording": "a demo recording (large; --with-recordings keeps it)",
}


@dataclass
class Selection:
    """The files to bundle (archive name → path), the folders (so empty ones come back too), what was left
    out (path, reason) and settings that point outside the project."""

    files: list[tuple[str, Path]] = field(default_factory=list)
    folders: list[str] = field(default_factory=list)
    left_out: list[dict[str, str]] = field(default_factory=list)
    external: list[dict[str, str]] = field(default_factory=list)

    def skip(self, name: str, reason: str) -> None:
        self.left_out.append({"path": name, "reason": REASONS[reason]})


def select(project: Project, with_bitfiles: bool = False, with_recordings: bool = False,
           known: set[str] | None = None) -> Selection:
    """What a bundle of ``project`` holds; ``known``: the iteration folders of the manifest being bundled
    (default: the project's)."""
    selection = Selection()
    known = {it.folder_name for it in project.iterations} if known is None else known
    _walk(project.path, "", selection, known, with_bitfiles, with_recordings)
    selection.external = external_settings(project)
    return selection


def external_settings(project: Project) -> list[dict[str, str]]:
    """Settings naming folders outside the project (an image-folder data set): kept as set, not copied."""
    found = []
    dataset: Any = project.settings.get("dataset") or {}
    path = dataset.get("path") if isinstance(dataset, dict) else None
    if isinstance(path, str) and path:
        folder = Path(path) if Path(path).is_absolute() else project.path / path
        inside = folder.resolve().is_relative_to(project.path.resolve())
        if not inside:
            found.append({"setting": "dataset.path", "path": path,
                          "reason": "the data set is an image folder outside the project: the setting is kept, "
                                    "the images are not copied (copy the folder to the same path, or set the "
                                    "data set again, on the machine that imports the bundle)"})
    return found


def _walk(root: Path, prefix: str, selection: Selection, known: set[str], bitfiles: bool, recordings: bool) -> None:
    with os.scandir(root / prefix if prefix else root) as entries:
        items = sorted(entries, key=lambda e: e.name)
    names = {e.name for e in items}
    in_recording = all(name in names for name in RECORDING_FILES)
    for entry in items:
        name = f"{prefix}{entry.name}"
        reason = _reason(name, entry, known, bitfiles, recordings, in_recording)
        if reason:
            selection.skip(name, reason)
        elif entry.is_dir(follow_symlinks=False):
            selection.folders.append(name)
            _walk(root, name + "/", selection, known, bitfiles, recordings)
        else:
            selection.files.append((name, Path(entry.path)))


def _reason(name: str, entry: os.DirEntry[str], known: set[str], bitfiles: bool, recordings: bool,
            in_recording: bool) -> str | None:
    parts = name.split("/")
    base = parts[-1]
    mode = entry.stat(follow_symlinks=False).st_mode
    if stat.S_ISLNK(mode):
        return "link"
    if not (stat.S_ISREG(mode) or stat.S_ISDIR(mode)):
        return "special"
    if any(fnmatch.fnmatch(base, pattern) for pattern in CREDENTIALS):
        return "credentials"
    if base.startswith(".draft-") or (base.startswith(".") and base.endswith(".tmp")):
        return "draft"
    if len(parts) == 1:
        if base == LOCK_NAME:
            return "lock"
        if base == CACHE_DIR:
            return "cache"
        if base == RECORDINGS_DIR and not recordings:
            return "recording"
    if len(parts) == 2 and parts[0] == ITERATIONS_DIR and stat.S_ISDIR(mode) and base not in known:
        return "orphan"
    if in_recording and not recordings:
        return "recording"
    # iterations/<it>/builds/<build>/<top-level folder of the build>
    if len(parts) == 5 and parts[0] == ITERATIONS_DIR and parts[2] == BUILDS_DIR and stat.S_ISDIR(mode):
        if base in REGENERABLE:
            return "regenerable"
        if base in DEPLOYMENT and not bitfiles:
            return "deployment"
    return None

