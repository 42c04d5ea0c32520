"""Export a quantized network: FINN-ready QONNX (checked bit-exact against torch) and QCDQ ONNX for
onnxruntime.

QONNX export follows the verified recipe (shared FACTS): ``export_qonnx(..., dynamo=False,
opset_version=13)``, then qonnx ``cleanup_model``, with the graph input annotated UINT8 (the network takes
raw pixels and divides inside). Each node's ``doc_string`` keeps the torch layer it came from, so a
mismatch can be reported by layer.
"""

from __future__ import annotations

import re
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np
import onnx
import torch

from foldwise.core.errors import FoldwiseError, InputError
from foldwise.core.jobs import JobContext, null_context
from foldwise.core.quantize.ptq import QuantizedNetwork, check_images

_SCOPE = re.compile(r"^/([^/]+)/")


def _example(network: QuantizedNetwork) -> torch.Tensor:
    return torch.zeros((1, *network.input_shape))


def _tag_layers(model: onnx.ModelProto, network: QuantizedNetwork) -> None:
    """Store each node's torch module name in its doc_string.

    The exporter names nodes by the module's attribute name only (``/relu1/...`` for both
    ``features.relu1`` and ``classifier.relu1``), so the scopes are matched, in order, against the
    module calls of the FX graph, which run in the same order.
    """
    calls = [str(n.target) for n in network.model.graph.nodes if n.op == "call_module"]
    position = 0
    for node in model.graph.node:
        match = _SCOPE.match(node.name)
        if not match or node.doc_string:
            continue
        scope = match.group(1)
        for i in range(position, len(calls)):
            if calls[i].rsplit(".", 1)[-1] == scope:
                position = i
                node.doc_string = calls[i]
                break


def export_qonnx_file(network: QuantizedNetwork, path: str | Path, ctx: JobContext | None = None) -> Path:
    """Write ``network`` as cleaned-up QONNX with a UINT8 input; returns the path."""
    from brevitas.export import export_qonnx
    from qonnx.core.datatype import DataType
    from qonnx.core.modelwrapper import ModelWrapper
    from qonnx.util.cleanup import cleanup_model

    ctx = ctx or null_context()
    target = Path(path)
    if not target.parent.is_dir():
        raise InputError(f"cannot write {target}: folder {target.parent} does not exist")
    ctx.progress(0.0, "exporting QONNX")
    network.model.eval()
    with tempfile.TemporaryDirectory(prefix="foldwise-qonnx-") as tmp:
        raw = Path(tmp) / "raw.onnx"
        try:
            with torch.no_grad():
                export_qonnx(network.model, args=_example(network), export_path=str(raw), dynamo=False,
                             opset_version=13)
        except Exception as exc:  # exporter failures become one message
            raise FoldwiseError(f"QONNX export failed: {type(exc).__name__}: {exc}") from exc
        proto = onnx.load(str(raw))
        _tag_layers(proto, network)
        ctx.progress(0.6, "cleaning up the graph")
        model = cleanup_model(ModelWrapper(proto))
    model.set_tensor_datatype(model.graph.input[0].name, DataType["UINT8"])
    model.save(str(target))
    ctx.progress(1.0, "QONNX written")
    return target


def _run_qonnx(model: Any, x: np.ndarray, full: bool = False) -> dict[str, np.ndarray]:
    from qonnx.core.onnx_exec import execute_onnx
    from qonnx.transformation.change_batchsize import ChangeBatchSize
    from qonnx.transformation.infer_shapes import InferShapes

    if x.shape[0] != 1:
        model = model.transform(ChangeBatchSize(x.shape[0])).transform(InferShapes())
    return execute_onnx(model, {model.graph.input[0].name: x}, return_full_exec_context=full)


