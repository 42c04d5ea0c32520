"""Baselines: the iteration's exported model timed on the host and on any Linux device over SSH, with power.

The comparison the FPGA result is read against (the published Brevitas→FINN→PYNQ-Z2 table puts LeNet5 at
0.8 ms / 2.2 W on the Z2, 33.4 ms / 34.2 W on a Jetson Nano, 321 ms / 4 W on an ARM CPU). Batch 1, a warm-up,
then ``runs`` timed inferences; median and p95 are kept, all ``measured``.

- **host**: PyTorch (the network itself) and ONNX Runtime (the exported file; ``--runtime numpy`` runs the
  numpy fallback instead), ``threads`` intra-op threads each (1 by default, as on the device). A QCDQ model
  runs with ONNX Runtime's QDQ fusion off, here and on the device, as ``quantize.export.qcdq_session`` does:
  fused, ONNX Runtime rounds the float biases to its integer grid and no longer computes the iteration's
  network.
- **a device** (a saved board profile): one SSH connection; the model, the inputs and three small scripts
  (:mod:`.baseline_remote`, :mod:`.onnx_numpy`, :mod:`.power_sensors`) go up over SFTP, one command runs
  them with ONNX Runtime if that Python has it, else the numpy fallback (the record says which, and why),
  and removes them again. The device's outputs are compared with the host's ONNX Runtime on the same inputs.
  Which Python: the profile's ``python`` if set, else the PYNQ venv's, else ``python3``, the first one that
  imports numpy.

Power: a sensor on the device where there is one (:mod:`.power_sensors`: Jetson INA3221, PMBus via pynq,
RAPL) is ``measured``; else the user's ``power_w`` is ``entered``; else there is none. Energy per inference is
power × median time, labelled with the power's source. One run record per device (kind ``baseline``).
"""

from __future__ import annotations

import contextlib
import json
import math
import shlex
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from foldwise.core.board import baseline_remote
from foldwise.core.board.baseline_model import (
    BaselineModel,
    agreement,
    network_kind,
    numpy_runner,
    onnxruntime_runner,
    prepare_model,
)
from foldwise.core.board.power_sensors import SYSFS, open_meter
from foldwise.core.board.probe import PROFILE_SCRIPTS, PYNQ_VENV
from foldwise.core.board.profiles import BoardProfile, get_board
from foldwise.core.board.runs import Figure, RunRecord, new_run_dir, save_run
from foldwise.core.errors import Cancelled, FoldwiseError, InputError
from foldwise.core.jobs import JobContext, null_context
from foldwise.core.project import Project
from foldwise.core.remote.ssh import SshSession

HOST = "host"
KIND = "baseline"
RUNTIMES = ("auto", "onnxruntime", "numpy")
REMOTE_ROOT = "~/foldwise/baselines"
NO_NUMPY = 86  # exit code of the remote command when no Python with numpy was found
_SCRIPTS = ("baseline_remote.py", "onnx_numpy.py", "power_sensors.py")
_HERE = Path(__file__).parent


class BaselineError(FoldwiseError):
    """The baseline could not run on the device (no numpy, no runtime, the script failed); says what to do."""


@dataclass
class BaselineSpec:
    """One baseline: ``device`` is ``host`` or a saved board's name; ``power_w`` is the user's figure."""

    device: str = HOST
    runtime: str = "auto"
    runs: int = 100
    warmup: int = 10
    power_w: float | None = None
    iteration: str | None = None  # default: the current one
    threads: int = 1
    python: str | None = None  # the device's Python (default: the profile's, then the PYNQ venv's, python3)
    sysfs_root: str = SYSFS  # where the device's (or host's) power sensors live
    power_seconds: float = 1.0  # keep running untimed until a sampled sensor has read this long
    timeout: float = 900.0  # for the whole run on the device

    def check(self) -> BaselineSpec:
        if self.runtime not in RUNTIMES:
            raise InputError(f"unknown runtime {self.runtime!r}: choose {', '.join(RUNTIMES)}")
        if int(self.runs) < 1:
            raise InputError(f"--runs must be at least 1 (got {self.runs})")
        if int(self.warmup) < 0:
            raise InputError(f"warm-up runs cannot be negative (got {self.warmup})")
        if int(self.threads) < 1:
            raise InputError(f"threads must be at least 1 (got {self.threads})")
        if self.power_w is not None and not (math.isfinite(self.power_w) and self.power_w > 0):
            raise InputError(f"--power-w must be a positive number of watts (got {self.power_w:g})")
        return self


