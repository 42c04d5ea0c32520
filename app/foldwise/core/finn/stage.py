"""The Build stage: one call, :func:`build`, for the CLI verbs and the Build panel alike, and the builds it keeps.

``build(target, config, ctx)`` takes what to build from (a project, one of its iterations, a project folder or
a QONNX file), one :class:`~foldwise.core.finn.build_config.BuildConfig`, and a job context; it picks the build
folder, runs the build here (the FINN worker) or on ``config.host`` (over SSH), fresh or resumed at
``config.start_step``, and returns the :class:`~foldwise.core.finn.reports.BuildReport`.

A quantized iteration holds ``model.qonnx.onnx`` (the FINN-ready export checked bit-exactly by the Quantize
stage). Builds are child records of the iteration they build (the iteration itself stays immutable):
``iterations/<it>/builds/<stamp>-<kind>-<board>-<MHz>MHz/`` with FINN's reports, log and the folding used. A
model file's builds go to ``<stem>.finn/<kind>-<board>-<MHz>MHz`` next to it.
"""

from __future__ import annotations

import contextlib
import re
import shutil
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from foldwise.core.atomic import atomic_write_json, unique_dir
from foldwise.core.errors import Cancelled, DiskFullError, InputError, is_disk_full
from foldwise.core.finn import build as worker_builds
from foldwise.core.finn.build_config import BuildConfig
from foldwise.core.finn.hosts import RemoteBuildHost, saved_hosts
from foldwise.core.finn.kinds import BuildKind
from foldwise.core.finn.remote_build import REMOTE_LOG, REMOTE_RECORD, local_resume, read_json, remote_build
from foldwise.core.finn.reports import BuildReport, estimated_fps
from foldwise.core.finn.worker import FinnWorker
from foldwise.core.jobs import JobContext, null_context
from foldwise.core.project import MANIFEST_NAME, Iteration, Project

QONNX_NAME = "model.qonnx.onnx"
BUILDS_DIR = "builds"
BUILD_RECORD = "foldwise_build.json"
#: the BuildConfig a local build was started with (a remote build keeps it in its ``foldwise_remote.json``)
CONFIG_RECORD = "foldwise_config.json"
#: written into a local build folder whose build failed or was cancelled: its status and the error
FAILURE_RECORD = "foldwise_failed.json"
_NAME_RE = re.compile(r"(?:^|-)(estimate|hls|codegen|bitfile)-(.+)-(\d+(?:\.\d+)?)MHz(?:-\d+)?$")
_STEP_RE = re.compile(r"Running step: (step_\w+) \[\d+/\d+\]")

BuildTarget = Project | Iteration | str | Path


def is_project(path: str | Path) -> bool:
    return (Path(path) / MANIFEST_NAME).is_file()


def iteration_qonnx(iteration: Iteration) -> Path:
    """The FINN-ready QONNX of ``iteration``; InputError says what to do if it has none."""
    if iteration.missing:
        raise InputError(iteration.missing)
    for candidate in (iteration.folder / QONNX_NAME, iteration.folder / "source.onnx"):
        if candidate.is_file() and (candidate.name == QONNX_NAME or iteration.change.get("format") == "qonnx"):
            return candidate
    raise InputError(
        f"iteration {iteration.label} is not quantized, so FINN cannot build it: quantize it first "
        "(Quantize stage, or `foldwise quantize`), or give a QONNX file"
    )


def qonnx_for(project: Project, iteration: Iteration | None = None) -> Path:
    """The FINN-ready QONNX of ``iteration`` (default: current); InputError says what to do if it has none."""
    iteration = iteration or project.current
    if iteration is None:
        raise InputError(f"project {project.name} has no iterations yet: train or import a network first")
    return iteration_qonnx(iteration)


