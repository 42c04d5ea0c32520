"""The Deploy stage: push an iteration's build to a board, run the throughput test and validation there.

``deploy(project, DeploySpec, ctx) -> DeployResult``. One SSH connection does it all: a look at the board (is
it an emulated board?), the push of the build's package (:mod:`.package`, :mod:`.push`), then each run streamed
live through Foldwise's on-board runner under a timeout (cancel and timeout kill the remote process group).
Each run becomes a record under the iteration (:mod:`.runs`): the throughput sweep over batch sizes with the
per-stage times next to FINN's estimate for the same build (and the ratio), and the validation accuracy next
to the host's quantized network on the same images. Figures from an emulated board are labelled ``emulated``,
from a real one ``measured``.
"""

from __future__ import annotations

import json
import re
import shlex
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from foldwise.core.board.package import NO_BITFILE_REASON, accelerator_of, make_package
from foldwise.core.board.probe import PROFILE_SCRIPTS, PYNQ_VENV
from foldwise.core.board.profiles import get_board
from foldwise.core.board.push import PushResult, push_folder
from foldwise.core.board.run_errors import BoardRunError, NoBitfileError
from foldwise.core.board.runner_remote import EMULATOR_ENV
from foldwise.core.board.runs import Figure, RunRecord, new_run_dir, save_run
from foldwise.core.errors import Cancelled, InputError
from foldwise.core.finn.stage import BuildRecord, list_builds
from foldwise.core.jobs import JobContext, null_context
from foldwise.core.lazy_import import lazy_module
from foldwise.core.project import Iteration, Project
from foldwise.core.protocol import REPORT
from foldwise.core.remote.ssh import SshError, SshSession

np = lazy_module("numpy")  # the GUI imports this module for its panels; numpy loads on first use

DEFAULT_BATCHES = (1, 10, 100)
_GROUP_SAFE = re.compile(r"[^A-Za-z0-9._-]+")


@dataclass
class DeploySpec:
    """What to deploy where: ``board`` (a saved board), the build (default: the newest usable one), the runs.

    ``batches``: the throughput test's batch sizes; ``images``: validation images from the test split (0: all);
    ``timeout``: seconds for each remote run (the runtime can hang on a wrong bitfile).
    """

    board: str
    throughput: bool = True
    batches: tuple[int, ...] = DEFAULT_BATCHES
    validate: bool = False
    images: int = 200
    build: str | None = None
    timeout: float = 900.0
    keep: int = 3
    password: str | None = field(default=None, repr=False)
    trust_fingerprint: str | None = None

    def check(self) -> None:
        if not self.throughput and not self.validate:
            raise InputError("nothing to run: ask for the throughput test, validation or both")
        if not self.batches or any(int(b) < 1 or int(b) > 100_000 for b in self.batches):
            raise InputError(f"batch sizes must be 1..100000, got {list(self.batches)}")
        if self.images < 0:
            raise InputError(f"validation images must be 0 (all) or more, got {self.images}")
        if not self.timeout > 0:
            raise InputError(f"the timeout must be positive, got {self.timeout}")


@dataclass
class DeployResult:
    board: str
    emulated: bool
    accelerator: str
    build: str
    package: Path
    push: PushResult
    runs: list[RunRecord] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return {"board": self.board, "emulated": self.emulated, "accelerator": self.accelerator, "build": self.build,
                "package": str(self.package), "push": self.push.to_dict(), "runs": [r.to_dict() for r in self.runs]}


def choose_build(iteration: Iteration, name: str | None = None) -> BuildRecord:
    """The build named ``name``, or the newest finished one that has a bitfile or FINN's dataflow model."""
    builds = list_builds(iteration)
    if name:
        found = next((b for b in builds if b.name == name), None)
        if found is None:
            raise InputError(f"iteration {iteration.label} has no build {name!r}")
        if not found.ok:
            raise InputError(f"build {name} did not finish ({found.status}): pick another or build again")
        accelerator_of(found)
        return found
    for build in builds:
        if build.ok:
            try:
                accelerator_of(build)
            except InputError:
                continue
            return build
    raise InputError(f"iteration {iteration.label} has no build to deploy: run an estimate first "
                     "(`foldwise estimate`, or Build in the GUI)")


def _host_predictions(project: Project, iteration: Iteration, images: np.ndarray) -> np.ndarray:
    """The quantized network's top-1 classes on the host (Brevitas) for the same images."""
    import torch

    from foldwise.core.quantize.ptq import pixels
    from foldwise.core.quantize.store import load_network as load_quantized

    network, _ = load_quantized(iteration.folder)
    network.model.eval()
    out = []
    with torch.no_grad():
        for i in range(0, len(images), 64):
            result = network.model(pixels(images[i:i + 64]))
            out.append(getattr(result, "value", result).numpy().argmax(1))
    return np.concatenate(out)


