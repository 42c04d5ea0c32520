"""``foldwise data PATH [defects|digits|folder:DIR]``: show or change a project's data set."""

from __future__ import annotations

import argparse

from foldwise.core.project import Project
from foldwise.verbs._common import add_json_flag, emit

HELP = "show the project's data set, or change it (defects, digits or folder:DIR)"


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("path", help="project folder")
    parser.add_argument("choice", nargs="?", metavar="defects|digits|folder:DIR",
                        help="the new data set (a shipped one, or an image folder: one sub-folder per class)")
    add_json_flag(parser)


def run(args: argparse.Namespace) -> int:
    from foldwise.core.iterations import choose_dataset

    if args.choice is None:
        project = Project.open(args.path, read_only=True)
        settings = dict(project.settings.get("dataset") or {})
        shown = settings.get("name") or "none set (the network's own, if it names one)"
        emit({"dataset": settings or None}, args, text=f"data set: {shown}"
             + (f" ({settings['path']})" if settings.get("path") else ""))
        return 0
    with Project.open(args.path) as project:
        settings = choose_dataset(project, args.choice)
    emit({"dataset": settings}, args, text=f"data set: {settings['name']}"
         + (f" ({settings['path']})" if settings.get("path") else "") + "; used from the next stage run")
    return 0
