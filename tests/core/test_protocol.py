"""The accuracy protocols: which split and how many images a figure is measured on, and how it says so."""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np
import pytest

from foldwise.core.errors import InputError
from foldwise.core.protocol import PROTOCOLS, REPORT, SCAN, SELECT, Protocol, accuracy_figure, where


def _splits(val: int = 800, test: int = 1000) -> SimpleNamespace:
    def data(n: int, offset: int) -> SimpleNamespace:
        return SimpleNamespace(images=np.arange(n) + offset, labels=np.arange(n) % 2)

    return SimpleNamespace(train=data(10, 0), val=data(val, 10_000), test=data(test, 20_000))


def test_the_three_protocols() -> None:
    splits = _splits()
    assert set(PROTOCOLS) == {"report", "select", "scan"}
    assert (REPORT.split, REPORT.count(splits)) == ("test", 1000)  # every reported accuracy: the whole test split
    assert (SELECT.split, SELECT.count(splits)) == ("val", 800)  # choices: never on the test split
    assert (SCAN.split, SCAN.count(splits)) == ("val", 500)
    images, labels = SCAN.take(splits)
    assert len(images) == len(labels) == 500 and images[0] == 10_000  # the first images of its split
    assert SCAN.count(_splits(val=270)) == 270


def test_limits_and_labels() -> None:
    splits = _splits()
    assert REPORT.limit(None) is REPORT and REPORT.limit(0) is REPORT
    assert REPORT.limit(200).count(splits) == 200 and SCAN.limit(2000).count(splits) == 500
    with pytest.raises(InputError):
        REPORT.limit(-3)
    with pytest.raises(ValueError):
        Protocol("x", "train")
    figure = accuracy_figure(0.97401234, REPORT, 1000)
    assert figure == {"value": 0.974012, "source": "measured", "protocol": "report", "split": "test",
                      "images": 1000}
    assert where(figure) == "test, 1,000 images"
    assert where({"value": 1, "source": "measured"}) == "" and where(None) == ""
    assert accuracy_figure(None, SELECT, 5)["value"] is None


def test_train_prune_and_quantize_report_one_protocol(quantized_lenet) -> None:
    """The float network's accuracy is the same number wherever it is reported: train and quantize measure it
    on the same (whole) test split."""
    from foldwise.core.project import Project

    with Project.open(quantized_lenet, read_only=True) as project:
        trained, quantized = project.iterations
        accuracy, float_accuracy = trained.metrics["accuracy"], quantized.metrics["float_accuracy"]
        assert accuracy["protocol"] == float_accuracy["protocol"] == quantized.metrics["accuracy"]["protocol"] \
            == "report"
        assert accuracy["images"] == float_accuracy["images"] and where(accuracy) == where(float_accuracy)
        assert float_accuracy["value"] == pytest.approx(accuracy["value"], abs=1 / accuracy["images"])
        assert trained.metrics["val_accuracy"]["protocol"] == "select"
