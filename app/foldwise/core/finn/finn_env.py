"""The process environment finn-plus needs without Vivado (see FACTS.md): set it up, then import FINN.

Used by the processes that import FINN (the FINN worker, the emulated board's accelerator), never by the GUI or
CLI process itself.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

#: thread pools that otherwise size themselves to every core of the node (OpenMP: torch, OpenBLAS, MKL, ...)
THREAD_VARS = ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS", "NUMEXPR_NUM_THREADS")


def slurm_cpus() -> int | None:
    """The CPUs Slurm gave this task (``SLURM_CPUS_PER_TASK``), None outside a Slurm job."""
    try:
        cpus = int(os.environ.get("SLURM_CPUS_PER_TASK", ""))
    except ValueError:
        return None
    return cpus if cpus > 0 else None


def limit_threads(cpus: int) -> None:
    """Size the thread pools and FINN's worker processes to ``cpus`` (before numpy, torch or FINN load).

    Two array tasks on one node each spinning up a thread per core of the node would fight over the CPUs
    Slurm gave the other. A smaller limit the user set is kept."""
    for name in THREAD_VARS:
        try:
            current = int(os.environ.get(name, ""))
        except ValueError:
            current = 0
        os.environ[name] = str(min(current, cpus) if current > 0 else cpus)
    os.environ["NUM_DEFAULT_WORKERS"] = str(cpus)  # FINN's parallel HLS/IP/compile jobs


def limit_onnxruntime_threads(cpus: int) -> None:
    """onnxruntime's own pools ignore OMP_NUM_THREADS; qonnx and FINN create sessions without options, so the
    defaults those get are limited (finn-plus's own Slurm entry point does the same)."""
    import onnxruntime.capi._pybind_state as ort_state

    default_options = ort_state.get_default_session_options

    def limited() -> Any:
        options = default_options()
        options.intra_op_num_threads = options.inter_op_num_threads = cpus
        return options

    ort_state.get_default_session_options = limited


def setup_environment(scratch: Path) -> dict[str, Any]:
    """Environment FINN needs before import; a versioned fake XILINX_VIVADO only when Vivado is absent; in a
    Slurm task, thread pools sized to its CPUs."""
    from foldwise.core.finn.tools import find_vivado

    os.environ.setdefault("FINN_BUILD_DIR", str(scratch / "finn_build"))
    Path(os.environ["FINN_BUILD_DIR"]).mkdir(parents=True, exist_ok=True)
    cpus = slurm_cpus()
    if cpus is not None:
        limit_threads(cpus)
    os.environ.setdefault("NUM_DEFAULT_WORKERS", "1")
    vivado = find_vivado()
    if vivado is None:
        # finn-plus only reads it to write report/metadata_builder.json (see FACTS.md)
        fake = scratch / "no-vivado" / "Vivado" / "2022.2"
        fake.mkdir(parents=True, exist_ok=True)
        os.environ["XILINX_VIVADO"] = str(fake)
    else:
        os.environ["XILINX_VIVADO"] = str(vivado.root)
    return {"vivado": vivado.to_dict() if vivado else None}


def import_finn(has_vivado: bool) -> None:
    import finn.xsi

    if not has_vivado:
        finn.xsi.SimEngine = None  # stops the import-time XSI (Vivado simulator) check
    import finn.builder.build_dataflow

    cpus = slurm_cpus()
    if cpus is not None:
        limit_onnxruntime_threads(cpus)
