"""Where Slurm is: this machine (``sbatch`` on PATH) or a cluster's login host over SSH (the build-host
transport). Both offer the same few operations: run a Slurm client command, write and read small files in the
shared folder, stage a file there, fetch a folder back, and ship Foldwise's FINN runtime (the FINN runner plus
the sweep task driver: standard library + finn-plus, see :mod:`foldwise.core.finn.remote_build`).

On this machine the shared folder is ``<project>/cache/sweeps/<id>`` unless given (the compute nodes must see
it: on a real cluster, a shared file system); on a login host it is ``<remote_dir>/sweeps/<id>``.
"""

from __future__ import annotations

import contextlib
import shlex
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

from foldwise.core.atomic import atomic_write_bytes
from foldwise.core.errors import FoldwiseError, InputError, ToolMissingError
from foldwise.core.finn.hosts import RemoteBuildHost
from foldwise.core.finn.remote_build import runtime_files, runtime_id
from foldwise.core.jobs import JobContext, null_context

SLURM_TOOLS = ("sbatch", "squeue", "scontrol", "scancel")
#: what stays on the cluster after a point's build came back (FINN's intermediate models, scratch)
KEEP_REMOTE = ("intermediate_models", "stitched_ip", ".finn-scratch")


class Cluster:
    """The operations an executor needs of the machine Slurm is reached from."""

    where: str = "this machine"
    python: str = sys.executable

    def slurm(self, *argv: str, timeout: float = 60.0) -> tuple[int, str, str]:
        raise NotImplementedError

    def write_text(self, path: str, text: str) -> None:
        raise NotImplementedError

    def read_text(self, path: str) -> str | None:
        raise NotImplementedError

    def stage(self, local: Path, path: str, ctx: JobContext | None = None) -> None:
        raise NotImplementedError

    def fetch_dir(self, path: str, local: Path) -> bool:
        raise NotImplementedError

    def remove(self, path: str) -> None:
        raise NotImplementedError

    def runtime(self, shared: str, ctx: JobContext | None = None) -> str:
        """The folder holding Foldwise's FINN runtime (shipped if missing); PYTHONPATH for the tasks."""
        raise NotImplementedError

    def python_line(self, runtime: str, args: str) -> str:
        """The shell line a task script runs ``args`` with: the cluster's Python with the runtime importable."""
        return f"export PYTHONPATH={shlex.quote(runtime)}\n{shlex.quote(self.python)} {args}"

    def close(self) -> None:
        pass

    def check(self) -> None:
        """ToolMissingError when Slurm's client commands are not there."""


class LocalCluster(Cluster):
    """Slurm reached from this machine: its client commands on PATH, the shared folder a local path."""

    def __init__(self, python: str | None = None) -> None:
        self.python = python or sys.executable

    def check(self) -> None:
        missing = [t for t in SLURM_TOOLS if shutil.which(t) is None]
        if missing:
            raise ToolMissingError(
                f"Slurm's {', '.join(missing)} not found on PATH: install the Slurm client "
                "(Debian: slurm-client) and point it at the cluster (SLURM_CONF), use "
                "--executor slurm:USER@LOGIN-HOST, or --executor local"
            )

    def slurm(self, *argv: str, timeout: float = 60.0) -> tuple[int, str, str]:
        try:
            done = subprocess.run(list(argv), capture_output=True, text=True, timeout=timeout, errors="replace")
        except FileNotFoundError as exc:
            raise ToolMissingError(f"Slurm's {argv[0]} is not on PATH") from exc
        except subprocess.TimeoutExpired as exc:
            raise FoldwiseError(f"`{' '.join(argv)}` did not answer in {timeout:g} s: is slurmctld reachable?") from exc
        return done.returncode, done.stdout, done.stderr

    def write_text(self, path: str, text: str) -> None:
        target = Path(path)
        target.parent.mkdir(parents=True, exist_ok=True)
        atomic_write_bytes(target, text.encode("utf-8"))

    def read_text(self, path: str) -> str | None:
        try:
            return Path(path).read_text(encoding="utf-8", errors="replace")
        except OSError:
            return None

    def stage(self, local: Path, path: str, ctx: JobContext | None = None) -> None:
        Path(path).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(local, path)

    def fetch_dir(self, path: str, local: Path) -> bool:
        if not Path(path).is_dir():
            return False
        shutil.copytree(path, local, dirs_exist_ok=True, ignore=shutil.ignore_patterns(*KEEP_REMOTE), symlinks=True)
        return True

    def remove(self, path: str) -> None:
        shutil.rmtree(path, ignore_errors=True)

    def runtime(self, shared: str, ctx: JobContext | None = None) -> str:
        folder = Path(shared).parent / f"runtime-{runtime_id()}"
        if not (folder / ".complete").is_file():
            for source, rel in runtime_files():
                (folder / rel).parent.mkdir(parents=True, exist_ok=True)
                shutil.copy2(source, folder / rel)
            (folder / ".complete").touch()
        return str(folder)


