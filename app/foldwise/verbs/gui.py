"""``foldwise gui [PATH]``: open the main window, on a project if given (same as bare ``foldwise``)."""

from __future__ import annotations

import argparse

HELP = "open the Foldwise window (optionally on a project)"


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("path", nargs="?", help="project folder to open")
    parser.add_argument(
        "--quit-after-shown", action="store_true", help="close as soon as the window is shown (start-up checks)"
    )


def run(args: argparse.Namespace) -> int:
    # The one verb that needs Qt: imported here so the other verbs never load it.
    from foldwise.gui.app import run_gui

    return run_gui(args.path, quit_after_shown=args.quit_after_shown)
