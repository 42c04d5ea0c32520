"""Removing layers (or whole blocks) from a float network and rewiring what is left.

A removed layer is taken out of its ``nn.Sequential`` (or its node is erased from an ``fx.GraphModule``); in
any other module it becomes an ``nn.Identity``, which rewires whatever the parent's ``forward`` does. One image
is then run through the network: each layer whose input width no longer fits (a Conv2d's ``in_channels``, a
BatchNorm's features, the first Linear's ``in_features`` after a Flatten) is re-created at the new width with
fresh weights, and the pass is repeated until the network runs. Anything else that breaks (a residual add
whose branches now differ, a Linear that would get an unflattened tensor) is an InputError saying which layer
and why; the caller's model is never touched.
"""

from __future__ import annotations

import copy
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

import torch
from torch import fx, nn

from foldwise.core.errors import InputError
from foldwise.core.networks.spec import InputSpec
from foldwise.core.prune._model import (
    CallTrace,
    check_float,
    covers,
    example_input,
    is_leaf,
    parent_of,
    resolve_names,
    trace_calls,
)


@dataclass
class RemovalResult:
    """The rewired copy, what was removed, and which layers were re-created (with fresh weights) and why."""

    model: nn.Module
    removed: list[str]
    recreated: list[str] = field(default_factory=list)
    reasons: dict[str, str] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return {"removed": self.removed, "recreated": self.recreated, "reasons": self.reasons}


def remove_layers(model: nn.Module, names: Iterable[str], spec: InputSpec) -> RemovalResult:
    """A copy of ``model`` without the layers or containers ``names`` (dotted names or patterns like
    ``features.*5``), rewired and with the next consumers re-created at their new input width.

    InputError (and nothing changed) for an unknown name, the input layer, the output layer, the only layer,
    a quantized network, or a removal that cannot be rewired.
    """
    names = [n for n in names if n and n.strip()]
    if not names:
        raise InputError("name at least one layer to remove")
    check_float(model)
    work = copy.deepcopy(model)
    work.eval()
    targets = _topmost(resolve_names(work, names))
    before = trace_calls(work, spec)
    _check_removable(before, targets)
    for target in targets:
        _detach(work, target)
    result = RemovalResult(work, targets)
    _rewire(work, spec, before, result)
    after = trace_calls(work, spec)
    if after.output_shape != before.output_shape:
        raise InputError(
            f"removing {_listing(targets)} changes the network's output from {_dims(before.output_shape)} to "
            f"{_dims(after.output_shape)} values per image, so it cannot be rewired"
        )
    return result


def _topmost(names: list[str]) -> list[str]:
    """Drop names inside another named container (removing ``features`` already removes ``features.conv1``)."""
    return [n for n in names if not any(other != n and covers(other, n) for other in names)]


def _listing(names: list[str]) -> str:
    return ", ".join(names[:4]) + (f" and {len(names) - 4} more" if len(names) > 4 else "")


def _dims(shape: tuple[int, ...] | None) -> str:
    return "×".join(map(str, (shape or ())[1:])) or "?"


def _check_removable(trace: CallTrace, targets: list[str]) -> None:
    weighted = trace.weighted
    for target in targets:
        if not any(covers(target, call.name) for call in trace.calls):
            raise InputError(f"{target} is not used by the network's forward pass, so it cannot be removed")
    if not weighted:
        raise InputError("the network has no layers with weights")
    if len(weighted) == 1 and any(covers(t, weighted[0].name) for t in targets):
        raise InputError(f"{weighted[0].name} is the only layer with weights: removing it leaves no network")
    if all(any(covers(t, call.name) for t in targets) for call in weighted):
        raise InputError(f"removing {_listing(targets)} removes every layer with weights: nothing would be left")
    for target in targets:
        if covers(target, trace.input_layer or ""):
            what = "is" if target == trace.input_layer else f"holds {trace.input_layer},"
            raise InputError(
                f"{target} {what} the input layer (the first layer reading the image): it cannot be removed; "
                "remove later layers, or prune its channels instead"
            )
        if covers(target, trace.output_layer or ""):
            what = "is" if target == trace.output_layer else f"holds {trace.output_layer},"
            raise InputError(
                f"{target} {what} the output layer (its outputs are the class scores): it cannot be removed; "
                "remove the layers before it and Foldwise re-creates it at its new input size"
            )


def _detach(model: nn.Module, name: str) -> None:
    if isinstance(model, fx.GraphModule) and _erase_fx_nodes(model, name):
        return
    parent, child = parent_of(model, name)
    if isinstance(parent, nn.Sequential):
        delattr(parent, child)
    else:
        # The parent's forward still calls it: an identity is the rewire for any graph, traceable or not.
        setattr(parent, child, nn.Identity())


def _erase_fx_nodes(gm: fx.GraphModule, name: str) -> bool:
    nodes = [n for n in gm.graph.nodes if n.op == "call_module" and covers(name, str(n.target))]
    if not nodes:
        return False
    for node in nodes:
        inputs = node.all_input_nodes
        if len(inputs) != 1 or not node.args or node.args[0] is not inputs[0]:
            raise InputError(
                f"{node.target} takes {len(inputs)} tensor inputs, so removing {name} cannot be rewired"
            )
        node.replace_all_uses_with(inputs[0])
        gm.graph.erase_node(node)
    gm.delete_submodule(name)
    gm.graph.lint()
    gm.recompile()
    return True


