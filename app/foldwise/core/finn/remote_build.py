"""FINN builds on a remote build host over SSH, resumable builds, and the one entry point the Build stage uses.

A build host needs finn-plus in some Python (``RemoteBuildHost.python``: a path or a shell prefix such as
``. ~/finn/bin/activate && python``) and, for bitfiles, Vivado/Vitis HLS; it needs no Foldwise. Foldwise ships
its FINN worker modules there once per version (``<remote_dir>/runtime-<hash>/``), uploads the model, and runs
the same build the local worker runs (``foldwise.core.remote._finn_runner``): FINN's log streams back live,
``Running step`` lines become progress, cancel kills the remote process group. The reports (plus ``codegen/``
or the deployment package) are downloaded into the local build dir, next to ``remote_build.log`` and
``foldwise_remote.json`` (where the build ran; the remote build folder is kept so a failed build can be
resumed there with ``start_step``).
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import secrets
import shlex
import sys
import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from foldwise.core.errors import Cancelled, FoldwiseError, InputError, ToolMissingError
from foldwise.core.finn import build
from foldwise.core.finn.boards import DEFAULT_BOARD
from foldwise.core.finn.reports import BuildReport, read_build_reports
from foldwise.core.finn.tools import what_is_missing
from foldwise.core.finn.worker import FinnWorker
from foldwise.core.jobs import JobContext, null_context
from foldwise.core.remote._runner_client import RUNNER_MODULE, RunnerEvents, request_lines, run_local
from foldwise.core.remote.ssh import SshError, SshSession, SshTarget

_APP_DIR = Path(__file__).resolve().parents[3]
#: what Foldwise ships to a build host: the worker and what it imports (standard library + finn-plus only)
_RUNTIME_GLOBS = ("foldwise/__init__.py", "foldwise/core/__init__.py", "foldwise/core/errors.py",
                  "foldwise/core/finn/*.py", "foldwise/core/remote/__init__.py", "foldwise/core/remote/_finn_runner.py")

#: build kinds in increasing order (each includes the previous one's outputs) -> worker request kind
KINDS = {"estimate": "estimate", "hls": "hls_codegen", "bitfile": "full_build"}
#: what stays in a remote build folder (FINN's intermediate models, the stitched IP project); the rest, i.e.
#: reports, log, folding, ``codegen/`` (hls) and ``bitfile/``, ``driver/``, ``deploy/`` (bitfile) is downloaded
KEEP_REMOTE = ("intermediate_models", "stitched_ip")
REMOTE_RECORD = "foldwise_remote.json"
REMOTE_LOG = "remote_build.log"

_PROBE = """
import json, platform, sys
info = {"python_version": platform.python_version(), "executable": sys.executable, "machine": platform.machine()}
try:
    import importlib.util
    import finn
    if importlib.util.find_spec("finn.builder.build_dataflow") is None:
        info["finn_error"] = "a package named finn is importable, but it is not FINN (the PyPI `finn` placeholder?)"
    else:
        try:
            from importlib.metadata import version
            info["finn_version"] = version("finn-plus")
        except Exception:
            info["finn_version"] = getattr(finn, "__version__", None) or "unknown (not finn-plus)"
except Exception as exc:
    info["finn_error"] = type(exc).__name__ + ": " + str(exc)
print("@@probe " + json.dumps(info))
"""


def build_kind(outputs: Sequence[str]) -> str:
    """The build that produces all of ``outputs`` (``estimate`` < ``hls`` < ``bitfile``)."""
    unknown = [o for o in outputs if o not in KINDS]
    if unknown or not outputs:
        raise InputError(f"unknown build output {', '.join(unknown) or '(none)'}; choose from {', '.join(KINDS)}")
    return max(outputs, key=list(KINDS).index)


@dataclass
class RemoteBuildHost:
    """A machine FINN builds run on: how to log in, which Python has finn-plus, where Foldwise may work."""

    target: SshTarget
    python: str = "python3"
    remote_dir: str = "~/.foldwise"
    env: dict[str, str] = field(default_factory=dict)

    @classmethod
    def parse(cls, spec: str, *, python: str = "python3", remote_dir: str = "~/.foldwise",
              env: dict[str, str] | None = None, **target: Any) -> RemoteBuildHost:
        """From ``user@host[:port]`` plus SshTarget fields (identity, password, known_hosts, ...)."""
        return cls(SshTarget.parse(spec, **target), python=python, remote_dir=remote_dir, env=dict(env or {}))

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready settings for a project or the app settings (no password)."""
        return {"target": self.target.to_dict(), "python": self.python, "remote_dir": self.remote_dir,
                "env": dict(self.env)}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> RemoteBuildHost:
        return cls(SshTarget.from_dict(data["target"]), python=data.get("python", "python3"),
                   remote_dir=data.get("remote_dir", "~/.foldwise"), env=dict(data.get("env") or {}))


