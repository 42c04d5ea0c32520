"""Demo pipeline overhead and drops, host-quantized DefectNet on 640×480 conveyor frames, side by side in one run.

1. The bare backend: 500 pre-cut conveyor crops through ``HostQuantizedBackend.infer`` one at a time (frames/s).
2. The full pipeline, the product's ``run_pipeline`` (capture → ROI → resize → infer → annotate), on the
   conveyor at 1e6 FPS (always a frame due: the pipeline runs as fast as it can), ``FRAMES`` processed frames,
   with one request in flight (``window`` 1: infer, then annotate, all in one thread), with two (the backend's
   ``run`` on a worker thread while the pipeline's thread captures, cuts and ``prepare``s the next frame and
   annotates the last) and as by default (the pipeline times chunks of frames at 1 and 2 and keeps the faster;
   those probe chunks are in the figure), with the float network classifying a frame every 0.5 s beside it
   for the agreement figure, as ``run_demo`` does: processed FPS, its ratio to (1), and the ms per frame
   outside inference (capture, cut and resize, annotate, output).
3. The conveyor paced at 120 FPS (below the backend's throughput) for 2,000 processed frames, the agreement
   check beside it as in (2): frames dropped.

Same work on both sides: one ONNX Runtime session per side with one intra-op thread (the backend's default),
the same QCDQ file, the same crop size. The conveyor's belt is drawn once before the run; a frame is a window
copied out of it (a camera's frames arrive by DMA without host CPU; here the copy is the capture and counted),
so what is timed is the pipeline, not the drawing of synthetic parts. Frames that come due while the
pipeline is busy are dropped and counted as in any run; nothing queues.

Each round also reports how many cores other processes kept busy meanwhile (``/proc/stat`` less this
process's own CPU time): the overlap needs the second core.

(1) and (2) are measured as ``ROUNDS`` adjacent rounds (bare, window 1, 2, default, bare) and the ratios are of
each round's own bare figure (the mean of the two around it): the machine is shared, and its load moves within
seconds, so a bare figure taken a minute earlier is another machine. The reported ratio is the median round.
The overlap needs the second core: with another process on it the two threads share one core and the
pipeline falls back to the sum of its stages (window 1, about 0.75×); the load is in each round.

Goals (issue #12): the pipeline reaches >= 90 % of the bare backend (<= 1.5 ms per frame outside inference);
processed FPS of host-quantized >= 240; 0 frames dropped over 2,000 frames at 120 FPS. Speed does not depend on
the weights, so the network is DefectNet as built (untrained), W4A4 PTQ on 64 generated crops. All measured.
"""

from __future__ import annotations

import os
import statistics
import tempfile
import time
from pathlib import Path

from _common import report

FRAMES = int(os.environ.get("FOLDWISE_BENCH_OVERHEAD_FRAMES", 3000))
ROUNDS = int(os.environ.get("FOLDWISE_BENCH_OVERHEAD_ROUNDS", 5))
PACED_FRAMES = 2000
PACED_FPS = 120.0
WINDOWS = (1, 2, None)  # None: the default, the pipeline measures which of 1 and 2 is faster


def cpu_counters() -> tuple[float, float, float]:
    """(CPU seconds the whole machine spent busy, this process's CPU seconds, wall seconds) so far."""
    with open("/proc/stat", encoding="ascii") as stat:
        fields = [int(v) for v in stat.readline().split()[1:]]
    busy = sum(fields[:3]) + sum(fields[5:8])  # user nice system, irq softirq steal (not idle, iowait)
    own = os.times()
    return busy / os.sysconf("SC_CLK_TCK"), own.user + own.system, time.perf_counter()


def others_cores(start: tuple[float, float, float], end: tuple[float, float, float]) -> float:
    """Cores other processes kept busy on average between two :func:`cpu_counters` (0: the machine was ours)."""
    wall = end[2] - start[2]
    return round(max(0.0, (end[0] - start[0]) - (end[1] - start[1])) / wall, 2) if wall > 0 else 0.0


def name(window: int | None) -> str:
    return "measured" if window is None else str(window)


