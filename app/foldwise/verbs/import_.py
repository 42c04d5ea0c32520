"""``foldwise import PATH FILE [--arch NAME] [--input-shape C,H,W] [--check]``: bring a network file into a
project."""

from __future__ import annotations

import argparse

from foldwise.core.errors import InputError
from foldwise.core.project import Project
from foldwise.verbs._common import add_json_flag, console_context, emit

HELP = "import a network (TorchScript .pt, zoo state dict, ONNX, QONNX) as a new iteration"


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("path", help="project folder")
    parser.add_argument("file", help="network file")
    parser.add_argument("--arch", help="zoo architecture of a state dict (e.g. defectnet, lenet5)")
    parser.add_argument("--input-shape", metavar="C,H,W",
                        help="input of one image, for files that do not record it (TorchScript, a pickled module, "
                             "ONNX with a dynamic size), e.g. 1,28,28")
    parser.add_argument("--check", action="store_true", help="only list what stops the import; change nothing")
    add_json_flag(parser)


OPTIONS = {"arch": "--arch NAME", "input_shape": "--input-shape C,H,W"}


def with_options(message: str, needs: list[str]) -> str:
    """The importer's message, then which options give what it needs (the GUI has fields for them)."""
    options = [OPTIONS[n] for n in needs if n in OPTIONS]
    return message + (f"\ngive it with {' and '.join(options)}" if options else "")


def run(args: argparse.Namespace) -> int:
    from foldwise.core.importing import ImportSpec, check_file, import_iteration, parse_input_shape
    from foldwise.core.networks.importers import ImportRefused

    shape = parse_input_shape(args.input_shape) if args.input_shape else None
    if args.check:
        project = Project.open(args.path, read_only=True)
        report = check_file(project, args.file, args.arch, shape)
        emit(report.to_dict(), args, text=with_options(report.message(), report.needs))
        return 0 if report.ok else 1
    with Project.open(args.path) as project:
        try:
            iteration = import_iteration(project, ImportSpec(args.file, args.arch, shape), console_context(args))
        except ImportRefused as exc:
            raise InputError(with_options(str(exc), exc.report.needs)) from exc
        if not args.json:
            for note in iteration.change.get("notes") or []:
                print(f"note: {note}")
            if "accuracy" not in iteration.metrics:
                print("note: no test accuracy (the project's data set does not fit this network)")
        emit({"iteration": iteration.to_dict()}, args, text=f"imported as {iteration.label}")
    return 0

