"""The quantize and export stages over a project (what ``foldwise quantize``/``export`` and the panel run).

``quantize_iteration`` reads a float iteration (default: the current one), quantizes it, optionally runs QAT,
validates it by the ``report`` protocol (the whole test split, :mod:`foldwise.core.protocol`), exports QONNX
with its bit-exact check, and writes a new iteration of kind "quantized" (files: see
:mod:`foldwise.core.quantize.store`; ``validation.json`` holds the float-vs-quantized comparison, weight memory,
QONNX check and QAT history, which :func:`quantize_report` reads back).
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import numpy as np

from foldwise.core.atomic import atomic_write_json
from foldwise.core.errors import InputError
from foldwise.core.iterations import SUMMARY_FILE, float_source, is_quantized
from foldwise.core.jobs import JobContext, null_context
from foldwise.core.project import Iteration, IterationKind, Project, figure
from foldwise.core.protocol import REPORT, SELECT, accuracy_figure
from foldwise.core.quantize import store
from foldwise.core.quantize.advice import remedies
from foldwise.core.quantize.config import ExportResult, ExportSpec, QuantConfig, QuantizeSpec

CHECK_IMAGES = 64


def calibration_images(train: Any, n: int, seed: int = 0) -> np.ndarray:
    """The ``n`` calibration images every quantization of this project uses (same seed, same subset)."""
    try:
        from foldwise.core.data import calibration_subset  # type: ignore[attr-defined]

        return np.asarray(calibration_subset(train, n, seed).images)
    except ImportError:
        images = np.asarray(train.images)
        pick = np.random.default_rng(seed).permutation(len(images))[:n]
        return images[np.sort(pick)]


VALIDATION_FILE = "validation.json"


def quantize_iteration(project: Project, spec: QuantizeSpec, ctx: JobContext | None = None) -> Iteration:
    """Quantize ``spec.iteration`` (default: the current one) into a new iteration, which becomes current."""
    from foldwise.core.iterations import load_network, load_splits
    from foldwise.core.quantize.export import check_qonnx, export_qonnx_file
    from foldwise.core.quantize.ptq import quantize_network
    from foldwise.core.quantize.qat import qat
    from foldwise.core.quantize.validate import compare, weight_memory

    ctx = ctx or null_context()
    config, qat_epochs = spec.config, int(spec.qat_epochs)
    parent = project.get(spec.iteration) if spec.iteration else project.current
    if parent is None:
        raise InputError(f"project {project.name} has no network to quantize yet: train or import one first")
    if is_quantized(parent):
        source = float_source(project, parent)
        hint = (f"quantize its float network {source.label} instead" if source is not None
                else "no float network it was made from is in this project")
        raise InputError(f"iteration {parent.label} is already quantized: {hint}")
    ctx.progress(0.0, "loading the network and data")
    network = load_network(project, parent)
    splits = load_splits(project, ctx.sub(0.0, 0.1), network.spec)
    calib = calibration_images(splits.train, config.calib_images)
    result = quantize_network(network.model, calib, config, ctx.sub(0.1, 0.4), spec=network.spec)
    quantized = result.network
    qat_record = None
    if qat_epochs:
        qat_record = qat(quantized, splits.train.images, splits.train.labels, qat_epochs, ctx.sub(0.4, 0.8),
                         val=SELECT.take(splits), patience=None, on_epoch=ctx.partial)
    ctx.progress(0.8, "validating")
    check = compare(network.model, quantized, *REPORT.take(splits), network.spec, ctx.sub(0.8, 0.88),
                    protocol=REPORT)
    memory = weight_memory(quantized)
    arch = network.arch
    change = {"stage": "quantize", "config": config.to_dict(), "qat_epochs": qat_epochs}
    with project.new_iteration(IterationKind.QUANTIZED, spec.name or _default_name(config, qat_epochs), parent=parent,
                               change=change) as draft:
        store.save_network(quantized, draft.folder, network.spec, arch)
        table = _layer_table(network, memory)
        atomic_write_json(draft.folder / SUMMARY_FILE, table.to_dict())
        (draft.folder / "calibration").mkdir()
        if result.stats is not None:
            result.stats.save(draft.folder / store.STATS_FILE)
        ctx.progress(0.9, "exporting QONNX")
        qonnx_path = export_qonnx_file(quantized, draft.folder / store.QONNX_FILE)
        exact = check_qonnx(quantized, qonnx_path, splits.test.images[:CHECK_IMAGES], ctx.sub(0.92, 1.0))
        atomic_write_json(draft.folder / VALIDATION_FILE, {"compare": check, "weight_memory": memory,
                                                              "qonnx_check": exact,
                                                              "qat": qat_record.to_dict() if qat_record else None,
                                                              "seconds": result.seconds})
        float_acc = check["float"]["accuracy"]["value"]
        quant_acc = check["quantized"]["accuracy"]["value"]
        draft.metrics.update({
            "accuracy": accuracy_figure(quant_acc, REPORT, check["images"]),
            "float_accuracy": accuracy_figure(float_acc, REPORT, check["images"]),
            "weight_mb": figure(round(memory["total_mb"]["value"], 6), "computed", unit="MB"),
            "params": figure(int(table.total_params), "computed"),
            "macs": figure(int(table.total_macs), "computed"),
            "confusion": figure(check["quantized"]["confusion"], "measured", **REPORT.fields(check["images"])),
            "qonnx_bit_exact": figure(exact["bit_exact"], "measured", images=exact["images"]),
            "qonnx_faithful": figure(exact["faithful"], "measured", images=exact["images"],
                                     rounding_ties=exact["rounding_ties"]),
        })
    return project.current


def quantize_report(iteration: Iteration) -> dict[str, Any]:
    """The figures ``foldwise quantize --json`` prints, read back from a quantized iteration's files."""
    from foldwise.core.quantize.stats import CalibrationStats

    folder = iteration.folder
    try:
        validation = json.loads((folder / VALIDATION_FILE).read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise InputError(f"iteration {iteration.label} holds no readable {VALIDATION_FILE}: {exc}") from exc
    compare, memory = validation["compare"], validation["weight_memory"]
    stats_path = folder / store.STATS_FILE
    rows = CalibrationStats.load(stats_path).summary() if stats_path.is_file() else []
    change = iteration.change or {}
    config = QuantConfig.from_saved(change.get("config")) or QuantConfig()
    return {
        "iteration": iteration.to_dict(), "path": str(folder),
        "accuracy": {"float": compare["float"]["accuracy"]["value"],
                     "quantized": compare["quantized"]["accuracy"]["value"], "source": "measured",
                     "protocol": compare.get("protocol", REPORT.name), "split": compare.get("split", REPORT.split),
                     "images": compare["images"]},
        "weight_mb": memory["total_mb"], "float_mb": memory["float_mb"], "layers_mb": memory["layers"],
        "clipped": [{k: row.get(k) for k in ("name", "layer", "kind", "bits", "lo", "hi", "clipped", "flushed")}
                    for row in rows if row["kind"] != "bias"],
        "qonnx_check": validation["qonnx_check"], "qat": validation.get("qat"),
        "seconds": validation.get("seconds"),
        "shared_quantizers": _shared(folder),
        "remedies": remedies(compare["float"]["accuracy"]["value"], compare["quantized"]["accuracy"]["value"],
                             config, int(change.get("qat_epochs") or 0)),
    }


def _shared(folder: Any) -> list[dict[str, Any]]:
    try:
        return list(json.loads((folder / store.QUANT_FILE).read_text(encoding="utf-8")).get("shared_quantizers", []))
    except (OSError, ValueError):
        return []


def _layer_table(network: Any, memory: dict[str, Any]) -> Any:
    """The float network's layer table at the chosen precision: quantized weights at their bit width plus
    float biases, as stored (what the Network panel shows for this iteration)."""
    from foldwise.core.networks.summary import summarize

    layers = {row["layer"]: row for row in memory["layers"]}
    table = summarize(network.model, network.spec, precision_bits={name: row["bits"] for name, row in layers.items()})
    for row in table.rows:
        if row.name in layers:
            row.weight_mb = layers[row.name]["mb"] + layers[row.name]["bias_mb"]
    return table


def _default_name(config: QuantConfig, qat_epochs: int) -> str:
    name = f"w{config.weight_bits}a{config.act_bits}"
    if config.layers:
        name += "-mixed"
    if config.act_range == "mse":
        name += "-mse"
    return name + (f"-qat{qat_epochs}" if qat_epochs else "")


def export_iteration(project: Project, spec: ExportSpec, ctx: JobContext | None = None) -> ExportResult:
    """Export the quantized ``spec.iteration`` (default: current) to ``spec.path`` as QONNX; check it bit-exactly."""
    from foldwise.core.iterations import load_splits
    from foldwise.core.quantize.export import check_qonnx, export_qonnx_file

    ctx = ctx or null_context()
    iteration = project.get(spec.iteration) if spec.iteration else project.current
    if not is_quantized(iteration):
        label = iteration.label if iteration else "none"
        raise InputError(f"the current iteration ({label}) is not quantized: run foldwise quantize first")
    network, input_spec = store.load_network(iteration.folder)
    target = Path(spec.path)
    partial = target.with_name(f".{target.name}.partial")  # renamed into place once checked: never half a file
    try:
        export_qonnx_file(network, partial, ctx.sub(0.0, 0.5))
        splits = load_splits(project, ctx.sub(0.5, 0.6), input_spec)
        exact = check_qonnx(network, partial, splits.test.images[:spec.images], ctx.sub(0.6, 1.0))
        os.replace(partial, target)
    except BaseException:
        partial.unlink(missing_ok=True)
        raise
    return ExportResult(iteration.id, "qonnx", str(target), exact, input_datatype="UINT8")
