"""Sensitivity scan: how accuracy falls as each layer alone loses a growing share of its channels.

Each point prunes one layer of a fresh copy (no fine-tuning) and measures accuracy on up to ``max_images``
validation images, so the curves show which layers tolerate pruning. Each point is sent to ``ctx.partial``
as it comes (for a live plot) and the scan stops between points when cancelled.
"""

from __future__ import annotations

import copy
from collections.abc import Sequence
from typing import Any

import torch
from torch import nn

from foldwise.core.errors import InputError
from foldwise.core.jobs import JobContext, null_context
from foldwise.core.networks.batches import as_tensors
from foldwise.core.networks.spec import InputSpec
from foldwise.core.protocol import SCAN
from foldwise.core.prune._model import WEIGHTED_TYPES, check_float, trace_calls, unknown_name_error
from foldwise.core.prune.channels import out_width, prune_step
from foldwise.core.prune.config import CRITERIA, SensitivityResult, check_ratio

DEFAULT_RATIOS = (0.1, 0.3, 0.5, 0.7, 0.9)
DEFAULT_MAX_IMAGES = SCAN.images


def scan_layers(model: nn.Module, spec: InputSpec) -> list[str]:
    """The layers a scan covers by default: every conv and fully connected layer but the output layer."""
    trace = trace_calls(model, spec)
    weighted = [c.name for c in trace.calls if isinstance(c.module, WEIGHTED_TYPES)]
    return weighted[:-1]


def _accuracy(model: nn.Module, images: torch.Tensor, labels: torch.Tensor, spec: InputSpec) -> float:
    from foldwise.core.networks.train import evaluate

    return evaluate(model, (images, labels), spec=spec).accuracy


def sensitivity_scan(
    model: nn.Module,
    spec: InputSpec,
    dataset: Any,
    layers: Sequence[str] | None = None,
    ratios: Sequence[float] = DEFAULT_RATIOS,
    criterion: str = "l1",
    max_images: int = DEFAULT_MAX_IMAGES,
    ctx: JobContext | None = None,
    taylor_batch: tuple[torch.Tensor, torch.Tensor] | None = None,
) -> SensitivityResult:
    """Accuracy of ``model`` on ``dataset`` with each of ``layers`` pruned alone at each of ``ratios``."""
    import time

    ctx = ctx or null_context()
    check_float(model)
    if criterion.lower() not in CRITERIA:
        raise InputError(f"unknown pruning criterion {criterion!r}; use one of {', '.join(CRITERIA)}")
    ratios = sorted({check_ratio(r, "scan ratio") for r in ratios})
    if not ratios:
        raise InputError("give at least one ratio to scan")
    if max_images < 1:
        raise InputError(f"the scan needs at least one image, got max_images={max_images}")
    base = copy.deepcopy(model).eval()
    known = scan_layers(base, spec)
    modules = dict(base.named_modules())
    if layers is None:
        layers = known
    for name in layers:
        if name not in modules:
            raise unknown_name_error(name, [n for n in modules if n])
        if name not in known:
            raise InputError(f"{name} cannot be scanned: only convolution and fully connected layers before the "
                             "output layer have channels to prune")
    if not layers:
        raise InputError("the network has no layers to scan (only an output layer)")
    images, labels = as_tensors(dataset, "scan set")
    images, labels = images[:max_images], labels[:max_images]
    started = time.monotonic()
    output_layer = trace_calls(base, spec).output_layer or ""
    result = SensitivityResult(_accuracy(base, images, labels, spec), list(ratios), criterion=criterion.lower(),
                               images=int(labels.shape[0]))
    ctx.log(f"sensitivity scan: baseline accuracy {result.baseline:.4f} on {result.images} images")
    total = len(layers) * len(ratios)
    for i, name in enumerate(layers):
        width = out_width(modules[name])
        result.widths[name] = width
        result.curves[name] = []
        for j, ratio in enumerate(ratios):
            ctx.check_cancelled()
            ctx.progress((i * len(ratios) + j) / total, f"{name}: {ratio:.0%} of {width} channels")
            work = copy.deepcopy(base)
            keep = max(1, int(width * (1 - ratio)))
            share = 1.0 - (keep + 0.5) / width if width > keep else 0.0
            if share > 0:
                prune_step(work, spec, [output_layer], criterion.lower(), 0.0, {name: share},
                           taylor_batch=taylor_batch)
            accuracy = _accuracy(work, images, labels, spec)
            result.curves[name].append(accuracy)
            ctx.partial({"layer": name, "ratio": ratio, "accuracy": accuracy, "baseline": result.baseline,
                         "ratios": list(ratios)})
        ctx.log(f"{name}: " + ", ".join(f"{r:.0%} → {a:.3f}" for r, a in zip(ratios, result.curves[name],
                                                                          strict=True)))
    result.seconds = round(time.monotonic() - started, 2)
    ctx.progress(1.0, "sensitivity scan done")
    return result
