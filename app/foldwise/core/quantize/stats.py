"""Calibration statistics: per-layer distributions of weights, biases and activations, the range each
quantizer can represent, and the fractions clipped (overflow) and flushed to zero (|x| under half a step).

Activations are gathered by forward hooks on each activation quantizer's ``tensor_quant`` during
calibration: the hook reads the pre-quantization tensor from its *input* and never calls the proxy (calling
the proxy from its own hook recurses). Histograms are fixed-bin log-magnitude counts built on-device with
``torch.histc`` (see ``_loghist``), so :func:`what_if` can recompute range and fractions for another bit
width without re-calibrating. :meth:`CalibrationStats.save` writes one compact ``.npz``.
"""

from __future__ import annotations

import contextlib
import json
import math
import os
from collections.abc import Iterator
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch

from foldwise.core.errors import InputError
from foldwise.core.quantize import _loghist
from foldwise.core.quantize.config import MAX_BITS, MIN_BITS

FORMAT = "foldwise-quant-stats"
ACT_PERCENTILE = 99.999  # Brevitas's runtime-percentile activation scaling statistic


@dataclass
class QuantRange:
    """What a quantizer can represent: ``lo..hi`` in steps of ``step`` (``scale``; the largest for per-channel)."""

    bits: int
    signed: bool
    narrow: bool
    lo: float
    hi: float
    step: float
    zero_point: float = 0.0
    po2: bool = False
    per_channel: bool = False
    threshold: float = 0.0  # the calibrated statistic the scale comes from (bit-width independent)


@dataclass
class TensorStats:
    """One tensor's distribution and quantization figures (source: "measured" on the calibration images)."""

    name: str  # "<module>/weight", "<module>/bias" or "<module>/act"
    module: str
    layer: str | None  # the weight layer it belongs to (for an activation, the layer it quantizes the output of)
    kind: str  # "weight" | "bias" | "act"
    count: int
    zeros: int
    min: float
    max: float
    hist: np.ndarray = field(repr=False)
    quant: QuantRange | None = None
    clipped: float = 0.0
    flushed: float = 0.0
    enabled: bool = True
    # Weights only: exact {bits: [lo, hi, clipped, flushed, step]} for every bit width, from the tensor itself.
    table: dict[int, list[float]] | None = None

    def summary(self) -> dict[str, Any]:
        """One row for tables and ``--json`` (no histogram)."""
        row = {"name": self.name, "module": self.module, "layer": self.layer, "kind": self.kind,
               "min": self.min, "max": self.max, "clipped": self.clipped, "flushed": self.flushed,
               "enabled": self.enabled, "source": "measured"}
        if self.quant is not None:
            row.update(bits=self.quant.bits, signed=self.quant.signed, lo=self.quant.lo, hi=self.quant.hi,
                       step=self.quant.step)
        return row


def qlimits(bits: int, signed: bool, narrow: bool) -> tuple[int, int]:
    """Integer range of a ``bits``-wide quantizer."""
    if not signed:
        return 0, 2**bits - 1
    top = 2 ** (bits - 1) - 1
    return (-top if narrow else -top - 1), top


def _scale_for(threshold: float, bits: int, signed: bool, narrow: bool, po2: bool) -> float:
    top = qlimits(bits, signed, narrow)[1]
    scale = threshold / max(top, 1)
    if po2 and scale > 0:
        scale = 2.0 ** math.ceil(math.log2(scale))
    return scale


