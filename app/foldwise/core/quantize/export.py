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


TIE_CHECKS = 16


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

    Returns ``{"bit_exact", "faithful", "max_abs_diff", "images", "mismatched_images", "rounding_ties",
    "first_mismatch", "seconds", "source": "measured"}``. On a mismatch ``first_mismatch`` names the first node,
    its op, torch layer and max |Δ| where the file departs from a fresh export of the torch network; if the
    file equals a fresh export, the mismatched images (up to ``TIE_CHECKS``) are examined for rounding ties
    (:mod:`._ties`). ``faithful`` is true when the outputs are bit-exact or every examined mismatch is a tie.
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
    max_diff, bad_images = 0.0, []
    network.model.eval()
    for i in range(0, len(x), batch_size):
        ctx.check_cancelled()
        batch = x[i:i + batch_size]
        onnx_out = _run_qonnx(model, batch.numpy())[out_name]
        with torch.no_grad():
            torch_out = network.model(batch).numpy()
        diff = np.abs(onnx_out.astype(np.float64) - torch_out).reshape(len(batch), -1).max(1)
        max_diff = max(max_diff, float(diff.max()))
        bad_images += [i + int(j) for j in np.nonzero(diff > 0)[0]]
        ctx.progress(min(i + batch_size, len(x)) / len(x), f"checking QONNX: {min(i + batch_size, len(x))}"
                     f"/{len(x)} images")
    first, ties, examined = None, [], []
    if bad_images:
        first = _first_mismatch(network, model, x[bad_images[0]:bad_images[0] + 1])
    if bad_images and first is None:
        # Same graph as a fresh export: examine whether torch and onnxruntime merely rounded a boundary value
        # apart (their float convolutions sum in different orders).
        examined = bad_images[:TIE_CHECKS]
        for found in _explain_batches(network, model, x, examined, batch_size):
            if not found["tie"]:
                first = {"node": found.get("node"), "op": "Quant", "layer": found.get("layer"),
                         "max_abs_diff": max_diff, "image": found["image"],
                         "note": found.get("note") or f"{found['elements']} value(s) {found['steps_apart']:.3g} "
                                                      "step(s) apart, not on a rounding boundary"}
                break
            ties.append(found)
        else:
            layers = sorted({t["layer"] for t in ties})
            first = {"node": None, "op": None, "layer": ties[0]["layer"], "max_abs_diff": max_diff,
                     "ties": ties, "examined": len(examined),
                     "note": f"rounding ties: on {len(examined)} examined image(s) a value within "
                             f"{max(t['distance_to_boundary'] for t in ties):.1g} step of a rounding boundary "
                             f"at {', '.join(layers)} lands one step apart (torch and onnxruntime sum in a "
                             "different order); the file equals a fresh export"}
    faithful = not bad_images or (bool(examined) and len(ties) == len(examined))
    return {"bit_exact": not bad_images, "faithful": faithful, "max_abs_diff": max_diff, "images": len(x),
            "mismatched_images": len(bad_images), "rounding_ties": len(ties), "first_mismatch": first,
            "seconds": time.perf_counter() - start, "source": "measured"}


def check_verdict(check: dict[str, Any]) -> str:
    """One line of plain text for a :func:`check_qonnx` result (what the CLI prints)."""
    if check["bit_exact"]:
        return f"bit-exact on {check['images']} images (measured)"
    first = check.get("first_mismatch") or {}
    if check.get("faithful"):
        return (f"faithful on {check['images']} images (measured): bit-exact on all but {check['mismatched_images']}, "
                f"where {first.get('note', 'values on rounding boundaries land one step apart')}")
    verdict = f"MISMATCH on {check['mismatched_images']}/{check['images']} images (max |Δ| {check['max_abs_diff']:.3g})"
    if first.get("node"):
        verdict += f", first at {first['node']} ({first['op']}, layer {first['layer']})"
    if first.get("note"):
        verdict += f": {first['note']}"
    return verdict


