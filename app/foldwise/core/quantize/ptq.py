"""Post-training quantization: float network → FINN-ready Brevitas network, calibrated on a few images.

The quantized network takes **raw pixels** (float 0..255, N×C×H×W): the ``/255`` (and any normalisation in
the network's :class:`InputSpec`) is inside its graph, so the export's input is annotated UINT8 and FINN's
first layer reads the image itself. The float network is never changed (it is deep-copied).
"""

from __future__ import annotations

import contextlib
import copy
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import brevitas.nn as qnn
import numpy as np
import torch
from brevitas.graph.calibrate import bias_correction_mode, calibration_mode
from brevitas.graph.gpfq import gpfq_mode
from brevitas.graph.quantize import preprocess_for_quantize, quantize
from torch import fx, nn

from foldwise.core.errors import InputError
from foldwise.core.jobs import JobContext, null_context
from foldwise.core.quantize import _graph, sharing
from foldwise.core.quantize.config import QuantConfig
from foldwise.core.quantize.quantizers import (
    layer_maps,
    quantizable_layers,
    signed_act_quant,
    unsigned_act_quant,
    weight_quant,
)

CALIB_BATCH = 128


@dataclass
class QuantizedNetwork:
    """A Brevitas network with what the rest of Foldwise needs to know about it."""

    model: fx.GraphModule  # takes raw 0..255 pixels as float
    config: QuantConfig
    input_shape: tuple[int, int, int]
    weight_layers: list[str]
    act_sites: list[_graph.ActSite]
    removed_nodes: list[str] = field(default_factory=list)
    calibrated: bool = False
    #: residual adds and the quantizers on their inputs (sharing.SharedGroup.to_dict records)
    shared: list[dict[str, Any]] = field(default_factory=list)

    def __call__(self, images: Any) -> torch.Tensor:
        """Class scores for raw-pixel images (uint8 or float 0..255), in eval mode without gradients."""
        self.model.eval()
        with torch.no_grad():
            return _logits(self.model(pixels(images)))


@dataclass
class PTQResult:
    network: QuantizedNetwork
    stats: Any  # foldwise.core.quantize.stats.CalibrationStats or None
    seconds: dict[str, float]


def pixels(images: Any) -> torch.Tensor:
    """Raw-pixel images (ImageDataset, uint8/float array or tensor, 0..255) as a float N×C×H×W tensor."""
    data = getattr(images, "images", images)
    tensor = data if isinstance(data, torch.Tensor) else torch.from_numpy(np.array(data))
    if tensor.dim() != 4:
        raise InputError(f"images must be N×C×H×W, got shape {tuple(tensor.shape)}")
    return tensor.float()


def _logits(output: Any) -> torch.Tensor:
    return output.value if hasattr(output, "value") and not isinstance(output, torch.Tensor) else output


def check_images(images: Any, input_shape: tuple[int, ...], what: str = "calibration") -> torch.Tensor:
    x = pixels(images)
    if x.shape[0] == 0:
        raise InputError(f"{what} needs at least one image, got none")
    if tuple(x.shape[1:]) != tuple(input_shape):
        raise InputError(f"{what} images are {'×'.join(map(str, x.shape[1:]))} but the network takes "
                         f"{'×'.join(map(str, input_shape))}")
    return x


def prepare(float_model: nn.Module, config: QuantConfig, input_shape: tuple[int, int, int],
            spec: Any = None) -> QuantizedNetwork:
    """Build the (uncalibrated) quantized network; the float model is left untouched."""
    config.validate(quantizable_layers(float_model))
    _graph.check_finite(float_model)
    input_shape = tuple(int(v) for v in input_shape)
    model = copy.deepcopy(float_model).eval()
    try:
        traced = preprocess_for_quantize(model, equalize_iters=0)
    except Exception as exc:  # any tracing failure becomes a message naming the module
        raise _graph.trace_error(model, exc) from exc
    _graph.drop_string_annotations(traced)
    names = {id(m): name for name, m in traced.named_modules()}
    compute, acts, identities = layer_maps(config, sharing.concatenates(traced))

    def bits_of(module: nn.Module) -> type:
        return weight_quant(config.weight_bits_for(names.get(id(module), "")), config)

    for key, (quant_type, kwargs) in compute.items():
        compute[key] = (quant_type, {**kwargs, "weight_quant": lambda module: bits_of(module)})
    try:
        qmodel = quantize(traced, quant_identity_map=identities, compute_layer_map=compute,
                          quant_act_map=acts)
    except Exception as exc:
        raise _graph.trace_error(traced, exc, "quantized") from exc
    removed = _graph.remove_redundant_quants(qmodel)
    _graph.insert_input_scaling(qmodel, _graph.InputScaling.from_spec(spec, input_shape[0]))
    sites = _graph.act_sites(qmodel)
    _check_shared_bits(sharing.shared_quantizers(qmodel), sites, config)
    _apply_act_bits(qmodel, sites, config)
    shared = [group.to_dict() for group in sharing.shared_quantizers(qmodel)]
    network = QuantizedNetwork(qmodel, config, input_shape, _graph.weight_sites(qmodel), sites, removed,
                               shared=shared)
    apply_enabled(network)
    try:
        network(torch.zeros((1, *input_shape)))
    except Exception as exc:
        raise InputError(f"the quantized network does not run on {'×'.join(map(str, input_shape))} "
                         f"input: {type(exc).__name__}: {exc}") from exc
    return network


