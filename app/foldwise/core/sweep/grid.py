"""A sweep's design points: a grid (the product of the listed choices) and/or a list, read from YAML or JSON.

Each point builds one FINN configuration of the sweep's iteration::

    board: Pynq-Z2            # defaults for every point (each may be a list under ``grid`` instead)
    kind: estimate            # estimate | hls | bitfile
    clock_mhz: 100
    grid:                     # every combination of these
      clock_mhz: [100, 200]
      folding: [{target_fps: 120}, autofit, {autofit: {lut: 0.5}}, {file: fold.json}, default]
      bits: [current, w4a4, {weights: 3, acts: 4, layers: {features.0: {weight_bits: 2}}}]
    points:                   # and these, one by one (same keys)
      - {clock_mhz: 150, folding: {target_fps: 500}}
    slurm: {cpus: 1, mem: 4G, time: "00:30:00", partition: debug, account: lab, points_per_task: 1}

``bits`` other than ``current`` re-quantizes the float parent with the iteration's own settings and those bit
widths. ``folding``: ``default`` (FINN's PE = SIMD = 1), ``{target_fps: N}`` (FINN's SetFolding), ``autofit``
(Foldwise's auto-fit within a LUT/BRAM budget, fractions of the board) or ``{file: PATH}`` (a FINN folding JSON,
relative to the grid file). Points are checked here (shape, ranges, boards, kinds); layer names are checked
against the network by :func:`foldwise.core.sweep.prepare.check_layers`.
"""

from __future__ import annotations

import itertools
import json
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from foldwise.core.errors import InputError
from foldwise.core.finn.boards import DEFAULT_BOARD, get_board
from foldwise.core.finn.kinds import BuildKind
from foldwise.core.quantize.config import LayerOverride, check_bits

KEYS = ("board", "kind", "clock_mhz", "folding", "bits")
_TOP = {*KEYS, "grid", "points", "slurm", "name"}
_BITS_RE = re.compile(r"^w(\d+)a(\d+)$")
MAX_POINTS = 1000


@dataclass
class SlurmResources:
    """What each array task asks Slurm for, and how many points one task builds (FINN's import, ~5 s, is paid
    once per task)."""

    cpus: int = 1
    mem: str = "4G"
    time: str = "01:00:00"
    partition: str | None = None
    account: str | None = None
    points_per_task: int = 1

    @classmethod
    def from_dict(cls, data: Any) -> SlurmResources:
        if data is None:
            return cls()
        if not isinstance(data, dict):
            raise InputError(
                "sweep grid: slurm must be a mapping (cpus, mem, time, partition, account, points_per_task)"
            )
        unknown = sorted(set(data) - set(cls.__dataclass_fields__))
        if unknown:
            raise InputError(
                f"sweep grid: unknown slurm settings {unknown}; known: {', '.join(cls.__dataclass_fields__)}"
            )
        out = cls(
            **{
                k: (str(v) if k in ("mem", "time", "partition", "account") and v is not None else v)
                for k, v in data.items()
            }
        )
        for name in ("cpus", "points_per_task"):
            value = getattr(out, name)
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise InputError(f"sweep grid: slurm {name} must be a whole number ≥ 1, got {value!r}")
        if not re.fullmatch(r"\d+[KMGT]?", out.mem):
            raise InputError(f"sweep grid: slurm mem must be like 4G or 800M, got {out.mem!r}")
        if not re.fullmatch(r"(\d+-)?\d+(:\d\d){0,2}", out.time):
            raise InputError(f"sweep grid: slurm time must be like 01:00:00, 30 or 1-12:00:00, got {out.time!r}")
        return out

    def to_dict(self) -> dict[str, Any]:
        return {k: getattr(self, k) for k in self.__dataclass_fields__}