def new_build_dir(iteration: Iteration, kind: str | BuildKind, board: str, clock_mhz: float) -> Path:
    """A fresh build folder under the iteration's ``builds/``, made here: ``mkdir`` is atomic, so two builds
    started in the same second (two processes, or the GUI and the CLI) never share one."""
    stamp = time.strftime("%Y%m%d-%H%M%S")
    return unique_dir(iteration.folder / BUILDS_DIR, f"{stamp}-{BuildKind.parse(kind).value}-{board}-{clock_mhz:g}MHz")


@dataclass
class BuildRecord:
    """A kept build: its folder, what ``foldwise_build.json`` says of it and, for a remote build, where it ran.

    Everything is read from the records Foldwise writes and FINN's reports (through
    :mod:`foldwise.core.finn.reports`); builds made before the kinds were unified are read too.
    """

    folder: Path
    record: dict[str, Any]
    remote: dict[str, Any] = field(default_factory=dict)
    failure: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def read(cls, folder: Path) -> BuildRecord:
        record: dict[str, Any] = {}
        if (folder / BUILD_RECORD).is_file():
            record = read_json(folder / BUILD_RECORD) or {"error": f"{BUILD_RECORD} is unreadable"}
        return cls(folder, record, read_json(folder / REMOTE_RECORD), read_json(folder / FAILURE_RECORD))

    @property
    def name(self) -> str:
        return self.folder.name

    def _from_name(self, group: int) -> str | None:
        match = _NAME_RE.search(self.name)
        return match.group(group) if match else None

    @property
    def kind(self) -> BuildKind | None:
        name = self.record.get("kind") or self.remote.get("kind") or self._from_name(1)
        try:
            return BuildKind.parse(name) if name else None
        except InputError:
            return None

    @property
    def board(self) -> str | None:
        return self.record.get("board") or self.remote.get("board") or self._from_name(2)

    @property
    def clock_mhz(self) -> float | None:
        if self.record.get("clock_ns"):
            return round(1000.0 / float(self.record["clock_ns"]), 6)
        value = self.remote.get("clock_mhz") or self._from_name(3)
        return float(value) if value else None

    @property
    def host(self) -> str | None:
        """``user@host:port`` of the build host it ran on (None: this machine)."""
        target = self.remote.get("host")
        if not target:
            return None
        return f"{target.get('user') or ''}@{target.get('host')}:{target.get('port')}".lstrip("@")

    @property
    def fps(self) -> float | None:
        return estimated_fps(self.folder)

    @property
    def ok(self) -> bool:
        """The build finished and left FINN's estimate."""
        return self.remote.get("status", "done") == "done" and not self.failure and self.fps is not None

    @property
    def status(self) -> str:
        """``done``, ``running``, ``cancelled`` or ``failed`` (also a build whose process was killed: no report)."""
        if self.remote.get("status") in ("running", "cancelled", "failed"):
            return str(self.remote["status"])
        if self.failure.get("status") in ("cancelled", "failed"):
            return str(self.failure["status"])
        return "done" if self.ok else "failed"

    @property
    def error(self) -> str | None:
        """What the failed or cancelled build reported, if it was recorded."""
        return self.failure.get("error") or self.remote.get("error") or None

    @property
    def modified(self) -> float:
        try:
            return self.folder.stat().st_mtime
        except OSError:
            return 0.0

    @property
    def resume_step(self) -> str | None:
        """The FINN step a failed or cancelled build stopped in (the step to resume at), from its logs."""
        if self.ok:
            return None
        last = None
        for log in (REMOTE_LOG, "build_dataflow.log"):
            try:
                text = (self.folder / log).read_text(encoding="utf-8", errors="replace")
            except OSError:
                continue
            steps = _STEP_RE.findall(text)
            last = steps[-1] if steps else last
            if last:
                break
        return last

    def config(self) -> BuildConfig | None:
        """The configuration the build was started with (to resume it as it was), if it was recorded."""
        data = read_json(self.folder / CONFIG_RECORD) or self.remote.get("config")
        if not data:
            return None
        return BuildConfig.from_dict({**data, "host": None}).with_(host=self.build_host())

    def build_host(self) -> RemoteBuildHost | None:
        """The build host a remote build ran on: the saved one for that machine, else the recorded settings."""
        if not self.remote.get("host"):
            return None
        recorded = RemoteBuildHost.from_dict({**self.remote, "target": self.remote["host"]})
        return next((h for h in saved_hosts() if h.same_machine(recorded)), recorded)


