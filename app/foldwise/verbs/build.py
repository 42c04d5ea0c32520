"""``foldwise build PATH``: a FINN build (estimate, HLS code, bitfile) here or on a build host over SSH.

``--remote user@host[:port]`` runs it on a build host that has finn-plus (``--remote-python``) and, for
bitfiles, Vivado; ``--remote NAME`` uses a saved build host (the list the Build panel offers; ``--save-host``
adds one); ``--start-step STEP`` resumes a failed build from that FINN step in the same build dir.
The SSH password, if one is needed, comes from ``$FOLDWISE_SSH_PASSWORD`` or ``--ask-password``, never from the
command line.
"""

from __future__ import annotations

import argparse
import math
import os
import re
from dataclasses import replace
from pathlib import Path

from foldwise.core.errors import InputError
from foldwise.core.finn.build_config import BuildConfig
from foldwise.core.finn.hosts import RemoteBuildHost, find_host, save_host
from foldwise.core.finn.kinds import BuildKind
from foldwise.core.finn.reports import BuildReport
from foldwise.core.finn.stage import build
from foldwise.core.remote.target import UnknownHostKeyError
from foldwise.verbs._common import (
    PASSWORD_ENV,
    add_json_flag,
    ask_password,
    build_target,
    console_context,
    emit,
    with_trust_hint,
)
from foldwise.verbs.estimate import add_target_args, format_text, summary

HELP = "build a QONNX model with FINN (estimate, HLS code, bitfile), locally or on a build host over SSH"


def configure(parser: argparse.ArgumentParser) -> None:
    add_target_args(parser)
    parser.add_argument("--outputs", nargs="+", choices=[k.value for k in BuildKind], default=["estimate"],
                        metavar="OUTPUT",
                        help="what to build: estimate (no Xilinx tools), hls (HLS C++ code), bitfile (needs "
                             "Vivado); default estimate")
    parser.add_argument("--folding", type=Path, help="FINN folding config JSON to apply (validated first)")
    parser.add_argument("--target-fps", type=int, help="let FINN's SetFolding fold for this FPS")
    parser.add_argument("--out", type=Path, help="build directory (default: <model>.finn/<kind>-... or a new "
                                                 "build of the project's current iteration)")
    parser.add_argument("--start-step", metavar="STEP",
                        help="resume the build in the build directory from this FINN step (e.g. "
                             "step_hw_ipgen); FINN loads the model it saved after the step before")
    parser.add_argument("--keep-intermediate", action=argparse.BooleanOptionalAction, default=None,
                        help="keep FINN's intermediate models so the build can be resumed (default: on for hls "
                             "and bitfile builds)")
    remote = parser.add_argument_group("build host (SSH)")
    remote.add_argument("--remote", metavar="USER@HOST[:PORT] | NAME",
                        help="run the build on this host over SSH, or on the saved build host called NAME")
    remote.add_argument("--save-host", nargs="?", const="", metavar="NAME",
                        help="save this build host's settings (never its password) to the build host list the Build "
                             "panel and --remote NAME use (default name user@host:port)")
    remote.add_argument("--remote-python", metavar="CMD",
                        help="the host's Python that has finn-plus: a path, or a shell prefix such as "
                             "'. ~/finn/bin/activate && python' (default python3)")
    remote.add_argument("--remote-dir", metavar="DIR",
                        help="where Foldwise keeps its runner and builds on the host (default ~/.foldwise)")
    remote.add_argument("--remote-env", action="append", default=[], metavar="NAME=VALUE",
                        help="environment for the build on the host (e.g. FINN_DEPS=..., XILINX_VIVADO=...)")
    remote.add_argument("--identity", type=Path, metavar="FILE", help="SSH private key file")
    remote.add_argument("--ask-password", action="store_true",
                        help=f"prompt for the SSH password (or set ${PASSWORD_ENV})")
    remote.add_argument("--known-hosts", type=Path, metavar="FILE",
                        help="known_hosts file to check the host key against (default: Foldwise's own)")
    remote.add_argument("--trust-host-key", metavar="FINGERPRINT",
                        help="trust a host key not yet known if its fingerprint is exactly this (SHA256:...)")
    remote.add_argument("--connect-timeout", type=positive_seconds, default=10.0, metavar="SECONDS",
                        help="seconds to wait for the host (default 10)")
    add_json_flag(parser)


def positive_seconds(text: str) -> float:
    """An argparse type: a finite number of seconds above zero (0 would make every connect fail at once)."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected seconds, got {text!r}") from None
    if not (value > 0 and math.isfinite(value)):
        raise argparse.ArgumentTypeError(f"must be a positive number of seconds, got {text}")
    return value


def remote_host(args: argparse.Namespace) -> RemoteBuildHost | None:
    """The build host the arguments describe (a saved one by name, or user@host[:port]), or None for local."""
    if not args.remote:
        for flag in ("identity", "known_hosts", "trust_host_key", "save_host"):
            if getattr(args, flag) is not None:
                raise InputError(f"--{flag.replace('_', '-')} only applies with --remote")
        return None
    env = {}
    for item in args.remote_env:
        name, sep, value = item.partition("=")
        if not sep or not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", name):
            raise InputError(f"--remote-env expects NAME=VALUE, got {item!r}")
        env[name] = value
    password = ask_password(args.remote) if args.ask_password else os.environ.get(PASSWORD_ENV)
    saved = find_host(args.remote)
    if saved is not None:  # the flags given override the saved settings
        target = saved.target
        for flag in ("identity", "known_hosts"):
            if getattr(args, flag) is not None:
                target = replace(target, **{flag: getattr(args, flag)})
        host = replace(saved, target=replace(target, password=password), env={**saved.env, **env},
                       python=args.remote_python or saved.python, remote_dir=args.remote_dir or saved.remote_dir)
    else:
        host = RemoteBuildHost.parse(args.remote, python=args.remote_python or "python3",
                                     remote_dir=args.remote_dir or "~/.foldwise", env=env, identity=args.identity,
                                     password=password, known_hosts=args.known_hosts,
                                     connect_timeout=args.connect_timeout)
    if args.save_host is not None:
        save_host(replace(host, name=args.save_host or host.name))
    return host


def _extra_outputs(report: BuildReport) -> dict[str, str]:
    if report.build_dir is None:
        return {}
    names = {"codegen_dir": "codegen", "deploy_dir": "deploy", "bitfile_dir": "bitfile"}
    return {key: str(report.build_dir / name) for key, name in names.items() if (report.build_dir / name).is_dir()}


def run(args: argparse.Namespace) -> int:
    kind = BuildKind.for_outputs(args.outputs)
    host = remote_host(args)
    config = BuildConfig(kind=kind, board=args.board, clock_mhz=args.clock_mhz, folding=args.folding,
                         target_fps=args.target_fps, host=host, start_step=args.start_step,
                         keep_intermediate=args.keep_intermediate, out_dir=args.out,
                         trust_fingerprint=args.trust_host_key)
    try:
        with build_target(args.model) as target:
            report = build(target, config, console_context(args))
    except UnknownHostKeyError as exc:
        raise with_trust_hint(exc) from None
    result = {**summary(report), "kind": kind.value, "outputs": list(args.outputs),
              "remote": host.display if host else None, "start_step": args.start_step,
              **_extra_outputs(report)}
    text = format_text(report)
    if host:
        text += f"\nbuilt on    {host.display} (remote log: {report.build_dir}/remote_build.log)"
    for key, path in _extra_outputs(report).items():
        text += f"\n{key:<11} {path}"
    emit(result, args, text=text)
    return 0
