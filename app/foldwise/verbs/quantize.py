"""``foldwise quantize PATH --weights W --acts A [--per-layer FILE.json] [--calib N] [--qat EPOCHS] [--iteration ID]
[--json]``."""

from __future__ import annotations

import argparse

from foldwise.core.project import Project
from foldwise.core.protocol import where
from foldwise.verbs._common import add_json_flag, console_context, emit

HELP = "quantize the current network with Brevitas (calibrate, validate, export QONNX) into a new iteration"


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("path", help="project folder")
    parser.add_argument("--weights", type=int, default=8, help="weight bit width, 1-8 (default 8)")
    parser.add_argument("--acts", type=int, default=8, help="activation bit width, 1-8 (default 8)")
    parser.add_argument("--per-layer", metavar="FILE.json",
                        help='per-layer overrides: {"layer": {"weight_bits": 4, "act_bits": 4, "quantize": true}}')
    parser.add_argument("--calib", type=int, default=256, help="calibration images (default 256)")
    scaling = parser.add_mutually_exclusive_group()
    scaling.add_argument("--per-channel", dest="weight_scaling", action="store_const", const="per_channel",
                         help="one weight scale per output channel (the default)")
    scaling.add_argument("--per-tensor", dest="weight_scaling", action="store_const", const="per_tensor",
                         help="one weight scale per weight tensor")
    parser.add_argument("--po2", action="store_true", help="power-of-two scales")
    parser.add_argument("--act-range", choices=("percentile", "mse"),
                        help="how calibration sets activation ranges: the 99.999th percentile (the default) or the "
                             "least mean squared quantization error at each quantizer's bits (clips harder)")
    parser.add_argument("--bias-correction", action="store_true", help="apply bias correction after calibration")
    parser.add_argument("--gpfq", action="store_true", help="apply GPFQ weight rounding after calibration")
    parser.add_argument("--qat", type=int, default=0, metavar="EPOCHS", help="quantization-aware epochs after PTQ")
    parser.add_argument("--iteration", metavar="ID",
                        help="float iteration to quantize (default: the current one; when that is quantized, the "
                             "float network it was made from, as the Quantize panel does)")
    parser.add_argument("--name", help="name of the new iteration")
    add_json_flag(parser)


def run(args: argparse.Namespace) -> int:
    from foldwise.core.iterations import float_source, is_quantized
    from foldwise.core.quantize.config import QuantConfig, QuantizeSpec, load_layer_overrides
    from foldwise.core.quantize.export import check_verdict
    from foldwise.core.quantize.stage import quantize_iteration, quantize_report

    config = QuantConfig(
        weight_bits=args.weights, act_bits=args.acts, calib_images=args.calib,
        **({"weight_scaling": args.weight_scaling} if args.weight_scaling else {}),  # else QuantConfig's default
        **({"act_range": args.act_range} if args.act_range else {}),
        scale_type="po2" if args.po2 else "float", bias_correction=args.bias_correction, gpfq=args.gpfq,
        layers=load_layer_overrides(args.per_layer) if args.per_layer else {},
    )
    with Project.open(args.path) as project:
        source, preface = args.iteration, ""
        current = project.current
        if source is None and current is not None and is_quantized(current):
            parent = float_source(project, current)
            if parent is not None:  # else the stage names the quantized iteration it cannot start from
                source, preface = parent.id, f"from {parent.label}, the float network of {current.label}: "
        spec = QuantizeSpec(config, args.qat, args.name, iteration=source)
        iteration = quantize_iteration(project, spec, console_context(args))
        result = quantize_report(iteration)
    acc = result["accuracy"]
    check = result["qonnx_check"]
    text = preface + (f"{result['iteration']['id']} {result['iteration']['name']}: accuracy {acc['float']:.2%} float → "
            f"{acc['quantized']:.2%} quantized (measured, {where(acc)}); weights {result['weight_mb']['value']:.4f} MB "
            f"(computed); QONNX {check_verdict(check)}")
    if result.get("shared_quantizers"):
        from foldwise.core.quantize.sharing import describe, heading

        text += f"\nshared quantizers: {heading(result['shared_quantizers'])}:"
        text += "".join(f"\n  {line}" for line in describe(result["shared_quantizers"]))
    if result["remedies"]:
        text += f"\n{result['remedies']}"
    emit(result, args, text=text)
    return 0
