"""``foldwise baseline PATH --device NAME|host [--power-w W] [--runtime R] [--runs N] [--json]``.

Times the iteration's exported model (batch 1) on the host (PyTorch and ONNX Runtime) or on a saved board /
Linux device over SSH (ONNX Runtime there, else the numpy fallback, which says so), with power from the
device's sensor or ``--power-w``, saves the run, and prints every baseline of the iteration as one table:
model, device, time per inference, power and energy per inference, each with its source label.
"""

from __future__ import annotations

import argparse

from foldwise.core.project import Project
from foldwise.verbs._common import console_context, emit
from foldwise.verbs.board import board_password, connect_flags, connected

HELP = "time the exported model on the host or a device over SSH, with power and energy per inference"


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("path", help="project folder")
    parser.add_argument("--device", required=True, metavar="NAME|host",
                        help="'host' (this machine) or a saved board / Linux device (foldwise board add)")
    parser.add_argument("--power-w", type=float, metavar="W",
                        help="the device's power in watts, when it has no sensor (labelled entered)")
    parser.add_argument("--runtime", default="auto", choices=["auto", "onnxruntime", "numpy"],
                        help="auto (default): ONNX Runtime where installed, else the numpy fallback")
    parser.add_argument("--runs", type=int, default=100, help="timed inferences after the warm-up (default 100)")
    parser.add_argument("--warmup", type=int, default=10, help="untimed inferences first (default 10)")
    parser.add_argument("--iteration", help="iteration to time (default: the current one)")
    parser.add_argument("--python", metavar="PATH", help="the device's Python (default: the profile's, else the "
                                                          "PYNQ venv's, else python3: the first with numpy)")
    connect_flags(parser)  # --ask-password, --trust-host-key, --json


def run(args: argparse.Namespace) -> int:
    from foldwise.core.board.baseline import HOST, BaselineSpec, run_baseline
    from foldwise.core.board.baseline_table import baseline_rows, format_table
    from foldwise.core.board.profiles import get_board

    spec = BaselineSpec(device=args.device, runtime=args.runtime, runs=args.runs, warmup=args.warmup,
                        power_w=args.power_w, iteration=args.iteration, python=args.python).check()
    with Project.open(args.path, read_only=True) as project:
        if args.iteration:
            project.get(args.iteration)
        password = None if args.device == HOST else board_password(get_board(args.device), args)
        record = connected(lambda: run_baseline(project, spec, console_context(args), password=password,
                                                trust_fingerprint=args.trust_host_key))
        rows = baseline_rows(project.get(record.info["iteration"]))
    result = {"run": record.to_dict(), "table": [r.to_dict() for r in rows]}
    emit(result, args, text=format_table(rows) + f"\nsaved: {record.folder}")
    return 0
