"""Shared FINN fixtures: one worker for the whole session (FINN's import is paid once), TFC-w1a1 exported once."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from foldwise.core.finn import worker as worker_mod
from foldwise.core.finn.worker import FinnWorker
from foldwise.core.jobs import JobContext
from tests.core.remote.conftest import build_sshd, tfc  # noqa: F401 - remote builds: the test sshd, TFC once

DIRECT_FINN = Path(__file__).with_name("direct_finn.py")


@pytest.fixture(scope="session")
def finn_worker(tmp_path_factory: pytest.TempPathFactory) -> Iterator[FinnWorker]:
    worker = FinnWorker(state_dir=tmp_path_factory.mktemp("finn-worker"))
    previous = worker_mod._default
    worker_mod._default = worker  # the verbs' get_worker() shares it too
    yield worker
    worker_mod._default = previous
    worker.close()


@pytest.fixture(scope="session")
def tfc_model(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from foldwise.core.finn.zoo import export_zoo_model

    return export_zoo_model("tfc_1w1a", tmp_path_factory.mktemp("zoo") / "tfc_w1a1.onnx")


class Recorder:
    """A JobContext that remembers progress and log lines."""

    def __init__(self) -> None:
        self.progress: list[tuple[float, str]] = []
        self.lines: list[str] = []
        self.ctx = JobContext(on_progress=lambda f, m: self.progress.append((f, m)), on_log=self.lines.append)


@pytest.fixture
def recorder() -> Recorder:
    return Recorder()


@pytest.fixture
def python() -> str:
    return sys.executable