def what_if(entry: TensorStats, bits: int) -> dict[str, float]:
    """Range and fractions if ``entry``'s quantizer had ``bits`` bits (same scaling rules, no re-calibration).

    Returns ``{"bits", "lo", "hi", "step", "clipped", "flushed"}``; weights read their exact per-bit table.
    """
    if not MIN_BITS <= int(bits) <= MAX_BITS:
        raise InputError(f"{entry.name}: bit width must be from {MIN_BITS} to {MAX_BITS}, got {bits}")
    if entry.quant is None:
        raise InputError(f"{entry.name} is not quantized (float biases stay float)")
    if entry.table is not None:
        lo, hi, clipped, flushed, step = entry.table[int(bits)]
        return {"bits": int(bits), "lo": lo, "hi": hi, "step": step, "clipped": clipped, "flushed": flushed}
    q = entry.quant
    if bits == 1 and q.signed:  # bipolar ±1, constant scale
        lo, hi, step = -1.0, 1.0, 2.0
        clipped, _ = _loghist.fractions(entry.hist, entry.min, entry.max, lo, hi, 0.0)
        return {"bits": 1, "lo": lo, "hi": hi, "step": step, "clipped": clipped, "flushed": 0.0}
    scale = _scale_for(q.threshold, int(bits), q.signed, q.narrow, q.po2)
    qmin, qmax = qlimits(int(bits), q.signed, q.narrow)
    lo, hi = (qmin - q.zero_point) * scale, (qmax - q.zero_point) * scale
    clipped, flushed = _loghist.fractions(entry.hist, entry.min, entry.max, lo, hi, scale / 2)
    return {"bits": int(bits), "lo": lo, "hi": hi, "step": scale, "clipped": clipped, "flushed": flushed}


def histogram(entry: TensorStats, bins: int = 128, lo: float | None = None, hi: float | None = None
              ) -> tuple[np.ndarray, np.ndarray]:
    """(edges, counts) on ``bins`` linear bins for display; default range covers the data and the quant range."""
    low = min(entry.min, entry.quant.lo) if lo is None and entry.quant else (entry.min if lo is None else lo)
    high = max(entry.max, entry.quant.hi) if hi is None and entry.quant else (entry.max if hi is None else hi)
    if not high > low:
        low, high = low - 0.5, high + 0.5
    edges = np.linspace(low, high, int(bins) + 1)
    return edges, _loghist.linear_histogram(entry.hist, entry.min, entry.max, edges)


# --------------------------------------------------------------------------- gathering
@contextlib.contextmanager
def single_thread() -> Iterator[None]:
    """Run short torch ops on one thread: on a busy machine a parallel region that waits for a descheduled
    worker costs more than the op itself."""
    threads = torch.get_num_threads()
    if threads > 1:
        torch.set_num_threads(1)
    try:
        yield
    finally:
        if threads > 1:
            torch.set_num_threads(threads)


