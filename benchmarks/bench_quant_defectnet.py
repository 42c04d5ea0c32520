"""DefectNet quantization: W8A8 PTQ loses ≤ 1 accuracy point; W4A4 PTQ + ≤ 3 QAT epochs loses ≤ 2.

Trains DefectNet with the networks engineer's ``train()`` defaults on the generated defect set, caching the
data and the trained weights under ``$FOLDWISE_BENCH_CACHE`` (default: the temp folder), then quantizes on
256 calibration images and measures test accuracy (all "measured"). Prints one JSON object.
"""

from __future__ import annotations

import os
import time

from _common import report  # also puts app/ on sys.path


def main() -> None:
    import torch

    # The same trained DefectNet as the prune benchmarks (cached per data generator and architecture).
    from bench_prune_remove_layers import defect_splits, trained_defectnet
    from foldwise.core.networks.train import evaluate
    from foldwise.core.networks.zoo import get_entry
    from foldwise.core.quantize import QuantConfig, quantize_network
    from foldwise.core.quantize.qat import qat
    from foldwise.core.quantize.validate import accuracy

    splits = defect_splits()
    entry = get_entry("defectnet")
    model, trained = trained_defectnet(splits)
    train_s = float(trained.get("train_seconds") or 0.0) if trained.get("cached") is None else 0.0
    model.eval()
    float_acc = evaluate(model, splits.test, spec=entry.spec).accuracy
    test_x, test_y = splits.test.images, splits.test.labels

    start = time.perf_counter()
    w8 = quantize_network(model, splits.train.images, QuantConfig(calib_images=256), spec=entry.spec)
    w8_s = time.perf_counter() - start
    w8_acc = accuracy(w8.network, test_x, test_y)

    start = time.perf_counter()
    config4 = QuantConfig(weight_bits=4, act_bits=4, weight_scaling="per_channel", calib_images=256)
    w4 = quantize_network(model, splits.train.images, config4, spec=entry.spec, collect_stats=False)
    w4_ptq_acc = accuracy(w4.network, test_x, test_y)
    history = qat(w4.network, splits.train.images, splits.train.labels, 3,
                  val=(splits.val.images, splits.val.labels), patience=2)
    w4_s = time.perf_counter() - start
    w4_acc = accuracy(w4.network, test_x, test_y)

    loss8, loss4 = 100 * (float_acc - w8_acc), 100 * (float_acc - w4_acc)
    report("DefectNet accuracy loss after quantization (points)", {"w8a8_ptq": round(loss8, 2),
                                                                    "w4a4_qat": round(loss4, 2)},
           "W8A8 PTQ <= 1 point; W4A4 + <= 3 QAT epochs <= 2 points", loss8 <= 1.0 and loss4 <= 2.0,
           source="measured", float_accuracy=float_acc, w8a8_accuracy=w8_acc, w4a4_ptq_accuracy=w4_ptq_acc,
           w4a4_qat_accuracy=w4_acc, qat=history.to_dict(), seconds={"train": round(train_s, 1),
                                                                    "w8a8_ptq": round(w8_s, 1),
                                                                    "w4a4_ptq_qat": round(w4_s, 1)},
           test_images=len(test_y), threads=torch.get_num_threads(), load_avg_1min=round(os.getloadavg()[0], 2))


if __name__ == "__main__":
    main()
