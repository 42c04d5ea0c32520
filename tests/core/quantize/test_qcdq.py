"""Brevitas's QCDQ export run by ONNX Runtime gives the Brevitas network's classes and scores.

DefectNet (the trained defect project) at W8A8, W4A4 and mixed per-layer widths from 2 to 8 bits, and LeNet5,
each on its own test images. The only difference left is the order of float summation: a value on a rounding
boundary can land one step apart, so scores may differ by one step of the output quantizer, never more.
"""

from __future__ import annotations

from pathlib import Path

import onnx
import pytest

from foldwise.core.errors import InputError
from foldwise.core.iterations import load_network, load_splits
from foldwise.core.project import Project
from foldwise.core.quantize import QuantConfig, quantize_network
from foldwise.core.quantize.config import LayerOverride
from foldwise.core.quantize.export import check_qcdq, export_qcdq_file

MIXED = {"features.conv1": LayerOverride(weight_bits=8, act_bits=8),
         "features.conv3": LayerOverride(weight_bits=3, act_bits=3),
         "features.relu5": LayerOverride(act_bits=2),
         "classifier.fc1": LayerOverride(weight_bits=2, act_bits=7),
         "classifier.fc3": LayerOverride(weight_bits=5, act_bits=6)}
SETTINGS = {"w8a8": QuantConfig(calib_images=64),
            "w4a4": QuantConfig(weight_bits=4, act_bits=4, calib_images=64),
            "mixed": QuantConfig(weight_bits=6, act_bits=5, calib_images=64, layers=MIXED)}


def output_step(network) -> float:
    """The scale of the last activation quantizer: one step of the scores."""
    return float(network.model.get_submodule(network.act_sites[-1].module).act_quant.scale().detach())


def assert_agrees(network, path: Path, images, labels) -> None:
    result = check_qcdq(network, path, images, labels)
    assert result["top1_agreement"] >= 0.99, result
    assert result["max_abs_diff"] <= output_step(network) * 1.0001, result
    assert result["accuracy_onnx"] == pytest.approx(result["accuracy_torch"], abs=0.01), result


@pytest.mark.parametrize("setting", list(SETTINGS))
def test_defectnet_in_onnxruntime_agrees_with_brevitas(defect_project: Path, tmp_path: Path, setting: str) -> None:
    with Project.open(defect_project, read_only=True) as project:
        trained = load_network(project, project.get("0001"))
        splits = load_splits(project, spec=trained.spec)
    network = quantize_network(trained.model, splits.train.images, SETTINGS[setting], spec=trained.spec,
                               collect_stats=False).network
    path = export_qcdq_file(network, tmp_path / f"defectnet-{setting}.qcdq.onnx")
    assert len(splits.test.images) >= 40
    assert_agrees(network, path, splits.test.images, splits.test.labels)
    graph = onnx.load(str(path)).graph
    assert [i.name for i in graph.input] == ["pixels"]  # parameters are constants, not overridable inputs
    assert {"QuantizeLinear", "DequantizeLinear"} <= {n.op_type for n in graph.node}


def test_mixed_widths_below_8_bits_are_clipped(defect_project: Path, tmp_path: Path) -> None:
    from onnx import numpy_helper

    with Project.open(defect_project, read_only=True) as project:
        trained = load_network(project, project.get("0001"))
        splits = load_splits(project, spec=trained.spec)
    network = quantize_network(trained.model, splits.train.images[:64], SETTINGS["mixed"], spec=trained.spec,
                               collect_stats=False).network
    graph = onnx.load(str(export_qcdq_file(network, tmp_path / "mixed.qcdq.onnx"))).graph
    values = {i.name: numpy_helper.to_array(i) for i in graph.initializer}
    bounds = {(int(values[n.input[1]]), int(values[n.input[2]])) for n in graph.node if n.op_type == "Clip"
              and n.input[1] in values and values[n.input[1]].dtype.itemsize == 1}
    # 2-bit fc1 weights (narrow range), 3-bit conv3 weights, 2- and 3-bit unsigned activations
    assert {(-1, 1), (-3, 3), (0, 3), (0, 7)} <= bounds


def test_lenet_in_onnxruntime_agrees_with_brevitas(lenet, w8a8, digits, tmp_path: Path) -> None:
    w4a4 = quantize_network(lenet, digits["train_x"], QuantConfig(weight_bits=4, act_bits=4, calib_images=128),
                            collect_stats=False).network
    for name, network in (("w8a8", w8a8.network), ("w4a4", w4a4)):
        path = export_qcdq_file(network, tmp_path / f"lenet-{name}.qcdq.onnx")
        assert_agrees(network, path, digits["test_x"], digits["test_y"])


def test_one_bit_quantizers_are_refused_with_a_reason(lenet, digits, tmp_path: Path) -> None:
    config = QuantConfig(calib_images=16, layers={"features.conv2": LayerOverride(weight_bits=1)})
    network = quantize_network(lenet, digits["train_x"], config, collect_stats=False).network
    with pytest.raises(InputError, match=r"1-bit quantization \(features\.conv2\).*QONNX"):
        export_qcdq_file(network, tmp_path / "bipolar.qcdq.onnx")
    assert not (tmp_path / "bipolar.qcdq.onnx").exists()