def main() -> None:
    from foldwise.core.data.defects import generate_defect_set
    from foldwise.core.demo.backends import DEFAULT_THREADS, HostFloatBackend, HostQuantizedBackend
    from foldwise.core.demo.pipeline import DemoSpec, preprocess, run_pipeline
    from foldwise.core.demo.roi import Roi
    from foldwise.core.demo.sources import ConveyorSource
    from foldwise.core.networks.zoo import build, get_entry
    from foldwise.core.quantize import QuantConfig, quantize_network
    from foldwise.core.quantize.export import export_qcdq_file

    spec = get_entry("defectnet").spec
    data = generate_defect_set(64, seed=3)
    float_model = build("defectnet")
    network = quantize_network(
        build("defectnet"),
        data.images,
        QuantConfig(weight_bits=4, act_bits=4, calib_images=64),
        spec=spec,
        collect_stats=False,
    ).network
    with tempfile.TemporaryDirectory(prefix="foldwise-bench-overhead-") as tmp:
        path = export_qcdq_file(network, Path(tmp) / "defectnet.qcdq.onnx")
        source = ConveyorSource(fps=1e6, speed=13e6)
        box = Roi.default(*source.size).pixels(*source.size)
        crops = [preprocess(source.read().image, box, spec.shape) for _ in range(500)]
        source.close()
        bare_backend = HostQuantizedBackend(path, spec.shape)
        for crop in crops[:50]:
            bare_backend.infer(crop)

        def bare() -> float:
            started = time.perf_counter()
            for crop in crops:
                bare_backend.infer(crop)
            return len(crops) / (time.perf_counter() - started)

        def pipeline(window: int) -> dict:
            result = run_pipeline(
                ConveyorSource(fps=1e6),
                HostQuantizedBackend(path, spec.shape),
                Roi.default(640, 480),
                DemoSpec(frames=FRAMES, window=window),
                PACED_FPS,
                reference=HostFloatBackend(float_model, spec),  # run_demo's agreement check, as in any run
            )
            s = result.stats
            stage_ms = {k: v["value"] for k, v in s["stage_ms"].items()}
            return {
                "window": result.backend["window"],
                "fps": s["processed_fps"]["value"],
                "stage_ms": stage_ms,
                "outside_ms": round(sum(v for k, v in stage_ms.items() if k != "inference"), 3),
                "frames": s["frames_processed"]["value"],
                "agreement_frames": s["agreement"]["frames"],
            }

        rounds = []
        for _ in range(ROUNDS):
            start = cpu_counters()
            before = bare()
            runs = {w: pipeline(w) for w in WINDOWS}
            after = bare()
            base = (before + after) / 2
            rounds.append(
                {
                    "bare_fps": round(base, 1),
                    "load_avg_1min": round(os.getloadavg()[0], 2),
                    "other_processes_cores": others_cores(start, cpu_counters()),
                    **{f"window_{name(w)}": {**r, "vs_bare": round(r["fps"] / base, 3)} for w, r in runs.items()},
                }
            )
        paced = run_pipeline(
            ConveyorSource(fps=PACED_FPS),
            HostQuantizedBackend(path, spec.shape),
            Roi.default(640, 480),
            DemoSpec(frames=PACED_FRAMES, seconds=PACED_FRAMES / PACED_FPS * 3),
            PACED_FPS,
            reference=HostFloatBackend(float_model, spec),
        ).stats

    def median(key: str, window: int | None) -> float:
        return statistics.median(r[f"window_{name(window)}"][key] for r in rounds)

    by_window = {name(w): {"vs_bare": round(median("vs_bare", w), 3), "ms_outside_inference":
                           round(median("outside_ms", w), 3), "processed_fps": round(median("fps", w), 1)}
                 for w in WINDOWS}
    default = by_window["measured"]
    dropped = paced["frames_dropped"]["value"]
    passed = (default["vs_bare"] >= 0.9 and default["ms_outside_inference"] <= 1.5
              and default["processed_fps"] >= 240 and dropped == 0)
    report("demo pipeline overhead (host-quantized DefectNet, 640×480 conveyor) and drops at 120 FPS",
           {"pipeline_vs_bare": default["vs_bare"], "ms_outside_inference": default["ms_outside_inference"],
            "processed_fps": default["processed_fps"], "dropped_at_120fps": dropped},
           ">= 0.90 of bare, <= 1.5 ms outside inference, >= 240 FPS processed, 0 dropped of 2,000 at 120 FPS "
           "(the default: the window the pipeline measures faster)", passed,
           by_window=by_window, windows_chosen=[r["window_measured"]["window"] for r in rounds],
           bare_backend_fps=statistics.median(r["bare_fps"] for r in rounds), frames_per_run=FRAMES,
           onnxruntime_intra_op_threads=DEFAULT_THREADS, rounds=rounds,
           paced={"frames_processed": paced["frames_processed"]["value"],
                  "frames_captured": paced["frames_captured"]["value"],
                  "processed_fps": paced["processed_fps"]["value"], "verdict": paced["verdict"],
                  "agreement_frames": paced["agreement"]["frames"]},
           note="medians of adjacent rounds; measured on 2 cores shared with other work (load in each round)",
           source="measured")


if __name__ == "__main__":
    main()
