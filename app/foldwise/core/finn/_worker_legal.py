"""Legal folding values, validation and per-node option tables (worker side, imports FINN).

Which attribute bounds which dimension follows FINN's ``SetFolding`` (set_folding.py, finn-plus 1.6.1);
every candidate is then probed with the node's own FINN methods (folded shapes, ``get_exp_cycles``,
``node_res_estimation``), so a value FINN would reject is never offered. Depthwise sliding-window generators
are tied to their consumer: their SIMD must equal the VVAU/Pool PE, as SetFolding sets it.
"""

from __future__ import annotations

import itertools
from typing import Any

import numpy as np
from finn.transformation.fpgadataflow.set_folding import ELEMENTWISE_BINARY_OPS, common_divisors, divisors
from finn.util.basic import MAX_ALLOWED_AP_INT_W, getHWCustomOp
from finn.util.fpgadataflow import is_hls_node, is_rtl_node
from qonnx.core.modelwrapper import ModelWrapper

from foldwise.core.errors import InputError
from foldwise.core.finn.boards import board_for_part

FOLDING_ATTRS = ("PE", "SIMD", "parallel_window", "ram_style", "ram_style_thresholds", "resType", "mem_mode")
KNOB_ATTRS = ("ram_style", "resType")  # memory/compute trades the auto-fit explores
RESOURCE_KEYS = ("LUT", "BRAM_18K", "URAM", "DSP")

# copied from SetFolding.apply: which ops fold with PE / SIMD, bounded by NumChannels (or the last dim)
_PE_OPS = {"DuplicateStreams_hls", "GlobalAccPool_hls", "PWPolyF_rtl", "Thresholding_hls", "Thresholding_rtl",
           "ReplicateStream_hls", *ELEMENTWISE_BINARY_OPS, "Squeeze_hls", "Unsqueeze_hls", "Reshape_rtl"}
_SIMD_OPS = {"FMPadding_rtl", "FMPadding_Pixel_hls", "ConvolutionInputGenerator_rtl", "StreamingSplit_hls",
             "StreamingConcat_hls", "LayerNorm_rtl", "Shuffle"}
_DEPTHWISE_CONSUMERS = {"VVAU_hls", "VVAU_rtl", "Pool_hls"}

#: ops whose staying on the host means the accelerator skips real work (not a mere edge layout change)
#: (a float scale or bias left at the output, typical for FINN, is not: the host applies it cheaply)
COMPUTE_OPS = {"MatMul", "Gemm", "Conv", "ConvTranspose", "MultiThreshold", "Quant", "BipolarQuant", "Trunc",
               "MaxPool", "AveragePool", "GlobalAveragePool", "BatchNormalization"}

_CPU_HINTS = {
    "Transpose": "layout change at the graph edge (NCHW->NHWC); FINN leaves it to the host",
    "Mul": "a float scale that streamlining could not absorb into a threshold",
    "Add": "a float bias that streamlining could not absorb into a threshold",
    "MatMul": "float or non-integer weights/inputs: quantize the layer and its input",
    "Conv": "float or non-integer weights/inputs, or an unsupported conv configuration",
    "Reshape": "a reshape FINN cannot express as a stream operation",
    "Softmax": "no FINN hardware layer (export logits, or end at TopK)",
    "Concat": "FINN concatenates integer streams of one scale along channels only (StreamingConcat)",
}


def cpu_nodes(model: ModelWrapper) -> list[dict[str, str]]:
    """Nodes not converted to FINN hardware layers, with a hint why."""
    out = []
    for node in model.graph.node:
        if node.domain.startswith("finn.custom_op.fpgadataflow"):
            continue
        float_in = [t for t in node.input if model.get_initializer(t) is None and t
                    and model.get_tensor_datatype(t).name == "FLOAT32"]
        why = _CPU_HINTS.get(node.op_type, "FINN has no hardware layer for this op with these attributes/types")
        if float_in and node.op_type not in ("Transpose",):
            why += f" (float input {float_in[0]})"
        out.append({"name": node.name, "op_type": node.op_type, "why": why})
    return out


def _hw_nodes(model: ModelWrapper) -> list:
    return [n for n in model.graph.node if is_hls_node(n) or is_rtl_node(n)]


def _fast_inst(node: Any) -> Any:
    """The node's FINN op with its attribute-type table computed once: FINN rebuilds that dict on every
    ``get_nodeattr`` call, which is most of the cost of probing thousands of foldings."""
    inst = getHWCustomOp(node)
    types = inst.get_nodeattr_types()
    inst.get_nodeattr_types = lambda: types
    return inst


#: FINN memory modes whose weights live outside the fabric and stream in over AXI from DRAM
EXTERNAL_MEM_MODES = ("external", "external_mem")


