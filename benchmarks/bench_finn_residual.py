"""Figure: the zoo's board-sized residual and depthwise-separable networks through W4A4 quantization and a FINN
estimate on the Pynq-Z2 @ 100 MHz: every layer on hardware, estimated FPS and resources within the board.

Each network (default ``resnet8-0.25x``, ``mobilenet-0.25x``; ``--arch`` picks others) is built from the zoo and
trained on the shipped defect set with the zoo's tuned settings (``--epochs N`` overrides their epochs: resnet 8,
mobilenet 12, under a minute each here; 0 leaves it untrained and claims no accuracy), quantized W4A4
(per-channel weight scales, 512 calibration images; test accuracy measured float and quantized), exported to
QONNX (checked bit-exact on 16 images) and estimated by FINN with SetFolding for ``--target-fps`` (default 1,000:
the published ResNet-18 Z2 figure is ~1,050 FPS). Passes when nothing but the input's NCHW→NHWC Transpose is
left on the CPU and LUT and BRAM18 stay within the board.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

from _common import report  # also puts app/ on sys.path
from foldwise.core.finn.worker import FinnWorker

CALIB_IMAGES = 512


def run_one(arch: str, epochs: int | None, target_fps: int, tmp: Path, worker: FinnWorker) -> dict:
    import torch

    from foldwise.core.data.defects import load_or_generate
    from foldwise.core.finn import build
    from foldwise.core.networks.fit import zoo_fit
    from foldwise.core.networks.train import evaluate, recommended_config, train
    from foldwise.core.networks.zoo import get_entry
    from foldwise.core.quantize.config import QuantConfig, WeightScaling
    from foldwise.core.quantize.export import check_qonnx, export_qonnx_file
    from foldwise.core.quantize.ptq import quantize_network
    from foldwise.core.quantize.validate import accuracy as validated_accuracy
    from foldwise.verbs.estimate import format_text

    splits = load_or_generate(tmp / "cache", seed=0)
    entry = get_entry(arch)
    torch.manual_seed(0)
    model = entry.build().eval()
    accuracy = None
    t0 = time.monotonic()
    training = recommended_config(arch, patience=None, **({} if epochs is None else {"epochs": max(epochs, 1)}))
    epochs = training.epochs if epochs is None else epochs
    if epochs:
        model = train(model, splits.train, splits.val, training, spec=entry.spec).model.eval()
        accuracy = evaluate(model, splits.test, spec=entry.spec).accuracy
    train_s = time.monotonic() - t0
    # per-channel weight scales (the app's default too): see bench_quant_weight_scaling for what they buy here
    config = QuantConfig(weight_bits=4, act_bits=4, calib_images=CALIB_IMAGES,
                         weight_scaling=WeightScaling.PER_CHANNEL)
    network = quantize_network(model, splits.train.images[:CALIB_IMAGES], config, spec=entry.spec,
                               collect_stats=False).network
    path = export_qonnx_file(network, tmp / f"{arch}.qonnx.onnx")
    exact = check_qonnx(network, path, splits.test.images[:16])["bit_exact"]
    quant_accuracy = validated_accuracy(network, splits.test.images, splits.test.labels) if epochs else None
    t1 = time.monotonic()
    report = build.estimate(path, target_fps=target_fps, build_dir=tmp / f"est-{arch}", worker=worker)
    estimate_s = time.monotonic() - t1
    cpu = [n["op_type"] for n in report.cpu_nodes]
    util = report.utilization_pct
    # what `foldwise estimate` prints when the design is over the board: the verdict and what to change
    verdict = next((line.split(None, 1)[1] for line in format_text(report).splitlines()
                    if line.startswith("verdict")), None)
    return {
        "arch": arch, "epochs": epochs,
        "test_accuracy": None if accuracy is None else {"value": round(accuracy, 4), "source": "measured",
                                                         "images": len(splits.test.labels)},
        "w4a4_test_accuracy": None if quant_accuracy is None else {
            "value": round(quant_accuracy, 4), "source": "measured", "images": len(splits.test.labels)},
        "weights_fit": zoo_fit(arch),
        "qonnx_bit_exact": exact,
        "shared_quantizer_groups": len(network.shared),
        "all_shared": all(g["shared"] for g in network.shared),
        "fps": {"value": round(report.fps.value, 1), "source": report.fps.source, "target_fps": target_fps},
        "latency_us": round(report.latency_ns.value / 1000, 1),
        "bottleneck": report.bottleneck,
        "resources": {k: f.value for k, f in report.resources.items()},
        "utilization_pct": {k: (round(v, 1) if v is not None else None) for k, v in util.items()},
        "cpu_nodes": cpu, "hw_nodes": len(report.node_cycles),
        "hw_ops": sorted({name.rsplit("_", 2)[0] for name in report.node_cycles}),
        "streamlining": report.streamlining, "verdict": verdict,
        "seconds": {"train": round(train_s, 1), "estimate": round(estimate_s, 1)},
        "pass": cpu == ["Transpose"] and exact and all((util.get(k) or 0) <= 100 for k in ("LUT", "BRAM_18K")),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--arch", nargs="+", default=["resnet8-0.25x", "mobilenet-0.25x"])
    parser.add_argument("--epochs", type=int, help="training epochs (default: each network's recommended)")
    parser.add_argument("--target-fps", type=int, default=1000)
    args = parser.parse_args()

    tmp = Path(tempfile.mkdtemp(prefix="bench-finn-residual-"))
    with FinnWorker(state_dir=tmp / "worker") as worker:
        rows = [run_one(arch, args.epochs, args.target_fps, tmp, worker) for arch in args.arch]
    def line(r: dict) -> str:
        util = r["utilization_pct"]
        accuracy = ""
        if r["test_accuracy"]:
            accuracy = (f"test accuracy {r['test_accuracy']['value']:.1%} float / "
                        f"{r['w4a4_test_accuracy']['value']:.1%} W4A4 (measured, {r['test_accuracy']['images']:,} "
                        "images), ")
        return (f"{r['arch']}: {accuracy}{r['fps']['value']:,.0f} FPS (estimated), LUT {util.get('LUT')} %, "
                f"BRAM18 {util.get('BRAM_18K')} %, on the CPU: {', '.join(r['cpu_nodes']) or 'nothing'}, "
                f"QONNX bit-exact {r['qonnx_bit_exact']}")

    epochs = " / ".join(str(r["epochs"]) for r in rows)
    report(f"Residual / depthwise-separable zoo networks W4A4, FINN SetFolding for {args.target_fps:,} FPS on the "
           f"Z2 @ 100 MHz ({' / '.join(args.arch)}; {epochs} training epochs)",
           [r["fps"]["value"] for r in rows], "only the input Transpose on the CPU, within the Z2",
           all(r["pass"] for r in rows), measured="; ".join(line(r) for r in rows), networks=rows)


if __name__ == "__main__":
    main()
