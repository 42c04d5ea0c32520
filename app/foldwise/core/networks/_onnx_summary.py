"""Per-node summary of an ONNX/QONNX graph, in the same table as a torch network's.

Weights behind a ``Quant``/``BipolarQuant`` node count at that node's bit width, so a QONNX file's weight
memory is what FINN will store. Quantizer nodes on weights are folded into the layer that uses them.
"""

from __future__ import annotations

import math

import numpy as np
import onnx
from onnx import numpy_helper

from foldwise.core.networks.spec import InputSpec
from foldwise.core.networks.summary import LayerRow, NetworkSummary

_QUANT = ("Quant", "BipolarQuant", "IntQuant")


def summarize_onnx(model: onnx.ModelProto, spec: InputSpec, default_bits: int = 32) -> NetworkSummary:
    """Rows for every node except constants and weight quantizers; shapes from qonnx's shape inference."""
    from qonnx.core.modelwrapper import ModelWrapper
    from qonnx.transformation.infer_shapes import InferShapes

    wrapper = ModelWrapper(model)
    wrapper.set_tensor_shape(wrapper.graph.input[0].name, [1, *spec.shape])
    wrapper = wrapper.transform(InferShapes())
    graph = wrapper.graph
    inits = {i.name: numpy_helper.to_array(i) for i in graph.initializer}
    # A weight tensor reached through a quantizer: output name → (weight array, bits).
    weights: dict[str, tuple[np.ndarray, int]] = {name: (array, default_bits) for name, array in inits.items()}
    skipped = set()
    for node in graph.node:
        if node.op_type in _QUANT and node.input[0] in inits:
            bits = 1 if node.op_type == "BipolarQuant" else int(np.asarray(inits.get(node.input[3], default_bits)))
            weights[node.output[0]] = (inits[node.input[0]], bits)
            skipped.add(node.name)
        elif node.op_type in ("Transpose", "Identity") and node.input[0] in weights:
            # Brevitas exports a QuantLinear's weight as Quant → Transpose → MatMul.
            array, bits = weights[node.input[0]]
            perm = next((list(a.ints) for a in node.attribute if a.name == "perm"), None)
            weights[node.output[0]] = (np.transpose(array, perm) if node.op_type == "Transpose" else array, bits)
            skipped.add(node.name)
        elif node.op_type == "Constant":
            skipped.add(node.name)

    def shape(name: str) -> tuple[int, ...] | None:
        found = wrapper.get_tensor_shape(name)
        return None if found is None else tuple(int(d) for d in found[1:])

    out_shape = shape(graph.output[0].name)
    summary = NetworkSummary(tuple(spec.shape), out_shape)
    for index, node in enumerate(graph.node):
        if node.name in skipped:
            continue
        # Quantizer scale/zero-point/bit-width scalars are not weights.
        params_in = [weights[i] for i in node.input[1:] if i in weights and weights[i][0].size > 1]
        params = sum(int(w.size) for w, _ in params_in)
        memory = sum(int(w.size) * bits for w, bits in params_in) / 8 / 1e6
        bits = params_in[0][1] if params_in else default_bits
        out = shape(node.output[0])
        macs = 0
        if out is not None and params_in:
            weight = params_in[0][0]
            if node.op_type == "Conv":
                macs = math.prod(out) * math.prod(weight.shape[1:])
            elif node.op_type in ("MatMul", "Gemm") and weight.ndim == 2:
                trans_b = any(a.name == "transB" and a.i for a in node.attribute)
                macs = math.prod(out) * int(weight.shape[1] if trans_b else weight.shape[0])
        summary.rows.append(LayerRow(node.name or f"{node.op_type}_{index}", node.op_type, out, params, macs,
                                     bits, memory))
    return summary
