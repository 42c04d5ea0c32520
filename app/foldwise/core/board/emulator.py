"""The emulated board's accelerator: FINN's own dataflow model of the network, executed in software.

``python -m foldwise.core.board.emulator PACKAGE MODE [options]`` runs on an emulated board (a machine with
Foldwise and finn-plus, reached over SSH like a PYNQ). The deployment package's runner (``runner_remote.py``)
hands over to it when the package carries the dataflow model instead of a bitfile. It prints the same JSON-lines
events as the runner (``progress``, ``result``, ``error``); every time it reports is its own, labelled emulated.

The parent graph (the CPU nodes before and after the accelerator, e.g. FINN's NCHW→NHWC Transpose) and the
partition (FINN's generic hardware layers, as after ``step_create_dataflow_partition``) are executed node by
node with qonnx's and FINN's own ``execute_node``/``execute_onnx``: the outputs are the ones FINN's model of the
hardware computes. The stages are timed as the FINN runtime reports them: pack (the CPU nodes before the
accelerator), copy in, compute (the partition), copy out, unpack (the CPU nodes after).
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np

from foldwise.core.board.runner_remote import DATA_IMAGES, DATA_LABELS, PACKAGE_RECORD, emit, throughput_row
from foldwise.core.finn.kinds import DATAFLOW_PARENT, DATAFLOW_PARTITION, EMULATION_DIR
from foldwise.core.finn.tools import finn_version


class DataflowModel:
    """The package's parent graph and partition, loaded once."""

    def __init__(self, package: Path) -> None:
        from qonnx.core.modelwrapper import ModelWrapper

        folder = package / EMULATION_DIR
        self.parent = ModelWrapper(str(folder / DATAFLOW_PARENT))
        self.partition = ModelWrapper(str(folder / DATAFLOW_PARTITION))
        self.input_name = self.parent.graph.input[0].name
        self.output_name = self.parent.graph.output[0].name
        self.input_shape = tuple(self.parent.get_tensor_shape(self.input_name))
        self.opset = next((o.version for o in self.parent.model.opset_import if o.domain in ("", "ai.onnx")), 11)

    def run(self, image: np.ndarray, times: dict[str, float]) -> np.ndarray:
        """One image through parent and partition; adds each stage's seconds to ``times``."""
        from finn.core.onnx_exec import execute_onnx
        from qonnx.core.onnx_exec import execute_node

        context = self.parent.make_empty_exec_context()
        context[self.input_name] = image.reshape(self.input_shape).astype(np.float32)
        after = False
        for node in self.parent.graph.node:
            started = time.perf_counter()
            if node.op_type == "StreamingDataflowPartition":
                inputs = {self.partition.graph.input[i].name: np.ascontiguousarray(context[name])
                          for i, name in enumerate(node.input)}
                copied = time.perf_counter()
                times["copy_input_data_to_device"] += copied - started
                outputs = execute_onnx(self.partition, inputs)
                computed = time.perf_counter()
                times["compute"] += computed - copied
                for i, name in enumerate(node.output):
                    context[name] = np.array(outputs[self.partition.graph.output[i].name])
                times["copy_output_data_from_device"] += time.perf_counter() - computed
                after = True
                continue
            execute_node(node, context, self.parent.graph, self.opset)
            times["unpack_output" if after else "pack_input"] += time.perf_counter() - started
        return np.asarray(context[self.output_name])


def _zero_times() -> dict[str, float]:
    return dict.fromkeys(("pack_input", "copy_input_data_to_device", "compute", "copy_output_data_from_device",
                          "unpack_output"), 0.0)


def throughput(model: DataflowModel, batch: int, seed: int = 0) -> dict[str, Any]:
    """``batch`` random images (the accelerator's input range) through the model, timed per stage."""
    rng = np.random.default_rng(seed)
    images = rng.integers(0, 256, size=(batch, *model.input_shape[1:]), dtype=np.uint8)
    times = _zero_times()
    started = time.perf_counter()
    out = None
    for i, image in enumerate(images):
        out = model.run(image, times)
        emit("progress", fraction=(i + 1) / batch, message=f"batch {batch}: {i + 1}/{batch} images")
    runtime = time.perf_counter() - started
    return throughput_row(batch, runtime, times, in_bytes=images.nbytes,
                          out_bytes=(out.nbytes if out is not None else 0) * batch)


