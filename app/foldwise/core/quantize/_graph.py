"""FX-graph helpers for PTQ: tracing with a clear error, the in-graph input scaling, FINN clean-ups and
the map from Brevitas quantizers back to the float network's layer names."""

from __future__ import annotations

import operator
import sys
from dataclasses import dataclass

import brevitas.nn as qnn
import torch
from brevitas.nn.quant_layer import QuantWeightBiasInputOutputLayer
from torch import fx, nn

from foldwise.core.errors import InputError
from foldwise.core.quantize.quantizers import COMPUTE_TYPES

# Modules and calls that pass quantized values through unchanged (FX walks look through them).
_PASS_MODULES = (nn.MaxPool1d, nn.MaxPool2d, nn.Dropout, nn.Dropout2d, nn.Identity, nn.Flatten)
_PASS_FUNCTIONS = (torch.flatten, torch.reshape, torch.transpose)
_PASS_METHODS = ("view", "reshape", "flatten", "permute", "t")
ACT_TYPES = (qnn.QuantReLU, qnn.QuantIdentity)


def weight_layers(model: nn.Module) -> list[str]:
    return [name for name, m in model.named_modules() if name and isinstance(m, tuple(COMPUTE_TYPES))]


def check_finite(model: nn.Module) -> None:
    """InputError naming the first layer whose parameters or buffers hold NaN or Inf."""
    for module_name, module in model.named_modules():
        tensors = [*module.named_parameters(recurse=False), *module.named_buffers(recurse=False)]
        for tensor_name, tensor in tensors:
            if tensor.is_floating_point() and not bool(torch.isfinite(tensor).all()):
                raise InputError(f"layer {module_name or '(root)'} has NaN or Inf values in its {tensor_name}; "
                                 "retrain or reload the network before quantizing")


def trace_error(model: nn.Module, exc: BaseException, what: str = "traced") -> InputError:
    """An InputError naming the innermost submodule whose ``forward`` was running when ``exc`` was raised."""
    names = {id(m): name for name, m in model.named_modules()}
    culprit = None
    tb = exc.__traceback__ if exc.__traceback__ is not None else sys.exc_info()[2]
    while tb is not None:
        owner = tb.tb_frame.f_locals.get("self")
        if owner is not None and id(owner) in names and tb.tb_frame.f_code.co_name == "forward":
            culprit = names[id(owner)]
        tb = tb.tb_next
    where = f"module {culprit!r} ({type(dict(model.named_modules())[culprit]).__name__})" if culprit else \
        f"the network ({type(model).__name__})"
    first_line = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
    return InputError(f"Brevitas cannot quantize {where}: it cannot be {what} ({first_line}); "
                      "rewrite its forward without data-dependent Python control flow")


def drop_string_annotations(gm: fx.GraphModule) -> None:
    """Forget type annotations FX recorded as strings (``forward(self, x: torch.Tensor)`` in a module with
    ``from __future__ import annotations``): the saved graph module's code would import them by name, and
    pickling it fails ("'str' object has no attribute '__name__'")."""
    changed = False
    for node in gm.graph.nodes:
        if isinstance(node.type, str):
            node.type = None
            changed = True
    if changed:
        gm.recompile()


@dataclass
class InputScaling:
    """Affine map ``x * gain + offset`` from raw 0..255 pixels to what the float network expects."""

    gain: torch.Tensor
    offset: torch.Tensor | None

    @classmethod
    def from_spec(cls, spec: object | None, channels: int) -> InputScaling:
        low, high = getattr(spec, "pixel_range", (0.0, 1.0)) if spec is not None else (0.0, 1.0)
        mean = getattr(spec, "mean", None) if spec is not None else None
        std = getattr(spec, "std", None) if spec is not None else None
        if mean is None and std is None and low == 0.0:
            return cls(torch.tensor((high - low) / 255.0), None)
        mean_t = torch.tensor(mean or (0.0,)).expand(channels).reshape(1, -1, 1, 1)
        std_t = torch.tensor(std or (1.0,)).expand(channels).reshape(1, -1, 1, 1)
        return cls((high - low) / 255.0 / std_t, (low - mean_t) / std_t)


