"""A module imported on first use, for libraries that cost start-up time where most runs never need them.

``paramiko = lazy_module("paramiko")`` at the top of a module keeps ``paramiko.SSHClient()`` and
``except paramiko.SSHException`` working as written, while importing paramiko (0.4 s with cryptography and
invoke) only when one of its names is first looked up. The GUI imports the SSH modules to build its panels
before the window is shown; it connects to nothing until the user asks.
"""

from __future__ import annotations

import importlib
from types import ModuleType
from typing import Any


class LazyModule:
    """Stands in for module ``name``; the first attribute looked up imports it.

    The module is kept once imported: the demo's per-frame code looks numpy names up some fifteen times a
    frame, and asking ``importlib`` each time cost 45 µs a frame (an eighth of DefectNet's inference)."""

    def __init__(self, name: str) -> None:
        self._name = name
        self._module: ModuleType | None = None

    def __getattr__(self, attribute: str) -> Any:
        module = self._module
        if module is None:
            module = self._module = importlib.import_module(self._name)
        return getattr(module, attribute)

    def __repr__(self) -> str:
        return f"<lazy module {self._name!r}>"


def lazy_module(name: str) -> Any:
    """Module ``name``, imported when first used (typed ``Any``: annotate with the real module under
    ``TYPE_CHECKING``)."""
    return LazyModule(name)
