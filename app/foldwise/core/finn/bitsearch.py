"""The work behind one bit search (``core.finn.bitfit``): the trials, the networks, FINN's tables and the
accuracies its rounds ask for, and its progress with an estimate of the time left.

FINN's answers come from a one-thread pool beside the torch work in the calling thread: the worker tabulates
the next bit width's model while accuracies are measured. See ``bitfit``'s module doc for why each shortcut
gives the same result as re-quantizing and asking FINN per candidate.
"""

from __future__ import annotations

import copy
import tempfile
import time
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from foldwise.core.finn import build
from foldwise.core.finn.autofit import AutofitResult, autofit
from foldwise.core.finn.autofit import search as search_folding
from foldwise.core.finn.bit_tables import LayerTables, TablesMismatch
from foldwise.core.finn.instant import InstantFigures, instant_report
from foldwise.core.finn.worker import FinnWorker
from foldwise.core.jobs import JobContext, Pace

MIN_GAIN = 1.01


@dataclass
class BitTrial:
    """One settings candidate: which layer's weights (kind "W") or activations ("A") went to how many bits."""

    layer: str | None
    bits: int | None
    accuracy: float | None  # None: not measured (a candidate ranked above it kept accuracy)
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
                "accuracy": None if self.accuracy is None else
                {"value": self.accuracy, "source": "measured", "split": "val", **self.measured_on},
                "fps": None if self.fps is None else {"value": self.fps, "source": "estimated"},
                "resources": self.resources, "accepted": self.accepted, "note": self.note}


@dataclass
class _Round:
    """One round's trials and the candidate it would keep (trial, fit, config, network), with what its
    accuracy measurement left for the next round (``entering``: inputs of the layers after the change)."""

    trials: list[BitTrial]
    best: tuple[BitTrial, AutofitResult, Any, Any] | None = None
    accuracy: float | None = None
    entering: dict[str, list[Any]] | None = None


class BitPace:
    """The bit search's progress with an estimate of the time left (``core.jobs.Pace``): measured seconds per
    table search and per accuracy measurement, and one more round after the current one."""

    SETUP_S = 25.0  # before anything is measured: quantize, export, FINN's first tables, the start's accuracy
    FIT_S, ACCURACY_S, TABLES_S = 0.5, 4.0, 8.0

    def __init__(self, ctx: JobContext) -> None:
        self.pace = Pace(ctx)
        self.ctx = ctx
        self.fits: list[float] = []
        self.accuracies: list[float] = []
        self.options = 0  # candidates of the current round
        self.left_in_round = 0.0
        self.in_rounds = False

    def _mean(self, values: list[float], prior: float) -> float:
        return sum(values) / len(values) if values else prior

    def _round_s(self, options: int) -> float:
        return options * self._mean(self.fits, self.FIT_S) + 1.5 * self._mean(self.accuracies, self.ACCURACY_S)

    def left(self) -> float:
        if not self.in_rounds:
            return max(self.SETUP_S - self.pace.elapsed, 3.0) + 2 * self._round_s(7)
        return self.left_in_round + self._round_s(self.options) + 2.0

    def report(self, message: str) -> None:
        self.ctx.check_cancelled()
        self.pace.report(self.left(), message)

    def round(self, index: int, options: int) -> None:
        self.in_rounds, self.options = True, options
        self.left_in_round = self._round_s(options)

    def fitted(self, seconds: float) -> None:
        self.fits.append(seconds)
        self.left_in_round = max(0.0, self.left_in_round - seconds)

    def measured(self, seconds: float) -> None:
        self.accuracies.append(seconds)
        self.left_in_round = max(0.0, self.left_in_round - seconds)

    def done(self) -> None:
        self.pace.done("bit search done")