def site_bits(site: _graph.ActSite, config: QuantConfig) -> int:
    """The activation bit width ``config`` gives ``site``: its own override, else its layer's, else the default."""
    own = config.layers.get(site.module)
    if own is not None and own.act_bits is not None:
        return own.act_bits
    return config.act_bits_for(site.layer) if site.layer else config.act_bits


def _check_shared_bits(groups: list[sharing.SharedGroup], sites: list[_graph.ActSite],
                       config: QuantConfig) -> None:
    """InputError if a per-layer activation width would split a quantizer Brevitas shares across a residual add.

    ``_apply_act_bits`` re-makes a quantizer to change its width, which would give it a scale of its own."""
    for group in groups:
        names = {item.quantizer for item in group.inputs}
        odd = sorted({f"{s.module} ({site_bits(s, config)} bits)" for s in sites
                      if s.module in names and site_bits(s, config) != config.act_bits})
        if odd:
            raise InputError(f"{', '.join(odd)} shares its scale with the other input of residual add "
                             f"{group.join} ({' + '.join(sorted(names))}): per-layer activation bits there are not "
                             f"supported yet; keep them at the default {config.act_bits} bits")


def _apply_act_bits(gm: fx.GraphModule, sites: list[_graph.ActSite], config: QuantConfig) -> None:
    for site in sites:
        bits = site_bits(site, config)
        if bits == config.act_bits:
            continue
        old = gm.get_submodule(site.module)
        if isinstance(old, qnn.QuantReLU):
            new = qnn.QuantReLU(act_quant=unsigned_act_quant(bits, config),
                                return_quant_tensor=old.return_quant_tensor)
        else:
            make = signed_act_quant if old.act_quant.is_signed else unsigned_act_quant
            new = qnn.QuantIdentity(act_quant=make(bits, config),
                                    return_quant_tensor=old.return_quant_tensor)
        gm.set_submodule(site.module, new)


def apply_enabled(network: QuantizedNetwork, only: set[str] | None = None) -> None:
    """Enable quantization where the config says so (or, given ``only``, just for those layers).

    A disabled layer computes in float; its exported graph keeps float ops there, which FINN cannot map.
    """
    config, gm = network.config, network.model
    for name in network.weight_layers:
        enabled = name in only if only is not None else config.is_quantized(name)
        gm.get_submodule(name).weight_quant.disable_quant = not enabled
    for site in network.act_sites:
        if only is not None:
            enabled = site.module in only or site.layer in only
        else:
            enabled = config.is_quantized(site.module) and (site.layer is None or config.is_quantized(site.layer))
        module = gm.get_submodule(site.module)
        module.act_quant.disable_quant = not enabled
        # A disabled quantizer returns a plain tensor; Brevitas asserts if asked for a QuantTensor.
        module.return_quant_tensor = site.returns_quant_tensor and enabled


def calibrate(network: QuantizedNetwork, images: Any, ctx: JobContext | None = None,
              collector: Any = None, batch_size: int = CALIB_BATCH) -> None:
    """Set activation scales from ``images`` (raw pixels), then apply bias correction / GPFQ if configured.

    ``collector`` (a :class:`foldwise.core.quantize.stats.ActivationCollector`) records histograms on the way.
    Cancellable between batches.
    """
    ctx = ctx or null_context()
    x = check_images(images, network.input_shape)
    config, model = network.config, network.model
    steps = 1 + int(config.bias_correction) + int(config.gpfq)
    batches = [x[i:i + batch_size] for i in range(0, len(x), batch_size)]
    model.eval()
    with torch.no_grad(), observer_flags_kept(model), calibration_mode(model):
        if collector is not None:
            collector.attach(network)
        try:
            for i, batch in enumerate(batches):
                ctx.check_cancelled()
                model(batch)
                ctx.progress((i + 1) / len(batches) / steps, f"calibrating: {min((i + 1) * batch_size, len(x))}"
                             f"/{len(x)} images")
        finally:
            if collector is not None:
                collector.detach()
    step = 1
    if config.gpfq:
        _run_gpfq(model, batches, ctx.sub(step / steps, (step + 1) / steps))
        step += 1
    if config.bias_correction:
        sub = ctx.sub(step / steps, 1.0)
        with torch.no_grad(), observer_flags_kept(model), bias_correction_mode(model):
            for i, batch in enumerate(batches):
                sub.check_cancelled()
                model(batch)
                sub.progress((i + 1) / len(batches), "bias correction")
    network.calibrated = True


