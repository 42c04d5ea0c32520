"""Auto-fit: the folding with the highest FINN-estimated FPS that fits a resource budget, vs FINN's SetFolding.

The worker tabulates, per node (a depthwise sliding window joins its consumer), every legal PE/SIMD choice
with its memory/compute style and FINN's own per-node cycles and resources (``get_exp_cycles``,
``node_res_estimation``). FINN's FPS is set by the slowest node and its totals are sums of node estimates, so
picking one choice per node to minimise the largest cycle count within the budget is a small integer
program, solved exactly (core/finn/autofit_exact). Should the solver not prove its optimum in time, a heuristic
answers instead and says so: for a cycle ceiling C, the cheapest choice per node with cycles <= C that fits
(multiplier weights on the resources, then greedy repair swaps), with C bisected down. The winner is
re-estimated by FINN in the worker, so the figures reported are FINN's. The baseline sweeps FINN's
SetFolding over target FPS (doubling, then 5 % steps) and keeps the best that fits the same budget.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from foldwise.core.errors import FoldwiseError, InputError
from foldwise.core.finn import autofit_exact, build
from foldwise.core.finn.boards import DEFAULT_BOARD, get_board
from foldwise.core.finn.reports import BuildReport
from foldwise.core.finn.worker import FinnWorker
from foldwise.core.jobs import JobContext, null_context

RES = ("LUT", "BRAM_18K", "URAM", "DSP")


def make_budget(board: str, lut: float = 0.85, bram: float = 0.85, dsp: float = 1.0, uram: float = 1.0
                ) -> dict[str, float]:
    """Absolute limits from fractions of the board's capacity (0 forbids a resource)."""
    for name, frac in (("LUT", lut), ("BRAM", bram), ("DSP", dsp), ("URAM", uram)):
        if not 0.0 <= frac <= 1.0:
            raise InputError(f"{name} budget must be a fraction in [0, 1], got {frac}")
    cap = get_board(board).capacity()
    return {"LUT": lut * cap["LUT"], "BRAM_18K": bram * cap["BRAM_18K"], "URAM": uram * cap["URAM"],
            "DSP": dsp * cap["DSP"]}


def fits(resources: dict[str, float], budget: dict[str, float]) -> bool:
    return all(float(resources.get(k, 0.0)) <= v + 1e-9 for k, v in budget.items())


@dataclass
class _Group:
    attrs: list[dict[str, dict[str, Any]]]
    cycles: np.ndarray
    res: np.ndarray
    node_cycles: list[dict[str, int]] = field(default_factory=list)


def _groups(tables: list[dict[str, Any]]) -> list[_Group]:
    out = []
    for table in tables:
        opts = table["options"]
        if not opts:
            raise FoldwiseError(f"FINN accepts no folding for {', '.join(table['nodes'])}")
        out.append(_Group([o["attrs"] for o in opts], np.array([o["cycles"] for o in opts], dtype=float),
                          np.array([[o["res"].get(k, 0.0) for k in RES] for o in opts], dtype=float),
                          [dict(o.get("node_cycles") or {}) for o in opts]))
    return out


def _select(groups: list[_Group], ceiling: float, weights: np.ndarray) -> list[int] | None:
    sel = []
    for g in groups:
        cost = g.res @ weights + 1e-9 * g.cycles  # among equals, prefer the faster choice
        cost = np.where(g.cycles <= ceiling, cost, np.inf)
        i = int(np.argmin(cost))
        if not np.isfinite(cost[i]):
            return None
        sel.append(i)
    return sel


def _totals(groups: list[_Group], sel: list[int]) -> np.ndarray:
    return np.sum([g.res[i] for g, i in zip(groups, sel, strict=True)], axis=0)


def _overshoot(totals: np.ndarray, limit: np.ndarray) -> float:
    return float(np.sum(np.maximum(totals - limit, 0.0) / np.maximum(limit, 1.0)))


def _repair(groups: list[_Group], ceiling: float, limit: np.ndarray, sel: list[int]) -> list[int] | None:
    """Greedy single-node swaps that cut the budget overshoot most, until it fits or nothing helps."""
    sel = list(sel)
    totals = _totals(groups, sel)
    for _ in range(200):
        now = _overshoot(totals, limit)
        if now <= 0.0:
            return sel
        best = (now, -1, -1)
        for gi, g in enumerate(groups):
            new_totals = totals[None, :] - g.res[sel[gi]] + g.res
            over = np.sum(np.maximum(new_totals - limit, 0.0) / np.maximum(limit, 1.0), axis=1)
            over = np.where(g.cycles <= ceiling, over, np.inf)
            j = int(np.argmin(over))
            if over[j] < best[0] - 1e-12:
                best = (float(over[j]), gi, j)
        if best[1] < 0:
            return None
        _, gi, j = best
        totals = totals - groups[gi].res[sel[gi]] + groups[gi].res[j]
        sel[gi] = j
    return None


