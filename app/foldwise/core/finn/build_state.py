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


def iteration_fps(iteration: Iteration) -> tuple[float, str] | None:
    """The iteration's latest FPS figure and its source: the Build panel's last estimate, else its newest
    build's; None before it was ever estimated."""
    from foldwise.core.finn.stage import list_builds

    estimate = load_build_state(iteration).get("estimate") or {}
    if isinstance(estimate.get("fps"), (int, float)):
        return float(estimate["fps"]), str(estimate.get("source") or "estimated")
    for record in list_builds(iteration):
        if record.ok and record.fps:
            return float(record.fps), "estimated"
    return None