def runner_command(deployment: str, mode: str, args: list[str], sudo: bool) -> str:
    """The runner in ``deployment`` under the board's venv Python (profile scripts sourced explicitly: a
    command over SSH gets a non-login shell); with ``sudo`` the password comes on stdin, never the command line."""
    q = shlex.quote
    profile = "; ".join(f"[ -r {s} ] && . {s}" for s in PROFILE_SCRIPTS)
    run = f'"$py" foldwise_runner.py {mode} {" ".join(q(a) for a in args)}'
    if sudo:
        run = f"sudo -S -p '' {run}"
    return (f'{profile}; py="${{PYNQ_VENV:-{PYNQ_VENV}}}/bin/python3"; [ -x "$py" ] || py=python3; '
            f"cd {q(deployment)} && exec {run}")


def _stream_runner(session: SshSession, command: str, ctx: JobContext, log: Path, timeout: float,
                   stdin: str | None) -> dict[str, Any]:
    """Run the board runner, its progress to ``ctx``, other lines to the log; its result event."""
    result: dict[str, Any] = {}
    error: dict[str, Any] = {}

    def on_line(line: str) -> None:
        try:
            event = json.loads(line)
        except ValueError:
            ctx.log(line)
            return
        if not isinstance(event, dict):
            ctx.log(line)
        elif event.get("event") == "progress":
            ctx.progress(float(event.get("fraction", 0.0)), str(event.get("message", "")))
        elif event.get("event") == "result":
            result.update(event)
        elif event.get("event") == "error":
            error.update(event)

    code = session.stream(command, ctx, on_stdout=on_line, stdin=stdin, log_file=log, timeout=timeout)
    if error:
        raise BoardRunError(str(error.get("message", "the board runner failed")), str(error.get("code", "")),
                            str(error.get("fix", "")))
    if code == 127:
        raise BoardRunError(f"a command the runner needs is missing on the board: {_last_line(log)}",
                            "command-missing", "install it on the board (a PYNQ image has python3 and sudo)")
    if code != 0 or not result:
        raise BoardRunError(f"the board runner exited with code {code} without a result (killed on the board?); "
                            f"last line: {_last_line(log)} (log: {log})", "runner-died",
                            "run again: the board is left as it was")
    return result


def _last_line(log: Path) -> str:
    try:
        lines = [line for line in log.read_text(encoding="utf-8", errors="replace").splitlines() if line.strip()]
    except OSError:
        return "(no log)"
    return lines[-1][:300] if lines else "(nothing printed)"


def _throughput_record(result: dict[str, Any], board: str, emulated: bool, build: BuildRecord,
                       package_record: dict[str, Any]) -> RunRecord:
    source = "emulated" if emulated else "measured"
    rows = list(result.get("rows") or [])
    best = max(rows, key=lambda r: float(r.get("throughput[images/s]", 0.0)))
    single = min(rows, key=lambda r: int(r.get("batch_size", 1)))
    batch = max(int(single.get("batch_size", 1)), 1)
    figures = {"fps": Figure(float(best["throughput[images/s]"]), "images/s", source),
               "latency_ms": Figure(float(single["runtime[ms]"]) / batch, "ms", source)}
    for stage in ("pack_input", "copy_input_data_to_device", "compute", "copy_output_data_from_device",
                  "unpack_output"):
        if f"{stage}[ms]" in single:
            figures[f"{stage}_ms"] = Figure(float(single[f"{stage}[ms]"]) / batch, "ms", source)
    estimate = package_record.get("estimate") or {}
    if estimate.get("fps"):
        figures["fps_estimated"] = Figure(float(estimate["fps"]), "images/s", "estimated")
        figures["fps_ratio"] = Figure(figures["fps"].value / float(estimate["fps"]), "×", "computed")
    if estimate.get("latency_ms"):
        figures["latency_ms_estimated"] = Figure(float(estimate["latency_ms"]), "ms", "estimated")
    return RunRecord("throughput", board, "emulated-board" if emulated else "pynq", figures, rows, build.name,
                     info={"accelerator": result.get("accelerator"), "clock_mhz": package_record.get("clock_mhz"),
                           "clock_source": package_record.get("clock_source"),
                           "finn_version": result.get("finn_version")})


def _validate_record(result: dict[str, Any], board: str, emulated: bool, build: BuildRecord,
                     host: np.ndarray, labels: np.ndarray) -> RunRecord:
    source = "emulated" if emulated else "measured"
    predictions = np.asarray(result.get("predictions") or [], dtype=np.int64)
    n = len(predictions)
    figures = {"accuracy": Figure(float(result["accuracy"]), "fraction", source),
               "host_accuracy": Figure(float((host[:n] == labels[:n]).mean()) if n else 0.0, "fraction",
                                       "measured"),
               "agreement": Figure(float((host[:n] == predictions).mean()) if n else 0.0, "fraction", "computed"),
               "ms_per_image": Figure(float(result.get("ms_per_image", 0.0)), "ms", source)}
    return RunRecord("validate", board, "emulated-board" if emulated else "pynq", figures, [], build.name,
                     info={**REPORT.fields(n), "correct": result.get("correct"), "stage_ms": result.get("stage_ms"),
                           "host": "the quantized network in Brevitas on this machine",
                           "accelerator": result.get("accelerator")})


