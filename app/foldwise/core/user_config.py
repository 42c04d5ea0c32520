"""Where Foldwise keeps the user's own settings: ``$FOLDWISE_CONFIG_DIR``, else ``~/.config/foldwise``.

Holds the GUI's settings file, Foldwise's own known_hosts and the saved build hosts; tests point it at a
temporary folder so they never touch the real one.
"""

from __future__ import annotations

import os
from pathlib import Path


def config_dir() -> Path:
    """The folder (not created here) that holds the user's Foldwise settings."""
    base = os.environ.get("FOLDWISE_CONFIG_DIR") or os.path.join(
        os.environ.get("XDG_CONFIG_HOME") or os.path.expanduser("~/.config"), "foldwise"
    )
    return Path(base)
