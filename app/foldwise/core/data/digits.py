"""scikit-learn's 8×8 digits (in its wheel: nothing downloaded), upsampled to 32×32 grayscale for LeNet5."""

from __future__ import annotations

import numpy as np

from foldwise.core.data.dataset import SPLIT_NAMES, ImageDataset, Splits
from foldwise.core.errors import InputError
from foldwise.core.jobs import JobContext, null_context

CLASS_NAMES = [str(d) for d in range(10)]


def stratified_split(labels: np.ndarray, fractions: tuple[float, float, float], seed: int) -> list[np.ndarray]:
    """Indices for train/val/test holding each class in about the same ``fractions`` (each list shuffled)."""
    rng = np.random.default_rng(seed)
    parts: list[list[int]] = [[], [], []]
    for label in np.unique(labels):
        idx = rng.permutation(np.flatnonzero(labels == label))
        n_train = round(len(idx) * fractions[0])
        n_val = round(len(idx) * fractions[1])
        parts[0].extend(idx[:n_train])
        parts[1].extend(idx[n_train : n_train + n_val])
        parts[2].extend(idx[n_train + n_val :])
    return [rng.permutation(np.array(p, dtype=np.int64)) for p in parts]


def load_digits_splits(
    seed: int = 0,
    size: int = 32,
    fractions: tuple[float, float, float] = (0.7, 0.15, 0.15),
    ctx: JobContext | None = None,
) -> Splits:
    """Stratified train/val/test splits of the 1,797 digits as 1×size×size uint8 images (0..255)."""
    import cv2
    from sklearn.datasets import load_digits

    if len(fractions) != 3 or min(fractions) <= 0 or abs(sum(fractions) - 1.0) > 1e-6:
        raise InputError(f"digits: split fractions must be three positive numbers summing to 1, got {fractions}")
    if size < 8:
        raise InputError(f"digits: image size must be at least 8, got {size}")
    ctx = ctx or null_context()
    ctx.progress(0.1, "loading digits")
    bunch = load_digits()
    # Values are 0..16 ink counts; 16 becomes 255.
    small = np.clip(np.rint(bunch.images * (255.0 / 16.0)), 0, 255).astype(np.uint8)
    big = np.stack([cv2.resize(img, (size, size), interpolation=cv2.INTER_LINEAR) for img in small])[:, None]
    labels = bunch.target.astype(np.int64)
    sets = [
        ImageDataset(big[idx], labels[idx], CLASS_NAMES, name=f"digits-{split}")
        for split, idx in zip(SPLIT_NAMES, stratified_split(labels, fractions, seed), strict=True)
    ]
    ctx.progress(1.0, "digits ready")
    return Splits(*sets)
