"""``foldwise estimate MODEL.onnx``: FINN's estimate-only build (FPS, latency, bottleneck, resources)."""

from __future__ import annotations

import argparse
from pathlib import Path

from foldwise.core.finn.boards import BOARDS, DEFAULT_BOARD
from foldwise.core.finn.build_config import BuildConfig
from foldwise.core.finn.build_state import keep_found_folding
from foldwise.core.finn.kinds import BuildKind
from foldwise.core.finn.reports import DRAM, BuildReport
from foldwise.core.finn.stage import build, resolve
from foldwise.core.project import Project
from foldwise.verbs._common import add_json_flag, build_target, console_context, emit

HELP = "estimate throughput, latency and FPGA resources of a QONNX model with FINN (no Vivado needed)"


def add_target_args(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("model", help="QONNX model file (.onnx), or a project (its current quantized iteration)")
    parser.add_argument("--board", default=DEFAULT_BOARD, choices=list(BOARDS), metavar="BOARD",
                        help=f"FINN board name (default {DEFAULT_BOARD}; one of {', '.join(BOARDS)})")
    parser.add_argument("--clock-mhz", type=float, default=100.0, help="target clock in MHz (default 100)")


def configure(parser: argparse.ArgumentParser) -> None:
    add_target_args(parser)
    parser.add_argument("--folding", type=Path, help="FINN folding config JSON to apply (validated first)")
    parser.add_argument("--target-fps", type=int, help="let FINN's SetFolding fold for this FPS")
    parser.add_argument("--out", type=Path, help="build directory (default: <model>.finn/estimate-...)")
    add_json_flag(parser)


def summary(report: BuildReport) -> dict:
    """The figures a user asks for first, each with its source label."""
    res = {k: {"value": f.value, "source": f.source, "pct_of_board": report.utilization_pct.get(k)}
           for k, f in report.resources.items()}
    return {
        "fps": report.fps.to_dict() if report.fps else None,
        "latency_ns": report.latency_ns.to_dict() if report.latency_ns else None,
        "bottleneck": report.bottleneck,
        "max_cycles": report.max_cycles,
        "node_cycles": report.node_cycles,
        "node_cycles_source": "estimated",
        "resources": res,
        "board": report.board,
        "clock_ns": report.clock_ns,
        "cpu_nodes": report.cpu_nodes,
        "streamlining": report.streamlining,
        "external_weights": report.external_weights,
        "dram_weights": report.dram_weights.to_dict() if report.dram_weights else None,
        "build_dir": str(report.build_dir) if report.build_dir else None,
    }


def format_text(report: BuildReport) -> str:
    lines = []
    if report.fps:
        lines.append(f"throughput  {report.fps.value:,.0f} frames/s ({report.fps.source})")
    if report.latency_ns:
        lines.append(f"latency     {report.latency_ns.value / 1000:,.1f} us ({report.latency_ns.source})")
    lines.append(f"bottleneck  {report.bottleneck} ({report.max_cycles:,} cycles)")
    for key, fig in report.resources.items():
        pct = report.utilization_pct.get(key)
        pct_s = f"{pct:5.1f}% of {report.board}" if pct is not None else "n/a"
        lines.append(f"{key:<11} {fig.value:>10,.0f}  {pct_s} ({fig.source})")
    dram = report.dram_weights
    if dram is not None:
        pct = report.utilization_pct.get(DRAM)
        of = f"{pct:5.1f}% of {report.board}'s peak, shared with the CPU" if pct is not None else "board peak n/a"
        lines.append(f"{'DRAM':<11} {dram.value:>10,.1f}  MB/s of weights streamed in ({len(report.external_weights)}"
                     f" layers with mem_mode external), {of} ({dram.source})")
    over = {k: pct for k, pct in report.utilization_pct.items() if pct is not None and pct > 100}
    if over:
        shown = ", ".join(f"{k} {pct:,.0f} %" for k, pct in over.items())
        fixes = "lower --target-fps, run autofit, or use a smaller network (narrower, shallower, pruned)"
        if "BRAM_18K" in over and DRAM not in over:
            fixes += ("; or stream the largest layers' weights from DRAM (mem_mode external in --folding: fully "
                      "connected layers read them once a frame, convolutions once per output pixel)")
        lines.append(f"verdict     does not fit the {report.board} ({shown}, estimated): {fixes}")
    lines.append("cycles per node (estimated):")
    width = max((len(n) for n in report.node_cycles), default=0)
    lines += [f"  {name:<{width}} {cyc:>10,}" for name, cyc in report.node_cycles.items()]
    if report.streamlining:
        lines.append(f"streamlining: {report.streamlining}")
    if report.cpu_nodes:
        lines.append("left on the CPU: " + ", ".join(f"{n['name']} ({n['op_type']})" for n in report.cpu_nodes))
    lines.append(f"build dir   {report.build_dir}")
    return "\n".join(lines)


def run(args: argparse.Namespace) -> int:
    config = BuildConfig(kind=BuildKind.ESTIMATE, board=args.board, clock_mhz=args.clock_mhz,
                         target_fps=args.target_fps, folding=args.folding, out_dir=args.out)
    with build_target(args.model) as target:
        report = build(target, config, console_context(args))
        if isinstance(target, Project) and (args.folding or args.target_fps) and report.folding:
            # the folding chosen here is the iteration's from now on, in the Build panel too
            keep_found_folding(target.current, resolve(target)[0], report.folding, report,
                               args.clock_mhz)
    emit(summary(report), args, text=format_text(report))
    return 0