def check_qonnx(network: QuantizedNetwork, path: str | Path, images: Any, ctx: JobContext | None = None,
                batch_size: int = 64) -> dict[str, Any]:
    """Run the QONNX file with qonnx's ``execute_onnx`` and torch on the same raw-pixel images.

    Returns ``{"bit_exact", "max_abs_diff", "images", "mismatched_images", "first_mismatch", "seconds",
    "source": "measured"}``; ``first_mismatch`` (on a mismatch) names the first node, its op, torch layer and
    max |Δ| where the file departs from a fresh export of the torch network.
    """
    from qonnx.core.modelwrapper import ModelWrapper

    ctx = ctx or null_context()
    start = time.perf_counter()
    source = Path(path)
    if not source.is_file():
        raise InputError(f"QONNX file not found: {source}")
    x = check_images(images, network.input_shape, "check")
    try:
        model = ModelWrapper(str(source))
    except Exception as exc:
        raise InputError(f"{source} is not a readable ONNX model: {exc}") from exc
    out_name = model.graph.output[0].name
    max_diff, bad, first_bad = 0.0, 0, None
    network.model.eval()
    for i in range(0, len(x), batch_size):
        ctx.check_cancelled()
        batch = x[i:i + batch_size]
        onnx_out = _run_qonnx(model, batch.numpy())[out_name]
        with torch.no_grad():
            torch_out = network.model(batch).numpy()
        diff = np.abs(onnx_out.astype(np.float64) - torch_out).reshape(len(batch), -1).max(1)
        max_diff = max(max_diff, float(diff.max()))
        wrong = np.nonzero(diff > 0)[0]
        bad += len(wrong)
        if first_bad is None and len(wrong):
            first_bad = i + int(wrong[0])
        ctx.progress(min(i + batch_size, len(x)) / len(x), f"checking QONNX: {min(i + batch_size, len(x))}"
                     f"/{len(x)} images")
    first = None if first_bad is None else _first_mismatch(network, model, x[first_bad:first_bad + 1])
    if first_bad is not None and first is None:
        # Same graph as a fresh export, so torch and onnxruntime disagree: their float convolutions sum in a
        # different order and a value sitting on a rounding boundary lands one quantization step apart.
        first = {"node": None, "op": None, "layer": None, "max_abs_diff": max_diff,
                 "note": "the file equals a fresh export; torch and onnxruntime round a boundary value "
                         "differently (float accumulation order)"}
    return {"bit_exact": bad == 0, "max_abs_diff": max_diff, "images": len(x), "mismatched_images": bad,
            "first_mismatch": first, "seconds": time.perf_counter() - start, "source": "measured"}


def _first_mismatch(network: QuantizedNetwork, model: Any, x: torch.Tensor) -> dict[str, Any] | None:
    """Compare every intermediate tensor with a fresh export of the torch network, in graph order."""
    from qonnx.core.modelwrapper import ModelWrapper

    with tempfile.TemporaryDirectory(prefix="foldwise-ref-") as tmp:
        reference = ModelWrapper(str(export_qonnx_file(network, Path(tmp) / "ref.onnx")))
    got = _run_qonnx(model, x.numpy(), full=True)
    want = _run_qonnx(reference, x.numpy(), full=True)
    for node in model.graph.node:
        for name in node.output:
            if name not in want or name not in got or np.shape(want[name]) != np.shape(got[name]):
                return {"node": node.name, "op": node.op_type, "layer": node.doc_string or None,
                        "max_abs_diff": None, "note": "the graph differs from a fresh export here"}
            diff = np.abs(np.asarray(got[name], np.float64) - np.asarray(want[name], np.float64))
            if diff.size and float(diff.max()) > 0:
                return {"node": node.name, "op": node.op_type, "layer": node.doc_string or None,
                        "max_abs_diff": float(diff.max())}
    return None


def export_qcdq_file(network: QuantizedNetwork, path: str | Path) -> Path:
    """Write standard ONNX with QuantizeLinear/DequantizeLinear (runs in onnxruntime); returns the path."""
    from brevitas.export import export_onnx_qcdq

    target = Path(path)
    if not target.parent.is_dir():
        raise InputError(f"cannot write {target}: folder {target.parent} does not exist")
    network.model.eval()
    try:
        with torch.no_grad():
            export_onnx_qcdq(network.model, args=_example(network), export_path=str(target), dynamo=False,
                             opset_version=13, input_names=["pixels"], output_names=["scores"],
                             dynamic_axes={"pixels": {0: "batch"}, "scores": {0: "batch"}})
    except Exception as exc:
        raise FoldwiseError(f"QCDQ ONNX export failed: {type(exc).__name__}: {exc}") from exc
    return target


def check_qcdq(network: QuantizedNetwork, path: str | Path, images: Any, labels: Any = None) -> dict[str, Any]:
    """Run the QCDQ file in onnxruntime and torch; top-1 agreement, max |Δ| and (with labels) accuracies."""
    import onnxruntime as ort

    x = check_images(images, network.input_shape, "check")
    try:
        session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    except Exception as exc:
        raise InputError(f"onnxruntime cannot load {path}: {exc}") from exc
    onnx_out = session.run(None, {session.get_inputs()[0].name: x.numpy()})[0]
    torch_out = network(x).numpy()
    result = {"images": len(x), "max_abs_diff": float(np.abs(onnx_out - torch_out).max()),
              "top1_agreement": float((onnx_out.argmax(1) == torch_out.argmax(1)).mean()), "source": "measured"}
    if labels is not None:
        y = np.asarray(labels)[: len(x)]
        result["accuracy_onnx"] = float((onnx_out.argmax(1) == y).mean())
        result["accuracy_torch"] = float((torch_out.argmax(1) == y).mean())
    return result