@dataclass
class HostCheck:
    """What a build host offers: its Python, finn-plus (or why not) and, per FINN output, what is missing."""

    host: str
    python: str
    home: str = ""
    python_version: str | None = None
    executable: str | None = None
    machine: str | None = None
    finn_version: str | None = None
    finn_error: str | None = None
    outputs: dict[str, Any] = field(default_factory=dict)
    host_fingerprint: str | None = None
    connect_seconds: float | None = None
    seconds: float = 0.0

    @property
    def ok(self) -> bool:
        """finn-plus is usable there (estimates and HLS code generation work)."""
        return self.finn_version is not None

    def can_build(self, kind: str) -> bool:
        out = self.outputs.get({"hls": "hls_codegen"}.get(kind, kind))
        return self.ok and (out is None or bool(out.get("available")))

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    def missing_message(self) -> str:
        """Why FINN cannot run on the host, and what to do."""
        return (f"finn-plus is not usable with `{self.python}` on build host {self.host}: {self.finn_error}. "
                "Install it in that Python (pip install --no-deps finn-plus==1.6.1 plus its dependencies) or give "
                "the Python that has it (remote python setting / --remote-python, e.g. "
                "`/opt/finn/venv/bin/python` or `. ~/finn/bin/activate && python`).")


def _runtime_files() -> list[tuple[Path, str]]:
    files: set[Path] = set()
    for pattern in _RUNTIME_GLOBS:
        files.update(_APP_DIR.glob(pattern))
    return sorted((p, p.relative_to(_APP_DIR).as_posix()) for p in files)


def runtime_id() -> str:
    """Hash of the shipped worker modules: a changed Foldwise ships a new runtime folder."""
    digest = hashlib.sha256()
    for path, rel in _runtime_files():
        digest.update(rel.encode() + b"\0" + path.read_bytes() + b"\0")
    return digest.hexdigest()[:12]


def _q(path: str) -> str:
    return shlex.quote(path)


class _Remote:
    """An open session to a build host with its absolute paths resolved."""

    def __init__(self, host: RemoteBuildHost, session: SshSession) -> None:
        self.host = host
        self.session = session
        self.root = session.expand(host.remote_dir).rstrip("/")
        self.runtime = f"{self.root}/runtime-{runtime_id()}"

    @property
    def display(self) -> str:
        return self.host.target.display

    def probe(self) -> tuple[HostCheck, bool]:
        """(what the host has, whether this Foldwise's runtime is already there): one round trip."""
        started = time.monotonic()
        check = HostCheck(self.display, self.host.python, home=self.session.home,
                          host_fingerprint=self.session.host_fingerprint,
                          connect_seconds=self.session.connect_seconds)
        probe, present = self.session.run_batch([
            f"{self._env()}{self.host.python} -c {_q(_PROBE)}",
            f"test -f {_q(self.runtime + '/.complete')} && echo present",
        ], timeout=120)
        line = next((ln for ln in probe.stdout.splitlines() if ln.startswith("@@probe ")), None)
        if line is None:
            detail = (probe.stderr.strip() or probe.stdout.strip() or f"exit code {probe.exit_code}").splitlines()
            check.finn_error = f"`{self.host.python}` did not run: {' | '.join(detail[-3:])}"
        else:
            info = json.loads(line[len("@@probe "):])
            for key in ("python_version", "executable", "machine", "finn_version", "finn_error"):
                setattr(check, key, info.get(key))
        check.seconds = time.monotonic() - started
        return check, present.stdout.strip() == "present"

    def _env(self) -> str:
        return "".join(f"export {k}={_q(v)}; " for k, v in self.host.env.items())

    def ensure_runtime(self, present: bool, ctx: JobContext) -> None:
        if present:
            return
        pairs = [(path, f"{self.runtime}/{rel}") for path, rel in _runtime_files()]
        self.session.put_files(pairs, ctx, what="shipping the FINN runner")
        self.session.run(f"touch {_q(self.runtime + '/.complete')}", check=True)

    def python_command(self, args: str) -> str:
        """``args`` run by the host's Python with the runtime importable."""
        return (f"export PYTHONPATH={_q(self.runtime)}${{PYTHONPATH:+:$PYTHONPATH}}; {self._env()}"
                f"{self.host.python} {args}")

    def outputs(self, board: str | None) -> dict[str, Any]:
        code = ("import json; from foldwise.core.finn.tools import what_is_missing; "
                f"print('@@tools ' + json.dumps(what_is_missing({board!r})))")
        result = self.session.run(self.python_command(f"-c {_q(code)}"), timeout=120)
        line = next((ln for ln in result.stdout.splitlines() if ln.startswith("@@tools ")), None)
        return json.loads(line[len("@@tools "):])["outputs"] if line else {}


