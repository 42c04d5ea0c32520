"""Data sets by name, as project settings refer to them (``settings.dataset.name``)."""

from __future__ import annotations

import os
from typing import Any

from foldwise.core.data.dataset import Splits
from foldwise.core.errors import InputError
from foldwise.core.jobs import JobContext

DATASETS: dict[str, dict[str, Any]] = {
    "defects": {
        "description": "rendered nuts, bolts and washers on a conveyor: ok / defect (64×64 RGB, 4,000/1,000/1,000)",
        "input_shape": (3, 64, 64),
        "class_names": ["ok", "defect"],
    },
    "digits": {
        "description": "scikit-learn's 1,797 handwritten digits, upsampled to 32×32 grayscale (70/15/15 %)",
        "input_shape": (1, 32, 32),
        "class_names": [str(d) for d in range(10)],
    },
}


def get_dataset_splits(
    name: str, cache_dir: str | os.PathLike[str], seed: int = 0, ctx: JobContext | None = None
) -> Splits:
    """Train/val/test splits of the named data set; generated ones are cached under ``cache_dir``."""
    if name == "defects":
        from foldwise.core.data.defects import load_or_generate

        return load_or_generate(cache_dir, seed=seed, ctx=ctx)
    if name == "digits":
        from foldwise.core.data.digits import load_digits_splits

        return load_digits_splits(seed=seed, ctx=ctx)
    raise InputError(f"unknown data set {name!r}; choose one of: {', '.join(DATASETS)}")
