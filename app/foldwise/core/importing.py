"""Importing a network file into a project as a new iteration (TorchScript, zoo state dict, ONNX, QONNX)."""

from __future__ import annotations

import dataclasses
import os
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from foldwise.core.errors import InputError
from foldwise.core.iterations import ProjectNetwork, load_network, load_splits, network_figures, write_network_files
from foldwise.core.jobs import JobContext, null_context
from foldwise.core.project import Iteration, IterationKind, Project
from foldwise.core.protocol import REPORT, accuracy_figure


def _project_spec(project: Project, arch: str | None, input_shape: tuple[int, ...] | None = None) -> Any:
    """The input spec a file without one should get: the named zoo arch's, else the project network's; a given
    ``input_shape`` (C, H, W) replaces its shape (or is the whole spec when there is none)."""
    from foldwise.core.networks import zoo
    from foldwise.core.networks.spec import InputSpec

    spec = None
    if arch:
        spec = zoo.get_entry(arch).spec
    else:
        try:
            spec = load_network(project).spec
        except InputError:
            spec = None
    if input_shape is None:
        return spec
    shape = tuple(int(v) for v in input_shape)
    return InputSpec(shape) if spec is None else dataclasses.replace(spec, shape=shape)  # type: ignore[arg-type]


def parse_input_shape(text: str) -> tuple[int, int, int]:
    """``"C,H,W"`` (or ``CxHxW``) as a shape; InputError says the form."""
    parts = text.replace("×", ",").replace("x", ",").split(",")
    try:
        shape = tuple(int(p) for p in parts)
    except ValueError:
        shape = ()
    if len(shape) != 3 or min(shape) < 1:
        raise InputError(f"input shape must be C,H,W with three positive sizes (e.g. 1,28,28), got {text!r}")
    return shape  # type: ignore[return-value]


def check_file(project: Project, path: str | os.PathLike[str], arch: str | None = None,
               input_shape: tuple[int, ...] | None = None) -> Any:
    """What ``import_iteration`` would find wrong with ``path``, without changing anything."""
    from foldwise.core.networks.importers import check_importable

    return check_importable(path, arch=arch, spec=_project_spec(project, arch, input_shape))


@dataclass
class ImportSpec:
    """The network file to import; for a bare state dict the zoo ``arch`` it belongs to; ``input_shape``
    (C, H, W) for files that do not record one (TorchScript, pickled modules, ONNX with a dynamic size)."""

    path: str | os.PathLike[str]
    arch: str | None = None
    input_shape: tuple[int, int, int] | None = None


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
    loaded = import_network(source, arch=arch, spec=_project_spec(project, arch, spec.input_shape))
    ctx.check_cancelled()
    ctx.progress(0.3, "measuring the network")
    summary = summarize(loaded.model, loaded.spec)
    network = ProjectNetwork(loaded.model, loaded.spec, loaded.arch, None)
    metrics: dict[str, Any] = dict(network_figures(summary))
    try:
        splits = load_splits(project, ctx.sub(0.3, 0.8), loaded.spec)
        test = evaluate(loaded.model, REPORT.take(splits), spec=loaded.spec, ctx=ctx.sub(0.8, 0.95))
        metrics["accuracy"] = accuracy_figure(test.accuracy, REPORT, test.count)
    except InputError as exc:
        ctx.log(f"no accuracy for {source.name}: {exc}")
    with project.new_iteration(
        IterationKind.IMPORTED,
        f"import-{source.stem}",
        parent=project.current,
        change={"stage": "import", "file": str(source.absolute()), "format": loaded.extra.get("import_kind"),
                "notes": list(loaded.extra.get("import_notes") or [])},
    ) as draft:
        write_network_files(draft.folder, network, loaded.model, summary, extra=loaded.extra)
        shutil.copy2(source, draft.folder / f"source{source.suffix}")
        draft.metrics.update(metrics)
    ctx.progress(1.0, f"imported {source.name}")
    return project.current
