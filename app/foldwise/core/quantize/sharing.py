"""Which activation quantizers share one scale and bit width, and why: the inputs of every residual add and
of every concatenation (a skip by concatenation).

FINN adds two integer streams (ElementwiseAdd) only after streamlining has moved both inputs' float scales
past the add, which it can do when the scales are equal (``x·s + y·s = (x + y)·s``); with two scales a float
Mul stays on one branch and everything behind it stays on the CPU. A concatenation (StreamingConcat) joins
integer streams the same way, and Brevitas also gives its inputs one sign. Brevitas's ``quantize()`` aligns
them with its own mechanism (``residual_handler``): a QuantIdentity inserted before the join, called on every
input, or an existing QuantReLU re-made with that identity's scaling implementation. This module reads the
result back from the graph for the Quantize panel and ``quantize.json``; it never changes the network.
"""

from __future__ import annotations

import operator
from dataclasses import asdict, dataclass, field
from typing import Any

import torch
from torch import fx

from foldwise.core.quantize import _graph

_ADD_FUNCTIONS = (operator.add, operator.iadd, torch.add)
_ADD_METHODS = ("add", "add_")

WHY = ("both inputs of a residual add need one scale and bit width: FINN's streamlining moves the two scales "
       "past the add only when they are equal, then adds integer streams (ElementwiseAdd)")
WHY_CONCAT = ("every input of a concatenation needs one scale, bit width and sign: FINN's streamlining moves one "
              "scale past it, then joins integer streams (StreamingConcat)")


@dataclass
class SharedInput:
    quantizer: str  # module name in the quantized graph (the same module may feed both inputs)
    after: str | None  # the weight layer whose output it quantizes, if any
    signed: bool


@dataclass
class SharedGroup:
    """One join (a residual add or a concatenation) and the quantizers on its inputs."""

    join: str  # the add's or concatenation's node name in the FX graph
    inputs: list[SharedInput] = field(default_factory=list)
    shared: bool = False  # one scaling implementation for all inputs (Brevitas aligned them)
    bits: list[int] = field(default_factory=list)
    why: str = WHY
    kind: str = "add"  # or "concatenation"

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def _is_add(node: fx.Node) -> bool:
    return (node.op == "call_function" and node.target in _ADD_FUNCTIONS) or \
        (node.op == "call_method" and node.target in _ADD_METHODS)


def _is_concat(node: fx.Node) -> bool:
    return node.op == "call_function" and node.target is torch.cat


def concatenates(gm: fx.GraphModule) -> bool:
    """True if the traced network joins tensors with ``torch.cat``."""
    return any(_is_concat(node) for node in gm.graph.nodes)


def _joined(node: fx.Node) -> tuple[str, list[fx.Node]] | None:
    """(kind, the computed tensors it joins) of an add of two tensors or a concatenation; None otherwise."""
    # Brevitas traces with its own backport of torch.fx: its nodes are not torch.fx.Node instances
    if _is_add(node):
        tensors = [arg for arg in node.args[:2] if hasattr(arg, "all_input_nodes")]
        return ("add", tensors) if len(tensors) == 2 else None  # one input constant: a bias, not a join
    if _is_concat(node):
        listed = node.kwargs.get("tensors", node.args[0] if node.args else [])
        tensors = [arg for arg in listed if hasattr(arg, "all_input_nodes")]
        return ("concatenation", tensors) if len(tensors) >= 2 else None
    return None


def _scaling(module: Any) -> Any:
    proxy = module.act_quant.fused_activation_quant_proxy.tensor_quant
    return getattr(proxy, "scaling_impl", None)


def shared_quantizers(gm: fx.GraphModule) -> list[SharedGroup]:
    """One :class:`SharedGroup` per join (an add of two computed tensors, a concatenation), in graph order."""
    groups = []
    for node in gm.graph.nodes:
        joined = _joined(node)
        if joined is None:
            continue
        kind, tensors = joined
        group = SharedGroup(str(node.name), kind=kind, why=WHY_CONCAT if kind == "concatenation" else WHY)
        impls = []
        for tensor in tensors:
            quant = _graph.quantizer_source(gm, tensor)
            if quant is None:
                group.inputs.append(SharedInput("(none: float)", None, False))
                impls.append(None)
                continue
            module = gm.get_submodule(quant.target)
            group.inputs.append(SharedInput(str(quant.target), _graph.producer_layer(gm, quant),
                                            bool(module.act_quant.is_signed)))
            group.bits.append(int(module.act_quant.bit_width()))
            impls.append(_scaling(module))
        group.shared = impls[0] is not None and all(impl is impls[0] for impl in impls)
        groups.append(group)
    return groups


def describe(groups: list[dict[str, Any]]) -> list[str]:
    """One line per join for the panel and the CLI, from :meth:`SharedGroup.to_dict` records."""
    lines = []
    for group in groups:
        kind = group.get("kind", "add")
        parts = [f"{item['quantizer']}" + (f" (after {item['after']})" if item.get("after") else "")
                 for item in group["inputs"]]
        bits = sorted(set(group.get("bits") or []))
        signed = any(item["signed"] for item in group["inputs"])
        sign = "" if kind == "add" else (", signed" if signed else ", unsigned")
        state = f"share one scale, {'/'.join(map(str, bits))} bits{sign}" if group["shared"] else \
            f"do NOT share a scale: FINN will leave this {kind} on the CPU"
        label = group["join"] if kind == "add" else f"{group['join']} ({kind})"
        lines.append(f"{label}: {' + '.join(parts)} {state}")
    return lines


def heading(groups: list[dict[str, Any]]) -> str:
    """What ``groups`` are and why they share, for the line above :func:`describe`'s:
    ``1 residual add — both inputs of a residual add need …``."""
    kinds = [group.get("kind", "add") for group in groups]
    counts = ", ".join(f"{kinds.count(kind)} {'residual add' if kind == 'add' else kind}(s)"
                       for kind in dict.fromkeys(kinds))
    return f"{counts} — {'; '.join(dict.fromkeys(group.get('why', WHY) for group in groups))}"
