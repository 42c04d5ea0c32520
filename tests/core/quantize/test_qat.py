from __future__ import annotations

import copy
import threading

import pytest

from foldwise.core.errors import Cancelled, InputError
from foldwise.core.jobs import JobContext
from foldwise.core.quantize import QuantConfig, prepare
from foldwise.core.quantize.qat import qat
from tests.core.quantize.conftest import accuracy_of


def test_qat_trains_with_curves_and_keeps_accuracy(w8a8, digits, float_accuracy):
    network = copy.deepcopy(w8a8.network)
    epochs = []
    result = qat(network, digits["train_x"][:512], digits["train_y"][:512], 2,
                 val=(digits["test_x"][:100], digits["test_y"][:100]), on_epoch=epochs.append, patience=1)
    assert [e.epoch for e in epochs] == [e.epoch for e in result.history]
    assert 1 <= len(result.history) <= 2
    assert all(e.loss > 0 and e.val_accuracy is not None for e in result.history)
    assert accuracy_of(network, digits) >= float_accuracy - 0.03


def test_qat_is_cancellable(w8a8, digits):
    network = copy.deepcopy(w8a8.network)
    cancel = threading.Event()
    ctx = JobContext(on_progress=lambda f, m: cancel.set(), cancel_event=cancel)
    with pytest.raises(Cancelled):
        qat(network, digits["train_x"][:256], digits["train_y"][:256], 3, ctx)


def test_qat_needs_a_calibrated_network_and_epochs(lenet, digits, w8a8):
    raw = prepare(lenet, QuantConfig(), (1, 32, 32))
    with pytest.raises(InputError, match="calibrate"):
        qat(raw, digits["train_x"][:8], digits["train_y"][:8], 1)
    with pytest.raises(InputError, match="epoch"):
        qat(copy.deepcopy(w8a8.network), digits["train_x"][:8], digits["train_y"][:8], 0)
