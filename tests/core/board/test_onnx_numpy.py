"""The numpy ONNX fallback against ONNX Runtime on the same inputs: zoo exports (float and QCDQ) and small
graphs for the ops the zoo does not use, plus the errors for what it cannot run."""

from __future__ import annotations

import numpy as np
import onnx
import onnxruntime as ort
import pytest
import torch
from onnx import TensorProto, helper, numpy_helper

from foldwise.core.board import onnx_numpy
from foldwise.core.networks import zoo


def _ort(path, x, optimize: bool = True) -> np.ndarray:
    options = ort.SessionOptions()
    options.log_severity_level = 3
    if not optimize:
        options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_DISABLE_ALL
    session = ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
    return session.run(None, {session.get_inputs()[0].name: x})[0]


def _numpy(path, x) -> np.ndarray:
    model = onnx_numpy.load_model(str(path))
    return model.run({model.inputs[0]: x})[0]


def _float_export(net, shape, path) -> None:
    torch.onnx.export(net.eval(), (torch.zeros(1, *shape),), str(path), dynamo=False, opset_version=13,
                      input_names=["x"], output_names=["y"], dynamic_axes={"x": {0: "b"}, "y": {0: "b"}})


@pytest.mark.parametrize("arch", ["lenet5", "defectnet"])
def test_float_zoo_exports_match_onnxruntime(arch, tmp_path) -> None:
    entry = zoo.get_entry(arch)
    torch.manual_seed(0)
    _float_export(entry.build(), entry.spec.shape, tmp_path / "m.onnx")
    x = np.random.default_rng(1).random((3, *entry.spec.shape), dtype=np.float32)
    want, got = _ort(tmp_path / "m.onnx", x), _numpy(tmp_path / "m.onnx", x)
    assert got.shape == want.shape and got.dtype == np.float32
    np.testing.assert_allclose(got, want, rtol=1e-4, atol=1e-5)


@pytest.mark.parametrize("arch,bits", [("lenet5", 4), ("defectnet", 8)])
def test_qcdq_zoo_exports_match_onnxruntime(arch, bits, tmp_path) -> None:
    from foldwise.core.quantize.config import QuantConfig
    from foldwise.core.quantize.export import export_qcdq_file
    from foldwise.core.quantize.ptq import quantize_network

    entry = zoo.get_entry(arch)
    torch.manual_seed(0)
    images = np.random.default_rng(2).integers(0, 256, (8, *entry.spec.shape), dtype=np.uint8)
    result = quantize_network(entry.build(), images, QuantConfig(weight_bits=bits, act_bits=bits, calib_images=8),
                              spec=entry.spec, collect_stats=False)
    path = export_qcdq_file(result.network, tmp_path / "m.qcdq.onnx")
    x = images[:4].astype(np.float32)
    got = _numpy(path, x)
    # ONNX Runtime as the graph says (no QDQ fusion): the same arithmetic, so the same numbers.
    np.testing.assert_allclose(got, _ort(path, x, optimize=False), rtol=1e-5, atol=1e-6)
    # and as Foldwise runs a QCDQ file in ONNX Runtime (QDQ fusion off, the rest of its optimisations on)
    from foldwise.core.quantize.export import qcdq_session

    session = qcdq_session(path)
    np.testing.assert_allclose(got, session.run(None, {session.get_inputs()[0].name: x})[0], rtol=1e-5, atol=1e-6)
    # and the graph's own arithmetic is the Brevitas network's
    np.testing.assert_allclose(got, result.network(torch.from_numpy(x)).numpy(), rtol=1e-4, atol=1e-4)


def _graph_model(nodes, inputs, output, initializers=(), opset: int = 13):
    graph = helper.make_graph(nodes, "g", inputs, [helper.make_tensor_value_info(output, TensorProto.FLOAT, None)],
                              initializer=[numpy_helper.from_array(a, n) for n, a in initializers])
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", opset)])


def _x(name="x", shape=(2, 4, 9, 9)):
    return helper.make_tensor_value_info(name, TensorProto.FLOAT, list(shape))


