"""scaling_note: what the instant what-if figures cannot re-derive without a new calibration."""

from __future__ import annotations

from foldwise.core.quantize.config import QuantConfig
from foldwise.core.quantize.inspect import scaling_note


def test_percentile_ranges_hold_for_other_bits_but_mse_ranges_do_not() -> None:
    percentile = QuantConfig(act_bits=8)
    assert scaling_note(percentile, QuantConfig(act_bits=4, layers={"relu1": {"act_bits": 2}})) == ""
    mse = QuantConfig(act_bits=8, act_range="mse")
    assert scaling_note(mse, QuantConfig(act_bits=8, act_range="mse", weight_bits=4)) == ""
    for chosen in (QuantConfig(act_bits=4, act_range="mse"),
                   QuantConfig(act_bits=8, act_range="mse", layers={"relu1": {"act_bits": 2}})):
        assert scaling_note(mse, chosen) == "MSE activation ranges found at the calibration's bits (A8)"
    assert scaling_note(percentile, QuantConfig(act_range="mse")) == "activation ranges by percentile"
    assert scaling_note(mse, QuantConfig(calib_images=64)) == "on 256 images; activation ranges by MSE"
