"""A tiny trained LeNet5 on sklearn's digits (upscaled to 32×32) and a project holding it, shared by the core
and GUI prune tests. Trained once per test process (about a second on one thread)."""

from __future__ import annotations

import copy
import functools
from pathlib import Path

import numpy as np

from foldwise.core.data.dataset import ImageDataset, Splits
from foldwise.core.project import IterationKind, Project, figure

SIZES = (600, 200, 300)


@functools.cache
def digits_splits() -> Splits:
    from sklearn.datasets import load_digits

    digits = load_digits()
    order = np.random.default_rng(0).permutation(len(digits.target))[: sum(SIZES)]
    images = np.kron(digits.images[order], np.ones((4, 4)))  # 8×8 → 32×32
    images = (images / 16.0 * 255).round().astype(np.uint8)[:, None]
    labels = digits.target[order].astype(np.int64)
    names = [str(i) for i in range(10)]
    cuts = np.cumsum(SIZES)
    parts = [(0, cuts[0]), (cuts[0], cuts[1]), (cuts[1], cuts[2])]
    return Splits(*(ImageDataset(images[a:b], labels[a:b], names, name=f"digits-{split}")
                    for (a, b), split in zip(parts, ("train", "val", "test"), strict=True)))


@functools.cache
def _trained_lenet():
    import torch

    from foldwise.core.networks.train import TrainConfig, train
    from foldwise.core.networks.zoo import ZOO

    entry = ZOO["lenet5"]
    torch.manual_seed(0)  # the initial weights: train() seeds only what comes after
    config = TrainConfig(epochs=4, batch_size=32, lr=3e-3, patience=None)
    return train(entry.build(), digits_splits().train, digits_splits().val, config, spec=entry.spec).model


def lenet_model():
    """A fresh copy of the trained LeNet5 (tests may change theirs)."""
    return copy.deepcopy(_trained_lenet())


def make_project(path: Path, quantized_child: bool = False) -> Project:
    """A project (settings: lenet5 on digits) with iteration 0001, the trained LeNet5; optionally 0002, a
    child of kind ``quantized`` (its network is the float one: the kind alone marks it)."""
    from foldwise.core.iterations import ProjectNetwork, network_figures, write_network_files
    from foldwise.core.networks.summary import summarize
    from foldwise.core.networks.zoo import ZOO

    entry = ZOO["lenet5"]
    project = Project.create(path, name="digits", settings={"network": {"arch": "lenet5"},
                                                            "dataset": {"name": "digits"},
                                                            "train": {"batch_size": 32, "lr": 3e-3}})
    model = lenet_model()
    summary = summarize(model, entry.spec)
    network = ProjectNetwork(model, entry.spec, "lenet5", None)
    with project.new_iteration(IterationKind.TRAINED, "trained-4ep", change={"stage": "train"}) as draft:
        write_network_files(draft.folder, network, model, summary)
        draft.metrics.update({**network_figures(summary), "accuracy": figure(0.9, "measured", split="test")})
    if quantized_child:
        with project.new_iteration(IterationKind.QUANTIZED, "int8", parent="0001",
                                   change={"stage": "quantize"}) as draft:
            write_network_files(draft.folder, network, model, summary)
    return project
