"""Auto-fit over per-layer bit widths (weights, optionally activations) as well as the folding.

Fewer weight bits make FINN's MVAUs smaller (LUTs per PE/SIMD, weight memory); fewer activation bits shrink the
thresholds (2^bits - 1 per channel) and the datapath. Either way, within the same budget auto-fit can unfold
further. Starting from the current quantized iteration's settings, each round tries one bit less on each weight
layer (and, with ``acts``, on each activation quantizer): the float parent is re-quantized (post-training, the
iteration's own calibration settings), its validation accuracy measured, and candidates that keep accuracy
within ``max_loss_points`` of the starting settings are exported and auto-fitted (FINN's estimates,
:func:`foldwise.core.finn.autofit.autofit`). The fastest candidate is kept while it raises the estimated FPS by
at least 1 %; FPS moves in legal-folding steps, so a same-FPS change that frees budget is a plateau move the
next round builds on. Nothing is written to the project: the result is a per-layer file for
``foldwise quantize --per-layer`` (then QAT can recover accuracy).
"""

from __future__ import annotations

import copy
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from foldwise.core.errors import InputError
from foldwise.core.finn.autofit import AutofitResult, autofit
from foldwise.core.finn.boards import DEFAULT_BOARD
from foldwise.core.jobs import JobContext, null_context
from foldwise.core.project import Project
from foldwise.core.protocol import SELECT

MIN_GAIN = 1.01


@dataclass
class BitTrial:
    """One settings candidate: which layer's weights (kind "W") or activations ("A") went to how many bits."""

    layer: str | None
    bits: int | None
    accuracy: float
    fps: float | None = None
    resources: dict[str, float] = field(default_factory=dict)
    accepted: bool = False
    note: str = ""
    kind: str = "W"
    measured_on: dict[str, Any] = field(default_factory=dict)  # the protocol's fields (foldwise.core.protocol)

    @property
    def label(self) -> str:
        return "current settings" if self.layer is None else f"{self.layer} -> {self.kind}{self.bits}"

    def to_dict(self) -> dict[str, Any]:
        return {"layer": self.layer, "kind": self.kind, "bits": self.bits,
                "accuracy": {"value": self.accuracy, "source": "measured", "split": "val", **self.measured_on},
                "fps": None if self.fps is None else {"value": self.fps, "source": "estimated"},
                "resources": self.resources, "accepted": self.accepted, "note": self.note}


@dataclass
class BitFitResult:
    """Where the search started, every trial in order, and the per-layer settings it ended with."""

    start: BitTrial
    trials: list[BitTrial]
    weight_bits: dict[str, int]
    act_bits: dict[str, int]
    folding: dict[str, Any]
    final: BitTrial
    max_loss_points: float
    budget: dict[str, float]

    @property
    def gain(self) -> float | None:
        return self.final.fps / self.start.fps if self.start.fps and self.final.fps else None

    def layers_file(self) -> dict[str, Any]:
        """The ``foldwise quantize --per-layer`` file for these bit widths."""
        layers: dict[str, dict[str, int]] = {name: {"weight_bits": bits} for name, bits in self.weight_bits.items()}
        for name, bits in self.act_bits.items():
            layers.setdefault(name, {})["act_bits"] = bits
        return {"layers": layers}

    def to_dict(self) -> dict[str, Any]:
        return {"start": self.start.to_dict(), "final": self.final.to_dict(), "gain": self.gain,
                "weight_bits": self.weight_bits, "act_bits": self.act_bits, "per_layer_file": self.layers_file(),
                "trials": [t.to_dict() for t in self.trials], "max_loss_points": self.max_loss_points,
                "budget": self.budget, "folding": self.folding}


