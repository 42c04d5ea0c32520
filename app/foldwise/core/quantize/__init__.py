"""Quantization: Brevitas PTQ with calibration histograms, per-layer bit widths, validation, QAT and
FINN-ready QONNX export. Nothing here imports Qt.

The names below load their module on first use, so importing ``foldwise.core.quantize.config`` (which the
GUI does before its window is shown) does not import torch or Brevitas.
"""

from __future__ import annotations

from typing import Any

_LAZY = {
    "ExportResult": "config",
    "ExportSpec": "config",
    "LayerOverride": "config",
    "QuantizeSpec": "config",
    "QuantConfig": "config",
    "ScaleType": "config",
    "WeightScaling": "config",
    "PTQResult": "ptq",
    "QuantizedNetwork": "ptq",
    "calibrate": "ptq",
    "prepare": "ptq",
    "quantize_network": "ptq",
    "CalibrationStats": "stats",
    "TensorStats": "stats",
    "histogram": "stats",
    "what_if": "stats",
}

__all__ = sorted(_LAZY)


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    import importlib

    return getattr(importlib.import_module(f"{__name__}.{module}"), name)
