"""Where Foldwise's shipped files are: resources/ and projects/ at the top of the checkout."""

from __future__ import annotations

import os
from pathlib import Path


def repo_root() -> Path:
    override = os.environ.get("FOLDWISE_ROOT")
    if override:
        return Path(override)
    return Path(__file__).resolve().parents[3]


def resources_dir() -> Path:
    return repo_root() / "resources"


def examples_dir() -> Path:
    return repo_root() / "projects"