def list_builds(iteration: Iteration) -> list[BuildRecord]:
    """The iteration's builds, newest first."""
    root = iteration.folder / BUILDS_DIR
    if not root.is_dir():
        return []
    return [BuildRecord.read(folder) for folder in sorted(root.iterdir(), reverse=True) if folder.is_dir()]


def builds_for(model: Path | None, iteration: Iteration | None = None) -> list[BuildRecord]:
    """The builds of ``iteration`` if given, else those next to the model file (``<stem>.finn/``); newest first."""
    if iteration is not None:
        return list_builds(iteration)
    if model is None:
        return []
    root = Path(model).parent / f"{Path(model).stem}.finn"
    if not root.is_dir():
        return []
    found = [BuildRecord.read(p) for p in root.iterdir() if p.is_dir()]
    return sorted(found, key=lambda b: b.modified, reverse=True)


def resolve(target: BuildTarget) -> tuple[Path, Iteration | None]:
    """(QONNX model, iteration or None) for a project, an iteration, a project folder or a model file."""
    if isinstance(target, Project):
        return qonnx_for(target), target.current
    if isinstance(target, Iteration):
        return iteration_qonnx(target), target
    path = Path(target).expanduser()
    if path.is_dir() and is_project(path):
        project = Project.open(path, read_only=True)
        return qonnx_for(project), project.current
    if not path.is_file():
        raise InputError(f"{target} is neither a QONNX file nor a Foldwise project")
    check_model_file(path)
    return path, None


def check_model_file(path: Path) -> None:
    """Refuse a file that is no ONNX model before FINN starts on it (FINN's own errors name no file)."""
    import onnx

    if path.stat().st_size == 0:
        raise InputError(f"{path} is empty (0 bytes): not a QONNX model")
    try:
        model = onnx.load(str(path), load_external_data=False)
    except Exception as exc:  # protobuf raises DecodeError, plain ValueError or RuntimeWarning-ish errors
        raise InputError(f"{path} is not a readable ONNX model (corrupt or truncated?): {type(exc).__name__}") \
            from exc
    if not model.graph.node:
        raise InputError(f"{path} is not a readable ONNX model: it holds no graph nodes")


def _resume_dir(model: Path, iteration: Iteration | None, config: BuildConfig) -> Path:
    """The build a ``start_step`` resumes: the iteration's newest matching build, or the model's default."""
    if iteration is not None:
        matching = [b.folder for b in list_builds(iteration) if b.kind is config.kind and b.board == config.board
                    and b.clock_mhz is not None and abs(b.clock_mhz - config.clock_mhz) < 1e-6]
        if not matching:
            raise InputError(f"no {config.kind.value} build for {config.board} at {config.clock_mhz:g} MHz to resume "
                             f"in iteration {iteration.label}; give the build folder (--out)")
        return matching[0]
    return worker_builds.default_build_dir(model, config.kind, config.board, config.clock_mhz)


def build_folder(model: Path, iteration: Iteration | None, config: BuildConfig) -> Path:
    """Where ``config``'s build goes (or, resuming, the build it continues)."""
    if config.out_dir is not None:
        folder = config.out_dir
    elif config.start_step:
        folder = _resume_dir(model, iteration, config)
    elif iteration is not None:
        return new_build_dir(iteration, config.kind, config.board, config.clock_mhz)
    else:
        return worker_builds.default_build_dir(model, config.kind, config.board, config.clock_mhz)
    if config.start_step and not folder.is_dir():
        raise InputError(f"no build to resume at {folder}")
    return folder