class _Accumulator:
    def __init__(self, sample: int) -> None:
        self.sample = sample
        self.hist: torch.Tensor | None = None
        self.count = 0
        self.zeros = 0
        self.min = math.inf
        self.max = -math.inf
        self.calls = 0

    def add(self, x: torch.Tensor) -> None:
        x = x.detach().reshape(-1)
        if x.numel() <= 1:  # the proxy's zero sentinel, not data
            return
        with single_thread():
            self._add(x)

    def _add(self, x: torch.Tensor) -> None:
        lo, hi = torch.aminmax(x)
        self.min, self.max = min(self.min, float(lo)), max(self.max, float(hi))
        if x.numel() > self.sample:  # strided sample, offset varied per call to avoid channel aliasing
            stride = -(-x.numel() // self.sample)
            x = x[(self.calls * 7919) % stride::stride]
        self.calls += 1
        counts = _loghist.histogram_codes(x)
        self.hist = counts if self.hist is None else self.hist.add_(counts)
        self.count += x.numel()

    def counts(self) -> np.ndarray:
        return np.zeros(_loghist.NBINS) if self.hist is None else self.hist.cpu().numpy()


class ActivationCollector:
    """Hooks every activation quantizer of a network during calibration (see :func:`ptq.calibrate`)."""

    def __init__(self, sample: int = 1 << 16) -> None:
        self.sample = sample
        self._acc: dict[str, _Accumulator] = {}
        self._handles: list[Any] = []

    def attach(self, network: Any) -> None:
        for site in network.act_sites:
            proxy = network.model.get_submodule(site.module).act_quant
            tensor_quant = proxy.fused_activation_quant_proxy.tensor_quant
            acc = self._acc.setdefault(site.module, _Accumulator(self.sample))
            self._handles.append(tensor_quant.register_forward_hook(
                lambda _m, inputs, _out, acc=acc: acc.add(inputs[0])))

    def detach(self) -> None:
        for handle in self._handles:
            handle.remove()
        self._handles.clear()

    def finish(self, network: Any) -> CalibrationStats:
        """Build the activation entries, reading each quantizer's calibrated scale (hooks already removed)."""
        self.detach()
        with single_thread():
            return self._finish(network)

    def _finish(self, network: Any) -> CalibrationStats:
        entries = []
        for site in network.act_sites:
            acc = self._acc.get(site.module)
            if acc is None or acc.count == 0:
                continue
            proxy = network.model.get_submodule(site.module).act_quant
            entry = TensorStats(f"{site.module}/act", site.module, site.layer, "act", acc.count,
                                int(_loghist.split(acc.counts())[1]), acc.min, acc.max, acc.counts(),
                                enabled=not proxy.disable_quant)
            entry.quant = _act_range(proxy, entry, network.config)
            _set_fractions(entry)
            entries.append(entry)
        return CalibrationStats(entries)


def _read_proxy(proxy: Any, weight_layer: Any = None) -> tuple[torch.Tensor, float, int]:
    """(scale, zero point, bit width) from one quantizer call (a disabled one is enabled just for it)."""
    disabled = proxy.disable_quant
    proxy.disable_quant = False
    try:
        with torch.no_grad():
            out = weight_layer.quant_weight() if weight_layer is not None else proxy.internal_forward(True)
        return out.scale.detach(), float(out.zero_point.detach().float().mean()), int(out.bit_width)
    finally:
        proxy.disable_quant = disabled


def _act_range(proxy: Any, entry: TensorStats, config: Any) -> QuantRange:
    po2 = config.scale_type == "po2"
    scale_t, zero_point, bits = _read_proxy(proxy)
    scale = float(scale_t.max())
    signed = bool(proxy.is_signed)
    narrow = bool(proxy.is_narrow_range) if signed else False
    qmin, qmax = qlimits(bits, signed, narrow)
    if bits == 1 and signed:
        qmin, qmax = -1, 1  # bipolar
    threshold = scale * max(qmax, 1)
    if po2 and config.act_range == "percentile":  # the power-of-two rounding hides it: read it off the histogram
        threshold = _loghist.percentile_magnitude(entry.hist, entry.min, entry.max, ACT_PERCENTILE)
    return QuantRange(bits, signed, narrow, (qmin - zero_point) * scale, (qmax - zero_point) * scale, scale,
                      zero_point, po2, False, threshold)


def _set_fractions(entry: TensorStats) -> None:
    q = entry.quant
    if q is None:
        return
    half = 0.0 if (q.bits == 1 and q.signed) else q.step / 2
    entry.clipped, entry.flushed = _loghist.fractions(entry.hist, entry.min, entry.max, q.lo, q.hi, half)


def _tensor_entry(name: str, module: str, layer: str, kind: str, x: torch.Tensor) -> TensorStats:
    acc = _Accumulator(sample=x.numel())
    acc.add(x)
    counts = acc.counts()
    return TensorStats(f"{name}/{kind}", module, layer, kind, acc.count, int(_loghist.split(counts)[1]),
                       acc.min, acc.max, counts)


def weight_table(w: torch.Tensor, per_channel: bool, po2: bool) -> dict[int, list[float]]:
    """Exact [lo, hi, clipped, flushed, step] of ``w`` for every bit width, with Brevitas's abs-max weight scaling."""
    w = w.detach().float()
    absmax = w.abs().flatten(1).amax(1) if per_channel else w.abs().max().reshape(1)
    shape = (-1,) + (1,) * (w.dim() - 1) if per_channel else (1,) * w.dim()
    table = {}
    for bits in range(MIN_BITS, MAX_BITS + 1):
        if bits == 1:  # SignedBinaryWeightPerTensorConst: ±1
            table[1] = [-1.0, 1.0, float((w.abs() > 1).float().mean()), 0.0, 2.0]
            continue
        top = qlimits(bits, True, True)[1]
        scale = absmax / top
        if po2:
            scale = torch.exp2(torch.ceil(torch.log2(scale.clamp_min(1e-30))))
        s = scale.reshape(shape)
        clipped = float((w.abs() > s * top * (1 + 1e-6)).float().mean())
        flushed = float(((w != 0) & (w.abs() < s / 2)).float().mean())
        table[bits] = [float(-top * scale.max()), float(top * scale.max()), clipped, flushed, float(scale.max())]
    return table


def weight_stats(network: Any) -> list[TensorStats]:
    """Weight and bias entries for every weight layer of a quantized network."""
    with single_thread():
        return _weight_stats(network)


def _weight_stats(network: Any) -> list[TensorStats]:
    config, entries = network.config, []
    for name in network.weight_layers:
        module = network.model.get_submodule(name)
        entry = _tensor_entry(name, name, name, "weight", module.weight)
        proxy = module.weight_quant
        entry.enabled = not proxy.disable_quant
        scale_t, zero_point, bits = _read_proxy(proxy, module)
        per_channel = scale_t.numel() > 1
        entry.table = weight_table(module.weight, per_channel, config.scale_type == "po2")
        lo, hi, entry.clipped, entry.flushed, _step = entry.table[bits]
        scale = float(scale_t.max())
        entry.quant = QuantRange(bits, True, True, lo, hi, scale, zero_point, config.scale_type == "po2",
                                 per_channel, float(entry.max if entry.max > -entry.min else -entry.min))
        entries.append(entry)
        if module.bias is not None:
            entries.append(_tensor_entry(name, name, name, "bias", module.bias))
    return entries


# --------------------------------------------------------------------------- the collection
@dataclass
class CalibrationStats:
    """All entries of one calibration; ``save``/``load`` as a single ``.npz``."""

    entries: list[TensorStats]

    def get(self, name: str) -> TensorStats:
        for entry in self.entries:
            if entry.name == name:
                return entry
        raise InputError(f"no statistics named {name!r} (have: {', '.join(e.name for e in self.entries)})")

    def for_layer(self, layer: str) -> list[TensorStats]:
        return [e for e in self.entries if e.layer == layer or e.module == layer]

    def summary(self) -> list[dict[str, Any]]:
        return [e.summary() for e in self.entries]

    def save(self, path: str | os.PathLike[str]) -> Path:
        target = Path(path)
        meta = []
        for entry in self.entries:
            item = asdict(entry)
            item.pop("hist")
            if entry.table is not None:
                item["table"] = {str(k): v for k, v in entry.table.items()}
            meta.append(item)
        arrays = {f"hist_{i}": e.hist.astype(np.float32) for i, e in enumerate(self.entries)}
        with open(target, "wb") as handle:
            np.savez_compressed(handle, meta=np.array(json.dumps({"format": FORMAT, "version": 1,
                                                                  "entries": meta})), **arrays)
        return target

    @classmethod
    def load(cls, path: str | os.PathLike[str]) -> CalibrationStats:
        source = Path(path)
        try:
            with np.load(source, allow_pickle=False) as data:
                meta = json.loads(str(data["meta"]))
                hists = [np.asarray(data[f"hist_{i}"], dtype=np.float64) for i in range(len(meta["entries"]))]
        except (OSError, KeyError, ValueError) as exc:
            raise InputError(f"{source} is not a Foldwise calibration statistics file: {exc}") from exc
        if meta.get("format") != FORMAT:
            raise InputError(f"{source} is not a Foldwise calibration statistics file")
        entries = []
        for item, hist in zip(meta["entries"], hists, strict=True):
            quant = QuantRange(**item.pop("quant")) if item.get("quant") else None
            item.pop("quant", None)
            table = item.pop("table", None)
            entry = TensorStats(**item, hist=hist, quant=quant)
            entry.table = {int(k): v for k, v in table.items()} if table else None
            entries.append(entry)
        return cls(entries)
