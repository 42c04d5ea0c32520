"""Validation of a quantized network: float vs quantized accuracy and confusion matrices, per-layer
sensitivity (one layer quantized at a time) and weight memory at the chosen precision."""

from __future__ import annotations

from typing import Any

import numpy as np
import torch
from torch import nn

from foldwise.core.errors import InputError
from foldwise.core.jobs import JobContext, null_context
from foldwise.core.protocol import Protocol
from foldwise.core.quantize.ptq import QuantizedNetwork, apply_enabled, check_images

EVAL_BATCH = 256


def _labels(labels: Any, n: int) -> np.ndarray:
    y = np.asarray(labels.numpy() if isinstance(labels, torch.Tensor) else labels).astype(np.int64)
    if y.shape != (n,):
        raise InputError(f"need one label per image: {n} images but labels of shape {y.shape}")
    return y


def _scores(fn: Any, x: torch.Tensor, ctx: JobContext | None = None) -> np.ndarray:
    out = []
    with torch.no_grad():
        for i in range(0, len(x), EVAL_BATCH):
            if ctx is not None:
                ctx.check_cancelled()
            result = fn(x[i:i + EVAL_BATCH])
            out.append((result.value if hasattr(result, "value") and not isinstance(result, torch.Tensor)
                        else result).numpy())
    return np.concatenate(out)


def float_input(x: torch.Tensor, spec: Any = None) -> torch.Tensor:
    """Raw pixels → what a float zoo network takes (``/255``, then the spec's range/normalisation)."""
    x01 = x / 255.0
    return spec.prepare(x01) if spec is not None else x01


def metrics(predicted: np.ndarray, y: np.ndarray, classes: int, protocol: Protocol | None = None) -> dict[str, Any]:
    """``{"accuracy": {"value", "source"[, "protocol", "split", "images"]}, "confusion": K×K list (rows = true
    class)}``; with ``protocol`` the accuracy says what it was measured on."""
    confusion = np.bincount(y * classes + predicted, minlength=classes * classes).reshape(classes, classes)
    where = protocol.fields(len(y)) if protocol is not None else {}
    return {"accuracy": {"value": float((predicted == y).mean()), "source": "measured", **where},
            "confusion": confusion.tolist()}


def compare(float_model: nn.Module, network: QuantizedNetwork, images: Any, labels: Any, spec: Any = None,
            ctx: JobContext | None = None, protocol: Protocol | None = None) -> dict[str, Any]:
    """Top-1 accuracy and confusion of the float and the quantized network on the same raw-pixel images
    (``protocol``: what they are, stored with both accuracies and as ``"protocol"``).

    Returns ``{"float": metrics, "quantized": metrics, "drop_points": float, "images": n[, "protocol",
    "split"]}``.
    """
    ctx = ctx or null_context()
    x = check_images(images, network.input_shape, "validation")
    y = _labels(labels, len(x))
    float_model.eval()
    ctx.progress(0.0, "float network")
    float_scores = _scores(lambda b: float_model(float_input(b, spec)), x, ctx)
    ctx.progress(0.5, "quantized network")
    network.model.eval()
    quant_scores = _scores(network.model, x, ctx)
    classes = max(int(y.max()) + 1, float_scores.shape[1])
    result = {"float": metrics(float_scores.argmax(1), y, classes, protocol),
              "quantized": metrics(quant_scores.argmax(1), y, classes, protocol), "images": len(x)}
    if protocol is not None:
        result.update(protocol.fields(len(x)))
    result["drop_points"] = 100 * (result["float"]["accuracy"]["value"] - result["quantized"]["accuracy"]["value"])
    ctx.progress(1.0, "validated")
    return result


def accuracy(network: QuantizedNetwork, images: Any, labels: Any) -> float:
    x = check_images(images, network.input_shape, "validation")
    network.model.eval()
    return float((_scores(network.model, x).argmax(1) == _labels(labels, len(x))).mean())


def sensitivity(network: QuantizedNetwork, images: Any, labels: Any, ctx: JobContext | None = None
                ) -> list[dict[str, Any]]:
    """Accuracy with only one weight layer (and its output activation) quantized, the rest float.

    Returns one ``{"layer", "accuracy", "drop_points", "source": "measured"}`` per weight layer, where the
    drop is against the all-float run of the same graph. The network's enabled state is restored after.
    """
    ctx = ctx or null_context()
    x = check_images(images, network.input_shape, "sensitivity")
    y = _labels(labels, len(x))
    network.model.eval()
    rows = []
    try:
        apply_enabled(network, only=set())
        baseline = float((_scores(network.model, x, ctx).argmax(1) == y).mean())
        for i, layer in enumerate(network.weight_layers):
            ctx.progress(i / len(network.weight_layers), f"sensitivity: {layer}")
            apply_enabled(network, only={layer})
            acc = float((_scores(network.model, x, ctx).argmax(1) == y).mean())
            rows.append({"layer": layer, "accuracy": acc, "drop_points": 100 * (baseline - acc),
                         "source": "measured"})
    finally:
        apply_enabled(network)
    ctx.progress(1.0, "sensitivity done")
    return rows


def weight_memory(network: QuantizedNetwork) -> dict[str, Any]:
    """Weight storage at the chosen precision, per layer and in total (MB = 10^6 bytes, "computed").

    Float (not quantized) layers count 32 bits; biases stay float and are listed apart.
    """
    rows, total, bias_total, float_total = [], 0.0, 0.0, 0.0
    for name in network.weight_layers:
        module = network.model.get_submodule(name)
        params = int(module.weight.numel())
        proxy = module.weight_quant
        bits = 32 if proxy.disable_quant else network.config.weight_bits_for(name)
        mb = params * bits / 8 / 1e6
        bias_mb = (module.bias.numel() * 4 / 1e6) if module.bias is not None else 0.0
        rows.append({"layer": name, "params": params, "bits": bits, "mb": mb, "bias_mb": bias_mb,
                     "source": "computed"})
        total += mb
        bias_total += bias_mb
        float_total += params * 4 / 1e6
    return {"layers": rows, "total_mb": {"value": total, "source": "computed", "unit": "MB"},
            "bias_mb": {"value": bias_total, "source": "computed", "unit": "MB"},
            "float_mb": {"value": float_total, "source": "computed", "unit": "MB"}}
