"""What to try when post-training quantization lost accuracy: the Quantize stage's own remedies.

The order follows what the benchmarks measured: two QAT epochs recovered what PTQ lost where it lost most
(resnet8-0.25x W4A4 90.6 → 92.3 %, bench_quant_qat_recovery), per-layer bits from the sensitivity scan cost
memory only where it matters, and per-channel weight scales and GPFQ help low weight bits
(bench_quant_weight_scaling, bench_quant_gpfq). MSE activation ranges are offered last: on average they lost
accuracy (bench_quant_act_range), though they won on some networks.
"""

from __future__ import annotations

from foldwise.core.quantize.config import ActRange, QuantConfig, WeightScaling

LOST_POINTS = 2.0  # below this a drop is within what W4A4 PTQ keeps on the shipped networks


def remedies(float_accuracy: float, quantized_accuracy: float, config: QuantConfig, qat_epochs: int = 0) -> str:
    """``"lost 6.4 points to quantization: try ..."``, or "" when the drop is at most LOST_POINTS."""
    lost = (float_accuracy - quantized_accuracy) * 100
    if lost <= LOST_POINTS:
        return ""
    tries = [] if qat_epochs else ["quantization-aware training for a few epochs (Quantize + QAT, --qat 2)"]
    tries.append("more bits on the layers a sensitivity scan finds most sensitive")
    if config.weight_scaling == WeightScaling.PER_TENSOR:
        tries.append("per-channel weight scales")
    if not config.gpfq and min([config.weight_bits, *(o.weight_bits for o in config.layers.values()
                                                      if o.weight_bits is not None)]) <= 4:
        tries.append("GPFQ weight rounding")
    if config.act_range == ActRange.PERCENTILE:
        tries.append("MSE activation ranges")
    return f"lost {lost:.1f} points to quantization: try " + "; ".join(tries)