def _figures(loop: dict[str, Any], entered: float | None) -> dict[str, Any]:
    """A row's labelled figures from one timed loop: time, p95, power (sensor, else entered) and energy."""
    row: dict[str, Any] = {"time_ms": Figure(loop["median_ms"], "ms", "measured"),
                           "time_p95_ms": Figure(loop["p95_ms"], "ms", "measured")}
    power = loop.get("power")
    if power is not None:
        row["power_w"] = Figure(float(power["watts"]), "W", "measured")
        row["power_sensor"] = f"{power['sensor']} ({power['samples']} readings over {power['loop_runs']} runs)"
    elif entered is not None:
        row["power_w"] = Figure(float(entered), "W", "entered")
        row["power_sensor"] = "entered by the user"
    if "power_w" in row:
        watts = row["power_w"]
        row["energy_mj"] = Figure(watts.value * loop["median_ms"], "mJ", watts.source)
        row["energy_note"] = f"power ({watts.source}) × time per inference (measured)"
    return row


def _row_dict(runtime: str, why: str, figures: dict[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {"runtime": runtime, "runtime_why": why}
    for key, value in figures.items():
        out[key] = {"value": value.value, "unit": value.unit, "source": value.source} \
            if isinstance(value, Figure) else value
    return out


def _time_host(model: BaselineModel, spec: BaselineSpec, ctx: JobContext) -> tuple[list[dict[str, Any]], dict]:
    import torch

    batches = [model.inputs[i:i + 1] for i in range(len(model.inputs))]
    if spec.runtime == "numpy":
        import numpy

        exported, name, why = numpy_runner(model.path), f"numpy {numpy.__version__} (fallback)", "asked for"
    else:
        import onnxruntime

        exported, name, why = onnxruntime_runner(model.path, spec.threads, model.quantized), \
            f"onnxruntime {onnxruntime.__version__}", "installed"
    previous = torch.get_num_threads()
    torch.set_num_threads(spec.threads)
    rows = []
    try:
        for i, (runtime, run_one, reason) in enumerate(((f"torch {torch.__version__}", model.torch_run, "the network"),
                                                         (name, exported, why))):
            ctx.check_cancelled()
            ctx.progress(0.3 + 0.35 * i, f"timing {runtime.split()[0]} on the host ({spec.runs} runs)")
            meter = open_meter(spec.sysfs_root, use_pynq=False)
            loop = baseline_remote.time_loop(run_one, batches, spec.runs, spec.warmup, meter, spec.power_seconds)
            rows.append(_row_dict(runtime, reason, _figures(loop, spec.power_w)))
    finally:
        torch.set_num_threads(previous)
    check = agreement(exported(model.inputs), model.torch_run(model.inputs))
    return rows, {"export_vs_torch": check}


def _candidates(spec: BaselineSpec, board: BoardProfile) -> list[str]:
    chosen = spec.python or board.python
    return [chosen] if chosen else [f"{PYNQ_VENV}/bin/python3", "python3"]


def remote_command(folder: str, spec: BaselineSpec, pythons: list[str], quantized: bool = False) -> str:
    """The one command run on the device: profile scripts, pick a Python with numpy, time, clean up."""
    sources = "; ".join(f"[ -r {p} ] && . {p}" for p in PROFILE_SCRIPTS)
    tried = ", ".join(pythons)
    works = '"$c" -c "import numpy; numpy.zeros(1)" >/dev/null 2>&1'  # a numpy that imports and computes
    pick = ("PY=; for c in " + " ".join(shlex.quote(p) for p in pythons) + "; do "
            f'if command -v "$c" >/dev/null 2>&1 && {works}; then PY=$c; break; fi; '
            f"done; [ -n \"$PY\" ] || {{ echo {shlex.quote('no Python with numpy (tried ' + tried + ')')} >&2; "
            f"cd / && rm -rf {shlex.quote(folder)}; exit {NO_NUMPY}; }}")
    args = (f"--model model.onnx --inputs inputs.npy --runtime {spec.runtime} --runs {int(spec.runs)} "
            f"--warmup {int(spec.warmup)} --threads {int(spec.threads)} --sysfs-root {shlex.quote(spec.sysfs_root)} "
            f"--power-seconds {float(spec.power_seconds)}" + (" --qdq-as-written" if quantized else ""))
    run = f'cd {shlex.quote(folder)} && "$PY" baseline_remote.py {args}; rc=$?; cd / && rm -rf {shlex.quote(folder)}'
    return f"{sources}; {pick}; {run}; exit $rc"


def _parse_remote(board: BoardProfile, code: int, lines: list[str], errors: list[str]) -> dict[str, Any]:
    found = None
    for line in reversed(lines):
        if line.startswith("{"):
            try:
                found = json.loads(line)
                break
            except ValueError:
                continue
    tail = " ".join(errors[-4:]).strip()[-400:]
    if code == NO_NUMPY:
        raise BaselineError(f"{board.name}: {tail or 'no Python with numpy'}. Install numpy there (a PYNQ image "
                            f"has it in {PYNQ_VENV}), or name the Python that has it: `foldwise board add "
                            f"{board.name} --host {board.host} ... --python PATH`")
    if code == baseline_remote.NO_RUNTIME and found and "error" in found:
        raise BaselineError(f"{board.name}: {found['error']}. Install it there (pip install onnxruntime; PyPI has "
                            "no wheel for 32-bit ARM such as the PYNQ-Z2's), or use --runtime numpy (or auto)")
    if code != 0 or found is None or "median_ms" not in found:
        raise BaselineError(f"the baseline script failed on {board.name} (exit code {code}): "
                            f"{tail or 'no result printed'}")
    return found


def _time_device(model: BaselineModel, spec: BaselineSpec, board: BoardProfile, session: SshSession,
                 run_dir: Path, ctx: JobContext) -> tuple[list[dict[str, Any]], dict, str]:
    folder = session.expand(f"{REMOTE_ROOT}/{run_dir.parent.name}-{run_dir.name}")
    pairs = [(model.path, f"{folder}/model.onnx"), (model.inputs_path, f"{folder}/inputs.npy")]
    pairs += [(_HERE / name, f"{folder}/{name}") for name in _SCRIPTS]
    session.put_files(pairs, ctx.sub(0.3, 0.4), what="pushing")
    ctx.progress(0.4, f"timing on {board.name} ({spec.runs} runs)")
    lines: list[str] = []
    errors: list[str] = []
    try:
        code = session.stream(remote_command(folder, spec, _candidates(spec, board), model.quantized), ctx,
                              on_stdout=lines.append, on_stderr=errors.append, log_file=run_dir / "remote.log",
                              timeout=spec.timeout)
    except FoldwiseError:  # cancelled or timed out: the command's own clean-up was killed with it
        with contextlib.suppress(FoldwiseError, OSError):
            session.run(f"rm -rf {shlex.quote(folder)}", timeout=15.0)
        raise
    found = _parse_remote(board, code, lines, errors)
    import numpy as np

    # the same runtime on the host, on the same inputs: did the device compute what the host computes?
    numpy_run = str(found["runtime"]).startswith("numpy")
    host_run = numpy_runner(model.path) if numpy_run else onnxruntime_runner(model.path, spec.threads,
                                                                             model.quantized)
    against = "host numpy fallback" if numpy_run else "host onnxruntime"
    info = {"agreement_with_host": {**agreement(np.asarray(found["outputs"]), host_run(model.inputs)),
                                    "against": against},
            "python": found.get("python"), "python_version": found.get("python_version"),
            "machine": found.get("machine"), "hostname": found.get("hostname")}
    row = _row_dict(found["runtime"], found.get("runtime_why", ""), _figures(found, spec.power_w))
    kind = "pynq" if str(found.get("python", "")).startswith(PYNQ_VENV) else "linux"
    return [row], info, kind


def run_baseline(project: Project, spec: BaselineSpec, ctx: JobContext | None = None, *,
                 password: str | None = None, trust_fingerprint: str | None = None) -> RunRecord:
    """Time ``spec.iteration`` (default: current) on ``spec.device`` and save one run record (kind baseline).

    Everything that can be refused (bad figures, no network, unknown or unreachable device) is checked before
    the run folder is made; a failure after that is saved as a failed record and raised.
    """
    ctx = ctx or null_context()
    spec.check()
    iteration = network_kind(project, project.get(spec.iteration) if spec.iteration else project.current)
    board = None if spec.device == HOST else get_board(spec.device)
    session = None
    if board is not None:
        ctx.progress(0.02, f"connecting to {board.display}")
        session = board.session(password, trust_fingerprint).connect()
    try:
        run_dir = new_run_dir(iteration, spec.device, KIND)
        record = RunRecord(KIND, spec.device, HOST if board is None else "linux")
        try:
            ctx.progress(0.1, f"exporting {iteration.label} to ONNX")
            model = prepare_model(project, iteration, run_dir, ctx.sub(0.1, 0.3))
            if session is None:
                rows, info = _time_host(model, spec, ctx)
            else:
                rows, info, record.device_kind = _time_device(model, spec, board, session, run_dir, ctx)
        except Exception as exc:  # recorded as a failed run (what went wrong stays next to the run), then raised
            record.status, record.error = "failed", "cancelled" if isinstance(exc, Cancelled) else str(exc)
            save_run(run_dir, record)
            raise
        headline = rows[-1]  # the exported model's runtime: the row every device has
        record.figures = {k: Figure.from_dict(v) for k, v in headline.items() if isinstance(v, dict)}
        record.rows = rows
        record.info = {"iteration": iteration.id, "model": model.label, "quantized": model.quantized,
                       "model_file": model.path.name, "runtime": headline["runtime"],
                       "runtime_why": headline["runtime_why"], "runtimes": [r["runtime"] for r in rows],
                       "runs": spec.runs, "warmup": spec.warmup, "batch": 1, "threads": spec.threads,
                       "power_source": headline.get("power_sensor"),
                       "entered_power_w": spec.power_w, **info}
        save_run(run_dir, record)
    finally:
        if session is not None:
            session.close()
    ctx.progress(1.0, f"{model.label} on {spec.device}: {headline['time_ms']['value']:.3f} ms per inference")
    return record
