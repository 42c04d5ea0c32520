"""FINN work in the local worker: builds (:func:`worker_build`), hardware nodes, re-estimates, option tables.

The Build stage's one call is :func:`foldwise.core.finn.stage.build` (local or on a build host, fresh or
resumed); it runs fresh local builds through :func:`worker_build`. ``estimate``, ``hls_codegen`` and
``full_build`` are that call for one kind, for scripts and benchmarks that hold a worker. Each function runs in
the FINN worker process (see ``worker.FinnWorker``), reports progress/log through ``ctx`` and returns labelled
results (:class:`~foldwise.core.finn.reports.BuildReport`). A build directory keeps FINN's ``report/*.json``,
its ``build_dataflow.log``, ``folding_config.json`` (the folding used, if given) and ``foldwise_build.json``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from foldwise.core.errors import InputError, ToolMissingError
from foldwise.core.finn.answers_cache import cached_answer, saved_answer
from foldwise.core.finn.boards import DEFAULT_BOARD, get_board
from foldwise.core.finn.build_config import BuildConfig
from foldwise.core.finn.folding import FoldingConfig, FoldingLike, check_against, folding_dict
from foldwise.core.finn.kinds import BuildKind
from foldwise.core.finn.reports import BuildReport, read_build_reports, report_from_estimates
from foldwise.core.finn.tools import what_is_missing
from foldwise.core.finn.worker import FinnWorker, get_worker
from foldwise.core.jobs import JobContext


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


def default_build_dir(model: str | Path, kind: str | BuildKind, board: str, clock_mhz: float) -> Path:
    """``<model dir>/<stem>.finn/<kind>-<board>-<MHz>MHz``: where a model file's builds go."""
    model = Path(model)
    return model.parent / f"{model.stem}.finn" / f"{BuildKind.parse(kind).value}-{board}-{clock_mhz:g}MHz"


def _params(model: str | Path, board: str, clock_mhz: float, **extra: Any) -> dict[str, Any]:
    get_board(board)
    return {"model": _model(model), "board": get_board(board).name, "clock_ns": _clock_ns(clock_mhz), **extra}


def params_for(model: str | Path, config: BuildConfig, output_dir: str) -> dict[str, Any]:
    """The worker's parameters for a build of ``model`` as ``config`` says, into ``output_dir``."""
    params = _params(model, config.board, config.clock_mhz, output_dir=output_dir, target_fps=config.target_fps,
                     folding=config.folding_dict(), keep_intermediate=config.keep,
                     allow_cpu_compute=config.allow_cpu_compute)
    if config.start_step:
        params["start_step"] = config.start_step
    if config.settings:
        params["settings"] = dict(config.settings)
    return params


def bitfile_tools_missing(board: str) -> ToolMissingError | None:
    """Why this machine cannot build a bitfile for ``board`` (and what to do instead), or None if it can."""
    needs = what_is_missing(board)["outputs"]["bitfile"]
    if needs["available"]:
        return None
    return ToolMissingError(
        f"a bitfile build for {board} needs {', '.join(needs['missing'])}, not found on this machine "
        "(Vivado/Vitis HLS 2022.2 or 2024.2, then `finn deps update`). FINN's estimate needs none of them: "
        "run `foldwise estimate MODEL` or build with outputs estimate (foldwise build MODEL --outputs estimate), "
        "or run the bitfile build on a build host that has Vivado (--remote user@host, or a build host picked "
        "in the Build panel).")


def worker_build(
    model: str | Path, config: BuildConfig, build_dir: str | Path, *, worker: FinnWorker | None = None,
    ctx: JobContext | None = None,
) -> dict[str, Any]:
    """A fresh build of ``config.kind`` in a local FINN worker; the worker's result plus its ``report``.

    Estimate: FINN's ``estimate_only_dataflow_steps`` (ESTIMATE_REPORTS). With ``target_fps`` FINN's SetFolding
    picks the folding; a ``folding`` is validated (InputError listing legal values) and applied; with neither,
    FINN's defaults (PE=SIMD=1). Compute nodes FINN leaves on the CPU (MatMul, Conv, ...) are an InputError
    listing them, unless ``allow_cpu_compute``. HLS: the estimate plus ``step_hw_codegen`` (sources under
    ``<build>/codegen``). Bitfile: FINN's default steps; ToolMissingError, offering the estimate, without
    Vivado/HLS here.
    """
    config.check()
    if config.kind is BuildKind.BITFILE and (missing := bitfile_tools_missing(config.board)) is not None:
        raise missing
    params = params_for(model, config, str(Path(build_dir).resolve()))
    result = (worker or get_worker()).request(config.kind.request, params, ctx)
    result["report"] = read_build_reports(result["build_dir"], board=config.board)
    return result


def _one(kind: BuildKind, model: str | Path, build_dir: str | Path | None, worker: FinnWorker | None,
         ctx: JobContext | None, **config: Any) -> dict[str, Any]:
    cfg = BuildConfig(kind=kind, **config)
    folder = Path(build_dir) if build_dir else default_build_dir(model, kind, cfg.board, cfg.clock_mhz)
    return worker_build(model, cfg, folder, worker=worker, ctx=ctx)


