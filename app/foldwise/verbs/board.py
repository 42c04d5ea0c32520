"""``foldwise board add|list|remove|probe|push|emulate``: PYNQ boards over SSH (profiles, what a board has,
pushes, an emulated board on 127.0.0.1).

Profiles live in the user's config dir (:mod:`foldwise.core.board.profiles`), shared with the Board panel.
A board that logs in by password gets it from ``$FOLDWISE_SSH_PASSWORD`` or ``--ask-password`` for this run
only; ``board add --install-key`` puts the user's public key on the board so no password is needed again.
"""

from __future__ import annotations

import argparse
import os
from dataclasses import replace
from pathlib import Path
from typing import Any

from foldwise.core.board.keys import after_key_install, default_public_key, install_public_key, read_public_key
from foldwise.core.board.probe import ProbeReport, probe_board
from foldwise.core.board.profiles import Auth, BoardProfile, get_board, remove_board, save_board, saved_boards
from foldwise.core.board.push import check_push_args, push_to_board
from foldwise.core.errors import InputError
from foldwise.core.remote.target import UnknownHostKeyError
from foldwise.verbs._common import PASSWORD_ENV, add_json_flag, ask_password, console_context, emit, with_trust_hint
from foldwise.verbs.build import positive_seconds

HELP = "PYNQ boards over SSH: add, list, remove, probe what a board has, push a folder to it, emulate one"
_MARK = {"ok": "ok", "missing": "MISSING", "warning": "warning", "info": ""}


def connect_flags(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--ask-password", action="store_true",
                        help=f"prompt for the board's SSH password (or set ${PASSWORD_ENV}); never saved")
    parser.add_argument("--trust-host-key", metavar="FINGERPRINT",
                        help="trust the board's host key on first contact if its fingerprint is exactly this")
    add_json_flag(parser)


def configure(parser: argparse.ArgumentParser) -> None:
    sub = parser.add_subparsers(dest="board_command", metavar="COMMAND", required=True)
    add = sub.add_parser("add", help="save a board profile (name, address, how to log in)")
    add.add_argument("name")
    add.add_argument("--host", required=True, help="the board's address (e.g. 192.168.2.99)")
    add.add_argument("--user", default="xilinx", help="login user (default xilinx, as on a PYNQ image)")
    add.add_argument("--port", type=int, default=22)
    auth = add.add_mutually_exclusive_group()
    auth.add_argument("--key", type=Path, metavar="FILE", help="log in with this private key file")
    auth.add_argument("--agent", action="store_true", help="log in with the SSH agent or ~/.ssh keys")
    add.add_argument("--known-hosts", type=Path, metavar="FILE",
                     help="known_hosts file to check the board's key against (default: Foldwise's own)")
    add.add_argument("--connect-timeout", type=positive_seconds, default=10.0, metavar="SECONDS")
    add.add_argument("--python", metavar="PATH", help="the Python with numpy (and ONNX Runtime) on the device, for "
                                                      "baselines (default: the PYNQ venv's, else python3)")
    add.add_argument("--install-key", nargs="?", const="", metavar="PUBFILE",
                     help="log in once by password and add this public key (default: --key's .pub, else "
                          "~/.ssh/id_ed25519.pub) to the board's authorized_keys; the profile then uses the key")
    add.add_argument("--remember-password", action="store_true",
                     help="opt in: keep this board's password in the OS keyring (asked now, with --ask-password or "
                          f"${PASSWORD_ENV}); never in Foldwise's files")
    connect_flags(add)
    add_json_flag(sub.add_parser("list", help="the saved boards"))
    remove = sub.add_parser("remove", help="forget a saved board (its host key stays in known_hosts)")
    remove.add_argument("name")
    add_json_flag(remove)
    probe = sub.add_parser("probe", help="what the board has: image, versions, memory, CMA, temperature, runtime")
    probe.add_argument("name")
    connect_flags(probe)
    push = sub.add_parser("push", help="push a folder (a deployment package) to the board")
    push.add_argument("name")
    push.add_argument("folder", type=Path)
    push.add_argument("--keep", type=int, default=3, help="deployments of this group kept on the board (default 3)")
    push.add_argument("--group", help="deployment group on the board (default: the folder's name)")
    connect_flags(push)
    emulate = sub.add_parser("emulate", help="start a software board on 127.0.0.1 (an sshd of your own account "
                             "that runs FINN's dataflow model in place of a bitfile) and save it as board NAME")
    emulate.add_argument("name")
    emulate.add_argument("--port", type=int, help="port on 127.0.0.1 (default: a free one)")
    emulate.add_argument("--stop", action="store_true", help="stop the emulated board NAME")
    add_json_flag(emulate)


def board_password(board: BoardProfile, args: argparse.Namespace) -> str | None:
    if args.ask_password:
        return ask_password(board.display)
    if not board.needs_password:  # key or agent: no password is sent
        return None
    password = os.environ.get(PASSWORD_ENV)
    if password is None:
        from foldwise.core.board.secrets import recalled_password

        password = recalled_password(board)
    if password is None:
        raise InputError(f"board {board.name} logs in with a password: set ${PASSWORD_ENV} or use --ask-password "
                         f"(or `foldwise board add {board.name} ... --install-key` to log in by key)")
    return password


