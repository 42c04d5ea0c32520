from __future__ import annotations

import pytest

from foldwise.core.errors import Cancelled, InputError
from foldwise.core.jobs import JobContext
from foldwise.core.quantize.validate import compare, sensitivity, weight_memory


def test_compare_reports_both_accuracies_and_confusions(lenet, w8a8, digits, float_accuracy):
    result = compare(lenet, w8a8.network, digits["test_x"], digits["test_y"])
    assert result["float"]["accuracy"]["value"] == pytest.approx(float_accuracy)
    assert result["quantized"]["accuracy"]["source"] == "measured"
    confusion = result["quantized"]["confusion"]
    assert len(confusion) == 10 and sum(map(sum, confusion)) == len(digits["test_y"])
    assert sum(confusion[i][i] for i in range(10)) / len(digits["test_y"]) == pytest.approx(
        result["quantized"]["accuracy"]["value"])
    with pytest.raises(InputError, match="label"):
        compare(lenet, w8a8.network, digits["test_x"], digits["test_y"][:5])


def test_sensitivity_quantizes_one_layer_at_a_time(w8a8, digits):
    rows = sensitivity(w8a8.network, digits["test_x"][:100], digits["test_y"][:100])
    assert [r["layer"] for r in rows] == w8a8.network.weight_layers
    assert all(0.0 <= r["accuracy"] <= 1.0 for r in rows)
    # The network's own state is restored afterwards.
    gm = w8a8.network.model
    assert not any(gm.get_submodule(n).weight_quant.disable_quant for n in w8a8.network.weight_layers)


def test_sensitivity_is_cancellable(w8a8, digits):
    ctx = JobContext()
    ctx.cancel()
    with pytest.raises(Cancelled):
        sensitivity(w8a8.network, digits["test_x"][:10], digits["test_y"][:10], ctx)
    assert not w8a8.network.model.get_submodule("features.conv1").weight_quant.disable_quant


def test_weight_memory_at_the_chosen_precision(w8a8):
    memory = weight_memory(w8a8.network)
    params = {r["layer"]: r["params"] for r in memory["layers"]}
    assert params["features.conv1"] == 6 * 1 * 5 * 5 and params["classifier.fc1"] == 400 * 120
    total = sum(params.values())
    assert memory["total_mb"]["value"] == pytest.approx(total / 1e6)  # 8 bits = 1 byte
    assert memory["float_mb"]["value"] == pytest.approx(4 * total / 1e6)
    assert all(r["source"] == "computed" for r in memory["layers"])
