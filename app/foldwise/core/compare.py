"""Iterations side by side: one row per iteration with every figure and its source label, the Pareto front of
two of them, and the story from the root to the current iteration.

Everything is read from the project tree (manifest metrics, build reports, run records); nothing is computed
but ratios and the front. A figure the project does not hold is ``None``, never a guess. The diff of two
iterations lives in :mod:`foldwise.core.compare_diff`.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from foldwise.core.board.runs import RunRecord, list_runs
from foldwise.core.demo.results import newest_demo
from foldwise.core.errors import FoldwiseError, InputError
from foldwise.core.finn.reports import BuildReport, read_build_reports
from foldwise.core.finn.stage import BuildRecord, list_builds
from foldwise.core.finn.target import project_target_fps, target_verdict
from foldwise.core.iterations import is_quantized
from foldwise.core.project import Iteration, Project
from foldwise.core.protocol import where


@dataclass(frozen=True)
class Column:
    key: str
    title: str
    unit: str = ""


#: the table's figure columns, in the order the panel, the CSV and the text output show them
COLUMNS: tuple[Column, ...] = (
    Column("params", "Params"),
    Column("weight_mb", "Weights", "MB"),
    Column("float_accuracy", "Float acc."),
    Column("quant_accuracy", "Quant. acc."),
    Column("fps_estimated", "FINN FPS", "frames/s"),
    Column("latency_ms", "FINN latency", "ms"),
    Column("lut_pct", "LUT", "%"),
    Column("bram_pct", "BRAM", "%"),
    Column("dsp_pct", "DSP", "%"),
    Column("board_fps", "Board FPS", "frames/s"),
    Column("board_accuracy", "Board acc."),
    Column("energy_mj", "Energy/inf.", "mJ"),
    Column("demo_fps", "Demo FPS", "frames/s"),
)
COLUMN_KEYS = tuple(c.key for c in COLUMNS)
#: keys :meth:`Row.value` also answers: the iteration's own accuracy and its most trusted FPS
DERIVED_KEYS = ("accuracy", "fps")
_UTILIZATION = {"lut_pct": "LUT", "bram_pct": "BRAM_18K", "dsp_pct": "DSP"}


@dataclass(frozen=True)
class Cell:
    """One figure in the table: its value, source label (computed, estimated, ..., measured), unit and where
    exactly it came from (``note``: the split and image count, the build, the board)."""

    value: float
    source: str
    unit: str = ""
    note: str = ""

    def to_dict(self) -> dict[str, Any]:
        return {"value": self.value, "source": self.source, "unit": self.unit, "note": self.note}


@dataclass
class Row:
    """One iteration in the table; ``cells`` holds every :data:`COLUMN_KEYS` key (None: the project has no
    such figure for it); ``verdict`` is the keeps-up verdict against the project's target FPS, if both exist."""

    id: str
    name: str
    kind: str
    parent: str | None
    created: str
    change: str
    current: bool
    cells: dict[str, Cell | None]
    verdict: dict[str, Any] | None = None
    build: str | None = None  # the build folder the FINN figures come from
    #: the newest demo run's own verdict: ``keeps_up``, ``text``, ``backend``, ``source`` (None: never run)
    demo: dict[str, Any] | None = None
    warnings: list[str] = field(default_factory=list)

    @property
    def label(self) -> str:
        return f"{self.id} {self.name}"

    def cell(self, key: str) -> Cell | None:
        """The cell for a column key or a derived key: ``accuracy`` is the iteration's own network's accuracy
        (quantized if it is quantized), ``fps`` a real board's measured FPS when it ran on one, else FINN's estimate
        (an emulated board's FPS only when there is no estimate: it times FINN's software model, not hardware)."""
        if key == "accuracy":
            return self.cells.get("quant_accuracy") or self.cells.get("float_accuracy")
        if key == "fps":
            board = self.cells.get("board_fps")
            if board is not None and board.source == "emulated" and self.cells.get("fps_estimated") is not None:
                # the emulated board's speed is FINN's Python model on this machine, not the hardware's
                return self.cells["fps_estimated"]
            return board or self.cells.get("fps_estimated")
        if key not in self.cells:
            raise InputError(f"unknown figure {key!r}; use one of {', '.join(COLUMN_KEYS + DERIVED_KEYS)}")
        return self.cells[key]

    def value(self, key: str) -> float | None:
        found = self.cell(key)
        return None if found is None else found.value

    def to_dict(self) -> dict[str, Any]:
        return {"id": self.id, "name": self.name, "label": self.label, "kind": self.kind, "parent": self.parent,
                "created": self.created, "change": self.change, "current": self.current, "build": self.build,
                "figures": {k: (c.to_dict() if c else None) for k, c in self.cells.items()},
                "verdict": self.verdict, "demo": self.demo, "warnings": list(self.warnings)}