def autofit_bits(
    project: Project, *, board: str = DEFAULT_BOARD, clock_mhz: float = 100.0, budget_lut: float = 0.85,
    budget_bram: float = 0.85, budget_dsp: float = 1.0, max_loss_points: float = 1.0, min_bits: int = 2,
    max_rounds: int = 8, val_images: int | None = None, acts: bool = False, ctx: JobContext | None = None,
) -> BitFitResult:
    """Greedy search of per-layer bit widths (and the folding for each) for the current iteration.

    Candidates are measured by the ``select`` protocol (the whole validation split; ``val_images`` limits it),
    never on the test split that reports the iteration made from the result."""
    from foldwise.core.iterations import is_quantized, load_network, load_splits
    from foldwise.core.quantize import store
    from foldwise.core.quantize.ptq import site_bits
    from foldwise.core.quantize.quantizers import quantizable_layers
    from foldwise.core.quantize.stage import calibration_images

    ctx = ctx or null_context()
    if not 1 <= min_bits <= 8:
        raise InputError(f"min_bits must be 1..8, got {min_bits}")
    if max_loss_points < 0:
        raise InputError(f"the accuracy loss allowed must be >= 0 points, got {max_loss_points}")
    current = project.current
    if not is_quantized(current):
        label = current.label if current else "none"
        raise InputError(f"the current iteration ({label}) is not quantized: the bit-width search starts from a "
                         "quantized iteration's settings (run foldwise quantize first)")
    quantized, _spec = store.load_network(current.folder)
    parent = project.get(current.parent) if current.parent else None
    if parent is None:
        raise InputError(f"iteration {current.label} has no float parent to re-quantize")
    network = load_network(project, parent)
    ctx.progress(0.0, "loading data")
    splits = load_splits(project, ctx.sub(0.0, 0.02), network.spec)
    config = copy.deepcopy(quantized.config)
    calib = calibration_images(splits.train, config.calib_images)
    protocol = SELECT.limit(val_images)
    val_x, val_y = protocol.take(splits)
    measured_on = protocol.fields(len(val_y))
    layers = list(quantized.weight_layers)
    sites = [site for site in quantized.act_sites if acts and quantized.config.is_quantized(site.module)
             and (site.layer is None or quantized.config.is_quantized(site.layer))]
    # Per-layer settings name float-model layers: a quantizer Brevitas inserted (an output quant) is set
    # through the layer it quantizes (see ptq.site_bits).
    known = set(quantizable_layers(network.model))
    act_keys = {site.module: site.module if site.module in known else site.layer for site in sites}
    sites = [site for site in sites if act_keys[site.module]]

    def current_bits(config: Any) -> list[tuple[str, str, int]]:
        """(kind, settings name, bits) of everything the search may lower."""
        found = [("W", name, config.weight_bits_for(name)) for name in layers if config.is_quantized(name)]
        return found + [("A", act_keys[site.module], site_bits(site, config)) for site in sites]

    fit_args = {"board": board, "clock_mhz": clock_mhz, "budget_lut": budget_lut, "budget_bram": budget_bram,
                "budget_dsp": budget_dsp, "baseline": False}

    with tempfile.TemporaryDirectory(prefix="foldwise-bitfit-") as tmp:
        counter = iter(range(1_000_000))

        def evaluate(candidate: Any, sub: JobContext) -> tuple[Any, float]:
            from foldwise.core.quantize.ptq import quantize_network
            from foldwise.core.quantize.validate import accuracy

            result = quantize_network(network.model, calib, candidate, sub, spec=network.spec, collect_stats=False)
            return result.network, accuracy(result.network, val_x, val_y)

        def fit(quant_network: Any, sub: JobContext) -> AutofitResult:
            from foldwise.core.quantize.export import export_qonnx_file

            path = export_qonnx_file(quant_network, Path(tmp) / f"candidate{next(counter)}.qonnx.onnx")
            return autofit(path, ctx=sub, **fit_args)

        ctx.progress(0.02, "starting point: re-quantizing and auto-fitting the current settings")
        start_network, reference = evaluate(config, ctx.sub(0.02, 0.04))
        start_fit = fit(start_network, ctx.sub(0.04, 0.1))
        start = _trial(None, None, reference, start_fit, accepted=True, note="current settings",
                       measured_on=measured_on)
        best, best_fit, best_config = start, start_fit, config
        path, trials = start, []  # path: where the search stands (may be a plateau move, not yet faster)
        plateau: list[BitTrial] = []  # moves since the last gain; part of the result only if a gain follows
        floor = reference - max_loss_points / 100.0
        for round_index in range(max_rounds):
            round_ctx = ctx.sub(0.1 + 0.9 * round_index / max_rounds, 0.1 + 0.9 * (round_index + 1) / max_rounds)
            options = [(kind, name, bits - 1) for kind, name, bits in current_bits(config) if bits > min_bits]
            if not options:
                break
            round_best: tuple[BitTrial, AutofitResult, Any] | None = None
            for i, (kind, name, bits) in enumerate(options):
                ctx.check_cancelled()
                sub = round_ctx.sub(i / len(options), (i + 1) / len(options))
                what = "weights" if kind == "W" else "activations"
                sub.progress(0.0, f"round {round_index + 1}: {name} {what} at {bits} bits")
                candidate = _with_bits(config, name, bits, kind)
                quant_network, acc = evaluate(candidate, sub.sub(0.0, 0.3))
                if acc < floor:
                    trials.append(BitTrial(name, bits, acc, kind=kind, measured_on=measured_on,
                                           note=f"accuracy {100 * acc:.1f} % is more than {max_loss_points:g} "
                                                "points below the start"))
                    continue
                result = fit(quant_network, sub.sub(0.3, 1.0))
                trial = _trial(name, bits, acc, result, kind=kind, measured_on=measured_on)
                trials.append(trial)
                if round_best is None or _rank(trial, result) > _rank(*round_best[:2]):
                    round_best = (trial, result, candidate)
            if round_best is None:
                break
            trial, result, candidate = round_best
            if (trial.fps or 0.0) >= (best.fps or 0.0) * MIN_GAIN:
                trial.accepted, trial.note = True, "faster"
                for move in plateau:
                    move.accepted = True
                plateau = []
                best, best_fit, best_config = trial, result, candidate
            elif (trial.fps or 0.0) >= (path.fps or 0.0) * 0.999 and _usage(result) < _usage_of(path, result) * 0.995:
                # FPS moves in steps (legal foldings): one layer's bit may not reach the next step, but the
                # resources it frees let the next round's change get there.
                trial.note = "same FPS, frees resources for the next round"
                plateau.append(trial)
            else:
                break
            path, config = trial, candidate
        config = best_config
    return BitFitResult(start=start, trials=trials,
                        weight_bits={name: config.weight_bits_for(name) for name in layers},
                        act_bits={act_keys[site.module]: site_bits(site, config) for site in sites},
                        folding=best_fit.folding, final=best, max_loss_points=max_loss_points,
                        budget=best_fit.budget)


