"""``foldwise autofit MODEL.onnx``: the folding with the highest estimated FPS within a resource budget."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from foldwise.core.errors import InputError, ProjectLockedError, ReadOnlyProjectError
from foldwise.core.finn.autofit import autofit
from foldwise.core.finn.build_state import keep_found_folding
from foldwise.core.finn.folding import save_folding
from foldwise.core.finn.stage import resolve
from foldwise.core.project import Project
from foldwise.verbs._common import add_json_flag, console_context, emit
from foldwise.verbs.estimate import add_target_args

HELP = "search the FINN folding with the highest estimated FPS within a LUT/BRAM budget, vs FINN's SetFolding"


def configure(parser: argparse.ArgumentParser) -> None:
    add_target_args(parser)
    parser.add_argument("--budget-lut", type=float, default=0.85, help="fraction of the board's LUTs (0.85)")
    parser.add_argument("--budget-bram", type=float, default=0.85, help="fraction of its BRAM18s (0.85)")
    parser.add_argument("--budget-dsp", type=float, default=1.0, help="fraction of its DSPs (1.0)")
    parser.add_argument("--no-baseline", action="store_true", help="skip the SetFolding sweep")
    parser.add_argument("--save-folding", type=Path, help="write the folding found as FINN JSON here")
    bits = parser.add_argument_group("per-layer bit widths (a project only)")
    bits.add_argument("--bits", action="store_true",
                      help="also lower per-layer weight bit widths while accuracy holds (FINN's tables per layer "
                           "and bit width; about a minute, more with --acts)")
    bits.add_argument("--acts", action="store_true", help="with --bits: also lower activation bit widths")
    bits.add_argument("--max-loss", type=float, default=1.0,
                      help="validation accuracy points a candidate may lose vs the current settings (1.0)")
    bits.add_argument("--min-bits", type=int, default=2, help="lowest bit width tried (2)")
    bits.add_argument("--rounds", type=int, default=8, help="at most this many rounds, each one bit off one layer (8)")
    bits.add_argument("--save-layers", type=Path,
                      help="write the bit widths found as a per-layer file for foldwise quantize --per-layer")
    add_json_flag(parser)


def _line(label: str, side: dict | None) -> str:
    if side is None or side["fps"] is None:
        return f"{label:<11} none fits the budget"
    res = ", ".join(f"{k} {v['value']:,.0f}" for k, v in side["resources"].items() if v["value"])
    return f"{label:<11} {side['fps']['value']:>10,.0f} frames/s ({side['fps']['source']})  {res}"


def run(args: argparse.Namespace) -> int:
    if args.bits:
        return _run_bits(args)
    if args.save_layers or args.acts:
        raise InputError("--save-layers and --acts need --bits")
    model, iteration = resolve(args.model)
    result = autofit(
        model, board=args.board, clock_mhz=args.clock_mhz, budget_lut=args.budget_lut,
        budget_bram=args.budget_bram, budget_dsp=args.budget_dsp, baseline=not args.no_baseline,
        ctx=console_context(args),
    )
    kept = _keep(args, model, iteration, result) if iteration is not None else None
    if args.save_folding:
        save_folding(result.folding, args.save_folding)
    data = result.to_dict()
    data["saved_folding"] = str(args.save_folding) if args.save_folding else None
    data["kept"] = kept
    budget = ", ".join(f"{k} <= {v:,.0f}" for k, v in result.budget.items())
    text = [f"budget      {budget}", _line("auto-fit", data["autofit"])]
    if result.search is not None:
        text.append(f"search      {result.search.note}")
    if not args.no_baseline:
        text.append(_line("SetFolding", data["setfolding"]))
        if result.ratio is not None:
            text.append(f"ratio       {result.ratio:.2f}x (auto-fit / best SetFolding within budget)")
    if args.save_folding:
        text.append(f"folding     {args.save_folding}")
    if kept:
        text.append(kept)
    emit(data, args, text="\n".join(text))
    return 0


def _keep(args: argparse.Namespace, model: Path, iteration: Any, result: Any) -> str:
    """Keep the folding found with the iteration, as after the Build panel's Auto-fit (the panel opens on it);
    a project that cannot be written now (read-only, open in the window) keeps what it had, and the line says so."""
    budgets = {"LUT": args.budget_lut, "BRAM": args.budget_bram, "DSP": args.budget_dsp}
    try:
        with Project.open(args.model) as project:
            if project.current_id != iteration.id:
                return f"kept        no: iteration {iteration.label} is no longer the current one"
            keep_found_folding(project.current, model, result.folding, result.report, args.clock_mhz,
                               autofit={"result": result.to_dict(), "budget": args.budget_lut, "budgets": budgets})
    except (ReadOnlyProjectError, ProjectLockedError, OSError) as exc:
        return f"kept        no: {exc}"
    return f"kept        with iteration {iteration.label} (the Build panel opens on this folding)"


def _run_bits(args: argparse.Namespace) -> int:
    from foldwise.core.atomic import atomic_write_json
    from foldwise.core.finn.bitfit import autofit_bits
    from foldwise.core.finn.stage import is_project
    from foldwise.core.project import Project

    if not is_project(args.model):
        raise InputError(f"--bits needs a project (its float parent is re-quantized), not {args.model}")
    with Project.open(args.model, read_only=True) as project:
        result = autofit_bits(project, board=args.board, clock_mhz=args.clock_mhz, budget_lut=args.budget_lut,
                              budget_bram=args.budget_bram, budget_dsp=args.budget_dsp,
                              max_loss_points=args.max_loss, min_bits=args.min_bits, max_rounds=args.rounds,
                              acts=args.acts, ctx=console_context(args))
    if args.save_layers:
        atomic_write_json(args.save_layers, result.layers_file())
    if args.save_folding:
        save_folding(result.folding, args.save_folding)
    data = result.to_dict()
    lines = [f"{'step':<28} {'val acc':>8} {'frames/s':>10}  resources (estimated)"]
    for trial in [result.start, *result.trials]:
        step = trial.label
        fps = "-" if trial.fps is None else f"{trial.fps:,.0f}"
        res = ", ".join(f"{k} {v:,.0f}" for k, v in trial.resources.items() if v) or trial.note
        mark = "*" if trial.accepted and trial.layer is not None else " "
        acc = "-" if trial.accuracy is None else f"{100 * trial.accuracy:.2f}%"
        note = f"  ({trial.note})" if trial.note and trial.accuracy is None else ""
        lines.append(f"{mark}{step:<27} {acc:>8} {fps:>10}  {res}{note}")
    gain = f"{result.gain:.2f}x" if result.gain else "-"
    bits = ", ".join([f"{name} W{b}" for name, b in result.weight_bits.items()]
                     + [f"{name} A{b}" for name, b in result.act_bits.items()])
    lines += [f"result      {bits}", f"gain        {gain} estimated FPS (accuracy: measured on the validation split, "
              "post-training; QAT may recover more)"]
    confirmed = result.confirmed
    if confirmed.get("fps_finn") is not None:
        verdict = "equal to the search's" if confirmed.get("equal") else "differs from the search's: FINN's kept"
        lines.append(f"FINN        {confirmed['fps_finn']:,.0f} frames/s re-estimated on the chosen model, {verdict}")
    lines.append(f"search      {result.seconds:.1f} s, {result.method}; FINN tabulated {result.finn_models} model(s)")
    if args.save_layers:
        lines.append(f"per-layer   {args.save_layers}  (foldwise quantize {args.model} --per-layer {args.save_layers})")
    emit(data, args, text="\n".join(lines))
    return 0
