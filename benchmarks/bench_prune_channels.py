"""50 % channel pruning of DefectNet (L1, torch-pruning): accuracy lost after fine-tuning.

Goal: ≤ 2 points test accuracy lost after 2 fine-tune epochs. Same trained DefectNet, data set and cache as
``bench_prune_remove_layers.py`` (the first of the two to run trains and caches it). Prints one JSON object.
"""

from __future__ import annotations

import os
import tempfile
import time
from pathlib import Path

from _common import report
from bench_prune_remove_layers import defect_splits, figures, project_with, trained_defectnet

RATIO = 0.5
FINETUNE_EPOCHS = 2


def main() -> None:
    import torch

    from foldwise.core.prune.stage import PruneSpec, prune_iteration

    splits = defect_splits()
    model, trained = trained_defectnet(splits)
    with tempfile.TemporaryDirectory() as tmp, project_with(model, Path(tmp) / "bench") as project:
        started = time.monotonic()
        spec = PruneSpec(ratio=RATIO, criterion="l1", finetune_epochs=FINETUNE_EPOCHS)
        iteration = prune_iteration(project, spec, splits=splits)
        seconds = time.monotonic() - started
        numbers = figures(iteration)
        widths = iteration.change["channels"]["widths"]
    before, after = numbers["before"], numbers["after"]
    loss_points = (before["accuracy"] - after["accuracy"]) * 100
    report_widths = {name: pair for name, pair in widths.items() if pair[0] != pair[1]}
    report(
        "defectnet_channels_50pct",
        {"accuracy_loss_points": round(loss_points, 2), "params_cut": round(1 - after["params"] / before["params"], 4)},
        "accuracy loss <= 2 points after 2 fine-tune epochs at 50 % channels (L1)",
        loss_points <= 2.0,
        ratio=RATIO,
        criterion="l1",
        protected=iteration.change["channels"]["protected"],
        widths=report_widths,
        finetune_epochs=FINETUNE_EPOCHS,
        **numbers,
        macs_cut=round(1 - after["macs"] / before["macs"], 4),
        prune_and_finetune_seconds=round(seconds, 1),
        trained=trained,
        test_images=len(splits.test),
        threads=torch.get_num_threads(),
        load_avg_1min=round(os.getloadavg()[0], 2),
    )


if __name__ == "__main__":
    main()
