"""FINN-ready QONNX files from Brevitas's bnn_pynq zoo (TFC, SFC, LFC, CNV), for tests and benchmarks.

Follows FINN's own end-to-end preparation (``tests/end2end/test_end2end_bnn_pynq.py``): the network gets a
``ToTensor``-style ``/255`` in front so it takes raw 0..255 pixels (input annotated UINT8) and a Top-1 node at
the end. Streamlining and conversion to hardware are left to FINN's build steps. Weights are random
(``pretrained=False``): estimates only depend on shapes and bit widths. Imports torch and Brevitas, never FINN.
"""

from __future__ import annotations

from pathlib import Path

from foldwise.core.errors import InputError

#: zoo name -> input shape (NCHW)
ZOO_MODELS: dict[str, tuple[int, ...]] = {
    "tfc_1w1a": (1, 1, 28, 28),
    "tfc_1w2a": (1, 1, 28, 28),
    "tfc_2w2a": (1, 1, 28, 28),
    "sfc_1w1a": (1, 1, 28, 28),
    "lfc_1w1a": (1, 1, 28, 28),
    "cnv_1w1a": (1, 3, 32, 32),
    "cnv_1w2a": (1, 3, 32, 32),
    "cnv_2w2a": (1, 3, 32, 32),
}


def export_zoo_model(name: str, out_path: str | Path, *, top_k: bool = True, seed: int = 0) -> Path:
    """Export the Brevitas bnn_pynq model ``name`` (e.g. ``"cnv_1w1a"``) as a cleaned-up QONNX file.

    The graph takes UINT8 pixels (divided by 255 inside) and, with ``top_k``, ends in a Top-1 index, as in
    FINN's BNN-PYNQ flow. Returns ``out_path``.
    """
    if name not in ZOO_MODELS:
        raise InputError(f"unknown zoo model {name!r}; known: {', '.join(sorted(ZOO_MODELS))}")
    import torch
    from brevitas.export import export_qonnx
    from brevitas_examples.bnn_pynq.models import model_with_cfg
    from qonnx.core.datatype import DataType
    from qonnx.core.modelwrapper import ModelWrapper
    from qonnx.transformation.insert_topk import InsertTopK
    from qonnx.util.cleanup import cleanup_model

    torch.manual_seed(seed)
    net, _ = model_with_cfg(name, pretrained=False)
    net.eval()

    class _FromPixels(torch.nn.Module):
        """torchvision's ToTensor as a graph op, so the accelerator takes raw UINT8 pixels."""

        def __init__(self, inner: torch.nn.Module) -> None:
            super().__init__()
            self.inner = inner

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            return self.inner(x / 255.0)

    out_path = Path(out_path)
    out_path.parent.mkdir(parents=True, exist_ok=True)
    example = torch.randint(0, 256, ZOO_MODELS[name]).float()
    with torch.no_grad():
        export_qonnx(_FromPixels(net), args=example, export_path=str(out_path), dynamo=False, opset_version=13)
    model = cleanup_model(ModelWrapper(str(out_path)))
    model.set_tensor_datatype(model.graph.input[0].name, DataType["UINT8"])
    if top_k:
        model = model.transform(InsertTopK(k=1))
        model = cleanup_model(model)
    model.save(str(out_path))
    return out_path
