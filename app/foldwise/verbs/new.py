"""``foldwise new PATH [--example NAME]``: make a project folder."""

from __future__ import annotations

import argparse

from foldwise.core.examples import create_from_example, list_examples
from foldwise.core.project import Project
from foldwise.verbs._common import add_json_flag, emit

HELP = "create a new project folder (empty, or from a shipped example)"


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("path", help="folder to create (must not exist, or be empty)")
    parser.add_argument("--example", choices=sorted(list_examples()), help="start from a shipped example")
    parser.add_argument("--name", help="project name (default: the folder's name)")
    add_json_flag(parser)


def run(args: argparse.Namespace) -> int:
    if args.example:
        project = create_from_example(args.path, args.example, name=args.name)
    else:
        project = Project.create(args.path, name=args.name)
    with project:
        emit(project.summary(), args, text=f"created {project.path}")
    return 0
