"""What a bundle is: its name and format version, the limits an import enforces, and the path rules both
sides share."""

from __future__ import annotations

import importlib.metadata
import re

from foldwise import __version__
from foldwise.core.errors import InputError

FORMAT_NAME = "foldwise-bundle"
FORMAT_VERSION = 1
BUNDLE_JSON = "bundle.json"
SUFFIX = ".foldwise.zip"

#: an entry bigger than this is refused (the largest real files are bitfiles and VGG-sized weights)
MAX_ENTRY_BYTES = 8 * 1024**3
#: an entry that expands more than this many times is refused as a zip bomb ...
MAX_RATIO = 100
#: ... once it is bigger than this (a few KB of repeated JSON may compress better than 100:1 and is harmless)
RATIO_FLOOR_BYTES = 1024**2
MAX_BUNDLE_JSON_BYTES = 64 * 1024**2
CHUNK = 1024**2

#: the packages whose versions a bundle records (distribution names; looked up without importing them)
PACKAGES = ("torch", "brevitas", "qonnx", "finn-plus")

_SHA256 = re.compile(r"^[0-9a-f]{64}$")


class BundleError(InputError):
    """A bundle that cannot be written or is refused on import; the message says why."""


def tool_versions() -> dict[str, str | None]:
    """Foldwise's version and those of :data:`PACKAGES` (None: not installed here)."""
    versions: dict[str, str | None] = {"foldwise": __version__}
    for name in PACKAGES:
        try:
            versions[name] = importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            versions[name] = None
    return versions


def path_problem(name: str) -> str | None:
    """Why ``name`` (an archive entry or a listed path) may not be written under the destination, or None."""
    if not name or "\x00" in name:
        return "has an empty or NUL-containing name"
    if name.startswith(("/", "\\")) or re.match(r"^[A-Za-z]:", name):
        return "is an absolute path"
    if "\\" in name:
        return "has a backslash in its name"
    parts = name.rstrip("/").split("/")
    if ".." in parts:
        return "climbs out of the project with '..'"
    if any(part in ("", ".") for part in parts):
        return "has an empty or '.' path component"
    return None


def is_sha256(value: object) -> bool:
    return isinstance(value, str) and bool(_SHA256.match(value))
