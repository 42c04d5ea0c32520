"""Read the JSON reports a FINN build leaves in ``<build dir>/report/`` into one labelled result.

Every figure carries where it comes from: ``"estimated"`` (FINN's analytical models), ``"simulated"``
(rtlsim of the stitched IP) or ``"synthesized"`` (post-synthesis utilisation). Nothing is recomputed here
except sums, FPS from cycles (FINN's own formula, 1e9 / clk_ns / max_cycles), percentages of the board, and
the DRAM bandwidth of weights streamed from DRAM (bytes per frame times FPS).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from foldwise.core.errors import FoldwiseError
from foldwise.core.finn.boards import Board, board_for_part, get_board, utilization
from foldwise.core.finn.kinds import EXTERNAL_WEIGHTS_REPORT

Source = Literal["estimated", "simulated", "synthesized"]
ESTIMATED: Source = "estimated"
SIMULATED: Source = "simulated"
SYNTHESIZED: Source = "synthesized"

#: resources FINN estimates per node (``FF`` only comes from synthesis)
RESOURCE_KEYS = ("LUT", "BRAM_18K", "URAM", "DSP")
#: ``utilization_pct`` key of the DRAM bandwidth external weight streams take (of the board's peak)
DRAM = "DRAM"


@dataclass
class Figure:
    """One number with its unit and the source label it must be shown with."""

    value: float
    source: Source
    unit: str = ""

    def to_dict(self) -> dict[str, Any]:
        return {"value": self.value, "source": self.source, "unit": self.unit}


@dataclass
class BuildReport:
    """What a FINN build (or a re-estimate in the worker) says about one folding of one model.

    ``fps``, ``latency_ns`` and ``resources`` hold the most trustworthy figure available (synthesized over
    simulated over estimated); the ``*_estimated`` fields always hold FINN's analytical figures.
    """

    build_dir: Path | None = None
    board: str | None = None
    clock_ns: float | None = None
    fps: Figure | None = None
    latency_ns: Figure | None = None
    fps_estimated: Figure | None = None
    latency_ns_estimated: Figure | None = None
    fps_simulated: Figure | None = None
    bottleneck: str | None = None
    max_cycles: int | None = None
    critical_path_cycles: int | None = None
    node_cycles: dict[str, int] = field(default_factory=dict)
    node_resources: dict[str, dict[str, float]] = field(default_factory=dict)
    resources: dict[str, Figure] = field(default_factory=dict)
    resources_estimated: dict[str, Figure] = field(default_factory=dict)
    resources_synthesized: dict[str, Figure] = field(default_factory=dict)
    utilization_pct: dict[str, float | None] = field(default_factory=dict)
    ops_and_params: dict[str, Any] = field(default_factory=dict)
    folding: dict[str, Any] | None = None
    folding_file: str | None = None
    time_per_step: dict[str, float] = field(default_factory=dict)
    cpu_nodes: list[dict[str, str]] = field(default_factory=list)
    #: why the build streamlined as it did ("" for FINN's default step_streamline)
    streamlining: str = ""
    #: bytes per frame each layer with ``mem_mode`` external reads from DRAM (computed from FINN's folded
    #: weight-stream shape); FINN's resource estimate counts no weight memory for those layers
    external_weights: dict[str, int] = field(default_factory=dict)

    @property
    def dram_weights(self) -> Figure | None:
        """MB/s the external weight streams read from DRAM at the figure's FPS (its source); None without any."""
        if not self.external_weights or self.fps is None:
            return None
        return Figure(sum(self.external_weights.values()) * self.fps.value / 1e6, self.fps.source, "MB/s")

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready dict; figures become ``{"value", "source", "unit"}``."""

        def fig(f: Figure | None) -> dict[str, Any] | None:
            return f.to_dict() if f is not None else None

        return {
            "build_dir": str(self.build_dir) if self.build_dir else None,
            "board": self.board,
            "clock_ns": self.clock_ns,
            "fps": fig(self.fps),
            "latency_ns": fig(self.latency_ns),
            "fps_estimated": fig(self.fps_estimated),
            "latency_ns_estimated": fig(self.latency_ns_estimated),
            "fps_simulated": fig(self.fps_simulated),
            "bottleneck": self.bottleneck,
            "max_cycles": self.max_cycles,
            "critical_path_cycles": self.critical_path_cycles,
            "node_cycles": dict(self.node_cycles),
            "node_cycles_source": ESTIMATED,
            "node_resources": {k: dict(v) for k, v in self.node_resources.items()},
            "node_resources_source": ESTIMATED,
            "resources": {k: fig(v) for k, v in self.resources.items()},
            "resources_estimated": {k: fig(v) for k, v in self.resources_estimated.items()},
            "resources_synthesized": {k: fig(v) for k, v in self.resources_synthesized.items()},
            "utilization_pct": dict(self.utilization_pct),
            "ops_and_params": self.ops_and_params,
            "folding": self.folding,
            "folding_file": self.folding_file,
            "time_per_step": dict(self.time_per_step),
            "cpu_nodes": list(self.cpu_nodes),
            "streamlining": self.streamlining,
            "external_weights": dict(self.external_weights),
            "dram_weights": fig(self.dram_weights),
        }


def _load(path: Path) -> Any:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise FoldwiseError(f"cannot read FINN report {path}: {exc}") from exc


def _resolve_board(board: str | Board | None) -> Board | None:
    if board is None or isinstance(board, Board):
        return board
    try:
        return get_board(board)
    except FoldwiseError:
        return board_for_part(board)


def estimate_totals(node_resources: dict[str, dict[str, float]]) -> dict[str, float]:
    """Sum FINN's per-node estimates (what ``aggregate_dict_keys`` puts under ``"total"``)."""
    totals = dict.fromkeys(RESOURCE_KEYS, 0.0)
    for res in node_resources.values():
        for key in RESOURCE_KEYS:
            totals[key] += float(res.get(key, 0) or 0)
    return totals


