"""Per-layer table of a network: output shape, parameters, MACs and weight memory at a given precision.

Shapes and MACs come from one forward pass of a zero batch of one image (forward hooks). A "layer" is a
module with no children, or any torch/Brevitas layer (a Brevitas ``QuantConv2d`` has quantizer children but
is one layer). MACs are counted for convolutions and fully connected layers only, per image. Memory is
parameters × bits / 8 in MB (10^6 bytes); the bits are 32 unless overridden, globally or per layer.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field
from typing import Any

import torch
from torch import nn

from foldwise.core.errors import InputError
from foldwise.core.networks.spec import InputSpec

_LAYER_MODULES = ("torch.nn.modules.", "brevitas.nn.")


@dataclass
class LayerRow:
    """One layer: dotted name, class name, output shape (no batch dim; None if never called), counts."""

    name: str
    type: str
    output_shape: tuple[int, ...] | None
    params: int
    macs: int
    bits: int
    weight_mb: float


@dataclass
class NetworkSummary:
    """All layers in definition order plus totals; ``to_dict()`` is JSON-able."""

    input_shape: tuple[int, ...]
    output_shape: tuple[int, ...] | None
    rows: list[LayerRow] = field(default_factory=list)

    @property
    def total_params(self) -> int:
        return sum(row.params for row in self.rows)

    @property
    def total_macs(self) -> int:
        return sum(row.macs for row in self.rows)

    @property
    def total_mb(self) -> float:
        return sum(row.weight_mb for row in self.rows)

    def row(self, name: str) -> LayerRow:
        for row in self.rows:
            if row.name == name:
                return row
        raise InputError(f"no layer named {name!r} in this network")

    def to_dict(self) -> dict[str, Any]:
        return {
            "input_shape": list(self.input_shape),
            "output_shape": None if self.output_shape is None else list(self.output_shape),
            "layers": [
                {**asdict(row), "output_shape": None if row.output_shape is None else list(row.output_shape)}
                for row in self.rows
            ],
            "total_params": self.total_params,
            "total_macs": self.total_macs,
            "total_mb": self.total_mb,
        }

    def format_table(self) -> str:
        """A plain-text table for the CLI."""
        lines = [f"{'layer':<32} {'type':<18} {'output':<16} {'params':>10} {'MACs':>12} {'bits':>4} {'MB':>9}"]
        for r in self.rows:
            shape = "×".join(map(str, r.output_shape)) if r.output_shape is not None else "-"
            lines.append(f"{r.name:<32} {r.type:<18} {shape:<16} {r.params:>10,} {r.macs:>12,} {r.bits:>4} "
                         f"{r.weight_mb:>9.4f}")
        lines.append(f"{'total':<32} {'':<18} {'':<16} {self.total_params:>10,} {self.total_macs:>12,} {'':>4} "
                     f"{self.total_mb:>9.4f}")
        return "\n".join(lines)


def _is_layer(module: nn.Module) -> bool:
    if not any(True for _ in module.children()):
        return True
    if isinstance(module, (nn.Sequential, nn.ModuleList, nn.ModuleDict)):
        return False
    return type(module).__module__.startswith(_LAYER_MODULES)


def _layers(model: nn.Module, prefix: str = "") -> list[tuple[str, nn.Module]]:
    found: list[tuple[str, nn.Module]] = []
    for name, child in model.named_children():
        full = f"{prefix}{name}"
        if _is_layer(child):
            found.append((full, child))
        else:
            # Parameters owned by a container itself (not by a child) still count, as a row of their own.
            if any(True for _ in child.parameters(recurse=False)):
                found.append((full, _OwnParameters(child)))
            found.extend(_layers(child, full + "."))
    return found


class _OwnParameters(nn.Module):
    """Stand-in row for the parameters a container holds directly."""

    def __init__(self, owner: nn.Module) -> None:
        super().__init__()
        self.owner_type = type(owner).__name__
        self.count = sum(p.numel() for p in owner.parameters(recurse=False))


def _macs(module: nn.Module, inputs: tuple[Any, ...], output: torch.Tensor) -> int:
    """Multiply-accumulates of one call, for the first image of the batch."""
    if isinstance(module, nn.modules.conv._ConvNd):
        kernel = math.prod(module.kernel_size)
        if module.transposed:
            # A transposed conv scatters each input element to out_channels/groups × kernel outputs.
            source = _value(inputs[0]) if inputs else None
            return 0 if source is None else int(source[0].numel()) * module.out_channels // module.groups * kernel
        return int(output[0].numel()) * (module.in_channels // module.groups) * kernel
    if isinstance(module, nn.Linear):
        return int(output[0].numel()) * module.in_features
    return 0


def _value(output: Any) -> torch.Tensor | None:
    # Brevitas layers may return a QuantTensor; its .value is the plain tensor.
    if isinstance(output, torch.Tensor):
        return output
    value = getattr(output, "value", None)
    if isinstance(value, torch.Tensor):
        return value
    if isinstance(output, (tuple, list)) and output:
        return _value(output[0])
    return None


def summarize(model: nn.Module, spec: InputSpec, precision_bits: int | dict[str, int] = 32) -> NetworkSummary:
    """Per-layer rows and totals for ``model`` fed one image of ``spec.shape``.

    ``precision_bits`` is the weight precision: one value for every layer, or ``{layer name: bits}`` with
    32 for the layers not named. Unknown layer names are an InputError (a typo would silently count 32).
    """
    onnx_bytes = getattr(model, "onnx_bytes", None)
    if isinstance(onnx_bytes, bytes):
        # An OnnxNetwork (QONNX kept as a graph): bit widths come from the graph's quantizers.
        import onnx

        from foldwise.core.networks._onnx_summary import summarize_onnx

        default = precision_bits if isinstance(precision_bits, int) else 32
        return summarize_onnx(onnx.load_from_string(onnx_bytes), spec, default)
    layers = _layers(model)
    names = {name for name, _ in layers}
    if isinstance(precision_bits, dict):
        unknown = sorted(set(precision_bits) - names)
        if unknown:
            raise InputError(f"precision given for unknown layers: {', '.join(unknown)}")
        bits_for = {name: int(precision_bits.get(name, 32)) for name in names}
    else:
        bits_for = dict.fromkeys(names, int(precision_bits))
    bad = {n: b for n, b in bits_for.items() if b < 1}
    if bad:
        raise InputError(f"bits per weight must be at least 1: {bad}")

    shapes: dict[str, tuple[int, ...]] = {}
    macs: dict[str, int] = dict.fromkeys(names, 0)

    def hook(name: str, module: nn.Module, inputs: tuple[Any, ...], output: Any) -> None:
        tensor = _value(output)
        if tensor is None:
            return
        shapes.setdefault(name, tuple(tensor.shape[1:]))
        macs[name] += _macs(module, inputs, tensor)

    handles = [
        module.register_forward_hook(lambda m, i, o, name=name: hook(name, m, i, o))
        for name, module in layers
        if not isinstance(module, _OwnParameters)
    ]
    was_training = model.training
    model.eval()
    try:
        with torch.no_grad():
            output = model(torch.zeros(1, *spec.shape))
    except Exception as exc:
        raise InputError(
            f"the network does not accept input {'×'.join(map(str, spec.shape))}: {type(exc).__name__}: {exc}"
        ) from exc
    finally:
        for handle in handles:
            handle.remove()
        model.train(was_training)

    out_tensor = _value(output)
    summary = NetworkSummary(tuple(spec.shape), None if out_tensor is None else tuple(out_tensor.shape[1:]))
    for name, module in layers:
        if isinstance(module, _OwnParameters):
            params, type_name = module.count, f"{module.owner_type} (own parameters)"
        else:
            params, type_name = sum(p.numel() for p in module.parameters()), type(module).__name__
        bits = bits_for[name]
        summary.rows.append(LayerRow(name, type_name, shapes.get(name), int(params), macs[name], bits,
                                     params * bits / 8 / 1e6))
    return summary
