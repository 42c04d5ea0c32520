"""Weight-bit candidates from a cached calibration, and accuracy from the changed layer on: both must equal
a full re-quantization and a full forward pass exactly."""

from __future__ import annotations

import copy

import torch
from torch import fx, nn

from foldwise.core.quantize import QuantConfig, quantize_network
from foldwise.core.quantize.config import LayerOverride
from foldwise.core.quantize.incremental import TailAccuracy, calibration_reusable, tail, with_calibration
from foldwise.core.quantize.validate import accuracy


def _lowered(config: QuantConfig, layer: str, bits: int) -> QuantConfig:
    candidate = copy.deepcopy(config)
    candidate.layers[layer] = LayerOverride(bits, None, True)
    candidate.validate()
    return candidate


def test_a_reused_calibration_and_the_tail_equal_a_full_requantization(lenet, digits) -> None:
    config = QuantConfig(weight_bits=4, act_bits=4, calib_images=64)
    base = quantize_network(lenet, digits["train_x"], config, collect_stats=False).network
    x, y = digits["test_x"][:300], digits["test_y"][:300]
    measure = TailAccuracy(base, x, y, base.weight_layers)
    assert measure.base_accuracy == accuracy(base, x, y)
    for layer in base.weight_layers:
        candidate = _lowered(config, layer, 2)
        full = quantize_network(lenet, digits["train_x"], candidate, collect_stats=False).network
        reused = with_calibration(lenet, candidate, base, None)
        assert torch.equal(full(x), reused(x))  # bit for bit: calibration never sees the weight bits
        assert not torch.equal(full(x), base(x))  # ... and the candidate is another network
        acc, entering = measure.accuracy(reused, layer)
        assert acc == accuracy(full, x, y)
        later = base.weight_layers[base.weight_layers.index(layer) + 1:]
        assert list(entering) == later
    # after a kept move, the next candidate downstream is measured from what the kept one fed its layers
    first, second = base.weight_layers[1], base.weight_layers[3]
    kept = with_calibration(lenet, _lowered(config, first, 3), base, None)
    acc, entering = measure.accuracy(kept, first)
    measure.rebase(kept, acc, entering)
    both = _lowered(_lowered(config, first, 3), second, 2)
    next_acc, _ = measure.accuracy(with_calibration(lenet, both, kept, None), second)
    assert next_acc == accuracy(quantize_network(lenet, digits["train_x"], both, collect_stats=False).network, x, y)


def test_calibration_is_reused_only_where_it_ignores_the_weights() -> None:
    assert calibration_reusable(QuantConfig())
    assert not calibration_reusable(QuantConfig(bias_correction=True))
    assert not calibration_reusable(QuantConfig(gpfq=True))


class _Residual(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.a = nn.Conv2d(1, 2, 1)
        self.b = nn.Conv2d(2, 2, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = self.a(x)
        return self.b(torch.relu(y)) + y


def test_no_tail_is_cut_across_a_skip_connection() -> None:
    gm = fx.symbolic_trace(_Residual())
    assert tail(gm, "b") is None  # y goes around b to the add
    x = torch.randn(2, 1, 3, 3)
    cut = tail(gm, "a")
    assert cut is not None and torch.equal(cut(x), gm(x))
    assert tail(gm, "missing") is None
