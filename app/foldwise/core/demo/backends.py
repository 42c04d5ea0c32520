"""Inference backends for the demo: ``infer(batch) -> (labels, confidences)`` on uint8 N×C×H×W crops.

Each backend maps the raw crops to its network's input exactly as training and quantization do: the float
network gets ``/255`` then its :class:`InputSpec` (``networks.batches.to_input``), the quantized one raw
0..255 pixels (its scaling is inside the graph). ``label`` says how its figures are obtained (``measured`` on
the host). A board backend (a persistent process on the board fed over one SSH channel, ``emulated`` against
the emulated board) plugs in through :func:`open_backend` once the board package exists.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any, Protocol

import numpy as np

from foldwise.core.errors import InputError
from foldwise.core.iterations import float_source, is_quantized, load_network
from foldwise.core.project import Iteration, Project

BACKENDS = ("host-float", "host-quantized")
QCDQ_FOLDER = "demo"


class Backend(Protocol):
    """What the pipeline calls: ``name``, ``label`` ('measured' on the host) and the network's input ``shape``."""

    name: str
    label: str
    shape: tuple[int, int, int]

    def infer(self, batch: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Class indices (int64 N) and the softmax confidence of each (float32 N) for uint8 N×C×H×W crops."""
        ...

    def close(self) -> None:
        ...


def _decide(scores: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    scores = np.asarray(scores, np.float64)
    shifted = np.exp(scores - scores.max(axis=1, keepdims=True))
    probs = shifted / shifted.sum(axis=1, keepdims=True)
    labels = probs.argmax(axis=1)
    return labels.astype(np.int64), probs[np.arange(len(labels)), labels].astype(np.float32)


# One intra-op thread by default: a batch of one gains little from more, and on a loaded machine torch's
# thread pool spinning against the capture thread made DefectNet 40× slower (400 ms instead of 9 ms a frame).
DEFAULT_THREADS = 1


class HostFloatBackend:
    """The float network in PyTorch on this machine (``threads`` torch threads while open, restored on close)."""

    label = "measured"

    def __init__(self, model: Any, spec: Any, name: str = "host-float", threads: int | None = DEFAULT_THREADS) -> None:
        import torch

        self.name = name
        self.model = model.eval()
        self.spec = spec
        self.shape = tuple(spec.shape)
        self._threads = torch.get_num_threads()
        if threads:
            torch.set_num_threads(int(threads))

    def infer(self, batch: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        import torch

        from foldwise.core.networks.batches import logits_of, to_input

        with torch.inference_mode():
            scores = logits_of(self.model(to_input(torch.from_numpy(batch), self.spec)))
        return _decide(scores.numpy())

    def close(self) -> None:
        import torch

        torch.set_num_threads(self._threads)


class HostQuantizedBackend:
    """The quantized network as QCDQ ONNX (QuantizeLinear/DequantizeLinear, see :func:`quantized_onnx`), run by
    ONNX Runtime on raw 0..255 pixels."""

    label = "measured"

    def __init__(self, path: str | os.PathLike[str], shape: tuple[int, int, int], name: str = "host-quantized",
                 threads: int | None = DEFAULT_THREADS) -> None:
        import onnxruntime as ort

        options = ort.SessionOptions()
        options.log_severity_level = 3  # not the exporter's "initializer in graph inputs" notes
        if threads:
            options.intra_op_num_threads = int(threads)
        try:
            self._session = ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
        except Exception as exc:  # onnxruntime raises its own types for unreadable models
            raise InputError(f"ONNX Runtime cannot load {path}: {exc}") from exc
        self._input = self._session.get_inputs()[0].name
        self.name = name
        self.path = Path(path)
        self.shape = tuple(int(v) for v in shape)

    def infer(self, batch: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        scores = self._session.run(None, {self._input: batch.astype(np.float32)})[0]
        return _decide(scores)

    def close(self) -> None:
        pass


def quantized_onnx(project: Project, iteration: Iteration) -> Path:
    """An ONNX Runtime model of a quantized iteration, made once into the project's cache (iterations stay as made).

    It starts from the iteration's QONNX file (checked against torch by the quantize stage; exported into the
    cache if the iteration has none) and turns its ``Quant`` nodes into QuantizeLinear/Clip/DequantizeLinear with
    qonnx's ``QuantToQCDQ``, with a free batch size. (Brevitas's own QCDQ export, ``export_qcdq_file``, disagreed
    with the Brevitas network on DefectNet — top-1 agreement 0.3–0.5 — so the demo does not use it.)
    """
    from foldwise.core.quantize import store

    folder = project.cache_dir / QCDQ_FOLDER
    target = folder / f"{iteration.id}.qonnx-qcdq.onnx"
    qonnx = iteration.folder / store.QONNX_FILE
    model_file = iteration.folder / "model.pt"
    newest = max(p.stat().st_mtime for p in (qonnx, model_file) if p.is_file()) if model_file.is_file() else 0
    if target.is_file() and target.stat().st_mtime >= newest:
        return target
    folder.mkdir(parents=True, exist_ok=True)
    if not qonnx.is_file():
        from foldwise.core.quantize.export import export_qonnx_file

        network, _spec = store.load_network(iteration.folder)
        qonnx = export_qonnx_file(network, folder / f"{iteration.id}.qonnx.onnx")
    return qcdq_from_qonnx(qonnx, target)


def qcdq_from_qonnx(qonnx: str | os.PathLike[str], target: str | os.PathLike[str]) -> Path:
    """Write ``qonnx`` with its ``Quant`` nodes as QuantizeLinear/Clip/DequantizeLinear (batch size free)."""
    from qonnx.core.modelwrapper import ModelWrapper
    from qonnx.transformation.qonnx_to_qcdq import QuantToQCDQ

    source, target = Path(qonnx), Path(target)
    try:
        model = ModelWrapper(str(source)).transform(QuantToQCDQ())
    except Exception as exc:  # qonnx's rewriter refuses what it cannot express (e.g. non-zero zero points)
        raise InputError(f"cannot turn {source.name} into ONNX Runtime's QuantizeLinear/DequantizeLinear form: "
                         f"{type(exc).__name__}: {exc}") from exc
    for tensor in (*model.graph.input, *model.graph.output):
        tensor.type.tensor_type.shape.dim[0].dim_param = "batch"
    partial = target.with_name(f".{target.name}.part")
    model.save(str(partial))
    partial.replace(target)
    return target


def open_backend(project: Project, name: str, iteration: Iteration | None = None) -> Backend:
    """The backend ``name`` (one of :data:`BACKENDS`) over ``iteration`` (default: the current one).

    ``host-float`` runs the float network the iteration stands for (itself, or a quantized one's float
    ancestor); ``host-quantized`` needs a quantized iteration.
    """
    iteration = iteration or project.current
    if iteration is None:
        raise InputError(f"project {project.name} has no trained network yet: train or import one first")
    if name == "host-float":
        source = float_source(project, iteration)
        if source is None:
            raise InputError(f"iteration {iteration.label} has no float network to run")
        network = load_network(project, source)
        return HostFloatBackend(network.model, network.spec)
    if name == "host-quantized":
        if not is_quantized(iteration):
            raise InputError(f"iteration {iteration.label} is not quantized: quantize it first "
                             "(foldwise quantize), or use --backend host-float")
        from foldwise.core.quantize import store

        network, _spec = store.load_network(iteration.folder)
        return HostQuantizedBackend(quantized_onnx(project, iteration), network.input_shape)
    raise InputError(f"unknown backend {name!r}: choose {' or '.join(BACKENDS)} (the board backend comes with "
                     "the board stage)")


def agreement(first: Backend, second: Backend, batch: np.ndarray) -> float:
    """The share of crops on which two backends give the same class (0..1)."""
    return float((first.infer(batch)[0] == second.infer(batch)[0]).mean())
