"""Figures on Foldwise's own networks through FINN (Pynq-Z2 @ 100 MHz, all "estimated" by finn-plus):

- LeNet5 W4A4: auto-fit FPS within 85 % of the Z2's LUT/BRAM (goal >= 25,000 FPS);
- DefectNet W4A4: warm re-estimate after a folding edit (goal <= 2 s median) and auto-fit vs FINN's swept
  SetFolding within the same budget (goal >= 1.2x), side by side in one run.

The networks are quantized with Foldwise's PTQ (calibrated on 64 images of their shipped data) and exported
as FINN-ready QONNX. FINN's estimates depend only on the graph and bit widths, not on trained weight values,
so the networks are not trained here.
"""

from __future__ import annotations

import json
import statistics
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "app"))

from foldwise.core.data.registry import get_dataset_splits  # noqa: E402
from foldwise.core.finn import build  # noqa: E402
from foldwise.core.finn.autofit import autofit  # noqa: E402
from foldwise.core.finn.worker import FinnWorker  # noqa: E402
from foldwise.core.networks.zoo import ZOO  # noqa: E402
from foldwise.core.quantize.config import QuantConfig  # noqa: E402
from foldwise.core.quantize.export import export_qonnx_file  # noqa: E402
from foldwise.core.quantize.ptq import quantize_network  # noqa: E402

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
    figures = {
        "lenet5_w4a4_autofit_fps": {"value": round(lenet_fps, 1), "goal": ">= 25000", "pass": lenet_fps >= 25000,
                                    "autofit": side(lenet_fit.report)},
        "defectnet_w4a4_reestimate_s": {"value": round(median, 3), "goal": "<= 2 s median", "pass": median <= 2.0,
                                        "runs_s": [round(t, 3) for t in times]},
        "defectnet_w4a4_autofit_ratio": {
            "value": round(ratio, 3), "goal": ">= 1.2", "pass": ratio >= 1.2,
            "autofit": side(defect_fit.report),
            "setfolding_best": side(defect_fit.baseline) if defect_fit.baseline else None,
            "setfolding_best_target_fps": defect_fit.baseline_target_fps,
            "seconds": round(autofit_seconds, 1),
        },
    }
    print(json.dumps({
        "figure": "finn_on_foldwise_networks",
        "value": {k: v["value"] for k, v in figures.items()},
        "goal": {k: v["goal"] for k, v in figures.items()},
        "pass": all(v["pass"] for v in figures.values()),
        "how": "python benchmarks/bench_finn_foldwise_models.py; Pynq-Z2 @ 100 MHz, budget 85 % LUT/BRAM18; "
               "estimates by finn-plus (source: estimated)",
        "figures": figures,
    }, indent=2, default=str))


if __name__ == "__main__":
    main()
