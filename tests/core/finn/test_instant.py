"""Instant figures for a folding edit, from the option tables: equal to FINN's re-estimate, or none at all."""

from __future__ import annotations

import pytest

from foldwise.core.errors import InputError
from foldwise.core.finn import build
from foldwise.core.finn.instant import InstantTables


def _option(node: str, pe: int, cycles: int, lut: float) -> dict:
    return {"attrs": {node: {"PE": pe, "ram_style": "auto"}}, "cycles": cycles, "res": {"LUT": lut},
            "node_cycles": {node: cycles}}


TABLES = [{"nodes": ["a"], "options": [_option("a", 1, 100, 10), _option("a", 2, 50, 20)]},
          {"nodes": ["b"], "options": [_option("b", 1, 80, 5), _option("b", 4, 20, 30)]}]
DEFAULTS = {"a": {"PE": 1, "ram_style": "auto", "mem_mode": "internal_decoupled"},
            "b": {"PE": 1, "ram_style": "auto", "mem_mode": "internal_decoupled"}}


def test_a_tabulated_folding_gets_fps_bottleneck_and_summed_resources() -> None:
    tables = InstantTables(TABLES, DEFAULTS)
    figures = tables.figures({"Defaults": {}, "a": {"PE": 2}, "b": {"PE": 4, "runtime_writeable_weights": 0}}, 100.0)
    assert figures is not None
    assert figures.max_cycles == 50 and figures.bottleneck == "a" and figures.fps == pytest.approx(2e6)
    assert figures.resources["LUT"] == 50 and figures.node_cycles == {"a": 50, "b": 20}
    assert tables.figures({"Defaults": {}}, 100.0).max_cycles == 100  # every node at its own value


def test_an_untabulated_value_or_setting_has_no_instant_figures() -> None:
    tables = InstantTables(TABLES, DEFAULTS)
    assert tables.figures({"a": {"PE": 3}}, 100.0) is None  # not a legal choice
    assert tables.figures({"a": {"mem_mode": "external"}}, 100.0) is None  # the options were not probed so
    assert tables.figures({"b": {"ram_style": "block"}}, 100.0) is None


@pytest.mark.slow
def test_instant_figures_equal_finns_reestimate_on_tfc(finn_worker, tfc_model) -> None:
    nodes = {n["name"]: n for n in build.hw_nodes(tfc_model, worker=finn_worker).nodes}
    tables = InstantTables(build.option_tables(tfc_model, worker=finn_worker),
                           {name: node["attrs"] for name, node in nodes.items()})
    mvaus = [name for name, node in nodes.items() if len(node["legal"].get("PE", [])) > 2]
    checked = 0
    for name in mvaus[:3]:
        for pe in nodes[name]["legal"]["PE"][-2:]:
            folding = {"Defaults": {}, name: {"PE": pe}}
            figures = tables.figures(folding, 100.0)
            try:
                finn = build.reestimate(tfc_model, folding, worker=finn_worker)
            except InputError:
                assert figures is None
                continue
            assert figures is not None
            assert figures.fps == pytest.approx(finn.fps.value) and figures.bottleneck == finn.bottleneck
            assert figures.resources == pytest.approx({k: f.value for k, f in finn.resources.items()})
            checked += 1
    assert checked >= 3