def external_weight_streams(model: ModelWrapper) -> dict[str, int]:
    """Bytes per frame each layer with weights outside the fabric reads: FINN's folded shape of the node's
    weight input (one word per cycle, every output pixel re-reads the matrix) times that stream's width."""
    out = {}
    for node in _hw_nodes(model):
        inst = _fast_inst(node)
        if "mem_mode" not in _attr_types(inst) or inst.get_nodeattr("mem_mode") not in EXTERNAL_MEM_MODES:
            continue
        words = int(np.prod(inst.get_folded_input_shape(1)[:-1]))
        out[node.name] = -(-words * int(inst.get_instream_width(1)) // 8)
    return out


def _attr_types(inst: Any) -> dict[str, tuple]:
    return inst.get_nodeattr_types()


def _bound(inst: Any, op: str) -> dict[str, list[int]]:
    """Candidate PE/SIMD values per SetFolding's rules (before probing)."""
    def chans(attr: str, fallback: str) -> int:
        try:
            return int(inst.get_nodeattr(attr))
        except Exception:  # newer ops lack NumChannels; SetFolding then uses the shape too
            shape = inst.get_normal_output_shape() if fallback == "out" else inst.get_normal_input_shape()
            return int(shape[-1])

    if op in ("MVAU_hls", "MVAU_rtl"):
        return {"PE": list(divisors(int(inst.get_nodeattr("MH")))),
                "SIMD": list(divisors(int(inst.get_nodeattr("MW"))))}
    if op in _PE_OPS:
        return {"PE": list(divisors(chans("NumChannels", "out")))}
    if op == "LabelSelect_hls":
        return {"PE": list(divisors(int(inst.get_nodeattr("Labels"))))}
    if op in _DEPTHWISE_CONSUMERS:
        cands = {"PE": list(divisors(int(inst.get_nodeattr("Channels"))))}
        if op.startswith("VVAU"):
            cands["SIMD"] = list(divisors(int(np.prod(inst.get_nodeattr("Kernel")))))
        return cands
    if op.startswith("ConvolutionInputGenerator"):
        if inst.get_nodeattr("depthwise"):
            return {}  # tied to the consumer's PE
        cands = {"SIMD": list(divisors(int(inst.get_nodeattr("IFMChannels"))))}
        if op == "ConvolutionInputGenerator_rtl":
            cands["parallel_window"] = [0, 1]
        return cands
    if op in ("StreamingConcat_hls", "StreamingSplit_hls"):
        return {"SIMD": [int(x) for x in common_divisors(list(inst.get_nodeattr("ChannelsPerStream")))]}
    if op in _SIMD_OPS:
        return {"SIMD": list(divisors(chans("NumChannels", "in")))}
    return {}


def _probe(inst: Any, part: str, attrs: dict[str, Any]) -> tuple[int, dict[str, float]] | None:
    """Cycles and resources FINN estimates for ``attrs`` on this node, or None if FINN rejects them."""
    old = {a: inst.get_nodeattr(a) for a in attrs}
    try:
        for a, v in attrs.items():
            inst.set_nodeattr(a, v)
        inst.get_folded_input_shape()
        inst.get_folded_output_shape()
        if inst.onnx_node.op_type == "MVAU_hls" and inst.get_nodeattr("mem_mode") == "internal_decoupled" \
                and inst.get_instream_width(1) > MAX_ALLOWED_AP_INT_W:
            return None
        cycles = int(inst.get_exp_cycles())
        res = inst.node_res_estimation(part)
        return cycles, {k: float(res.get(k, 0) or 0) for k in RESOURCE_KEYS}
    except Exception:  # FINN signals an illegal folding with asserts and assorted exceptions
        return None
    finally:
        for a, v in old.items():
            inst.set_nodeattr(a, v)


def _ties(model: ModelWrapper) -> dict[str, tuple[str, str]]:
    """Depthwise SWU name -> (consumer name, consumer attr) whose value its SIMD must equal."""
    ties = {}
    for node in _hw_nodes(model):
        if node.op_type in _DEPTHWISE_CONSUMERS:
            producer = model.find_producer(node.input[0])
            if producer is not None and producer.op_type.startswith("ConvolutionInputGenerator"):
                ties[producer.name] = (node.name, "PE")
    return ties


def _no_uram(part: str) -> bool:
    board = board_for_part(part)
    return board is not None and board.uram == 0


def describe_nodes(model: ModelWrapper, part: str) -> list[dict[str, Any]]:
    """Each hardware node: op type, current folding attrs, legal values, tie, FINN's cycles and resources."""
    ties = _ties(model)
    out = []
    for node in _hw_nodes(model):
        inst = _fast_inst(node)
        types = _attr_types(inst)
        attrs = {a: inst.get_nodeattr(a) for a in FOLDING_ATTRS if a in types}
        legal: dict[str, list] = {}
        for attr, cands in _bound(inst, node.op_type).items():
            legal[attr] = [v for v in cands if _probe(inst, part, {attr: v}) is not None] or [attrs.get(attr)]
        for attr in FOLDING_ATTRS:
            if attr in types and attr not in legal and len(types[attr]) > 3 and types[attr][3]:
                values = sorted(types[attr][3], key=str)
                if attr.startswith("ram_style") and _no_uram(part):
                    values = [v for v in values if v != "ultra"]
                legal[attr] = values
        probe = _probe(inst, part, {})
        out.append({
            "name": node.name,
            "op_type": node.op_type,
            "attrs": attrs,
            "legal": legal,
            "tied_to": {"node": ties[node.name][0], "attr": ties[node.name][1]} if node.name in ties else None,
            "other_attrs": sorted(a for a in types if a not in FOLDING_ATTRS),
            "cycles": probe[0] if probe else None,
            "resources": probe[1] if probe else None,
        })
    by_name = {d["name"]: d for d in out}
    for swu, (consumer, attr) in ties.items():  # the SWU's SIMD follows its consumer's PE
        by_name[swu]["legal"]["SIMD"] = list(by_name[consumer]["legal"].get(attr, []))
    return out


def validate(model: ModelWrapper, folding: dict[str, Any], part: str,
             nodes: list[dict[str, Any]] | None = None) -> None:
    """InputError (listing legal values) if ``folding`` sets an unknown node/attr or an illegal value.

    ``nodes``: a cached :func:`describe_nodes` of this model (probing every candidate is the slow part).
    """
    from foldwise.core.finn.folding import check_against

    check_against(folding, nodes if nodes is not None else describe_nodes(model, part))
    by_name = {n.name: n for n in _hw_nodes(model)}
    problems = []
    for name, attrs in folding.items():
        if name == "Defaults" or name not in by_name:
            continue
        wanted = {a: v for a, v in attrs.items() if a in ("PE", "SIMD", "parallel_window")}
        if wanted and _probe(getHWCustomOp(by_name[name]), part, wanted) is None:
            problems.append(f"{name}: FINN rejects the combination {wanted}")
    if problems:
        raise InputError("illegal folding: " + "; ".join(problems))


def totals(node_resources: dict[str, dict[str, float]]) -> dict[str, float]:
    out = dict.fromkeys(RESOURCE_KEYS, 0.0)
    for name, res in node_resources.items():
        if name != "total":
            for k in RESOURCE_KEYS:
                out[k] += float(res.get(k, 0) or 0)
    return out


def option_tables(model: ModelWrapper, part: str, knobs: bool = True) -> list[dict[str, Any]]:
    """For each node (a depthwise SWU joins its consumer's group): every legal choice and its estimates.

    Returns ``[{"nodes": [...], "options": [{"attrs": {node: {attr: v}}, "cycles": c, "res": {...},
    "node_cycles": {node: c}}]}]`` where ``cycles`` is the slowest node of the group and ``res`` the group's
    sum. Attributes an option does not name keep the node's own value (``describe_nodes``'s ``attrs``).
    """
    described = {d["name"]: d for d in describe_nodes(model, part)}
    ties = _ties(model)
    insts = {n.name: _fast_inst(n) for n in _hw_nodes(model)}
    groups = []
    for name, desc in described.items():
        if name in ties:
            continue
        fold_attrs = [a for a in ("PE", "SIMD", "parallel_window") if a in desc["legal"]]
        knob_attrs = [a for a in KNOB_ATTRS if knobs and a in desc["legal"]]
        legal = dict(desc["legal"])
        for a in knob_attrs:  # "auto" resolves to an explicit style, so it adds no choice to search; it stays
            # where it is the node's own value, so that foldings FINN writes can be looked up in the table
            legal[a] = [v for v in legal[a] if v != "auto" or v == desc["attrs"].get(a)] or legal[a]
        members = [name] + [s for s, (consumer, _) in ties.items() if consumer == name]
        options = []
        for values in itertools.product(*(legal[a] for a in fold_attrs + knob_attrs)):
            attrs = dict(zip(fold_attrs + knob_attrs, values, strict=True))
            if attrs.get("parallel_window") == 1 and attrs.get("SIMD") != max(desc["legal"].get("SIMD", [0])):
                continue  # FINN's RTL SWG only uses the parallel window with SIMD at its maximum
            probe = _probe(insts[name], part, attrs)
            if probe is None:
                continue
            group_attrs, node_cycles, res = {name: attrs}, {name: probe[0]}, dict(probe[1])
            for swu in members[1:]:
                swu_probe = _probe(insts[swu], part, {"SIMD": attrs["PE"]})
                if swu_probe is None:
                    break
                group_attrs[swu] = {"SIMD": attrs["PE"]}
                node_cycles[swu] = swu_probe[0]
                res = {k: res[k] + swu_probe[1][k] for k in RESOURCE_KEYS}
            else:
                options.append({"attrs": group_attrs, "cycles": max(node_cycles.values()), "res": res,
                                "node_cycles": node_cycles})
        if not options:  # nothing tunable: keep the node as it is
            probe = _probe(insts[name], part, {})
            if probe is not None:
                options.append({"attrs": {name: {}}, "cycles": probe[0], "res": probe[1],
                                "node_cycles": {name: probe[0]}})
        groups.append({"nodes": members, "options": options})
    return groups