def estimate(
    model: str | Path, *, board: str = DEFAULT_BOARD, clock_mhz: float = 100.0, target_fps: int | None = None,
    folding: FoldingLike = None, build_dir: str | Path | None = None, keep_intermediate: bool = False,
    allow_cpu_compute: bool = False, worker: FinnWorker | None = None, ctx: JobContext | None = None,
) -> BuildReport:
    """An estimate build in the worker (:func:`worker_build`); the Build stage's call is ``stage.build``."""
    return _one(BuildKind.ESTIMATE, model, build_dir, worker, ctx, board=board, clock_mhz=clock_mhz,
                target_fps=target_fps, folding=folding, keep_intermediate=keep_intermediate,
                allow_cpu_compute=allow_cpu_compute)["report"]


def hw_nodes(
    model: str | Path, *, board: str = DEFAULT_BOARD, clock_mhz: float = 100.0,
    worker: FinnWorker | None = None, ctx: JobContext | None = None, cache: Path | None = None,
) -> HwNodes:
    """Hardware nodes after conversion/specialization: current folding attrs, legal values, ties, estimates.
    ``cache``: a folder keeping the answer per model (``answers_cache``), so a second call needs no worker."""
    params = _params(model, board, clock_mhz)
    return _hw_nodes(cached_answer(cache, "hw_nodes", model, board,
                                   lambda: (worker or get_worker()).request("hw_nodes", params, ctx)))


def _hw_nodes(result: dict[str, Any]) -> HwNodes:
    return HwNodes(result["nodes"], result["cpu_nodes"], result["model_sha256"], result["part"])


def saved_hw_nodes(model: str | Path, *, board: str = DEFAULT_BOARD, cache: Path | None) -> HwNodes | None:
    """:func:`hw_nodes` as kept in ``cache``, read without the worker (None if not kept): a few milliseconds,
    so a reopened project's Build panel can show them at once."""
    result = saved_answer(cache, "hw_nodes", model, board)
    return _hw_nodes(result) if result is not None else None


def validate_folding(folding: FoldingLike, nodes: HwNodes) -> FoldingConfig:
    """Parent-side check of a folding against :func:`hw_nodes`; returns the parsed config or InputError."""
    data = folding_dict(folding) or {}
    check_against(data, nodes.nodes)
    return FoldingConfig.from_dict(data)


def reestimate(
    model: str | Path, folding: FoldingLike, *, board: str = DEFAULT_BOARD, clock_mhz: float = 100.0,
    worker: FinnWorker | None = None, ctx: JobContext | None = None,
) -> BuildReport:
    """Fast what-if in the warm worker: FINN's folding step + estimate analyses on the cached model."""
    params = _params(model, board, clock_mhz, folding=folding_dict(folding) or {})
    result = (worker or get_worker()).request("reestimate", params, ctx)
    rep = report_from_estimates(result["node_cycles"], result["node_resources"], result["performance"],
                                params["clock_ns"], board, result.get("external_weights"))
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
                                    params["clock_ns"], board, r.get("external_weights"))
        rep.folding = r["folding"]
        out.append((int(r["target_fps"]), rep))
    return out


def option_tables(
    model: str | Path, *, board: str = DEFAULT_BOARD, clock_mhz: float = 100.0, knobs: bool = True,
    worker: FinnWorker | None = None, ctx: JobContext | None = None, cache: Path | None = None,
) -> list[dict[str, Any]]:
    """Per node group, every legal folding choice with FINN's per-node cycles and resources (for search and
    instant figures). ``cache`` as for :func:`hw_nodes`."""
    params = _params(model, board, clock_mhz, knobs=knobs)
    return cached_answer(cache, "options", model, board,
                         lambda: (worker or get_worker()).request("options", params, ctx), knobs=knobs)["groups"]


def saved_option_tables(model: str | Path, *, board: str = DEFAULT_BOARD, knobs: bool = True,
                        cache: Path | None) -> list[dict[str, Any]] | None:
    """:func:`option_tables` as kept in ``cache``, read without the worker (None if not kept)."""
    result = saved_answer(cache, "options", model, board, knobs=knobs)
    return result["groups"] if result is not None else None


def hls_codegen(
    model: str | Path, *, board: str = DEFAULT_BOARD, clock_mhz: float = 100.0, folding: FoldingLike = None,
    target_fps: int | None = None, build_dir: str | Path | None = None, keep_intermediate: bool = False,
    worker: FinnWorker | None = None, ctx: JobContext | None = None,
) -> dict[str, Any]:
    """Estimate build plus ``step_hw_codegen`` (HLS C++ / filled RTL templates under ``<build>/codegen``)."""
    return _one(BuildKind.HLS, model, build_dir, worker, ctx, board=board, clock_mhz=clock_mhz, folding=folding,
                target_fps=target_fps, keep_intermediate=keep_intermediate)


def full_build(
    model: str | Path, *, board: str = DEFAULT_BOARD, clock_mhz: float = 100.0, folding: FoldingLike = None,
    target_fps: int | None = None, build_dir: str | Path | None = None, keep_intermediate: bool = False,
    worker: FinnWorker | None = None, ctx: JobContext | None = None,
) -> BuildReport:
    """Bitfile build (FINN's default steps). ToolMissingError, offering the estimate, without Vivado/HLS."""
    return _one(BuildKind.BITFILE, model, build_dir, worker, ctx, board=board, clock_mhz=clock_mhz,
                folding=folding, target_fps=target_fps, keep_intermediate=keep_intermediate)["report"]
