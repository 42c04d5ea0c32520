import json
import threading
from pathlib import Path

import pytest
import torch

from foldwise.core.errors import Cancelled, InputError
from foldwise.core.iterations import MODEL_FILE, load_network, read_summary
from foldwise.core.jobs import JobContext
from foldwise.core.networks.store import load_model
from foldwise.core.networks.train import TrainConfig
from foldwise.core.project import IterationKind, Project
from foldwise.core.training import TrainSpec, train_iteration


def test_training_makes_an_iteration_with_labelled_figures(trained_lenet: Path) -> None:
    with Project.open(trained_lenet) as project:
        it = project.current
        assert it.kind == IterationKind.TRAINED and it.parent is None
        assert it.metrics["accuracy"]["source"] == "measured"
        assert it.metrics["accuracy"]["value"] > 0.6  # 3 quick epochs of LeNet5 on digits
        assert it.metrics["params"]["source"] == "computed"
        summary = read_summary(it)
        assert summary["total_params"] == it.metrics["params"]["value"]
        assert any(row["type"] == "Conv2d" for row in summary["layers"])
        history = json.loads((it.folder / "history.json").read_text())
        assert len(history["history"]) == 3
        loaded = load_model(it.folder / MODEL_FILE)
        assert loaded.arch == "lenet5"
        assert loaded.model(torch.zeros(1, 1, 32, 32)).shape == (1, 10)


def test_fine_tuning_links_the_parent(trained_lenet: Path) -> None:
    epochs: list[int] = []
    with Project.open(trained_lenet) as project:
        it = train_iteration(project, TrainSpec(TrainConfig(epochs=1)),
                             JobContext(on_partial=lambda r: epochs.append(r.epoch)))
        assert it.kind == IterationKind.FINE_TUNED and it.parent == "0001"
        assert epochs == [1]
        assert project.current_id == it.id


def test_cancel_leaves_the_project_unchanged(trained_lenet: Path) -> None:
    cancel = threading.Event()
    ctx = JobContext(on_progress=lambda f, m: cancel.set() if f > 0.2 else None, cancel_event=cancel)
    with Project.open(trained_lenet) as project:
        before = (trained_lenet / "manifest.json").read_text()
        with pytest.raises(Cancelled):
            train_iteration(project, TrainSpec(TrainConfig(epochs=5)), ctx)
        assert [i.id for i in project.iterations] == ["0001"]
    assert (trained_lenet / "manifest.json").read_text() == before
    assert sorted(p.name for p in (trained_lenet / "iterations").iterdir()) == ["0001-trained-3ep"]


def test_project_without_a_network(tmp_path: Path) -> None:
    with Project.create(tmp_path / "p") as project, pytest.raises(InputError, match="no network yet"):
        load_network(project)
