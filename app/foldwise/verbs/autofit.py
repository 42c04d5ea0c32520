"""``foldwise autofit MODEL.onnx``: the folding with the highest estimated FPS within a resource budget."""

from __future__ import annotations

import argparse
from pathlib import Path

from foldwise.core.finn.autofit import autofit
from foldwise.core.finn.folding import save_folding
from foldwise.verbs._common import add_json_flag, console_context, emit
from foldwise.verbs.estimate import add_target_args, resolve_model

HELP = "search the FINN folding with the highest estimated FPS within a LUT/BRAM budget, vs FINN's SetFolding"


def configure(parser: argparse.ArgumentParser) -> None:
    add_target_args(parser)
    parser.add_argument("--budget-lut", type=float, default=0.85, help="fraction of the board's LUTs (0.85)")
    parser.add_argument("--budget-bram", type=float, default=0.85, help="fraction of its BRAM18s (0.85)")
    parser.add_argument("--budget-dsp", type=float, default=1.0, help="fraction of its DSPs (1.0)")
    parser.add_argument("--no-baseline", action="store_true", help="skip the SetFolding sweep")
    parser.add_argument("--save-folding", type=Path, help="write the folding found as FINN JSON here")
    add_json_flag(parser)


def _line(label: str, side: dict | None) -> str:
    if side is None or side["fps"] is None:
        return f"{label:<11} none fits the budget"
    res = ", ".join(f"{k} {v['value']:,.0f}" for k, v in side["resources"].items() if v["value"])
    return f"{label:<11} {side['fps']['value']:>10,.0f} frames/s ({side['fps']['source']})  {res}"


def run(args: argparse.Namespace) -> int:
    model = resolve_model(args.model)
    result = autofit(
        model, board=args.board, clock_mhz=args.clock_mhz, budget_lut=args.budget_lut,
        budget_bram=args.budget_bram, budget_dsp=args.budget_dsp, baseline=not args.no_baseline,
        ctx=console_context(args),
    )
    if args.save_folding:
        save_folding(result.folding, args.save_folding)
    data = result.to_dict()
    data["saved_folding"] = str(args.save_folding) if args.save_folding else None
    budget = ", ".join(f"{k} <= {v:,.0f}" for k, v in result.budget.items())
    text = [f"budget      {budget}", _line("auto-fit", data["autofit"])]
    if not args.no_baseline:
        text.append(_line("SetFolding", data["setfolding"]))
        if result.ratio is not None:
            text.append(f"ratio       {result.ratio:.2f}x (auto-fit / best SetFolding within budget)")
    if args.save_folding:
        text.append(f"folding     {args.save_folding}")
    emit(data, args, text="\n".join(text))
    return 0
