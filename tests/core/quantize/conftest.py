"""Shared fixtures: a LeNet5 trained briefly on sklearn's digits (32×32, raw uint8 pixels) and its W8A8 PTQ.

Single-threaded: the machine is shared, and torch's thread pool spins when oversubscribed.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from sklearn.datasets import load_digits

from foldwise.core.networks.zoo import build
from foldwise.core.quantize import QuantConfig, quantize_network


@pytest.fixture(autouse=True, scope="session")
def _one_torch_thread():
    previous = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(previous)


@pytest.fixture(scope="session")
def digits() -> dict[str, torch.Tensor]:
    """Train (first 1,400) and test (last 397) digits as uint8 N×1×32×32 and int64 labels."""
    data = load_digits()
    x = torch.tensor(data.images, dtype=torch.float32)[:, None] / 16.0
    x = F.interpolate(x, size=(32, 32), mode="bilinear", align_corners=False)
    images = (x.clamp(0, 1) * 255).round().to(torch.uint8)
    labels = torch.tensor(data.target, dtype=torch.int64)
    return {"train_x": images[:1400], "train_y": labels[:1400], "test_x": images[1400:],
            "test_y": labels[1400:]}


@pytest.fixture(scope="session")
def lenet(digits) -> torch.nn.Module:
    torch.manual_seed(0)
    model = build("lenet5")
    x, y = digits["train_x"].float() / 255.0, digits["train_y"]
    optimizer = torch.optim.Adam(model.parameters(), lr=3e-3)
    gen = torch.Generator().manual_seed(0)
    for _ in range(6):
        order = torch.randperm(len(x), generator=gen)
        for i in range(0, len(x), 64):
            idx = order[i:i + 64]
            optimizer.zero_grad()
            F.cross_entropy(model(x[idx]), y[idx]).backward()
            optimizer.step()
    return model.eval()


@pytest.fixture(scope="session")
def float_accuracy(lenet, digits) -> float:
    with torch.no_grad():
        scores = lenet(digits["test_x"].float() / 255.0)
    return float((scores.argmax(1) == digits["test_y"]).float().mean())


@pytest.fixture(scope="session")
def w8a8(lenet, digits):
    """PTQ result (network + stats) at W8A8 on 128 calibration images; tests must not modify it."""
    return quantize_network(lenet, digits["train_x"], QuantConfig(calib_images=128))


def accuracy_of(network, digits) -> float:
    return float((network(digits["test_x"]).argmax(1) == digits["test_y"]).float().mean())


def assert_close_arrays(a: np.ndarray, b: np.ndarray) -> None:
    np.testing.assert_array_equal(np.asarray(a), np.asarray(b))


def assert_faithful(check: dict) -> None:
    """A QONNX check that found the file right: bit-exact, or every mismatched image a verified rounding tie (torch
    and onnxruntime sum convolutions in an order that differs between CPUs)."""
    assert check["faithful"] and check["mismatched_images"] == check["rounding_ties"], check["first_mismatch"]
