"""build: re-estimate equals a full estimate build; models FINN cannot take; full builds without Vivado."""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np
import pytest

from foldwise.core.errors import InputError, ToolMissingError
from foldwise.core.finn import build
from foldwise.core.finn.tools import what_is_missing
from tests.preconditions import NO_XILINX

# FINN's own fold_tfc from tests/end2end (PE, SIMD, ram_style per MVAU), plus the input side
TFC_FOLDING = {
    "Defaults": {},
    "Reshape_rtl_0": {"PE": 28},
    "Thresholding_rtl_0": {"PE": 49},
    "MVAU_hls_0": {"PE": 16, "SIMD": 49, "ram_style": "block"},
    "MVAU_hls_1": {"PE": 8, "SIMD": 8, "ram_style": "auto"},
    "MVAU_hls_2": {"PE": 8, "SIMD": 8, "ram_style": "auto"},
    "MVAU_hls_3": {"PE": 10, "SIMD": 8, "ram_style": "distributed"},
    "LabelSelect_hls_0": {"PE": 2},
}


def test_reestimate_matches_estimate_build(finn_worker, tfc_model, tmp_path) -> None:
    full = build.estimate(tfc_model, folding=TFC_FOLDING, build_dir=tmp_path / "full", worker=finn_worker)
    started = time.monotonic()
    quick = build.reestimate(tfc_model, TFC_FOLDING, worker=finn_worker)
    warm_s = time.monotonic() - started
    assert quick.node_cycles == full.node_cycles
    assert quick.node_resources == full.node_resources
    assert quick.fps.value == pytest.approx(full.fps.value) and quick.fps.source == "estimated"
    assert quick.latency_ns.value == pytest.approx(full.latency_ns.value)
    assert quick.bottleneck == full.bottleneck
    assert {k: f.value for k, f in quick.resources.items()} == {k: f.value for k, f in full.resources.items()}
    assert quick.folding["MVAU_hls_0"]["PE"] == 16
    assert full.folding["MVAU_hls_0"]["SIMD"] == 49  # applied_folding_config.json read back
    assert (tmp_path / "full" / "folding_config.json").is_file()
    assert warm_s < 10  # goal 2 s; loose here, the machine is shared


def test_full_build_without_vivado_explains_and_offers_estimate(tfc_model) -> None:
    assert not what_is_missing("Pynq-Z2")["outputs"]["bitfile"]["available"], NO_XILINX
    with pytest.raises(ToolMissingError, match=r"needs .*vivado.*foldwise estimate"):
        build.full_build(tfc_model, board="Pynq-Z2")


def test_model_finn_cannot_convert_lists_cpu_nodes(finn_worker, tmp_path: Path) -> None:
    import onnx
    from onnx import TensorProto, helper, numpy_helper

    w1 = numpy_helper.from_array(np.random.rand(16, 8).astype(np.float32), "w1")
    w2 = numpy_helper.from_array(np.random.rand(8, 4).astype(np.float32), "w2")
    graph = helper.make_graph(
        [helper.make_node("MatMul", ["x", "w1"], ["h"], name="MatMul_0"),
         helper.make_node("Relu", ["h"], ["r"], name="Relu_0"),
         helper.make_node("MatMul", ["r", "w2"], ["y"], name="MatMul_1")],
        "float_mlp",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 16])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, 4])],
        [w1, w2],
    )
    path = tmp_path / "float_mlp.onnx"
    onnx.save(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)]), path)
    with pytest.raises(InputError, match=r"cannot convert this model to hardware.*MatMul_0 \(MatMul\)"):
        build.estimate(path, build_dir=tmp_path / "b", worker=finn_worker)
    assert (tmp_path / "b" / "build_dataflow.log").is_file()  # FINN's log is kept
    with pytest.raises(InputError, match="Nodes left on the CPU"):
        build.hw_nodes(path, worker=finn_worker)
    assert finn_worker.request("info")["finn_version"]  # the worker survived


def test_hls_codegen_keeps_generated_code_in_the_build_dir(finn_worker, tfc_model, tmp_path) -> None:
    result = build.hls_codegen(tfc_model, target_fps=100_000, build_dir=tmp_path / "cg", worker=finn_worker)
    tops = sorted(p.name for p in Path(result["codegen_dir"]).glob("code_gen_ipgen_MVAU_hls_*/top_*.cpp"))
    assert tops == [f"top_MVAU_hls_{i}.cpp" for i in range(4)]
    assert result["report"].fps.source == "estimated"


def test_external_weights_leave_the_fabric_and_their_dram_stream_is_counted(finn_worker, tfc_model, tmp_path) -> None:
    """#16: with mem_mode external FINN counts no weight memory for a layer; Foldwise adds the stream it reads
    from DRAM every frame (TFC-w1a1's 64×64 and 64×10 binary matrices: 512 and 80 bytes), in the re-estimate and
    in an estimate build alike, and the CLI reports it against the Z2's DRAM."""
    from foldwise.verbs.estimate import format_text

    folding = {**TFC_FOLDING, "MVAU_hls_1": {**TFC_FOLDING["MVAU_hls_1"], "mem_mode": "external"},
               "MVAU_hls_3": {**TFC_FOLDING["MVAU_hls_3"], "mem_mode": "external"}}
    inside = build.reestimate(tfc_model, TFC_FOLDING, worker=finn_worker)
    quick = build.reestimate(tfc_model, folding, worker=finn_worker)
    assert inside.external_weights == {} and inside.dram_weights is None
    assert quick.external_weights == {"MVAU_hls_1": 512, "MVAU_hls_3": 80}
    assert inside.node_resources["MVAU_hls_0"]["BRAM_18K"] > 0  # block RAM for its weights, inside
    ext0 = build.reestimate(tfc_model, {**folding, "MVAU_hls_0": {**TFC_FOLDING["MVAU_hls_0"], "mem_mode": "external"}},
                            worker=finn_worker)
    assert ext0.node_resources["MVAU_hls_0"]["BRAM_18K"] == 0 and ext0.external_weights["MVAU_hls_0"] == 784 * 64 // 8
    assert quick.dram_weights.value == pytest.approx(592 * quick.fps.value / 1e6)
    assert quick.utilization_pct["DRAM"] == pytest.approx(100 * quick.dram_weights.value / 2100)

    full = build.estimate(tfc_model, folding=folding, build_dir=tmp_path / "ext", worker=finn_worker)
    assert full.external_weights == quick.external_weights
    assert full.dram_weights.value == pytest.approx(quick.dram_weights.value)
    text = format_text(full)
    assert "MB/s of weights streamed in (2 layers with mem_mode external)" in text and "Pynq-Z2's peak" in text
