"""FINN builds on a remote build host over SSH, and resumed local builds (FINN's ``start_step``).

A build host needs finn-plus in some Python (``RemoteBuildHost.python``: a path or a shell prefix such as
``. ~/finn/bin/activate && python``) and, for bitfiles, Vivado/Vitis HLS; it needs no Foldwise. Foldwise ships
its FINN worker modules there once per version (``<remote_dir>/runtime-<hash>/``), uploads the model, and runs
the same build the local worker runs (:mod:`foldwise.core.finn.runner`): FINN's log streams back live,
``Running step`` lines become progress, cancel kills the remote process group. The reports (plus ``codegen/``
or the deployment package) are downloaded into the local build dir, next to ``remote_build.log`` and
``foldwise_remote.json`` (where the build ran; the remote build folder is kept so a failed build can be
resumed there with ``start_step``). SSH itself is :mod:`foldwise.core.remote` (transport only).

The Build stage's one call, :func:`foldwise.core.finn.stage.build`, picks the build folder and calls
:func:`remote_build` or :func:`local_resume` from here.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import secrets
import shlex
import sys
import time
from pathlib import Path
from typing import Any

from foldwise.core.errors import Cancelled, FoldwiseError, InputError, ToolMissingError
from foldwise.core.finn.boards import DEFAULT_BOARD
from foldwise.core.finn.build import params_for
from foldwise.core.finn.build_config import BuildConfig
from foldwise.core.finn.hosts import HostCheck, RemoteBuildHost
from foldwise.core.finn.kinds import BuildKind
from foldwise.core.finn.reports import BuildReport, read_build_reports
from foldwise.core.finn.runner_client import RUNNER_MODULE, RunnerEvents, request_lines, run_local
from foldwise.core.jobs import JobContext, null_context
from foldwise.core.remote.ssh import SshError, SshSession

_APP_DIR = Path(__file__).resolve().parents[3]
#: what Foldwise ships to a build host: the worker, the runner and what they import (standard library +
#: finn-plus only), and the sweep task driver Slurm array tasks run; the SSH side (``foldwise.core.remote``)
#: stays here
_RUNTIME_GLOBS = ("foldwise/__init__.py", "foldwise/core/__init__.py", "foldwise/core/errors.py",
                  "foldwise/core/finn/*.py", "foldwise/core/sweep/__init__.py", "foldwise/core/sweep/task.py")

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


def runtime_files() -> list[tuple[Path, str]]:
    """(file, path relative to the app folder) of everything shipped to a build host or cluster."""
    files: set[Path] = set()
    for pattern in _RUNTIME_GLOBS:
        files.update(_APP_DIR.glob(pattern))
    return sorted((p, p.relative_to(_APP_DIR).as_posix()) for p in files)


def runtime_id() -> str:
    """Hash of the shipped worker modules: a changed Foldwise ships a new runtime folder."""
    digest = hashlib.sha256()
    for path, rel in runtime_files():
        digest.update(rel.encode() + b"\0" + path.read_bytes() + b"\0")
    return digest.hexdigest()[:12]


def _q(path: str) -> str:
    return shlex.quote(path)


class RemoteHost:
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
        pairs = [(path, f"{self.runtime}/{rel}") for path, rel in runtime_files()]
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
        remote = RemoteHost(host, session)
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


def read_json(path: Path) -> dict[str, Any]:
    """A small JSON record (``{}`` if it is missing or unreadable)."""
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}


def remote_build(model: str | Path, config: BuildConfig, build_dir: Path, ctx: JobContext | None = None, *,
                 session: SshSession | None = None) -> BuildReport:
    """Run ``config``'s build on ``config.host`` and bring its results into ``build_dir``.

    With ``config.start_step``, resumes the failed build recorded in ``build_dir`` (same host, remote folder
    kept). Raises ToolMissingError when the host lacks finn-plus (or Vivado for a bitfile), the typed SSH errors
    for connection problems, the worker's typed errors for FINN failures, Cancelled on cancel (remote group
    killed).
    """
    host = config.host
    if host is None:
        raise InputError("a remote build needs a build host")
    ctx = ctx or null_context()
    kind, board, start_step = config.kind, config.board, config.start_step
    params = params_for(model, config, "")
    local_model = Path(params["model"])
    record_path = build_dir / REMOTE_RECORD
    previous = read_json(record_path) if start_step else {}
    if start_step and not previous.get("remote_build_dir"):
        raise InputError(f"cannot resume {build_dir} on {host.display}: it holds no remote build "
                         f"({REMOTE_RECORD} missing); a local build is resumed without a remote host")
    ctx.progress(0.0, f"connecting to {host.display}")
    session, owned = _open(host, session, config.trust_fingerprint)
    try:
        remote = RemoteHost(host, session)
        if previous and not host.same_machine(previous.get("host", {})):
            raise InputError(f"{build_dir} was built on {previous['host'].get('host')}:{previous['host'].get('port')}"
                             f", not {host.target.host}:{host.target.port}: resume it there")
        ctx.progress(0.02, "looking for finn-plus on the build host")
        check, present = remote.probe()
        if not check.ok:
            raise ToolMissingError(check.missing_message())
        remote.ensure_runtime(present, ctx.sub(0.03, 0.06))
        if kind is BuildKind.BITFILE:
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
        record = {"host": host.target.to_dict(), "name": host.name, "python": host.python,
                  "remote_dir": host.remote_dir, "env": dict(host.env), "remote_build_dir": rb,
                  "runtime": remote.runtime, "kind": kind.value, "board": board, "clock_mhz": config.clock_mhz,
                  "local_model": str(local_model), "start_step": start_step,
                  "host_fingerprint": session.host_fingerprint, "finn_version": check.finn_version,
                  "started": time.strftime("%Y-%m-%dT%H:%M:%S"), "status": "running",
                  "config": {**config.to_dict(), "host": None}}
        _write_json(record_path, record)
        events = RunnerEvents(ctx.sub(0.1, 0.95), build_dir / REMOTE_LOG, remote.display)
        hint = f" [build host {remote.display}, folder {rb}; log copied to {build_dir}]"
        runner_args = f"-u -m {RUNNER_MODULE} --event-fd 3 --scratch {_q(rb + '/scratch')} 3>&1 1>&2"
        command = f"mkdir -p {_q(rb + '/build')} && cd {_q(rb)} || exit 1; " + remote.python_command(runner_args)
        try:
            code = session.stream(command, ctx, on_stdout=events.on_stdout, on_stderr=events.log,
                                  stdin=request_lines(kind.request, params), timeout=config.timeout)
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
        meta = read_json(meta_path)
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


def local_resume(model: str | Path, config: BuildConfig, build_dir: Path, ctx: JobContext | None = None, *,
                 python: str | None = None) -> BuildReport:
    """Resume a failed local build in ``build_dir`` at ``config.start_step`` (FINN loads the previous step's
    model), in a one-shot runner process."""
    if not config.start_step:
        raise InputError("resuming a build needs a start step")
    ctx = ctx or null_context()
    if (build_dir / REMOTE_RECORD).is_file():
        where = read_json(build_dir / REMOTE_RECORD).get("host", {})
        raise InputError(f"{build_dir} was built on {where.get('user') or ''}@{where.get('host')}:{where.get('port')}"
                         ": resume it there (remote host) - its intermediate models are on that host")
    if not (build_dir / "intermediate_models").is_dir():
        raise InputError(f"cannot resume {build_dir}: it kept no intermediate models (FINN needs the model saved "
                         "after the step before the start step)")
    params = params_for(model, config.with_(keep_intermediate=True), str(build_dir.resolve()))
    ctx.progress(0.0, f"resuming at {config.start_step} (starting FINN, ~5 s)")
    run_local(params, config.kind.request, build_dir, python or sys.executable, ctx.sub(0.0, 0.98), config.timeout)
    ctx.progress(1.0, "resumed build done")
    return read_build_reports(build_dir, board=config.board)
