"""``foldwise gui [PATH]``: open the main window, on a project if given (same as bare ``foldwise``)."""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Mapping

from foldwise.core.errors import InputError

HELP = "open the Foldwise window (optionally on a project)"


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("path", nargs="?", help="project folder to open")
    parser.add_argument(
        "--quit-after-shown", action="store_true", help="close as soon as the window is shown (start-up checks)"
    )


def display_problem(env: Mapping[str, str] = os.environ) -> str | None:
    """Why Qt would find no screen to open a window on (it aborts the process then), or None."""
    if env.get("QT_QPA_PLATFORM") or not sys.platform.startswith("linux"):
        return None
    if env.get("DISPLAY") or env.get("WAYLAND_DISPLAY"):
        return None
    return ("no display to open the window on (neither DISPLAY nor WAYLAND_DISPLAY is set): run it on a desktop, "
            "under Xvfb (xvfb-run -a foldwise gui PATH), or with QT_QPA_PLATFORM=offscreen for a window no one sees")


def open_window(path: str | None, quit_after_shown: bool = False) -> int:
    problem = display_problem()
    if problem:
        raise InputError(problem)
    # The one verb that needs Qt: imported here so the other verbs never load it.
    from foldwise.gui.app import run_gui

    return run_gui(path, quit_after_shown=quit_after_shown)


def run(args: argparse.Namespace) -> int:
    return open_window(args.path, quit_after_shown=args.quit_after_shown)
