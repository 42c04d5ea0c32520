"""Auto-fit over per-layer bit widths (weights, optionally activations) as well as the folding.

Fewer weight bits make FINN's MVAUs smaller (LUTs per PE/SIMD, weight memory); fewer activation bits shrink the
thresholds (2^bits - 1 per channel) and the datapath. Either way, within the same budget auto-fit can unfold
further. Starting from the current quantized iteration's settings, each round tries one bit less on each weight
layer (and, with ``acts``, on each activation quantizer); candidates that keep validation accuracy within
``max_loss_points`` of the starting settings compete on FINN's estimated FPS within the budget (the folding of
each found by :func:`foldwise.core.finn.autofit.search`). The fastest candidate is kept while it raises the
estimated FPS by at least 1 %; FPS moves in legal-folding steps, so a same-FPS change that frees budget is a
plateau move the next round builds on. Nothing is written to the project: the result is a per-layer file for
``foldwise quantize --per-layer`` (then QAT can recover accuracy).

Weight-bit candidates are fast and exact (``method`` "per-layer tables"): FINN tabulates one model per bit
width and each candidate's tables are combined from its layers' entries (``core.finn.bit_tables``); every
candidate is then ranked by FPS, and accuracy is measured in that order only until one keeps it (a candidate
ranked below the first that keeps accuracy is never the one chosen), reusing the calibration and running only
the layers from the changed one on (``core.quantize.incremental``). The chosen design is exported and
re-estimated by FINN, whose figures must equal the search's (``confirmed``). Activation-bit candidates, bias
correction or GPFQ change the calibration, so those searches re-quantize and ask FINN per candidate
("per candidate").
"""

from __future__ import annotations

import copy
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from foldwise.core.errors import InputError
from foldwise.core.finn.autofit import make_budget
from foldwise.core.finn.bitsearch import MIN_GAIN, BitPace, BitSearch, BitTrial, trial_of, verdict
from foldwise.core.finn.boards import DEFAULT_BOARD
from foldwise.core.finn.worker import FinnWorker, get_worker
from foldwise.core.jobs import JobContext, null_context
from foldwise.core.project import Project
from foldwise.core.protocol import SELECT

__all__ = ["MIN_GAIN", "BitFitResult", "BitTrial", "autofit_bits"]

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
    method: str = ""  # "per-layer tables" or "per candidate" (see the module doc)
    confirmed: dict[str, Any] = field(default_factory=dict)  # FINN's re-estimate of the chosen design vs the search
    seconds: float = 0.0
    finn_models: int = 0  # models FINN tabulated

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
                "budget": self.budget, "folding": self.folding, "method": self.method,
                "confirmed": self.confirmed, "seconds": round(self.seconds, 1), "finn_models": self.finn_models}


def autofit_bits(
    project: Project, *, board: str = DEFAULT_BOARD, clock_mhz: float = 100.0, budget_lut: float = 0.85,
    budget_bram: float = 0.85, budget_dsp: float = 1.0, max_loss_points: float = 1.0, min_bits: int = 2,
    max_rounds: int = 8, val_images: int | None = None, acts: bool = False, worker: FinnWorker | None = None,
    reuse: bool = True, ctx: JobContext | None = None,
) -> BitFitResult:
    """Greedy search of per-layer bit widths (and the folding for each) for the current iteration.

    Candidates are measured by the ``select`` protocol (the whole validation split; ``val_images`` limits it),
    never on the test split that reports the iteration made from the result. FINN's answers about the models
    tried are kept in the project's cache folder (``cache/finn``), so a repeated search asks FINN nothing.
    ``reuse=False`` re-quantizes, re-measures and asks FINN for every candidate (the way the search ran before
    the per-layer tables; the benchmark's reference)."""
    from foldwise.core.iterations import is_quantized, load_network, load_splits
    from foldwise.core.quantize import store
    from foldwise.core.quantize.ptq import site_bits
    from foldwise.core.quantize.quantizers import quantizable_layers
    from foldwise.core.quantize.stage import calibration_images

    ctx = ctx or null_context()
    started = time.monotonic()
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
    pace = BitPace(ctx)
    pace.report("loading data")
    splits = load_splits(project, ctx.quiet(), network.spec)
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
    budget = make_budget(board, budget_lut, budget_bram, budget_dsp)
    cache = project.cache_dir / "finn"
    worker = worker or get_worker()
    pool = ThreadPoolExecutor(1, thread_name_prefix="bitfit-finn")
    pool.submit(worker.request, "info", None, ctx.quiet())  # FINN's import (~5 s) while the start re-quantizes
    search = BitSearch(network, calib, config, val_x, val_y, [n for n in layers if config.is_quantized(n)],
                       worker, cache, fit_args, budget, pace, min_bits, reuse, pool)
    with tempfile.TemporaryDirectory(prefix="foldwise-bitfit-") as tmp:
        search.tmp = Path(tmp)
        try:
            start_net, start_fit, reference = search.begin(fast=not sites)
            start = trial_of(None, None, reference, start_fit, accepted=True, note="current settings",
                             measured_on=measured_on)
            best, best_fit, best_config, best_net = start, start_fit, config, start_net
            path, trials = start, []  # path: where the search stands (may be a plateau move, not yet faster)
            plateau: list[BitTrial] = []  # moves since the last gain; part of the result only if a gain follows
            floor = reference - max_loss_points / 100.0
            for round_index in range(max_rounds):
                options = [(kind, name, bits - 1) for kind, name, bits in current_bits(config) if bits > min_bits]
                if not options:
                    break
                pace.round(round_index, len(options))
                if search.tables is not None and all(kind == "W" for kind, _, _ in options):
                    def could_move(t: BitTrial, r: Any, best: BitTrial = best, path: BitTrial = path) -> bool:
                        return verdict(t, r, best, path) is not None

                    found = search.fast_round(round_index, options, config, floor, max_loss_points, measured_on,
                                              could_move)
                else:
                    found = search.slow_round(round_index, options, config, floor, max_loss_points, measured_on)
                trials.extend(found.trials)
                if found.best is None:
                    break
                trial, result, candidate, net = found.best
                move = verdict(trial, result, best, path)
                if move == "gain":
                    trial.accepted, trial.note = True, "faster"
                    for earlier in plateau:
                        earlier.accepted = True
                    plateau = []
                    best, best_fit, best_config, best_net = trial, result, candidate, net
                    search.confirm_later(trial, result, net)
                elif move == "plateau":
                    trial.note = "same FPS, frees resources for the next round"
                    plateau.append(trial)
                else:
                    break
                search.move(found)
                path, config = trial, candidate
            confirmed, best_fit = search.confirm(best, best_fit, best_net, best is start)
        finally:
            search.close()
    config = best_config
    pace.done()
    return BitFitResult(start=start, trials=trials,
                        weight_bits={name: config.weight_bits_for(name) for name in layers},
                        act_bits={act_keys[site.module]: site_bits(site, config) for site in sites},
                        folding=best_fit.folding, final=best, max_loss_points=max_loss_points,
                        budget=best_fit.budget, method=search.method + (f" ({search.note})" if search.note else ""),
                        confirmed=confirmed,
                        seconds=time.monotonic() - started, finn_models=search.finn_models)
