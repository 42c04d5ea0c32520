"""remedies: what the Quantize stage offers when post-training quantization lost accuracy."""

from __future__ import annotations

from foldwise.core.quantize.advice import remedies
from foldwise.core.quantize.config import QuantConfig


def test_a_small_drop_needs_no_remedy() -> None:
    assert remedies(0.97, 0.951, QuantConfig(weight_bits=4, act_bits=4)) == ""
    assert remedies(0.97, 0.99, QuantConfig()) == ""


def test_the_remedies_are_the_options_not_yet_used_qat_first() -> None:
    text = remedies(0.964, 0.85, QuantConfig(weight_bits=4, act_bits=4))
    assert text == ("lost 11.4 points to quantization: try quantization-aware training for a few epochs (Quantize + "
                    "QAT, --qat 2); more bits on the layers a sensitivity scan finds most sensitive; GPFQ weight "
                    "rounding; MSE activation ranges")
    used = QuantConfig(weight_bits=8, act_bits=4, weight_scaling="per_tensor", act_range="mse",
                       layers={"fc": {"weight_bits": 3}}, gpfq=True)
    assert remedies(0.9, 0.8, used, qat_epochs=2) == (
        "lost 10.0 points to quantization: try more bits on the layers a sensitivity scan finds most sensitive; "
        "per-channel weight scales")
    # GPFQ is offered for low weight bits only: here every layer keeps 8
    assert "GPFQ" not in remedies(0.9, 0.8, QuantConfig(weight_bits=8, act_bits=2))
    assert "GPFQ" in remedies(0.9, 0.8, QuantConfig(weight_bits=8, act_bits=8, layers={"fc": {"weight_bits": 3}}))
