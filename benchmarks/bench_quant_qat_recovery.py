"""Figure: what two QAT epochs recover after W4A4 post-training quantization, the first remedy the Quantize stage
suggests when PTQ loses accuracy (core/quantize/advice.py), on a residual network and two chains.

Each network is trained once (``--epochs``, the zoo's recommended settings) on its shipped data set, quantized
W4A4 with the defaults on 256 calibration images, and then trained two epochs with quantization in the loop
(QAT at its defaults, best validation epoch kept). Test accuracy is measured after PTQ and after QAT. Passes when
QAT is at least as accurate as PTQ on every network, within half a point (LeNet-5's 270 test images resolve 0.37).
"""

from __future__ import annotations

import tempfile
import time
from pathlib import Path

from _common import report  # also puts app/ on sys.path
from _zoo_trained import accuracy_line, arguments, train_zoo

CALIBRATION = 256
QAT_EPOCHS = 2
TOLERANCE = 0.005


def run_one(arch: str, epochs: int, tmp: Path) -> dict:
    from foldwise.core.quantize.config import QuantConfig
    from foldwise.core.quantize.ptq import quantize_network
    from foldwise.core.quantize.qat import qat
    from foldwise.core.quantize.validate import accuracy

    trained = train_zoo(arch, epochs, tmp / "cache")
    splits = trained.splits
    config = QuantConfig(weight_bits=4, act_bits=4, calib_images=CALIBRATION)
    network = quantize_network(trained.model, splits.train.images[:CALIBRATION], config, spec=trained.entry.spec,
                               collect_stats=False).network
    ptq = round(accuracy(network, splits.test.images, splits.test.labels), 4)
    start = time.monotonic()
    qat(network, splits.train.images, splits.train.labels, QAT_EPOCHS, val=(splits.val.images, splits.val.labels),
        patience=QAT_EPOCHS)
    seconds = round(time.monotonic() - start, 1)
    after = round(accuracy(network, splits.test.images, splits.test.labels), 4)
    return {**trained.row, "w4a4": {"ptq": ptq, f"qat{QAT_EPOCHS}": after}, "qat_s": seconds,
            "pass": after >= ptq - TOLERANCE}


def main() -> None:
    args = arguments(__doc__.splitlines()[0])
    tmp = Path(tempfile.mkdtemp(prefix="bench-qat-recovery-"))
    rows = [run_one(arch, args.epochs, tmp) for arch in args.arch]
    report(f"W4A4 test accuracy after PTQ and after {QAT_EPOCHS} QAT epochs ({' / '.join(args.arch)}; "
           f"{args.epochs} training epochs, {CALIBRATION} calibration images)",
           [r["w4a4"] for r in rows], f"QAT ≥ PTQ − {TOLERANCE:.1%} on every network", all(r["pass"] for r in rows),
           measured="; ".join(f"{accuracy_line(r)}, QAT {r['qat_s']} s" for r in rows), networks=rows)


if __name__ == "__main__":
    main()
