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

import tempfile
from pathlib import Path

from _common import report  # also puts app/ on sys.path
from _zoo_trained import accuracy_line, arguments, train_zoo

CALIBRATIONS = (64, 512)
TOLERANCE = 0.01


def run_one(arch: str, epochs: int, tmp: Path) -> dict:
    from foldwise.core.quantize.config import WeightScaling

    trained = train_zoo(arch, epochs, tmp / "cache")
    row: dict = {**trained.row, "w4a4": {}}
    for scaling in (WeightScaling.PER_TENSOR, WeightScaling.PER_CHANNEL):
        for calib in CALIBRATIONS:
            row["w4a4"][f"{scaling.value}/{calib}"] = trained.w4a4_accuracy(calib, weight_scaling=scaling)
    row["pass"] = all(row["w4a4"][f"per_channel/{c}"] >= row["w4a4"][f"per_tensor/{c}"] - TOLERANCE
                      for c in CALIBRATIONS)
    return row


def main() -> None:
    args = arguments(__doc__.splitlines()[0])

    tmp = Path(tempfile.mkdtemp(prefix="bench-weight-scaling-"))
    rows = [run_one(arch, args.epochs, tmp) for arch in args.arch]

    report(f"W4A4 test accuracy, per-tensor vs per-channel weight scales × 64 / 512 calibration images "
           f"({' / '.join(args.arch)}; {args.epochs} training epochs)",
           [r["w4a4"] for r in rows], f"per-channel ≥ per-tensor − {TOLERANCE:.1%} everywhere",
           all(r["pass"] for r in rows), measured="; ".join(accuracy_line(r) for r in rows), networks=rows)


if __name__ == "__main__":
    main()
