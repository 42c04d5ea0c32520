"""FINN builds as core functions over the shared worker: estimate, hardware nodes, re-estimate, codegen, full.

Each takes the QONNX model path, a board name and a clock, runs in the FINN worker process (see
``worker.FinnWorker``), reports progress/log through ``ctx`` and returns labelled results
(:class:`~foldwise.core.finn.reports.BuildReport`). A build directory keeps FINN's ``report/*.json``, its
``build_dataflow.log``, ``folding_config.json`` (the folding used, if given) and ``foldwise_build.json``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from foldwise.core.errors import InputError, ToolMissingError
from foldwise.core.finn.boards import DEFAULT_BOARD, get_board
from foldwise.core.finn.folding import FoldingConfig, check_against, load_folding
from foldwise.core.finn.reports import BuildReport, read_build_reports, report_from_estimates
from foldwise.core.finn.tools import what_is_missing
from foldwise.core.finn.worker import FinnWorker, get_worker
from foldwise.core.jobs import JobContext

FoldingLike = FoldingConfig | dict[str, Any] | str | Path | None


@dataclass
class HwNodes:
    """The hardware nodes of a model after FINN's specialization, with legal folding values."""

    nodes: list[dict[str, Any]] = field(default_factory=list)
    cpu_nodes: list[dict[str, str]] = field(default_factory=list)
    model_sha256: str = ""
    part: str = ""

    def names(self) -> list[str]:
        return [n["name"] for n in self.nodes]

    def to_dict(self) -> dict[str, Any]:
        return {"nodes": self.nodes, "cpu_nodes": self.cpu_nodes, "model_sha256": self.model_sha256,
                "part": self.part}


def _model(model: str | Path) -> str:
    path = Path(model)
    if not path.is_file():
        raise InputError(f"model file not found: {path}")
    if path.suffix.lower() != ".onnx":
        raise InputError(f"expected a QONNX/ONNX model (.onnx), got {path.name}")
    return str(path.resolve())


def _clock_ns(clock_mhz: float) -> float:
    if not 1.0 <= float(clock_mhz) <= 1000.0:
        raise InputError(f"clock {clock_mhz} MHz is out of range (1..1000 MHz)")
    return 1000.0 / float(clock_mhz)


def _folding_dict(folding: FoldingLike) -> dict[str, Any] | None:
    if folding is None:
        return None
    if isinstance(folding, str | Path):
        folding = load_folding(folding)
    if isinstance(folding, dict):
        folding = FoldingConfig.from_dict(folding)
    return folding.to_dict()


def default_build_dir(model: str | Path, kind: str, board: str, clock_mhz: float) -> Path:
    """``<model dir>/<stem>.finn/<kind>-<board>-<MHz>MHz`` (the lead maps this into projects later)."""
    model = Path(model)
    return model.parent / f"{model.stem}.finn" / f"{kind}-{board}-{clock_mhz:g}MHz"


def _params(model: str | Path, board: str, clock_mhz: float, **extra: Any) -> dict[str, Any]:
    get_board(board)
    return {"model": _model(model), "board": get_board(board).name, "clock_ns": _clock_ns(clock_mhz), **extra}


def estimate(
    model: str | Path, *, board: str = DEFAULT_BOARD, clock_mhz: float = 100.0, target_fps: int | None = None,
    folding: FoldingLike = None, build_dir: str | Path | None = None, keep_intermediate: bool = False,
    allow_cpu_compute: bool = False, worker: FinnWorker | None = None, ctx: JobContext | None = None,
) -> BuildReport:
    """FINN's estimate-only build (``estimate_only_dataflow_steps``, ESTIMATE_REPORTS) into ``build_dir``.

    With ``target_fps`` FINN's SetFolding picks the folding; with ``folding`` (config, dict or JSON path) it
    is validated (InputError listing legal values) and applied; with neither, FINN's defaults (PE=SIMD=1).
    Compute nodes FINN leaves on the CPU (MatMul, Conv, ...) are an InputError listing them, unless
    ``allow_cpu_compute``; edge nodes such as the input Transpose are listed in ``report.cpu_nodes``.
    """
    if target_fps is not None and target_fps <= 0:
        raise InputError(f"target FPS must be positive, got {target_fps}")
    build_dir = Path(build_dir) if build_dir else default_build_dir(model, "estimate", board, clock_mhz)
    params = _params(model, board, clock_mhz, output_dir=str(build_dir.resolve()), target_fps=target_fps,
                     folding=_folding_dict(folding), keep_intermediate=keep_intermediate,
                     allow_cpu_compute=allow_cpu_compute)
    result = (worker or get_worker()).request("estimate", params, ctx)
    return read_build_reports(result["build_dir"], board=board)