class BitSearch:
    """The work behind one bit search: the networks, FINN's tables and accuracies the rounds ask for."""

    def __init__(self, network: Any, calib: Any, config: Any, val_x: Any, val_y: Any, layers: list[str],
                 worker: FinnWorker, cache: Path, fit_args: dict[str, Any], budget: dict[str, float],
                 pace: BitPace, min_bits: int, reuse: bool = True, pool: ThreadPoolExecutor | None = None) -> None:
        from foldwise.core.quantize.incremental import calibration_reusable

        self.network, self.calib, self.config, self.val_x, self.val_y = network, calib, config, val_x, val_y
        self.layers = layers  # the quantized weight layers, in graph order
        self.worker, self.cache, self.fit_args, self.budget, self.pace = worker, cache, fit_args, budget, pace
        self.min_bits = min_bits
        self.reusable = reuse and calibration_reusable(config)
        self.tmp = Path(tempfile.gettempdir())
        # FINN's answers come in one background thread, beside the torch work; close() shuts the pool down
        self.pool = pool or ThreadPoolExecutor(1, thread_name_prefix="bitfit-finn")
        self.widths: dict[int, tuple[dict[str, int], Future]] = {}
        self.tables: LayerTables | None = None
        self.accuracy: Any = None  # core.quantize.incremental.TailAccuracy of the path network
        self.start_net: Any = None
        self.path_net: Any = None
        self.path_bits: dict[str, int] = {}
        self.start_bits: dict[str, int] = {}
        self.fast = False
        self.method = "per candidate"
        self.note = ""
        self._asked = 0  # models FINN auto-fitted per candidate
        self._tabulated: list[Future] = []  # whole-model tables asked for (a prefetch not needed is cancelled)
        self._confirming: tuple[BitTrial, Path, Future] | None = None
        self._names = iter(range(1_000_000))

    # -- building blocks -------------------------------------------------------------------------------

    def _quiet(self) -> JobContext:
        return self.pace.ctx.quiet()

    def _export(self, net: Any, name: str) -> Path:
        from foldwise.core.quantize.export import export_qonnx_file

        return export_qonnx_file(net, self.tmp / f"{name}{next(self._names)}.qonnx.onnx")

    def _tabulate(self, path: Path) -> Future:
        future = self.pool.submit(build.option_tables, path, board=self.fit_args["board"],
                                clock_mhz=self.fit_args["clock_mhz"], worker=self.worker, ctx=self._quiet(),
                                cache=self.cache)
        self._tabulated.append(future)
        return future

    def _requantize(self, config: Any) -> Any:
        from foldwise.core.quantize.ptq import quantize_network

        return quantize_network(self.network.model, self.calib, config, self._quiet(), spec=self.network.spec,
                                collect_stats=False).network

    def _reuse(self, config: Any, calibrated: Any) -> Any:
        from foldwise.core.quantize.incremental import with_calibration

        return with_calibration(self.network.model, config, calibrated, self.network.spec)

    def _request_width(self, bits: int) -> None:
        """Ask FINN (in the background) for the tables of the start model with every layer at most ``bits``."""
        if bits < self.min_bits or bits in self.widths or not self.fast:
            return
        wanted = {name: min(self.start_bits[name], bits) for name in self.layers}
        config = self.config
        for name, b in wanted.items():
            config = _with_bits(config, name, b)
        path = self._export(self._reuse(config, self.start_net), f"w{bits}-")
        self.widths[bits] = (wanted, self._tabulate(path))

    def _tables_for(self, bits: dict[str, int]) -> list[dict[str, Any]]:
        assert self.tables is not None
        for width in sorted(self.tables.missing(bits), reverse=True):
            self._request_width(width)
            wanted, future = self.widths[width]
            self.pace.report(f"FINN: option tables at {width} weight bits")
            self.tables.add(future.result(), wanted)
        return self.tables.tables(bits)

    def _fit_tables(self, tables: list[dict[str, Any]]) -> AutofitResult:
        """The best folding within the budget from FINN's tables, with the figures FINN's estimate report gives
        for it (the slowest node's cycles, summed resources); no FINN call."""
        found = search_folding(tables, self.budget)
        clock = self.fit_args["clock_mhz"]
        bottleneck = max(found.node_cycles, key=found.node_cycles.__getitem__) if found.node_cycles else ""
        figures = InstantFigures(clock * 1e6 / found.cycles, int(found.cycles), bottleneck, found.node_cycles,
                                 dict(found.totals))
        report = instant_report(figures, clock, self.fit_args["board"])
        report.folding = found.folding
        return AutofitResult(budget=self.budget, folding=found.folding, report=report, search=found)

    # -- the search's steps ----------------------------------------------------------------------------

    def begin(self, fast: bool) -> tuple[Any, AutofitResult, float]:
        """The start: its network, FINN's auto-fit of it, its accuracy, and how candidates will be measured."""
        from foldwise.core.quantize.incremental import TailAccuracy

        self.pace.report("re-quantizing the current settings")
        self.start_net = self.path_net = self._requantize(self.config)
        self.path_bits = {name: self.config.weight_bits_for(name) for name in self.layers}
        self.start_bits = dict(self.path_bits)
        start_path = self._export(self.start_net, "start")
        self.fast = fast and self.reusable
        pending = self._tabulate(start_path) if self.fast else None
        top = max(self.start_bits.values())
        self._request_width(top - 1)  # round 1's tables: FINN tabulates while torch measures the start
        self.pace.report("validation accuracy of the current settings")
        self.accuracy = TailAccuracy(self.start_net, self.val_x, self.val_y, self.layers, self._quiet()) \
            if self.reusable else None
        reference = self.accuracy.base_accuracy if self.accuracy is not None else self._full_accuracy(self.start_net)
        self._request_width(top - 2)  # round 2's, ahead (exported while FINN is still busy with the first)
        self.pace.report("FINN: auto-fit of the current settings")
        tables = pending.result() if pending is not None else None
        start_fit = autofit(start_path, tables=tables, worker=self.worker, ctx=self._quiet(), **self.fit_args)
        if tables is not None:
            try:
                self.tables = LayerTables(tables, self.path_bits, _shapes(self.network.model, self.layers))
                self.method = "per-layer tables"
            except TablesMismatch as exc:
                self.fast, self.note = False, f"per candidate: {exc}"
        return self.start_net, start_fit, reference

    def _full_accuracy(self, net: Any) -> float:
        from foldwise.core.quantize.validate import accuracy

        return accuracy(net, self.val_x, self.val_y)

    def fast_round(self, index: int, options: list[tuple[str, str, int]], config: Any, floor: float,
                   max_loss: float, measured_on: dict[str, Any], could_move: Callable[[BitTrial, AutofitResult], bool]
                   ) -> _Round:
        """Every candidate's FPS from the per-layer tables, then accuracy in FPS order until one keeps it: the
        round keeps the best-ranked candidate that holds accuracy, so none ranked below it needs measuring, and
        none at all once no candidate left could be kept (``could_move``: a gain or a plateau move)."""
        scored = []
        try:
            for kind, name, bits in options:
                self.pace.report(f"round {index + 1}: {name} weights at {bits} bits (FINN's per-layer tables)")
                started = time.monotonic()
                result = self._fit_tables(self._tables_for({**self.path_bits, name: bits}))
                self.pace.fitted(time.monotonic() - started)
                scored.append((trial_of(name, bits, None, result, kind=kind, measured_on=measured_on), result,
                               _with_bits(config, name, bits, kind)))
        except TablesMismatch as exc:
            self.tables, self.fast, self.method = None, False, "mixed"
            self.note = f"per candidate from round {index + 1}: {exc}"
            return self.slow_round(index, options, config, floor, max_loss, measured_on)
        found = _Round([trial for trial, _, _ in scored])
        ranked = sorted(scored, key=lambda s: _rank(s[0], s[1]), reverse=True)
        movable = [could_move(trial, result) for trial, result, _ in ranked]
        if any(movable):
            for bits in sorted({b - 1 for _, _, b in options}, reverse=True):
                self._request_width(bits)  # the next round's tables, while accuracies are measured
        for i, (trial, result, candidate) in enumerate(ranked):
            if found.best is not None:
                trial.note = "accuracy not measured: a candidate with more FPS kept it"
                continue
            if not any(movable[i:]):
                trial.note = "accuracy not measured: no candidate left in this round gains FPS or frees resources"
                continue
            self.pace.report(f"round {index + 1}: validation accuracy with {trial.label}")
            started = time.monotonic()
            net = self._reuse(candidate, self.path_net)
            trial.accuracy, entering = self.accuracy.accuracy(net, trial.layer, self._quiet())
            self.pace.measured(time.monotonic() - started)
            if trial.accuracy < floor:
                trial.note = _too_low(trial.accuracy, max_loss)
                continue
            found.best, found.accuracy, found.entering = (trial, result, candidate, net), trial.accuracy, entering
        return found

    def slow_round(self, index: int, options: list[tuple[str, str, int]], config: Any, floor: float,
                   max_loss: float, measured_on: dict[str, Any]) -> _Round:
        """Each candidate re-measured and, if it keeps accuracy, exported and auto-fitted by FINN."""
        found = _Round([])
        for kind, name, bits in options:
            what = "weights" if kind == "W" else "activations"
            self.pace.report(f"round {index + 1}: {name} {what} at {bits} bits")
            candidate = _with_bits(config, name, bits, kind)
            started = time.monotonic()
            entering = None
            if kind == "W" and self.accuracy is not None:
                net = self._reuse(candidate, self.path_net)
                acc, entering = self.accuracy.accuracy(net, name, self._quiet())
            else:
                net = self._requantize(candidate)
                acc = self._full_accuracy(net)
            self.pace.measured(time.monotonic() - started)
            if acc < floor:
                found.trials.append(BitTrial(name, bits, acc, kind=kind, measured_on=dict(measured_on),
                                             note=_too_low(acc, max_loss)))
                continue
            self._asked += 1
            started = time.monotonic()
            result = autofit(self._export(net, "candidate"), worker=self.worker, ctx=self._quiet(), **self.fit_args)
            self.pace.fitted(time.monotonic() - started)
            trial = trial_of(name, bits, acc, result, kind=kind, measured_on=measured_on)
            found.trials.append(trial)
            if found.best is None or _rank(trial, result) > _rank(*found.best[:2]):
                found.best, found.accuracy, found.entering = (trial, result, candidate, net), acc, entering
        return found

    def move(self, found: _Round) -> None:
        """The round's candidate becomes where the search stands."""
        from foldwise.core.quantize.incremental import TailAccuracy

        assert found.best is not None
        trial, _result, _candidate, net = found.best
        if found.entering is not None and self.accuracy is not None:
            self.accuracy.rebase(net, float(found.accuracy or 0.0), found.entering)
        elif self.reusable:
            self.accuracy = TailAccuracy(net, self.val_x, self.val_y, self.layers, self._quiet())
        self.path_net = net
        if trial.kind == "W":
            self.path_bits[str(trial.layer)] = int(trial.bits or 0)
        else:  # the tables were made at the start's activation bits
            self.tables, self.fast = None, False

    def confirm(self, best: BitTrial, fit: AutofitResult, net: Any, is_start: bool
                ) -> tuple[dict[str, Any], AutofitResult]:
        """FINN's re-estimate of the chosen design on its own exported model, compared with the search's figures;
        should they differ, FINN's own auto-fit of that model replaces them."""
        if is_start:  # auto-fitted on its own model already (FINN's re-estimate included)
            return {"equal": True, "fps_search": best.fps, "fps_finn": best.fps, "how": "the start's own auto-fit"}, fit
        self.pace.report("FINN: re-estimating the chosen design on its own model")
        if self._confirming is None or self._confirming[0] is not best:
            self.confirm_later(best, fit, net)
        assert self._confirming is not None
        _trial, path, pending = self._confirming
        report = pending.result()
        finn = {k: f.value for k, f in report.resources.items()}
        searched = {k: f.value for k, f in fit.report.resources.items()}
        fps = report.fps.value if report.fps else 0.0
        equal = abs(fps - (best.fps or 0.0)) <= 1e-6 * max(fps, 1.0) and all(
            abs(finn.get(k, 0.0) - searched.get(k, 0.0)) <= 1e-6 for k in set(finn) | set(searched))
        confirmed = {"equal": equal, "fps_search": best.fps, "fps_finn": fps, "resources_search": searched,
                     "resources_finn": finn, "how": "FINN's re-estimate of the chosen folding on the chosen model"}
        if equal:
            fit.report = report
            return confirmed, fit
        fit = autofit(path, worker=self.worker, ctx=self._quiet(), **self.fit_args)
        best.fps, best.resources = fit.fps, {k: f.value for k, f in fit.report.resources.items()}
        best.note = f"{best.note}; FINN's own auto-fit of the chosen model (the per-layer tables disagreed)"
        return confirmed, fit

    def confirm_later(self, best: BitTrial, fit: AutofitResult, net: Any) -> None:
        """Start FINN's re-estimate of a kept design on its own model in the background (the next rounds run
        meanwhile; :meth:`confirm` waits for it if the design is still the one chosen)."""
        path = self._export(net, "chosen")
        pending = self.pool.submit(build.reestimate, path, fit.folding, board=self.fit_args["board"],
                                   clock_mhz=self.fit_args["clock_mhz"], worker=self.worker, ctx=self._quiet())
        self._confirming = (best, path, pending)

    def close(self) -> None:
        self.pool.shutdown(wait=True, cancel_futures=True)

    @property
    def finn_models(self) -> int:
        """Models whose option tables FINN made (or the answers cache held) for this search."""
        return self._asked + sum(1 for f in self._tabulated if f.done() and not f.cancelled())


