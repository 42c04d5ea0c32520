"""``foldwise compare PATH [--json] [--csv OUT] [--diff A B] [--story]``: the project's iterations side by side.

Read-only (the project is never locked or written), so it runs beside an open GUI. Every figure is printed with
its source label; ``--csv`` writes one row per iteration with a ``<figure>_source`` column beside each figure.
"""

from __future__ import annotations

import argparse
import csv
import io
import sys
from pathlib import Path
from typing import Any

from foldwise.core.atomic import atomic_write_bytes
from foldwise.core.compare import COLUMNS, Row, cell_text, compare_table, story
from foldwise.core.compare_diff import diff
from foldwise.core.errors import InputError, os_error_message
from foldwise.core.project import Project
from foldwise.verbs._common import add_json_flag, emit

HELP = "compare a project's iterations: size, accuracy, FPS, resources, board results (each with its source)"


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("path", help="project folder")
    add_json_flag(parser)
    what = parser.add_mutually_exclusive_group()
    what.add_argument("--csv", metavar="OUT", help="also write the table as CSV to OUT")
    what.add_argument("--diff", nargs=2, metavar=("A", "B"), help="what changed from iteration A to iteration B")
    what.add_argument("--story", action="store_true", help="the chain from the root to the current iteration")


def run(args: argparse.Namespace) -> int:
    project = Project.open(args.path, read_only=True)
    if args.diff:
        a, b = args.diff
        if a == b:
            raise InputError(f"--diff needs two different iterations, got {a} twice")
        result = diff(project, a, b)
        _warn(result.a.warnings + result.b.warnings)
        emit(result.to_dict(), args, text=result.text)
        return 0
    if args.story:
        chain = story(project)
        _warn([w for step in chain.steps for w in step.warnings])
        emit(chain.to_dict(), args, text=chain.text)
        return 0
    rows = compare_table(project)
    _warn([w for row in rows for w in row.warnings])
    if args.csv:
        write_csv(rows, Path(args.csv))
    emit({"project": project.name, "path": str(project.path), "target_fps": project.settings.get("target_fps"),
          "columns": [{"key": c.key, "title": c.title, "unit": c.unit} for c in COLUMNS],
          "iterations": [row.to_dict() for row in rows]}, args, text=_as_text(project, rows))
    return 0


def _warn(warnings: list[str]) -> None:
    for warning in dict.fromkeys(warnings):
        print(f"foldwise: warning: {warning}", file=sys.stderr)


def csv_header() -> list[str]:
    header = ["id", "name", "kind", "parent", "created", "change", "current"]
    for column in COLUMNS:
        header += [column.key, f"{column.key}_source"]
    return [*header, "keeps_up", "margin", "verdict_source", "build", "demo_keeps_up", "demo_verdict"]


def csv_values(row: Row) -> list[Any]:
    values: list[Any] = [row.id, row.name, row.kind, row.parent or "", row.created, row.change, int(row.current)]
    for column in COLUMNS:
        cell = row.cells[column.key]
        values += ["", ""] if cell is None else [cell.value, cell.source]
    verdict, demo = row.verdict or {}, row.demo or {}
    return [*values, verdict.get("keeps_up", ""), verdict.get("margin", ""), verdict.get("source", ""), row.build or "",
            demo.get("keeps_up", ""), demo.get("text", "")]


def write_csv(rows: list[Row], out: Path) -> None:
    if out.is_dir():
        raise InputError(f"--csv {out} is a folder: give a file name, e.g. {out / 'compare.csv'}")
    if not out.parent.is_dir():
        raise InputError(f"--csv {out}: the folder {out.parent} does not exist")
    text = io.StringIO(newline="")
    writer = csv.writer(text)
    writer.writerow(csv_header())
    writer.writerows(csv_values(row) for row in rows)
    try:
        atomic_write_bytes(out, text.getvalue().encode("utf-8"))  # a full disk leaves no half table
    except OSError as exc:
        raise InputError(f"cannot write {out}: {os_error_message(exc)}") from exc


def _as_text(project: Project, rows: list[Row]) -> str:
    target = project.settings.get("target_fps")
    lines = [f"{project.name}  ({project.path})" + (f"  target {target} FPS" if target else "")]
    if not rows:
        lines.append("no iterations yet")
    for row in rows:
        marker = "*" if row.current else " "
        parent = f" <- {row.parent}" if row.parent else ""
        lines.append(f"{marker} {row.label} [{row.kind}]{parent}  {row.change}")
        figures = [f"{c.title.lower()} {cell_text(c.key, row.cells[c.key])}" for c in COLUMNS if row.cells[c.key]]
        for start in range(0, len(figures), 4):
            lines.append("      " + " · ".join(figures[start:start + 4]))
        if row.verdict:
            lines.append(f"      {row.verdict['text']} against {row.verdict['target_fps']:g} FPS "
                         f"({row.verdict['source']} {row.verdict['fps']:,.0f} FPS)")
        if row.demo:
            lines.append(f"      demo ({row.demo['backend']}, {row.demo['source']}): {row.demo['text']}")
    return "\n".join(lines)
