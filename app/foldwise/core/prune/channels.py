"""Structured channel pruning with torch-pruning: tensors really shrink, coupled layers stay consistent.

torch-pruning's dependency graph finds every layer tied to a pruned channel (the BatchNorm after a conv, the
next conv's input channels, the first Linear's inputs after a Flatten) and cuts them together. The output layer
is always kept whole (its outputs are the classes); the input layer's outputs can be protected too. Iterative
pruning runs ``steps`` single-step pruners on the current network, each cutting its share of the original
channels, so the caller can fine-tune between steps (fine-tuning returns a new module, which a long-lived
pruner would not follow). Float networks only: torch-pruning corrupts the graph Brevitas's ``quantize()`` returns.
"""

from __future__ import annotations

import copy
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import torch
from torch import nn

from foldwise.core.errors import InputError
from foldwise.core.jobs import JobContext, null_context
from foldwise.core.networks.spec import InputSpec
from foldwise.core.prune._model import (
    WEIGHTED_TYPES,
    check_float,
    example_input,
    modules_by_name,
    trace_calls,
    unknown_name_error,
)
from foldwise.core.prune.config import CRITERIA, check_ratio

# torch-pruning never empties a layer; with global ranking, keep at least this share of each layer.
MAX_LAYER_RATIO = 0.9


def importance(criterion: str) -> Any:
    """The torch-pruning importance object for a criterion name in :data:`CRITERIA`."""
    import torch_pruning as tp

    criterion = criterion.lower()
    if criterion == "l1":
        return tp.importance.GroupMagnitudeImportance(p=1)
    if criterion == "l2":
        return tp.importance.GroupMagnitudeImportance(p=2)
    if criterion == "fpgm":
        return tp.importance.FPGMImportance()
    if criterion == "taylor":
        return tp.importance.GroupTaylorImportance()
    if criterion == "random":
        return tp.importance.RandomImportance()
    raise InputError(f"unknown pruning criterion {criterion!r}; use one of {', '.join(CRITERIA)}")


def out_width(module: nn.Module) -> int:
    return int(module.out_channels if isinstance(module, nn.modules.conv._ConvNd) else module.out_features)


def widths(model: nn.Module) -> dict[str, int]:
    """Output channels (conv) or features (linear) of every weighted layer, by name."""
    return {name: out_width(m) for name, m in model.named_modules() if isinstance(m, WEIGHTED_TYPES)}


@dataclass
class ChannelResult:
    """The pruned copy and per-layer output widths before and after."""

    model: nn.Module
    before: dict[str, int]
    after: dict[str, int]
    protected: list[str]
    steps: int = 1
    details: dict[str, Any] = field(default_factory=dict)

    @property
    def changed(self) -> dict[str, tuple[int, int]]:
        return {k: (self.before[k], self.after.get(k, self.before[k])) for k in self.before
                if self.after.get(k, self.before[k]) != self.before[k]}

    def to_dict(self) -> dict[str, Any]:
        return {"widths": {k: [self.before[k], self.after.get(k)] for k in self.before},
                "protected": self.protected, "steps": self.steps, **self.details}


@dataclass
class _Plan:
    ratio: float
    layer_ratios: dict[str, float]
    ignored: list[str]


def plan(model: nn.Module, spec: InputSpec, ratio: float | None, layer_ratios: Mapping[str, float] | None,
         protect_input: bool, protected: Sequence[str]) -> _Plan:
    """Check the request against the network and name the protected layers (InputError on bad input)."""
    if ratio is None and not layer_ratios:
        raise InputError("give a channel ratio (the share of channels to remove) or per-layer ratios")
    global_ratio = 0.0 if ratio is None else check_ratio(ratio)
    trace = trace_calls(model, spec)
    modules = modules_by_name(model)
    prunable = [c.name for c in trace.calls if isinstance(c.module, WEIGHTED_TYPES)]
    if not prunable:
        raise InputError("the network has no convolution or fully connected layers to prune")
    output_layer = prunable[-1]
    ignored = [output_layer]
    if protect_input and prunable[0] != output_layer:
        ignored.insert(0, prunable[0])
    for name in protected:
        if name not in modules:
            raise unknown_name_error(name, list(modules))
        if name not in ignored:
            ignored.append(name)
    checked: dict[str, float] = {}
    for name, value in dict(layer_ratios or {}).items():
        if name not in modules:
            raise unknown_name_error(name, list(modules))
        if not isinstance(modules[name], WEIGHTED_TYPES):
            raise InputError(f"{name} is a {type(modules[name]).__name__}: give channel ratios for convolution or "
                             "fully connected layers (the layers around them follow)")
        if name == output_layer:
            raise InputError(f"{name} is the output layer: its outputs are the class scores and cannot be pruned")
        if name in ignored:
            raise InputError(f"{name} is protected: unprotect it to prune its channels")
        checked[name] = check_ratio(value, f"channel ratio for {name}")
    if len(prunable) == len(ignored) and not checked:
        raise InputError("every prunable layer is protected: nothing would be pruned")
    return _Plan(global_ratio, checked, ignored)


def _step_ratio(target: float, step: int, steps: int) -> float:
    """Share of the *current* channels to cut at ``step`` so that after ``steps`` steps ``target`` of the
    original channels are gone (linear schedule, as torch-pruning's own). Used with global ranking."""
    done, goal = target * (step - 1) / steps, target * step / steps
    return 0.0 if goal <= done else 1.0 - (1.0 - goal) / (1.0 - done)


