"""``foldwise new PATH [--example NAME] [--arch NAME] [--data defects|digits|folder:DIR]``: make a project folder."""

from __future__ import annotations

import argparse

from foldwise.core.examples import list_examples, new_project
from foldwise.verbs._common import add_json_flag, emit

HELP = "create a new project folder (empty, or from a shipped example)"


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("path", help="folder to create (must not exist, or be empty)")
    parser.add_argument("--example", choices=sorted(list_examples()), help="start from a shipped example")
    parser.add_argument("--name", help="project name (default: the folder's name)")
    parser.add_argument("--arch", help="zoo network to start from (e.g. defectnet, lenet5)")
    parser.add_argument("--data", metavar="defects|digits|folder:DIR",
                        help="the data set: a shipped one, or your own images (one sub-folder per class; "
                             "resized to the network's input on load). Default: the network's own")
    parser.add_argument("--data-folder", metavar="DIR", help="same as --data folder:DIR")
    add_json_flag(parser)


def run(args: argparse.Namespace) -> int:
    project = new_project(args.path, example=args.example, name=args.name, arch=args.arch,
                          data_folder=args.data_folder, data=args.data)
    with project:
        info = project.summary()
        text = f"created {project.path}"
        arch = project.settings.get("network", {}).get("arch")
        if arch:
            from foldwise.core.networks.fit import fit_line, zoo_fit

            info["fit"] = zoo_fit(arch)
            text += f"\nnetwork {arch}: {fit_line(info['fit'])}"
        dataset = project.settings.get("dataset", {}).get("name")
        if dataset:
            text += f"\ndata set: {dataset}"
        elif arch:
            from foldwise.core.networks.zoo import get_entry

            own = get_entry(arch).spec.dataset
            text += f"\ndata set: {own} (the network's own)" if own else \
                "\ndata set: none yet (the network names none): --data defects|digits|folder:DIR"
        emit(info, args, text=text)
    return 0
