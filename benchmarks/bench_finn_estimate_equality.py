"""Figure: Foldwise's FINN estimate (through the worker) equals finn-plus run directly with the same config.

TFC-w1a1 (target 100k FPS) and CNV-w1a1 (target 5k FPS) from Brevitas's bnn_pynq zoo, Pynq-Z2 @ 100 MHz.
Also times the estimate cold (worker start + FINN import included), warm (same worker, next build) and direct
(a fresh process, as FINN is run by hand). Prints one JSON object.
"""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from _common import REPO, report
from foldwise.core.finn import build
from foldwise.core.finn.worker import FinnWorker
from foldwise.core.finn.zoo import export_zoo_model

DIRECT = REPO / "tests" / "core" / "finn" / "direct_finn.py"
REPORTS = ("estimate_network_performance.json", "estimate_layer_cycles.json", "estimate_layer_resources.json",
           "op_and_param_counts.json", "auto_folding_config.json")
CASES = {"tfc_1w1a": 100_000, "cnv_1w1a": 5_000}


def main() -> None:
    tmp = Path(tempfile.mkdtemp(prefix="bench-finn-eq-"))
    per_model, timings = {}, {}
    with FinnWorker(state_dir=tmp / "worker") as worker:
        for name, fps in CASES.items():
            model = export_zoo_model(name, tmp / f"{name}.onnx")
            t0 = time.monotonic()
            rep = build.estimate(model, target_fps=fps, build_dir=tmp / f"{name}-fw", worker=worker)
            first = time.monotonic() - t0
            t0 = time.monotonic()
            build.estimate(model, target_fps=fps, build_dir=tmp / f"{name}-fw2", worker=worker)
            warm = time.monotonic() - t0
            t0 = time.monotonic()
            subprocess.run([sys.executable, str(DIRECT), str(model), str(tmp / f"{name}-direct"), "Pynq-Z2",
                            "10.0", "--target-fps", str(fps)], check=True, capture_output=True)
            direct = time.monotonic() - t0
            same = {r: json.loads((tmp / f"{name}-fw" / "report" / r).read_text())
                    == json.loads((tmp / f"{name}-direct" / "report" / r).read_text()) for r in REPORTS}
            per_model[name] = {
                "identical": all(same.values()), "reports_compared": same,
                "fps_estimated": round(rep.fps.value, 1), "bottleneck": rep.bottleneck,
                "LUT": rep.resources["LUT"].value, "BRAM_18K": rep.resources["BRAM_18K"].value,
                "DSP": rep.resources["DSP"].value, "cpu_nodes": [n["name"] for n in rep.cpu_nodes],
            }
            timings[name] = {"first_in_worker_s": round(first, 2), "warm_worker_s": round(warm, 2),
                             "direct_process_s": round(direct, 2)}
    same = all(m["identical"] for m in per_model.values())
    report(
        "TFC-w1a1 and CNV-w1a1 estimates vs finn-plus run directly", same, "equal",
        same, measured="all report JSONs identical" if same else "reports differ: " + ", ".join(
            name for name, m in per_model.items() if not m["identical"]),
        how="Brevitas zoo models (random weights) exported to QONNX; estimate_only_dataflow_steps on Pynq-Z2 "
            "@ 10 ns with target_fps, once via foldwise.core.finn.build.estimate (worker), once via a plain "
            "python process calling build_dataflow_cfg; report JSONs compared for equality. The first "
            "in-worker time includes the worker start and FINN import (TFC runs first).",
        models=per_model, timings=timings,
    )


if __name__ == "__main__":
    main()
