"""The example projects shipped under ``projects/``: small manifests whose data and weights are made on use."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

from foldwise.core.errors import InputError
from foldwise.core.paths import examples_dir
from foldwise.core.project import ITERATIONS_DIR, MANIFEST_NAME, Project, read_manifest


def list_examples() -> dict[str, str]:
    """Example name → one-line description (the manifest's ``settings.description``)."""
    found: dict[str, str] = {}
    root = examples_dir()
    if not root.is_dir():
        return found
    for folder in sorted(root.iterdir()):
        if (folder / MANIFEST_NAME).is_file():
            manifest = read_manifest(folder)
            found[folder.name] = str(manifest.get("settings", {}).get("description", ""))
    return found


def create_from_example(path: str | os.PathLike[str], example: str, name: str | None = None) -> Project:
    """A new project at ``path`` with the example's settings and files (not its generated caches)."""
    examples = list_examples()
    if example not in examples:
        raise InputError(f"unknown example {example!r}; choose one of: {', '.join(examples) or 'none shipped'}")
    source = examples_dir() / example
    manifest = read_manifest(source)
    project = Project.create(path, name=name or Path(path).name, settings=dict(manifest.get("settings", {})))
    project.settings["example"] = example
    for item in source.iterdir():
        if item.name in (MANIFEST_NAME, ITERATIONS_DIR, "cache") or item.name.startswith("."):
            continue
        target = project.path / item.name
        if item.is_dir():
            shutil.copytree(item, target)
        else:
            shutil.copy2(item, target)
    project.save()
    return project


def new_project(path: str | os.PathLike[str], example: str | None = None, name: str | None = None,
                arch: str | None = None, data_folder: str | os.PathLike[str] | None = None,
                data: str | None = None) -> Project:
    """A new project, empty or from ``example``, optionally with a zoo network and its data set.

    ``data`` is ``defects``, ``digits`` or ``folder:DIR``; ``data_folder`` is the same as ``folder:DIR``.
    Everything is checked before the folder is made: an unknown network, example or data set, an image folder
    that is not one sub-folder per class, or a shipped data set whose image size the network cannot take,
    raises :class:`InputError` and creates nothing.
    """
    from foldwise.core.data.registry import check_input_fits, dataset_settings

    if data and data_folder:
        raise InputError("give the data set once: --data folder:DIR or --data-folder DIR, not both")
    settings: dict = {}
    entry = None
    if arch:
        from foldwise.core.networks.zoo import get_entry

        entry = get_entry(arch)
        settings["network"] = {"arch": arch}
    elif example and example in list_examples() and data:
        from foldwise.core.networks.zoo import ZOO

        example_arch = read_manifest(examples_dir() / example).get("settings", {}).get("network", {}).get("arch")
        entry, arch = ZOO.get(example_arch), example_arch
    if data_folder:
        data = f"folder:{data_folder}"
    if data:
        settings["dataset"] = dataset_settings(data)
        if entry is not None:
            check_input_fits(settings["dataset"], entry.spec.shape, arch)
    if example:
        project = create_from_example(path, example, name=name)
        if settings:
            project.update_settings(**settings)
        return project
    return Project.create(path, name=name, settings=settings)