class SshCluster(Cluster):
    """Slurm on a cluster's login host, over the build-host SSH session (:mod:`foldwise.core.remote`)."""

    def __init__(self, host: RemoteBuildHost, trust_fingerprint: str | None = None) -> None:
        from foldwise.core.finn.remote_build import RemoteHost
        from foldwise.core.remote.ssh import SshSession

        self.host = host
        self.where = host.display
        self.python = host.python
        self.session = SshSession(host.target, trust_fingerprint=trust_fingerprint).connect()
        self.remote = RemoteHost(host, self.session)

    @property
    def root(self) -> str:
        return self.remote.root

    def close(self) -> None:
        self.session.close()

    def _env(self) -> str:
        return "".join(f"export {k}={shlex.quote(v)}; " for k, v in self.host.env.items())

    def check(self) -> None:
        code, out, _ = self._sh(
            "for t in " + " ".join(SLURM_TOOLS) + "; do command -v $t >/dev/null || echo $t; done", 60.0
        )
        missing = out.split()
        if code != 0 or missing:
            raise ToolMissingError(
                f"Slurm's {', '.join(missing) or 'client'} not found on {self.where}: give the "
                "login host whose PATH has sbatch (build host env, e.g. PATH or SLURM_CONF)"
            )

    def _sh(self, command: str, timeout: float) -> tuple[int, str, str]:
        result = self.session.run(self._env() + command, timeout=timeout)
        return result.exit_code, result.stdout, result.stderr

    def slurm(self, *argv: str, timeout: float = 60.0) -> tuple[int, str, str]:
        return self._sh(" ".join(shlex.quote(a) for a in argv), timeout)

    def write_text(self, path: str, text: str) -> None:
        self.session.makedirs(path.rsplit("/", 1)[0])
        with self.session.sftp.open(path + ".tmp", "w") as fh:
            fh.write(text.encode("utf-8"))
        self.session.sftp.posix_rename(path + ".tmp", path)

    def read_text(self, path: str) -> str | None:
        try:
            with self.session.sftp.open(path, "r") as fh:
                return fh.read().decode("utf-8", errors="replace")
        except OSError:
            return None

    def stage(self, local: Path, path: str, ctx: JobContext | None = None) -> None:
        self.session.put_files([(local, path)], ctx or null_context(), what="staging the sweep's inputs")

    def fetch_dir(self, path: str, local: Path) -> bool:
        if not self.session.exists(path):
            return False
        self.session.get_dir(path, local, exclude=KEEP_REMOTE)
        return True

    def remove(self, path: str) -> None:
        with contextlib.suppress(Exception):
            self.session.run(f"rm -rf {shlex.quote(path)}", timeout=120)

    def runtime(self, shared: str, ctx: JobContext | None = None) -> str:
        check, present = self.remote.probe()
        if not check.ok:
            raise ToolMissingError(check.missing_message())
        self.remote.ensure_runtime(present, ctx or null_context())
        return self.remote.runtime

    def python_line(self, runtime: str, args: str) -> str:
        return self.remote.python_command(args)


def make_cluster(spec: dict[str, Any], trust_fingerprint: str | None = None) -> Cluster:
    """The cluster an executor record names: ``{"host": None}`` (this machine) or a build host's settings."""
    host = spec.get("host")
    if not host:
        return LocalCluster(spec.get("python"))
    return SshCluster(RemoteBuildHost.from_dict(host), trust_fingerprint)


def parse_target(text: str) -> RemoteBuildHost:
    """``USER@HOST[:PORT]`` or a saved build host's name."""
    from foldwise.core.finn.hosts import find_host

    saved = find_host(text)
    if saved is not None:
        return saved
    if "@" not in text and ":" not in text and "." not in text:
        raise InputError(f"no saved build host {text!r}; give USER@LOGIN-HOST[:PORT] or a saved build host")
    return RemoteBuildHost.parse(text)
