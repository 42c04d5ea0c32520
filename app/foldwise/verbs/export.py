"""``foldwise export PATH --qonnx OUT.onnx [--images N] [--json]``: QONNX of the current quantized iteration."""

from __future__ import annotations

import argparse

from foldwise.core.project import Project
from foldwise.verbs._common import add_json_flag, console_context, emit

HELP = "export the current quantized network as FINN-ready QONNX and check it bit-exactly against torch"


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("path", help="project folder")
    parser.add_argument("--qonnx", required=True, metavar="OUT.onnx", help="QONNX file to write")
    parser.add_argument("--images", type=int, default=64, help="test images for the bit-exact check (default 64)")
    parser.add_argument("--strict", action="store_true",
                        help="exit with status 1 unless the check is bit-exact or explained by rounding ties")
    add_json_flag(parser)


def run(args: argparse.Namespace) -> int:
    from foldwise.core.quantize.config import ExportSpec
    from foldwise.core.quantize.export import check_verdict
    from foldwise.core.quantize.stage import export_iteration

    with Project.open(args.path, read_only=True) as project:
        result = export_iteration(project, ExportSpec(args.qonnx, args.images), console_context(args))
    emit(result.to_dict(), args, text=f"{result.path}: {check_verdict(result.check)}")
    return 1 if args.strict and not result.check["faithful"] else 0
