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