def _fit_at(groups: list[_Group], ceiling: float, limit: np.ndarray) -> list[int] | None:
    weights = 1.0 / np.maximum(limit, 1e-3)  # a resource the board lacks (limit 0) costs a fortune
    sel = None
    for _ in range(30):
        sel = _select(groups, ceiling, weights)
        if sel is None:
            return None
        over = _totals(groups, sel) - limit
        if np.all(over <= 1e-9):
            return sel
        weights = weights * np.where(over > 0, 1.5 + np.minimum(over / np.maximum(limit, 1.0), 1.0), 1.0)
    return _repair(groups, ceiling, limit, sel) if sel is not None else None


@dataclass
class FoldingSearch:
    """The best folding found within a budget: FINN's folding dict, its largest per-node cycles and resource
    totals (sums of FINN's per-node estimates), and how it was found (``method``: "optimal" when the integer
    program proved it, else "heuristic" with the reason in ``note``)."""

    folding: dict[str, Any]
    cycles: float
    totals: dict[str, float]
    method: str
    note: str
    seconds: float
    node_cycles: dict[str, int] = field(default_factory=dict)  # FINN's per-node cycles of the chosen options

    def to_dict(self) -> dict[str, Any]:
        return {"cycles": self.cycles, "totals": self.totals, "method": self.method, "note": self.note,
                "seconds": round(self.seconds, 3)}


def heuristic_selection(groups: list[_Group], limit: np.ndarray) -> list[int]:
    """Bisect the cycle ceiling with the weighted choice and repair swaps (fast, not proved optimal)."""
    floor = max(float(g.cycles.min()) for g in groups)
    ceilings = sorted({float(c) for g in groups for c in g.cycles if c >= floor})
    lo, hi, best = 0, len(ceilings) - 1, None
    if _fit_at(groups, ceilings[hi], limit) is None:
        raise FoldwiseError("even the slowest legal folding exceeds the resource budget")
    while lo <= hi:  # smallest feasible ceiling
        mid = (lo + hi) // 2
        if _fit_at(groups, ceilings[mid], limit) is not None:
            best, hi = mid, mid - 1
        else:
            lo = mid + 1
    assert best is not None
    for idx in range(best - 1, max(best - 8, -1), -1):  # the weighted choice is not exactly monotone in C
        if _fit_at(groups, ceilings[idx], limit) is not None:
            best = idx
    sel = _fit_at(groups, ceilings[best], limit)
    assert sel is not None
    return sel


def _bottleneck(groups: list[_Group], sel: list[int]) -> float:
    return max(float(g.cycles[i]) for g, i in zip(groups, sel, strict=True))


def search(tables: list[dict[str, Any]], budget: dict[str, float], *, exact: bool = True,
           time_limit: float = autofit_exact.TIME_LIMIT_S) -> FoldingSearch:
    """Best folding for the option ``tables`` within ``budget``: the integer program's proved optimum, or the
    heuristic's answer when the solver is not asked for or does not prove one within ``time_limit``."""
    started = time.perf_counter()
    groups = _groups(tables)
    limit = np.array([budget.get(k, 1e18) for k in RES], dtype=float)  # missing: unlimited
    sel, method, note = None, "heuristic", "exact solve not asked for"
    if exact:
        solution = autofit_exact.solve([g.cycles for g in groups], [g.res for g in groups], limit, time_limit)
        if solution.status == "infeasible":
            raise FoldwiseError("even the slowest legal folding exceeds the resource budget")
        if solution.status == "optimal":
            sel, method, note = solution.selection, "optimal", f"proved optimal by CBC in {solution.seconds:.2f} s"
        else:
            heuristic = heuristic_selection(groups, limit)
            sel, note = heuristic, f"the solver did not finish in {time_limit:g} s; heuristic answer, not proved"
            if solution.selection is not None and _bottleneck(groups, solution.selection) < _bottleneck(groups, sel):
                sel, note = solution.selection, f"the solver's best after {time_limit:g} s, not proved optimal"
    if sel is None:
        sel = heuristic_selection(groups, limit)
    folding: dict[str, Any] = {"Defaults": {}}
    for g, i in zip(groups, sel, strict=True):
        for node, attrs in g.attrs[i].items():
            if attrs:
                folding[node] = dict(attrs)
    totals = dict(zip(RES, (float(v) for v in _totals(groups, sel)), strict=True))
    node_cycles = {n: int(c) for g, i in zip(groups, sel, strict=True) if g.node_cycles
                   for n, c in g.node_cycles[i].items()}
    return FoldingSearch(folding, _bottleneck(groups, sel), totals, method, note, time.perf_counter() - started,
                         node_cycles)