def report_from_estimates(
    node_cycles: dict[str, int],
    node_resources: dict[str, dict[str, float]],
    performance: dict[str, Any],
    clock_ns: float,
    board: str | Board | None = None,
    external_weights: dict[str, int] | None = None,
) -> BuildReport:
    """A report from FINN's analysis results held in memory (the worker's re-estimate), not files."""
    rep = BuildReport(clock_ns=clock_ns, external_weights=dict(external_weights or {}))
    _fill_estimates(rep, node_cycles, node_resources, performance, clock_ns)
    _finish(rep, _resolve_board(board))
    return rep


def _fill_estimates(
    rep: BuildReport,
    node_cycles: dict[str, int],
    node_resources: dict[str, dict[str, float]],
    perf: dict[str, Any],
    clock_ns: float | None,
) -> None:
    rep.node_cycles = {k: int(v) for k, v in node_cycles.items()}
    rep.node_resources = {
        k: {r: float(v.get(r, 0) or 0) for r in RESOURCE_KEYS} for k, v in node_resources.items() if k != "total"
    }
    totals = estimate_totals(rep.node_resources)
    rep.resources_estimated = {k: Figure(v, ESTIMATED) for k, v in totals.items()}
    if perf:
        rep.max_cycles = int(perf["max_cycles"])
        rep.critical_path_cycles = int(perf["critical_path_cycles"])
        rep.bottleneck = str(perf.get("max_cycles_node_name") or "") or None
        fps = perf.get("estimated_throughput_fps")
        if fps is None and clock_ns and rep.max_cycles:
            fps = 1e9 / clock_ns / rep.max_cycles
        lat = perf.get("estimated_latency_ns")
        if lat is None and clock_ns:
            lat = rep.critical_path_cycles * clock_ns
        if fps is not None:
            rep.fps_estimated = Figure(float(fps), ESTIMATED, "frames/s")
        if lat is not None:
            rep.latency_ns_estimated = Figure(float(lat), ESTIMATED, "ns")


def finish_report(rep: BuildReport, board: str | Board | None = None) -> None:
    """Choose the figures shown (simulated over estimated, synthesized resources over estimated) and the
    board utilisation, once a report's sources are filled in."""
    _finish(rep, _resolve_board(board))


def _finish(rep: BuildReport, board: Board | None) -> None:
    rep.fps = rep.fps_simulated or rep.fps_estimated
    rep.latency_ns = rep.latency_ns_estimated
    rep.resources = dict(rep.resources_synthesized) if rep.resources_synthesized else dict(rep.resources_estimated)
    if board is not None:
        rep.board = board.name
        rep.utilization_pct = utilization({k: f.value for k, f in rep.resources.items()}, board)
        dram = rep.dram_weights
        if dram is not None and board.dram_mb_s:
            rep.utilization_pct[DRAM] = 100.0 * dram.value / board.dram_mb_s


