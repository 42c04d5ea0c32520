"""What a baseline times: the iteration's network exported to ONNX, a few test images, and its PyTorch form.

A quantized iteration is exported as QCDQ ONNX (QuantizeLinear/DequantizeLinear, Brevitas's
:func:`~foldwise.core.quantize.export.export_qcdq_file`) and takes raw 0..255 pixels; a float one as plain
ONNX (opset 13, free batch size) taking its prepared input (``/255`` and the input spec). The file goes into
the run's own folder, so the record keeps exactly what was timed and the iteration is never changed.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from foldwise.core.errors import FoldwiseError, InputError
from foldwise.core.iterations import is_quantized, load_network, load_splits
from foldwise.core.jobs import JobContext, null_context
from foldwise.core.lazy_import import lazy_module
from foldwise.core.project import Iteration, Project

np = lazy_module("numpy")  # the GUI imports this module for its panels; numpy loads on first use

MODEL_FILE = "model.onnx"
INPUTS_FILE = "inputs.npy"
INPUT_IMAGES = 16  # test images cycled through the timed runs (batch 1) and checked against the host


@dataclass
class BaselineModel:
    """An exported model ready to time: ``inputs`` are float32 N×C×H×W as the ONNX graph takes them."""

    path: Path
    label: str  # e.g. "lenet5 W4A4"
    quantized: bool
    inputs: np.ndarray
    torch_run: Callable[[np.ndarray], np.ndarray]  # the same network in PyTorch on the host

    @property
    def inputs_path(self) -> Path:
        return self.path.with_name(INPUTS_FILE)


def network_kind(project: Project, iteration: Iteration | None) -> Iteration:
    """``iteration`` if it holds a network a baseline can time; a clear InputError otherwise."""
    if iteration is None:
        raise InputError(f"project {project.name} has no trained network yet: train or import one first")
    if iteration.missing:
        raise InputError(iteration.missing)
    if not (iteration.folder / "model.pt").is_file():
        raise InputError(f"iteration {iteration.label} has no network to time (no model.pt): "
                         "choose a trained, pruned or quantized iteration")
    return iteration


def _arch(project: Project) -> str:
    return str(project.settings.get("network", {}).get("arch") or project.name)


def _test_images(project: Project, spec: Any, count: int, ctx: JobContext) -> np.ndarray:
    splits = load_splits(project, ctx, spec)
    images = np.asarray(splits.test.images[:count])
    if len(images) == 0:
        raise InputError(f"project {project.name} has no test images to time the network on")
    return images


def prepare_model(project: Project, iteration: Iteration, folder: Path, ctx: JobContext | None = None,
                  images: int = INPUT_IMAGES) -> BaselineModel:
    """Export ``iteration``'s network into ``folder`` (``model.onnx`` + ``inputs.npy``) and load its torch form."""
    import torch

    ctx = ctx or null_context()
    folder.mkdir(parents=True, exist_ok=True)
    target = folder / MODEL_FILE
    if is_quantized(iteration):
        from foldwise.core.quantize import store
        from foldwise.core.quantize.export import export_qcdq_file

        network, spec = store.load_network(iteration.folder)
        raw = _test_images(project, spec, images, ctx)
        inputs = raw.astype(np.float32)
        export_qcdq_file(network, target)
        bits = f"W{network.config.weight_bits}A{network.config.act_bits}"
        model = BaselineModel(target, f"{_arch(project)} {bits}", True, inputs,
                              lambda x: network(torch.from_numpy(x)).numpy())
    else:
        from foldwise.core.networks.batches import logits_of, to_input

        loaded = load_network(project, iteration)
        raw = _test_images(project, loaded.spec, images, ctx)
        inputs = to_input(torch.from_numpy(raw.copy()), loaded.spec).numpy().astype(np.float32)
        net = loaded.model.eval()
        _export_float(net, inputs[:1], target)

        def torch_run(x: np.ndarray) -> np.ndarray:
            with torch.inference_mode():
                return logits_of(net(torch.from_numpy(x))).numpy()

        model = BaselineModel(target, f"{loaded.arch or _arch(project)} float", False, inputs, torch_run)
    np.save(model.inputs_path, inputs)
    return model


def _export_float(net: Any, example: np.ndarray, target: Path) -> None:
    import warnings

    import torch

    try:
        # the TorchScript exporter on purpose (plain ops the numpy fallback reads); it warns that it is legacy
        with torch.no_grad(), warnings.catch_warnings():
            warnings.simplefilter("ignore", DeprecationWarning)
            torch.onnx.export(net, (torch.from_numpy(example),), str(target), dynamo=False, opset_version=13,
                              input_names=["input"], output_names=["scores"],
                              dynamic_axes={"input": {0: "batch"}, "scores": {0: "batch"}})
    except Exception as exc:  # the exporter raises many types for networks it cannot trace
        raise FoldwiseError(f"float ONNX export failed: {type(exc).__name__}: {exc}") from exc


def onnxruntime_runner(path: Path, threads: int | None = 1, quantized: bool = False) -> Callable[[np.ndarray],
                                                                                                np.ndarray]:
    """ONNX Runtime on the host, CPU provider, ``threads`` intra-op threads (as the device run uses).

    A quantized model runs as :func:`~foldwise.core.quantize.export.qcdq_session` does (Q/DQ nodes as written,
    no fusion into integer kernels), so it computes the Brevitas network the iteration holds.
    """
    import onnxruntime as ort

    if quantized:
        from foldwise.core.quantize.export import qcdq_session

        session = qcdq_session(path, threads)
    else:
        options = ort.SessionOptions()
        options.log_severity_level = 3  # not the exporter's "initializer in graph inputs" notes
        if threads:
            options.intra_op_num_threads = int(threads)
        try:
            session = ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
        except Exception as exc:  # onnxruntime raises its own types for models it cannot load
            raise InputError(f"ONNX Runtime cannot load {path}: {exc}") from exc
    name = session.get_inputs()[0].name
    return lambda x: session.run(None, {name: x})[0]


def numpy_runner(path: Path) -> Callable[[np.ndarray], np.ndarray]:
    """The numpy fallback (:mod:`.onnx_numpy`) on the host."""
    from foldwise.core.board import onnx_numpy

    try:
        model = onnx_numpy.load_model(str(path))
    except (onnx_numpy.OnnxFormatError, onnx_numpy.UnsupportedOp) as exc:
        raise InputError(str(exc)) from exc
    name = model.inputs[0]
    return lambda x: model.run({name: x})[0]


def agreement(got: np.ndarray, want: np.ndarray) -> dict[str, float | None]:
    """Top-1 agreement and max |Δ| of two score arrays for the same inputs."""
    got, want = np.asarray(got, np.float64), np.asarray(want, np.float64)
    if got.shape != want.shape:
        return {"top1": 0.0, "max_abs_diff": None}
    return {"top1": float((got.argmax(1) == want.argmax(1)).mean()), "max_abs_diff": float(np.abs(got - want).max())}
