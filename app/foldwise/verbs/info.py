"""``foldwise info PATH [--json]``: what a project holds (manifest, iterations, metrics)."""

from __future__ import annotations

import argparse
import sys
from typing import Any

from foldwise.core.iterations import read_summary
from foldwise.core.project import Project
from foldwise.verbs._common import add_json_flag, emit

HELP = "show a project's manifest, iterations and metrics"


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("path", help="project folder")
    add_json_flag(parser)


def run(args: argparse.Namespace) -> int:
    # Read-only: info never takes the lock, so it works beside an open GUI and on read-only media.
    project = Project.open(args.path, read_only=True)
    info = project.summary()
    for iteration in project.iterations:
        if iteration.missing:
            print(f"foldwise: warning: {iteration.missing} (deleted or moved by hand?)", file=sys.stderr)
    current = project.current
    info["network"] = read_summary(current) if current is not None and not current.missing else None
    info["fit"] = _fit(project, info["network"])
    emit(info, args, text=_as_text(info))
    return 0


def _fit(project: Project, network: dict[str, Any] | None) -> dict[str, Any] | None:
    """The weights' fit on the default board at 4 bits: the current network's, or before any iteration, the
    zoo network the project names (built untrained: the architecture is known before training)."""
    from foldwise.core.networks.fit import weight_fit, zoo_fit
    from foldwise.core.networks.zoo import ZOO

    if network:
        return weight_fit(network)
    arch = project.settings.get("network", {}).get("arch")
    return zoo_fit(arch) if not project.iterations and arch in ZOO else None


def _format_metric(value: Any) -> str:
    if isinstance(value, dict) and "value" in value:
        unit = value.get("unit", "")
        number = value["value"]
        shown = f"{number:.4g}" if isinstance(number, float) else str(number)
        return f"{shown}{(' ' + unit) if unit else ''} ({value.get('source', '?')})"
    return str(value)


def _as_text(info: dict[str, Any]) -> str:
    lines = [f"{info['name']}  ({info['path']})", f"created {info['created']}, modified {info['modified']}"]
    if not info["iterations"]:
        lines.append("no iterations yet")
    for it in info["iterations"]:
        marker = "*" if it["id"] == info["current"] else " "
        parent = f" <- {it['parent']}" if it["parent"] else ""
        lines.append(f"{marker} {it['id']} {it['name']} [{it['kind']}]{parent}")
        for key, value in it["metrics"].items():
            if not isinstance(value, (dict, int, float, str)) or key.startswith("_"):
                continue
            if isinstance(value, dict) and isinstance(value.get("value"), list):
                continue  # matrices (confusion) are for --json and the GUI
            lines.append(f"      {key}: {_format_metric(value)}")
    if info.get("fit"):
        from foldwise.core.networks.fit import fit_line

        lines.append(f"fit: {fit_line(info['fit'])}")
    network = info.get("network")
    if network:
        lines.append("")
        lines.append(f"{'layer':28} {'type':14} {'output':16} {'params':>10} {'MACs':>12} {'MB':>9}")
        for row in network.get("layers", []):
            shape = "x".join(str(d) for d in row.get("output_shape") or [])
            lines.append(
                f"{row['name']:28} {row['type']:14} {shape:16} {row['params']:>10,} {row['macs']:>12,} "
                f"{row['weight_mb']:>9.4f}"
            )
        lines.append(
            f"{'total':60} {network['total_params']:>10,} {network['total_macs']:>12,} {network['total_mb']:>9.4f}"
        )
    return "\n".join(lines)
