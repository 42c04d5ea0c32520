"""Calibration subsets for post-training quantization: a few hundred images covering every class."""

from __future__ import annotations

import numbers

import numpy as np

from foldwise.core.data.dataset import ImageDataset
from foldwise.core.errors import InputError


def calibration_subset(dataset: ImageDataset, n: int, seed: int = 0, stratified: bool = True) -> ImageDataset:
    """``n`` distinct samples of ``dataset``, drawn with ``seed``.

    Stratified: each class gets its share of ``n`` in proportion to its size (largest remainders first),
    so a 50/50 set gives a 50/50 subset. Raises :class:`InputError` unless ``1 <= n <= len(dataset)``.
    """
    if isinstance(n, bool) or not isinstance(n, numbers.Integral):
        raise InputError(f"calibration image count must be a whole number, got {n!r}")
    n = int(n)
    if n < 1:
        raise InputError(f"zero calibration images requested from {dataset.name!r}; use at least 1")
    if n > len(dataset):
        raise InputError(
            f"{n} calibration images requested but {dataset.name!r} has only {len(dataset)}; use at most {len(dataset)}"
        )
    rng = np.random.default_rng(seed)
    if not stratified:
        picked = rng.choice(len(dataset), size=n, replace=False)
    else:
        counts = np.bincount(dataset.labels, minlength=len(dataset.class_names))
        quota = _shares(counts, n)
        picked = np.concatenate(
            [
                rng.choice(np.flatnonzero(dataset.labels == label), size=q, replace=False)
                for label, q in enumerate(quota)
                if q
            ]
        )
    return dataset.subset(np.sort(picked), name=f"{dataset.name}-calibration")


def _shares(counts: np.ndarray, n: int) -> np.ndarray:
    """Split ``n`` over classes in proportion to ``counts`` (sum exactly ``n``, never above a count)."""
    exact = counts * (n / counts.sum())
    quota = np.minimum(np.floor(exact).astype(np.int64), counts)
    # Hand out what flooring left over, largest fractional part first, to classes with samples to spare.
    for label in np.argsort(-(exact - quota), kind="stable"):
        if quota.sum() == n:
            break
        if quota[label] < counts[label]:
            quota[label] += 1
    while quota.sum() < n:  # only when rounding met full classes
        label = int(np.argmax(counts - quota))
        quota[label] += 1
    return quota
