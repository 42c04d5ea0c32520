"""Report parsing: labels, totals, % of board, simulated/synthesized figures preferred when present."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from foldwise.core.errors import FoldwiseError
from foldwise.core.finn.reports import read_build_reports


def _write(build: Path, name: str, data: object) -> None:
    (build / "report").mkdir(parents=True, exist_ok=True)
    (build / "report" / name).write_text(json.dumps(data))


@pytest.fixture
def estimate_dir(tmp_path: Path) -> Path:
    _write(tmp_path, "estimate_network_performance.json", {
        "critical_path_cycles": 4138, "max_cycles": 896, "max_cycles_node_name": "MVAU_hls_0",
        "estimated_throughput_fps": 111607.14285714286, "estimated_latency_ns": 41380.0})
    _write(tmp_path, "estimate_layer_cycles.json", {"MVAU_hls_0": 896, "MVAU_hls_1": 512})
    _write(tmp_path, "estimate_layer_resources.json", {
        "MVAU_hls_0": {"BRAM_18K": 4, "BRAM_efficiency": 0.68, "LUT": 687, "URAM": 0, "URAM_efficiency": 1, "DSP": 0},
        "MVAU_hls_1": {"BRAM_18K": 1, "BRAM_efficiency": 0.2, "LUT": 358, "URAM": 0, "URAM_efficiency": 1, "DSP": 2},
        "total": {"BRAM_18K": 5, "LUT": 1045, "URAM": 0, "DSP": 2}})
    _write(tmp_path, "auto_folding_config.json", {"Defaults": {}, "MVAU_hls_0": {"PE": 2, "SIMD": 28}})
    _write(tmp_path, "time_per_step.json", {"step_streamline": 2, "total_build_time": 2})
    return tmp_path


def test_estimates_are_labelled_and_summed(estimate_dir: Path) -> None:
    rep = read_build_reports(estimate_dir, board="Pynq-Z2", clock_ns=10.0)
    assert rep.fps.value == pytest.approx(111607.142857) and rep.fps.source == "estimated"
    assert rep.latency_ns.value == 41380.0 and rep.latency_ns.source == "estimated"
    assert rep.bottleneck == "MVAU_hls_0" and rep.max_cycles == 896
    assert rep.node_cycles == {"MVAU_hls_0": 896, "MVAU_hls_1": 512}
    assert {k: f.value for k, f in rep.resources.items()} == {"LUT": 1045, "BRAM_18K": 5, "URAM": 0, "DSP": 2}
    assert all(f.source == "estimated" for f in rep.resources.values())
    assert rep.utilization_pct["LUT"] == pytest.approx(100 * 1045 / 53200)
    assert rep.utilization_pct["BRAM_18K"] == pytest.approx(100 * 5 / 280)
    assert rep.folding["MVAU_hls_0"]["SIMD"] == 28
    assert rep.time_per_step["total_build_time"] == 2
    out = rep.to_dict()
    json.dumps(out)
    assert out["fps"]["source"] == "estimated" and out["resources"]["LUT"]["source"] == "estimated"


def test_rtlsim_and_post_synth_take_over_with_their_labels(estimate_dir: Path) -> None:
    _write(estimate_dir, "rtlsim_performance.json", [{"samples": 10, "intervals": [1000], "throughput_fps": 99000.0}])
    _write(estimate_dir, "post_synth_resources.json", {
        "(top)": {"LUT": 3000, "FF": 4000, "BRAM_36K": 2, "BRAM_18K": 1, "DSP": 0},
        "MVAU_hls_0": {"LUT": 800, "FF": 900, "BRAM_36K": 1, "BRAM_18K": 0, "DSP": 0}})
    rep = read_build_reports(estimate_dir, board="Pynq-Z2")
    assert rep.fps.value == 99000.0 and rep.fps.source == "simulated"
    assert rep.fps_estimated.source == "estimated"
    assert rep.resources["LUT"].value == 3000 and rep.resources["LUT"].source == "synthesized"
    assert rep.resources["BRAM_18K"].value == 5  # 2 x 36K + 1 x 18K, counted in 18K halves
    assert rep.resources["FF"].value == 4000
    assert rep.utilization_pct["FF"] == pytest.approx(100 * 4000 / 106400)
    assert rep.resources_estimated["LUT"].value == 1045


def test_missing_estimate_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(FoldwiseError, match=r"estimate_network_performance\.json is missing"):
        read_build_reports(tmp_path)


def test_weights_streamed_from_dram_are_read_back_and_counted_against_the_boards_peak(estimate_dir: Path) -> None:
    """#16: layers with mem_mode external stream their weights in every frame; their MB/s at the estimated FPS
    is the report's DRAM figure, against the Z2's 2,100 MB/s (16-bit DDR3 at 1,050 Mb/s)."""
    assert read_build_reports(estimate_dir, board="Pynq-Z2").dram_weights is None  # no such layer
    _write(estimate_dir, "foldwise_external_weights.json", {"MVAU_hls_1": 512})
    rep = read_build_reports(estimate_dir, board="Pynq-Z2", clock_ns=10.0)
    assert rep.external_weights == {"MVAU_hls_1": 512}
    assert rep.dram_weights.value == pytest.approx(512 * 111607.142857 / 1e6) and rep.dram_weights.unit == "MB/s"
    assert rep.dram_weights.source == "estimated"
    assert rep.utilization_pct["DRAM"] == pytest.approx(100 * rep.dram_weights.value / 2100)
    assert rep.to_dict()["dram_weights"]["value"] == pytest.approx(rep.dram_weights.value)