def _usage(result: AutofitResult) -> float:
    """The binding share of the budget: max over resources of used / allowed."""
    used = {k: f.value for k, f in result.report.resources.items()}
    return max((used.get(k, 0.0) / v for k, v in result.budget.items() if v > 0), default=0.0)


def _usage_of(trial: BitTrial, like: AutofitResult) -> float:
    return max((trial.resources.get(k, 0.0) / v for k, v in like.budget.items() if v > 0), default=0.0)


def _rank(trial: BitTrial, result: AutofitResult) -> tuple[float, float]:
    return (trial.fps or 0.0, -_usage(result))


def _with_bits(config: Any, layer: str, bits: int, kind: str = "W") -> Any:
    from foldwise.core.quantize.config import LayerOverride

    candidate = copy.deepcopy(config)
    override = candidate.layers.get(layer) or LayerOverride(None, None, True)
    if kind == "W":
        override.weight_bits = bits
    else:
        override.act_bits = bits
    candidate.layers[layer] = override
    candidate.validate()
    return candidate


def _trial(layer: str | None, bits: int | None, acc: float, result: AutofitResult, accepted: bool = False,
           note: str = "", kind: str = "W", measured_on: dict[str, Any] | None = None) -> BitTrial:
    resources = {k: f.value for k, f in result.report.resources.items()}
    return BitTrial(layer, bits, acc, result.fps, resources, accepted, note, kind, dict(measured_on or {}))
