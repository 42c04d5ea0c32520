"""Train LeNet-5 on the shipped digits (1×32×32, 10 classes) and report test accuracy and time.

Goal: test accuracy ≥ 0.97. Prints one JSON object. ``FOLDWISE_BENCH_CONFIG`` (JSON) overrides TrainConfig.
"""

from __future__ import annotations

import json
import os
import sys
import time

from _common import report
from foldwise.core.networks.train import evaluate, recommended_config, train
from foldwise.core.networks.zoo import ZOO, build

GOAL_ACCURACY = 0.97


def _splits():
    from foldwise.core.data import digits

    return digits.load_digits_splits()


def main() -> None:
    t0 = time.monotonic()
    splits = _splits()
    data_s = time.monotonic() - t0
    entry = ZOO["lenet5"]
    config = recommended_config("lenet5", **json.loads(os.environ.get("FOLDWISE_BENCH_CONFIG", "{}")))
    cpu0 = time.process_time()
    result = train(build("lenet5"), splits.train, splits.val, config, spec=entry.spec,
                   on_epoch=lambda r: print(r, file=sys.stderr, flush=True))
    cpu_s = time.process_time() - cpu0
    test = evaluate(result.model, splits.test, spec=entry.spec)
    report("LeNet5 on digits", round(test.accuracy, 4), "≥ 97 %", test.accuracy >= GOAL_ACCURACY,
           measured=f"{100 * test.accuracy:.1f} % in {result.seconds:.0f} s ({len(result.history)} epochs)",
           train_seconds=round(result.seconds, 1), train_cpu_seconds=round(cpu_s, 1), data_seconds=round(data_s, 1),
           epochs_run=len(result.history), best_epoch=result.best_epoch, best_val_accuracy=result.best_val_acc,
           sizes=[len(splits.train), len(splits.val), len(splits.test)], config=config.to_dict(),
           threads=result.threads)


if __name__ == "__main__":
    main()
