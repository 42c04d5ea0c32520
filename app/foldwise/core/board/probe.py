"""Probe a board: one SSH connection, one remote script (``probe_remote.py``) printing JSON, judged here.

Every figure it reports was read on the board at probe time and is labelled ``measured``. For each thing a
deployment package needs that is missing (pynq, bitstring, numpy < 2, finn-plus-driver, sudo), the report
says how to fix it. An emulated board (its sshd sets ``FOLDWISE_EMULATOR``) needs none of them: it runs FINN's
dataflow model in place of a bitfile.
"""

from __future__ import annotations

import json
import shlex
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from foldwise.core.board.profiles import BoardProfile
from foldwise.core.errors import FoldwiseError
from foldwise.core.jobs import JobContext, null_context
from foldwise.core.remote.ssh import SshSession

PYNQ_VENV = "/usr/local/share/pynq-venv"
PROFILE_SCRIPTS = ("/etc/profile.d/pynq_venv.sh", "/etc/profile.d/xrt_setup.sh")
IIO_ROOT = "/sys/bus/iio/devices"
_SCRIPT = Path(__file__).with_name("probe_remote.py")
_VENV_PIP = f"sudo {PYNQ_VENV}/bin/pip install"


class ProbeError(FoldwiseError):
    """The probe script could not run on the board (no Python there, or its output was not the report)."""


@dataclass
class ProbeItem:
    """One line of a probe: ``status`` ok | missing | warning | info; ``fix`` says what to do when not ok."""

    key: str
    label: str
    value: Any
    text: str
    status: str = "info"
    fix: str = ""
    source: str = "measured"


@dataclass
class ProbeReport:
    board: str
    address: str
    host_fingerprint: str | None
    items: list[ProbeItem] = field(default_factory=list)
    raw: dict[str, Any] = field(default_factory=dict)
    runtime: str | None = None  # "finn-plus-driver" | "foldwise-emulator" | None
    seconds: float = 0.0
    connect_seconds: float | None = None

    @property
    def ready(self) -> bool:
        """Everything a deployment package needs is there."""
        return not any(i.status == "missing" for i in self.items)

    @property
    def fixes(self) -> list[str]:
        return [f"{i.label}: {i.fix}" for i in self.items if i.status in ("missing", "warning") and i.fix]

    def item(self, key: str) -> ProbeItem:
        return next(i for i in self.items if i.key == key)

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data.update(ready=self.ready, fixes=self.fixes)
        return data


def _mb(value: int | None) -> str:
    return "unknown" if value is None else f"{value / 2**20:,.0f} MiB"


def probe_command(iio_root: str = IIO_ROOT) -> str:
    """The one remote command: source the PYNQ profile scripts, run the script with the venv's Python."""
    sources = "; ".join(f"[ -r {p} ] && . {p}" for p in PROFILE_SCRIPTS)
    python = (f'PY=python3; [ -x {PYNQ_VENV}/bin/python3 ] && PY={PYNQ_VENV}/bin/python3; '
              f'command -v "$PY" >/dev/null 2>&1 || {{ echo "no python3 on the board" >&2; exit 127; }}')
    return f"{sources}; {python}; \"$PY\" - {shlex.quote(iio_root)}"


def run_probe(session: SshSession, *, iio_root: str = IIO_ROOT, timeout: float = 60.0) -> dict[str, Any]:
    """The raw facts from the board (one exec on the open session)."""
    result = session.run(probe_command(iio_root), stdin=_SCRIPT.read_text(encoding="utf-8"),
                         timeout=timeout)
    if not result.ok:
        raise ProbeError(f"the probe could not run on {session.target.display} (exit code {result.exit_code}): "
                         f"{result.stderr.strip()[-300:] or result.stdout.strip()[-300:]}. The board needs "
                         f"python3 (a PYNQ image has it in {PYNQ_VENV})")
    lines = [line for line in result.stdout.splitlines() if line.startswith("{")]
    try:
        return json.loads(lines[-1])
    except (IndexError, ValueError):
        raise ProbeError(f"the probe on {session.target.display} printed no report: "
                         f"{result.stdout.strip()[-300:]!r}") from None


def probe_board(board: BoardProfile, ctx: JobContext | None = None, *, password: str | None = None,
                trust_fingerprint: str | None = None, iio_root: str = IIO_ROOT) -> ProbeReport:
    """Log in to ``board`` once, run the probe, and judge what it found."""
    ctx = ctx or null_context()
    started = time.monotonic()
    ctx.progress(0.05, f"connecting to {board.display}")
    with board.session(password, trust_fingerprint) as session:
        ctx.progress(0.4, "probing")
        raw = run_probe(session, iio_root=iio_root)
        report = judge(board, raw, session.host_fingerprint)
        report.connect_seconds = session.connect_seconds
    report.seconds = time.monotonic() - started
    ctx.progress(1.0, "ready" if report.ready else f"{len(report.fixes)} thing(s) to fix")
    return report


def _major(version: str | None) -> int | None:
    try:
        return int(str(version).split(".")[0])
    except (TypeError, ValueError):
        return None


