"""A real one-node Slurm cluster on 127.0.0.1 for the sweep tests (Debian's slurmctld, slurmd and munge).

Everything lives in one private folder: a munge key of its own and munged on a socket there (``AuthInfo``
points Slurm at it, so no system munged is needed or touched), slurm.conf with its state, spool, logs and PID
files, and two free loopback ports. The daemons listen on 127.0.0.1 only (``NoCtldInAddrAny,NoInAddrAny``) and
are stopped by their PID files at the end. Memory is a consumable resource and ``--mem`` is enforced (the
accounting plugin's OverMemoryKill, no cgroups needed), so a task over its memory limit is killed as on a real
cluster. Clients find the cluster through ``SLURM_CONF``, which the
``slurm_cluster`` fixture sets for one test. Missing tools fail the test with what to install; nothing skips.

The folder is made with :func:`tempfile.mkdtemp` beside pytest's (not in it): munged refuses a socket whose
folders other users cannot traverse, and pytest's base folder is private to its user.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

TOOLS = {
    "slurmctld": "slurmctld",
    "slurmd": "slurmd",
    "sbatch": "slurm-client",
    "squeue": "slurm-client",
    "scontrol": "slurm-client",
    "scancel": "slurm-client",
    "sinfo": "slurm-client",
    "munged": "munge",
}
SBIN = ("/usr/sbin", "/sbin")
CPUS = 2
PARTITION = "debug"


def _tool(name: str) -> str | None:
    return shutil.which(name) or next((f"{d}/{name}" for d in SBIN if os.access(f"{d}/{name}", os.X_OK)), None)


def missing_tools() -> list[str]:
    """The Debian packages whose tools are not on this machine."""
    return sorted({pkg for tool, pkg in TOOLS.items() if _tool(tool) is None})


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _conf(folder: Path, ctld_port: int, slurmd_port: int, memory_mb: int) -> str:
    return "\n".join(
        [
            "ClusterName=foldwise-test",
            "SlurmctldHost=localhost(127.0.0.1)",
            f"SlurmctldPort={ctld_port}",
            f"SlurmdPort={slurmd_port}",
            "SlurmUser=root" if os.getuid() == 0 else f"SlurmUser={os.getlogin()}",
            "SlurmdUser=root" if os.getuid() == 0 else f"SlurmdUser={os.getlogin()}",
            "AuthType=auth/munge",
            "CredType=cred/munge",
            f"AuthInfo=socket={folder}/munge.sock",
            f"StateSaveLocation={folder}/state",
            f"SlurmdSpoolDir={folder}/spool",
            f"SlurmctldPidFile={folder}/slurmctld.pid",
            f"SlurmdPidFile={folder}/slurmd.pid",
            f"SlurmctldLogFile={folder}/slurmctld.log",
            f"SlurmdLogFile={folder}/slurmd.log",
            "CommunicationParameters=NoCtldInAddrAny,NoInAddrAny",
            "ProctrackType=proctrack/linuxproc",
            "TaskPlugin=task/none",
            "JobAcctGatherType=jobacct_gather/linux",
            "JobAcctGatherFrequency=1",
            # memory limits enforced without cgroups: the accounting plugin kills a task over its --mem (it samples
            # each second); memory must be a consumable resource for the limit to reach the task
            "JobAcctGatherParams=OverMemoryKill",
            "AccountingStorageType=accounting_storage/none",
            "JobCompType=jobcomp/filetxt",
            f"JobCompLoc={folder}/jobcomp.txt",
            "SelectType=select/cons_tres",
            "SelectTypeParameters=CR_Core_Memory",
            "MpiDefault=none",
            "ReturnToService=2",
            "KillWait=5",
            "MinJobAge=3600",
            "SchedulerParameters=sched_interval=1",
            "MailProg=/bin/true",
            f"NodeName=localhost NodeAddr=127.0.0.1 NodeHostname=localhost CPUs={CPUS} CoresPerSocket={CPUS} "
            f"ThreadsPerCore=1 RealMemory={memory_mb}",
            f"PartitionName={PARTITION} Nodes=localhost Default=YES MaxTime=INFINITE State=UP",
            "",
        ]
    )


@dataclass
class SlurmCluster:
    """A running one-node cluster: ``env`` (``SLURM_CONF``) lets clients reach it."""

    folder: Path
    conf: Path
    partition: str = PARTITION
    cpus: int = CPUS

    @property
    def env(self) -> dict[str, str]:
        return {"SLURM_CONF": str(self.conf)}

    def run(self, *argv: str, check: bool = True, timeout: float = 30.0) -> subprocess.CompletedProcess[str]:
        """A Slurm client command against this cluster."""
        return subprocess.run(
            [_tool(argv[0]) or argv[0], *argv[1:]],
            env={**os.environ, **self.env},
            text=True,
            capture_output=True,
            check=check,
            timeout=timeout,
        )

    def pid(self, daemon: str) -> int | None:
        try:
            return int((self.folder / f"{daemon}.pid").read_text().split()[0])
        except (OSError, ValueError, IndexError):
            return None

    def log(self, daemon: str) -> str:
        try:
            return (self.folder / f"{daemon}.log").read_text(errors="replace")[-3000:]
        except OSError:
            return ""


def _wait(what: str, ready: Callable[[], bool], cluster: SlurmCluster, timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if ready():
            return
        time.sleep(0.1)
    raise RuntimeError(
        f"the test Slurm cluster did not come up ({what}); slurmctld log: "
        f"{cluster.log('slurmctld')} | slurmd log: {cluster.log('slurmd')} | "
        f"munged log: {cluster.log('munged')}"
    )


def _alive(pid: int) -> bool:
    """Running (a zombie is gone, only not yet reaped by its parent)."""
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(") ", 1)[-1][:1] != "Z"
    except OSError:
        return False


def _stop(pid: int | None, grace: float = 10.0) -> None:
    if pid is None:
        return
    with contextlib.suppress(ProcessLookupError):
        os.kill(pid, signal.SIGTERM)
    deadline = time.monotonic() + grace
    while time.monotonic() < deadline and _alive(pid):
        time.sleep(0.05)
    with contextlib.suppress(ProcessLookupError):
        os.kill(pid, signal.SIGKILL)


@contextlib.contextmanager
def running_cluster(memory_mb: int = 8000) -> Iterator[SlurmCluster]:
    """Start munged, slurmctld and slurmd in a private folder; stop them by PID and remove it at the end."""
    folder = Path(tempfile.mkdtemp(prefix="foldwise-slurm-"))
    folder.chmod(0o755)  # munged: every folder above its socket must be traversable by all
    cluster = SlurmCluster(folder, folder / "slurm.conf")
    try:
        for sub in ("state", "spool"):
            (folder / sub).mkdir()
        key = folder / "munge.key"
        key.write_bytes(os.urandom(1024))
        key.chmod(0o400)
        subprocess.run(
            [
                _tool("munged"),
                f"--socket={folder}/munge.sock",
                f"--key-file={key}",
                f"--pid-file={folder}/munged.pid",
                f"--log-file={folder}/munged.log",
                f"--seed-file={folder}/munged.seed",
            ],
            check=True,
            capture_output=True,
            timeout=30,
        )
        cluster.conf.write_text(_conf(folder, _free_port(), _free_port(), memory_mb))
        env = {**os.environ, **cluster.env}
        subprocess.run(
            [_tool("slurmctld"), "-f", str(cluster.conf)], env=env, check=True, capture_output=True, timeout=30
        )
        _wait(
            "slurmctld answers scontrol ping",
            lambda: "is UP" in cluster.run("scontrol", "ping", check=False).stdout,
            cluster,
        )
        subprocess.run(
            [_tool("slurmd"), "-f", str(cluster.conf), "-N", "localhost"],
            env=env,
            check=True,
            capture_output=True,
            timeout=30,
        )
        _wait(
            "the node is idle",
            lambda: cluster.run("sinfo", "-h", "-o", "%T", check=False).stdout.strip() == "idle",
            cluster,
        )
        yield cluster
    finally:
        jobs = cluster.run("squeue", "-h", "-o", "%A", check=False).stdout.split() if cluster.pid("slurmctld") else []
        if jobs:
            cluster.run("scancel", *sorted(set(jobs)), check=False)
        for daemon in ("slurmd", "slurmctld", "munged"):
            _stop(cluster.pid(daemon))
        shutil.rmtree(folder, ignore_errors=True)


@pytest.fixture(scope="session")
def _slurm_cluster() -> Iterator[SlurmCluster]:
    missing = missing_tools()
    if missing:
        pytest.fail(
            f"the Slurm tests need a one-node cluster: install {', '.join(missing)} "
            f"(apt-get install -y --no-install-recommends {' '.join(missing)}; packaging/system-deps "
            "does it)",
            pytrace=False,
        )
    with running_cluster() as cluster:
        yield cluster


@pytest.fixture
def slurm_cluster(_slurm_cluster: SlurmCluster, monkeypatch: pytest.MonkeyPatch) -> Iterator[SlurmCluster]:
    """The session's one-node cluster, reachable by this test's Slurm clients (``SLURM_CONF`` set); jobs a test
    leaves are cancelled after it."""
    monkeypatch.setenv("SLURM_CONF", str(_slurm_cluster.conf))
    for directory in SBIN:
        if directory not in os.environ.get("PATH", "").split(os.pathsep):
            monkeypatch.setenv("PATH", os.environ.get("PATH", "") + os.pathsep + directory)
    yield _slurm_cluster
    jobs = _slurm_cluster.run("squeue", "-h", "-o", "%A", check=False).stdout.split()
    if jobs:
        _slurm_cluster.run("scancel", *sorted(set(jobs)), check=False)