def hw_nodes(
    model: str | Path, *, board: str = DEFAULT_BOARD, clock_mhz: float = 100.0,
    worker: FinnWorker | None = None, ctx: JobContext | None = None,
) -> HwNodes:
    """Hardware nodes after conversion/specialization: current folding attrs, legal values, ties, estimates."""
    result = (worker or get_worker()).request("hw_nodes", _params(model, board, clock_mhz), ctx)
    return HwNodes(result["nodes"], result["cpu_nodes"], result["model_sha256"], result["part"])


def validate_folding(folding: FoldingLike, nodes: HwNodes) -> FoldingConfig:
    """Parent-side check of a folding against :func:`hw_nodes`; returns the parsed config or InputError."""
    data = _folding_dict(folding) or {}
    check_against(data, nodes.nodes)
    return FoldingConfig.from_dict(data)


def reestimate(
    model: str | Path, folding: FoldingLike, *, board: str = DEFAULT_BOARD, clock_mhz: float = 100.0,
    worker: FinnWorker | None = None, ctx: JobContext | None = None,
) -> BuildReport:
    """Fast what-if in the warm worker: FINN's folding step + estimate analyses on the cached model."""
    params = _params(model, board, clock_mhz, folding=_folding_dict(folding) or {})
    result = (worker or get_worker()).request("reestimate", params, ctx)
    rep = report_from_estimates(result["node_cycles"], result["node_resources"], result["performance"],
                                params["clock_ns"], board)
    rep.folding = result.get("folding")
    return rep


def setfolding_sweep(
    model: str | Path, target_fps_list: list[int], *, board: str = DEFAULT_BOARD, clock_mhz: float = 100.0,
    budget: dict[str, float] | None = None, stop_after_over: int = 3,
    worker: FinnWorker | None = None, ctx: JobContext | None = None,
) -> list[tuple[int, BuildReport]]:
    """FINN's own SetFolding at each target FPS (stops after ``stop_after_over`` results over ``budget``)."""
    params = _params(model, board, clock_mhz, target_fps_list=[int(t) for t in target_fps_list],
                     budget=budget or {}, stop_after_over=stop_after_over)
    result = (worker or get_worker()).request("setfolding_sweep", params, ctx)
    out = []
    for r in result["results"]:
        rep = report_from_estimates(r["node_cycles"], r["node_resources"], r["performance"],
                                    params["clock_ns"], board)
        rep.folding = r["folding"]
        out.append((int(r["target_fps"]), rep))
    return out


def option_tables(
    model: str | Path, *, board: str = DEFAULT_BOARD, clock_mhz: float = 100.0, knobs: bool = True,
    worker: FinnWorker | None = None, ctx: JobContext | None = None,
) -> list[dict[str, Any]]:
    """Per node group, every legal folding choice with FINN's per-node cycles and resources (for search)."""
    params = _params(model, board, clock_mhz, knobs=knobs)
    return (worker or get_worker()).request("options", params, ctx)["groups"]


def hls_codegen(
    model: str | Path, *, board: str = DEFAULT_BOARD, clock_mhz: float = 100.0, folding: FoldingLike = None,
    target_fps: int | None = None, build_dir: str | Path | None = None, keep_intermediate: bool = False,
    worker: FinnWorker | None = None, ctx: JobContext | None = None,
) -> dict[str, Any]:
    """Estimate build plus ``step_hw_codegen`` (HLS C++ / filled RTL templates under ``<build>/codegen``)."""
    build_dir = Path(build_dir) if build_dir else default_build_dir(model, "codegen", board, clock_mhz)
    params = _params(model, board, clock_mhz, output_dir=str(build_dir.resolve()), target_fps=target_fps,
                     folding=_folding_dict(folding), keep_intermediate=keep_intermediate)
    result = (worker or get_worker()).request("hls_codegen", params, ctx)
    result["report"] = read_build_reports(result["build_dir"], board=board)
    return result


def full_build(
    model: str | Path, *, board: str = DEFAULT_BOARD, clock_mhz: float = 100.0, folding: FoldingLike = None,
    target_fps: int | None = None, build_dir: str | Path | None = None, keep_intermediate: bool = False,
    worker: FinnWorker | None = None, ctx: JobContext | None = None,
) -> BuildReport:
    """Bitfile build (FINN's default steps). ToolMissingError, offering the estimate, without Vivado/HLS."""
    missing = what_is_missing(board)["outputs"]["bitfile"]
    if not missing["available"]:
        raise ToolMissingError(
            f"a bitfile build for {board} needs {', '.join(missing['missing'])}, not found on this machine "
            "(Vivado/Vitis HLS 2022.2 or 2024.2, then `finn deps update`). FINN's estimates need none of "
            f"these: run `foldwise estimate {Path(model).name} --board {board}` instead."
        )
    build_dir = Path(build_dir) if build_dir else default_build_dir(model, "bitfile", board, clock_mhz)
    params = _params(model, board, clock_mhz, output_dir=str(build_dir.resolve()), target_fps=target_fps,
                     folding=_folding_dict(folding), keep_intermediate=keep_intermediate)
    result = (worker or get_worker()).request("full_build", params, ctx)
    return read_build_reports(result["build_dir"], board=board)
