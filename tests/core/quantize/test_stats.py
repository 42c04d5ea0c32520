from __future__ import annotations

import numpy as np
import pytest
import torch

from foldwise.core.errors import InputError
from foldwise.core.quantize import _loghist
from foldwise.core.quantize.stats import (
    CalibrationStats,
    QuantRange,
    TensorStats,
    _tensor_entry,
    histogram,
    weight_table,
    what_if,
)


def _entry(values: list[float], quant: QuantRange | None = None) -> TensorStats:
    entry = _tensor_entry("t", "t", "t", "act", torch.tensor(values))
    entry.quant = quant
    return entry


def test_clipped_and_flushed_fractions_of_a_hand_made_tensor():
    # 10 values: 2 zeros, 2 tiny (flushed by a 0.1 step), 3 beyond the 1.0 range (clipped), 3 fine.
    values = [0.0, 0.0, 0.01, -0.02, 2.0, 5.0, -3.0, 0.5, -0.5, 0.9]
    h = _loghist.histogram_codes(torch.tensor(values)).numpy()
    clipped, flushed = _loghist.fractions(h, -3.0, 5.0, -1.0, 1.0, 0.05)
    assert clipped == pytest.approx(0.3)
    assert flushed == pytest.approx(0.2)
    assert _loghist.split(h)[1] == 2


def test_what_if_recomputes_range_and_fractions_for_another_bit_width():
    # Unsigned 8-bit activation calibrated to a 2.55 threshold: scale 0.01, range 0..2.55.
    quant = QuantRange(bits=8, signed=False, narrow=False, lo=0.0, hi=2.55, step=0.01, threshold=2.55)
    entry = _entry([0.0] * 4 + [0.004, 0.3, 0.9, 1.2, 2.0, 3.0], quant)
    at8 = what_if(entry, 8)
    assert (at8["lo"], at8["hi"], at8["step"]) == pytest.approx((0.0, 2.55, 0.01))
    assert at8["clipped"] == pytest.approx(0.1) and at8["flushed"] == pytest.approx(0.1)
    at2 = what_if(entry, 2)  # same threshold, 3 steps of 0.85: 0.3 now rounds to zero too
    assert (at2["hi"], at2["step"]) == pytest.approx((2.55, 0.85))
    assert at2["clipped"] == pytest.approx(0.1) and at2["flushed"] == pytest.approx(0.2)
    with pytest.raises(InputError):
        what_if(entry, 9)


def test_what_if_power_of_two_scales_round_up():
    quant = QuantRange(bits=8, signed=True, narrow=False, lo=-2.0, hi=2.0 * 127 / 128, step=2 / 128,
                       po2=True, threshold=1.5)
    out = what_if(_entry([-1.4, 0.2, 1.3], quant), 4)
    assert out["step"] == 0.25  # 1.5 / 7 = 0.214 → 0.25
    assert out["hi"] == pytest.approx(7 * 0.25)


def test_weight_table_matches_brevitas_at_the_configured_bits(w8a8):
    entry = w8a8.stats.get("features.conv2/weight")
    proxy = w8a8.network.model.get_submodule("features.conv2").weight_quant
    assert proxy.scale().numel() == 16  # per-channel by default: the table steps by the largest channel's scale
    assert entry.quant.step == pytest.approx(float(proxy.scale().max()))
    assert entry.table[8][4] == pytest.approx(float(proxy.scale().max()))
    w = torch.tensor([[1.0, -0.5, 0.01], [0.2, 0.0, -0.03]])
    table = weight_table(w, per_channel=True, po2=False)
    lo, hi, clipped, flushed, _step = table[2]  # ternary: steps of the channel max
    assert (lo, hi, clipped) == (-1.0, 1.0, 0.0)
    assert flushed == pytest.approx(2 / 6)  # 0.01 (< 0.5) and -0.03 (< 0.1); the 0.0 is not "flushed"


def test_calibration_collects_every_activation_and_weight(w8a8):
    names = {e.name for e in w8a8.stats.entries}
    for layer in ("features.conv1", "features.conv2", "classifier.fc1", "classifier.fc2", "classifier.fc3"):
        assert f"{layer}/weight" in names and f"{layer}/bias" in names
    acts = [e for e in w8a8.stats.entries if e.kind == "act"]
    assert {e.module for e in acts} >= {"features.relu1", "classifier_fc3_output_quant"}
    relu1 = w8a8.stats.get("features.relu1/act")
    assert relu1.layer == "features.conv1" and relu1.min >= 0 and relu1.zeros > 0
    assert relu1.quant.lo == 0.0 and relu1.quant.hi > 0 and relu1.quant.bits == 8
    assert 0.0 <= relu1.clipped < 0.01
    # One batch of 128 images × 6×28×28 ReLU outputs, sampled down to at most 2^16 values.
    assert (1 << 15) < relu1.count <= (1 << 16)
    rows = w8a8.stats.summary()
    assert all(row["source"] == "measured" for row in rows)


def test_display_histogram_keeps_every_count(w8a8):
    entry = w8a8.stats.get("classifier_fc3_output_quant/act")
    edges, counts = histogram(entry, bins=64)
    assert len(edges) == 65 and edges[0] <= entry.quant.lo and edges[-1] >= entry.quant.hi
    assert counts.sum() == pytest.approx(entry.count, rel=1e-6)
    assert (counts >= 0).all()


def test_stats_round_trip_through_npz(w8a8, tmp_path):
    path = w8a8.stats.save(tmp_path / "stats.npz")
    assert path.stat().st_size < 200_000
    again = CalibrationStats.load(path)
    for a, b in zip(w8a8.stats.entries, again.entries, strict=True):
        assert a.summary() == b.summary()
        np.testing.assert_array_equal(a.hist, b.hist)
        assert a.table == b.table
    entry = again.get("features.relu2/act")
    assert what_if(entry, 4) == what_if(w8a8.stats.get("features.relu2/act"), 4)
    (tmp_path / "bad.npz").write_bytes(b"nope")
    with pytest.raises(InputError):
        CalibrationStats.load(tmp_path / "bad.npz")
