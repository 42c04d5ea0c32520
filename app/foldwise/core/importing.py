"""Importing a network file into a project as a new iteration (TorchScript, zoo state dict, ONNX, QONNX)."""

from __future__ import annotations

import os
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from foldwise.core.errors import InputError
from foldwise.core.iterations import ProjectNetwork, load_network, load_splits, network_figures, write_network_files
from foldwise.core.jobs import JobContext, null_context
from foldwise.core.project import Iteration, IterationKind, Project, figure


def _project_spec(project: Project, arch: str | None) -> Any:
    """The input spec a file without one should get: the named zoo arch's, else the project network's."""
    from foldwise.core.networks import zoo

    if arch:
        return zoo.get_entry(arch).spec
    try:
        return load_network(project).spec
    except InputError:
        return None


def check_file(project: Project, path: str | os.PathLike[str], arch: str | None = None) -> Any:
    """What ``import_iteration`` would find wrong with ``path``, without changing anything."""
    from foldwise.core.networks.importers import check_importable

    return check_importable(path, arch=arch, spec=_project_spec(project, arch))


@dataclass
class ImportSpec:
    """The network file to import and, for a bare state dict, the zoo ``arch`` it belongs to."""

    path: str | os.PathLike[str]
    arch: str | None = None


def import_iteration(project: Project, spec: ImportSpec, ctx: JobContext | None = None) -> Iteration:
    """Import ``spec.path`` as a new iteration; its test accuracy is measured when the project's data fits it."""
    from foldwise.core.networks.importers import import_network
    from foldwise.core.networks.summary import summarize
    from foldwise.core.networks.train import evaluate

    ctx = ctx or null_context()
    source, arch = Path(spec.path), spec.arch
    if not source.is_file():
        raise InputError(f"{source} does not exist or is not a file")
    ctx.progress(0.05, f"reading {source.name}")
    loaded = import_network(source, arch=arch, spec=_project_spec(project, arch))
    ctx.check_cancelled()
    ctx.progress(0.3, "measuring the network")
    summary = summarize(loaded.model, loaded.spec)
    network = ProjectNetwork(loaded.model, loaded.spec, loaded.arch, None)
    metrics: dict[str, Any] = dict(network_figures(summary))
    try:
        splits = load_splits(project, ctx.sub(0.3, 0.8), loaded.spec)
        test = evaluate(loaded.model, splits.test, spec=loaded.spec, ctx=ctx.sub(0.8, 0.95))
        metrics["accuracy"] = figure(round(test.accuracy, 6), "measured", split="test", images=test.count)
    except InputError as exc:
        ctx.log(f"no accuracy for {source.name}: {exc}")
    with project.new_iteration(
        IterationKind.IMPORTED,
        f"import-{source.stem}",
        parent=project.current,
        change={"stage": "import", "file": str(source.absolute()), "format": loaded.extra.get("import_kind")},
    ) as draft:
        write_network_files(draft.folder, network, loaded.model, summary, extra=loaded.extra)
        shutil.copy2(source, draft.folder / f"source{source.suffix}")
        draft.metrics.update(metrics)
    ctx.progress(1.0, f"imported {source.name}")
    return project.current
