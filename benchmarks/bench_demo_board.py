"""The demo on the emulated board: agreement of host float, host quantized and the board on the same 500 crops,
and live runs through the board backend side by side: requests in flight (window) and frames per request
(batch) fixed at 1/1 (one request at a time, as before), 2/1, 2/4, and the default 2/measured (the backend
alternates batch b and 2b and keeps 2b when its time per frame is 10 % lower): processed FPS, transfer and
inference per frame, the batch chosen — all emulated.

A defect-demo project over 600 generated crops (DefectNet trained 8 epochs, W4A4 PTQ on 64 images) with FINN's
estimate, `foldwise board emulate`, then: 500 crops of the synthetic conveyor (the pipeline's own ROI crop and
resize) through each backend, and `run_demo` with `board:NAME` for ``SECONDS`` (default 20) per setting. Goal
(issue #12): the board computes what the quantized network computes (agreement 100 % with host-quantized); the
live figures are reported against the 120 FPS target. Emulated times are FINN's Python model on this machine
(one image after another), not a Z2's.
"""

from __future__ import annotations

import os
import sys
import tempfile
from pathlib import Path

import numpy as np

from _common import REPO, report

sys.path.insert(0, str(REPO))
CROPS = 500
SECONDS = float(os.environ.get("FOLDWISE_BENCH_DEMO_SECONDS", 20))
TARGET = 120.0
SETTINGS = ((1, 1), (2, 1), (2, 4), (2, None))  # (window, batch); None: measured


def conveyor_crops(shape: tuple[int, int, int], count: int) -> np.ndarray:
    from foldwise.core.demo.pipeline import preprocess
    from foldwise.core.demo.roi import Roi
    from foldwise.core.demo.sources import ConveyorSource

    source = ConveyorSource(fps=1000.0)
    box = Roi.default(*source.size).pixels(*source.size)
    try:
        return np.concatenate([preprocess(source.read().image, box, shape) for _ in range(count)])
    finally:
        source.close()


def main() -> None:
    with tempfile.TemporaryDirectory(prefix="foldwise-bench-demo-board-") as tmp:
        root = Path(tmp)
        os.environ["FOLDWISE_CONFIG_DIR"] = str(root / "config")
        from foldwise.core.board.emulate import start_emulated_board, stop_emulated_board
        from foldwise.core.demo.backends import open_backend
        from foldwise.core.demo.pipeline import DemoSpec, run_demo
        from foldwise.core.finn.build_config import BuildConfig
        from foldwise.core.finn.stage import build
        from foldwise.core.project import Project
        from tests.defect_project import make_defect_project

        path = make_defect_project(root / "defects", root / "crops", quantize=True, n=600)
        with Project.open(path) as project:
            build(project, BuildConfig())
        start_emulated_board("bench-emu")
        try:
            with Project.open(path, read_only=True) as project:
                labels = {}
                for name in ("host-float", "host-quantized", "board:bench-emu"):
                    backend = open_backend(project, name)
                    try:
                        crops = conveyor_crops(backend.shape, CROPS)
                        labels[name] = np.concatenate([backend.infer(crops[i:i + 50])[0]
                                                       for i in range(0, CROPS, 50)])
                    finally:
                        backend.close()
                live = {f"window {w}, batch {b or 'measured'}": run_demo(
                    project, DemoSpec(source="synthetic", backend="board:bench-emu", seconds=SECONDS, window=w,
                                      batch=b)) for w, b in SETTINGS}
        finally:
            stop_emulated_board("bench-emu")
    agree = {f"{a} vs {b}": float((labels[a] == labels[b]).mean())
             for a, b in (("host-quantized", "board:bench-emu"), ("host-float", "host-quantized"),
                          ("host-float", "board:bench-emu"))}
    runs = {name: {"processed_fps": r.stats["processed_fps"]["value"],
                   "frames_processed": r.stats["frames_processed"]["value"],
                   "frames_dropped": r.stats["frames_dropped"]["value"],
                   "stage_ms": {k: v["value"] for k, v in r.stats["stage_ms"].items()},
                   "latency_p50_ms": r.stats["latency_ms"]["p50"]["value"], "batch": r.backend["batch"],
                   "max_requests_in_flight": r.backend["max_requests_in_flight"],
                   "ms_per_frame_by_batch": r.backend.get("ms_per_frame_by_batch"), "verdict": r.stats["verdict"],
                   "source": r.stats["processed_fps"]["source"]} for name, r in live.items()}
    report("demo on the emulated board: agreement on 500 conveyor crops, live board backend by window and batch",
           agree, "board agrees 100 % with host-quantized", agree["host-quantized vs board:bench-emu"] == 1.0,
           crops=CROPS, seconds_per_setting=SECONDS, live=runs, target_fps=TARGET,
           note="emulated: FINN's Python model of the dataflow hardware on this machine, one image after another, "
                "not Z2 timing; settings run one after another on a shared machine")


if __name__ == "__main__":
    main()