# ---------------------------------------------------------------------------------------------- change text
def describe_change(iteration: Iteration) -> str:
    """What made the iteration, in one line, from its change record (``""`` when it records nothing)."""
    change = iteration.change or {}
    stage = change.get("stage")
    if stage == "train":
        epochs = change.get("epochs_run")
        verb = "fine-tuned" if iteration.parent else "trained"
        return f"{verb} {change.get('arch') or ''} {epochs} epochs".replace("  ", " ") if epochs else verb
    if stage == "import":
        name = Path(str(change.get("file") or "")).name
        return f"imported {name}" + (f" ({change['format']})" if change.get("format") else "")
    if stage == "prune":
        return _describe_prune(change)
    if stage == "quantize":
        return _describe_quantize(change)
    return str(stage or "")


def _describe_prune(change: dict[str, Any]) -> str:
    parts = []
    removed = [str(n) for n in change.get("removed") or []]
    if removed:
        parts.append("removed " + ", ".join(removed))
    spec = change.get("spec") or {}
    if spec.get("ratio") is not None:
        parts.append(f"channels −{float(spec['ratio']):.0%} ({spec.get('criterion', 'l1')})")
    elif spec.get("layer_ratios"):
        parts.append(f"channels of {len(spec['layer_ratios'])} layers ({spec.get('criterion', 'l1')})")
    if change.get("finetune_epochs"):
        parts.append(f"fine-tuned {change['finetune_epochs']} epochs")
    return "pruned: " + "; ".join(parts) if parts else "pruned"


# how a quantize record's settings other than the bits read, where they are not what most runs use
QUANT_OPTIONS = {("weight_scaling", "per_tensor"): "per-tensor weight scales",
                 ("scale_type", "po2"): "power-of-two scales", ("act_range", "mse"): "MSE activation ranges",
                 ("bias_correction", True): "bias correction", ("gpfq", True): "GPFQ"}


def _describe_quantize(change: dict[str, Any]) -> str:
    config = change.get("config") or {}
    text = f"quantized W{config.get('weight_bits', '?')}A{config.get('act_bits', '?')}"
    layers = config.get("layers") or {}
    if layers:
        text += f", {len(layers)} layers set apart"
    for (key, value), words in QUANT_OPTIONS.items():
        if config.get(key) == value:
            text += f", {words}"
    if change.get("qat_epochs"):
        text += f", QAT {change['qat_epochs']} epochs"
    return text


# ---------------------------------------------------------------------------------------------- the table
def _metric(iteration: Iteration, key: str, unit: str = "") -> Cell | None:
    figure = iteration.metrics.get(key)
    if not isinstance(figure, dict) or not isinstance(figure.get("value"), (int, float)):
        return None
    if isinstance(figure["value"], bool):
        return None
    return Cell(figure["value"], str(figure.get("source") or "computed"), str(figure.get("unit") or unit),
                where(figure))


def _accuracy_cells(iteration: Iteration) -> tuple[Cell | None, Cell | None]:
    """(float accuracy, quantized accuracy): a quantized iteration's stage measured both on the same split."""
    if is_quantized(iteration):
        return _metric(iteration, "float_accuracy"), _metric(iteration, "accuracy")
    return _metric(iteration, "accuracy"), None


def newest_report(iteration: Iteration, warnings: list[str] | None = None) -> tuple[BuildRecord, BuildReport] | None:
    """The iteration's newest finished build and its reports (a build whose reports cannot be read is passed
    over, with a warning); None before any build finished."""
    if iteration.missing:
        return None
    for record in list_builds(iteration):
        if not record.ok:
            continue
        try:
            return record, read_build_reports(record.folder)
        except FoldwiseError as exc:
            if warnings is not None:
                warnings.append(f"iteration {iteration.label}: build {record.name} skipped ({exc})")
    return None


def _build_cells(found: tuple[BuildRecord, BuildReport] | None) -> dict[str, Cell | None]:
    cells: dict[str, Cell | None] = {"fps_estimated": None, "latency_ms": None, **dict.fromkeys(_UTILIZATION)}
    if found is None:
        return cells
    record, report = found
    where = f"build {record.name}" + (f" for {report.board}" if report.board else "")
    if report.fps is not None:
        cells["fps_estimated"] = Cell(report.fps.value, report.fps.source, "frames/s", where)
    if report.latency_ns is not None:
        cells["latency_ms"] = Cell(report.latency_ns.value / 1e6, report.latency_ns.source, "ms", where)
    for key, resource in _UTILIZATION.items():
        pct, used = report.utilization_pct.get(resource), report.resources.get(resource)
        if pct is not None and used is not None:
            cells[key] = Cell(pct, used.source, "%", f"{used.value:,.0f} {resource} of {report.board}")
    return cells


