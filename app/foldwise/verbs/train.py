"""``foldwise train PATH [--epochs N] [--json]``: train or fine-tune the current network into a new iteration."""

from __future__ import annotations

import argparse

from foldwise.core.project import Project
from foldwise.core.protocol import where
from foldwise.verbs._common import add_json_flag, console_context, emit

HELP = "train (or fine-tune) the project's network on its data set; the result is a new iteration"


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("path", help="project folder")
    parser.add_argument("--epochs", type=int, help="maximum epochs (early stopping may end sooner)")
    parser.add_argument("--lr", type=float, help="learning rate")
    parser.add_argument("--batch-size", type=int, help="batch size")
    parser.add_argument("--patience", type=int, help="early-stopping patience in epochs (0: off)")
    parser.add_argument("--seed", type=int, help="random seed (data order, augmentation)")
    parser.add_argument("--name", help="name of the new iteration")
    add_json_flag(parser)


def run(args: argparse.Namespace) -> int:
    from foldwise.core.networks.train import recommended_config
    from foldwise.core.training import TrainSpec, train_iteration

    overrides = {
        key: value
        for key, value in {
            "epochs": args.epochs,
            "lr": args.lr,
            "batch_size": args.batch_size,
            "seed": args.seed,
        }.items()
        if value is not None
    }
    if args.patience is not None:
        overrides["patience"] = args.patience or None
    with Project.open(args.path) as project:
        # The zoo network's tuned settings, then the project's, then the command line's.
        arch = project.settings.get("network", {}).get("arch")
        config = recommended_config(arch, **{**project.settings.get("train", {}), **overrides})
        ctx = console_context(args)
        iteration = train_iteration(project, TrainSpec(config, args.name), ctx)
        result = {"iteration": iteration.to_dict(), "path": str(iteration.folder)}
        accuracy = iteration.metrics["accuracy"]
        emit(result, args, text=f"{iteration.label}: accuracy {accuracy['value']:.2%} (measured, {where(accuracy)})")
    return 0