def insert_input_scaling(gm: fx.GraphModule, scaling: InputScaling) -> None:
    """Put the pixel scaling into the graph right after the input, so the exported model takes raw 0..255."""
    graph = gm.graph
    placeholder = next(n for n in graph.nodes if n.op == "placeholder")
    users = list(placeholder.users)
    with graph.inserting_after(placeholder):
        if scaling.gain.dim() == 0:
            node = graph.call_function(operator.mul, (placeholder, float(scaling.gain)))
        else:
            gm.register_buffer("input_gain", scaling.gain)
            node = graph.call_function(operator.mul, (placeholder, graph.get_attr("input_gain")))
    if scaling.offset is not None:
        gm.register_buffer("input_offset", scaling.offset)
        with graph.inserting_after(node):
            offset = graph.get_attr("input_offset")
        with graph.inserting_after(offset):
            node = graph.call_function(operator.add, (node, offset))
    for user in users:
        user.replace_input_with(placeholder, node)
    graph.lint()
    gm.recompile()


def _module(gm: fx.GraphModule, node: fx.Node) -> nn.Module | None:
    return gm.get_submodule(node.target) if node.op == "call_module" else None


def _passes_through(gm: fx.GraphModule, node: fx.Node) -> bool:
    if node.op == "call_module":
        return isinstance(_module(gm, node), _PASS_MODULES)
    if node.op == "call_function":
        return node.target in _PASS_FUNCTIONS
    return node.op == "call_method" and node.target in _PASS_METHODS


def quantizer_source(gm: fx.GraphModule, node: fx.Node) -> fx.Node | None:
    """The activation-quantizer call whose value reaches ``node`` through pass-through ops only, if any."""
    while node.op != "placeholder":
        module = _module(gm, node)
        if module is not None and hasattr(module, "act_quant"):
            return node
        if not _passes_through(gm, node) or not node.all_input_nodes:
            return None
        node = node.all_input_nodes[0]
    return None


def already_quantized(gm: fx.GraphModule, node: fx.Node) -> bool:
    """True if ``node``'s value comes from an activation quantizer through pass-through ops only."""
    return quantizer_source(gm, node) is not None


def remove_redundant_quants(gm: fx.GraphModule) -> list[str]:
    """Drop Brevitas's input quantizer on the raw image and ``<layer>_input_quant`` nodes on already
    quantized values (MaxPool→Flatten): the first splits FINN's dataflow partition, and a quantizer on the
    UINT8 input gives FINN thresholds it rejects. The first layer then reads the scaled UINT8 image."""
    removed = []
    graph = gm.graph
    for node in list(graph.nodes):
        if node.op != "call_module":
            continue
        target = str(node.target)
        placeholder_quant = node.all_input_nodes and node.all_input_nodes[0].op == "placeholder" \
            and target.endswith("_quant") and isinstance(_module(gm, node), qnn.QuantIdentity)
        redundant = target.endswith("_input_quant") and already_quantized(gm, node.all_input_nodes[0])
        if placeholder_quant or redundant:
            node.replace_all_uses_with(node.all_input_nodes[0])
            graph.erase_node(node)
            delattr(gm, target)
            removed.append(target)
    graph.lint()
    gm.recompile()
    return removed


def producer_layer(gm: fx.GraphModule, node: fx.Node) -> str | None:
    """The weight layer whose output ``node`` quantizes, looking back through pass-through ops."""
    current = node.all_input_nodes[0] if node.all_input_nodes else None
    while current is not None and current.op != "placeholder":
        module = _module(gm, current)
        if isinstance(module, QuantWeightBiasInputOutputLayer):
            return str(current.target)
        if not _passes_through(gm, current) or not current.all_input_nodes:
            return None
        current = current.all_input_nodes[0]
    return None


@dataclass
class ActSite:
    """One activation quantizer in the quantized graph."""

    module: str  # the module name in the quantized graph (``features.relu1``, ``classifier_fc3_output_quant``)
    layer: str | None  # the weight layer whose output it quantizes, if any
    returns_quant_tensor: bool = True  # as built; switched off while the quantizer is disabled


def act_sites(gm: fx.GraphModule) -> list[ActSite]:
    """Every activation quantizer module called in the graph, in execution order."""
    sites = []
    for node in gm.graph.nodes:
        module = _module(gm, node)
        if isinstance(module, ACT_TYPES):
            sites.append(ActSite(str(node.target), producer_layer(gm, node), bool(module.return_quant_tensor)))
    return sites


def weight_sites(model: nn.Module) -> list[str]:
    return [name for name, m in model.named_modules() if isinstance(m, QuantWeightBiasInputOutputLayer)]