def _run(session: SshSession, iteration: Iteration, board: str, kind: str, command: str, ctx: JobContext,
         timeout: float, stdin: str | None, make_record: Any) -> RunRecord:
    folder = new_run_dir(iteration, board, kind)
    try:
        result = _stream_runner(session, command, ctx, folder / "run.log", timeout, stdin)
    except BaseException as exc:
        status = "cancelled" if isinstance(exc, Cancelled | KeyboardInterrupt) else "failed"
        save_run(folder, RunRecord(kind, board, "unknown", status=status, error=str(exc) or type(exc).__name__))
        raise
    return save_run(folder, make_record(result))


def validation_images(project: Project, count: int, ctx: JobContext | None = None) -> tuple[np.ndarray, np.ndarray]:
    """The ``report`` protocol's images and labels, at most ``count`` (0: all of them, as every other reported
    accuracy) — the same ones for a deploy and a demo."""
    from foldwise.core.iterations import load_splits

    images, labels = REPORT.limit(count).take(load_splits(project, ctx))
    return images, np.asarray(labels)


def package_for(project: Project, iteration: Iteration, build: BuildRecord, images: np.ndarray,
                labels: np.ndarray, ctx: JobContext | None = None) -> Path:
    return make_package(build, images, labels, {"project": project.name, "iteration": iteration.folder.name}, ctx)


def push_package(session: SshSession, project: Project, iteration: Iteration, build: BuildRecord, package: Path,
                 board: str, keep: int, ctx: JobContext) -> tuple[PushResult, bool]:
    """Push ``package`` on the open session; (the push, whether the board is emulated). A package without a
    bitfile is refused by a real board before anything is sent."""
    emulated = bool(session.run(f"printenv {EMULATOR_ENV}", timeout=30.0).stdout.strip())
    if accelerator_of(build) == "dataflow-model" and not emulated:
        raise NoBitfileError(f"{board} is a real board and build {build.name} has no bitfile ({NO_BITFILE_REASON})",
                             "no-bitfile", "build a bitfile where Vivado exists, or deploy to an emulated board "
                             "(`foldwise board emulate NAME`)")
    group = _GROUP_SAFE.sub("-", f"{project.name}-{iteration.folder.name}")[:100].strip("-.") or "deployment"
    return push_folder(session, package, group=group, keep=keep, ctx=ctx, board=board), emulated


def deploy(project: Project, spec: DeploySpec, ctx: JobContext | None = None) -> DeployResult:
    """The Deploy stage (see the module doc)."""
    ctx = ctx or null_context()
    spec.check()
    iteration = project.current
    if iteration is None:
        raise InputError(f"project {project.name} has no iterations yet: train, quantize and estimate first")
    build = choose_build(iteration, spec.build)
    accelerator = accelerator_of(build)
    board = get_board(spec.board)
    images, labels = validation_images(project, spec.images, ctx.sub(0.0, 0.02))
    count = len(images)
    package = package_for(project, iteration, build, images, labels, ctx.sub(0.02, 0.05))
    package_record = json.loads((package / "foldwise_package.json").read_text(encoding="utf-8"))
    ctx.progress(0.05, f"connecting to {board.display}")
    runs: list[RunRecord] = []
    try:
        with board.session(spec.password, spec.trust_fingerprint) as session:
            pushed, emulated = push_package(session, project, iteration, build, package, board.name, spec.keep,
                                            ctx.sub(0.05, 0.3))
            sudo = accelerator == "bitfile"  # pynq needs root (/dev/mem); the emulator does not
            stdin = (spec.password + "\n") if sudo and spec.password else None
            span = 0.7 / (int(spec.throughput) + int(spec.validate))
            start = 0.3
            if spec.throughput:
                args = [a for b in spec.batches for a in ("--batch", str(int(b)))] + ["--timeout", str(spec.timeout)]
                command = runner_command(pushed.deployment, "throughput", args, sudo)
                runs.append(_run(session, iteration, board.name, "throughput", command, ctx.sub(start, start + span),
                                 spec.timeout, stdin,
                                 lambda r: _throughput_record(r, board.name, emulated, build, package_record)))
                start += span
            if spec.validate:
                host = _host_predictions(project, iteration, images)
                command = runner_command(pushed.deployment, "validate", ["--images", str(count)], sudo)
                runs.append(_run(session, iteration, board.name, "validate", command, ctx.sub(start, start + span),
                                 spec.timeout, stdin,
                                 lambda r: _validate_record(r, board.name, emulated, build, host, labels)))
    except SshError as exc:
        raise SshError(f"{board.name}: {exc}") from exc
    ctx.progress(1.0, "deployed")
    return DeployResult(board.name, emulated, accelerator, build.name, package, pushed, runs)
