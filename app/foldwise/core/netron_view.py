""""Open in Netron": the iteration's network as ONNX, served by the `netron` package on localhost only."""

from __future__ import annotations

import socket
import subprocess
import sys
import time
import warnings
from pathlib import Path

from foldwise.core.errors import FoldwiseError
from foldwise.core.jobs import kill_process_tree
from foldwise.core.project import Iteration, Project


def onnx_for_viewing(project: Project, iteration: Iteration) -> Path:
    """An ONNX file of ``iteration`` for viewing: its imported source if ONNX, else an export in the cache."""
    source = iteration.folder / "source.onnx"
    if source.exists():
        return source
    target = project.cache_dir / "netron" / f"{iteration.folder_name}.onnx"
    if target.exists():
        return target
    import torch

    from foldwise.core.iterations import load_network

    network = load_network(project, iteration)
    target.parent.mkdir(parents=True, exist_ok=True)
    partial = target.with_suffix(".partial")
    try:
        with warnings.catch_warnings():
            # The TorchScript exporter is deprecated but 10x faster here and what FINN's flow uses (FACTS.md).
            warnings.simplefilter("ignore", DeprecationWarning)
            torch.onnx.export(
                network.model.eval(), (torch.zeros(1, *network.spec.shape),), str(partial),
                dynamo=False, opset_version=13, input_names=["input"], output_names=["logits"],
            )
    except Exception as exc:
        partial.unlink(missing_ok=True)
        raise FoldwiseError(f"cannot export {iteration.label} to ONNX for viewing: {exc}") from exc
    partial.replace(target)
    return target


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class NetronServer:
    """One netron process serving one file on 127.0.0.1; ``url`` once started, ``stop()`` to end it."""

    def __init__(self, model_file: Path) -> None:
        self.model_file = model_file
        self.port = _free_port()
        self.url = f"http://127.0.0.1:{self.port}/"
        self._proc: subprocess.Popen | None = None

    def start(self, timeout: float = 20.0) -> str:
        self._proc = subprocess.Popen(
            [sys.executable, "-c", "import sys, netron; sys.argv[0] = 'netron'; sys.exit(netron.main())",
             str(self.model_file), "--host", "127.0.0.1", "--port", str(self.port),
             "--verbosity", "quiet"],
            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, start_new_session=True,
        )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self._proc.poll() is not None:
                error = self._proc.stderr.read().decode(errors="replace")[-500:] if self._proc.stderr else ""
                raise FoldwiseError(f"netron stopped at start: {error.strip() or 'no message'}")
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=0.2):
                    return self.url
            except OSError:
                time.sleep(0.1)
        self.stop()
        raise FoldwiseError(f"netron did not start within {timeout:.0f} s")

    def stop(self) -> None:
        if self._proc is not None:
            kill_process_tree(self._proc, grace=2)
            self._proc = None

    @property
    def running(self) -> bool:
        return self._proc is not None and self._proc.poll() is None
