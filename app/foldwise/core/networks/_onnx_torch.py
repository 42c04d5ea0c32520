"""Plain ONNX → torch.fx GraphModule, for the small op set a FINN-bound CNN or MLP uses.

Each ONNX node becomes a named torch layer (``Conv`` → ``nn.Conv2d`` …) or a torch function call, so an
imported network can be summarised, trained, pruned and quantized like a zoo one. ``unsupported(graph)``
lists what this converter cannot take, with the node name and reason, before any conversion starts.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

import numpy as np
import onnx
import torch
from onnx import numpy_helper
from torch import fx, nn

SUPPORTED_OPS = (
    "Conv", "Gemm", "MatMul", "BatchNormalization", "Relu", "LeakyRelu", "Sigmoid", "Tanh", "Clip",
    "MaxPool", "AveragePool", "GlobalAveragePool", "Flatten", "Reshape", "Add", "Sub", "Mul", "Div",
    "Concat", "Softmax", "Dropout", "Identity", "Constant",
)


def _attrs(node: onnx.NodeProto) -> dict[str, Any]:
    return {a.name: onnx.helper.get_attribute_value(a) for a in node.attribute}


def node_label(node: onnx.NodeProto, index: int) -> str:
    return node.name or f"{node.op_type}_{index}"


def _is_constant_node(node: onnx.NodeProto, consts: set[str] | dict[str, Any]) -> bool:
    # torch's exporter routes some initializers through Identity nodes: those outputs are constants too.
    return node.op_type == "Constant" or (node.op_type == "Identity" and node.input[0] in consts)


def unsupported(graph: onnx.GraphProto) -> list[tuple[str, str]]:
    """(node, reason) for every node the converter cannot turn into torch."""
    consts = {i.name for i in graph.initializer}
    for node in graph.node:
        if _is_constant_node(node, consts):
            consts.add(node.output[0])
    problems = []
    for index, node in enumerate(graph.node):
        label, a = node_label(node, index), _attrs(node)
        if node.domain not in ("", "ai.onnx"):
            problems.append((label, f"op {node.op_type} from domain {node.domain!r} is not standard ONNX"))
        elif node.op_type not in SUPPORTED_OPS:
            problems.append((label, f"op {node.op_type} is not supported (supported: {', '.join(SUPPORTED_OPS)})"))
        elif node.op_type in ("Conv", "MaxPool", "AveragePool"):
            kernel = a.get("kernel_shape")
            if kernel is not None and len(kernel) != 2:
                problems.append((label, f"{node.op_type} over {len(kernel)} dims; only 2-D is supported"))
            pads = a.get("pads", [0, 0, 0, 0])
            if a.get("auto_pad", b"NOTSET") not in (b"NOTSET", "NOTSET") or list(pads[:2]) != list(pads[2:]):
                problems.append((label, "asymmetric or automatic padding is not supported"))
            if node.op_type == "Conv" and node.input[1] not in consts:
                problems.append((label, "Conv weights must be constants (initializers)"))
        elif node.op_type in ("Gemm", "MatMul"):
            if node.input[1] not in consts:
                problems.append((label, f"{node.op_type} needs constant weights"))
            if a.get("transA", 0) or a.get("alpha", 1.0) != 1.0 or a.get("beta", 1.0) != 1.0:
                problems.append((label, "Gemm with transA, alpha or beta is not supported"))
        elif node.op_type == "BatchNormalization" and not set(node.input[1:5]) <= consts:
            problems.append((label, "BatchNormalization statistics must be constants"))
        elif node.op_type == "Reshape" and node.input[1] not in consts:
            problems.append((label, "Reshape with a computed shape is not supported"))
    return problems


def _module_name(label: str, taken: set[str]) -> str:
    name = re.sub(r"\W", "_", label).strip("_") or "node"
    name = f"n_{name}" if name[0].isdigit() else name
    unique, k = name, 1
    while unique in taken:
        k += 1
        unique = f"{name}_{k}"
    taken.add(unique)
    return unique


class _Reshape(nn.Module):
    """ONNX Reshape with a constant target; 0 copies the input dim, -1 is inferred (batch kept as is)."""

    def __init__(self, shape: list[int]) -> None:
        super().__init__()
        self.shape = [int(s) for s in shape]

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        shape = [x.shape[i] if s == 0 else s for i, s in enumerate(self.shape)]
        shape[0] = x.shape[0]
        return x.reshape(shape)


def _layer(node: onnx.NodeProto, a: dict[str, Any], const: Callable[[str], torch.Tensor]) -> nn.Module | None:
    op = node.op_type
    if op == "Conv":
        w = const(node.input[1])
        pads, group = a.get("pads", [0, 0, 0, 0]), a.get("group", 1)
        conv = nn.Conv2d(w.shape[1] * group, w.shape[0], tuple(w.shape[2:]), stride=tuple(a.get("strides", (1, 1))),
                         padding=tuple(pads[:2]), dilation=tuple(a.get("dilations", (1, 1))), groups=group,
                         bias=len(node.input) > 2 and bool(node.input[2]))
        conv.weight.data.copy_(w)
        if conv.bias is not None:
            conv.bias.data.copy_(const(node.input[2]))
        return conv
    if op in ("Gemm", "MatMul"):
        w = const(node.input[1])
        w = w if op == "Gemm" and a.get("transB", 0) else w.t()
        has_bias = op == "Gemm" and len(node.input) > 2 and bool(node.input[2])
        linear = nn.Linear(w.shape[1], w.shape[0], bias=has_bias)
        linear.weight.data.copy_(w)
        if has_bias:
            linear.bias.data.copy_(const(node.input[2]).reshape(-1))
        return linear
    if op == "BatchNormalization":
        scale = const(node.input[1])
        bn = nn.BatchNorm2d(scale.numel(), eps=a.get("epsilon", 1e-5), momentum=1 - a.get("momentum", 0.9))
        for target, source in zip((bn.weight, bn.bias, bn.running_mean, bn.running_var), node.input[1:5],
                                  strict=True):
            target.data.copy_(const(source))
        return bn
    if op in ("MaxPool", "AveragePool"):
        kw = {"kernel_size": tuple(a["kernel_shape"]), "stride": tuple(a.get("strides", a["kernel_shape"])),
              "padding": tuple(a.get("pads", [0, 0, 0, 0])[:2]), "ceil_mode": bool(a.get("ceil_mode", 0))}
        if op == "MaxPool":
            return nn.MaxPool2d(dilation=tuple(a.get("dilations", (1, 1))), **kw)
        return nn.AvgPool2d(count_include_pad=bool(a.get("count_include_pad", 0)), **kw)
    simple: dict[str, Callable[[], nn.Module]] = {
        "Relu": nn.ReLU, "Sigmoid": nn.Sigmoid, "Tanh": nn.Tanh, "Identity": nn.Identity, "Dropout": nn.Identity,
        "GlobalAveragePool": lambda: nn.AdaptiveAvgPool2d(1),
        "LeakyRelu": lambda: nn.LeakyReLU(a.get("alpha", 0.01)),
        "Flatten": lambda: nn.Flatten(a.get("axis", 1)),
        "Softmax": lambda: nn.Softmax(a.get("axis", -1)),
    }
    if op in simple:
        return simple[op]()
    if op == "Reshape":
        return _Reshape(const(node.input[1]).tolist())
    if op == "Clip":
        low = const(node.input[1]).item() if len(node.input) > 1 and node.input[1] else a.get("min", -np.inf)
        high = const(node.input[2]).item() if len(node.input) > 2 and node.input[2] else a.get("max", np.inf)
        return nn.Hardtanh(float(low), float(high))
    return None


_BINARY = {"Add": torch.add, "Sub": torch.sub, "Mul": torch.mul, "Div": torch.div}


def to_torch(model: onnx.ModelProto) -> fx.GraphModule:
    """Convert a single-input, single-output plain ONNX model (check :func:`unsupported` first)."""
    graph = model.graph
    consts: dict[str, torch.Tensor] = {
        i.name: torch.from_numpy(numpy_helper.to_array(i).copy()) for i in graph.initializer
    }
    for node in graph.node:
        if node.op_type == "Constant":
            consts[node.output[0]] = torch.from_numpy(numpy_helper.to_array(_attrs(node)["value"]).copy())
        elif _is_constant_node(node, consts):
            consts[node.output[0]] = consts[node.input[0]]
    root = nn.Module()
    fx_graph = fx.Graph()
    values: dict[str, fx.Node] = {}
    taken: set[str] = set()
    real_inputs = [i for i in graph.input if i.name not in consts]
    for inp in real_inputs:
        values[inp.name] = fx_graph.placeholder(_module_name(inp.name, taken))

    def value(name: str) -> fx.Node:
        if name not in values:
            # A constant operand (bias of a MatMul+Add, a scale): kept as a buffer of the root module.
            buffer = _module_name(f"const_{name}", taken)
            root.register_buffer(buffer, consts[name].float() if consts[name].is_floating_point() else consts[name])
            values[name] = fx_graph.get_attr(buffer)
        return values[name]

    for index, node in enumerate(graph.node):
        if node.output[0] in consts:
            continue
        a = _attrs(node)
        layer = _layer(node, a, consts.__getitem__)
        if layer is not None:
            name = _module_name(node_label(node, index), taken)
            root.add_module(name, layer)
            out = fx_graph.call_module(name, (value(node.input[0]),))
        elif node.op_type in _BINARY:
            out = fx_graph.call_function(_BINARY[node.op_type], (value(node.input[0]), value(node.input[1])))
        elif node.op_type == "Concat":
            out = fx_graph.call_function(torch.cat, ([value(i) for i in node.input],), {"dim": a.get("axis", 1)})
        else:  # unsupported() lists these; reaching here means it was not called
            raise ValueError(f"op {node.op_type} cannot be converted")
        values[node.output[0]] = out
    fx_graph.output(values[graph.output[0].name])
    return fx.GraphModule(root, fx_graph, class_name="ImportedOnnx")
