"""What the Quantize panel shows and edits, without Qt: calibration statistics grouped by layer, the figures
each layer would get at the chosen bit widths (via :func:`~foldwise.core.quantize.stats.what_if`, no
re-calibration), per-layer overrides, and the jobs behind the panel's buttons.

Statistics come from a quantized iteration (``calibration/stats.npz``, see :mod:`.store`) or from
:func:`preview`, a calibration-only run on a float iteration that commits nothing, so bit widths can be
tuned before the real quantize run.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from foldwise.core.errors import InputError
from foldwise.core.iterations import is_quantized
from foldwise.core.jobs import JobContext, null_context
from foldwise.core.project import Iteration, Project, figure
from foldwise.core.protocol import REPORT, SCAN
from foldwise.core.quantize import store
from foldwise.core.quantize.config import ActRange, ExportResult, ExportSpec, LayerOverride, QuantConfig, check_bits
from foldwise.core.quantize.stats import CalibrationStats, TensorStats, what_if

SENSITIVITY_IMAGES = SCAN.images
KEEP = object()  # "leave this override field as it is" in :func:`with_override`


@dataclass
class Inspection:
    """Calibration statistics and what came with them.

    Attributes
    ----------
    stats : the per-tensor distributions and ranges.
    config : the QuantConfig the statistics were calibrated with.
    source : where they come from, for labels ("iteration 0002-w8a8", "preview of 0001-trained-3ep").
    iteration_id : the iteration they describe (the float one for a preview).
    kind : "iteration" (committed) or "preview" (in memory only).
    validation : ``validation.json`` of the iteration (or the preview's compare + weight_memory), if any.
    network : the preview's quantized network (None for a committed iteration: load it from its folder).
    class_names : the data set's class names, for confusion matrices.
    shared : the residual adds and the quantizers their inputs share (``sharing.SharedGroup`` records).
    """

    stats: CalibrationStats
    config: QuantConfig
    source: str
    iteration_id: str | None
    kind: str = "iteration"
    validation: dict[str, Any] | None = None
    network: Any = None
    class_names: list[str] = field(default_factory=list)
    shared: list[dict[str, Any]] = field(default_factory=list)


def class_names(project: Project) -> list[str]:
    from foldwise.core.data.registry import DATASETS

    name = project.settings.get("dataset", {}).get("name")
    return list(DATASETS.get(name, {}).get("class_names", []))


def load_iteration(project: Project, iteration: Iteration) -> Inspection | None:
    """The statistics, config and validation stored with a quantized iteration; None if it has none."""
    folder = iteration.folder
    if not (folder / store.STATS_FILE).exists() or not (folder / store.QUANT_FILE).exists():
        return None
    stats = CalibrationStats.load(folder / store.STATS_FILE)
    try:
        meta = json.loads((folder / store.QUANT_FILE).read_text(encoding="utf-8"))
        config = QuantConfig.from_dict(meta["config"])
    except (OSError, ValueError, KeyError) as exc:
        raise InputError(f"{folder / store.QUANT_FILE} is unreadable: {exc}") from exc
    validation = None
    if (folder / "validation.json").exists():
        try:
            validation = json.loads((folder / "validation.json").read_text(encoding="utf-8"))
        except (OSError, ValueError):
            validation = None
    return Inspection(stats, config, f"iteration {iteration.label}", iteration.id, "iteration", validation,
                      class_names=class_names(project), shared=list(meta.get("shared_quantizers", [])))


@dataclass
class PreviewSpec:
    """A calibration-only run of ``config`` on the float ``iteration`` (None: the current one), validated by the
    ``report`` protocol, as the quantize run will be (``test_images`` limits it: the figure then says so)."""

    config: QuantConfig
    iteration: str | None = None
    test_images: int | None = None


def preview(project: Project, spec: PreviewSpec, ctx: JobContext | None = None) -> Inspection:
    """Calibrate ``spec.config`` on a float iteration and validate it on the same images the quantize run uses
    (the whole test split), keeping everything in memory: nothing is written to the project."""
    from foldwise.core.iterations import load_network, load_splits
    from foldwise.core.quantize.ptq import quantize_network
    from foldwise.core.quantize.stage import calibration_images  # the same subset the real run picks
    from foldwise.core.quantize.validate import compare, weight_memory

    ctx = ctx or null_context()
    iteration = project.get(spec.iteration) if spec.iteration else project.current
    if iteration is None:
        raise InputError(f"project {project.name} has no network yet: train or import one first")
    if is_quantized(iteration):
        raise InputError(f"iteration {iteration.label} is already quantized: preview its float parent instead")
    config = QuantConfig.from_dict(spec.config.to_dict())  # the job's own copy
    ctx.progress(0.0, "loading the network and data")
    network = load_network(project, iteration)
    splits = load_splits(project, ctx.sub(0.0, 0.2), network.spec)
    calib = calibration_images(splits.train, config.calib_images)
    result = quantize_network(network.model, calib, config, ctx.sub(0.2, 0.8), spec=network.spec)
    ctx.progress(0.8, "validating the preview")
    protocol = REPORT.limit(spec.test_images)
    check = compare(network.model, result.network, *protocol.take(splits), network.spec, ctx.sub(0.8, 1.0),
                    protocol=protocol)
    validation = {"compare": check, "weight_memory": weight_memory(result.network)}
    return Inspection(result.stats, config, f"preview of {iteration.label}", iteration.id, "preview", validation,
                      result.network, class_names(project), result.network.shared)


# --------------------------------------------------------------------------- layers
@dataclass
class LayerView:
    """One row of the panel: a weight layer with its weight, bias and output activation(s), or an activation
    that follows no weight layer. ``name`` is the key its per-layer override goes under."""

    name: str
    weight: TensorStats | None = None
    bias: TensorStats | None = None
    acts: list[TensorStats] = field(default_factory=list)

    @property
    def params(self) -> int:
        return self.weight.count if self.weight is not None else 0

    @property
    def act(self) -> TensorStats | None:
        return self.acts[0] if self.acts else None


def layer_views(stats: CalibrationStats) -> list[LayerView]:
    """Entries grouped by layer: weight layers in module order, then stand-alone activations."""
    views: dict[str, LayerView] = {}
    for entry in stats.entries:
        if entry.kind == "weight":
            views.setdefault(entry.layer or entry.module, LayerView(entry.layer or entry.module)).weight = entry
    for entry in stats.entries:
        key = entry.layer or entry.module
        if entry.kind == "bias":
            views.setdefault(key, LayerView(key)).bias = entry
        elif entry.kind == "act":
            views.setdefault(key, LayerView(key)).acts.append(entry)
    return list(views.values())


@dataclass
class Chosen:
    """One quantizer at the chosen bit width: ``what_if``'s figures plus whether it is quantized at all."""

    entry: TensorStats
    enabled: bool
    bits: int
    lo: float = 0.0
    hi: float = 0.0
    step: float = 0.0
    clipped: float = 0.0
    flushed: float = 0.0

    @property
    def signed(self) -> bool:
        return bool(self.entry.quant and self.entry.quant.signed)


def act_bits_for(config: QuantConfig, view: LayerView, act: TensorStats) -> int:
    """The activation's bits as ``ptq`` applies them: its own module's override first, then its layer's."""
    own = config.layers.get(act.module)
    if own is not None and own.act_bits is not None:
        return own.act_bits
    return config.act_bits_for(view.name)


def _chosen(entry: TensorStats, bits: int, enabled: bool) -> Chosen:
    if not enabled or entry.quant is None:
        return Chosen(entry, False, bits)
    figures = what_if(entry, bits)
    return Chosen(entry, True, bits, figures["lo"], figures["hi"], figures["step"], figures["clipped"],
                  figures["flushed"])


def chosen_weight(view: LayerView, config: QuantConfig) -> Chosen | None:
    if view.weight is None:
        return None
    return _chosen(view.weight, config.weight_bits_for(view.name), config.is_quantized(view.name))


def chosen_acts(view: LayerView, config: QuantConfig) -> list[Chosen]:
    enabled = config.is_quantized(view.name)
    return [_chosen(a, act_bits_for(config, view, a), enabled and config.is_quantized(a.module)) for a in view.acts]


def layer_mb(view: LayerView, config: QuantConfig) -> float:
    """Weight storage of the layer at the chosen precision (32 bits when not quantized), MB = 10^6 bytes."""
    if view.weight is None:
        return 0.0
    bits = config.weight_bits_for(view.name) if config.is_quantized(view.name) else 32
    return view.params * bits / 8 / 1e6


def weight_memory(views: list[LayerView], config: QuantConfig) -> dict[str, Any]:
    """``{"chosen_mb", "float_mb"}`` figures (computed) for the weights at the chosen bit widths."""
    chosen = sum(layer_mb(v, config) for v in views)
    floats = sum(v.params * 4 / 1e6 for v in views)
    return {"chosen_mb": figure(round(chosen, 6), "computed", unit="MB"),
            "float_mb": figure(round(floats, 6), "computed", unit="MB")}


def with_override(config: QuantConfig, name: str, *, weight_bits: Any = KEEP, act_bits: Any = KEEP,
                  quantize: Any = KEEP) -> dict[str, LayerOverride]:
    """``config.layers`` with one layer's override changed (InputError on a bad bit width; ``config`` is
    untouched). A value equal to the network default is dropped, so the layer follows the default again."""
    old = config.layers.get(name, LayerOverride())
    new = LayerOverride(old.weight_bits, old.act_bits, old.quantize)
    if weight_bits is not KEEP:
        new.weight_bits = None if weight_bits is None else check_bits(weight_bits, f"layer {name} weights")
    if act_bits is not KEEP:
        new.act_bits = None if act_bits is None else check_bits(act_bits, f"layer {name} activations")
    if quantize is not KEEP:
        new.quantize = bool(quantize)
    if new.weight_bits == config.weight_bits:
        new.weight_bits = None
    if new.act_bits == config.act_bits:
        new.act_bits = None
    layers = {k: LayerOverride(v.weight_bits, v.act_bits, v.quantize) for k, v in config.layers.items()}
    if new.weight_bits is None and new.act_bits is None and new.quantize:
        layers.pop(name, None)
    else:
        layers[name] = new
    return layers


def inspection_remedies(inspection: Inspection) -> str:
    """What to try if the inspected quantization lost accuracy (``advice.remedies``), "" when it did not or the
    accuracies were not measured."""
    from foldwise.core.quantize.advice import remedies

    validation = inspection.validation or {}
    try:
        compare = validation["compare"]
        float_accuracy, quantized = compare["float"]["accuracy"]["value"], compare["quantized"]["accuracy"]["value"]
    except (KeyError, TypeError):
        return ""
    return remedies(float_accuracy, quantized, inspection.config, 1 if validation.get("qat") else 0)


def _act_bits(config: QuantConfig) -> tuple[int, dict[str, int | None]]:
    return config.act_bits, {name: o.act_bits for name, o in config.layers.items() if o.act_bits is not None}


def scaling_note(calibrated: QuantConfig, chosen: QuantConfig) -> str:
    """Why the instant figures may not match the next run: what ``what_if`` cannot re-derive ("" if nothing)."""
    notes = []
    if calibrated.weight_scaling != chosen.weight_scaling or calibrated.scale_type != chosen.scale_type:
        notes.append(f"scales were calibrated {calibrated.weight_scaling.value.replace('_', '-')} / "
                     f"{calibrated.scale_type.value}")
    if calibrated.calib_images != chosen.calib_images:
        notes.append(f"on {calibrated.calib_images} images")
    if calibrated.act_range != chosen.act_range:
        notes.append(f"activation ranges by {'MSE' if calibrated.act_range == ActRange.MSE else 'percentile'}")
    elif chosen.act_range == ActRange.MSE and _act_bits(calibrated) != _act_bits(chosen):
        # a percentile range holds for any bit width; the MSE range is found for one
        notes.append(f"MSE activation ranges found at the calibration's bits (A{calibrated.act_bits})")
    if (calibrated.bias_correction, calibrated.gpfq) != (chosen.bias_correction, chosen.gpfq):
        notes.append("with other bias-correction/GPFQ settings")
    return "; ".join(notes)


# --------------------------------------------------------------------------- jobs
def _network_of(project: Project, inspection: Inspection) -> tuple[Any, Any]:
    if inspection.network is not None:
        return inspection.network, None
    iteration = project.get(inspection.iteration_id) if inspection.iteration_id else project.current
    if not is_quantized(iteration):
        raise InputError("preview or quantize the network first")
    return store.load_network(iteration.folder)


@dataclass
class SensitivitySpec:
    """Per-layer sensitivity of the network behind ``inspection`` by the ``scan`` protocol (validation images,
    at most ``images``)."""

    inspection: Inspection
    images: int = SENSITIVITY_IMAGES


def sensitivity(project: Project, spec: SensitivitySpec, ctx: JobContext | None = None) -> list[dict[str, Any]]:
    """Per-layer accuracy drop (measured, ``scan`` protocol) with only that layer quantized; each row says
    what it was measured on (``protocol``, ``split``, ``images``)."""
    from foldwise.core.iterations import load_splits
    from foldwise.core.quantize.validate import sensitivity as layer_sensitivity

    ctx = ctx or null_context()
    ctx.progress(0.0, "loading the quantized network")
    network, input_spec = _network_of(project, spec.inspection)
    splits = load_splits(project, ctx.sub(0.0, 0.1), input_spec)
    protocol = SCAN.limit(int(spec.images))
    rows = layer_sensitivity(network, *protocol.take(splits), ctx.sub(0.1, 1.0))
    where = protocol.fields(protocol.count(splits))
    return [{**row, **where} for row in rows]


def export_qcdq(project: Project, spec: ExportSpec, ctx: JobContext | None = None) -> ExportResult:
    """Export the quantized ``spec.iteration`` (default: current) as QCDQ ONNX; compare it in onnxruntime
    against torch."""
    from foldwise.core.iterations import load_splits
    from foldwise.core.quantize.export import check_qcdq, export_qcdq_file

    ctx = ctx or null_context()
    iteration = project.get(spec.iteration) if spec.iteration else project.current
    if not is_quantized(iteration):
        label = iteration.label if iteration else "none"
        raise InputError(f"the current iteration ({label}) is not quantized: quantize it first")
    ctx.progress(0.0, "exporting QCDQ ONNX")
    network, input_spec = store.load_network(iteration.folder)
    path = export_qcdq_file(network, spec.path)
    ctx.progress(0.6, "checking in onnxruntime")
    splits = load_splits(project, ctx.sub(0.6, 0.7), input_spec)
    n = spec.images
    check = check_qcdq(network, path, splits.test.images[:n], splits.test.labels[:n])
    ctx.progress(1.0, "QCDQ written")
    return ExportResult(iteration.id, "qcdq", str(path), check)

