"""Auto-fit: the search over FINN's per-node options, and the comparison with FINN's SetFolding."""

from __future__ import annotations

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
    folding, cycles, totals = search(tables, budget)
    assert cycles == 40 and folding["a"] == {"PE": 4} and folding["b"] == {"PE": 2}
    assert totals["LUT"] == 54
    folding, cycles, _ = search(tables, {**budget, "LUT": 29})  # a@50 (20) + b@40 (9)
    assert cycles == 50 and folding == {"Defaults": {}, "a": {"PE": 2}, "b": {"PE": 2}}
    folding, cycles, _ = search(tables, {**budget, "LUT": 25})  # a@50 (20) + b@80 (5)
    assert cycles == 80 and folding == {"Defaults": {}, "a": {"PE": 2}, "b": {"PE": 1}}


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

