"""Which activation quantizers share one scale and bit width, and why: the inputs of every residual add.

FINN adds two integer streams (ElementwiseAdd) only after streamlining has moved both inputs' float scales
past the add, which it can do when the scales are equal (``x·s + y·s = (x + y)·s``); with two scales a float
Mul stays on one branch and everything behind it stays on the CPU. Brevitas's ``quantize()`` aligns them with
its own mechanism (``residual_handler``): a QuantIdentity inserted before the add, called on both inputs, or
an existing QuantReLU re-made with that identity's scaling implementation. This module reads the result back
from the graph for the Quantize panel and ``quantize.json``; it never changes the network.
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


@dataclass
class SharedInput:
    quantizer: str  # module name in the quantized graph (the same module may feed both inputs)
    after: str | None  # the weight layer whose output it quantizes, if any
    signed: bool


@dataclass
class SharedGroup:
    """One residual add and the quantizers on its inputs."""

    join: str  # the add's node name in the FX graph
    inputs: list[SharedInput] = field(default_factory=list)
    shared: bool = False  # one scaling implementation for all inputs (Brevitas aligned them)
    bits: list[int] = field(default_factory=list)
    why: str = WHY

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def _is_add(node: fx.Node) -> bool:
    return (node.op == "call_function" and node.target in _ADD_FUNCTIONS) or \
        (node.op == "call_method" and node.target in _ADD_METHODS)


def _scaling(module: Any) -> Any:
    proxy = module.act_quant.fused_activation_quant_proxy.tensor_quant
    return getattr(proxy, "scaling_impl", None)


def shared_quantizers(gm: fx.GraphModule) -> list[SharedGroup]:
    """One :class:`SharedGroup` per add of two computed tensors (a residual join), in graph order."""
    groups = []
    for node in gm.graph.nodes:
        if not _is_add(node):
            continue
        # Brevitas traces with its own backport of torch.fx: its nodes are not torch.fx.Node instances
        tensors = [arg for arg in node.args[:2] if hasattr(arg, "all_input_nodes")]
        if len(tensors) != 2:
            continue  # a constant bias, not a join
        group = SharedGroup(str(node.name))
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
    """One line per residual add for the panel and the CLI, from :meth:`SharedGroup.to_dict` records."""
    lines = []
    for group in groups:
        parts = [f"{item['quantizer']}" + (f" (after {item['after']})" if item.get("after") else "")
                 for item in group["inputs"]]
        bits = sorted(set(group.get("bits") or []))
        state = f"share one scale, {'/'.join(map(str, bits))} bits" if group["shared"] else \
            "do NOT share a scale: FINN will leave this add on the CPU"
        lines.append(f"{group['join']}: {' + '.join(parts)} {state}")
    return lines