class _Mismatch(Exception):
    """Control flow inside the rewiring loop: a layer whose input width no longer fits; never escapes."""

    def __init__(self, name: str, module: nn.Module, width: int) -> None:
        super().__init__(name)
        self.name, self.module, self.width = name, module, width


def _expected_width(module: nn.Module) -> tuple[int, int, str] | None:
    """(dimension, expected size, unit) of the input width a layer is built for, if it has one."""
    if isinstance(module, nn.modules.conv._ConvNd):
        return 1, module.in_channels, "channels"
    if isinstance(module, nn.Linear):
        return -1, module.in_features, "features"
    if isinstance(module, nn.modules.batchnorm._NormBase) and module.num_features:
        return 1, module.num_features, "channels"
    if isinstance(module, nn.GroupNorm):
        return 1, module.num_channels, "channels"
    return None


def recreate(name: str, module: nn.Module, width: int) -> nn.Module:
    """A fresh layer like ``module`` taking ``width`` input channels/features (InputError if none fits)."""
    if isinstance(module, nn.modules.conv._ConvNd):
        groups, out = module.groups, module.out_channels
        if groups > 1:
            if groups == module.in_channels and out % groups == 0:  # depthwise: keeps one group per channel
                out, groups = width * (out // groups), width
            elif width % groups:
                raise InputError(f"{name} is a grouped convolution (groups={groups}) and cannot take {width} "
                                 "input channels")
        kwargs: dict[str, Any] = {"stride": module.stride, "padding": module.padding, "dilation": module.dilation,
                                  "groups": groups, "bias": module.bias is not None,
                                  "padding_mode": module.padding_mode}
        if module.transposed:
            kwargs["output_padding"] = module.output_padding
        new: nn.Module = type(module)(width, out, module.kernel_size, **kwargs)
    elif isinstance(module, nn.Linear):
        new = type(module)(width, module.out_features, bias=module.bias is not None)
    elif isinstance(module, nn.modules.batchnorm._NormBase):
        new = type(module)(width, eps=module.eps, momentum=module.momentum, affine=module.affine,
                           track_running_stats=module.track_running_stats)
    elif isinstance(module, nn.GroupNorm):
        if width % module.num_groups:
            raise InputError(f"{name} is a GroupNorm with {module.num_groups} groups and cannot take {width} "
                             "channels")
        new = nn.GroupNorm(module.num_groups, width, eps=module.eps, affine=module.affine)
    else:  # pragma: no cover - _expected_width only reports the types above
        raise InputError(f"{name} ({type(module).__name__}) cannot be re-created at a new width")
    return new.train(module.training)


def _rewire(model: nn.Module, spec: InputSpec, before: CallTrace, result: RemovalResult) -> None:
    ranks = {call.name: len(call.in_shape) for call in before.calls if call.in_shape is not None}
    leaves = [(name, m) for name, m in model.named_modules() if name and is_leaf(m)]
    for _ in range(len(leaves) + 2):
        try:
            _run_checked(model, spec, ranks, result.removed)
            return
        except _Mismatch as mismatch:
            _, old, unit = _expected_width(mismatch.module)  # type: ignore[misc]
            parent, child = parent_of(model, mismatch.name)
            setattr(parent, child, recreate(mismatch.name, mismatch.module, mismatch.width))
            if mismatch.name not in result.recreated:
                result.recreated.append(mismatch.name)
            result.reasons[mismatch.name] = f"input {old} → {mismatch.width} {unit}"
    raise InputError(f"removing {_listing(result.removed)} cannot be rewired (the layers never settled)")


def _run_checked(model: nn.Module, spec: InputSpec, ranks: dict[str, int], removed: list[str]) -> None:
    """One forward pass that stops (``_Mismatch``) at the first layer whose input width no longer fits."""
    state: dict[str, str | None] = {"inside": None, "last": None}
    handles = []

    def pre(name: str, module: nn.Module, inputs: tuple[Any, ...]) -> None:
        state["inside"] = name
        x = inputs[0] if inputs else None
        shape = tuple(getattr(x, "shape", ()))
        if name in ranks and shape and len(shape) != ranks[name]:
            raise InputError(
                f"removing {_listing(removed)} cannot be rewired: {name} ({type(module).__name__}) would get a "
                f"{len(shape)}-D tensor ({_dims(shape)}) instead of a {ranks[name]}-D one"
            )
        expected = _expected_width(module)
        if expected is not None and shape:
            dim, size, _ = expected
            if shape[dim] != size:
                raise _Mismatch(name, module, int(shape[dim]))

    def post(name: str, *_: Any) -> None:
        state["inside"], state["last"] = None, name

    for name, module in model.named_modules():
        if name and is_leaf(module):
            handles.append(module.register_forward_pre_hook(lambda m, i, name=name: pre(name, m, i)))
            handles.append(module.register_forward_hook(lambda m, i, o, name=name: post(name)))
    try:
        with torch.no_grad():
            model(example_input(spec))
    except (_Mismatch, InputError):
        raise
    except Exception as exc:
        if state["inside"]:
            where = f"in {state['inside']}"
        elif state["last"]:
            where = f"after {state['last']} (outside any layer, e.g. where two branches are added)"
        else:
            where = "before the first layer"
        raise InputError(
            f"removing {_listing(removed)} cannot be rewired: the network fails {where}: "
            f"{type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''}"
        ) from exc
    finally:
        for handle in handles:
            handle.remove()