@dataclass
class DesignPoint:
    """One build of the sweep: bit widths (None: the iteration as it is), folding, clock, board, kind."""

    index: int
    board: str = DEFAULT_BOARD
    kind: BuildKind = BuildKind.ESTIMATE
    clock_mhz: float = 100.0
    folding: dict[str, Any] = field(default_factory=lambda: {"mode": "default"})
    bits: dict[str, Any] | None = None

    @property
    def label(self) -> str:
        """``p3 w4a4 estimate Pynq-Z2 100MHz target 120 FPS``: how messages and tables name the point."""
        bits = "as is" if self.bits is None else bits_name(self.bits)
        mode = self.folding["mode"]
        fold = {
            "default": "default folding",
            "target_fps": f"target {self.folding.get('target_fps')} FPS",
            "autofit": f"autofit LUT≤{self.folding.get('lut', 0.85):g}",
            "file": f"folding {Path(str(self.folding.get('path'))).name}",
        }[mode]
        return f"p{self.index} {bits} {self.kind.value} {self.board} {self.clock_mhz:g}MHz {fold}"

    def to_dict(self) -> dict[str, Any]:
        return {
            "index": self.index,
            "board": self.board,
            "kind": self.kind.value,
            "clock_mhz": self.clock_mhz,
            "folding": dict(self.folding),
            "bits": self.bits,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> DesignPoint:
        return cls(
            int(data["index"]),
            data.get("board") or DEFAULT_BOARD,
            BuildKind.parse(data.get("kind") or "estimate"),
            float(data.get("clock_mhz") or 100.0),
            dict(data.get("folding") or {"mode": "default"}),
            data.get("bits"),
        )


def bits_name(bits: dict[str, Any]) -> str:
    return f"w{bits['weights']}a{bits['acts']}" + ("-mixed" if bits.get("layers") else "")


@dataclass
class SweepGrid:
    """The expanded points, the per-task Slurm resources and where relative paths are read from."""

    points: list[DesignPoint]
    slurm: SlurmResources = field(default_factory=SlurmResources)
    name: str = ""
    source: str = ""

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "source": self.source,
            "slurm": self.slurm.to_dict(),
            "points": [p.to_dict() for p in self.points],
        }


def load_grid(path: str | Path) -> SweepGrid:
    """Read and expand a grid file (YAML or JSON); InputError names the point and the reason."""
    import yaml

    path = Path(path).expanduser()
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError as exc:
        raise InputError(f"sweep grid {path} does not exist") from exc
    except IsADirectoryError as exc:
        raise InputError(f"sweep grid {path} is a folder: give a YAML file") from exc
    except UnicodeDecodeError as exc:
        raise InputError(f"sweep grid {path} is not a text file") from exc
    try:
        data = json.loads(text) if path.suffix.lower() == ".json" else yaml.safe_load(text)
    except (ValueError, yaml.YAMLError) as exc:
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise InputError(f"sweep grid {path} is not valid YAML/JSON: {first}") from exc
    grid = parse_grid(data, base=path.parent)
    grid.source = str(path)
    return grid


def parse_grid(data: Any, base: Path | None = None) -> SweepGrid:
    """Expand ``data`` (the grid file's mapping) into checked design points."""
    if data is None:
        raise InputError("the sweep grid is empty: give grid: and/or points:")
    if not isinstance(data, dict):
        raise InputError("a sweep grid is a mapping with grid: and/or points: (see `foldwise sweep --help`)")
    unknown = sorted(set(map(str, data)) - _TOP)
    if unknown:
        raise InputError(f"sweep grid: unknown keys {unknown}; known: {', '.join(sorted(_TOP))}")
    defaults = {k: data[k] for k in KEYS if k in data}
    raw: list[dict[str, Any]] = []
    axes = data.get("grid")
    if axes is not None:
        if not isinstance(axes, dict):
            raise InputError("sweep grid: grid must map each of board, kind, clock_mhz, folding, bits to a list")
        bad = sorted(set(map(str, axes)) - set(KEYS))
        if bad:
            raise InputError(f"sweep grid: grid names unknown choices {bad}; known: {', '.join(KEYS)}")
        lists = {k: (v if isinstance(v, list) else [v]) for k, v in axes.items()}
        empty = [k for k, v in lists.items() if not v]
        if empty:
            raise InputError(f"sweep grid: grid {empty[0]} is an empty list, so the grid has no points")
        for combo in itertools.product(*lists.values()):
            raw.append({**defaults, **dict(zip(lists, combo, strict=True))})
    points = data.get("points")
    if points is not None:
        if not isinstance(points, list):
            raise InputError("sweep grid: points must be a list of mappings")
        for i, point in enumerate(points):
            if not isinstance(point, dict):
                raise InputError(f"sweep grid: points[{i}] must be a mapping of {', '.join(KEYS)}")
            bad = sorted(set(map(str, point)) - set(KEYS))
            if bad:
                raise InputError(f"sweep grid: points[{i}] has unknown keys {bad}; known: {', '.join(KEYS)}")
            raw.append({**defaults, **point})
    if not raw:
        raise InputError("the sweep grid is empty: it lists no points (give grid: and/or points:)")
    if len(raw) > MAX_POINTS:
        raise InputError(f"the sweep grid has {len(raw)} points; at most {MAX_POINTS} per sweep")
    out = [_point(i, spec, base) for i, spec in enumerate(raw)]
    _refuse_duplicates(out)
    return SweepGrid(out, SlurmResources.from_dict(data.get("slurm")), str(data.get("name") or ""))


