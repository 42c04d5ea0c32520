"""The per-layer sensitivity scan, kept with the iteration it was measured on so it survives reopening and the
Quantize that follows it: ``iterations/<id>/sensitivity.json`` with the rows, the image count and the
quantization settings scanned. Written atomically; a missing or damaged file reads as "no scan".
"""

from __future__ import annotations

import json
from typing import Any

from foldwise.core.atomic import atomic_write_json
from foldwise.core.project import Iteration
from foldwise.core.quantize.config import QuantConfig

SCAN_NAME = "sensitivity.json"


def save_sensitivity(iteration: Iteration, rows: list[dict[str, Any]], *, images: int,
                     config: dict[str, Any]) -> None:
    """Keep ``rows`` (``{"layer", "accuracy", "drop_points"}`` and what they were measured on, ``images`` images
    with the settings ``config``) with ``iteration``."""
    atomic_write_json(iteration.folder / SCAN_NAME, {"rows": rows, "images": images, "config": config})


def load_sensitivity(iteration: Iteration, config: dict[str, Any],
                     parent: Iteration | None = None) -> dict[str, Any] | None:
    """The scan of ``config`` kept with ``iteration``, else with ``parent`` (a float iteration's preview scan
    holds for the quantized iteration made with the same settings); None when there is none."""
    for owner in (iteration, parent):
        if owner is None:
            continue
        try:
            record = json.loads((owner.folder / SCAN_NAME).read_text(encoding="utf-8"))
        except (OSError, ValueError):
            continue
        if isinstance(record, dict) and _settings(record.get("config")) == config \
                and isinstance(record.get("rows"), list):
            return record
    return None


def _settings(saved: Any) -> dict[str, Any] | None:
    """Saved settings as today's QuantConfig writes them (an older scan gains the defaults of fields added since)."""
    config = QuantConfig.from_saved(saved)
    return config.to_dict() if config is not None else None
