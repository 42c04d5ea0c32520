"""Train DefectNet on the generated defect set (default splits) and report test accuracy and time.

Goal: test accuracy ≥ 0.95 within 180 s of CPU training on 2 cores. Prints one JSON object.
"""

from __future__ import annotations

import json
import os
import sys
import time

from _common import report
from foldwise.core.data.defects import generate_defect_splits
from foldwise.core.networks.train import evaluate, recommended_config, train
from foldwise.core.networks.zoo import ZOO, build

GOAL_ACCURACY = 0.95
BUDGET_S = 180.0


def main() -> None:
    t0 = time.monotonic()
    splits = generate_defect_splits(seed=0)
    data_s = time.monotonic() - t0
    entry = ZOO["defectnet"]
    config = recommended_config("defectnet", **json.loads(os.environ.get("FOLDWISE_BENCH_CONFIG", "{}")))
    cpu0 = time.process_time()
    result = train(build("defectnet"), splits.train, splits.val, config, spec=entry.spec,
                   on_epoch=lambda r: print(r, file=sys.stderr, flush=True))
    cpu_s = time.process_time() - cpu0
    test = evaluate(result.model, splits.test, spec=entry.spec)
    passed = test.accuracy >= GOAL_ACCURACY and result.seconds <= BUDGET_S
    report("DefectNet test accuracy, CPU training time", round(test.accuracy, 4), "≥ 95 % in ≤ 3 min", passed,
           measured=f"{100 * test.accuracy:.1f} % in {result.seconds:.0f} s ({len(result.history)} epochs)",
           train_seconds=round(result.seconds, 1), train_cpu_seconds=round(cpu_s, 1), budget_seconds=BUDGET_S,
           data_seconds=round(data_s, 1), epochs_run=len(result.history), best_epoch=result.best_epoch,
           best_val_accuracy=result.best_val_acc, sizes=[len(splits.train), len(splits.val), len(splits.test)],
           config=config.to_dict(), threads=result.threads)


if __name__ == "__main__":
    main()