def _open(host: RemoteBuildHost, session: SshSession | None, trust_fingerprint: str | None) -> tuple[SshSession, bool]:
    if session is not None:
        return session.connect(), False
    return SshSession(host.target, trust_fingerprint=trust_fingerprint).connect(), True


def check_build_host(
    host: RemoteBuildHost, *, board: str | None = DEFAULT_BOARD, trust_fingerprint: str | None = None,
    session: SshSession | None = None, ctx: JobContext | None = None,
) -> HostCheck:
    """Log in, find finn-plus in the host's Python and, if it is there, what each FINN output needs there.

    Connection problems raise the typed SSH errors (unknown host key with its fingerprint, auth, unreachable);
    a host without finn-plus is not an error here: ``HostCheck.ok`` is False and ``finn_error`` says why.
    """
    ctx = ctx or null_context()
    ctx.progress(0.0, f"connecting to {host.target.display}")
    session, owned = _open(host, session, trust_fingerprint)
    try:
        remote = _Remote(host, session)
        ctx.progress(0.3, "looking for finn-plus")
        check, present = remote.probe()
        if check.ok:
            remote.ensure_runtime(present, ctx.sub(0.5, 0.8))
            ctx.progress(0.8, "looking for Xilinx tools")
            check.outputs = remote.outputs(board)
        ctx.progress(1.0, "host checked")
        return check
    finally:
        if owned:
            session.close()


def _write_json(path: Path, data: dict[str, Any]) -> None:
    path.write_text(json.dumps(data, indent=2, default=str) + "\n", encoding="utf-8")


def _read_json(path: Path) -> dict[str, Any]:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}


def _default_keep(kind: str, keep_intermediate: bool | None, start_step: str | None) -> bool:
    """Long builds keep FINN's intermediate models so a failed step can be resumed."""
    if keep_intermediate is not None:
        return keep_intermediate
    return kind != "estimate" or bool(start_step)


