"""What every stage knows about an iteration beyond its manifest record, in one place.

- whether it is quantized, and its nearest float ancestor (pruning and re-quantizing start from that one);
- the files a network iteration stores (``model.pt``, ``summary.json``, ``history.json``) and the size figures
  written with them;
- loading its network (or, in a project without iterations, the zoo network its settings name) and the
  project's train/val/test splits.

Stages (train, import, prune, quantize, bit-fit) load and write through here; the GUI and ``foldwise info``
read summaries through here. Kinds themselves are :class:`~foldwise.core.project.IterationKind`. Torch and
the data sets are imported only inside the functions that need them: the GUI imports this at start-up.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from foldwise.core.atomic import atomic_write_json
from foldwise.core.errors import InputError
from foldwise.core.jobs import JobContext, null_context
from foldwise.core.project import Iteration, IterationKind, Project, figure

MODEL_FILE = "model.pt"
SUMMARY_FILE = "summary.json"
HISTORY_FILE = "history.json"
QUANT_FILE = "quant.json"  # written next to model.pt by the quantize stage (see core.quantize.store)


# ----------------------------------------------------------------------------------------- quantized or float
def is_quantized(iteration: Iteration | None) -> bool:
    """True for a quantized iteration: its kind says so, or it stores a quantized network (``quant.json``)."""
    if iteration is None:
        return False
    return iteration.kind == IterationKind.QUANTIZED or (iteration.folder / QUANT_FILE).exists()


def float_ancestor(project: Project, iteration: Iteration) -> Iteration | None:
    """The nearest ancestor of ``iteration`` (not ``iteration`` itself) that is not quantized, or None."""
    for node in reversed(project.lineage(iteration)[:-1]):
        if not is_quantized(node):
            return node
    return None


def float_source(project: Project, iteration: Iteration | None) -> Iteration | None:
    """The float network ``iteration`` stands for: itself if it is float, else its float ancestor."""
    if iteration is None or not is_quantized(iteration):
        return iteration
    return float_ancestor(project, iteration)


# ----------------------------------------------------------------------------------------------- the network
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
        if iteration.missing:
            raise InputError(f"{iteration.missing} (deleted or moved by hand?): make another iteration current")
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


def network_figures(summary: Any) -> dict[str, Any]:
    """The size figures an engineer watches shrink, labelled as exact counts from the model."""
    return {
        "params": figure(int(summary.total_params), "computed"),
        "macs": figure(int(summary.total_macs), "computed"),
        "weight_mb": figure(round(float(summary.total_mb), 6), "computed", unit="MB"),
    }


def write_network_files(folder: Path, network: ProjectNetwork, model: Any, summary: Any,
                        extra: dict[str, Any] | None = None) -> None:
    """Write ``model`` (with ``network``'s spec and arch) and its layer summary into a new iteration's folder."""
    from foldwise.core.networks.store import save_model

    save_model(folder / MODEL_FILE, model, network.spec, network.arch, extra=extra)
    atomic_write_json(folder / SUMMARY_FILE, summary.to_dict())


def read_summary(iteration: Iteration) -> dict[str, Any] | None:
    """The layer table stored with an iteration (no torch needed), or None if it has none."""
    path = iteration.folder / SUMMARY_FILE
    if not path.exists():
        return None
    try:
        summary = json.loads(path.read_text(encoding="utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise InputError(f"iteration {iteration.label}: {SUMMARY_FILE} is corrupt ({exc}); "
                         "re-run the stage that made it, or delete the iteration") from exc
    if not isinstance(summary, dict):
        raise InputError(f"iteration {iteration.label}: {SUMMARY_FILE} is corrupt (not a layer table)")
    return summary


def planned_summary(project: Project) -> Any:
    """The layer summary (NetworkSummary) of the zoo network the project names, untrained: the architecture is
    known before the first training. None when the project names no zoo network (an import is expected)."""
    from foldwise.core.networks import zoo
    from foldwise.core.networks.summary import summarize

    arch = project.settings.get("network", {}).get("arch")
    if not arch or arch not in zoo.ZOO:
        return None
    entry = zoo.get_entry(arch)
    return summarize(entry.build(), entry.spec)


# ------------------------------------------------------------------------------------------------ the data
def dataset_name(project: Project, spec: Any = None) -> str:
    """The project's data set (its settings, else the one the network's input spec names)."""
    name = project.settings.get("dataset", {}).get("name") or getattr(spec, "dataset", None)
    if not name:
        raise InputError(f"project {project.name} has no data set: choose one (defects, digits or an image folder)")
    return str(name)


def network_input_shape(project: Project) -> tuple[int, int, int] | None:
    """C×H×W the project's current network takes (from its layer table, no torch), else the zoo network's it
    names; None when it has neither."""
    from foldwise.core.networks import zoo

    current = project.current
    if current is not None and not current.missing:
        summary = read_summary(current) or {}
        shape = summary.get("input_shape")
        if shape and len(shape) == 3:
            return tuple(int(v) for v in shape)  # type: ignore[return-value]
    arch = project.settings.get("network", {}).get("arch")
    return zoo.get_entry(arch).spec.shape if arch in zoo.ZOO else None


def dataset_choice(project: Project, choice: str) -> dict[str, Any]:
    """The project settings ``choice`` (``defects``, ``digits`` or ``folder:DIR``) would make its data set;
    nothing is changed. InputError when the choice is bad or a shipped set's images do not have the size the
    current network takes."""
    from foldwise.core.data.registry import check_input_fits, dataset_settings

    settings = dataset_settings(choice, seed=int(project.settings.get("dataset", {}).get("seed", 0)))
    shape = network_input_shape(project)
    if shape is not None:
        check_input_fits(settings, shape, "the project's network")
    return settings


def choose_dataset(project: Project, choice: str) -> dict[str, Any]:
    """Make ``choice`` the project's data set (see :func:`dataset_choice`); its settings. The data is read on
    next use; iterations already made keep their figures."""
    settings = dataset_choice(project, choice)
    project.update_settings(dataset=settings)
    return settings


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
