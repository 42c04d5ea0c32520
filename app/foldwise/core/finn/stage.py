"""FINN builds inside a project: which QONNX an iteration builds from, and where its builds are kept.

A quantized iteration holds ``model.qonnx.onnx`` (the FINN-ready export checked bit-exactly by the Quantize
stage). Builds are child records of the iteration they build (the iteration itself stays immutable):
``iterations/<it>/builds/<stamp>-<kind>-<board>-<MHz>MHz/`` with FINN's reports, log and the folding used.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from foldwise.core.errors import InputError
from foldwise.core.project import MANIFEST_NAME, Iteration, Project

QONNX_NAME = "model.qonnx.onnx"
BUILDS_DIR = "builds"
BUILD_RECORD = "foldwise_build.json"


def is_project(path: str | Path) -> bool:
    return (Path(path) / MANIFEST_NAME).is_file()


def qonnx_for(project: Project, iteration: Iteration | None = None) -> Path:
    """The FINN-ready QONNX of ``iteration`` (default: current); InputError says what to do if it has none."""
    iteration = iteration or project.current
    if iteration is None:
        raise InputError(f"project {project.name} has no iterations yet: train or import a network first")
    for candidate in (iteration.folder / QONNX_NAME, iteration.folder / "source.onnx"):
        if candidate.is_file() and (candidate.name == QONNX_NAME or iteration.change.get("format") == "qonnx"):
            return candidate
    raise InputError(
        f"iteration {iteration.label} is not quantized, so FINN cannot build it: quantize it first "
        "(Quantize stage, or `foldwise quantize`), or give a QONNX file"
    )


def new_build_dir(iteration: Iteration, kind: str, board: str, clock_mhz: float) -> Path:
    """A fresh, unique build folder under the iteration's ``builds/``."""
    root = iteration.folder / BUILDS_DIR
    root.mkdir(exist_ok=True)
    stamp = time.strftime("%Y%m%d-%H%M%S")
    base = f"{stamp}-{kind}-{board}-{clock_mhz:g}MHz"
    path, n = root / base, 1
    while path.exists():
        n += 1
        path = root / f"{base}-{n}"
    return path


@dataclass
class BuildRecord:
    """A build kept under an iteration: its folder and what ``foldwise_build.json`` says of it."""

    folder: Path
    record: dict[str, Any]

    @property
    def name(self) -> str:
        return self.folder.name


def list_builds(iteration: Iteration) -> list[BuildRecord]:
    """The iteration's builds, newest first."""
    root = iteration.folder / BUILDS_DIR
    if not root.is_dir():
        return []
    found = []
    for folder in sorted(root.iterdir(), reverse=True):
        record_path = folder / BUILD_RECORD
        record: dict[str, Any] = {}
        if record_path.is_file():
            try:
                record = json.loads(record_path.read_text(encoding="utf-8"))
            except ValueError:
                record = {"error": f"{BUILD_RECORD} is unreadable"}
        if folder.is_dir():
            found.append(BuildRecord(folder, record))
    return found


def resolve_target(arg: str | Path, kind: str, board: str, clock_mhz: float) -> tuple[Path, Path | None]:
    """(QONNX model, build dir or None for the default) for a verb's MODEL-or-PROJECT argument."""
    path = Path(arg).expanduser()
    if path.is_dir() and is_project(path):
        project = Project.open(path, read_only=True)
        model = qonnx_for(project)
        assert project.current is not None
        return model, new_build_dir(project.current, kind, board, clock_mhz)
    if not path.is_file():
        raise InputError(f"{arg} is neither a QONNX file nor a Foldwise project")
    return path, None
