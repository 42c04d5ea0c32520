"""Folding configs: FINN's format, legal values from the worker, rejection before anything runs."""

from __future__ import annotations

import json

import pytest

from foldwise.core.errors import InputError
from foldwise.core.finn import build
from foldwise.core.finn.folding import (
    FoldingConfig,
    apply_ties,
    check_against,
    current_folding,
    load_folding,
    save_folding,
)

NODES = [
    {"name": "MVAU_hls_0", "op_type": "MVAU_hls", "attrs": {"PE": 1, "SIMD": 1, "ram_style": "auto"},
     "legal": {"PE": [1, 2, 4], "SIMD": [1, 3, 9], "ram_style": ["auto", "block", "distributed"]},
     "other_attrs": ["runtime_writeable_weights"], "tied_to": None},
    {"name": "ConvolutionInputGenerator_rtl_2", "op_type": "ConvolutionInputGenerator_rtl",
     "attrs": {"SIMD": 2}, "legal": {"SIMD": [1, 2, 4]}, "other_attrs": [],
     "tied_to": {"node": "Pool_hls_0", "attr": "PE"}},
    {"name": "Pool_hls_0", "op_type": "Pool_hls", "attrs": {"PE": 2}, "legal": {"PE": [1, 2, 4]},
     "other_attrs": [], "tied_to": None},
]


def test_round_trip_in_finn_format(tmp_path) -> None:
    cfg = FoldingConfig.from_dict({"Defaults": {}, "MVAU_hls_0": {"PE": 2, "SIMD": 3}})
    path = save_folding(cfg, tmp_path / "f.json")
    assert json.loads(path.read_text()) == {"Defaults": {}, "MVAU_hls_0": {"PE": 2, "SIMD": 3}}
    assert load_folding(path).nodes == {"MVAU_hls_0": {"PE": 2, "SIMD": 3}}


@pytest.mark.parametrize("text", ["{not json", "[1, 2]", '{"MVAU_hls_0": 4}'])
def test_malformed_files_are_input_errors(tmp_path, text) -> None:
    (tmp_path / "f.json").write_text(text)
    with pytest.raises(InputError):
        load_folding(tmp_path / "f.json")
    with pytest.raises(InputError, match="not found"):
        load_folding(tmp_path / "missing.json")


def test_check_lists_legal_values_and_unknowns() -> None:
    check_against({"MVAU_hls_0": {"PE": 4, "SIMD": 9, "runtime_writeable_weights": 0}}, NODES)
    with pytest.raises(InputError, match=r"MVAU_hls_0\.PE=3 is not legal; legal values: 1, 2, 4"):
        check_against({"MVAU_hls_0": {"PE": 3}}, NODES)
    with pytest.raises(InputError, match="no hardware node 'MVAU_hls_9'"):
        check_against({"MVAU_hls_9": {"PE": 1}}, NODES)
    with pytest.raises(InputError, match="has no attribute 'Bogus'"):
        check_against({"MVAU_hls_0": {"Bogus": 1}}, NODES)


def test_tied_sliding_window_must_follow_its_pool() -> None:
    with pytest.raises(InputError, match=r"SIMD \(2\) must equal Pool_hls_0\.PE \(4\)"):
        check_against({"Pool_hls_0": {"PE": 4}}, NODES)
    fixed = apply_ties(FoldingConfig.from_dict({"Pool_hls_0": {"PE": 4}}), NODES)
    check_against(fixed, NODES)
    assert fixed.nodes["ConvolutionInputGenerator_rtl_2"] == {"SIMD": 4}
    assert current_folding(NODES).nodes["Pool_hls_0"] == {"PE": 2}


def test_hw_nodes_legal_values_follow_finn_rules(finn_worker, tfc_model) -> None:
    nodes = build.hw_nodes(tfc_model, worker=finn_worker)
    by_name = {n["name"]: n for n in nodes.nodes}
    mvau = by_name["MVAU_hls_0"]
    assert mvau["op_type"] == "MVAU_hls"
    assert mvau["legal"]["PE"] == [1, 2, 4, 8, 16, 32, 64]  # divisors of MH = 64
    assert mvau["legal"]["SIMD"] == [d for d in range(1, 785) if 784 % d == 0]  # divisors of MW = 784
    assert set(mvau["legal"]["ram_style"]) == {"auto", "block", "distributed"}  # no URAM on a Z2
    assert "lut" in mvau["legal"]["resType"] and "internal_decoupled" in mvau["legal"]["mem_mode"]
    assert by_name["LabelSelect_hls_0"]["legal"]["PE"] == [1, 2, 5, 10]
    # FINN's Reshape asserts PE divides both its 28-wide input and 784-wide output
    assert by_name["Reshape_rtl_0"]["legal"]["PE"] == [1, 2, 4, 7, 14, 28]
    assert all(n["cycles"] > 0 for n in nodes.nodes)
    assert nodes.cpu_nodes == []


def test_illegal_folding_is_rejected_before_the_build(finn_worker, tfc_model, tmp_path) -> None:
    nodes = build.hw_nodes(tfc_model, worker=finn_worker)  # warms the worker's cache
    bad = {"Defaults": {}, "MVAU_hls_0": {"PE": 3, "SIMD": 49}}
    with pytest.raises(InputError, match=r"MVAU_hls_0\.PE=3 is not legal; legal values: 1, 2, 4, 8, 16, 32, 64"):
        build.validate_folding(bad, nodes)
    with pytest.raises(InputError, match="legal values: 1, 2, 4, 8, 16, 32, 64"):
        build.estimate(tfc_model, folding=bad, build_dir=tmp_path / "b", worker=finn_worker)
    assert not (tmp_path / "b" / "build_dataflow.log").exists()  # FINN never started
    with pytest.raises(InputError, match="legal values"):
        build.reestimate(tfc_model, bad, worker=finn_worker)
    with pytest.raises(InputError, match=r"Reshape_rtl_0\.PE=49"):
        build.reestimate(tfc_model, {"Reshape_rtl_0": {"PE": 49}}, worker=finn_worker)
