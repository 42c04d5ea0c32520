"""Where Foldwise's shipped files are: ``resources/`` (icons, style sheet) and ``projects/`` (examples).

Both are package data of ``foldwise``, found through :mod:`importlib.resources`, so an installed wheel
finds them as a checkout does. In the checkout they are the top-level folders; ``app/foldwise/resources``
and ``app/foldwise/projects`` link to them (and the wheel carries them, see pyproject.toml). ``FOLDWISE_ROOT``
points at another folder holding both, e.g. to try edited icons without reinstalling.
"""

from __future__ import annotations

import os
from importlib.resources import files
from pathlib import Path


def shipped_dir(name: str) -> Path:
    """The shipped folder ``name`` ("resources" or "projects")."""
    override = os.environ.get("FOLDWISE_ROOT")
    if override:
        return Path(override) / name
    # A package on disk (a checkout, an editable or a wheel install) gives a real path; Foldwise does not
    # run from a zip archive.
    return Path(str(files("foldwise") / name))


def resources_dir() -> Path:
    return shipped_dir("resources")


def examples_dir() -> Path:
    return shipped_dir("projects")
