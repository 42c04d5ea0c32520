"""The training stage over a project: data, network, train, test, and a new iteration with its figures.

``train_iteration`` is what ``foldwise train`` and the Network panel's Train button run (as a job). The network
is the current iteration's (fine-tuning) or, in a project without iterations, a fresh zoo network named by the
project's settings (``settings.network.arch``), trained on ``settings.dataset``.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from foldwise.core.atomic import atomic_write_json
from foldwise.core.errors import InputError
from foldwise.core.jobs import JobContext, null_context
from foldwise.core.project import Iteration, Project, figure

if TYPE_CHECKING:
    from foldwise.core.networks.train import TrainConfig

MODEL_FILE = "model.pt"
SUMMARY_FILE = "summary.json"
HISTORY_FILE = "history.json"


@dataclass
class ProjectNetwork:
    """A network loaded for a stage: the module, its input spec and architecture name."""

    model: Any
    spec: Any
    arch: str
    iteration: Iteration | None


def load_network(project: Project, iteration: Iteration | None = None) -> ProjectNetwork:
    """The network of ``iteration`` (default: current), or a fresh zoo network if the project has none yet."""
    from foldwise.core.networks import zoo
    from foldwise.core.networks.store import load_model

    iteration = iteration or project.current
    if iteration is not None:
        path = iteration.folder / MODEL_FILE
        if not path.exists():
            raise InputError(f"iteration {iteration.label} has no network ({MODEL_FILE} is missing)")
        loaded = load_model(path)
        return ProjectNetwork(loaded.model, loaded.spec, loaded.arch, iteration)
    arch = project.settings.get("network", {}).get("arch")
    if not arch:
        raise InputError(
            f"project {project.name} has no network yet: import one, or set a zoo network (e.g. defectnet)"
        )
    entry = zoo.get_entry(arch)
    return ProjectNetwork(entry.build(), entry.spec, arch, None)


def dataset_name(project: Project, spec: Any = None) -> str:
    name = project.settings.get("dataset", {}).get("name") or getattr(spec, "dataset", None)
    if not name:
        raise InputError(f"project {project.name} has no data set: choose one (defects, digits or an image folder)")
    return str(name)


def load_splits(project: Project, ctx: JobContext | None = None, spec: Any = None) -> Any:
    """The project's train/val/test splits, generated into the project's cache on first use."""
    from foldwise.core.data.registry import get_dataset_splits

    settings = project.settings.get("dataset", {})
    if settings.get("name") == "folder":
        return _folder_splits(settings, spec, int(settings.get("seed", 0)), ctx)
    return get_dataset_splits(
        dataset_name(project, spec), project.cache_dir, seed=int(settings.get("seed", 0)), ctx=ctx
    )


def _folder_splits(settings: dict[str, Any], spec: Any, seed: int, ctx: JobContext | None) -> Any:
    """The user's own image folder (one sub-folder per class), split 70/15/15 stratified by class."""
    from foldwise.core.data.dataset import Splits
    from foldwise.core.data.digits import stratified_split
    from foldwise.core.data.folders import load_image_folder

    ctx = ctx or null_context()
    if not settings.get("path"):
        raise InputError("the project's data set is an image folder, but no folder is set")
    shape = getattr(spec, "shape", (3, 64, 64))
    dataset, report = load_image_folder(settings["path"], size=(shape[1], shape[2]), channels=shape[0], ctx=ctx)
    for line in report.summary().splitlines():
        ctx.log(line)
    parts = stratified_split(dataset.labels, (0.7, 0.15, 0.15), seed)
    if any(len(part) == 0 for part in parts):
        raise InputError(f"{settings['path']} has too few images to split into train, validation and test sets")
    return Splits(*(dataset.subset(part, name=f"folder-{split}")
                    for split, part in zip(("train", "val", "test"), parts, strict=True)))


def network_figures(summary: Any) -> dict[str, Any]:
    """The size figures an engineer watches shrink, labelled as exact counts from the model."""
    return {
        "params": figure(int(summary.total_params), "computed"),
        "macs": figure(int(summary.total_macs), "computed"),
        "weight_mb": figure(round(float(summary.total_mb), 6), "computed", unit="MB"),
    }


def write_network_files(folder: Path, network: ProjectNetwork, model: Any, summary: Any,
                        extra: dict[str, Any] | None = None) -> None:
    from foldwise.core.networks.store import save_model

    save_model(folder / MODEL_FILE, model, network.spec, network.arch, extra=extra)
    atomic_write_json(folder / SUMMARY_FILE, summary.to_dict())


def read_summary(iteration: Iteration) -> dict[str, Any] | None:
    """The layer table stored with an iteration (no torch needed), or None if it has none."""
    path = iteration.folder / SUMMARY_FILE
    if not path.exists():
        return None
    return json.loads(path.read_text(encoding="utf-8"))


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
    test = evaluate(result.model, splits.test, spec=network.spec, ctx=ctx.sub(0.95, 0.99))
    summary = summarize(result.model, network.spec)
    parent = network.iteration
    kind = "fine-tuned" if parent is not None else "trained"
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
                "accuracy": figure(round(test.accuracy, 6), "measured", split="test", images=test.count),
                "val_accuracy": figure(
                    None if result.best_val_acc is None else round(result.best_val_acc, 6), "measured", split="val"
                ),
                **network_figures(summary),
                "train_seconds": figure(round(result.seconds, 2), "measured", unit="s"),
                "confusion": figure(test.confusion, "measured", split="test"),
            }
        )
    ctx.progress(1.0, f"test accuracy {test.accuracy:.1%}")
    return project.current