def _layer_step_ratios(the_plan: _Plan, original: dict[str, int], current: dict[str, int], prunable: list[str],
                       step: int, steps: int) -> dict[str, float]:
    """Per-layer shares of the current channels to cut at ``step``, aiming at exact channel counts: after
    the last step each layer keeps ``int(width × (1 − ratio))`` channels, as a single step would."""
    out: dict[str, float] = {}
    for name in prunable:
        ratio = the_plan.layer_ratios.get(name, the_plan.ratio)
        if name in the_plan.ignored or ratio <= 0:
            continue
        width = original[name]
        keep = int(width * (1 - ratio)) if step == steps else round(width * (1 - ratio * step / steps))
        keep = max(1, keep)
        if current[name] > keep:
            # torch-pruning keeps int(current × (1 − share)) channels: aim half a channel above to stay exact.
            out[name] = 1.0 - (keep + 0.5) / current[name]
    return out


def _taylor_grads(model: nn.Module, batch: tuple[torch.Tensor, torch.Tensor] | None, spec: InputSpec) -> None:
    if batch is None:
        raise InputError("the taylor criterion needs training images (none were given)")
    from foldwise.core.networks.batches import logits_of, to_input

    images, labels = batch
    model.zero_grad(set_to_none=True)
    was_training = model.training
    model.eval()
    loss = nn.functional.cross_entropy(logits_of(model(to_input(images, spec))), labels)
    loss.backward()
    model.train(was_training)


def prune_step(model: nn.Module, spec: InputSpec, ignored: Sequence[str], criterion: str,
               ratio: float = 0.0, layer_ratios: Mapping[str, float] | None = None, global_ranking: bool = False,
               round_to: int | None = None, taylor_batch: tuple[torch.Tensor, torch.Tensor] | None = None) -> None:
    """Prune ``model`` in place once: ``ratio`` of every layer's current channels (``layer_ratios`` by name
    override it), never touching the ``ignored`` layers."""
    import torch_pruning as tp

    modules = modules_by_name(model)
    pruner = tp.pruner.BasePruner(
        model,
        example_input(spec),
        importance=importance(criterion),
        global_pruning=global_ranking,
        pruning_ratio=ratio,
        pruning_ratio_dict={modules[name]: r for name, r in (layer_ratios or {}).items()} or None,
        max_pruning_ratio=MAX_LAYER_RATIO,
        ignored_layers=[modules[name] for name in ignored],
        round_to=round_to or None,
    )
    if criterion == "taylor":
        _taylor_grads(model, taylor_batch, spec)
    with torch.no_grad():
        pruner.step()
    model.zero_grad(set_to_none=True)


def prune_channels(
    model: nn.Module,
    spec: InputSpec,
    ratio: float | None = None,
    layer_ratios: Mapping[str, float] | None = None,
    criterion: str = "l1",
    global_ranking: bool = False,
    protect_input: bool = True,
    protected: Sequence[str] = (),
    steps: int = 1,
    round_to: int | None = None,
    between_steps: Callable[[nn.Module, int], nn.Module] | None = None,
    taylor_batch: tuple[torch.Tensor, torch.Tensor] | None = None,
    ctx: JobContext | None = None,
) -> ChannelResult:
    """A copy of ``model`` with ``ratio`` of each layer's output channels removed (or ``layer_ratios[name]``
    for the named layers; with ``global_ranking`` the channels are ranked across layers instead).

    ``steps`` > 1 prunes gradually; ``between_steps(model, step)`` (e.g. a fine-tune) runs after every step
    but the last and returns the network to continue with. Raises InputError for a ratio outside (0, 1), an
    unknown or unprunable layer, an unknown criterion or a quantized network.
    """
    ctx = ctx or null_context()
    check_float(model)
    if criterion.lower() not in CRITERIA:
        raise InputError(f"unknown pruning criterion {criterion!r}; use one of {', '.join(CRITERIA)}")
    if int(steps) < 1:
        raise InputError(f"steps must be at least 1, got {steps}")
    if round_to is not None and int(round_to) < 0:
        raise InputError(f"round_to must be a positive channel multiple, got {round_to}")
    work = copy.deepcopy(model)
    work.eval()
    the_plan = plan(work, spec, ratio, layer_ratios, protect_input, protected)
    before = widths(work)
    prunable = list(before)
    steps, criterion = int(steps), criterion.lower()
    for step in range(1, steps + 1):
        ctx.check_cancelled()
        ctx.progress((step - 1) / steps, f"pruning channels, step {step}/{steps}")
        if global_ranking:
            prune_step(work, spec, the_plan.ignored, criterion, _step_ratio(the_plan.ratio, step, steps),
                       {k: _step_ratio(r, step, steps) for k, r in the_plan.layer_ratios.items()}, True,
                       round_to, taylor_batch)
        else:
            shares = _layer_step_ratios(the_plan, before, widths(work), prunable, step, steps)
            if shares:
                prune_step(work, spec, the_plan.ignored, criterion, 0.0, shares, False, round_to, taylor_batch)
        ctx.log(f"pruning step {step}/{steps}: {sum(p.numel() for p in work.parameters()):,} parameters left")
        if between_steps is not None and step < steps:
            work = between_steps(work, step)
            work.eval()
    ctx.progress(1.0, "channels pruned")
    return ChannelResult(work, before, widths(work), the_plan.ignored, steps,
                         {"criterion": criterion, "ratio": ratio, "layer_ratios": the_plan.layer_ratios,
                          "global_ranking": global_ranking, "round_to": round_to})