def newest_run(runs: Iterable[RunRecord], kind: str, figure: str) -> RunRecord | None:
    """The newest finished run of ``kind`` that holds ``figure`` (``runs`` newest first, as list_runs gives)."""
    return next((r for r in runs if r.kind == kind and r.status == "done" and figure in r.figures), None)


def _run_cells(iteration: Iteration) -> dict[str, Cell | None]:
    runs = list_runs(iteration) if iteration.missing is None else []
    cells: dict[str, Cell | None] = {"board_fps": None, "board_accuracy": None, "energy_mj": None}
    throughput = newest_run(runs, "throughput", "fps")
    if throughput is not None:
        fig = throughput.figures["fps"]
        cells["board_fps"] = Cell(fig.value, fig.source, "frames/s", f"{throughput.device} ({throughput.device_kind})"
                                  f", {throughput.created}")
    validate = newest_run(runs, "validate", "accuracy")
    if validate is not None:
        fig = validate.figures["accuracy"]
        agreement = validate.figures.get("agreement")
        note = f"{validate.device}, " + where({"split": "test", **validate.info})
        if agreement is not None:
            note += f", agrees with the host on {agreement.value:.1%}"
        cells["board_accuracy"] = Cell(fig.value, fig.source, "", note)
    baseline = newest_run(runs, "baseline", "energy_mj")
    if baseline is not None:
        fig = baseline.figures["energy_mj"]
        parts = [f"{baseline.device}"] + [f"{baseline.figures[k].value:g} {baseline.figures[k].unit}"
                                          for k in ("time_ms", "power_w") if k in baseline.figures]
        cells["energy_mj"] = Cell(fig.value, fig.source, "mJ", ", ".join(parts))
    return cells


def _demo(iteration: Iteration) -> tuple[Cell | None, dict[str, Any] | None]:
    """The newest demo run's processed FPS and its own verdict (drops included), or (None, None)."""
    run = newest_demo(iteration)
    if run is None:
        return None, None
    fig = run.figures["processed_fps"]
    note = f"{run.info.get('backend')} on {run.info.get('source')}, {run.created}: {run.info.get('verdict')}"
    verdict = {"keeps_up": bool(run.info.get("keeps_up")), "text": str(run.info.get("verdict") or ""),
               "backend": run.info.get("backend"), "source": fig.source, "run": run.folder.name if run.folder else ""}
    return Cell(fig.value, fig.source, "frames/s", note), verdict


def _kept_folding_note(iteration: Iteration, build_fps: Cell | None) -> str:
    """A line when the folding kept in the Build stage (edited or auto-fitted) estimates another FPS than the
    newest build the table shows: the Build panel and the Iterations dock show the kept one."""
    from foldwise.core.finn.build_state import kept_fps

    found = kept_fps(iteration) if not iteration.missing else None
    if found is None:
        return ""
    kept = found[0]
    if build_fps is not None and abs(kept - build_fps.value) <= 0.01 * build_fps.value:
        return ""
    shown = f"the newest build's {format_fps(build_fps.value)}" if build_fps is not None else "no build yet"
    return (f"iteration {iteration.label}: the folding kept in the Build stage estimates {format_fps(kept)} "
            f"(estimated), the table shows {shown}: Estimate in the Build panel "
            "(or `foldwise estimate --folding FILE`) makes it a build")


def iteration_row(project: Project, iteration: Iteration, target_fps: float | None = None) -> Row:
    """The table row of one iteration (``target_fps`` None: the project's)."""
    warnings: list[str] = [iteration.missing] if iteration.missing else []
    float_acc, quant_acc = _accuracy_cells(iteration)
    found = newest_report(iteration, warnings)
    demo_cell, demo = _demo(iteration)
    cells: dict[str, Cell | None] = {
        "params": _metric(iteration, "params"),
        "weight_mb": _metric(iteration, "weight_mb", "MB"),
        "float_accuracy": float_acc,
        "quant_accuracy": quant_acc,
        **_build_cells(found),
        **_run_cells(iteration),
        "demo_fps": demo_cell,
    }
    kept = _kept_folding_note(iteration, cells["fps_estimated"])
    if kept:
        warnings.append(kept)
    row = Row(iteration.id, iteration.name, iteration.kind, iteration.parent, iteration.created,
              describe_change(iteration), iteration.id == project.current_id, {k: cells[k] for k in COLUMN_KEYS},
              build=found[0].name if found else None, demo=demo, warnings=warnings)
    target = target_fps if target_fps is not None else project_target_fps(project)
    fps = row.cell("fps")
    verdict = target_verdict(fps.value, target, fps.source) if fps is not None else None
    row.verdict = {**verdict.to_dict(), "text": verdict.text} if verdict is not None else None
    return row


