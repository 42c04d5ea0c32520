"""``foldwise bundle export PATH OUT [--with-bitfiles] [--with-recordings]`` and ``foldwise bundle import FILE
DEST``: carry a project to another machine as one checked zip file."""

from __future__ import annotations

import argparse

from foldwise.core.bundle import BundleOptions, ExportResult, ImportResult, export_bundle, import_bundle
from foldwise.verbs._common import add_json_flag, console_context, emit

HELP = "export a project as one bundle file (weights, QONNX, builds, runs; sha256 per file), or import one"


def configure(parser: argparse.ArgumentParser) -> None:
    sub = parser.add_subparsers(dest="bundle_command", metavar="COMMAND", required=True)
    out = sub.add_parser("export", help="write the project at PATH into the bundle file OUT (a zip)")
    out.add_argument("path", help="project folder (not open for editing in another Foldwise window)")
    out.add_argument("out", help="bundle file to write, e.g. story.foldwise.zip (must not exist)")
    out.add_argument("--with-bitfiles", action="store_true",
                     help="also the builds' deployment packages, bitfiles and dataflow models (large)")
    out.add_argument("--with-recordings", action="store_true", help="also demo recordings (large)")
    add_json_flag(out)
    into = sub.add_parser("import", help="unpack the bundle FILE into the new project folder DEST")
    into.add_argument("file", help="a bundle written by `foldwise bundle export`")
    into.add_argument("dest", help="project folder to create (must not exist)")
    add_json_flag(into)


def run(args: argparse.Namespace) -> int:
    if args.bundle_command == "export":
        options = BundleOptions(with_bitfiles=args.with_bitfiles, with_recordings=args.with_recordings)
        exported = export_bundle(args.path, args.out, options, console_context(args))
        emit(exported.to_dict(), args, text=export_text(exported))
    else:
        imported = import_bundle(args.file, args.dest, console_context(args))
        emit(imported.to_dict(), args, text=import_text(imported))
    return 0


def export_text(result: ExportResult) -> str:
    lines = [f"{result.path}: {result.files} files, {result.bytes_in / 1e6:.2f} MB in {result.bytes_out / 1e6:.2f} "
             f"MB ({result.seconds:.1f} s)"]
    lines += [f"  left out {item['path']}: {item['reason']}" for item in result.left_out]
    lines += [f"  not copied {item['path']} ({item['setting']}): {item['reason']}" for item in result.external]
    return "\n".join(lines)


def import_text(result: ImportResult) -> str:
    lines = [f"{result.path}: {result.files} files, {result.bytes / 1e6:.2f} MB, every sha256 checked "
             f"({result.seconds:.1f} s)"]
    lines += [f"  versions differ: {note}" for note in result.version_notes]
    lines += [f"  note: {item['setting']} names {item['path']}, which the bundle does not carry"
              for item in result.external]
    return "\n".join(lines)
