"""Host backends on a small trained DefectNet project: float in PyTorch, quantized QCDQ in ONNX Runtime."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

from foldwise.core.demo.backends import HostQuantizedBackend, agreement, open_backend
from foldwise.core.demo.pipeline import DemoSpec, preprocess, run_demo
from foldwise.core.demo.roi import Roi
from foldwise.core.demo.sources import ConveyorSource
from foldwise.core.errors import InputError
from foldwise.core.iterations import float_source, load_network
from foldwise.core.networks.batches import to_input
from foldwise.core.project import Project


def conveyor_crops(n: int) -> np.ndarray:
    """``n`` conveyor frames' inspection windows 13 px apart, preprocessed as the pipeline does."""
    source = ConveyorSource(fps=10_000, speed=130_000, parts=8, seed=2)
    box = Roi.default(*source.size).pixels(*source.size)
    return np.concatenate([preprocess(source.read().image, box, (3, 64, 64)) for _ in range(n)])


def test_host_float_runs_the_float_network_as_trained(defect_project: Path) -> None:
    crops = conveyor_crops(16)
    with Project.open(defect_project, read_only=True) as project:
        backend = open_backend(project, "host-float")
        network = load_network(project, float_source(project, project.current))
        labels, confidences = backend.infer(crops)
        backend.close()
    with torch.no_grad():
        want = network.model.eval()(to_input(torch.from_numpy(crops), network.spec)).argmax(1).numpy()
    assert backend.name == "host-float" and backend.label == "measured"
    assert np.array_equal(labels, want) and ((confidences >= 0.5) & (confidences <= 1)).all()


def test_host_quantized_agrees_with_brevitas_on_the_same_frames(defect_project: Path) -> None:
    from foldwise.core.quantize import store

    crops = conveyor_crops(120)
    with Project.open(defect_project, read_only=True) as project:
        backend = open_backend(project, "host-quantized")
        assert isinstance(backend, HostQuantizedBackend) and backend.label == "measured"
        assert backend.path.is_relative_to(project.cache_dir)
        network, _spec = store.load_network(project.current.folder)
        labels, _ = backend.infer(crops)
        again = open_backend(project, "host-quantized")
        assert again.path.stat().st_mtime == backend.path.stat().st_mtime  # exported once, then reused
    brevitas = network(crops).argmax(1).numpy()
    assert len(np.unique(crops.reshape(len(crops), -1), axis=0)) == len(crops)  # 120 different frames
    assert float((labels == brevitas).mean()) >= 0.99  # a float-summation tie aside, the same class on every frame
    assert agreement(backend, again, crops) == 1.0


def test_quantized_backend_needs_a_quantized_iteration(defect_project: Path) -> None:
    with Project.open(defect_project, read_only=True) as project:
        with pytest.raises(InputError, match="is not quantized"):
            open_backend(project, "host-quantized", project.get("0001"))
        with pytest.raises(InputError, match="unknown backend 'fpga'"):
            open_backend(project, "fpga")
        with pytest.raises(InputError, match="no board named 'z2'"):
            open_backend(project, "board:z2")


def test_demo_stage_on_the_project(defect_project: Path) -> None:
    with Project.open(defect_project) as project:
        project.update_settings(target_fps=60)
        result = run_demo(project, DemoSpec(backend="host-quantized", frames=30))
    assert result.stats["target_fps"]["value"] == 60 and result.reason == "30 frames processed"
    assert {k: result.backend[k] for k in ("name", "label")} == {"name": "host-quantized", "label": "measured"}
    assert result.backend["window"] >= 1 and result.backend["batch"] >= 1  # what the run chose, recorded
    assert result.source["name"] == "synthetic conveyor" and result.source["fps"] == 60
