"""Figure: what MSE activation ranges buy at W4A4 over percentile ones, side by side, with 64 and 512
calibration images, on a residual network (resnet8-0.25x) and on chains (DefectNet, LeNet-5).

Each network is trained once (``--epochs``, the zoo's recommended settings) on its shipped data set, then
quantized W4A4 (per-channel weights, the default) four times from the same float weights: activation ranges by
the 99.999th percentile or by least squared error × 64 or 512 calibration images (the first of the training
split). Test accuracy is measured for each. It decides the Quantize stage's default activation range: the
percentile stays the default while its accuracy, averaged over every network and calibration size, is within
one point of MSE's or above it.
"""

from __future__ import annotations

import tempfile
from pathlib import Path

from _common import report  # also puts app/ on sys.path
from _zoo_trained import accuracy_line, arguments, train_zoo

CALIBRATIONS = (64, 512)
TOLERANCE = 0.01


def run_one(arch: str, epochs: int, tmp: Path) -> dict:
    from foldwise.core.quantize.config import ActRange

    trained = train_zoo(arch, epochs, tmp / "cache")
    row: dict = {**trained.row, "w4a4": {}}
    for act_range in ActRange:
        for calib in CALIBRATIONS:
            row["w4a4"][f"{act_range.value}/{calib}"] = trained.w4a4_accuracy(calib, act_range=act_range)
    return row


def mean(rows: list[dict], act_range: str) -> float:
    values = [r["w4a4"][f"{act_range}/{c}"] for r in rows for c in CALIBRATIONS]
    return sum(values) / len(values)


def main() -> None:
    args = arguments(__doc__.splitlines()[0])

    tmp = Path(tempfile.mkdtemp(prefix="bench-act-range-"))
    rows = [run_one(arch, args.epochs, tmp) for arch in args.arch]

    report(f"W4A4 test accuracy, percentile vs MSE activation ranges × 64 / 512 calibration images "
           f"({' / '.join(args.arch)}; {args.epochs} training epochs)",
           [r["w4a4"] for r in rows], f"percentile ≥ MSE − {TOLERANCE:.1%} on the mean over networks and sizes",
           mean(rows, "percentile") >= mean(rows, "mse") - TOLERANCE,
           measured="; ".join(accuracy_line(r) for r in rows) + f"; mean percentile {mean(rows, 'percentile'):.1%}, "
                    f"MSE {mean(rows, 'mse'):.1%}", networks=rows)


if __name__ == "__main__":
    main()
