"""The exact folding optimum under FINN's per-node estimates, as a small integer program (CBC through ``mip``).

One binary per (node group, legal choice), one choice per group, summed LUT/BRAM/URAM/DSP within the budget;
minimise the largest per-group cycle count (FINN's FPS is set by the slowest node). A second solve at that
optimum picks the cheapest choice set (resources weighted by 1/limit), as the heuristic does among equals.
Choices dominated by another of the same group (no faster and no cheaper in every resource) are dropped
first: they can never be needed, and the program shrinks by about half.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import numpy as np

#: A solve that has not proved its optimum by then hands over to the heuristic (the Build panel waits on it).
TIME_LIMIT_S = 2.0


@dataclass
class ExactSolution:
    """The solver's choice per group (indices into each group's options), or None, and how it ended."""

    selection: list[int] | None
    status: str  # "optimal", "infeasible", or "timeout" (selection is the best found, or None)
    seconds: float


def _undominated(cycles: np.ndarray, res: np.ndarray) -> list[int]:
    order = np.lexsort((res.sum(axis=1), cycles))  # by cycles, then total resources
    ranked = res[order]
    # no_more[q, p]: choice q needs no more of any resource than p; q ahead of p is no slower, so p is dominated
    no_more = np.all(ranked[:, None, :] <= ranked[None, :, :], axis=2)
    dominated = np.any(np.triu(no_more, k=1), axis=0)
    return [int(i) for i in order[~dominated]]


def solve(cycles: list[np.ndarray], res: list[np.ndarray], limit: np.ndarray,
          time_limit: float = TIME_LIMIT_S) -> ExactSolution:
    """Minimise the largest cycle count over groups (``cycles[g][i]``, ``res[g][i, r]``) with summed ``res``
    within ``limit``; ties broken by the least weighted resources."""
    import mip  # installed with finn-plus; its CBC library loads in ~0.1 s, so only when a fit is asked for

    started = time.perf_counter()
    keep = [_undominated(c, r) for c, r in zip(cycles, res, strict=True)]
    weights = 1.0 / np.maximum(limit, 1e-3)
    finite = np.isfinite(limit)

    def program(ceiling: float | None) -> tuple[mip.Model, list[list[mip.Var]]]:
        model = mip.Model(sense=mip.MINIMIZE, solver_name=mip.CBC)
        model.verbose = 0
        model.threads = 1
        xs = []
        for g, idx in enumerate(keep):
            allowed = [i for i in idx if ceiling is None or cycles[g][i] <= ceiling]
            xs.append([(i, model.add_var(var_type=mip.BINARY)) for i in allowed])
            model += mip.xsum(v for _, v in xs[-1]) == 1
        for r in np.flatnonzero(finite):
            model += mip.xsum(float(res[g][i, r]) * v for g, row in enumerate(xs) for i, v in row) <= float(limit[r])
        return model, xs

    def picked(xs: list[list[tuple[int, mip.Var]]]) -> list[int]:
        return [max(row, key=lambda iv: iv[1].x)[0] for row in xs]

    model, xs = program(None)
    bottleneck = model.add_var(lb=0.0)
    for g, row in enumerate(xs):
        model += bottleneck >= mip.xsum(float(cycles[g][i]) * v for i, v in row)
    model.objective = bottleneck
    status = model.optimize(max_seconds=time_limit)
    if status == mip.OptimizationStatus.INFEASIBLE:
        return ExactSolution(None, "infeasible", time.perf_counter() - started)
    if status != mip.OptimizationStatus.OPTIMAL:
        found = picked(xs) if status == mip.OptimizationStatus.FEASIBLE else None
        return ExactSolution(found, "timeout", time.perf_counter() - started)
    first = picked(xs)
    ceiling = max(float(cycles[g][i]) for g, i in enumerate(first))

    model, xs = program(ceiling)
    model.objective = mip.xsum(float(res[g][i][finite] @ weights[finite]) * v
                               for g, row in enumerate(xs) for i, v in row)
    left = max(0.1, time_limit - (time.perf_counter() - started))
    status = model.optimize(max_seconds=left)
    cheapest = picked(xs) if status in (mip.OptimizationStatus.OPTIMAL, mip.OptimizationStatus.FEASIBLE) else first
    return ExactSolution(cheapest, "optimal", time.perf_counter() - started)
