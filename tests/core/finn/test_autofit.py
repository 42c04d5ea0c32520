"""Auto-fit: the search over FINN's per-node options, and the comparison with FINN's SetFolding."""

from __future__ import annotations

import itertools

import numpy as np
import pytest

from foldwise.core.errors import FoldwiseError, InputError
from foldwise.core.finn.autofit import autofit, make_budget, search


def test_search_picks_cheapest_choice_under_the_ceiling() -> None:
    def opt(node: str, pe: int, cycles: int, lut: float, bram: float = 0) -> dict:
        return {"attrs": {node: {"PE": pe}}, "cycles": cycles, "res": {"LUT": lut, "BRAM_18K": bram}}

    tables = [
        {"nodes": ["a"], "options": [opt("a", 1, 100, 10), opt("a", 2, 50, 20), opt("a", 4, 25, 45)]},
        {"nodes": ["b"], "options": [opt("b", 1, 80, 5), opt("b", 2, 40, 9), opt("b", 4, 20, 30, 2)]},
    ]
    budget = {"LUT": 60, "BRAM_18K": 10, "URAM": 0, "DSP": 0}
    for exact in (True, False):
        found = search(tables, budget, exact=exact)
        assert found.cycles == 40 and found.folding["a"] == {"PE": 4} and found.folding["b"] == {"PE": 2}
        assert found.totals["LUT"] == 54
        found = search(tables, {**budget, "LUT": 29}, exact=exact)  # a@50 (20) + b@40 (9)
        assert found.cycles == 50 and found.folding == {"Defaults": {}, "a": {"PE": 2}, "b": {"PE": 2}}
        found = search(tables, {**budget, "LUT": 25}, exact=exact)  # a@50 (20) + b@80 (5)
        assert found.cycles == 80 and found.folding == {"Defaults": {}, "a": {"PE": 2}, "b": {"PE": 1}}
        assert found.method == ("optimal" if exact else "heuristic")


def _random_tables(rng: np.random.Generator, groups: int, options: int) -> list[dict]:
    tables = []
    for g in range(groups):
        pes = sorted(rng.choice(np.arange(1, 64), size=options, replace=False))
        base = rng.uniform(1e3, 1e5)
        opts = [{"attrs": {f"n{g}": {"PE": int(pe)}}, "cycles": float(int(base / pe)),
                 "res": {"LUT": float(pe * rng.uniform(20, 200)), "BRAM_18K": float(rng.integers(0, 3) + pe // 16),
                         "DSP": float(rng.integers(0, 2) * pe // 8)}} for pe in pes]
        tables.append({"nodes": [f"n{g}"], "options": opts})
    return tables


def test_the_exact_solve_equals_brute_force_and_is_never_worse_than_the_heuristic() -> None:
    """On random option tables small enough to enumerate, the integer program's bottleneck equals the brute-force
    optimum and is never above the heuristic's; its resources stay within the budget."""
    rng = np.random.default_rng(7)
    for _ in range(25):
        tables = _random_tables(rng, groups=4, options=5)
        budget = {"LUT": float(rng.uniform(800, 4000)), "BRAM_18K": 12.0, "URAM": 0.0, "DSP": 10.0}
        combos = itertools.product(*[t["options"] for t in tables])
        fitting = [max(o["cycles"] for o in c) for c in combos
                   if all(sum(o["res"].get(k, 0.0) for o in c) <= v for k, v in budget.items())]
        if not fitting:
            with pytest.raises(FoldwiseError, match="exceeds the resource budget"):
                search(tables, budget)
            continue
        exact, heuristic = search(tables, budget), search(tables, budget, exact=False)
        assert exact.method == "optimal" and exact.cycles == min(fitting)
        assert all(exact.totals[k] <= v + 1e-6 for k, v in budget.items())
        assert exact.cycles <= heuristic.cycles


def test_a_solver_that_runs_out_of_time_falls_back_to_the_heuristic_and_says_so() -> None:
    tables = _random_tables(np.random.default_rng(3), groups=40, options=40)
    budget = {"LUT": 60000.0, "BRAM_18K": 200.0, "URAM": 0.0, "DSP": 100.0}
    found = search(tables, budget, time_limit=1e-4)
    assert found.method == "heuristic" and "not proved" in found.note
    assert all(found.totals[k] <= v + 1e-6 for k, v in budget.items())


@pytest.mark.slow
def test_autofit_tfc_beats_or_matches_setfolding_within_budget(finn_worker, tfc_model) -> None:
    result = autofit(tfc_model, budget_lut=0.05, budget_bram=0.1, worker=finn_worker)
    budget = make_budget("Pynq-Z2", 0.05, 0.1)
    assert result.budget == budget
    assert all(result.report.resources[k].value <= v for k, v in budget.items())
    assert result.baseline is not None
    assert all(result.baseline.resources[k].value <= v for k, v in budget.items())
    assert result.ratio is not None and result.ratio >= 1.0
    assert any(not s["fits"] for s in result.sweep)  # the sweep went past the budget


def test_search_rejects_what_cannot_fit_and_bad_budgets() -> None:
    tables = [{"nodes": ["a"], "options": [{"attrs": {"a": {"PE": 1}}, "cycles": 10, "res": {"LUT": 100}}]}]
    with pytest.raises(FoldwiseError, match="exceeds the resource budget"):
        search(tables, {"LUT": 50})
    with pytest.raises(InputError, match="LUT budget"):
        make_budget("Pynq-Z2", lut=1.5)
    assert make_budget("Pynq-Z2") == {"LUT": 0.85 * 53200, "BRAM_18K": 0.85 * 280, "URAM": 0.0, "DSP": 220.0}

