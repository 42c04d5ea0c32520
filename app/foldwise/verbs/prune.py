"""``foldwise prune PATH --remove LAYER[,LAYER...] | --channels RATIO [--finetune EPOCHS] [--json]``.

Removes layers (rewiring the network) and/or prunes channels of a float iteration into a new iteration; the
output gives parameters, MACs, MB and test accuracy before and after. ``--scan`` runs the sensitivity scan
instead (accuracy per layer against prune ratio) and changes no iteration.
"""

from __future__ import annotations

import argparse
from typing import Any

from foldwise.core.errors import InputError
from foldwise.core.project import Project
from foldwise.verbs._common import add_json_flag, console_context, emit

HELP = "prune a float network (remove layers or channels) into a new iteration, with size and accuracy before/after"


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("path", help="project folder")
    parser.add_argument("--remove", action="append", metavar="LAYER[,LAYER...]",
                        help="layers or containers to remove (dotted names; patterns such as 'features.*5' "
                             "take a whole block); the next layer is re-created at its new input size")
    parser.add_argument("--channels", type=float, metavar="RATIO",
                        help="share of each layer's channels to prune, between 0 and 1 (torch-pruning)")
    parser.add_argument("--layer-ratio", action="append", metavar="LAYER=RATIO",
                        help="channel ratio for one layer (repeatable; overrides --channels for it)")
    parser.add_argument("--criterion", default="l1", help="channel importance: l1 (default), l2, fpgm, taylor, random")
    parser.add_argument("--global", dest="global_ranking", action="store_true",
                        help="rank channels across layers instead of the same ratio in every layer")
    parser.add_argument("--no-protect-input", action="store_true",
                        help="also prune the first layer's outputs (the output layer is always kept whole)")
    parser.add_argument("--protect", action="append", metavar="LAYER[,LAYER...]", help="layers to leave whole")
    parser.add_argument("--steps", type=int, default=1, help="prune in N steps, fine-tuning after each")
    parser.add_argument("--round-to", type=int, help="keep channel counts a multiple of N (FINN PE/SIMD)")
    parser.add_argument("--finetune", type=int, default=0, metavar="EPOCHS",
                        help="fine-tune epochs after pruning (after each step with --steps)")
    parser.add_argument("--lr", type=float, help="fine-tune learning rate (default: the project's)")
    parser.add_argument("--iteration", help="iteration to prune (default: the current one)")
    parser.add_argument("--name", help="name of the new iteration")
    parser.add_argument("--scan", action="store_true",
                        help="run the sensitivity scan (accuracy per layer and ratio) instead of pruning")
    parser.add_argument("--ratios", help="scan ratios, comma-separated (default 0.1,0.3,0.5,0.7,0.9)")
    parser.add_argument("--max-images", type=int, help="validation images per scan point (default 500)")
    add_json_flag(parser)


def _names(values: list[str] | None) -> list[str]:
    return [n.strip() for value in values or [] for n in value.split(",") if n.strip()]


def _layer_ratios(values: list[str] | None) -> dict[str, float]:
    out: dict[str, float] = {}
    for value in values or []:
        name, sep, ratio = value.partition("=")
        if not sep or not name.strip():
            raise InputError(f"--layer-ratio takes LAYER=RATIO, got {value!r}")
        try:
            out[name.strip()] = float(ratio)
        except ValueError:
            raise InputError(f"--layer-ratio {value!r}: {ratio!r} is not a number") from None
    return out


def run(args: argparse.Namespace) -> int:
    from foldwise.core.prune.stage import PruneSpec, plain, prune_iteration

    if args.scan:
        return _scan(args)
    remove, layer_ratios = _names(args.remove), _layer_ratios(args.layer_ratio)
    if not remove and args.channels is None and not layer_ratios:
        raise InputError("say what to prune: --remove LAYER[,LAYER...] or --channels RATIO (or --scan)")
    spec = PruneSpec(remove=remove, ratio=args.channels, layer_ratios=layer_ratios, criterion=args.criterion,
                     global_ranking=args.global_ranking, protect_input=not args.no_protect_input,
                     protected=_names(args.protect), steps=args.steps, round_to=args.round_to,
                     finetune_epochs=args.finetune, finetune_lr=args.lr, iteration=args.iteration, name=args.name)
    with Project.open(args.path) as project:
        iteration = prune_iteration(project, spec, console_context(args))
        change = iteration.change
        before, after = plain(change["before"]), plain(change["after"])
        widths = (change.get("channels") or {}).get("widths", {})
        result: dict[str, Any] = {
            "iteration": iteration.id,
            "name": iteration.name,
            "parent": iteration.parent,
            "path": str(iteration.folder),
            "removed": change["removed"],
            "recreated": change["recreated"],
            "channels": {k: v for k, v in widths.items() if v[0] != v[1]},
            "finetune_epochs": change["finetune_epochs"],
            "before": before,
            "after": after,
            "accuracy_before_finetune": change["pruned_accuracy"]["value"],
        }
        emit(result, args, text=_text(iteration.label, result))
    return 0


def _text(label: str, result: dict[str, Any]) -> str:
    b, a = result["before"], result["after"]

    def change(key: str) -> str:
        return f"{(a[key] - b[key]) / b[key]:+.1%}" if b[key] else ""

    lines = [f"{label} (from {result['parent']})"]
    if result["removed"]:
        lines.append(f"removed: {', '.join(result['removed'])}")
    if result["recreated"]:
        lines.append(f"re-created with fresh weights: {', '.join(result['recreated'])}")
    for name, (old, new) in result["channels"].items():
        lines.append(f"channels {name}: {old} → {new}")
    lines += [
        f"parameters: {b['params']:,} → {a['params']:,} ({change('params')}, computed)",
        f"MACs:       {b['macs']:,} → {a['macs']:,} ({change('macs')}, computed)",
        f"weights:    {b['mb']:.4f} MB → {a['mb']:.4f} MB (computed)",
        f"accuracy:   {b['accuracy']:.2%} → {a['accuracy']:.2%} (measured, test split"
        + (f"; {result['accuracy_before_finetune']:.2%} before fine-tuning {result['finetune_epochs']} epoch(s))"
           if result["finetune_epochs"] else ")"),
    ]
    return "\n".join(lines)


def _scan(args: argparse.Namespace) -> int:
    from foldwise.core.prune.stage import ScanSpec, scan_iteration

    ratios = None
    if args.ratios:
        try:
            ratios = [float(r) for r in args.ratios.split(",") if r.strip()]
        except ValueError:
            raise InputError(f"--ratios takes numbers separated by commas, got {args.ratios!r}") from None
    with Project.open(args.path) as project:
        spec = ScanSpec(args.iteration, args.criterion, ratios, args.max_images)
        result = scan_iteration(project, spec, console_context(args))
        data = {**result.to_dict(), "tolerated_2pt": result.tolerated(0.02)}
        header = f"{'layer':<28} {'channels':>8} " + " ".join(f"{r:>6.0%}" for r in result.ratios)
        lines = [f"baseline accuracy {result.baseline:.2%} on {result.images} validation images (measured)", header]
        for name, accs in result.curves.items():
            lines.append(f"{name:<28} {result.widths[name]:>8} " + " ".join(f"{a:>6.1%}" for a in accs))
        emit(data, args, text="\n".join(lines))
    return 0
