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

from foldwise.core.errors import InputError
from foldwise.core.iterations import float_source, is_quantized, load_network
from foldwise.core.lazy_import import lazy_module
from foldwise.core.project import Iteration, Project

np = lazy_module("numpy")  # the GUI imports this module for its panels; numpy loads on first use

BACKENDS = ("host-float", "host-quantized", "board:NAME")
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


# The host backends split ``infer`` into ``prepare`` (the crops as the network's input tensor: little work) and
# ``run`` (the network and the decision), and the pipeline prepares in its own thread when inference runs on a
# worker (``stream.HostStream``). A numpy or torch call that converts a batch lets go of the GIL and must take
# it back; on the worker, right after handing over an answer, that meant waiting for the pipeline's thread to
# finish annotating it and cutting the next frame (measured up to 0.13 ms a frame, a third of DefectNet's
# inference). Now only the network lets go of the GIL on the worker, and when it is done the pipeline's
# thread is already waiting.


def decide(scores: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(class indices, softmax confidence of each) for a batch of scores."""
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
        return self.run(self.prepare(batch))

    def prepare(self, batch: np.ndarray) -> Any:
        """uint8 crops as the network's input tensor (``/255``, then its :class:`InputSpec`)."""
        import torch

        from foldwise.core.networks.batches import to_input

        with torch.inference_mode():
            return to_input(torch.from_numpy(batch), self.spec)

    def run(self, tensor: Any) -> tuple[np.ndarray, np.ndarray]:
        """The network on a :meth:`prepare`'d batch: class indices and confidences."""
        import torch

        from foldwise.core.networks.batches import logits_of

        with torch.inference_mode():
            scores = logits_of(self.model(tensor))
        return decide(scores.numpy())

    def close(self) -> None:
        import torch

        torch.set_num_threads(self._threads)


class HostQuantizedBackend:
    """The quantized network as QCDQ ONNX (QuantizeLinear/Clip/DequantizeLinear, see :func:`quantized_onnx`), run
    by ONNX Runtime on raw 0..255 pixels the way that computes what Brevitas computes (``qcdq_session``)."""

    label = "measured"

    def __init__(self, path: str | os.PathLike[str], shape: tuple[int, int, int], name: str = "host-quantized",
                 threads: int | None = DEFAULT_THREADS) -> None:
        from foldwise.core.quantize.export import qcdq_session

        self._session = qcdq_session(path, threads)
        self._input = self._session.get_inputs()[0].name
        self.name = name
        self.path = Path(path)
        self.shape = tuple(int(v) for v in shape)

    def infer(self, batch: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        return self.run(self.prepare(batch))

    def prepare(self, batch: np.ndarray) -> np.ndarray:
        """uint8 crops as the graph's float32 input (raw 0..255: the scaling is inside the graph)."""
        return np.ascontiguousarray(batch, np.float32)

    def run(self, tensor: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """The session on a :meth:`prepare`'d batch: class indices and confidences."""
        return decide(self._session.run(None, {self._input: tensor})[0])

    def close(self) -> None:
        pass


def quantized_onnx(project: Project, iteration: Iteration, network: Any = None) -> Path:
    """An ONNX Runtime model of a quantized iteration: Brevitas's QCDQ export of its network
    (``export_qcdq_file``; ``network``: the iteration's, if already loaded), made once into the project's cache
    (iterations stay as made) and remade when the iteration's network is newer."""
    from foldwise.core.quantize import store
    from foldwise.core.quantize.export import export_qcdq_file

    folder = project.cache_dir / QCDQ_FOLDER
    target = folder / f"{iteration.id}.qcdq.onnx"
    model_file = iteration.folder / "model.pt"
    newest = model_file.stat().st_mtime if model_file.is_file() else 0
    if target.is_file() and target.stat().st_mtime >= newest:
        return target
    folder.mkdir(parents=True, exist_ok=True)
    if network is None:
        network, _spec = store.load_network(iteration.folder)
    partial = export_qcdq_file(network, folder / f".{target.name}.part")
    partial.replace(target)
    return target


def open_backend(project: Project, name: str, iteration: Iteration | None = None, *,
                 password: str | None = None) -> Backend:
    """The backend ``name`` (one of :data:`BACKENDS`) over ``iteration`` (default: the current one).

    ``host-float`` runs the float network the iteration stands for (itself, or a quantized one's float
    ancestor); ``host-quantized`` needs a quantized iteration; ``board:NAME`` its build deployed on the saved
    board NAME (``password`` if that board logs in with one).
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
        return HostQuantizedBackend(quantized_onnx(project, iteration, network), network.input_shape)
    if name.startswith("board:") and name[len("board:"):]:
        if not is_quantized(iteration):
            raise InputError(f"iteration {iteration.label} is not quantized: quantize and estimate it before "
                             "running it on a board")
        from foldwise.core.demo.board_backend import open_board_backend

        return open_board_backend(project, iteration, name[len("board:"):], password)
    raise InputError(f"unknown backend {name!r}: choose {', '.join(BACKENDS)}")


def agreement(first: Backend, second: Backend, batch: np.ndarray) -> float:
    """The share of crops on which two backends give the same class (0..1)."""
    return float((first.infer(batch)[0] == second.infer(batch)[0]).mean())
