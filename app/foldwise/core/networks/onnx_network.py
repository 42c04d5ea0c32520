"""ONNX files: reading them safely, telling QONNX from plain ONNX, and running QONNX as a torch module.

A QONNX file (Brevitas export, with ``Quant``/``BipolarQuant``/``Trunc`` nodes) is already quantized and
goes to FINN as it is; :class:`OnnxNetwork` only lets Foldwise evaluate and summarise it. It runs with
qonnx's reference executor, one image at a time: correct, not fast.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import numpy as np
import onnx
import torch
from torch import nn

from foldwise.core.errors import InputError

QONNX_OPS = frozenset({"Quant", "BipolarQuant", "Trunc", "IntQuant", "FloatQuant", "MultiThreshold"})


def read_onnx(path: str | os.PathLike[str]) -> onnx.ModelProto:
    """The ONNX model in ``path``; InputError naming the file if it is not a complete ONNX protobuf."""
    source = Path(path)
    try:
        model = onnx.load(str(source), load_external_data=False)
    except Exception as exc:  # protobuf raises DecodeError, RuntimeError, ValueError…
        raise InputError(f"{source} is not a readable ONNX file (corrupt or truncated?): {exc}") from exc
    # Random or truncated bytes can decode as a nearly empty protobuf: require a real graph.
    if not model.ir_version or not model.graph.node or not model.graph.output:
        raise InputError(f"{source} is not a readable ONNX file (no graph; corrupt or truncated?)")
    return model


def is_qonnx(model: onnx.ModelProto) -> bool:
    return any(n.op_type in QONNX_OPS or n.domain.startswith(("qonnx", "finn")) for n in model.graph.node)


class OnnxNetwork(nn.Module):
    """An ONNX/QONNX graph as an evaluation-only torch module (no trainable parameters)."""

    def __init__(self, model: onnx.ModelProto) -> None:
        super().__init__()
        self.onnx_bytes = model.SerializeToString()
        self._wrapper: Any = None

    def __getstate__(self) -> dict[str, Any]:
        state = dict(super().__getstate__())
        state["_wrapper"] = None
        return state

    @property
    def proto(self) -> onnx.ModelProto:
        return onnx.load_from_string(self.onnx_bytes)

    def _model(self) -> Any:
        if self._wrapper is None:
            from qonnx.core.modelwrapper import ModelWrapper
            from qonnx.transformation.infer_shapes import InferShapes

            self._wrapper = ModelWrapper(self.proto).transform(InferShapes())
        return self._wrapper

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        from qonnx.core.onnx_exec import execute_onnx

        model = self._model()
        graph = model.graph
        inp, out = graph.input[0].name, graph.output[0].name
        results = [execute_onnx(model, {inp: image[None].detach().cpu().numpy().astype(np.float32)})[out]
                   for image in x]
        return torch.from_numpy(np.concatenate(results, axis=0))
