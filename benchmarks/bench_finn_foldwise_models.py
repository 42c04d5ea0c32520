"""Figures on Foldwise's own networks through FINN (Pynq-Z2 @ 100 MHz, all "estimated" by finn-plus):

- LeNet5 W4A4: auto-fit FPS within 85 % of the Z2's LUT/BRAM (goal >= 25,000 FPS);
- DefectNet W4A4: warm re-estimate after a folding edit (goal <= 2 s median) and auto-fit vs FINN's swept
  SetFolding within the same budget (goal >= 1.2x), side by side in one run.

The networks are quantized with Foldwise's PTQ (calibrated on 64 images of their shipped data) and exported
as FINN-ready QONNX. FINN's estimates depend only on the graph and bit widths, not on trained weight values,
so the networks are not trained here.
"""

from __future__ import annotations

import statistics
import tempfile
import time
from pathlib import Path

from _common import figure, report
from foldwise.core.data.registry import get_dataset_splits
from foldwise.core.finn import build
from foldwise.core.finn.autofit import autofit
from foldwise.core.finn.worker import FinnWorker
from foldwise.core.networks.zoo import ZOO
from foldwise.core.quantize.config import QuantConfig
from foldwise.core.quantize.export import export_qonnx_file
from foldwise.core.quantize.ptq import quantize_network

CACHE = Path.home() / ".cache" / "foldwise-bench"


def qonnx(arch: str, folder: Path, bits: int = 4) -> Path:
    entry = ZOO[arch]
    splits = get_dataset_splits(entry.spec.dataset, CACHE / "data", seed=0)
    images = splits.train.images[:64]
    result = quantize_network(entry.build(), images, QuantConfig(weight_bits=bits, act_bits=bits, calib_images=64),
                              spec=entry.spec, collect_stats=False)
    path = folder / f"{arch}_w{bits}a{bits}.onnx"
    export_qonnx_file(result.network, path)
    return path


def side(report) -> dict:
    return {"fps": round(report.fps.value, 1), "source": report.fps.source, "bottleneck": report.bottleneck,
            **{k: f.value for k, f in report.resources.items()}, "utilization_pct": report.utilization_pct}


def warm_reestimate(model: Path, worker: FinnWorker, n: int = 9) -> list[float]:
    base = build.estimate(model, target_fps=1000, worker=worker, build_dir=model.parent / "defect-base")
    nodes = {node["name"]: node for node in build.hw_nodes(model, worker=worker).nodes}
    folding = dict(base.folding)
    build.reestimate(model, folding, worker=worker)
    editable = [name for name in nodes if name.startswith("MVAU") and len(nodes[name]["legal"].get("PE", [])) > 1]
    times = []
    for i in range(n):
        name = editable[i % len(editable)]
        legal = nodes[name]["legal"]["PE"]
        at = legal.index(folding[name]["PE"])
        folding = {**folding, name: {**folding[name], "PE": legal[at + 1] if at + 1 < len(legal) else legal[at - 1]}}
        start = time.monotonic()
        build.reestimate(model, folding, worker=worker)
        times.append(time.monotonic() - start)
    return times


def main() -> None:
    tmp = Path(tempfile.mkdtemp(prefix="bench-finn-fw-"))
    lenet, defect = qonnx("lenet5", tmp), qonnx("defectnet", tmp)
    with FinnWorker(state_dir=tmp / "worker") as worker:
        lenet_fit = autofit(lenet, worker=worker, baseline=False)
        times = warm_reestimate(defect, worker)
        start = time.monotonic()
        defect_fit = autofit(defect, worker=worker)
        autofit_seconds = time.monotonic() - start
    lenet_fps = lenet_fit.report.fps.value
    median = statistics.median(times)
    ratio = defect_fit.ratio or 0.0
    lut, bram = (lenet_fit.report.utilization_pct.get(k) or 0.0 for k in ("LUT", "BRAM_18K"))
    baseline = defect_fit.baseline
    figures = [
        figure("Warm re-estimate after a folding edit (DefectNet W4A4)", "≤ 2 s median",
               f"{median:.2f} s median of {len(times)}", median <= 2.0),
        figure("Auto-fit vs FINN SetFolding swept, 85 % LUT/BRAM (DefectNet W4A4)", "≥ 1.2×",
               f"{defect_fit.report.fps.value:,.0f} vs {baseline.fps.value:,.0f} FPS ({ratio:.2f}×)" if baseline
               else f"{defect_fit.report.fps.value:,.0f} FPS; no SetFolding result fits the budget", ratio >= 1.2),
        figure("LeNet5 W4A4 auto-fit on the Z2 @ 100 MHz", "≥ 25,000 FPS",
               f"{lenet_fps:,.0f} FPS ({lut:.0f} % LUT, {bram:.0f} % BRAM18)",
               lenet_fps >= 25000),
    ]
    report(
        "FINN on Foldwise's networks (DefectNet W4A4, LeNet5 W4A4)",
        {"defectnet_w4a4_reestimate_s": round(median, 3), "defectnet_w4a4_autofit_ratio": round(ratio, 3),
         "lenet5_w4a4_autofit_fps": round(lenet_fps, 1)},
        "see figures", all(f["pass"] for f in figures), figures=figures,
        how="python benchmarks/bench_finn_foldwise_models.py; Pynq-Z2 @ 100 MHz, budget 85 % LUT/BRAM18; "
            "estimates by finn-plus (source: estimated)",
        lenet_autofit=side(lenet_fit.report), defect_autofit=side(defect_fit.report),
        defect_setfolding_best=side(baseline) if baseline else None,
        defect_setfolding_best_target_fps=defect_fit.baseline_target_fps,
        reestimate_runs_s=[round(t, 3) for t in times],
        defect_autofit_seconds=round(autofit_seconds, 1),
    )


if __name__ == "__main__":
    main()