def _post_synth_totals(data: dict[str, Any]) -> dict[str, float]:
    top = data.get("(top)")
    rows = [top] if isinstance(top, dict) else [v for v in data.values() if isinstance(v, dict)]
    totals: dict[str, float] = {}
    for row in rows:
        for key, value in row.items():
            totals[key] = totals.get(key, 0.0) + float(value)
    if "BRAM_36K" in totals:  # count BRAM as 18 Kb halves, like the estimates
        totals["BRAM_18K"] = totals.get("BRAM_18K", 0.0) + 2 * totals.pop("BRAM_36K")
    return totals


def read_build_reports(
    build_dir: str | Path, board: str | Board | None = None, clock_ns: float | None = None
) -> BuildReport:
    """Parse ``<build_dir>/report/*.json`` (and ``foldwise_build.json`` if Foldwise wrote one).

    ``board``/``clock_ns`` default to what Foldwise recorded for the build; raises FoldwiseError if the
    build left no performance estimate.
    """
    build_dir = Path(build_dir)
    report_dir = build_dir / "report"
    meta_path = build_dir / "foldwise_build.json"
    meta = _load(meta_path) if meta_path.is_file() else {}
    board = board or meta.get("board")
    clock_ns = clock_ns or meta.get("clock_ns")
    perf_path = report_dir / "estimate_network_performance.json"
    if not perf_path.is_file():
        raise FoldwiseError(f"no FINN estimate in {build_dir}: {perf_path.name} is missing (did the build fail?)")
    rep = BuildReport(build_dir=build_dir, clock_ns=clock_ns)
    cycles_path = report_dir / "estimate_layer_cycles.json"
    res_path = report_dir / "estimate_layer_resources.json"
    _fill_estimates(
        rep,
        _load(cycles_path) if cycles_path.is_file() else {},
        _load(res_path) if res_path.is_file() else {},
        _load(perf_path),
        clock_ns,
    )
    ops_path = report_dir / "op_and_param_counts.json"
    if ops_path.is_file():
        rep.ops_and_params = _load(ops_path)
    for name in ("applied_folding_config.json", "auto_folding_config.json"):
        if (report_dir / name).is_file():
            rep.folding = _load(report_dir / name)
            rep.folding_file = str(report_dir / name)
            break
    tps_path = report_dir / "time_per_step.json"
    if tps_path.is_file():
        rep.time_per_step = {k: float(v) for k, v in _load(tps_path).items()}
    rtlsim_path = report_dir / "rtlsim_performance.json"
    if rtlsim_path.is_file():
        rtlsim = _load(rtlsim_path)
        entries = rtlsim if isinstance(rtlsim, list) else [rtlsim]
        fps_values = [float(e["throughput_fps"]) for e in entries if isinstance(e, dict) and "throughput_fps" in e]
        if fps_values:
            rep.fps_simulated = Figure(min(fps_values), SIMULATED, "frames/s")
    synth_path = report_dir / "post_synth_resources.json"
    if synth_path.is_file():
        rep.resources_synthesized = {
            k: Figure(v, SYNTHESIZED) for k, v in _post_synth_totals(_load(synth_path)).items()
        }
    external_path = report_dir / EXTERNAL_WEIGHTS_REPORT
    if external_path.is_file():
        rep.external_weights = {k: int(v) for k, v in _load(external_path).items()}
    rep.cpu_nodes = list(meta.get("cpu_nodes", []))
    rep.streamlining = str(meta.get("streamlining") or "")
    _finish(rep, _resolve_board(board))
    return rep


def estimated_fps(build_dir: str | Path) -> float | None:
    """FINN's estimated throughput of the build in ``build_dir`` (None if it left no performance estimate)."""
    path = Path(build_dir) / "report" / "estimate_network_performance.json"
    try:
        fps = json.loads(path.read_text(encoding="utf-8")).get("estimated_throughput_fps")
    except (OSError, ValueError, AttributeError):
        return None
    return float(fps) if fps is not None else None