def _point(index: int, spec: dict[str, Any], base: Path | None) -> DesignPoint:
    where = f"point {index}"
    try:
        board = str(spec.get("board") or DEFAULT_BOARD)
        get_board(board)
        kind = BuildKind.parse(spec.get("kind") or "estimate")
        clock = spec.get("clock_mhz", 100.0)
        if isinstance(clock, bool) or not isinstance(clock, int | float) or not 1.0 <= float(clock) <= 1000.0:
            raise InputError(f"clock_mhz must be a number from 1 to 1000 MHz, got {clock!r}")
        point = DesignPoint(
            index,
            board,
            kind,
            float(clock),
            _folding(spec.get("folding", "default"), base),
            _bits(spec.get("bits", "current")),
        )
    except InputError as exc:
        raise InputError(f"sweep grid, {where}: {exc}") from None
    return point


def _folding(value: Any, base: Path | None) -> dict[str, Any]:
    if value in (None, "default"):
        return {"mode": "default"}
    if value == "autofit":
        return {"mode": "autofit", "lut": 0.85, "bram": 0.85}
    if isinstance(value, dict) and len(value) == 1:
        ((key, arg),) = value.items()
        if key == "target_fps":
            if isinstance(arg, bool) or not isinstance(arg, int) or arg <= 0:
                raise InputError(f"folding target_fps must be a positive whole number, got {arg!r}")
            return {"mode": "target_fps", "target_fps": arg}
        if key == "autofit":
            budget = {"lut": 0.85, "bram": 0.85, **(arg or {})} if isinstance(arg, dict | type(None)) else None
            if budget is None or set(budget) - {"lut", "bram"}:
                raise InputError("folding autofit takes {lut: fraction, bram: fraction} of the board")
            for name, frac in budget.items():
                if isinstance(frac, bool) or not isinstance(frac, int | float) or not 0.0 < float(frac) <= 1.0:
                    raise InputError(f"folding autofit {name} budget must be a fraction in (0, 1], got {frac!r}")
            return {"mode": "autofit", **{k: float(v) for k, v in budget.items()}}
        if key == "file":
            path = Path(str(arg)).expanduser()
            path = path if path.is_absolute() or base is None else base / path
            from foldwise.core.finn.folding import load_folding

            load_folding(path)  # missing or not JSON: InputError naming the file
            return {"mode": "file", "path": str(path.resolve())}
    raise InputError(
        f"unknown folding {value!r}: use default, autofit, {{autofit: {{lut: 0.5}}}}, "
        "{target_fps: N} or {file: PATH}"
    )


def _bits(value: Any) -> dict[str, Any] | None:
    if value in (None, "current", "as-is"):
        return None
    if isinstance(value, str):
        match = _BITS_RE.match(value.strip().lower())
        if not match:
            raise InputError(f"bits {value!r}: use current, w4a4-style names or {{weights: W, acts: A}}")
        value = {"weights": int(match.group(1)), "acts": int(match.group(2))}
    if (
        not isinstance(value, dict)
        or not {"weights", "acts"} <= set(value)
        or set(value) - {"weights", "acts", "layers"}
    ):
        raise InputError(
            f"bits {value!r}: give weights and acts (and optionally layers: {{name: {{weight_bits: "
            "W, act_bits: A}}}})"
        )
    layers = value.get("layers") or {}
    if not isinstance(layers, dict):
        raise InputError("bits layers must map layer names to {weight_bits, act_bits}")
    out_layers = {}
    for name, override in layers.items():
        parsed = LayerOverride.from_dict(override, str(name))
        for attr, what in (("weight_bits", "weights"), ("act_bits", "activations")):
            if getattr(parsed, attr) is not None:
                check_bits(getattr(parsed, attr), f"layer {name} {what}")
        out_layers[str(name)] = parsed.to_dict()
    return {
        "weights": check_bits(value["weights"], "weights"),
        "acts": check_bits(value["acts"], "activations"),
        "layers": out_layers,
    }


def _refuse_duplicates(points: list[DesignPoint]) -> None:
    seen: dict[str, int] = {}
    for p in points:
        key = json.dumps({k: v for k, v in p.to_dict().items() if k != "index"}, sort_keys=True)
        if key in seen:
            raise InputError(f"sweep grid, point {p.index}: the same as point {seen[key]} ({p.label})")
        seen[key] = p.index
