"""Combining FINN's option tables per (weight layer, bits): which group belongs to which layer, and refusals."""

from __future__ import annotations

import copy

import pytest

from foldwise.core.finn.bit_tables import LayerTables, TablesMismatch


def _group(nodes: list[str], options: list[tuple[int, int, float]]) -> dict:
    """A group as the worker's ``options`` gives it: (PE, SIMD, LUT) per option of its first node."""
    return {"nodes": nodes, "options": [
        {"attrs": {nodes[0]: {"PE": pe, "SIMD": simd}}, "cycles": 100 // (pe * simd), "res": {"LUT": lut},
         "node_cycles": {nodes[0]: 100 // (pe * simd)}} for pe, simd, lut in options]}


def _model(lut_a: float, lut_b: float) -> list[dict]:
    return [_group(["ConvolutionInputGenerator_rtl_0"], [(1, 1, 10.0)]),
            _group(["MVAU_hls_0"], [(1, 1, lut_a), (4, 9, 4 * lut_a)]),
            _group(["StreamingMaxPool_hls_0"], [(1, 1, 5.0)]),
            _group(["MVAU_hls_1"], [(1, 1, lut_b), (2, 16, 2 * lut_b)])]


SHAPES = {"conv": (4, 9), "fc": (2, 16)}


def test_a_candidate_takes_each_layers_table_at_its_own_bits() -> None:
    tables = LayerTables(_model(100.0, 50.0), {"conv": 4, "fc": 4}, SHAPES)
    assert tables.missing({"conv": 3, "fc": 4}) == {3}
    tables.add(_model(70.0, 30.0), {"conv": 3, "fc": 3})  # one model at 3 bits answers both layers
    assert tables.missing({"conv": 3, "fc": 3}) == set() and tables.models == 2
    mixed = tables.tables({"conv": 3, "fc": 4})
    assert mixed[1] == _model(70.0, 30.0)[1] and mixed[3] == _model(100.0, 50.0)[3]
    assert mixed[0] == _model(0, 0)[0] and mixed[2] == _model(0, 0)[2]  # the other nodes never change
    with pytest.raises(KeyError, match="conv at 2 bits"):
        tables.tables({"conv": 2})


def test_tables_that_cannot_be_combined_are_refused() -> None:
    with pytest.raises(TablesMismatch, match="2 weight node groups for 3"):
        LayerTables(_model(1, 1), {"a": 4, "b": 4, "c": 4})
    with pytest.raises(TablesMismatch, match="does not match layer conv"):
        LayerTables(_model(1, 1), {"conv": 4, "fc": 4}, {"conv": (8, 9), "fc": (2, 16)})
    tables = LayerTables(_model(100.0, 50.0), {"conv": 4, "fc": 4}, SHAPES)
    changed = _model(70.0, 30.0)
    changed[2]["options"][0]["res"]["LUT"] = 6.0  # a pool's estimate moved with the weight bits
    with pytest.raises(TablesMismatch, match="StreamingMaxPool_hls_0 changed"):
        tables.add(changed, {"conv": 3, "fc": 3})
    renamed = copy.deepcopy(_model(70.0, 30.0))
    renamed[0]["nodes"] = ["FMPadding_rtl_0"]
    with pytest.raises(TablesMismatch, match="other hardware nodes"):
        tables.add(renamed, {"conv": 3, "fc": 3})