def remote_build(
    model: str | Path,
    host: RemoteBuildHost,
    *,
    kind: str = "estimate",
    board: str = DEFAULT_BOARD,
    clock_mhz: float = 100.0,
    folding: build.FoldingLike = None,
    target_fps: int | None = None,
    build_dir: str | Path | None = None,
    start_step: str | None = None,
    keep_intermediate: bool | None = None,
    allow_cpu_compute: bool = False,
    trust_fingerprint: str | None = None,
    session: SshSession | None = None,
    timeout: float | None = None,
    ctx: JobContext | None = None,
) -> BuildReport:
    """Run a FINN build of ``kind`` (estimate, hls, bitfile) on ``host`` and bring its results into ``build_dir``.

    With ``start_step``, resumes the failed build recorded in ``build_dir`` (same host, remote folder kept).
    Raises ToolMissingError when the host lacks finn-plus (or Vivado for a bitfile), the typed SSH errors for
    connection problems, the worker's typed errors for FINN failures, Cancelled on cancel (remote group killed).
    """
    if kind not in KINDS:
        raise InputError(f"unknown build kind {kind!r}; choose from {', '.join(KINDS)}")
    ctx = ctx or null_context()
    build_dir = Path(build_dir) if build_dir else build.default_build_dir(model, kind, board, clock_mhz)
    params = build._params(model, board, clock_mhz, target_fps=target_fps, folding=build._folding_dict(folding),
                           keep_intermediate=_default_keep(kind, keep_intermediate, start_step),
                           allow_cpu_compute=allow_cpu_compute, start_step=start_step)
    local_model = Path(params["model"])
    record_path = build_dir / REMOTE_RECORD
    previous = _read_json(record_path) if start_step else {}
    if start_step and not previous.get("remote_build_dir"):
        raise InputError(f"cannot resume {build_dir} on {host.target.display}: it holds no remote build "
                         f"({REMOTE_RECORD} missing); a local build is resumed without a remote host")
    ctx.progress(0.0, f"connecting to {host.target.display}")
    session, owned = _open(host, session, trust_fingerprint)
    try:
        remote = _Remote(host, session)
        if previous and (previous.get("host", {}).get("host"), previous.get("host", {}).get("port")) != (
                host.target.host, host.target.port):
            raise InputError(f"{build_dir} was built on {previous['host'].get('host')}:{previous['host'].get('port')}"
                             f", not {host.target.host}:{host.target.port}: resume it there")
        ctx.progress(0.02, "looking for finn-plus on the build host")
        check, present = remote.probe()
        if not check.ok:
            raise ToolMissingError(check.missing_message())
        remote.ensure_runtime(present, ctx.sub(0.03, 0.06))
        if kind == "bitfile":
            needs = remote.outputs(board).get("bitfile", {})
            if needs and not needs.get("available"):
                raise ToolMissingError(
                    f"build host {remote.display} cannot build a bitfile for {board}: it lacks "
                    f"{', '.join(needs.get('missing', []))}. FINN's estimate needs none of these (outputs "
                    "estimate), and HLS code generation needs only finn-plus (outputs hls).")
        rb = previous.get("remote_build_dir") or (
            f"{remote.root}/builds/{time.strftime('%Y%m%d-%H%M%S')}-{build_dir.name}-{secrets.token_hex(3)}")
        if start_step and not session.exists(f"{rb}/build/intermediate_models"):
            raise InputError(f"cannot resume: the remote build folder {rb}/build on {remote.display} is gone or "
                             "kept no intermediate models")
        remote_model = f"{rb}/input/{local_model.name}"
        if not start_step or not session.exists(remote_model):
            session.put_files([(local_model, remote_model)], ctx.sub(0.06, 0.1), what="uploading the model")
        params.update(model=remote_model, output_dir=f"{rb}/build")
        build_dir.mkdir(parents=True, exist_ok=True)
        record = {"host": host.target.to_dict(), "python": host.python, "remote_dir": host.remote_dir,
                  "remote_build_dir": rb, "runtime": remote.runtime, "kind": kind, "board": board,
                  "clock_mhz": clock_mhz, "local_model": str(local_model), "start_step": start_step,
                  "host_fingerprint": session.host_fingerprint, "finn_version": check.finn_version,
                  "started": time.strftime("%Y-%m-%dT%H:%M:%S"), "status": "running"}
        _write_json(record_path, record)
        events = RunnerEvents(ctx.sub(0.1, 0.95), build_dir / REMOTE_LOG, remote.display)
        hint = f" [build host {remote.display}, folder {rb}; log copied to {build_dir}]"
        runner_args = f"-u -m {RUNNER_MODULE} --event-fd 3 --scratch {_q(rb + '/scratch')} 3>&1 1>&2"
        command = f"mkdir -p {_q(rb + '/build')} && cd {_q(rb)} || exit 1; " + remote.python_command(runner_args)
        try:
            code = session.stream(command, ctx, on_stdout=events.on_stdout, on_stderr=events.log,
                                  stdin=request_lines(KINDS[kind], params), timeout=timeout)
            if events.result is None and not session.connected:
                raise SshError(f"the connection to {remote.display} was lost during the build; the build may "
                               f"still be running there ({rb}): resume it with start_step once it is reachable")
            try:
                events.raise_if_failed(code, host.python, hint)
            except FoldwiseError:
                with contextlib.suppress(Exception):
                    session.get_dir(f"{rb}/build", build_dir, include=["build_dataflow.log", "report"])
                raise
            ctx.progress(0.95, "downloading the results")
            stats = session.get_dir(f"{rb}/build", build_dir, ctx.sub(0.95, 0.99), exclude=KEEP_REMOTE)
        except BaseException as exc:
            record["status"] = "cancelled" if isinstance(exc, Cancelled) else "failed"
            record["error"] = str(exc)
            _write_json(record_path, record)
            raise
        finally:
            events.close()
        meta_path = build_dir / "foldwise_build.json"
        meta = _read_json(meta_path)
        if meta:
            meta.update(model=str(local_model), remote={"host": remote.display, "remote_build_dir": rb,
                                                        "remote_model": remote_model})
            _write_json(meta_path, meta)
        record.update(status="done", finished=time.strftime("%Y-%m-%dT%H:%M:%S"),
                      runner_seconds=(events.result or {}).get("_seconds") or (events.result or {}).get("seconds"),
                      downloaded_files=stats.files, downloaded_bytes=stats.bytes)
        _write_json(record_path, record)
    finally:
        if owned:
            session.close()
    ctx.progress(1.0, "remote build done")
    return read_build_reports(build_dir, board=board)


