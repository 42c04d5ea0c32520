"""Auto-fit with per-layer weight bit widths vs auto-fit of the folding alone, on DefectNet W4A4 (PTQ).

The 120 FPS story's network: the cached DefectNet with its last conv block removed (2 fine-tune epochs, as in
bench_prune_remove_layers), quantized W4A4 per-tensor on 256 calibration images; budget 85 % of the PYNQ-Z2's
LUT/BRAM/DSP at 100 MHz. FPS and resources are FINN estimates; validation accuracy is measured
(post-training, 1,000 images). Reported, no goal from an issue: the gain and what it costs in accuracy.
"""

from __future__ import annotations

import os
import tempfile
import time
from pathlib import Path

from _common import report  # also puts app/ on sys.path


def main() -> None:
    from bench_prune_remove_layers import FINETUNE_EPOCHS, REMOVE, defect_splits, project_with, trained_defectnet
    from foldwise.core.finn.bitfit import autofit_bits
    from foldwise.core.prune.stage import PruneSpec, prune_iteration
    from foldwise.core.quantize import QuantConfig, QuantizeSpec
    from foldwise.core.quantize.stage import quantize_iteration

    splits = defect_splits()
    model, _ = trained_defectnet(splits)
    with tempfile.TemporaryDirectory() as tmp:
        project = project_with(model, Path(tmp) / "project")
        with project:
            prune_iteration(project, PruneSpec(remove=REMOVE, finetune_epochs=FINETUNE_EPOCHS), splits=splits)
            quantize_iteration(project, QuantizeSpec(QuantConfig(weight_bits=4, act_bits=4, calib_images=256)))
            start = time.perf_counter()
            result = autofit_bits(project, max_loss_points=1.0)
            seconds = time.perf_counter() - start
    gain = result.gain or 1.0
    report("DefectNet without block 5, W4A4: estimated FPS, auto-fit with per-layer weight bits / folding alone",
           round(gain, 3), "reported (>= 1.0 by construction; > 1 where fewer bits buy parallelism)", gain >= 1.0,
           source="estimated", fps_folding_only=round(result.start.fps or 0, 1),
           fps_with_bits=round(result.final.fps or 0, 1),
           val_accuracy_start=result.start.accuracy, val_accuracy_final=result.final.accuracy,
           accuracy_source="measured (validation split, post-training)", weight_bits=result.weight_bits,
           trials=len(result.trials), seconds=round(seconds, 1), load_avg_1min=round(os.getloadavg()[0], 2))


if __name__ == "__main__":
    main()