def build(target: BuildTarget, config: BuildConfig, ctx: JobContext | None = None, *,
          worker: FinnWorker | None = None) -> BuildReport:
    """The Build stage: ``config.kind`` of ``target``, here or on ``config.host``, fresh or resumed.

    Fresh local builds run in the shared FINN worker (``worker`` to use another); a bitfile build, hours long,
    gets a worker of its own so the shared one stays free for re-estimates. ``start_step`` resumes the build in
    ``config.out_dir`` or the target's newest build of that kind, board and clock. A local bitfile build without
    Vivado is a ToolMissingError offering the alternatives, raised before anything is written.
    """
    config.check()
    ctx = ctx or null_context()
    model, iteration = resolve(target)
    if config.host is None and config.kind is BuildKind.BITFILE and not config.start_step:
        missing = worker_builds.bitfile_tools_missing(config.board)
        if missing is not None:
            raise missing
    if config.start_step:
        fresh = False
    elif config.out_dir is None and iteration is not None:
        fresh = True  # new_build_dir makes a new one
    else:
        fresh = not (config.out_dir or worker_builds.default_build_dir(
            model, config.kind, config.board, config.clock_mhz)).exists()
    folder = build_folder(model, iteration, config)
    if config.host is not None:
        return remote_build(model, config, folder, ctx)
    parent_existed = folder.parent.exists()  # <stem>.finn beside a model file, builds/ in an iteration
    folder.mkdir(parents=True, exist_ok=True)
    (folder / FAILURE_RECORD).unlink(missing_ok=True)  # a resumed or rerun build starts unjudged
    try:
        atomic_write_json(folder / CONFIG_RECORD, {**config.to_dict(), "out_dir": str(folder)})
        if config.start_step:
            return local_resume(model, config, folder, ctx)
        if worker is None and config.kind is BuildKind.BITFILE:
            with FinnWorker() as own:
                return worker_builds.worker_build(model, config, folder, worker=own, ctx=ctx)["report"]
        return worker_builds.worker_build(model, config, folder, worker=worker, ctx=ctx)["report"]
    except BaseException as exc:  # cancel, FINN error, dead worker, Ctrl+C or SIGTERM: the worker is stopped
        record_failure(folder, exc, remove_if_empty=fresh)
        if not parent_existed:
            with contextlib.suppress(OSError):  # only when record_failure removed the build and it is empty
                folder.parent.rmdir()
        raise


def record_failure(folder: Path, exc: BaseException, *, remove_if_empty: bool) -> None:
    """Mark a local build that failed so listings say so, keeping FINN's log; remove it if nothing in it is useful.

    A folder this build made is removed when it holds only Foldwise's own config record (FINN never started: a
    refused model, a worker that did not start) or when the build was stopped (cancel, Ctrl+C, SIGTERM) before
    FINN kept any intermediate model to resume from, or when the disk filled up: the project is then as it was.
    Otherwise ``foldwise_failed.json`` records ``failed`` or ``cancelled`` and the error next to FINN's log.
    """
    try:
        contents = {p.name for p in folder.iterdir()}
    except OSError:
        return
    status = "cancelled" if isinstance(exc, Cancelled | KeyboardInterrupt) else "failed"
    resumable = any((folder / "intermediate_models").glob("*.onnx"))
    # A full disk: nothing in the folder is worth the space it holds (FINN stopped writing mid-file).
    if remove_if_empty and (contents <= {CONFIG_RECORD} or (status == "cancelled" and not resumable)
                            or isinstance(exc, DiskFullError) or is_disk_full(exc)):
        shutil.rmtree(folder, ignore_errors=True)
        return
    with contextlib.suppress(OSError):  # a full or read-only disk: listings still say failed (no report)
        atomic_write_json(folder / FAILURE_RECORD, {"status": status, "error": str(exc) or type(exc).__name__,
                                                    "when": time.strftime("%Y-%m-%dT%H:%M:%S")})