def _explain_batches(network: QuantizedNetwork, model: Any, x: torch.Tensor, images: list[int],
                     batch_size: int) -> list[dict[str, Any]]:
    """Rounding-tie explanations for ``images`` (indices into ``x``), each examined inside its own batch."""
    from foldwise.core.quantize._ties import explain_mismatch

    found: list[dict[str, Any]] = []
    for start in sorted({i - i % batch_size for i in images}):
        batch = x[start:start + batch_size]
        rows = [i - start for i in images if start <= i < start + batch_size]
        executed = _run_qonnx(model, batch.numpy(), full=True)
        found += [{"image": start + row, **item}
                  for row, item in zip(rows, explain_mismatch(network, model, batch, executed, rows), strict=True)]
    return found


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
    """Write standard ONNX with QuantizeLinear/Clip/DequantizeLinear (batch size free); returns the path.

    Brevitas's ``export_onnx_qcdq`` writes it. Every quantizer becomes QuantizeLinear → [Clip] →
    DequantizeLinear: QuantizeLinear only has 8-bit outputs (int8/uint8, round half to even, saturating), so
    Brevitas expresses a 2..7-bit quantizer as the 8-bit QuantizeLinear followed by a Clip to that width's
    integer range (narrow range for the weights); rounding then clamping is what Brevitas computes, so these
    widths are exact. 1-bit quantizers (bipolar weights and identities, 1-bit activations) have no QCDQ form:
    such a network is refused with an InputError (export QONNX instead). Biases stay float, as in the network.

    The parameters that are not quantized (the float biases) are written as initializers only, not also as
    graph inputs (Brevitas's default): ONNX Runtime treats an initializer listed as an input as a value that
    may change per run, and onnxruntime 1.25's QLinearConv (what QDQ fusion makes of DQ → Conv → Q) then
    ignores such a bias. DefectNet's convolutions carry their folded BatchNorm in that bias, so its class
    agreed with Brevitas on only a third to a half of the images. Run the file with :func:`qcdq_session` to
    get Brevitas's outputs.
    """
    from brevitas.export import export_onnx_qcdq

    target = Path(path)
    if not target.parent.is_dir():
        raise InputError(f"cannot write {target}: folder {target.parent} does not exist")
    binary = _one_bit_quantizers(network)
    if binary:
        raise InputError(f"QCDQ ONNX cannot express 1-bit quantization ({', '.join(binary)}): QuantizeLinear "
                         "has no bipolar or 1-bit form; export QONNX instead, or use 2 bits or more there")
    network.model.eval()
    try:
        with torch.no_grad():
            export_onnx_qcdq(network.model, args=_example(network), export_path=str(target), dynamo=False,
                             opset_version=13, keep_initializers_as_inputs=False, input_names=["pixels"],
                             output_names=["scores"], dynamic_axes={"pixels": {0: "batch"}, "scores": {0: "batch"}})
    except Exception as exc:
        raise FoldwiseError(f"QCDQ ONNX export failed: {type(exc).__name__}: {exc}") from exc
    return target


def _one_bit_quantizers(network: QuantizedNetwork) -> list[str]:
    """Names of the enabled weight and activation quantizers with a 1-bit width."""
    from brevitas.proxy import ActQuantProxyFromInjector, WeightQuantProxyFromInjector

    proxies = (WeightQuantProxyFromInjector, ActQuantProxyFromInjector)
    return [name.rsplit(".", 1)[0] for name, module in network.model.named_modules()
            if isinstance(module, proxies) and module.is_quant_enabled and float(module.bit_width()) <= 1]


# Run Q/DQ nodes as the operators they are: no fusion into integer kernels (see qcdq_session).
_QDQ_AS_WRITTEN = ("session.disable_quant_qdq", "1")


def qcdq_session(path: str | Path, threads: int | None = None) -> Any:
    """An ONNX Runtime CPU session over a QCDQ file that computes what the Brevitas network computes.

    By default ONNX Runtime fuses DequantizeLinear → Conv/Gemm → QuantizeLinear into integer kernels and, to do
    so, rounds each float bias to the int32 grid of input scale × weight scale. Brevitas adds the bias in float
    (Foldwise keeps float biases for FINN), so that rounding moves values by up to half an accumulator step: on
    DefectNet at 3–4 bits a quarter to a third of the images came out one output step apart and up to 4 %
    changed class (0.9 % at W4A4).
    With QDQ fusion off, the Q/Clip/DQ nodes run as written and the outputs equal Brevitas's up to the order of
    float summation (at most one step at a value on a rounding boundary). ``threads``: intra-op threads.
    """
    import onnxruntime as ort

    options = ort.SessionOptions()
    options.log_severity_level = 3
    options.add_session_config_entry(*_QDQ_AS_WRITTEN)
    if threads:
        options.intra_op_num_threads = int(threads)
    try:
        return ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
    except Exception as exc:  # onnxruntime raises its own types for unreadable models
        raise InputError(f"ONNX Runtime cannot load {path}: {exc}") from exc


def check_qcdq(network: QuantizedNetwork, path: str | Path, images: Any, labels: Any = None) -> dict[str, Any]:
    """Run the QCDQ file in onnxruntime (:func:`qcdq_session`) and torch; top-1 agreement, max |Δ| and (with
    labels) accuracies."""
    x = check_images(images, network.input_shape, "check")
    session = qcdq_session(path)
    onnx_out = session.run(None, {session.get_inputs()[0].name: x.numpy()})[0]
    torch_out = network(x).numpy()
    result = {"images": len(x), "max_abs_diff": float(np.abs(onnx_out - torch_out).max()),
              "top1_agreement": float((onnx_out.argmax(1) == torch_out.argmax(1)).mean()), "source": "measured"}
    if labels is not None:
        y = np.asarray(labels)[: len(x)]
        result["accuracy_onnx"] = float((onnx_out.argmax(1) == y).mean())
        result["accuracy_torch"] = float((torch_out.argmax(1) == y).mean())
    return result
