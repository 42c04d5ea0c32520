"""Figure: auto-fit FPS / best FINN SetFolding FPS within the same budget (CNV-w1a1, Pynq-Z2 @ 100 MHz).

Budget: 85 % of the Z2's LUT (45,220) and BRAM18 (238), DSP and URAM <= 100 %. Both sides are FINN's
estimates (auto-fit's winner re-estimated by FINN in the worker; SetFolding swept over target FPS in the same
run: doubling, then 5 % steps). Goal: ratio >= 1.2.
"""

from __future__ import annotations

import tempfile
import time
from pathlib import Path

from _common import report
from foldwise.core.finn.autofit import autofit
from foldwise.core.finn.worker import FinnWorker
from foldwise.core.finn.zoo import export_zoo_model


def main() -> None:
    tmp = Path(tempfile.mkdtemp(prefix="bench-finn-autofit-"))
    model = export_zoo_model("cnv_1w1a", tmp / "cnv_w1a1.onnx")
    with FinnWorker(state_dir=tmp / "worker") as worker:
        t0 = time.monotonic()
        result = autofit(model, board="Pynq-Z2", clock_mhz=100.0, worker=worker)
        seconds = time.monotonic() - t0

    def side(rep) -> dict:
        return {"fps": round(rep.fps.value, 1), "source": rep.fps.source, "bottleneck": rep.bottleneck,
                **{k: f.value for k, f in rep.resources.items()}}

    ours, theirs = result.report, result.baseline
    measured = (f"{ours.fps.value:,.0f} vs {theirs.fps.value:,.0f} FPS ({result.ratio:.2f}×)" if theirs and result.ratio
                else f"{ours.fps.value:,.0f} FPS; no SetFolding result fits the budget")
    report(
        "Auto-fit vs FINN SetFolding swept, 85 % LUT/BRAM (CNV-w1a1)",
        round(result.ratio, 3) if result.ratio else None, "≥ 1.2×", bool(result.ratio and result.ratio >= 1.2),
        measured=measured,
        how="CNV-w1a1 (Brevitas zoo, random weights), Pynq-Z2 @ 100 MHz, budget 85 % LUT/BRAM18, 100 % "
            "DSP/URAM; auto-fit = search over FINN's per-node estimates of every legal PE/SIMD/ram_style/"
            "resType, winner re-estimated by FINN; baseline = FINN SetFolding swept over target_fps, best "
            "estimated FPS that fits; both in one run, one worker.",
        budget=result.budget, autofit=side(ours), setfolding_best=side(theirs) if theirs else None,
        setfolding_best_target_fps=result.baseline_target_fps, setfolding_points=len(result.sweep),
        seconds_total=round(seconds, 1), autofit_folding=result.folding,
    )


if __name__ == "__main__":
    main()
