"""Tell a rounding tie from a wrong export when torch and a QONNX file disagree on an image.

The file has already been found equal to a fresh export of the network, so the graph is right; what can still
differ is float arithmetic. torch and onnxruntime sum a convolution in different orders, so a value that sits
within float noise of a quantizer's rounding boundary (x/scale ≈ k + 0.5) can land one step apart, and the
step then propagates. This module pairs the activation quantizers of both runs, finds the first whose outputs
differ, and checks that every differing element is one step apart with its input on a boundary.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch

# |frac(x/scale) - 0.5| below this many steps counts as "on the boundary": float32 sums of a few thousand
# products are off by ~1e-6 relative; real export errors move values by whole steps.
BOUNDARY_STEPS = 1e-3
# Two dequantized values k·scale held in float32 are a whole number of steps apart only to within ~6e-8·k (an
# 8-bit level of 255 is off by 1.5e-5 steps), so steps are rounded to integers after this check of the grid.
GRID_STEPS = 1e-3


def explain_mismatch(network: Any, model: Any, batch: torch.Tensor, executed: dict[str, np.ndarray],
                     rows: list[int]) -> list[dict[str, Any]]:
    """For the images ``rows`` of ``batch`` (N×C×H×W raw pixels) where ``model`` (qonnx ModelWrapper, run on the
    same batch into ``executed``, the full execution context) and ``network`` disagree, one dict each:
    ``{"tie": bool, "layer", "node", "elements", "steps_apart", "distance_to_boundary"}``, or ``{"tie": False,
    "note"}`` if the quantizers cannot be paired. The whole batch is needed: both libraries pick their
    summation order by batch size, so an image alone may well agree."""
    torch_outputs = _torch_act_outputs(network, batch)
    initializers = {init.name for init in model.graph.initializer}
    quant_nodes = [node for node in model.graph.node
                   if node.op_type in ("Quant", "BipolarQuant") and node.input[0] not in initializers]
    if len(quant_nodes) != len(torch_outputs):
        note = f"cannot pair {len(torch_outputs)} torch activation quantizers with {len(quant_nodes)} in the file"
        return [{"tie": False, "note": note} for _ in rows]
    pairs = list(zip(torch_outputs, quant_nodes, strict=True))
    return [_explain_row(pairs, executed, row) for row in rows]


def _explain_row(pairs: list[tuple[tuple[str, np.ndarray], Any]], executed: dict[str, np.ndarray],
                 row: int) -> dict[str, Any]:
    for (layer, want_batch), node in pairs:
        got = np.asarray(executed[node.output[0]][row], dtype=np.float64)
        want = want_batch[row].astype(np.float64)
        if got.shape != want.shape:
            return {"tie": False, "layer": layer, "node": node.name,
                    "note": f"shapes differ: torch {want.shape}, file {got.shape}"}
        differs = got != want
        if not differs.any():
            continue
        scale = _per_row(executed[node.input[1]], row, got.shape)
        apart = (np.abs(got - want) / scale)[differs]
        on_grid = bool(np.abs(apart - np.rint(apart)).max() <= GRID_STEPS)
        steps = float(np.rint(apart).max() if on_grid else apart.max())
        distance = 0.0
        if node.op_type == "Quant":
            level = np.asarray(executed[node.input[0]][row], dtype=np.float64) / scale
            level = level + _per_row(executed[node.input[2]], row, got.shape)
            distance = float(np.abs(level - np.floor(level) - 0.5)[differs].max())
        tie = on_grid and steps == 1.0 and distance <= BOUNDARY_STEPS and node.op_type == "Quant"
        return {"tie": tie, "layer": layer, "node": node.name, "elements": int(differs.sum()),
                "steps_apart": steps, "distance_to_boundary": distance}
    return {"tie": False, "note": "every activation quantizer agrees; the outputs differ after the last one"}


def _per_row(value: Any, row: int, shape: tuple[int, ...]) -> np.ndarray:
    """A scale or zero point (scalar, or shaped to broadcast over the batch) for one image of ``shape``."""
    array = np.asarray(value, dtype=np.float64)
    if array.ndim == len(shape) + 1:
        array = array[min(row, array.shape[0] - 1)]
    return np.broadcast_to(array, shape)


def _torch_act_outputs(network: Any, x: torch.Tensor) -> list[tuple[str, np.ndarray]]:
    """(module name, dequantized output) of every enabled activation quantizer, in call order."""
    outputs: list[tuple[str, np.ndarray]] = []
    hooks = []
    for name, module in network.model.named_modules():
        act_quant = getattr(module, "act_quant", None)
        if act_quant is None or getattr(act_quant, "disable_quant", True) or not act_quant.is_quant_enabled:
            continue

        def record(_module: Any, _inputs: Any, output: Any, name: str = name) -> None:
            value = getattr(output, "value", output)
            outputs.append((name, value.detach().numpy().copy()))

        hooks.append(module.register_forward_hook(record))
    try:
        network.model.eval()
        with torch.no_grad():
            network.model(x)
    finally:
        for hook in hooks:
            hook.remove()
    return outputs
