"""Which FINN streamlining a model needs (worker side, imports FINN).

FINN's default ``step_streamline`` serves chains (TFC, CNV): it never moves a scale past a fork or a join, so in
a residual network every float scale stops at the first skip connection and every layer behind it stays on the
CPU as float MatMul/Im2Col. finn-plus ships ResNet streamlining in its custom step library
(``step_resnet_streamline``: ``StreamlinePlus``, which moves scales past forks and element-wise adds); Foldwise
runs it in place of ``step_streamline`` when the graph forks or joins.

A global average pool needs one more step either way: FINN converts GlobalAveragePool to GlobalAccPool (a sum)
plus a Mul by 1/(H·W) only in ``step_convert_to_hw``, after streamlining, so the Mul and the Flatten behind it
stay float on the CPU. ``step_streamline_global_pool`` runs that conversion right after streamlining, then
FINN's passes that move the scalar Mul past the Transpose/Flatten into the next thresholds, and
``AbsorbTransposeIntoFlatten``. Every graph change is one of FINN's own passes.
"""

from __future__ import annotations

from typing import Any

from finn.builder.build_dataflow_config import DataflowBuildConfig
from finn.builder.custom_step_library.resnet import step_resnet_streamline
from finn.transformation.fpgadataflow.convert_to_hw.global_acc_pool import InferGlobalAccPoolLayer
from finn.transformation.streamline.absorb import AbsorbMulIntoMultiThreshold, AbsorbTransposeIntoFlatten
from finn.transformation.streamline.reorder import MoveScalarLinearPastInvariants
from finn.transformation.streamline.round_thresholds import RoundAndClipThresholds
from qonnx.core.modelwrapper import ModelWrapper
from qonnx.transformation.infer_data_layouts import InferDataLayouts
from qonnx.transformation.infer_datatypes import InferDataTypes
from qonnx.transformation.infer_shapes import InferShapes

from foldwise.core.errors import InputError


def step_streamline_global_pool(model: ModelWrapper, cfg: DataflowBuildConfig) -> ModelWrapper:
    """GlobalAveragePool on integers → GlobalAccPool, its 1/(H·W) streamlined into the next thresholds."""
    model = model.transform(InferGlobalAccPoolLayer())
    # only the passes that carry a scalar Mul past Transpose/Flatten into a MultiThreshold: the whole
    # StreamlinePlus again took as long as the residual streamlining itself (3 min on ResNet-18)
    # (thresholds on the pool's integer sum are then rounded and clipped to its range, as FINN's streamlining does)
    for transformation in (InferDataLayouts(), MoveScalarLinearPastInvariants(), AbsorbMulIntoMultiThreshold(),
                           AbsorbTransposeIntoFlatten(), InferDataLayouts(), InferDataTypes(),
                           RoundAndClipThresholds(), InferDataTypes()):
        model = model.transform(transformation)
    return model


CUSTOM_STEPS = {f.__name__: f for f in (step_resnet_streamline, step_streamline_global_pool)}


def _stream_adds(model: ModelWrapper) -> list[tuple[Any, list[str]]]:
    """Each Add of two streams (no initializer among its inputs), with those two inputs."""
    out = []
    for node in model.graph.node:
        dynamic = [t for t in node.input if t and model.get_initializer(t) is None]
        if node.op_type == "Add" and len(dynamic) == 2:
            out.append((node, dynamic))
    return out


def topology(model: ModelWrapper) -> dict[str, Any]:
    """``{"residual": [joins and forks], "global_pool": [GlobalAveragePool nodes]}`` of a (Q)ONNX model."""
    consumers: dict[str, list[str]] = {}
    for node in model.graph.node:
        for name in node.input:
            if name and model.get_initializer(name) is None:
                consumers.setdefault(name, []).append(node.name or node.op_type)
    residual = [f"{node.name} adds two streams" for node, _inputs in _stream_adds(model)]
    residual += [f"{tensor} feeds {len(users)} nodes" for tensor, users in consumers.items() if len(users) > 1]
    pools = [node.name for node in model.graph.node if node.op_type == "GlobalAveragePool"]
    return {"residual": residual, "global_pool": pools}