def compare_table(project: Project, include_hidden: bool = False) -> list[Row]:
    """One :class:`Row` per iteration (the visible ones unless ``include_hidden``), in manifest order."""
    iterations = project.iterations if include_hidden else project.visible_iterations
    target = project_target_fps(project)
    return [iteration_row(project, it, target) for it in iterations]


# ---------------------------------------------------------------------------------------------- Pareto
def pareto(rows: Sequence[Row], x: str = "fps", y: str = "accuracy") -> list[Row]:
    """The rows no other row beats on both ``x`` and ``y`` (higher is better on both), by ascending ``x``.
    Rows missing either figure are left out; of rows with equal figures, the first is kept."""
    points = [(row, row.value(x), row.value(y)) for row in rows]
    points = [(r, px, py) for r, px, py in points if px is not None and py is not None]
    front = []
    for i, (row, px, py) in enumerate(points):
        dominated = any((qx >= px and qy >= py) and ((qx, qy) != (px, py) or j < i)
                        for j, (_r, qx, qy) in enumerate(points) if j != i)
        if not dominated:
            front.append((px, row))
    return [row for _x, row in sorted(front, key=lambda item: item[0])]


# ---------------------------------------------------------------------------------------------- the story
def format_mb(value: float) -> str:
    """``140 MB``, ``8.4 MB``, ``0.021 MB``: three significant figures at most, as an engineer says it."""
    if value >= 100:
        return f"{value:,.0f} MB"
    return f"{float(f'{value:.2g}'):g} MB" if value < 1 else f"{value:.3g} MB"


def format_fps(value: float) -> str:
    return f"{value:,.0f} FPS" if value >= 100 else f"{value:.3g} FPS"


def format_value(key: str, value: float, unit: str = "") -> str:
    """A figure as the table shows it: accuracies in %, MB as :func:`format_mb`, counts with separators."""
    if key.endswith("accuracy"):
        return f"{value:.1%}"
    if unit == "MB":
        return format_mb(value)
    if unit == "%":
        return f"{value:.1f} %"
    text = f"{value:,.0f}" if isinstance(value, int) or abs(value) >= 1000 else f"{value:.3g}"
    return f"{text} {unit}" if unit and unit not in ("fraction", "frames/s") else text


def cell_text(key: str, cell: Cell | dict[str, Any] | None, with_source: bool = True) -> str:
    """``416 (estimated)``; ``–`` for a figure the project does not hold."""
    if cell is None:
        return "–"
    data = cell.to_dict() if isinstance(cell, Cell) else cell
    text = format_value(key, data["value"], data.get("unit", ""))
    return f"{text} ({data['source']})" if with_source else text


@dataclass
class Story:
    """The chain from the root to the current iteration: each step's row, and the headline lines."""

    steps: list[Row]
    target_fps: int | None

    @property
    def size_line(self) -> str:
        """``140 MB → 84 MB → 68 MB`` with this project's weights (steps without a size are left out)."""
        sizes = [format_mb(s.value("weight_mb")) for s in self.steps if s.value("weight_mb") is not None]
        return " → ".join(sizes)

    @property
    def fps_line(self) -> str:
        """``3,600 FPS (estimated) → 2,900 FPS (measured), target 120 FPS: keeps up (×24)``."""
        parts = [f"{format_fps(c.value)} ({c.source})" for s in self.steps if (c := s.cell("fps")) is not None]
        if not parts:
            return "no FPS figure yet: estimate a quantized iteration in the Build stage"
        line = " → ".join(parts)
        last = self.steps[-1].verdict
        if self.target_fps:
            line += f", target {self.target_fps:,} FPS"
            if last is not None:
                line += f": {last['text']}"
        return line

    @property
    def text(self) -> str:
        lines = [f"{s.label}: {s.change or s.kind}" for s in self.steps]
        return "\n".join([self.size_line, self.fps_line, "", *lines])

    def to_dict(self) -> dict[str, Any]:
        return {"steps": [s.to_dict() for s in self.steps], "target_fps": self.target_fps,
                "size_line": self.size_line, "fps_line": self.fps_line}


def story(project: Project, iteration: str | None = None) -> Story:
    """The chain root → ``iteration`` (default: current) with each step's MB and FPS against the target."""
    end = project.get(iteration) if iteration else project.current
    if end is None:
        raise InputError(f"project {project.name} has no iterations yet: train or import a network first")
    target = project_target_fps(project)
    return Story([iteration_row(project, it, target) for it in project.lineage(end)], target)
