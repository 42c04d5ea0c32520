"""Plain ONNX → torch.fx GraphModule with onnx2torch, for the op set a FINN-bound CNN or MLP uses.

onnx2torch converts each node (``Conv`` → ``nn.Conv2d``, ``Gemm`` → ``nn.Linear`` …), so an imported network
can be summarised, trained, pruned and quantized like a zoo one. ``unsupported(model)`` lists, per node,
what stops that before any conversion starts: ops outside :data:`SUPPORTED_OPS` (what pruning, Brevitas and
FINN take), weights that are not constants (they would not become trainable layers), and nodes onnx2torch
refuses, with its reason (e.g. ``auto_pad=SAME``, asymmetric ``AveragePool`` padding).

What onnx2torch does not do, and how it is handled here:

- It imports torchvision for its NMS and RoiAlign converters. PyPI's torchvision is a CUDA build that does
  not load beside the CPU torch, so those two converters are left out (neither op is supported anyway).
- Its op modules branch on tensor values (Reshape looks for zeros in its shape tensor, Div checks the
  dtype), so Brevitas cannot trace them. The converted network is traced once more with its constants
  concrete, which inlines those modules into plain torch calls and keeps the torch layers; the saved
  network then does not depend on onnx2torch.
- A Reshape to a constant shape keeps the batch size of the export (often 1): its target becomes
  ``[-1, *rest]``, read from shape inference on the network's input shape.
- A MatMul by a constant matrix stays a matmul with a buffer: it becomes an ``nn.Linear`` so it trains,
  prunes and quantizes.
- Module names get ``_`` for non-identifier characters (``/conv1/Conv`` → ``conv1_Conv``), and pooling
  sizes given as lists become tuples (Brevitas's average-pool handler needs them so).
"""

from __future__ import annotations

import copy
import operator
import re
import sys
import types

import onnx
import torch
from onnx import numpy_helper
from torch import fx, nn

from foldwise.core.errors import InputError

SUPPORTED_OPS = (
    "Conv", "Gemm", "MatMul", "BatchNormalization", "Relu", "LeakyRelu", "Sigmoid", "Tanh", "Clip",
    "MaxPool", "AveragePool", "GlobalAveragePool", "Flatten", "Reshape", "Add", "Sub", "Mul", "Div",
    "Concat", "Softmax", "Dropout", "Identity", "Constant",
)
_TORCHVISION_CONVERTERS = ("nms", "roialign")


def _onnx2torch() -> types.ModuleType:
    for name in _TORCHVISION_CONVERTERS:
        sys.modules.setdefault(f"onnx2torch.node_converters.{name}", types.ModuleType(name))
    import onnx2torch

    return onnx2torch


def node_label(node: onnx.NodeProto, index: int) -> str:
    return node.name or f"{node.op_type}_{index}"


def _constants(graph: onnx.GraphProto) -> dict[str, onnx.TensorProto]:
    """Initializers, Constant outputs and Identity copies of them (torch's exporter makes those)."""
    consts = {i.name: i for i in graph.initializer}
    for node in graph.node:
        if node.op_type == "Constant" and node.attribute and node.attribute[0].name == "value":
            consts[node.output[0]] = node.attribute[0].t
        elif node.op_type == "Identity" and node.input[0] in consts:
            consts[node.output[0]] = consts[node.input[0]]
    return consts


def _policy_problems(graph: onnx.GraphProto) -> list[tuple[str, str]]:
    consts = _constants(graph)
    problems = []
    for index, node in enumerate(graph.node):
        label = node_label(node, index)
        attrs = {a.name: onnx.helper.get_attribute_value(a) for a in node.attribute}
        if node.domain not in ("", "ai.onnx"):
            problems.append((label, f"op {node.op_type} from domain {node.domain!r} is not standard ONNX"))
        elif node.op_type not in SUPPORTED_OPS:
            problems.append((label, f"op {node.op_type} is not supported (supported: {', '.join(SUPPORTED_OPS)})"))
        elif node.op_type in ("Conv", "Gemm", "MatMul") and node.input[1] not in consts:
            problems.append((label, f"{node.op_type} needs constant weights (initializers)"))
        elif node.op_type == "Gemm" and attrs.get("transA", 0):
            problems.append((label, "Gemm with transA is not supported"))
        elif node.op_type == "BatchNormalization" and not set(node.input[1:5]) <= set(consts):
            problems.append((label, "BatchNormalization statistics must be constants"))
        elif node.op_type == "Reshape" and node.input[1] not in consts:
            problems.append((label, "Reshape with a computed shape is not supported"))
    return problems


