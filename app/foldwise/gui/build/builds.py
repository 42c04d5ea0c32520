"""The builds kept for a model: an iteration's ``builds/`` folder, or ``<stem>.finn/`` next to an opened file."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

from foldwise.core.finn.stage import BUILD_RECORD, list_builds

KINDS = ("estimate", "codegen", "bitfile")


def _summary(folder: Path, record: dict[str, Any]) -> dict[str, Any]:
    perf_path = folder / "report" / "estimate_network_performance.json"
    fps = None
    if perf_path.is_file():
        try:
            fps = json.loads(perf_path.read_text(encoding="utf-8")).get("estimated_throughput_fps")
        except (OSError, ValueError):
            fps = None
    clock_ns = record.get("clock_ns")
    kind = record.get("kind") or next((k for k in KINDS if f"{k}-" in folder.name), None)
    try:
        when = time.strftime("%d %b %H:%M:%S", time.localtime(folder.stat().st_mtime))
    except OSError:
        when = ""
    return {"folder": folder, "name": folder.name, "when": when, "kind": kind, "board": record.get("board"),
            "clock_mhz": 1000.0 / clock_ns if clock_ns else None, "fps": fps, "ok": perf_path.is_file()}


def builds_for(model: Path | None, iteration: Any = None) -> list[dict[str, Any]]:
    """Summaries (folder, name, kind, board, clock_mhz, fps, ok) of the builds of ``iteration`` if given,
    else of the builds next to ``model``; newest first."""
    if iteration is not None:
        return [_summary(b.folder, b.record) for b in list_builds(iteration)]
    if model is None:
        return []
    root = model.parent / f"{model.stem}.finn"
    if not root.is_dir():
        return []
    out = []
    for folder in sorted((p for p in root.iterdir() if p.is_dir()), key=lambda p: p.stat().st_mtime, reverse=True):
        record: dict[str, Any] = {}
        if (folder / BUILD_RECORD).is_file():
            try:
                record = json.loads((folder / BUILD_RECORD).read_text(encoding="utf-8"))
            except (OSError, ValueError):
                record = {}
        out.append(_summary(folder, record))
    return out