RNG = np.random.default_rng(3)
W_GROUP = RNG.standard_normal((6, 2, 3, 3)).astype(np.float32)
CASES = {
    "conv-groups-stride-dilation": ([helper.make_node("Conv", ["x", "w", "b"], ["y"], group=2, strides=[2, 1],
                                                      dilations=[1, 2], pads=[1, 2, 0, 1])],
                                    [("w", W_GROUP), ("b", RNG.standard_normal(6).astype(np.float32))]),
    "batchnorm-relu": ([helper.make_node("BatchNormalization", ["x", "s", "bb", "m", "v"], ["t"], epsilon=1e-3),
                        helper.make_node("Relu", ["t"], ["y"])],
                       [("s", RNG.random(4, dtype=np.float32) + 0.5),
                        ("bb", RNG.standard_normal(4).astype(np.float32)),
                        ("m", RNG.standard_normal(4).astype(np.float32)),
                        ("v", RNG.random(4, dtype=np.float32) + 0.1)]),
    "maxpool-ceil": ([helper.make_node("MaxPool", ["x"], ["y"], kernel_shape=[3, 3], strides=[2, 2], ceil_mode=1)],
                     []),
    "maxpool-pads": ([helper.make_node("MaxPool", ["x"], ["y"], kernel_shape=[2, 3], strides=[2, 2],
                                       pads=[1, 1, 0, 1])], []),
    "averagepool-pads": ([helper.make_node("AveragePool", ["x"], ["y"], kernel_shape=[3, 3], pads=[1, 1, 1, 1])],
                         []),
    "averagepool-count-pad": ([helper.make_node("AveragePool", ["x"], ["y"], kernel_shape=[3, 3], strides=[2, 2],
                                                pads=[1, 1, 1, 1], count_include_pad=1)], []),
    "global-pools": ([helper.make_node("GlobalAveragePool", ["x"], ["a"]),
                      helper.make_node("GlobalMaxPool", ["x"], ["m"]),
                      helper.make_node("Sub", ["m", "a"], ["y"])], []),
    "flatten-matmul-add-softmax": ([helper.make_node("Flatten", ["x"], ["f"]),
                                    helper.make_node("MatMul", ["f", "w"], ["mm"]),
                                    helper.make_node("Add", ["mm", "b"], ["s"]),
                                    helper.make_node("Softmax", ["s"], ["y"])],
                                   [("w", RNG.standard_normal((324, 5)).astype(np.float32)),
                                    ("b", RNG.standard_normal(5).astype(np.float32))]),
    "reshape-transpose-clip-div": ([helper.make_node("Reshape", ["x", "shape"], ["r"]),
                                    helper.make_node("Transpose", ["r"], ["t"], perm=[0, 2, 1]),
                                    helper.make_node("Clip", ["t", "lo", "hi"], ["c"]),
                                    helper.make_node("Div", ["c", "d"], ["y"])],
                                   [("shape", np.array([0, -1, 9], np.int64)), ("lo", np.array(-0.5, np.float32)),
                                    ("hi", np.array(0.7, np.float32)), ("d", np.array(1.5, np.float32))]),
    "per-channel-qdq-int8": ([helper.make_node("QuantizeLinear", ["x", "qs", "qz"], ["q"], axis=1),
                              helper.make_node("Clip", ["q", "cl", "ch"], ["qc"]),
                              helper.make_node("DequantizeLinear", ["qc", "qs", "qz"], ["y"], axis=1)],
                             [("qs", np.array([0.01, 0.02, 0.05, 0.1], np.float32)),
                              ("qz", np.array([0, 3, -2, 0], np.int8)), ("cl", np.array(-8, np.int8)),
                              ("ch", np.array(7, np.int8))]),
    "uint8-qdq-gemm": ([helper.make_node("Flatten", ["x"], ["f"]),
                        helper.make_node("QuantizeLinear", ["f", "s", "z"], ["q"]),
                        helper.make_node("DequantizeLinear", ["q", "s", "z"], ["d"]),
                        helper.make_node("DequantizeLinear", ["wq", "ws"], ["w"]),
                        helper.make_node("Gemm", ["d", "w", "gb"], ["y"], transB=1, alpha=0.5, beta=2.0)],
                       [("s", np.array(0.02, np.float32)), ("z", np.array(128, np.uint8)),
                        ("wq", RNG.integers(-127, 128, (3, 324)).astype(np.int8)), ("ws", np.array(0.01, np.float32)),
                        ("gb", RNG.standard_normal(3).astype(np.float32))]),
}


@pytest.mark.parametrize("name", sorted(CASES))
def test_small_graphs_match_onnxruntime(name, tmp_path) -> None:
    nodes, initializers = CASES[name]
    path = tmp_path / f"{name}.onnx"
    onnx.save(_graph_model(nodes, [_x()], "y", initializers), str(path))
    x = RNG.standard_normal((2, 4, 9, 9)).astype(np.float32)
    want, got = _ort(path, x, optimize=False), _numpy(path, x)
    assert got.shape == want.shape
    np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-6)


def test_constant_subgraphs_are_computed_once(tmp_path) -> None:
    nodes, initializers = CASES["uint8-qdq-gemm"]
    path = tmp_path / "m.onnx"
    onnx.save(_graph_model(nodes, [_x()], "y", initializers), str(path))
    model = onnx_numpy.load_model(str(path))
    assert model.folded == 1 and [n["op"] for n in model.steps] == ["Flatten", "QuantizeLinear",
                                                                     "DequantizeLinear", "Gemm"]


def test_unsupported_ops_and_bad_files_are_named(tmp_path) -> None:
    path = tmp_path / "lrn.onnx"
    onnx.save(_graph_model([helper.make_node("LRN", ["x"], ["y"], size=3)], [_x()], "y"), str(path))
    with pytest.raises(onnx_numpy.UnsupportedOp, match=r"does not implement LRN .*install ONNX Runtime"):
        onnx_numpy.load_model(str(path))
    (tmp_path / "junk.onnx").write_bytes(b"\xff\xff\xff\xff not a model")
    with pytest.raises(onnx_numpy.OnnxFormatError):
        onnx_numpy.load_model(str(tmp_path / "junk.onnx"))