@dataclass
class AutofitResult:
    """Auto-fit's folding and FINN's estimate of it, the SetFolding baseline, and their FPS ratio."""

    budget: dict[str, float]
    folding: dict[str, Any]
    report: BuildReport
    baseline: BuildReport | None = None
    baseline_target_fps: int | None = None
    sweep: list[dict[str, Any]] = field(default_factory=list)
    search: FoldingSearch | None = None

    @property
    def fps(self) -> float:
        return self.report.fps.value if self.report.fps else 0.0

    @property
    def ratio(self) -> float | None:
        if self.baseline is None or not self.baseline.fps:
            return None
        return self.fps / self.baseline.fps.value

    def to_dict(self) -> dict[str, Any]:
        def side(rep: BuildReport | None) -> dict[str, Any] | None:
            if rep is None:
                return None
            return {"fps": rep.fps.to_dict() if rep.fps else None, "bottleneck": rep.bottleneck,
                    "resources": {k: f.to_dict() for k, f in rep.resources.items()},
                    "utilization_pct": rep.utilization_pct, "folding": rep.folding}

        return {"budget": self.budget, "autofit": side(self.report), "setfolding": side(self.baseline),
                "setfolding_target_fps": self.baseline_target_fps, "ratio": self.ratio, "sweep": self.sweep,
                "search": self.search.to_dict() if self.search else None}


def setfolding_baseline(
    model: str | Path, budget: dict[str, float], start_fps: float, *, board: str = DEFAULT_BOARD,
    clock_mhz: float = 100.0, worker: FinnWorker | None = None, ctx: JobContext | None = None,
) -> tuple[int | None, BuildReport | None, list[dict[str, Any]]]:
    """Best FINN SetFolding result within ``budget``: doubling targets from ``start_fps``, then 5 % steps."""
    ctx = ctx or null_context()
    sweep: list[dict[str, Any]] = []
    best: tuple[int | None, BuildReport | None] = (None, None)

    def run(targets: list[int], stop_after_over: int, sub: JobContext) -> list[tuple[int, BuildReport]]:
        nonlocal best
        out = build.setfolding_sweep(model, targets, board=board, clock_mhz=clock_mhz, budget=budget,
                                     stop_after_over=stop_after_over, worker=worker, ctx=sub)
        for target, rep in out:
            res = {k: f.value for k, f in rep.resources.items()}
            ok = fits(res, budget)
            fps = rep.fps.value if rep.fps else 0.0
            sweep.append({"target_fps": target, "fps": fps, **res, "fits": ok})
            if ok and (best[1] is None or fps > best[1].fps.value):  # type: ignore[union-attr]
                best = (target, rep)
        return out

    start = max(1, int(start_fps))
    coarse = run([start * 2**k for k in range(24)], 1, ctx.sub(0.0, 0.5))
    fitting = [t for (t, _), s in zip(coarse, sweep, strict=True) if s["fits"]]
    low = max(fitting) if fitting else start
    high = coarse[-1][0] if not sweep[-1]["fits"] else low * 2
    fine, t = [], low * 1.05
    while t < high:
        fine.append(int(t))
        t *= 1.05
    if fine:
        run(fine, 3, ctx.sub(0.5, 1.0))
    return best[0], best[1], sweep


def autofit(
    model: str | Path, *, board: str = DEFAULT_BOARD, clock_mhz: float = 100.0, budget_lut: float = 0.85,
    budget_bram: float = 0.85, budget_dsp: float = 1.0, budget_uram: float = 1.0, baseline: bool = True,
    worker: FinnWorker | None = None, ctx: JobContext | None = None, tables: list[dict[str, Any]] | None = None,
) -> AutofitResult:
    """Search the folding with the highest estimated FPS within the budget; optionally sweep SetFolding.
    ``tables``: the model's option tables (``build.option_tables``) when the caller has them already."""
    ctx = ctx or null_context()
    budget = make_budget(board, budget_lut, budget_bram, budget_dsp, budget_uram)
    if tables is None:
        tables = build.option_tables(model, board=board, clock_mhz=clock_mhz, worker=worker,
                                     ctx=ctx.sub(0.0, 0.45 if baseline else 0.85))
    ctx.progress(0.45 if baseline else 0.85, "searching the folding")
    limit = dict(budget)
    for _ in range(4):  # FINN's re-estimate is the judge: tighten if it disagrees with the table sums
        found = search(tables, limit)
        folding = found.folding
        report = build.reestimate(model, folding, board=board, clock_mhz=clock_mhz, worker=worker,
                                  ctx=ctx.sub(0.45, 0.5) if baseline else ctx.sub(0.85, 1.0))
        actual = {k: f.value for k, f in report.resources.items()}
        if fits(actual, budget):
            break
        limit = {k: limit[k] - max(0.0, actual.get(k, 0.0) - budget[k]) - 1 for k in limit}
    else:
        raise FoldwiseError("auto-fit could not find a folding FINN estimates within the budget")
    result = AutofitResult(budget=budget, folding=folding, report=report, search=found)
    if baseline:
        clock_ns = 1000.0 / clock_mhz
        slowest = max(max(o["cycles"] for o in t["options"]) for t in tables)
        target, rep, sweep = setfolding_baseline(
            model, budget, 1e9 / clock_ns / slowest, board=board, clock_mhz=clock_mhz, worker=worker,
            ctx=ctx.sub(0.5, 1.0))
        result.baseline, result.baseline_target_fps, result.sweep = rep, target, sweep
    return result