@contextlib.contextmanager
def observer_flags_kept(model: nn.Module) -> Iterator[None]:
    """Put every quantizer's ``observer_only`` flag back as it was once a Brevitas mode (calibration, bias
    correction, GPFQ) ends. Brevitas records the flags per activation proxy, so a quantizer two proxies share (the
    inputs of a concatenation) is recorded a second time after the first proxy switched it to observing, and
    stays so: its layer then computed in float while the export quantized (seen: 4-bit ReLU outputs of 1.39
    against a top level of 0.99), and accuracy was measured on the float values."""
    before = {module: module.observer_only for module in model.modules() if hasattr(module, "observer_only")}
    try:
        yield
    finally:
        for module, flag in before.items():
            module.observer_only = flag


def _run_gpfq(model: nn.Module, batches: list[torch.Tensor], ctx: JobContext) -> None:
    # Brevitas's defaults (quantized activations in the loop, no act_order); the weight quantizers hold their
    # scale for GPFQ (see quantizers.weight_quant), without which every variant collapsed at 4 bits.
    with torch.no_grad(), observer_flags_kept(model), \
            gpfq_mode(model, act_order=False, use_quant_activations=True) as gpfq:
        gpfq_model = gpfq.model
        for layer in range(gpfq.num_layers):
            for batch in batches:
                ctx.check_cancelled()
                gpfq_model(batch)
            gpfq.update()
            ctx.progress((layer + 1) / gpfq.num_layers, f"GPFQ: layer {layer + 1}/{gpfq.num_layers}")
    for module in model.modules():  # GPFQ's float copies would only bloat the saved model
        if "weight_orig" in module._buffers:
            del module._buffers["weight_orig"]


def _check_float_runs(float_model: nn.Module, x: torch.Tensor) -> None:
    was_training = float_model.training
    float_model.eval()
    try:
        with torch.no_grad():
            float_model(x / 255.0)
    except Exception as exc:  # the network's own error, reworded for the user
        shape = "×".join(map(str, x.shape[1:]))
        raise InputError(f"calibration images are {shape}, which the network cannot take: "
                         f"{type(exc).__name__}: {exc}") from exc
    finally:
        float_model.train(was_training)


def quantize_network(float_model: nn.Module, images: Any, config: QuantConfig | None = None,
                     ctx: JobContext | None = None, spec: Any = None, collect_stats: bool = True,
                     stats_sample: int = 1 << 16) -> PTQResult:
    """The whole PTQ job: prepare, calibrate on the first ``config.calib_images`` images, gather stats.

    ``images`` are raw pixels (ImageDataset or N×C×H×W uint8). Returns the network, its
    :class:`CalibrationStats` (or None) and the seconds each phase took.
    """
    from foldwise.core.quantize.stats import ActivationCollector, weight_stats

    config = config or QuantConfig()
    ctx = ctx or null_context()
    x = pixels(images)
    if x.shape[0] == 0:
        raise InputError("calibration needs at least one image, got none")
    x = x[: config.calib_images]
    t0 = time.perf_counter()
    ctx.progress(0.0, "building the quantized network")
    if spec is None:
        _check_float_runs(float_model, x[:1])
    network = prepare(float_model, config, tuple(x.shape[1:]) if spec is None else spec.shape, spec)
    check_images(x, network.input_shape)
    t1 = time.perf_counter()
    collector = ActivationCollector(sample=stats_sample) if collect_stats else None
    calibrate(network, x, ctx.sub(0.05, 0.95), collector)
    t2 = time.perf_counter()
    stats = None
    if collector is not None:
        stats = collector.finish(network)
        stats.entries.extend(weight_stats(network))
    ctx.progress(1.0, "quantized")
    return PTQResult(network, stats, {"prepare": t1 - t0, "calibrate": t2 - t1,
                                      "stats": time.perf_counter() - t2})
