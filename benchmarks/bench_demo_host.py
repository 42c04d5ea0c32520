"""Live demo on the host: processed FPS and latency of host-float vs host-quantized DefectNet, side by side.

Both backends run the same synthetic conveyor (640×480 frames at 120 FPS, the default inspection window)
for ``SECONDS`` each through the whole pipeline (capture → ROI → resize → infer → annotate), and then classify
the same 500 conveyor crops for their agreement. The network is the trained DefectNet the prune benchmarks
cache (``FOLDWISE_BENCH_CACHE``) when it is there, else one trained for three epochs on 600 generated crops
(speed does not depend on training; the JSON says which). W4A4 PTQ on 256 images, exported by Brevitas as
QCDQ and run in ONNX Runtime as the demo's host-quantized backend does (``qcdq_session``). Goal (issue #12): the
quantized backend keeps up with 120 FPS. All figures measured.
"""

from __future__ import annotations

import os
import tempfile
import time
from pathlib import Path

from _common import report  # also puts app/ on sys.path

SECONDS = float(os.environ.get("FOLDWISE_BENCH_DEMO_SECONDS", 10))
TARGET = 120.0


def network() -> tuple[object, object, str]:
    from bench_prune_remove_layers import CACHE
    from foldwise.core.data.defects import GENERATOR_VERSION, generate_defect_set
    from foldwise.core.networks.store import load_model
    from foldwise.core.networks.train import recommended_config, train
    from foldwise.core.networks.zoo import build, get_entry

    spec = get_entry("defectnet").spec
    cached = CACHE / f"defectnet-seed0-data{GENERATOR_VERSION}-defectnet.pt"
    data = generate_defect_set(600, seed=1)
    if cached.is_file():
        return load_model(cached).model, data, f"trained DefectNet ({cached})"
    config = recommended_config("defectnet", epochs=3, batch_size=16)
    result = train(build("defectnet"), data, None, config, spec=spec)
    return result.model, data, "DefectNet trained 3 epochs on 600 generated crops (bench cache empty)"


def run(backend: object) -> dict:
    from foldwise.core.demo.pipeline import DemoSpec, run_pipeline
    from foldwise.core.demo.roi import Roi
    from foldwise.core.demo.sources import ConveyorSource

    source = ConveyorSource(fps=TARGET)
    result = run_pipeline(source, backend, Roi.default(*source.size), DemoSpec(seconds=SECONDS), TARGET)
    s = result.stats
    return {"processed_fps": s["processed_fps"]["value"], "source_fps": s["source_fps"]["value"],
            "capacity_fps": s["capacity_fps"]["value"],
            "latency_ms": {q: f["value"] for q, f in s["latency_ms"].items()},
            "stage_ms": {k: f["value"] for k, f in s["stage_ms"].items()},
            "frames_processed": s["frames_processed"]["value"], "frames_dropped": s["frames_dropped"]["value"],
            "keeps_up": s["keeps_up"], "verdict": s["verdict"], "source": "measured"}


def main() -> None:
    import numpy as np

    from foldwise.core.demo.backends import HostFloatBackend, HostQuantizedBackend
    from foldwise.core.demo.pipeline import preprocess
    from foldwise.core.demo.roi import Roi
    from foldwise.core.demo.sources import ConveyorSource
    from foldwise.core.networks.zoo import get_entry
    from foldwise.core.quantize import QuantConfig, quantize_network
    from foldwise.core.quantize.export import export_qcdq_file

    spec = get_entry("defectnet").spec
    model, data, which = network()
    quantized = quantize_network(model, data.images, QuantConfig(weight_bits=4, act_bits=4, calib_images=256),
                                 spec=spec, collect_stats=False).network
    with tempfile.TemporaryDirectory(prefix="foldwise-bench-demo-") as tmp:
        path = export_qcdq_file(quantized, Path(tmp) / "defectnet.qcdq.onnx")
        results = {}
        for name, make in (("host-float", lambda: HostFloatBackend(model, spec)),
                           ("host-quantized", lambda: HostQuantizedBackend(path, spec.shape))):
            results[name] = run(make())
        source = ConveyorSource(fps=1e6, speed=13e6)  # 13 px apart: every crop a different view
        box = Roi.default(*source.size).pixels(*source.size)
        crops = np.concatenate([preprocess(source.read().image, box, spec.shape) for _ in range(500)])
        float_backend, quant_backend = HostFloatBackend(model, spec), HostQuantizedBackend(path, spec.shape)
        start = time.perf_counter()
        float_labels = float_backend.infer(crops)[0]
        quant_labels = quant_backend.infer(crops)[0]
        float_backend.close()
        brevitas_labels = quantized(crops).argmax(1).numpy()
    agreement = {"float_vs_quantized": float((float_labels == quant_labels).mean()),
                 "onnxruntime_vs_brevitas": float((quant_labels == brevitas_labels).mean()), "frames": len(crops)}
    quant = results["host-quantized"]
    report("Live demo on the host: processed FPS, host-float vs host-quantized DefectNet at a 120 FPS conveyor",
           {name: r["processed_fps"] for name, r in results.items()},
           "host-quantized keeps up with 120 FPS (processed >= 95 % of target, no frame dropped)",
           bool(quant["keeps_up"]), source="measured", seconds_each=SECONDS, target_fps=TARGET,
           network=which, backends=results, agreement=agreement,
           agreement_seconds=round(time.perf_counter() - start, 2), load_avg_1min=round(os.getloadavg()[0], 2))


if __name__ == "__main__":
    main()
