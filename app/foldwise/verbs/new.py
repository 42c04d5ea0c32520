"""``foldwise new PATH [--example NAME]``: make a project folder."""

from __future__ import annotations

import argparse
from pathlib import Path

from foldwise.core.errors import InputError
from foldwise.core.examples import create_from_example, list_examples
from foldwise.core.project import Project
from foldwise.verbs._common import add_json_flag, emit

HELP = "create a new project folder (empty, or from a shipped example)"


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("path", help="folder to create (must not exist, or be empty)")
    parser.add_argument("--example", choices=sorted(list_examples()), help="start from a shipped example")
    parser.add_argument("--name", help="project name (default: the folder's name)")
    parser.add_argument("--arch", help="zoo network to start from (e.g. defectnet, lenet5)")
    parser.add_argument("--data-folder", help="your own images: one sub-folder per class (png/jpg/bmp)")
    add_json_flag(parser)


def run(args: argparse.Namespace) -> int:
    settings: dict = {}
    if args.arch:
        from foldwise.core.networks.zoo import get_entry

        get_entry(args.arch)  # an unknown name fails here, before anything is created
        settings["network"] = {"arch": args.arch}
    if args.data_folder:
        folder = Path(args.data_folder).expanduser().absolute()
        if not folder.is_dir():
            raise InputError(f"{folder} is not a folder of class sub-folders")
        settings["dataset"] = {"name": "folder", "path": str(folder), "seed": 0}
    if args.example:
        project = create_from_example(args.path, args.example, name=args.name)
        if settings:
            project.update_settings(**settings)
    else:
        project = Project.create(args.path, name=args.name, settings=settings)
    with project:
        emit(project.summary(), args, text=f"created {project.path}")
    return 0