def judge(board: BoardProfile, raw: dict[str, Any], fingerprint: str | None = None) -> ProbeReport:
    """Turn the board's facts into labelled items, each missing piece with its fix."""
    report = ProbeReport(board.name, board.display, fingerprint, raw=raw)
    add = report.items.append
    pk = raw.get("packages") or {}
    image = raw.get("image_revision") or (f"pynq {pk['pynq']}" if pk.get("pynq") else None)
    add(ProbeItem("image", "PYNQ image", image, image or "not a PYNQ image (no ~/REVISION, no pynq)",
                  "ok" if image else "warning",
                  "" if image else "flash a PYNQ v3.0.1 image (known good with Vivado 2022.2) for the board"))
    name = raw.get("board") or raw.get("model")
    add(ProbeItem("board", "Board", name, name or "unknown (no BOARD in /etc/environment)"))
    add(ProbeItem("machine", "CPU", raw.get("machine"), f"{raw.get('machine')}, Linux {raw.get('kernel')}"))
    add(ProbeItem("python", "Python", raw.get("python"), f"{raw.get('python')} ({raw.get('python_executable')})"))
    add(ProbeItem("memory", "Free memory", raw.get("mem_available"),
                  f"{_mb(raw.get('mem_available'))} of {_mb(raw.get('mem_total'))}"))
    cma = raw.get("cma_total")
    add(ProbeItem("cma", "CMA (DMA buffers)", cma,
                  "no CMA reported" if cma is None else f"{_mb(raw.get('cma_free'))} free of {_mb(cma)}",
                  "ok" if cma else "warning",
                  "" if cma else "pynq.allocate needs CMA: boot with cma=128M (the PYNQ image sets it)"))
    add(ProbeItem("disk", "Free disk (home)", raw.get("disk_free"),
                  f"{_mb(raw.get('disk_free'))} of {_mb(raw.get('disk_total'))}",
                  "ok" if (raw.get("disk_free") or 0) > 200 * 2**20 else "warning",
                  "" if (raw.get("disk_free") or 0) > 200 * 2**20 else
                  "less than 200 MiB free: remove old deployments (push --keep) or files"))
    temp = raw.get("temperature")
    add(ProbeItem("temperature", "Temperature (XADC)", temp and round(temp["celsius"], 1),
                  f"{temp['celsius']:.1f} °C ({temp['device']})" if temp else "no XADC temperature in IIO sysfs"))
    _judge_runtime(report, pk, raw)
    return report


def _judge_runtime(report: ProbeReport, pk: dict[str, Any], raw: dict[str, Any]) -> None:
    """What runs a deployment package here. Foldwise's runner comes with every package; it hands a package
    without a bitfile to an emulated board's emulator, and a bitfile to finn-plus's runtime, finn-plus-driver."""
    add = report.items.append
    emulator = raw.get("emulator")
    needed = "missing"
    if emulator:
        report.runtime = "foldwise-emulator"
        add(ProbeItem("accelerator", "Accelerator", "emulated",
                      f"emulated: FINN's dataflow model, run by {emulator} (figures labelled emulated)", "ok"))
        needed = "info"  # pynq, numpy<2, bitstring and root only matter to a real bitfile
    pynq = pk.get("pynq")
    add(ProbeItem("pynq", "pynq", pynq, pynq or "missing", "ok" if pynq else needed,
                  "" if pynq else f"run on a PYNQ image (pynq lives in {PYNQ_VENV}); or {_VENV_PIP} pynq"))
    numpy = pk.get("numpy")
    numpy_ok = numpy is not None and (_major(numpy) or 0) < 2
    numpy_fix = f"{_VENV_PIP} 'numpy<2'" + (" (numpy 2 breaks pynq)" if numpy else "")
    add(ProbeItem("numpy", "numpy", numpy, numpy or "missing", "ok" if numpy_ok else needed,
                  "" if numpy_ok else numpy_fix))
    bitstring = pk.get("bitstring")
    add(ProbeItem("bitstring", "bitstring", bitstring, bitstring or "missing", "ok" if bitstring else needed,
                  "" if bitstring else f"{_VENV_PIP} bitstring (offline: push its wheel and pip install it)"))
    driver = pk.get("finn-plus-driver")
    if emulator:
        text = "Foldwise's runner (pushed with each package) and the emulator"
    elif driver:
        report.runtime, text = "finn-plus-driver", f"finn-plus-driver {driver}, called by Foldwise's runner"
    else:
        text = "none: a bitfile needs finn-plus-driver (Foldwise's runner, pushed with each package, calls it)"
    add(ProbeItem("runtime", "Runtime for the package", report.runtime, text, "ok" if report.runtime else "missing",
                  "" if report.runtime else
                  f"{_VENV_PIP} --no-deps finn-plus-driver==1.6.1 (its h5py has no armv7l wheel, hence --no-deps), "
                  "then its other dependencies (bitstring, click, pillow, qonnx)"))
    sudo = "sudo" in (raw.get("groups") or [])
    add(ProbeItem("sudo", "sudo (pynq needs root)", sudo, "yes" if sudo else "not in the sudo group",
                  "ok" if sudo else needed,
                  "" if sudo else "add the user to the sudo group: sudo adduser USER sudo"))
