"""Shared by the benchmark scripts: repo paths and the one-JSON-object output."""

from __future__ import annotations

import json
import os
import platform
import sys
import time
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "app"))


def report(figure: str, value: Any, goal: str, passed: bool, **details: Any) -> None:
    """Print the benchmark's single JSON object (what `make bench` collects)."""
    out = {
        "figure": figure,
        "value": value,
        "goal": goal,
        "pass": bool(passed),
        "machine": {"cpus": os.cpu_count(), "python": platform.python_version()},
        "when": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        **details,
    }
    print(json.dumps(out, indent=2, default=str))
