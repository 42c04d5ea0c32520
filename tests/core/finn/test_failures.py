"""failures.explain: each known FINN failure is recognised from its log signature and explained."""

from __future__ import annotations

from pathlib import Path

import pytest

from foldwise.core.finn.failures import explain, layer_hint, model_layers, read_build_log, torch_layer


def kinds(text: str, **kw) -> list[str]:
    return [e.kind for e in explain(text, **kw)]


@pytest.mark.parametrize("line", [
    "ipgen.sh: line 3: vitis_hls: command not found",
    "finn.util.exception.FINNUserError: vitis_hls not found in PATH",
    "FileNotFoundError: [Errno 2] No such file or directory: 'vivado'",
    "Exception: Environment variable XILINX_VIVADO must be set",
    "a bitfile build for Pynq-Z2 needs vivado, vitis_hls, finn deps (finn-hlslib), not found on this machine",
])
def test_tools_missing(line: str) -> None:
    found = explain(f"Running step: step_hw_ipgen [12/19]\n{line}\n")
    assert [e.kind for e in found] == ["tools_missing"]
    assert found[0].line == 2 and found[0].evidence == line
    assert "2022.2" in found[0].fix and "finn deps update" in found[0].fix


def test_tool_name_is_reported() -> None:
    (e,) = explain("bash: vitis_hls: command not found")
    assert e.names == ["vitis_hls"] and "vitis_hls" in e.detail


def test_wrong_version_only_for_unsupported() -> None:
    log = "****** Vivado v2023.1 (64-bit)\n  **** SW Build 3865809 on Sun May  7 15:04:56 MDT 2023\n"
    (e,) = explain(log)
    assert e.kind == "wrong_version" and e.names == ["2023.1"] and "2022.2" in e.fix
    assert explain("****** Vivado v2022.2 (64-bit)\n") == []
    assert kinds("****** Vitis HLS - High-Level Synthesis from C, C++ and OpenCL v2021.1 (64-bit)") == [
        "wrong_version"]


def test_over_utilization_names_resource_and_amount() -> None:
    log = (
        "ERROR: [DRC UTLZ-1] Resource utilization: LUT as Logic over-utilized in Top Level Design (This design "
        "requires more LUT as Logic cells than are available in the target device. This design requires 61234 "
        "of such cell types but only 53200 compatible sites are available in the target device.)\n"
        "ERROR: [Place 30-640] Place Check : This design requires more Slice LUTs cells than are available\n"
    )
    (e,) = explain(log)
    assert e.kind == "over_utilization"
    assert "LUT as Logic" in e.title and "61,234" in e.detail and "53,200" in e.detail
    assert "Auto-fit" in e.fix


@pytest.mark.parametrize("line", ["MemoryError", "terminate called after throwing an instance of 'std::bad_alloc'",
                                  "Killed", "the FINN worker died (exit code -9) while running full_build",
                                  "ERROR: [Common 17-179] Fork failed: Cannot allocate memory"])
def test_out_of_memory(line: str) -> None:
    assert kinds(line) == ["out_of_memory"]


def test_cpu_nodes_name_the_users_layer() -> None:
    message = (
        "FINN cannot convert this model to hardware. Nodes left on the CPU: MatMul_1 (MatMul): float or "
        "non-integer weights/inputs: quantize the layer and its input (float input h); Transpose_0 "
        "(Transpose): layout change at the graph edge (NCHW->NHWC); FINN leaves it to the host"
    )
    layers = [("/features/features.0/Conv", "Conv"), ("/relu/Relu", "Relu"), ("/fc1/MatMul", "MatMul"),
              ("/fc2/MatMul", "MatMul")]
    (e,) = explain(message, layers=layers)
    assert e.kind == "cpu_nodes"
    assert e.names == ["MatMul_1", "Transpose_0"]
    assert "MatMul_1 (MatMul, probably your layer fc2)" in e.detail
    assert "Transpose_0 (Transpose)" in e.detail
    assert "Quantize" in e.fix


def test_layer_hints() -> None:
    assert torch_layer("/backbone/backbone.3/conv/Conv") == "conv"
    assert torch_layer("MatMul_0") is None
    layers = [("/c1/Conv", "Conv"), ("/c2/Conv", "Conv"), ("/fc/MatMul", "MatMul")]
    assert layer_hint("MatMul_0", "MatMul", layers) == "fc"
    assert layer_hint("MatMul_2", "MatMul", layers) == "fc"  # convs lowered to MatMul count too
    assert layer_hint("MatMul_7", "MatMul", layers) is None
    assert layer_hint("/head/fc/MatMul", "MatMul", None) == "fc"


def test_quant_not_converted_and_partition() -> None:
    log = ('WARNING: The Quant node with name: "Quant_3" was not converted to a MultiThreshold node\n'
           "AssertionError: Only a single StreamingDataflowPartition supported.\n")
    (e,) = explain(log)
    assert e.kind == "cpu_nodes" and e.names == ["Quant_3"] and e.line == 1


@pytest.mark.parametrize("line", [
    "ERROR: [Board 49-71] The board_part definition was not found for tul.com.tw:pynq-z2:part0:1.0.",
    "needs board files for Pynq-Z2",
])
def test_board_files(line: str) -> None:
    found = explain(line)
    assert [e.kind for e in found] == ["board_files"]
    assert "finn deps update" in found[0].fix


def test_timing_and_illegal_folding() -> None:
    assert kinds("CRITICAL WARNING: [Timing 38-282] The design failed to meet the timing requirements.") == [
        "timing"]
    (e,) = explain("InputError: illegal folding: MVAU_hls_0.PE=3 is not legal; legal values: 1, 2, 4")
    assert e.kind == "illegal_folding" and "PE=3" in e.detail


def test_several_failures_and_clean_log() -> None:
    log = "vivado: command not found\nKilled\n"
    assert kinds(log) == ["tools_missing", "out_of_memory"]
    clean = "Running step: step_qonnx_to_finn [1/19]\nRunning step: step_tidy_up [2/19]\nCompleted successfully\n"
    assert explain(clean) == []
    assert explain("") == []


def test_model_layers_and_read_build_log(tmp_path: Path) -> None:
    import onnx
    from onnx import TensorProto, helper

    graph = helper.make_graph(
        [helper.make_node("Relu", ["x"], ["y"], name="/act/Relu")], "g",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 4])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, 4])])
    onnx.save(helper.make_model(graph), tmp_path / "m.onnx")
    assert model_layers(tmp_path / "m.onnx") == [("/act/Relu", "Relu")]
    assert read_build_log(tmp_path) == ""
    (tmp_path / "build_dataflow.log").write_text("Killed\n")
    assert kinds(read_build_log(tmp_path)) == ["out_of_memory"]
