"""A quantized iteration on disk.

::

    model.pt             the calibrated Brevitas network, pickled whole by ``networks.store.save_model``
                         (it takes raw 0..255 pixels; extra["quantized"] = True)
    quant.json           the QuantConfig, input shape, weight layers and activation quantizer sites
    calibration/stats.npz  histograms and ranges (``CalibrationStats.load``)
    model.qonnx.onnx     FINN-ready QONNX (UINT8 input), written by the export step

``load_network`` needs only ``model.pt`` and ``quant.json``; the float parent is not needed to rebuild.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from foldwise.core.atomic import atomic_write_json
from foldwise.core.errors import InputError
from foldwise.core.iterations import MODEL_FILE, QUANT_FILE
from foldwise.core.quantize._graph import ActSite
from foldwise.core.quantize.config import QuantConfig
from foldwise.core.quantize.ptq import QuantizedNetwork

STATS_FILE = "calibration/stats.npz"
QONNX_FILE = "model.qonnx.onnx"


def save_network(network: QuantizedNetwork, folder: str | os.PathLike[str], spec: Any, arch: str,
                 extra: dict[str, Any] | None = None) -> Path:
    """Write ``model.pt`` and ``quant.json`` into ``folder``; returns the folder."""
    from foldwise.core.networks.store import save_model

    target = Path(folder)
    save_model(target / MODEL_FILE, network.model, spec, arch, {**(extra or {}), "quantized": True})
    atomic_write_json(target / QUANT_FILE, {
        "config": network.config.to_dict(),
        "input_shape": list(network.input_shape),
        "weight_layers": network.weight_layers,
        "act_sites": [{"module": s.module, "layer": s.layer, "returns_quant_tensor": s.returns_quant_tensor}
                      for s in network.act_sites],
        "removed_nodes": network.removed_nodes,
        "shared_quantizers": network.shared,
        "input": "raw pixels 0..255 (float), scaled inside the graph",
    })
    return target


def load_network(folder: str | os.PathLike[str]) -> tuple[QuantizedNetwork, Any]:
    """Read a quantized iteration folder; returns (network, input spec)."""
    from foldwise.core.networks.store import load_model

    source = Path(folder)
    meta_path = source / QUANT_FILE
    try:
        meta = json.loads(meta_path.read_text(encoding="utf-8"))
    except FileNotFoundError as exc:
        raise InputError(f"{source} holds no quantized network (no {QUANT_FILE})") from exc
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise InputError(f"{meta_path} is corrupt: {exc}") from exc
    loaded = load_model(source / MODEL_FILE)
    try:
        network = QuantizedNetwork(
            model=loaded.model,
            config=QuantConfig.from_dict(meta["config"]),
            input_shape=tuple(meta["input_shape"]),
            weight_layers=list(meta["weight_layers"]),
            act_sites=[ActSite(**s) for s in meta["act_sites"]],
            removed_nodes=list(meta.get("removed_nodes", [])),
            calibrated=True,
            shared=list(meta.get("shared_quantizers", [])),
        )
    except (KeyError, TypeError) as exc:
        raise InputError(f"{meta_path} is incomplete: {exc}") from exc
    return network, loaded.spec
