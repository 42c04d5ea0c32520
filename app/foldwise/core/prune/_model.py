"""What the prune passes need to know about a network: its layers by name, the order they run in, and
whether it is still a float network (torch-pruning and layer surgery only work before quantization)."""

from __future__ import annotations

import difflib
import fnmatch
from dataclasses import dataclass
from typing import Any

import torch
from torch import nn

from foldwise.core.errors import InputError
from foldwise.core.networks.spec import InputSpec

# Layers whose output width can be pruned or whose input width is re-created after a removal.
WEIGHTED_TYPES = (nn.modules.conv._ConvNd, nn.Linear)


def quant_layers(model: nn.Module) -> list[str]:
    """Names of the Brevitas quant layers in ``model`` (without importing Brevitas)."""
    return [name for name, module in model.named_modules() if type(module).__module__.startswith("brevitas")]


def check_float(model: nn.Module, what: str = "the network") -> None:
    """InputError if ``model`` holds Brevitas quant layers: pruning corrupts the graph ``quantize()`` returns."""
    found = quant_layers(model)
    if found:
        shown = ", ".join(found[:3]) + (" …" if len(found) > 3 else "")
        raise InputError(
            f"{what} is quantized (quantized layers such as {shown}): prune the float network, then quantize it"
        )


def is_leaf(module: nn.Module) -> bool:
    return not any(True for _ in module.children())


@dataclass
class LayerCall:
    """One leaf layer as called by a forward pass of one image: input and output shapes (batch dim kept)."""

    name: str
    module: nn.Module
    in_shape: tuple[int, ...] | None
    out_shape: tuple[int, ...] | None

    @property
    def weighted(self) -> bool:
        return any(True for _ in self.module.parameters(recurse=False))


@dataclass
class CallTrace:
    """Leaf layers in the order a forward pass calls them, and the network's output shape."""

    calls: list[LayerCall]
    output_shape: tuple[int, ...]

    @property
    def weighted(self) -> list[LayerCall]:
        return [c for c in self.calls if c.weighted]

    @property
    def input_layer(self) -> str | None:
        """The first layer with weights that the image meets."""
        weighted = self.weighted
        return weighted[0].name if weighted else None

    @property
    def output_layer(self) -> str | None:
        """The last layer with weights: its outputs are the class scores."""
        weighted = self.weighted
        return weighted[-1].name if weighted else None

    def get(self, name: str) -> LayerCall | None:
        for call in self.calls:
            if call.name == name:
                return call
        return None


def _shape(value: Any) -> tuple[int, ...] | None:
    if isinstance(value, torch.Tensor):
        return tuple(value.shape)
    if isinstance(value, (tuple, list)) and value:
        return _shape(value[0])
    inner = getattr(value, "value", None)
    return tuple(inner.shape) if isinstance(inner, torch.Tensor) else None


def example_input(spec: InputSpec) -> torch.Tensor:
    """A fixed pseudo-random image batch of one, in the network's input range (for tracing, not for numbers)."""
    gen = torch.Generator().manual_seed(0)
    return spec.prepare(torch.rand(1, *spec.shape, generator=gen))


def trace_calls(model: nn.Module, spec: InputSpec) -> CallTrace:
    """Run one image through ``model`` (eval mode, no grad) and record every leaf layer call in order."""
    calls: list[LayerCall] = []
    seen: set[str] = set()
    handles = []
    for name, module in model.named_modules():
        if not name or not is_leaf(module):
            continue

        def hook(mod: nn.Module, inputs: tuple[Any, ...], output: Any, name: str = name) -> None:
            if name not in seen:  # a layer called twice (shared) is listed at its first call
                seen.add(name)
                calls.append(LayerCall(name, mod, _shape(inputs), _shape(output)))

        handles.append(module.register_forward_hook(hook))
    was_training = model.training
    model.eval()
    try:
        with torch.no_grad():
            output = model(example_input(spec))
    except Exception as exc:
        raise InputError(
            f"the network does not run on a {'×'.join(map(str, spec.shape))} input: {type(exc).__name__}: {exc}"
        ) from exc
    finally:
        for handle in handles:
            handle.remove()
        model.train(was_training)
    return CallTrace(calls, _shape(output) or ())


def modules_by_name(model: nn.Module) -> dict[str, nn.Module]:
    return {name: module for name, module in model.named_modules() if name}


def unknown_name_error(name: str, known: list[str], what: str = "layer") -> InputError:
    close = difflib.get_close_matches(name, known, n=3, cutoff=0.5)
    hint = f"; did you mean {', '.join(close)}?" if close else f"; layers are: {', '.join(known[:12])}" + (
        " …" if len(known) > 12 else "")
    return InputError(f"no {what} named {name!r} in this network{hint}")


def resolve_names(model: nn.Module, names: list[str], what: str = "layer") -> list[str]:
    """Module names for ``names`` (exact dotted names or ``fnmatch`` patterns such as ``features.*5``), in
    definition order, without duplicates. InputError naming the first that matches nothing."""
    known = list(modules_by_name(model))
    wanted: set[str] = set()
    for raw in names:
        name = raw.strip()
        if not name:
            continue
        if name in known:
            wanted.add(name)
            continue
        if any(ch in name for ch in "*?["):
            matched = [k for k in known if fnmatch.fnmatchcase(k, name)]
            if matched:
                wanted.update(matched)
                continue
            raise InputError(f"no {what} matches the pattern {name!r} in this network")
        raise unknown_name_error(name, known, what)
    return [k for k in known if k in wanted]


def covers(container: str, name: str) -> bool:
    """Whether module ``container`` is ``name`` or one of its ancestors."""
    return name == container or name.startswith(container + ".")


def parent_of(model: nn.Module, name: str) -> tuple[nn.Module, str]:
    """The module holding ``name`` as a child, and the child's attribute name."""
    parent_name, _, child = name.rpartition(".")
    parent = model.get_submodule(parent_name) if parent_name else model
    return parent, child


def count_params(model: nn.Module) -> int:
    return sum(p.numel() for p in model.parameters())
