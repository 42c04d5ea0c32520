"""The prune stage over a project: remove layers and/or prune channels, fine-tune, and a new iteration.

``prune_iteration`` is what ``foldwise prune`` and the Prune panel run (as a job). It measures the parent on
the test split, prunes a copy, optionally fine-tunes, measures again, and writes a ``pruned`` iteration whose
change record holds the request and the labelled figures before and after. A quantized iteration is refused
(torch-pruning breaks the graph Brevitas's ``quantize()`` returns) with the id of its float ancestor.
``scan_iteration`` runs the sensitivity scan and keeps its result in the project cache.
"""

from __future__ import annotations

import json
from dataclasses import asdict
from pathlib import Path
from typing import Any

from foldwise.core import iterations
from foldwise.core.atomic import atomic_write_json
from foldwise.core.errors import InputError
from foldwise.core.jobs import JobContext, null_context
from foldwise.core.project import Iteration, IterationKind, Project, figure
from foldwise.core.protocol import REPORT, SCAN, accuracy_figure
from foldwise.core.prune.config import (
    PruneSpec,
    QuantizedIterationError,
    ScanSpec,
    SensitivityResult,
)

__all__ = ["PruneSpec", "QuantizedIterationError", "ScanSpec", "check_prunable", "prune_iteration",
           "scan_iteration"]

PRUNE_FILE = "prune.json"
SCAN_DIR = "sensitivity"
FIGURE_KEYS = ("params", "macs", "weight_mb", "accuracy")


def _quantized_error(project: Project, iteration: Iteration, why: str) -> QuantizedIterationError:
    parent = iterations.float_ancestor(project, iteration)
    offer = (f"; prune its float parent, iteration {parent.label}, then quantize the result"
             if parent is not None else "; import or train a float network to prune")
    return QuantizedIterationError(
        f"iteration {iteration.label} is quantized ({why}): only a float network can be pruned, because removing "
        f"layers or channels cannot follow the quantized layers' scales{offer}",
        iteration.id, parent.id if parent is not None else None,
    )


def check_prunable(project: Project, iteration: Iteration | None) -> Iteration:
    """The iteration to prune, or InputError (QuantizedIterationError for a quantized one), from the
    manifest and the iteration's file list: no model is loaded."""
    if iteration is None:
        raise InputError(f"project {project.name} has no network to prune yet: train or import one first")
    if iterations.is_quantized(iteration):
        why = "Quantize made it" if iteration.kind == IterationKind.QUANTIZED else "it holds quantization settings"
        raise _quantized_error(project, iteration, why)
    return iteration


def _figures(summary: Any, accuracy: Any) -> dict[str, Any]:
    return {**iterations.network_figures(summary),
            "accuracy": accuracy_figure(accuracy.accuracy, REPORT, accuracy.count)}


def plain(figures: dict[str, Any]) -> dict[str, Any]:
    """Figures as bare numbers, under the names the CLI's JSON uses (``mb`` for weight memory)."""
    rename = {"weight_mb": "mb"}
    return {rename.get(k, k): (v.get("value") if isinstance(v, dict) else v) for k, v in figures.items()}


