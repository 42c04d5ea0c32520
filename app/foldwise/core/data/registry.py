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


def dataset_settings(choice: str, seed: int = 0) -> dict[str, Any]:
    """Project settings (``settings.dataset``) for a data-set choice as the CLI spells it.

    ``defects`` and ``digits`` are the shipped sets; ``folder:DIR`` is the user's image folder (one sub-folder
    per class), checked here so that a bad folder is refused before anything is made.
    """
    text = str(choice).strip()
    name, _, rest = text.partition(":")
    if name == "folder":
        if not rest:
            raise InputError("an image folder needs its path: --data folder:DIR")
        from pathlib import Path

        from foldwise.core.data.folders import survey_image_folder

        folder = Path(rest).expanduser().absolute()
        survey_image_folder(folder)
        return {"name": "folder", "path": str(folder), "seed": seed}
    if rest or name not in DATASETS:
        raise InputError(f"unknown data set {text!r}; choose one of: {', '.join(DATASETS)}, or folder:DIR")
    return {"name": name, "seed": seed}


def check_input_fits(settings: dict[str, Any], shape: tuple[int, int, int], network: str) -> None:
    """InputError when a shipped data set's images cannot feed a network taking ``shape`` (C×H×W).

    Image folders are resized (and converted to the channel count) on load, so they always fit; the shipped
    sets are generated at one size, and the zoo networks' classifiers are sized for their input.
    """
    name = settings.get("name")
    if name not in DATASETS:
        return
    have = tuple(DATASETS[name]["input_shape"])
    if have != tuple(shape):
        size = "×".join(map(str, have))
        raise InputError(f"data set {name!r} holds {size} images but {network} takes {'×'.join(map(str, shape))}; "
                         "choose a network made for it, or an image folder (resized on load)")