def _too_low(acc: float, max_loss: float) -> str:
    return f"accuracy {100 * acc:.1f} % is more than {max_loss:g} points below the start"


def _shapes(model: Any, layers: list[str]) -> dict[str, tuple[int, int]]:
    """(MH, MW) of FINN's MVAU for each dense or conv layer: outputs, and inputs times the kernel."""
    from torch import nn

    shapes = {}
    for name in layers:
        module = model.get_submodule(name)
        if isinstance(module, nn.Linear):
            shapes[name] = (module.out_features, module.in_features)
        elif isinstance(module, nn.Conv2d) and module.groups == 1:
            kh, kw = module.kernel_size
            shapes[name] = (module.out_channels, module.in_channels * kh * kw)
    return shapes


def verdict(trial: BitTrial, result: AutofitResult, best: BitTrial, path: BitTrial) -> str | None:
    """"gain" if ``trial`` beats the best by MIN_GAIN, "plateau" if it keeps the path's FPS on fewer resources,
    else None (the search stops)."""
    if (trial.fps or 0.0) >= (best.fps or 0.0) * MIN_GAIN:
        return "gain"
    # FPS moves in steps (legal foldings): one layer's bit may not reach the next step, but the resources it
    # frees let the next round's change get there.
    if (trial.fps or 0.0) >= (path.fps or 0.0) * 0.999 and _usage(result) < _usage_of(path, result) * 0.995:
        return "plateau"
    return None


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


def trial_of(layer: str | None, bits: int | None, acc: float, result: AutofitResult, accepted: bool = False,
           note: str = "", kind: str = "W", measured_on: dict[str, Any] | None = None) -> BitTrial:
    resources = {k: f.value for k, f in result.report.resources.items()}
    return BitTrial(layer, bits, acc, result.fps, resources, accepted, note, kind, dict(measured_on or {}))