def local_resume(
    model: str | Path, *, kind: str = "estimate", board: str = DEFAULT_BOARD, clock_mhz: float = 100.0,
    folding: build.FoldingLike = None, target_fps: int | None = None, build_dir: str | Path | None = None,
    start_step: str, allow_cpu_compute: bool = False, python: str | None = None, timeout: float | None = None,
    ctx: JobContext | None = None,
) -> BuildReport:
    """Resume a failed local build in ``build_dir`` at ``start_step`` (FINN loads the previous step's model)."""
    if kind not in KINDS:
        raise InputError(f"unknown build kind {kind!r}; choose from {', '.join(KINDS)}")
    ctx = ctx or null_context()
    build_dir = Path(build_dir) if build_dir else build.default_build_dir(model, kind, board, clock_mhz)
    if (build_dir / REMOTE_RECORD).is_file():
        where = _read_json(build_dir / REMOTE_RECORD).get("host", {})
        raise InputError(f"{build_dir} was built on {where.get('user') or ''}@{where.get('host')}:{where.get('port')}"
                         ": resume it there (remote host) - its intermediate models are on that host")
    if not (build_dir / "intermediate_models").is_dir():
        raise InputError(f"cannot resume {build_dir}: it kept no intermediate models (FINN needs the model saved "
                         "after the step before the start step)")
    params = build._params(model, board, clock_mhz, output_dir=str(build_dir.resolve()), target_fps=target_fps,
                           folding=build._folding_dict(folding), keep_intermediate=True,
                           allow_cpu_compute=allow_cpu_compute, start_step=start_step)
    ctx.progress(0.0, f"resuming at {start_step} (starting FINN, ~5 s)")
    run_local(params, KINDS[kind], build_dir, python or sys.executable, ctx.sub(0.0, 0.98), timeout)
    ctx.progress(1.0, "resumed build done")
    return read_build_reports(build_dir, board=board)


def run_build(
    model: str | Path,
    *,
    kind: str = "estimate",
    host: RemoteBuildHost | None = None,
    board: str = DEFAULT_BOARD,
    clock_mhz: float = 100.0,
    folding: build.FoldingLike = None,
    target_fps: int | None = None,
    build_dir: str | Path | None = None,
    start_step: str | None = None,
    keep_intermediate: bool | None = None,
    trust_fingerprint: str | None = None,
    worker: FinnWorker | None = None,
    ctx: JobContext | None = None,
) -> BuildReport:
    """The Build stage's one call: ``kind`` (estimate, hls, bitfile) here or on ``host``, fresh or resumed.

    Local fresh builds use the shared FINN worker (:mod:`foldwise.core.finn.build`); ``start_step`` resumes the
    build in ``build_dir``; ``keep_intermediate`` defaults to True except for plain estimates, so long builds
    can be resumed. A local bitfile build without Vivado is a ToolMissingError offering the alternatives.
    """
    if kind not in KINDS:
        raise InputError(f"unknown build kind {kind!r}; choose from {', '.join(KINDS)}")
    keep = _default_keep(kind, keep_intermediate, start_step)
    common: dict[str, Any] = {"board": board, "clock_mhz": clock_mhz, "folding": folding, "target_fps": target_fps,
                              "build_dir": build_dir}
    if host is not None:
        return remote_build(model, host, kind=kind, start_step=start_step, keep_intermediate=keep,
                            trust_fingerprint=trust_fingerprint, ctx=ctx, **common)
    if kind == "bitfile":
        needs = what_is_missing(board)["outputs"]["bitfile"]
        if not needs["available"]:
            raise ToolMissingError(
                f"a bitfile build for {board} needs {', '.join(needs['missing'])}, not found on this machine "
                "(Vivado/Vitis HLS 2022.2 or 2024.2, then `finn deps update`). FINN's estimate needs none of them: "
                "build with outputs estimate (foldwise build MODEL --outputs estimate), or run the bitfile build on "
                "a build host that has Vivado (--remote user@host).")
    if start_step:
        return local_resume(model, kind=kind, start_step=start_step, ctx=ctx, **common)
    if kind == "estimate":
        return build.estimate(model, keep_intermediate=keep, worker=worker, ctx=ctx, **common)
    if kind == "hls":
        return build.hls_codegen(model, keep_intermediate=keep, worker=worker, ctx=ctx, **common)["report"]
    return build.full_build(model, keep_intermediate=keep, worker=worker, ctx=ctx, **common)


#: for the GUI: a host-check job function (``Job("check host", check_build_host_job, host)``)
def check_build_host_job(ctx: JobContext, host: RemoteBuildHost, **kwargs: Any) -> HostCheck:
    return check_build_host(host, ctx=ctx, **kwargs)


#: for the GUI: a build job function (``Job("build", run_build_job, model, kind=..., host=...)``)
def run_build_job(ctx: JobContext, model: str | Path, **kwargs: Any) -> BuildReport:
    return run_build(model, ctx=ctx, **kwargs)

