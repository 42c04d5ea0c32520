from __future__ import annotations

import numpy as np
import onnx
import pytest
from onnx import numpy_helper

from foldwise.core.errors import InputError
from foldwise.core.quantize.export import check_qcdq, check_qonnx, export_qcdq_file, export_qonnx_file
from tests.core.quantize.conftest import assert_faithful


@pytest.fixture(scope="module")
def qonnx_file(w8a8, tmp_path_factory):
    return export_qonnx_file(w8a8.network, tmp_path_factory.mktemp("qonnx") / "model.qonnx.onnx")


def test_qonnx_is_bit_exact_with_torch(w8a8, qonnx_file, digits):
    result = check_qonnx(w8a8.network, qonnx_file, digits["test_x"][:48])
    assert_faithful(result)
    assert result["images"] == 48


def test_qonnx_graph_is_what_finn_expects(qonnx_file):
    from qonnx.core.datatype import DataType
    from qonnx.core.modelwrapper import ModelWrapper

    model = ModelWrapper(str(qonnx_file))
    assert model.get_tensor_datatype(model.graph.input[0].name) == DataType["UINT8"]
    ops = [n.op_type for n in model.graph.node]
    assert ops[0] == "Mul"  # the /255 lives in the graph
    assert "Quant" in ops and "BipolarQuant" not in ops
    layers = {n.doc_string for n in model.graph.node}
    assert {"features.conv1", "classifier.fc3"} <= layers


def test_perturbed_initializer_is_reported_at_its_layer(w8a8, qonnx_file, digits, tmp_path):
    proto = onnx.load(str(qonnx_file))
    node = next(n for n in proto.graph.node if n.op_type == "Quant" and n.doc_string == "features.conv2")
    init = next(i for i in proto.graph.initializer if i.name == node.input[0])
    init.CopyFrom(numpy_helper.from_array(numpy_helper.to_array(init) * 1.3, init.name))
    bad = tmp_path / "bad.onnx"
    onnx.save(proto, str(bad))
    result = check_qonnx(w8a8.network, bad, digits["test_x"][:8])
    assert not result["bit_exact"] and not result["faithful"] and result["max_abs_diff"] > 0
    first = result["first_mismatch"]
    assert first["layer"] == "features.conv2" and first["node"] == node.name


def test_missing_file_is_an_input_error(w8a8, digits, tmp_path):
    with pytest.raises(InputError, match="not found"):
        check_qonnx(w8a8.network, tmp_path / "none.onnx", digits["test_x"][:2])


def test_qcdq_runs_in_onnxruntime(w8a8, digits, tmp_path):
    path = export_qcdq_file(w8a8.network, tmp_path / "model.qcdq.onnx")
    ops = {n.op_type for n in onnx.load(str(path)).graph.node}
    assert {"QuantizeLinear", "DequantizeLinear"} <= ops
    result = check_qcdq(w8a8.network, path, digits["test_x"][:100], digits["test_y"][:100])
    assert result["top1_agreement"] >= 0.98
    assert abs(result["accuracy_onnx"] - result["accuracy_torch"]) <= 0.02
    assert np.isfinite(result["max_abs_diff"])


def test_gpfq_network_exports_bit_exact(lenet, digits, tmp_path):
    from foldwise.core.quantize import QuantConfig, quantize_network

    config = QuantConfig(weight_bits=4, act_bits=4, weight_scaling="per_channel", gpfq=True, calib_images=64)
    network = quantize_network(lenet, digits["train_x"][:64], config, collect_stats=False).network
    path = export_qonnx_file(network, tmp_path / "gpfq.qonnx.onnx")
    result = check_qonnx(network, path, digits["test_x"][:32])
    assert_faithful(result)