def _prepared(model: onnx.ModelProto, input_shape: tuple[int, ...] | None) -> onnx.ModelProto:
    """A copy ready for onnx2torch: named nodes, constants as initializers, batch-free Reshape targets."""
    model = copy.deepcopy(model)
    graph = model.graph
    for index, node in enumerate(graph.node):
        node.name = node_label(node, index)
    consts = _constants(graph)
    kept = [n for n in graph.node if not (n.op_type in ("Constant", "Identity") and n.output[0] in consts)]
    known = {i.name for i in graph.initializer}
    for name, tensor in consts.items():
        if name not in known:
            graph.initializer.append(numpy_helper.from_array(numpy_helper.to_array(tensor), name))
    del graph.node[:]
    graph.node.extend(kept)
    if input_shape is not None:
        inp = next(i for i in graph.input if i.name not in consts)
        dims = inp.type.tensor_type.shape.dim
        for dim, value in zip(dims, (1, *input_shape), strict=False):
            dim.Clear()
            dim.dim_value = value
    shapes = onnx.shape_inference.infer_shapes(model)
    outputs = {v.name: v for v in (*shapes.graph.value_info, *shapes.graph.output)}
    for node in graph.node:
        out = outputs.get(node.output[0])
        if node.op_type != "Reshape" or out is None:
            continue
        dims = [d.dim_value if d.HasField("dim_value") else None for d in out.type.tensor_type.shape.dim]
        if dims and None not in dims[1:]:
            target = f"{node.output[0]}_batch_free_shape"
            graph.initializer.append(numpy_helper.from_array(torch.tensor([-1, *dims[1:]]).numpy(), target))
            node.input[1] = target
    return model


def unsupported(model: onnx.ModelProto, input_shape: tuple[int, ...] | None = None) -> list[tuple[str, str]]:
    """(node, reason) for every node that cannot become part of a trainable torch network."""
    problems = _policy_problems(model.graph)
    if problems:
        return problems
    onnx2torch = _onnx2torch()
    get_converter, graph_class = onnx2torch.node_converters.get_converter, onnx2torch.onnx_graph.OnnxGraph
    try:
        prepared = onnx.shape_inference.infer_shapes(_prepared(model, input_shape))
    except Exception as exc:  # onnx raises InferenceError, ValidationError…
        return [("<graph>", f"shape inference failed: {str(exc).splitlines()[0]}")]
    graph = graph_class(prepared.graph)
    opsets = {o.domain: o.version for o in prepared.opset_import}
    # onnx2torch renames nodes (dots become slashes): report the names the file has.
    for proto, node in zip(prepared.graph.node, graph.nodes.values(), strict=True):
        try:
            get_converter(node.operation_type, opsets.get(node.domain, 1), node.domain)(node, graph)
        except Exception as exc:  # converters raise NotImplementedError, KeyError, ValueError…
            problems.append((proto.name, f"this {node.operation_type} cannot be converted to a torch layer: {exc}"))
    return problems


class _InliningTracer(fx.Tracer):
    """Traces into onnx2torch's op modules with the constants concrete; torch's own layers stay modules."""

    proxy_buffer_attributes = False

    def is_leaf_module(self, m: nn.Module, module_qualified_name: str) -> bool:
        from onnx2torch.utils.common import OnnxToTorchModule

        return not isinstance(m, OnnxToTorchModule)

    def to_bool(self, obj: fx.Proxy) -> bool:
        # onnx2torch's Div picks integer division by dtype; every value in a supported network is float.
        if obj.node.op == "call_method" and obj.node.target == "is_floating_point":
            return True
        return super().to_bool(obj)


