"""Datasets: the generated defect set, scikit-learn's digits, image folders and calibration subsets.

Nothing here downloads anything. Heavy modules (OpenCV, scikit-learn) load only when their function is used.
"""

from __future__ import annotations

from typing import Any

from foldwise.core.data.calibration import calibration_subset
from foldwise.core.data.dataset import ImageDataset, Splits

_LAZY = {
    "generate_defect_splits": "defects",
    "generate_defect_set": "defects",
    "load_or_generate": "defects",
    "render_conveyor_frame": "frames",
    "crop_parts": "frames",
    "ConveyorFrame": "frames",
    "load_digits_splits": "digits",
    "load_image_folder": "folders",
    "LoadReport": "folders",
    "DATASETS": "registry",
    "get_dataset_splits": "registry",
}

__all__ = ["ImageDataset", "Splits", "calibration_subset", *_LAZY]


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    import importlib

    return getattr(importlib.import_module(f"{__name__}.{module}"), name)
