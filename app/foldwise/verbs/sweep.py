"""``foldwise sweep PATH --grid sweep.yml``: a grid of FINN builds of the current iteration, here or on Slurm.

``--executor local`` builds the points in a pool of FINN workers on this machine; ``slurm`` submits one array
job with this machine's ``sbatch``; ``slurm:USER@LOGIN-HOST`` (or ``slurm:NAME``, a saved build host) does it on
a cluster's login host over SSH. Each point becomes a build record under its iteration (the Compare panel shows
it). ``--status``, ``--cancel``, ``--resume`` (points not done) and ``--requeue`` (failed points) work on the
newest sweep of the project, or ``--sweep ID``; ``--mem``, ``--time`` and ``--cpus`` override the grid's Slurm
limits, or a resumed sweep's (a point over its memory or time limit is requeued with more). Ctrl+C while
following a Slurm sweep stops following only: the array job goes on (``--status``).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from foldwise.core.errors import Cancelled, InputError, ProjectLockedError
from foldwise.core.project import Project
from foldwise.core.sweep.grid import load_grid
from foldwise.core.sweep.record import SweepRecord
from foldwise.core.sweep.stage import (
    SweepSpec,
    cancel_sweep,
    resume_sweep,
    summary,
    sweep,
    sweep_status,
)
from foldwise.verbs._common import add_json_flag, console_context, emit

HELP = "run a grid of FINN builds (bit widths × folding × clock × board) locally or as a Slurm array job"


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("project", help="the project folder (its current iteration is swept)")
    action = parser.add_mutually_exclusive_group(required=True)
    action.add_argument("--grid", type=Path, metavar="FILE", help="the sweep's design points (YAML or JSON)")
    action.add_argument("--status", action="store_true", help="the sweep's points, fetching finished ones")
    action.add_argument("--cancel", action="store_true", help="cancel the sweep's open points (scancel)")
    action.add_argument("--resume", action="store_true", help="build again every point not done")
    action.add_argument("--requeue", action="store_true", help="build again the failed points only")
    parser.add_argument("--sweep", metavar="ID", help="which sweep (default: the newest)")
    parser.add_argument(
        "--executor",
        default="local",
        metavar="local|slurm|slurm:USER@HOST",
        help="where the builds run (default local)",
    )
    parser.add_argument("--partition", metavar="P", help="Slurm partition (default: the grid's, else Slurm's)")
    parser.add_argument("--account", metavar="A", help="Slurm account")
    parser.add_argument("--mem", metavar="SIZE", help="Slurm memory per task, e.g. 8G (default: the grid's, else 4G)")
    parser.add_argument("--time", metavar="LIMIT", help="Slurm time limit per task, e.g. 02:00:00 (default: the "
                        "grid's, else 01:00:00)")
    parser.add_argument("--cpus", type=int, metavar="N", help="Slurm CPUs per task (default: the grid's, else 1)")
    parser.add_argument("--workers", type=int, metavar="N", help="local pool size (default: cores and memory)")
    parser.add_argument(
        "--shared",
        type=Path,
        metavar="DIR",
        help="a folder the compute nodes see (default: <project>/cache/sweeps here, "
        "~/.foldwise/sweeps on a login host)",
    )
    parser.add_argument("--no-wait", action="store_true", help="return once Slurm accepted the array job")
    parser.add_argument("--iteration", metavar="ID", help="sweep this iteration (default: the current one)")
    add_json_flag(parser)


def format_text(data: dict) -> str:
    where = data["executor"].get("where") or "this machine"
    counts = ", ".join(f"{n} {s}" for s, n in data["counts"].items() if n)
    lines = [f"sweep {data['id']} of iteration {data['iteration']} on {where}: {data['status']} ({counts})"]
    width = max((len(p["label"]) for p in data["points"]), default=0)
    for p in data["points"]:
        fps = f"{p['fps']['value']:>10,.0f} FPS ({p['fps']['source']})" if p.get("fps") else ""
        lut = f"LUT {p['lut_pct']['value']:5.1f}% ({p['lut_pct']['source']})" if p.get("lut_pct") else ""
        acc = f"acc {100 * p['accuracy']['value']:.1f}% ({p['accuracy']['source']})" if p.get("accuracy") else ""
        failed = p["status"] in ("failed", "cancelled") and p.get("error")
        tail = p["error"] if failed else p.get("build") or p.get("message") or ""
        mark = "*" if p.get("best") else " "
        lines.append(f"{mark} {p['label']:<{width}}  {p['status']:<9} {fps} {lut} {acc}  {tail}".rstrip())
    if data.get("best") is not None:
        lines.append(
            f"* best: p{data['best']}, the most accurate point that keeps up with the project's target "
            "and fits 85 % of the board's LUTs and BRAM"
        )
    return "\n".join(lines)


def _emit(record: SweepRecord, project: Project, args: argparse.Namespace) -> int:
    data = summary(record, project)
    emit(data, args, text=format_text(data))
    failed = [p for p in data["points"] if p["status"] == "failed"]
    if failed:
        errors = " ".join(str(p.get("error") or "") for p in failed)
        more = [flag for flag, why in (("--mem", "memory limit"), ("--time", "time limit")) if why in errors]
        print(
            f"foldwise: {len(failed)} of {len(data['points'])} points failed (first: {failed[0]['error']}); "
            "`foldwise sweep PATH --requeue` builds them again"
            + (f" (with {' and '.join(more)} to give their tasks more)" if more else ""),
            file=sys.stderr,
        )
        return 1
    return 0


def _open(args: argparse.Namespace) -> Project:
    """The project; ``--status`` and ``--cancel`` of a sweep whose Foldwise holds the project open it read-only
    (that Foldwise records what comes back)."""
    try:
        return Project.open(args.project)
    except ProjectLockedError:
        if not (args.status or args.cancel):
            raise
        print(
            "foldwise: the project is open in another Foldwise (it records the sweep's results): showing the "
            "sweep without fetching",
            file=sys.stderr,
        )
        return Project.open(args.project, read_only=True)


def _limits(args: argparse.Namespace) -> dict[str, Any] | None:
    """The Slurm limits given on the command line (they override the grid's, or a resumed sweep's)."""
    given = {"mem": args.mem, "time": args.time, "cpus": args.cpus}
    return {k: v for k, v in given.items() if v is not None} or None


def run(args: argparse.Namespace) -> int:
    if args.workers is not None and args.workers < 1:
        raise InputError(f"--workers must be at least 1, got {args.workers}")
    limits = _limits(args)
    if limits and (args.status or args.cancel):
        raise InputError(f"--{', --'.join(limits)} apply to a new sweep, --resume or --requeue, not to "
                         f"{'--status' if args.status else '--cancel'}")
    if limits and args.grid and not args.executor.startswith("slurm"):
        raise InputError(f"--{', --'.join(limits)} are Slurm limits: use them with --executor slurm")
    grid = load_grid(args.grid) if args.grid else None
    with _open(args) as project:
        if grid is not None:
            spec = SweepSpec(
                grid,
                executor=args.executor,
                partition=args.partition,
                account=args.account,
                workers=args.workers,
                shared=args.shared,
                wait=not args.no_wait,
                iteration=args.iteration,
                limits=limits,
            )
            try:
                record = sweep(project, spec, console_context(args))
            except (Cancelled, KeyboardInterrupt):
                if args.executor.startswith("slurm"):
                    print(
                        "foldwise: the array job goes on; see it with `foldwise sweep PATH --status`, stop it "
                        "with --cancel",
                        file=sys.stderr,
                    )
                raise
        elif args.status:
            record = sweep_status(project, args.sweep)
        elif args.cancel:
            record = cancel_sweep(project, args.sweep)
        else:
            record = resume_sweep(
                project,
                args.sweep,
                only_failed=args.requeue,
                wait=not args.no_wait,
                ctx=console_context(args),
                limits=limits,
            )
        return _emit(record, project, args)
