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
                arch: str | None = None, data_folder: str | os.PathLike[str] | None = None) -> Project:
    """A new project, empty or from ``example``, optionally with a zoo network and the user's image folder.

    Everything is checked before the folder is made: an unknown network or example, or an image folder
    that is not one sub-folder per class, raises :class:`InputError` and creates nothing.
    """
    settings: dict = {}
    if arch:
        from foldwise.core.networks.zoo import get_entry

        get_entry(arch)
        settings["network"] = {"arch": arch}
    if data_folder:
        from foldwise.core.data.folders import survey_image_folder

        folder = Path(data_folder).expanduser().absolute()
        survey_image_folder(folder)
        settings["dataset"] = {"name": "folder", "path": str(folder), "seed": 0}
    if example:
        project = create_from_example(path, example, name=name)
        if settings:
            project.update_settings(**settings)
        return project
    return Project.create(path, name=name, settings=settings)