def prune_iteration(project: Project, spec: PruneSpec, ctx: JobContext | None = None, *,
                    splits: Any = None) -> Iteration:
    """Prune ``spec.iteration`` (default: current) as ``spec`` says and store the result as a new iteration.

    Checks everything it can before touching data (InputError, project unchanged): a quantized iteration,
    unknown layer names, ratios outside (0, 1), layers that cannot be removed or rewired. ``splits`` are
    data already loaded (tests and benchmarks reuse them), instead of the project's.
    """
    from foldwise.core.networks.summary import summarize
    from foldwise.core.networks.train import TrainConfig, evaluate, train
    from foldwise.core.prune._model import quant_layers
    from foldwise.core.prune.channels import prune_channels
    from foldwise.core.prune.remove_layers import remove_layers

    ctx = ctx or null_context()
    parent = check_prunable(project, project.get(spec.iteration) if spec.iteration else project.current)
    ctx.progress(0.0, f"loading {parent.label}")
    network = iterations.load_network(project, parent)
    found = quant_layers(network.model)
    if found:
        raise _quantized_error(project, parent, f"its network has quantized layers such as {found[0]}")

    # Remove layers and check the channel request before loading any data, so bad requests fail fast.
    removal = remove_layers(network.model, spec.remove, network.spec) if spec.remove else None
    model = removal.model if removal is not None else network.model
    if spec.prunes_channels:
        from foldwise.core.prune.channels import plan

        plan(model, network.spec, spec.ratio, spec.layer_ratios, spec.protect_input, spec.protected)

    ctx.progress(0.02, "preparing data")
    splits = splits if splits is not None else iterations.load_splits(project, ctx.sub(0.02, 0.12), network.spec)
    ctx.check_cancelled()
    ctx.progress(0.12, "measuring the network before pruning")
    report = REPORT.take(splits)  # every accuracy the iteration reports: the whole test split
    before_test = evaluate(network.model, report, spec=network.spec, ctx=ctx.sub(0.12, 0.17))
    before = _figures(summarize(network.model, network.spec), before_test)
    ctx.log(f"before: {before['params']['value']:,} parameters, test accuracy {before_test.accuracy:.4f}")

    defaults = {k: v for k, v in project.settings.get("train", {}).items() if k != "epochs"}
    history: list[Any] = []

    def finetune(m: Any, sub: JobContext, label: str) -> Any:
        config = TrainConfig.from_dict({**defaults, "epochs": int(spec.finetune_epochs), "patience": None,
                                        **({"lr": spec.finetune_lr} if spec.finetune_lr else {})})
        sub.log(f"fine-tuning {label} for {config.epochs} epochs")
        result = train(m, splits.train, splits.val, config, sub, ctx.partial, network.spec)
        history.extend(result.history)
        return result.model

    # Fine-tuning is the long part: one progress slot per fine-tune (after each step, or once).
    slots = int(spec.steps) if spec.prunes_channels else 1

    def slot(i: int) -> JobContext:
        return ctx.sub(0.2 + 0.75 * i / slots, 0.2 + 0.75 * (i + 1) / slots)

    channels = None
    if spec.prunes_channels:

        def between(m: Any, step: int) -> Any:
            return finetune(m, slot(step - 1), f"after step {step}") if spec.finetune_epochs else m

        channels = prune_channels(
            model, network.spec, spec.ratio, spec.layer_ratios, spec.criterion, spec.global_ranking,
            spec.protect_input, spec.protected, slots, spec.round_to, between,
            taylor_batch=_taylor_batch(splits) if spec.criterion == "taylor" else None, ctx=ctx.sub(0.17, 0.2),
        )
        model = channels.model
    ctx.check_cancelled()
    last = slot(slots - 1)
    last.progress(0.0, "measuring the pruned network")
    pruned_test = evaluate(model, report, spec=network.spec, ctx=last.sub(0.0, 0.0))
    ctx.log(f"after pruning: test accuracy {pruned_test.accuracy:.4f}")
    if spec.finetune_epochs:
        model = finetune(model, last, "the pruned network")
        ctx.progress(0.95, "measuring the fine-tuned network")
        after_test = evaluate(model, report, spec=network.spec, ctx=ctx.sub(0.95, 0.99))
    else:
        after_test = pruned_test
    summary = summarize(model, network.spec)
    after = _figures(summary, after_test)
    ctx.check_cancelled()

    change = {
        "stage": "prune",
        "arch": network.arch,
        "spec": spec.to_dict(),
        "removed": removal.removed if removal else [],
        "recreated": removal.recreated if removal else [],
        "recreated_why": removal.reasons if removal else {},
        "channels": channels.to_dict() if channels else None,
        "finetune_epochs": int(spec.finetune_epochs),
        "before": before,
        "after": after,
        "pruned_accuracy": accuracy_figure(pruned_test.accuracy, REPORT, pruned_test.count,
                                           note="after pruning, before fine-tuning"),
    }
    with project.new_iteration(IterationKind.PRUNED, spec.name or spec.default_name(), parent=parent,
                               change=change) as draft:
        iterations.write_network_files(draft.folder, network, model, summary)
        atomic_write_json(draft.folder / PRUNE_FILE, change)
        if history:
            atomic_write_json(draft.folder / iterations.HISTORY_FILE,
                              {"history": [asdict(r) for r in history], "stage": "prune fine-tune"})
        draft.metrics.update(after)
        draft.metrics["pruned_accuracy"] = change["pruned_accuracy"]
        draft.metrics["confusion"] = figure(after_test.confusion, "measured", **REPORT.fields(after_test.count))
    ctx.progress(1.0, f"{_percent(before, after, 'params')} parameters, test accuracy "
                      f"{before_test.accuracy:.1%} → {after_test.accuracy:.1%}")
    return project.current


