"""Quantization: Brevitas PTQ with calibration histograms, per-layer bit widths, validation, QAT and
FINN-ready QONNX export. Nothing here imports Qt."""

from foldwise.core.quantize.config import (
    ExportResult,
    ExportSpec,
    LayerOverride,
    QuantConfig,
    QuantizeSpec,
    ScaleType,
    WeightScaling,
)
from foldwise.core.quantize.ptq import PTQResult, QuantizedNetwork, calibrate, prepare, quantize_network
from foldwise.core.quantize.stats import CalibrationStats, TensorStats, histogram, what_if

__all__ = [
    "CalibrationStats",
    "ExportResult",
    "ExportSpec",
    "LayerOverride",
    "PTQResult",
    "QuantConfig",
    "QuantizeSpec",
    "QuantizedNetwork",
    "ScaleType",
    "TensorStats",
    "WeightScaling",
    "calibrate",
    "histogram",
    "prepare",
    "quantize_network",
    "what_if",
]
