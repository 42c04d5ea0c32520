"""Figure: what per-channel weight scales buy at W4A4 over per-tensor ones, side by side, with 64 and 512
calibration images, on a residual network (resnet8-0.25x) and on chains (DefectNet, LeNet-5).

Each network is trained once (``--epochs``, the zoo's recommended settings) on its shipped data set, then
quantized W4A4 four times from the same float weights: per-tensor or per-channel weight scales × 64 or 512
calibration images (the calibration images are the first of the training split). Test accuracy is measured
for each. It decides the Quantize stage's default weight scaling: passes when per-channel is at least as
accurate as per-tensor, within one point, for every network and calibration size (one point: LeNet-5's 270 test
images resolve 0.37 points, and a single run varied by more than that between calibration sizes).
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

from _common import report  # also puts app/ on sys.path

CALIBRATIONS = (64, 512)
TOLERANCE = 0.01


def run_one(arch: str, epochs: int, tmp: Path) -> dict:
    import torch

    from foldwise.core.data.defects import load_or_generate
    from foldwise.core.data.digits import load_digits_splits
    from foldwise.core.networks.train import evaluate, recommended_config, train
    from foldwise.core.networks.zoo import get_entry
    from foldwise.core.quantize.config import QuantConfig, WeightScaling
    from foldwise.core.quantize.ptq import quantize_network
    from foldwise.core.quantize.validate import accuracy

    entry = get_entry(arch)
    splits = load_digits_splits(seed=0) if entry.spec.dataset == "digits" else load_or_generate(tmp / "cache", seed=0)
    torch.manual_seed(0)
    t0 = time.monotonic()
    config = recommended_config(arch, epochs=epochs, patience=None)
    model = train(entry.build().eval(), splits.train, splits.val, config, spec=entry.spec).model.eval()
    train_s = time.monotonic() - t0
    row: dict = {"arch": arch, "epochs": epochs, "images": len(splits.test.labels), "train_s": round(train_s, 1),
                 "float": round(evaluate(model, splits.test, spec=entry.spec).accuracy, 4), "w4a4": {}}
    for scaling in (WeightScaling.PER_TENSOR, WeightScaling.PER_CHANNEL):
        for calib in CALIBRATIONS:
            quant = QuantConfig(weight_bits=4, act_bits=4, calib_images=calib, weight_scaling=scaling)
            network = quantize_network(model, splits.train.images[:calib], quant, spec=entry.spec,
                                       collect_stats=False).network
            value = accuracy(network, splits.test.images, splits.test.labels)
            row["w4a4"][f"{scaling.value}/{calib}"] = round(value, 4)
    row["pass"] = all(row["w4a4"][f"per_channel/{c}"] >= row["w4a4"][f"per_tensor/{c}"] - TOLERANCE
                      for c in CALIBRATIONS)
    return row


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--arch", nargs="+", default=["resnet8-0.25x", "defectnet", "lenet5"])
    parser.add_argument("--epochs", type=int, default=8)
    args = parser.parse_args()

    tmp = Path(tempfile.mkdtemp(prefix="bench-weight-scaling-"))
    rows = [run_one(arch, args.epochs, tmp) for arch in args.arch]

    def line(r: dict) -> str:
        cells = ", ".join(f"{key} {value:.1%}" for key, value in r["w4a4"].items())
        return f"{r['arch']}: float {r['float']:.1%}; W4A4 {cells} (measured, {r['images']:,} test images)"

    report(f"W4A4 test accuracy, per-tensor vs per-channel weight scales × 64 / 512 calibration images "
           f"({' / '.join(args.arch)}; {args.epochs} training epochs)",
           [r["w4a4"] for r in rows], f"per-channel ≥ per-tensor − {TOLERANCE:.1%} everywhere",
           all(r["pass"] for r in rows), measured="; ".join(line(r) for r in rows), networks=rows)


if __name__ == "__main__":
    main()
