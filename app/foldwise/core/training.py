"""The training stage over a project: data, network, train, test, and a new iteration with its figures.

``train_iteration`` is what ``foldwise train`` and the Network panel's Train button run (as a job). The network
is the current iteration's (fine-tuning) or, in a project without iterations, a fresh zoo network named by the
project's settings (``settings.network.arch``), trained on ``settings.dataset``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from foldwise.core.atomic import atomic_write_json
from foldwise.core.errors import InputError
from foldwise.core.iterations import (
    HISTORY_FILE,
    is_quantized,
    load_network,
    load_splits,
    network_figures,
    write_network_files,
)
from foldwise.core.jobs import JobContext, null_context
from foldwise.core.project import Iteration, IterationKind, Project, figure
from foldwise.core.protocol import REPORT, SELECT, accuracy_figure

if TYPE_CHECKING:
    from foldwise.core.networks.train import TrainConfig


@dataclass
class TrainSpec:
    """What to train: the settings (None: the arch's recommended ones with the project's ``settings.train``)
    and the new iteration's name (None: ``trained-<n>ep`` or ``finetuned-<n>ep``)."""

    config: TrainConfig | None = None
    name: str | None = None


def train_iteration(project: Project, spec: TrainSpec, ctx: JobContext | None = None) -> Iteration:
    """Train (or fine-tune) the current network and store the result as a new iteration.

    Each epoch's record goes to ``ctx.partial`` (the GUI's live curves, the CLI's epoch lines).
    """
    from foldwise.core.networks.summary import summarize
    from foldwise.core.networks.train import evaluate, recommended_config, train

    ctx = ctx or null_context()
    current = project.current
    if current is not None and is_quantized(current):
        # Float training would wreck the quantized weights and make an iteration no later stage accepts.
        raise InputError(
            f"iteration {current.label} is quantized: fine-tune it as QAT instead (foldwise quantize "
            f"--weights W --acts A --qat EPOCHS from its float parent), or make a float iteration current"
        )
    ctx.progress(0.0, "loading the network")
    network = load_network(project)
    config = spec.config or recommended_config(network.arch, **project.settings.get("train", {}))
    name = spec.name
    ctx.progress(0.01, "preparing data")
    splits = load_splits(project, ctx.sub(0.01, 0.15), network.spec)
    ctx.check_cancelled()
    ctx.progress(0.15, "training")
    result = train(
        network.model, splits.train, splits.val, config, ctx.sub(0.15, 0.95), ctx.partial, network.spec
    )
    ctx.progress(0.95, "testing")
    test = evaluate(result.model, REPORT.take(splits), spec=network.spec, ctx=ctx.sub(0.95, 0.99))
    summary = summarize(result.model, network.spec)
    parent = network.iteration
    kind = IterationKind.FINE_TUNED if parent is not None else IterationKind.TRAINED
    epochs_run = len(result.history)
    with project.new_iteration(
        kind,
        name or (f"finetuned-{epochs_run}ep" if parent else f"trained-{epochs_run}ep"),
        parent=parent,
        change={"stage": "train", "arch": network.arch, "config": config.to_dict(), "epochs_run": epochs_run},
    ) as draft:
        write_network_files(draft.folder, network, result.model, summary)
        atomic_write_json(draft.folder / HISTORY_FILE, result.to_dict())
        draft.metrics.update(
            {
                "accuracy": accuracy_figure(test.accuracy, REPORT, test.count),
                "val_accuracy": accuracy_figure(result.best_val_acc, SELECT, SELECT.count(splits)),
                **network_figures(summary),
                "train_seconds": figure(round(result.seconds, 2), "measured", unit="s"),
                "confusion": figure(test.confusion, "measured", **REPORT.fields(test.count)),
            }
        )
    ctx.progress(1.0, f"test accuracy {test.accuracy:.1%}")
    return project.current
