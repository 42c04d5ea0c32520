"""``foldwise deploy PATH --board NAME``: push the current iteration's build to a board and run it there."""

from __future__ import annotations

import argparse
from typing import Any

from foldwise.core.board.deploy import DEFAULT_BATCHES, DeployResult, DeploySpec, deploy
from foldwise.core.board.profiles import get_board
from foldwise.core.board.runs import RunRecord
from foldwise.core.errors import InputError
from foldwise.core.project import Project
from foldwise.verbs._common import console_context, emit
from foldwise.verbs.board import board_password, connect_flags, connected
from foldwise.verbs.build import positive_seconds

HELP = "push the current iteration's build to a board, run the throughput test and validation, profile it"


def batch_sizes(text: str) -> tuple[int, ...]:
    try:
        sizes = tuple(int(part) for part in text.split(",") if part.strip())
    except ValueError:
        raise argparse.ArgumentTypeError(f"batch sizes are whole numbers separated by commas, got {text!r}") from None
    if not sizes or any(s < 1 for s in sizes):
        raise argparse.ArgumentTypeError(f"batch sizes must be 1 or more, got {text!r}")
    return sizes


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("path", help="project folder (its current iteration's newest build is deployed)")
    parser.add_argument("--board", required=True, help="a saved board (foldwise board add / board emulate)")
    parser.add_argument("--build", help="the build folder name to deploy (default: the newest usable one)")
    parser.add_argument("--throughput", action="store_true", help="run the throughput test (the default when "
                        "--validate is not given)")
    parser.add_argument("--batch", type=batch_sizes, metavar="N,N,...",
                        help=f"batch sizes of the throughput test (default {','.join(map(str, DEFAULT_BATCHES))}); "
                             "giving them asks for the throughput test")
    parser.add_argument("--validate", action="store_true", help="validate on the project's test images")
    parser.add_argument("--images", type=int, default=200, help="validation images (0: the whole test split)")
    parser.add_argument("--timeout", type=positive_seconds, default=900.0, metavar="SECONDS",
                        help="stop a remote run after this long (default 900)")
    parser.add_argument("--keep", type=int, default=3, help="deployments of this iteration kept on the board")
    connect_flags(parser)


def _fig(run: RunRecord, name: str, fmt: str = "{:,.2f}") -> str:
    figure = run.figures.get(name)
    if figure is None:
        return "n/a"
    if figure.unit == "fraction":
        return f"{100 * figure.value:.2f} % ({figure.source})"
    return f"{fmt.format(figure.value)} {figure.unit} ({figure.source})"


def result_text(result: DeployResult) -> str:
    kind = "emulated board" if result.emulated else "board"
    push = result.push
    lines = [f"{kind} {result.board}: build {result.build} ({result.accelerator})",
             "  push: unchanged" if push.unchanged else
             f"  push: {len(push.uploaded)} file(s), {push.bytes_sent / 1e6:.2f} MB at {push.mb_per_s:.1f} MB/s "
             "(measured)"]
    for run in result.runs:
        if run.kind == "throughput":
            board = "emulated" if result.emulated else "measured"
            lines.append(f"  throughput: {_fig(run, 'fps')}; estimate {_fig(run, 'fps_estimated')}; "
                         f"{board}/estimated {_fig(run, 'fps_ratio', '{:.3g}')}")
            for row in run.rows:
                lines.append(f"    batch {row['batch_size']:>6}: {row['throughput[images/s]']:,.1f} images/s, "
                             f"{row['runtime[ms]']:,.1f} ms")
            stages = {"pack_input": "pack", "copy_input_data_to_device": "copy in", "compute": "compute",
                      "copy_output_data_from_device": "copy out", "unpack_output": "unpack"}
            lines.append("    per image: " + ", ".join(f"{label} {_fig(run, s + '_ms', '{:.3f}')}"
                                                         for s, label in stages.items() if s + "_ms" in run.figures))
        elif run.kind == "validate":
            lines.append(f"  validation on {run.info.get('images')} test images: accuracy "
                         f"{_fig(run, 'accuracy', '{:.4f}')}, host (Brevitas) {_fig(run, 'host_accuracy', '{:.4f}')},"
                         f" agreement {_fig(run, 'agreement', '{:.4f}')}")
    return "\n".join(lines)


def run(args: argparse.Namespace) -> int:
    if args.images < 0:
        raise InputError(f"--images must be 0 (all) or more, got {args.images}")
    board = get_board(args.board)
    password = board_password(board, args)
    throughput = args.throughput or args.batch is not None or not args.validate
    spec = DeploySpec(board.name, throughput=throughput, batches=args.batch or DEFAULT_BATCHES,
                      validate=args.validate, images=args.images, build=args.build, timeout=args.timeout,
                      keep=args.keep, password=password, trust_fingerprint=args.trust_host_key)
    spec.check()

    def work() -> Any:
        with Project.open(args.path) as project:
            return deploy(project, spec, console_context(args))

    result = connected(work)
    emit(result.to_dict(), args, text=result_text(result))
    return 0