def _add(args: argparse.Namespace) -> int:
    board = BoardProfile.create(args.name, args.host, user=args.user, port=args.port, key=args.key,
                                agent=args.agent, known_hosts=args.known_hosts, connect_timeout=args.connect_timeout,
                                python=args.python)
    installed = None
    if args.install_key is not None:
        by_password = replace(board, auth=Auth.PASSWORD, key=None)
        public = Path(args.install_key).expanduser() if args.install_key else default_public_key(board)
        read_public_key(public)  # a bad key file is refused before any password is asked for
        installed = install_public_key(by_password, public, password=board_password(by_password, args),
                                       trust_fingerprint=args.trust_host_key)
        board = after_key_install(board, public)
    if args.remember_password:
        from foldwise.core.board.secrets import remember_password

        if not board.needs_password:
            raise InputError(f"board {board.name} logs in by key or agent: it has no password to remember")
        board = replace(board, keyring=True)
        remember_password(board, board_password(replace(board, keyring=False), args) or "")
    save_board(board)
    result = {**board.to_dict(), "key_installed": installed}
    note = "" if installed is None else (" (public key added to the board)" if installed
                                         else " (the public key was already on the board)")
    emit(result, args, text=f"saved board {board.name}: {board.display}, auth {board.auth.value}{note}")
    return 0


def _list(args: argparse.Namespace) -> int:
    boards = saved_boards()
    lines = [f"{b.name:<16} {b.display:<32} {b.auth.value}{f' ({b.key})' if b.key else ''}" for b in boards]
    emit([b.to_dict() for b in boards], args, text="\n".join(lines) or "no boards saved (foldwise board add)")
    return 0


def _remove(args: argparse.Namespace) -> int:
    get_board(args.name)
    remove_board(args.name)
    emit({"removed": args.name}, args, text=f"removed board {args.name}")
    return 0


def probe_text(report: ProbeReport) -> str:
    lines = [f"{report.board} ({report.address}), host key {report.host_fingerprint}"]
    for item in report.items:
        mark = _MARK.get(item.status, item.status)
        lines.append(f"  {item.label + ':':<28} {item.text} ({item.source}){'  ' + mark if mark else ''}")
    lines.append(f"runtime: {report.runtime or 'none'}; " + ("ready for a deployment" if report.ready else
                                                             "not ready; to fix:"))
    lines += [f"  - {fix}" for fix in report.fixes]
    return "\n".join(lines)


def connected(work: Any) -> Any:
    try:
        return work()
    except UnknownHostKeyError as exc:
        raise with_trust_hint(exc) from None


def _probe(args: argparse.Namespace) -> int:
    board = get_board(args.name)
    password = board_password(board, args)
    report = connected(lambda: probe_board(board, console_context(args), password=password,
                                                  trust_fingerprint=args.trust_host_key))
    emit(report.to_dict(), args, text=probe_text(report))
    return 0


def _push(args: argparse.Namespace) -> int:
    board = get_board(args.name)
    if not args.folder.is_dir():
        raise InputError(f"{args.folder} is not a folder to push")
    check_push_args(args.group or args.folder.resolve().name, args.keep)
    password = board_password(board, args)
    result = connected(lambda: push_to_board(board, args.folder, console_context(args), group=args.group,
                                                    keep=args.keep, password=password,
                                                    trust_fingerprint=args.trust_host_key))
    if result.unchanged:
        text = f"unchanged: {result.deployment} already holds this content"
    else:
        text = (f"pushed to {result.deployment}: {len(result.uploaded)} uploaded, {len(result.copied_on_board)} "
                f"copied on the board, {len(result.resumed)} resumed; {result.bytes_sent / 1e6:.2f} MB at "
                f"{result.mb_per_s:.1f} MB/s (measured)")
    if result.removed:
        text += f"; removed old deployments {', '.join(result.removed)}"
    emit(result.to_dict(), args, text=text)
    return 0


def _emulate(args: argparse.Namespace) -> int:
    from foldwise.core.board.emulate import start_emulated_board, stop_emulated_board

    if args.stop:
        stopped = stop_emulated_board(args.name)
        emit({"board": args.name, "stopped": stopped}, args,
             text=f"stopped emulated board {args.name}" if stopped else f"emulated board {args.name} was not running")
        return 0
    board = start_emulated_board(args.name, args.port)
    emit({"board": board.name, "port": board.port, "pid": board.pid, "profile": board.profile.to_dict()}, args,
         text=f"emulated board {board.name} runs on {board.profile.display} (sshd pid {board.pid}); its accelerator "
              f"is FINN's dataflow model, figures labelled emulated. Deploy with `foldwise deploy PATH --board "
              f"{board.name}`; stop with `foldwise board emulate {board.name} --stop`")
    return 0


def run(args: argparse.Namespace) -> int:
    handlers = {"add": _add, "list": _list, "remove": _remove, "probe": _probe, "push": _push, "emulate": _emulate}
    return handlers[args.board_command](args)