def _percent(before: dict[str, Any], after: dict[str, Any], key: str) -> str:
    b, a = before[key]["value"], after[key]["value"]
    return f"{(a - b) / b:+.0%}" if b else "±0%"


def _taylor_batch(splits: Any, n: int = 64) -> Any:
    from foldwise.core.networks.batches import as_tensors

    images, labels = as_tensors(splits.train, "training set")
    return images[:n], labels[:n]


# ----------------------------------------------------------------------------------------------- sensitivity
def scan_path(project: Project, iteration: Iteration, criterion: str = "l1") -> Path:
    return project.cache_dir / SCAN_DIR / f"{iteration.id}-{criterion}.json"


def read_scan(project: Project, iteration: Iteration, criterion: str = "l1") -> Any:
    """The stored scan of ``iteration`` (a SensitivityResult), or None."""
    path = scan_path(project, iteration, criterion)
    if not path.is_file():
        return None
    try:
        return SensitivityResult.from_dict(json.loads(path.read_text(encoding="utf-8")))
    except (OSError, ValueError, TypeError):
        return None


def scan_iteration(project: Project, spec: ScanSpec, ctx: JobContext | None = None, *,
                   splits: Any = None) -> SensitivityResult:
    """Sensitivity scan of ``spec.iteration`` (default: current) by the ``scan`` protocol (the first 500
    validation images, or ``spec.max_images``); the result is also
    written to the project cache (``cache/sensitivity/<id>-<criterion>.json``) for the panel to show later."""
    from foldwise.core.prune._model import quant_layers
    from foldwise.core.prune.sensitivity import DEFAULT_RATIOS, sensitivity_scan

    ctx = ctx or null_context()
    target = check_prunable(project, project.get(spec.iteration) if spec.iteration else project.current)
    network = iterations.load_network(project, target)
    found = quant_layers(network.model)
    if found:
        raise _quantized_error(project, target, f"its network has quantized layers such as {found[0]}")
    ctx.progress(0.0, "preparing data")
    splits = splits if splits is not None else iterations.load_splits(project, ctx.sub(0.0, 0.1), network.spec)
    protocol = SCAN.limit(spec.max_images)
    result = sensitivity_scan(
        network.model, network.spec, protocol.dataset(splits), spec.layers, spec.ratios or DEFAULT_RATIOS,
        spec.criterion, protocol.count(splits), ctx.sub(0.1, 1.0),
        taylor_batch=_taylor_batch(splits) if spec.criterion == "taylor" else None,
    )
    path = scan_path(project, target, result.criterion)
    path.parent.mkdir(parents=True, exist_ok=True)
    atomic_write_json(path, {**result.to_dict()})
    return result
