"""A fixed-bin, data-independent histogram read straight from float32 bit patterns.

The top 12 bits of a float32 (sign, exponent, 3 mantissa bits) index 4,096 bins: 8 bins per octave over
every float magnitude, for each sign. Batches of any range add up without re-binning, the bin of a value
is one shift and one ``bincount`` (cheap enough for calibration hooks), and the mass above any clip
threshold or below any step can be read back later (the GUI's live "what if this layer had 4 bits?").
Bins are linear within their octave; values are taken as uniform inside a bin, and the outermost bins
are clipped to the tensor's recorded min/max. Magnitudes under 2^-129 count as zeros.
"""

from __future__ import annotations

import numpy as np
import torch

NBINS = 4096
SIDE = NBINS // 2  # bins per sign, indexed by magnitude key


def _edges() -> np.ndarray:
    """Magnitude of each key's lower edge: key = exponent << 3 | top 3 mantissa bits."""
    keys = np.arange(SIDE + 1)
    exponent, mantissa = keys >> 3, keys & 7
    with np.errstate(over="ignore"):
        edges = np.where(exponent == 0, mantissa / 8.0 * 2.0**-126,
                         np.exp2(exponent.astype(np.float64) - 127) * (1 + mantissa / 8.0))
    edges[exponent >= 255] = np.inf  # Inf/NaN patterns
    return edges


_EDGES = _edges()


def histogram_codes(x: torch.Tensor) -> torch.Tensor:
    """The NBINS counts (int64 tensor) of the float32 values in ``x``."""
    bits = x.detach().float().contiguous().view(torch.int32)
    # Arithmetic shift: a positive value lands at SIDE + key, a negative one at its key.
    return torch.bincount((bits >> 20).add_(SIDE).reshape(-1), minlength=NBINS)


def split(hist: np.ndarray) -> tuple[np.ndarray, float, np.ndarray]:
    """(negative counts by magnitude key, zero count, positive counts by magnitude key); key 0 is zero."""
    neg = hist[:SIDE].astype(np.float64).copy()
    pos = hist[SIDE:].astype(np.float64).copy()
    zeros = float(neg[0] + pos[0])
    neg[0] = pos[0] = 0.0
    return neg, zeros, pos


def _bounds(limit: float) -> tuple[np.ndarray, np.ndarray]:
    """Per-key [low, high) magnitudes, the top populated range clipped to ``limit`` (the recorded |max|)."""
    limit = max(float(limit), 0.0)
    low = np.minimum(_EDGES[:-1], limit)
    high = np.minimum(_EDGES[1:], limit)
    return low, high


def _mass_above(counts: np.ndarray, limit: float, t: float) -> float:
    """How many of one sign's values have magnitude above ``t``."""
    if counts.sum() == 0:
        return 0.0
    low, high = _bounds(limit)
    width = high - low
    frac = np.where(width > 0, np.clip((high - t) / np.where(width > 0, width, 1.0), 0.0, 1.0),
                    (low > t).astype(float))
    return float((counts * frac).sum())


def fractions(hist: np.ndarray, vmin: float, vmax: float, lo: float, hi: float, half_step: float
              ) -> tuple[float, float]:
    """(fraction clipped outside [lo, hi], fraction of non-zeros with |x| < half_step, i.e. flushed to 0)."""
    neg, _zeros, pos = split(hist)
    total = float(np.sum(hist))
    if total == 0:
        return 0.0, 0.0
    pos_lim, neg_lim = max(vmax, 0.0), max(-vmin, 0.0)
    clipped = _mass_above(pos, pos_lim, hi) if hi >= 0 else float(pos.sum())
    clipped += _mass_above(neg, neg_lim, -lo) if lo <= 0 else float(neg.sum())
    flushed = 0.0
    if half_step > 0:
        flushed = float(pos.sum()) - _mass_above(pos, pos_lim, half_step)
        flushed += float(neg.sum()) - _mass_above(neg, neg_lim, half_step)
    return clipped / total, flushed / total


def percentile_magnitude(hist: np.ndarray, vmin: float, vmax: float, q: float) -> float:
    """The ``q``-th percentile (0..100) of |x| (zeros included)."""
    neg, zeros, pos = split(hist)
    limit = max(vmax, -vmin, 0.0)
    counts = neg + pos
    total = counts.sum() + zeros
    target = total * q / 100.0 - zeros
    if total == 0 or target <= 0:
        return 0.0
    low, high = _bounds(limit)
    cum = np.cumsum(counts)
    i = int(np.searchsorted(cum, target))
    if i >= len(cum):
        return float(limit)
    before = cum[i - 1] if i else 0.0
    frac = (target - before) / counts[i] if counts[i] else 1.0
    return float(low[i] + frac * (high[i] - low[i]))


def linear_histogram(hist: np.ndarray, vmin: float, vmax: float, edges: np.ndarray) -> np.ndarray:
    """Re-bin onto linear ``edges`` (for display): counts per [edges[i], edges[i+1])."""
    neg, zeros, pos = split(hist)
    cdf = np.zeros(len(edges))
    for counts, limit, sign in ((pos, max(vmax, 0.0), 1.0), (neg, max(-vmin, 0.0), -1.0)):
        used = np.nonzero(counts)[0]
        if used.size == 0:
            continue
        low, high = (b[used] for b in _bounds(limit))
        width = high - low
        safe = np.where(width > 0, width, 1.0)[None, :]
        if sign > 0:  # values in [low, high): mass below each edge
            part = np.clip((edges[:, None] - low[None, :]) / safe, 0.0, 1.0)
            point = edges[:, None] > low[None, :]
        else:  # values in (-high, -low]
            part = np.clip((edges[:, None] + high[None, :]) / safe, 0.0, 1.0)
            point = edges[:, None] > -low[None, :]
        part = np.where(width[None, :] > 0, part, point)
        cdf += part @ counts[used]
    cdf += zeros * (edges > 0)
    return np.diff(cdf)
