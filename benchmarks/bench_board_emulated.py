"""The emulated board end to end: DefectNet W4A4 deployed with `board emulate`, validated and profiled there.

A defect-demo project over 600 generated crops (DefectNet trained 8 epochs, W4A4 PTQ on 64 images), FINN's
estimate build, then `foldwise board emulate` (an sshd of this account on 127.0.0.1) and the Deploy stage:
the throughput test at batch 1 and 10 and validation on the whole test split. Goal (issue #11): the emulated
board's validation accuracy equals the host's quantized (Brevitas) accuracy on the same images, every image
classified alike; the profile puts FINN's estimate next to the emulated figures. Emulated times are those of
FINN's Python model of the hardware on this machine, not of a Z2.
"""

from __future__ import annotations

import os
import sys
import tempfile
import time
from pathlib import Path

from _common import REPO, report

sys.path.insert(0, str(REPO))


def main() -> None:
    with tempfile.TemporaryDirectory(prefix="foldwise-bench-board-") as tmp:
        root = Path(tmp)
        os.environ["FOLDWISE_CONFIG_DIR"] = str(root / "config")
        from foldwise.core.board.deploy import DeploySpec, deploy
        from foldwise.core.board.emulate import start_emulated_board, stop_emulated_board
        from foldwise.core.finn.build_config import BuildConfig
        from foldwise.core.finn.stage import build
        from foldwise.core.project import Project
        from tests.defect_project import make_defect_project

        started = time.perf_counter()
        path = make_defect_project(root / "defects", root / "crops", quantize=True, n=600)
        with Project.open(path) as project:
            estimate = build(project, BuildConfig())
        prepared = time.perf_counter() - started
        start_emulated_board("bench-emu")
        try:
            with Project.open(path) as project:
                result = deploy(project, DeploySpec("bench-emu", batches=(1, 10), validate=True, images=0))
        finally:
            stop_emulated_board("bench-emu")
    throughput, validation = result.runs
    f, v = throughput.figures, validation.figures
    same = v["accuracy"].value == v["host_accuracy"].value and v["agreement"].value == 1.0
    report("emulated board: validation accuracy vs host quantized accuracy (DefectNet W4A4)",
           {"emulated_accuracy": v["accuracy"].value, "host_accuracy": v["host_accuracy"].value,
            "agreement": v["agreement"].value},
           "emulated accuracy == host quantized accuracy, agreement 1.0", same,
           images=validation.info["images"],
           profile={name: {"value": fig.value, "unit": fig.unit, "source": fig.source} for name, fig in f.items()},
           per_batch=throughput.rows, estimate_fps=estimate.fps.value if estimate.fps else None,
           push_mb_per_s=round(result.push.mb_per_s, 2), setup_seconds=round(prepared, 1),
           note="emulated: FINN's Python model of the dataflow hardware on this machine, not Z2 timing")


if __name__ == "__main__":
    main()