def _uneven_adds(model: ModelWrapper) -> list[str]:
    """Each Add of two streams whose shapes differ (a broadcast skip), described with both shapes."""
    shaped = model.transform(InferShapes())
    out = []
    for node, inputs in _stream_adds(shaped):
        shapes = [shaped.get_tensor_shape(t) for t in inputs]
        if None not in shapes and shapes[0] != shapes[1]:
            out.append(f"{node.name} (Add) adds {' and '.join('×'.join(map(str, s)) for s in shapes)}")
    return out


def _signed_after_relu(model: ModelWrapper) -> list[str]:
    """Each Quant right after a Relu that is signed or narrow, which FINN's QONNX conversion refuses, with what
    it feeds when that explains the sign (a concatenation gives all its inputs one sign)."""
    out = []
    for node in model.graph.node:
        producer = model.find_producer(node.input[0]) if node.op_type == "Quant" else None
        if producer is None or producer.op_type != "Relu":
            continue
        attrs = {a.name: a.i for a in node.attribute}
        odd = [word for word in ("signed", "narrow") if attrs.get(word, 0)]
        if odd:
            joins = [c.name for c in model.find_consumers(node.output[0]) or [] if c.op_type == "Concat"]
            why = f", sharing the sign of the other inputs of {', '.join(joins)} (Concat)" if joins else ""
            out.append(f"{node.name} after {producer.name} (Relu) is {' and '.join(odd)}{why}")
    return out


def streamline_steps(model: ModelWrapper) -> tuple[list[str], str]:
    """The steps that replace ``step_streamline`` for this model, and why (empty reason: FINN's default)."""
    odd = _signed_after_relu(model)
    if odd:
        # FINN's own message (from step_qonnx_to_finn) names neither the node nor the cause
        raise InputError(f"{'; '.join(odd)}: FINN converts only unsigned, non-narrow quantizers after a ReLU; "
                         "quantize ReLU outputs unsigned, and give every input of a concatenation a ReLU (or "
                         "none), so that one unsigned quantizer can serve them all")
    found = topology(model)
    steps, reasons = ["step_streamline"], []
    means = [node.name for node in model.graph.node if node.op_type == "ReduceMean"]
    if found["residual"] and means:
        # seen with finn-plus 1.6.1: its StreamlinePlus never reaches a fixed point, MoveTransposePastEltwise and
        # MoveScalarLinearPastInvariants undoing each other around the mean, so the build would never end
        raise InputError(f"{', '.join(means)} (ReduceMean) in a residual network: finn-plus's residual "
                         "streamlining never finishes on it; average with nn.AdaptiveAvgPool2d(1) (a "
                         "GlobalAveragePool, which FINN maps to GlobalAccPool) instead of torch.mean")
    uneven = _uneven_adds(model) if found["residual"] else []
    if uneven:
        # seen with finn-plus 1.6.1: StreamlinePlus retries MoveMulPastJoinAdd/MoveTransposePastJoinAdd on such an
        # add forever ("Producers not identical, skipping"), and FINN's ElementwiseAdd needs equal streams anyway
        raise InputError(f"{'; '.join(uneven)}: FINN adds two streams of one shape only; give the skip the "
                         "other branch's channels and size (a 1×1 convolution, with stride if the branch has one)")
    if found["residual"]:
        steps = [step_resnet_streamline.__name__]
        reasons.append(f"residual topology ({'; '.join(found['residual'][:3])}): FINN's step_resnet_streamline")
    if found["global_pool"]:
        steps.append(step_streamline_global_pool.__name__)
        reasons.append(f"global average pool ({', '.join(found['global_pool'])}) → GlobalAccPool")
    return steps, "; ".join(reasons)


def dataflow_steps(model: ModelWrapper, names: list[str]) -> tuple[list[str], str]:
    """``names`` (a FINN step list) with ``step_streamline`` replaced as :func:`streamline_steps` says."""
    if "step_streamline" not in names:
        return list(names), ""
    replacement, why = streamline_steps(model)
    i = names.index("step_streamline")
    return [*names[:i], *replacement, *names[i + 1:]], why
