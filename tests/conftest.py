"""Shared test set-up: Qt offscreen, settings in a temp dir, no user config touched."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from tests.faults import tiny_disk  # noqa: F401 (a 1 MiB tmpfs for the full-disk tests)
from tests.pynq_board import pynq_board  # noqa: F401 (fixtures for the board tests)
from tests.slurm_cluster import _slurm_cluster, slurm_cluster  # noqa: F401 (a one-node Slurm cluster)
from tests.sshd import sshd_factory  # noqa: F401

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

REPO = Path(__file__).resolve().parents[1]


@pytest.fixture(autouse=True)
def _isolated_config(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FOLDWISE_CONFIG_DIR", str(tmp_path_factory.mktemp("config")))


def private_copy(template: Path, target: Path) -> Path:
    """A copy of a session template that one test may change."""
    import shutil

    shutil.copytree(template, target)
    return target


@pytest.fixture
def project_path(tmp_path: Path) -> Path:
    return tmp_path / "proj"


@pytest.fixture(scope="session")
def _trained_lenet_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A lenet-digits project with one quickly trained iteration (made once per session)."""
    from foldwise.core.examples import create_from_example
    from foldwise.core.networks.train import TrainConfig
    from foldwise.core.training import TrainSpec, train_iteration

    path = tmp_path_factory.mktemp("templates") / "lenet"
    with create_from_example(path, "lenet-digits") as project:
        train_iteration(project, TrainSpec(TrainConfig(epochs=3, patience=None)))
    return path


@pytest.fixture
def trained_lenet(_trained_lenet_template: Path, tmp_path: Path) -> Path:
    """A private copy of the trained lenet-digits project for one test."""
    return private_copy(_trained_lenet_template, tmp_path / "lenet")


@pytest.fixture(scope="session")
def _quantized_lenet_template(_trained_lenet_template: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The trained lenet-digits project quantized W4A4 with 64 calibration images (made once per session)."""
    import shutil

    from foldwise.core.project import Project
    from foldwise.core.quantize.config import QuantConfig, QuantizeSpec
    from foldwise.core.quantize.stage import quantize_iteration

    path = tmp_path_factory.mktemp("templates") / "lenet-w4a4"
    shutil.copytree(_trained_lenet_template, path)
    with Project.open(path) as project:
        quantize_iteration(project, QuantizeSpec(QuantConfig(weight_bits=4, act_bits=4, calib_images=64)))
    return path


@pytest.fixture
def quantized_lenet(_quantized_lenet_template: Path, tmp_path: Path) -> Path:
    """A private copy of the W4A4-quantized lenet-digits project for one test."""
    return private_copy(_quantized_lenet_template, tmp_path / "lenet-w4a4")


@pytest.fixture(scope="session")
def _defect_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A defect-demo project: DefectNet trained one epoch on 320 generated crops, then W4A4 (current)."""
    from tests.defect_project import make_defect_project

    root = tmp_path_factory.mktemp("defect-template")
    return make_defect_project(root / "defects", root / "crops", quantize=True)


@pytest.fixture
def defect_project(_defect_template: Path, tmp_path: Path) -> Path:
    """A private copy of the quantized defect project (iteration 0001 float, 0002 W4A4 current)."""
    return private_copy(_defect_template, tmp_path / "defects")


@pytest.fixture(scope="session")
def _estimated_defect_template(_defect_template: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The quantized defect project with one FINN estimate build of its W4A4 iteration (made once)."""
    import shutil

    from foldwise.core.finn.build_config import BuildConfig
    from foldwise.core.finn.stage import build
    from foldwise.core.project import Project

    path = tmp_path_factory.mktemp("estimated-defect") / "defects"
    shutil.copytree(_defect_template, path)
    with Project.open(path) as project:
        build(project, BuildConfig())
    return path


@pytest.fixture
def estimated_defect(_estimated_defect_template: Path, tmp_path: Path) -> Path:
    """A private copy of the quantized defect project with an estimate build (deployable to an emulated board)."""
    return private_copy(_estimated_defect_template, tmp_path / "defects")
