"""``foldwise demo PATH [--source camera:0|FILE|URL|folder:DIR|conveyor] [--backend host|host-quant|board:NAME]
[--seconds S | --frames N] [--fps 120] [--record DIR] [--threshold 0.5] [--window N] [--batch N] [--json]``.

Runs the live defect-detection demo headless and prints its figures (measured; emulated on an emulated board):
source and processed FPS, latency percentiles, frames dropped, the per-stage breakdown and whether it keeps up
with the target rate.
"""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING

from foldwise.core.project import Project
from foldwise.verbs._common import add_json_flag, console_context, emit

if TYPE_CHECKING:
    from foldwise.core.demo.budget import FrameBudget

HELP = "run the live defect-detection demo headless (camera, file, folder, stream or synthetic conveyor)"
DEFAULT_SECONDS = 10.0
BACKEND_ALIASES = {"host": "host-float", "host-quant": "host-quantized"}  # the short spellings


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("path", help="project folder")
    parser.add_argument("--source", default="synthetic",
                        help="synthetic or conveyor (default: the built-in conveyor), camera:N, camera:/dev/videoN, "
                             "a video file (PATH or file:PATH), folder:DIR or an rtsp:// / http(s):// URL")
    parser.add_argument("--backend", default="host-float", type=backend_name, metavar="BACKEND",
                        help="where the network runs: host-float (or host; the default), host-quantized (or "
                             "host-quant), board:NAME (a saved board; an emulated one runs FINN's dataflow model)")
    parser.add_argument("--ask-password", action="store_true",
                        help="prompt for a board backend's SSH password (or set $FOLDWISE_SSH_PASSWORD)")
    limit = parser.add_mutually_exclusive_group()
    limit.add_argument("--seconds", type=float, help=f"run this long (default {DEFAULT_SECONDS:g} s)")
    limit.add_argument("--frames", type=int, help="stop after this many processed frames")
    parser.add_argument("--fps", type=float, help="target rate (default: the project's target_fps, else 120)")
    parser.add_argument("--record", metavar="OUT_DIR", help="write the annotated video and a per-frame CSV here")
    parser.add_argument("--threshold", type=float, default=0.5,
                        help="DEFECT when the defect class has at least this probability (default 0.5)")
    parser.add_argument("--window", type=int, metavar="N",
                        help="requests in flight at the backend (default: a board 2; the host 1 or 2, whichever "
                             "the run measures faster)")
    parser.add_argument("--batch", type=int, metavar="N",
                        help="frames per request to a board (default: measured: doubled while it lowers the "
                             "board's time per frame by 10 %%)")
    parser.add_argument("--iteration", help="iteration to run (default: the current one)")
    parser.add_argument("--budget", nargs="?", const="", metavar="FROM",
                        help="only print the frame budget (does it keep up?) with inference from FROM: estimate "
                             "(FINN's), host-float (host), host-quantized (host-quant) or board:NAME (its newest "
                             "run); default: --backend's")
    add_json_flag(parser)


def backend_name(text: str) -> str:
    name = BACKEND_ALIASES.get(text, text)
    if name in ("host-float", "host-quantized") or (name.startswith("board:") and len(name) > len("board:")):
        return name
    raise argparse.ArgumentTypeError(f"unknown backend {text!r}: use host-float (host), host-quantized "
                                     "(host-quant) or board:NAME")


def budget_text(budget: FrameBudget) -> str:
    lines = [f"frame budget at {budget.target_fps:g} FPS: {budget.budget_ms:.2f} ms; inference from "
             f"{budget.inference_from}"]
    for stage in budget.stages:
        share = 100 * stage.ms / budget.budget_ms
        lines.append(f"  {stage.stage:<11} {stage.ms:9.3f} ms {share:6.1f} % of the budget ({stage.source}) "
                     f"{stage.note}")
    lines.append(budget.verdict)
    return "\n".join(lines)


def _budget(args: argparse.Namespace) -> int:
    from foldwise.core.demo.budget import frame_budget

    with Project.open(args.path, read_only=True) as project:
        iteration = project.get(args.iteration) if args.iteration else None
        source = BACKEND_ALIASES.get(args.budget, args.budget) or args.backend
        budget = frame_budget(project, source, iteration, args.fps, console_context(args))
    emit(budget.to_dict(), args, text=budget_text(budget))
    return 0


def run(args: argparse.Namespace) -> int:
    from foldwise.core.demo.pipeline import DemoSpec, run_demo

    if args.budget is not None:
        return _budget(args)
    seconds = args.seconds if args.seconds is not None or args.frames is not None else DEFAULT_SECONDS
    password = None
    if args.backend.startswith("board:"):
        from foldwise.core.board.profiles import get_board
        from foldwise.verbs.board import board_password

        password = board_password(get_board(args.backend[len("board:"):]), args)
    spec = DemoSpec(source=args.source, backend=args.backend, seconds=seconds, frames=args.frames,
                    target_fps=args.fps, record=args.record, iteration=args.iteration, password=password,
                    window=args.window, batch=args.batch, threshold=args.threshold)
    with Project.open(args.path, read_only=True) as project:
        result = run_demo(project, spec, console_context(args))
    emit(result.to_dict(), args, text=summary(result))
    return 0


def summary(result: object) -> str:
    """The figures as a few lines of text (what the CLI prints without --json)."""
    s = result.stats  # type: ignore[attr-defined]
    v = lambda key: s[key]["value"]  # noqa: E731
    lat = {q: f["value"] for q, f in s["latency_ms"].items()}
    stages = ", ".join(f"{name} {f['value']:.2f}" for name, f in s["stage_ms"].items())
    accuracy = s["accuracy"]["value"]
    lines = [
        f"source: {result.source['name']} at {result.source['fps']:g} FPS; backend: {result.backend['name']} "  # type: ignore[attr-defined]
        f"({result.backend['window']} in flight, batch {result.backend['batch']})",  # type: ignore[attr-defined]
        f"ended: {result.reason}",  # type: ignore[attr-defined]
        f"source FPS {v('source_fps'):.1f}, processed FPS {v('processed_fps'):.1f} (target {v('target_fps'):g}), "
        f"{v('frames_processed')} processed, {v('frames_dropped')} dropped of {v('frames_captured')} captured",
        f"pipeline capacity {v('capacity_fps') or 0:.0f} FPS (processing stages alone)",
        f"latency ms p50 {lat['p50']:.2f}, p95 {lat['p95']:.2f}, p99 {lat['p99']:.2f}",
        f"stage ms (mean): {stages}; budget {v('budget_ms'):.2f} ms",
        f"defects counted: {v('defects')}" + (f"; accuracy {accuracy:.1%} on {s['accuracy']['frames']} frames "
                                               "with a known part" if accuracy is not None else ""),
        f"keeps up? {s['verdict']} (all figures {s['processed_fps']['source']})",
    ]
    agreement = s.get("agreement", {})
    if agreement.get("value") is not None:
        lines.insert(-1, f"agreement with the float model: {agreement['value']:.1%} on {agreement['frames']} "
                         "sampled frames")
    lines += [f"note: {note}" for note in result.extra.get("notes", [])]  # type: ignore[attr-defined]
    if result.extra.get("run"):  # type: ignore[attr-defined]
        lines.append(f"saved in the project: {result.extra['run']}")  # type: ignore[attr-defined]
    if result.recording:  # type: ignore[attr-defined]
        lines.append(f"recorded: {result.recording['video']}, {result.recording['csv']}")  # type: ignore[attr-defined]
    return "\n".join(lines)