def _identifier(name: str, taken: set[str]) -> str:
    base = re.sub(r"\W", "_", name).strip("_") or "node"
    base = f"n_{base}" if base[0].isdigit() else base
    unique, k = base, 1
    while unique in taken:
        k += 1
        unique = f"{base}_{k}"
    taken.add(unique)
    return unique


def _plain_module(traced: fx.GraphModule) -> fx.GraphModule:
    """Identifier module names, ``matmul(x, constant)`` as ``nn.Linear``, tuple layer sizes."""
    root, taken, renamed = nn.Module(), set(), {}
    for node in traced.graph.nodes:
        if node.op in ("call_module", "get_attr"):
            if node.target not in renamed:
                renamed[node.target] = _identifier(node.target, taken)
                setattr(root, renamed[node.target], operator.attrgetter(node.target)(traced))
            node.target = renamed[node.target]
    gm = fx.GraphModule(root, traced.graph, class_name="ImportedOnnx")
    for node in list(gm.graph.nodes):
        is_matmul = node.op == "call_function" and node.target in (torch.matmul, operator.matmul)
        weight = node.args[1] if is_matmul else None
        w = getattr(gm, weight.target) if isinstance(weight, fx.Node) and weight.op == "get_attr" else None
        if isinstance(w, torch.Tensor) and w.dim() == 2:
            linear = nn.Linear(w.shape[0], w.shape[1], bias=False)
            linear.weight.data.copy_(w.t())
            name = _identifier(f"{node.name}_linear", taken)
            gm.add_module(name, linear)
            with gm.graph.inserting_after(node):
                replacement = gm.graph.call_module(name, (node.args[0],))
            node.replace_all_uses_with(replacement)
            gm.graph.erase_node(node)
    _global_means_to_pools(gm, taken)
    for module in gm.modules():  # onnx2torch gives pooling sizes as lists; Brevitas expects ints or tuples
        for attr in ("kernel_size", "stride", "padding", "dilation"):
            if isinstance(getattr(module, attr, None), list):
                setattr(module, attr, tuple(getattr(module, attr)))
    gm.graph.eliminate_dead_code()
    gm.delete_all_unused_submodules()
    gm.recompile()
    return gm


def _global_means_to_pools(gm: fx.GraphModule, taken: set[str]) -> None:
    """onnx2torch turns GlobalAveragePool into ``torch.mean(x, dim=[2, 3], keepdim=True)``; make it the
    ``nn.AdaptiveAvgPool2d(1)`` it was, which Brevitas and FINN know as a global pool (a mean exports as
    ReduceMean, which FINN's streamlining does not handle)."""
    for node in list(gm.graph.nodes):
        is_mean = node.op == "call_function" and node.target is torch.mean
        dims = node.kwargs.get("dim", node.args[1] if len(node.args) > 1 else None) if is_mean else None
        keep = node.kwargs.get("keepdim", node.args[2] if len(node.args) > 2 else False) if is_mean else False
        if not is_mean or dims is None or sorted(int(d) for d in dims) not in ([2, 3], [-2, -1]) or not keep:
            continue
        name = _identifier(f"{node.name}_pool", taken)
        gm.add_module(name, nn.AdaptiveAvgPool2d(1))
        with gm.graph.inserting_after(node):
            replacement = gm.graph.call_module(name, (node.args[0],))
        node.replace_all_uses_with(replacement)
        gm.graph.erase_node(node)


def to_torch(model: onnx.ModelProto, input_shape: tuple[int, ...] | None = None) -> fx.GraphModule:
    """Convert a single-input, single-output plain ONNX model (check :func:`unsupported` first).

    ``input_shape`` (C×H×W) fixes the sizes shape inference works with; InputError if conversion fails.
    """
    try:
        converted = _onnx2torch().convert(_prepared(model, input_shape)).eval()
        tracer = _InliningTracer()
        graph = tracer.trace(converted)
    except Exception as exc:  # onnx2torch and fx raise many types; all mean "not convertible"
        raise InputError(f"the ONNX network cannot be converted to torch: {type(exc).__name__}: {exc}") from exc
    return _plain_module(fx.GraphModule(tracer.root, graph))
