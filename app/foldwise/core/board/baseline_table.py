"""The baselines of an iteration as one table in the paper's form: model, device, time, power, energy.

One row per (device, runtime) from the newest finished baseline run of each device; every figure keeps its
source label (``measured`` or ``entered``) and a missing power is shown as none, never as zero.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

from foldwise.core.board.baseline import HOST, KIND
from foldwise.core.board.runs import Figure, list_runs
from foldwise.core.project import Iteration


@dataclass
class BaselineRow:
    model: str
    device: str
    device_kind: str
    runtime: str
    time_ms: Figure
    time_p95_ms: Figure | None
    power_w: Figure | None
    energy_mj: Figure | None
    power_sensor: str | None
    created: str

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def _figure(row: dict[str, Any], key: str) -> Figure | None:
    value = row.get(key)
    return Figure.from_dict(value) if isinstance(value, dict) else None


def baseline_rows(iteration: Iteration) -> list[BaselineRow]:
    """The table's rows: the host first, then the devices by name; per device and runtime (torch, onnxruntime,
    numpy) the newest finished run's figures."""
    seen: set[tuple[str, str]] = set()
    rows = []
    for record in list_runs(iteration):  # newest first
        if record.kind != KIND or record.status != "done":
            continue
        for row in record.rows:
            time, runtime = _figure(row, "time_ms"), str(row.get("runtime", ""))
            key = (record.device, runtime.split(" ")[0])
            if time is None or key in seen:
                continue
            seen.add(key)
            rows.append(BaselineRow(str(record.info.get("model", "")), record.device, record.device_kind, runtime,
                                    time, _figure(row, "time_p95_ms"), _figure(row, "power_w"),
                                    _figure(row, "energy_mj"), row.get("power_sensor"), record.created))
    order = {"torch": 0, "onnxruntime": 1, "numpy": 2}
    return sorted(rows, key=lambda r: (r.device != HOST, r.device, order.get(r.runtime.split(" ")[0], 3)))


def fmt(figure: Figure | None, digits: int = 3) -> str:
    """``0.214 ms (measured)``, or ``none`` when there is no figure."""
    if figure is None:
        return "none"
    return f"{figure.value:.{digits}g} {figure.unit} ({figure.source})"


COLUMNS = ("Model", "Device", "Runtime", "Time / inference", "p95", "Power", "Energy / inference")


def row_cells(row: BaselineRow) -> list[str]:
    return [row.model, row.device, row.runtime, fmt(row.time_ms), fmt(row.time_p95_ms), fmt(row.power_w),
            fmt(row.energy_mj)]


def format_table(rows: list[BaselineRow]) -> str:
    """A plain-text table (what ``foldwise baseline`` prints)."""
    if not rows:
        return "no baselines yet"
    cells = [list(COLUMNS)] + [row_cells(r) for r in rows]
    widths = [max(len(line[i]) for line in cells) for i in range(len(COLUMNS))]
    lines = ["  ".join(text.ljust(width) for text, width in zip(line, widths, strict=True)).rstrip()
             for line in cells]
    lines.insert(1, "  ".join("-" * w for w in widths))
    sensors = sorted({f"{r.device}: {r.power_sensor}" for r in rows if r.power_sensor})
    if sensors:
        lines.append("power: " + "; ".join(sensors) + "; energy = power × time per inference (batch 1)")
    return "\n".join(lines)
