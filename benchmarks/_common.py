"""Shared by the benchmark scripts: repo paths, the machine's description and the one-JSON-object output.

Every script prints one object of the same shape (``report``): ``figure`` (what is measured, in words),
``goal``, ``measured`` (the result in words), ``pass``, ``value`` (the number(s) behind ``measured``), the
machine and the time, then the script's own details. A script with several figures passes ``figures=`` (each
with figure/goal/measured/pass); ``make bench`` (run_all.py) keeps them in benchmarks/results.json.
"""

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

FIGURE_KEYS = ("figure", "goal", "measured", "pass")


def load_average() -> list[float]:
    """1, 5 and 15 minute load averages (``/proc/loadavg``)."""
    return [round(v, 2) for v in os.getloadavg()]


def _cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def _ram_gb() -> float | None:
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                return round(int(line.split()[1]) / 1024**2, 1)
    except (OSError, ValueError, IndexError):
        pass
    return None


def machine() -> dict[str, Any]:
    """Cores, RAM, CPU model, load average and date of this machine now."""
    return {"cores": os.cpu_count(), "ram_gb": _ram_gb(), "cpu": _cpu_model(), "load": load_average(),
            "python": platform.python_version(), "date": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())}


def with_bytecode(env: dict[str, str], folder: Path) -> dict[str, str]:
    """``env`` for a child Python that keeps compiled modules (in ``folder``) as a user's installation does.

    PYTHONDONTWRITEBYTECODE, set in some shells and CI (and on the development machine), would make every new
    process compile each of Foldwise's modules it imports: ~0.4 s more at every GUI start here.
    """
    out = {k: v for k, v in env.items() if k != "PYTHONDONTWRITEBYTECODE"}
    out["PYTHONPYCACHEPREFIX"] = str(folder)
    return out


def as_text(value: Any) -> str:
    """A measured value in words when the script gives none: numbers as printed, dicts as ``key value; ...``."""
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, float):
        return f"{value:g}"
    if isinstance(value, dict):
        return "; ".join(f"{k.replace('_', ' ')} {as_text(v)}" for k, v in value.items())
    if isinstance(value, (list, tuple)):
        return ", ".join(as_text(v) for v in value)
    return str(value)


def figure(figure: str, goal: str, measured: str, passed: bool) -> dict[str, Any]:
    """One row of a script with several figures (``report(..., figures=[...])``)."""
    return {"figure": figure, "goal": goal, "measured": measured, "pass": bool(passed)}


def shaped(raw: dict[str, Any], script: str = "") -> dict[str, Any]:
    """``raw`` with figure/goal/measured/pass filled in (for output of another shape, e.g. an older script's)."""
    out = dict(raw)
    out.setdefault("figure", raw.get("benchmark") or script)
    out.setdefault("goal", "reported")
    if "pass" not in out:
        out["pass"] = bool(raw.get("ok", False))
    out["pass"] = bool(out["pass"])
    out.setdefault("measured", as_text(raw.get("value", "")))
    if out.get("figures"):
        out["figures"] = [shaped(f) for f in out["figures"]]
    return out


def report(figure: str, value: Any, goal: str, passed: bool, *, measured: str | None = None,
           figures: list[dict[str, Any]] | None = None, **details: Any) -> None:
    """Print the benchmark's single JSON object (what `make bench` collects)."""
    out = {
        "figure": figure,
        "goal": goal,
        "measured": measured if measured is not None else as_text(value),
        "pass": bool(passed),
        "value": value,
        "machine": machine(),
        "when": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        **({"figures": figures} if figures else {}),
        **details,
    }
    print(json.dumps(out, indent=2, default=str))
