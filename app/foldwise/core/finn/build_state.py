"""What the Build panel found for an iteration, kept with it so reopening the project brings it back.

``iterations/<id>/build_state.json`` holds the folding in the editor (as edited or auto-fitted), the last
estimate of it, and the auto-fit and bit-width search results (their ``to_dict()``). It is a record about the
iteration, like its builds: the iteration's model and metrics stay immutable. Written atomically; a missing or
damaged file reads as "nothing saved" (the work is redone, never trusted half-written).
"""

from __future__ import annotations

import json
import threading
from pathlib import Path
from typing import Any

from foldwise.core.atomic import atomic_write_json
from foldwise.core.finn.reports import BuildReport
from foldwise.core.project import Iteration

STATE_NAME = "build_state.json"
PARTS = ("folding", "estimate", "autofit", "bitfit")
_lock = threading.Lock()  # one read-modify-write at a time (jobs finish on the GUI thread, verbs in theirs)


def state_path(iteration: Iteration) -> Path:
    return iteration.folder / STATE_NAME


def load_build_state(iteration: Iteration) -> dict[str, Any]:
    """The saved parts (``folding``, ``estimate``, ``autofit``, ``bitfit``); {} when none were saved."""
    try:
        data = json.loads(state_path(iteration).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return {k: v for k, v in data.items() if k in PARTS and isinstance(v, dict)} if isinstance(data, dict) else {}


def save_build_state(iteration: Iteration, **parts: dict[str, Any] | None) -> dict[str, Any]:
    """Replace the given parts (None removes one) and keep the rest; returns the whole state saved."""
    unknown = set(parts) - set(PARTS)
    if unknown:
        raise ValueError(f"unknown build state parts: {sorted(unknown)}")
    with _lock:
        state = load_build_state(iteration)
        for key, value in parts.items():
            if value is None:
                state.pop(key, None)
            else:
                state[key] = value
        atomic_write_json(state_path(iteration), state)
    return state


def estimate_record(fps: float | None, board: str, clock_mhz: float, source: str = "estimated") -> dict[str, Any]:
    return {"fps": fps, "board": board, "clock_mhz": clock_mhz, "source": source}


def folding_record(folding: dict[str, Any], model_sha256: str | None) -> dict[str, Any]:
    """The saved ``folding`` part: a FINN folding (per node; its ``Defaults`` left out) and the SHA-256 of the
    model it folds (the panel applies it to that model only)."""
    values = {name: dict(attrs) for name, attrs in folding.items() if name != "Defaults" and isinstance(attrs, dict)}
    return {"values": values, "model_sha256": model_sha256}


def keep_found_folding(iteration: Iteration, model: Path, folding: dict[str, Any], report: BuildReport,
                       clock_mhz: float, **parts: dict[str, Any] | None) -> dict[str, Any]:
    """Save the ``folding`` a verb found or was given for ``iteration``'s ``model`` (``report``: FINN's estimate
    of it) as the Build panel saves its own, with ``parts`` (e.g. ``autofit``): the window then opens on the
    folding the command line printed, not FINN's default."""
    from foldwise.core.hashing import sha256_file

    record = folding_record(folding, sha256_file(model))
    fps = report.fps.value if report.fps else None
    source = report.fps.source if report.fps else "estimated"
    return save_build_state(iteration, folding=record, **parts,
                            estimate=estimate_record(fps, report.board or "", clock_mhz, source))


def kept_fps(iteration: Iteration) -> tuple[float, str] | None:
    """FINN's estimate of the folding kept with the iteration (edited, auto-fitted or found by a verb) and its
    source; None when none was kept."""
    estimate = load_build_state(iteration).get("estimate") or {}
    fps = estimate.get("fps")
    if not isinstance(fps, (int, float)) or isinstance(fps, bool) or fps <= 0:
        return None
    return float(fps), str(estimate.get("source") or "estimated")


def iteration_fps(iteration: Iteration) -> tuple[float, str] | None:
    """The iteration's latest FPS figure and its source: the Build panel's last estimate, else its newest
    build's; None before it was ever estimated."""
    from foldwise.core.finn.stage import list_builds

    kept = kept_fps(iteration)
    if kept is not None:
        return kept
    for record in list_builds(iteration):
        if record.ok and record.fps:
            return float(record.fps), "estimated"
    return None