def validate(model: DataflowModel, images: np.ndarray, labels: np.ndarray) -> dict[str, Any]:
    times = _zero_times()
    predictions = []
    started = time.perf_counter()
    for i, image in enumerate(images):
        out = model.run(image, times)
        predictions.append(int(np.argmax(out.reshape(-1))))
        if (i + 1) % 8 == 0 or i + 1 == len(images):
            emit("progress", fraction=(i + 1) / len(images), message=f"validating: {i + 1}/{len(images)} images")
    seconds = time.perf_counter() - started
    correct = int(sum(int(p == y) for p, y in zip(predictions, labels.tolist(), strict=True)))
    return {"images": len(images), "correct": correct, "accuracy": correct / max(len(images), 1),
            "predictions": predictions, "seconds": seconds,
            "ms_per_image": 1000.0 * seconds / max(len(images), 1), "stage_ms": {k: 1000.0 * v for k, v in
                                                                                 times.items()}}


def _read_exactly(stream: Any, size: int) -> bytes:
    data = bytearray()
    while len(data) < size:
        block = stream.read(size - len(data))
        if not block:
            raise EOFError(f"the host closed the stream after {len(data)} of {size} bytes")
        data.extend(block)
    return bytes(data)


def serve(model: DataflowModel, stream: Any = None) -> None:
    """Answer requests from ``stream`` (stdin) until it closes: the live demo's persistent board process.

    Each request is a line ``{"n": N, "id": K}`` and N crops; each answer a ``scores`` event with the same id,
    in the order the requests came (the host sends ahead: the next request waits in the pipe while this one
    is computed). ``board_ms`` is the time from the request's last byte to its answer."""
    stream = stream or sys.stdin.buffer
    shape = model.input_shape[1:]
    size = int(np.prod(shape))
    emit("ready", shape=list(shape))
    while True:
        line = stream.readline()
        if not line.strip():
            return
        request = json.loads(line)
        count = int(request["n"])
        batch = np.frombuffer(_read_exactly(stream, count * size), dtype=np.uint8).reshape(count, *shape)
        times = _zero_times()
        started = time.perf_counter()
        scores = [model.run(image, times).reshape(-1).tolist() for image in batch]
        emit("scores", id=request.get("id"), scores=scores, compute_ms=1000.0 * times["compute"],
             board_ms=1000.0 * (time.perf_counter() - started))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="foldwise-emulated-accelerator")
    parser.add_argument("package", type=Path)
    parser.add_argument("mode", choices=("throughput", "validate", "serve"))
    parser.add_argument("--batch", type=int, action="append", default=[])
    parser.add_argument("--images", type=int, default=0, help="validate at most this many images (0: all)")
    args = parser.parse_args(argv)
    try:
        record = json.loads((args.package / PACKAGE_RECORD).read_text(encoding="utf-8"))
        emit("progress", fraction=0.0, message="starting the emulated accelerator (loading FINN)")
        from foldwise.core.finn.finn_env import import_finn, setup_environment

        setup_environment(Path(tempfile.mkdtemp(prefix="foldwise-emulator-")))
        import_finn(False)
        model = DataflowModel(args.package)
        info = {"accelerator": "emulated", "clock_mhz": record.get("clock_mhz"), "finn_version": finn_version()}
        if args.mode == "serve":
            serve(model)
        elif args.mode == "throughput":
            rows = [throughput(model, batch) for batch in (args.batch or [1])]
            emit("result", mode="throughput", rows=rows, **info)
        else:
            images = np.load(args.package / DATA_IMAGES)
            labels = np.load(args.package / DATA_LABELS)
            if args.images:
                images, labels = images[:args.images], labels[:args.images]
            emit("result", mode="validate", **validate(model, images, labels), **info)
        return 0
    except Exception as exc:  # one error event, never a traceback on the board's stdout
        emit("error", code="emulator-failed", message=f"{type(exc).__name__}: {exc}")
        return 1


if __name__ == "__main__":
    sys.exit(main())
