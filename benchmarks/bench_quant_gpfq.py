"""GPFQ vs round-to-nearest weights on DefectNet at low weight bit widths (per-channel, 8-bit activations).

The same cached DefectNet as the other quantization benchmarks; 256 calibration images; test accuracy is
"measured". The goal: GPFQ is never worse than rounding by more than half a point and helps where rounding
loses most. Prints one JSON object.
"""

from __future__ import annotations

import os
import time

from _common import report  # also puts app/ on sys.path

WEIGHT_BITS = (4, 3, 2)


def main() -> None:
    import torch

    from bench_prune_remove_layers import defect_splits, trained_defectnet
    from foldwise.core.networks.train import evaluate
    from foldwise.core.networks.zoo import get_entry
    from foldwise.core.quantize import QuantConfig, quantize_network
    from foldwise.core.quantize.validate import accuracy

    splits = defect_splits()
    entry = get_entry("defectnet")
    model, _ = trained_defectnet(splits)
    model.eval()
    float_acc = evaluate(model, splits.test, spec=entry.spec).accuracy
    rows = {}
    for bits in WEIGHT_BITS:
        row = {}
        for method, gpfq in (("rounded", False), ("gpfq", True)):
            config = QuantConfig(weight_bits=bits, act_bits=8, weight_scaling="per_channel", gpfq=gpfq,
                                 calib_images=256)
            start = time.perf_counter()
            result = quantize_network(model, splits.train.images, config, spec=entry.spec, collect_stats=False)
            row[f"{method}_seconds"] = round(time.perf_counter() - start, 2)
            row[method] = round(accuracy(result.network, splits.test.images, splits.test.labels), 4)
        row["gain_points"] = round(100 * (row["gpfq"] - row["rounded"]), 2)
        rows[f"w{bits}a8"] = row
    gains = [row["gain_points"] for row in rows.values()]
    passed = min(gains) >= -0.5 and max(gains) > 0.0
    report("DefectNet test accuracy, GPFQ vs rounded weights", rows,
           "GPFQ never > 0.5 point below rounding, and above it somewhere", passed, source="measured",
           float_accuracy=float_acc, test_images=len(splits.test.labels), threads=torch.get_num_threads(),
           load_avg_1min=round(os.getloadavg()[0], 2))


if __name__ == "__main__":
    main()
