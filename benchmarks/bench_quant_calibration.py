"""Calibration cost on 512 images: bare Brevitas calibration vs calibration with Foldwise histograms.

Prints one JSON object. Goal: with histograms ≤ 5 s on 2 cores, and histograms add ≤ 15 %. Runs are
interleaved (bare, with, bare, ...) and the median of each is reported, so a noisy shared machine hits
both equally. The network is an untrained DefectNet (3×64×64; timing does not depend on training).
"""

from __future__ import annotations

import argparse
import os
import statistics
import time

from _common import report  # also puts app/ on sys.path


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--arch", default="defectnet")
    parser.add_argument("--images", type=int, default=512)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--threads", type=int, default=2)
    args = parser.parse_args()

    import torch

    from foldwise.core.networks.zoo import get_entry
    from foldwise.core.quantize import QuantConfig, calibrate, prepare
    from foldwise.core.quantize.stats import ActivationCollector, weight_stats

    torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    entry = get_entry(args.arch)
    model = entry.build().eval()
    images = torch.randint(0, 256, (args.images, *entry.spec.shape), dtype=torch.uint8)
    config = QuantConfig(calib_images=args.images)

    def run(with_stats: bool) -> float:
        network = prepare(model, config, entry.spec.shape, entry.spec)
        start = time.perf_counter()
        if with_stats:
            collector = ActivationCollector()
            calibrate(network, images, collector=collector)
            stats = collector.finish(network)
            stats.entries.extend(weight_stats(network))
        else:
            calibrate(network, images)
        return time.perf_counter() - start

    run(False)  # warm-up: first-call allocations and lazy imports
    bare, hist = [], []
    for _ in range(args.repeats):
        bare.append(run(False))
        hist.append(run(True))
    bare_s, hist_s = statistics.median(bare), statistics.median(hist)
    overhead = 100 * (hist_s - bare_s) / bare_s
    report(f"calibration of {args.arch} on {args.images} images with histograms (s)", round(hist_s, 3),
           "≤ 5 s; ≤ 15 %", hist_s <= 5.0 and overhead <= 15.0,
           measured=f"{hist_s:.2f} s; {overhead:+.1f} % (median of {args.repeats})",
           bare_seconds=round(bare_s, 3), overhead_percent=round(overhead, 1), threads=args.threads,
           runs={"bare": bare, "hist": hist}, source="measured", load_avg_1min=round(os.getloadavg()[0], 2))


if __name__ == "__main__":
    main()
