"""Weight-bit candidates without re-calibrating, and their accuracy from the changed layer onward.

Brevitas calibrates with every quantizer off (``calibration_mode`` disables weight and activation
quantization), so the activation scales it sets depend on the float network and the calibration images
only, never on any layer's weight bits. A network for other weight bits is therefore the freshly prepared
network with the calibrated activation state loaded: the same network post-training quantization would make,
without its calibration pass (bias correction and GPFQ do depend on the weights: then every candidate is
re-quantized). A candidate that lowers one layer's weights leaves everything upstream of that layer as it was,
so its validation accuracy is measured from the inputs that entered the layer in the network it derives from
(kept per batch), running only the graph from that layer on. Both are exact: the tests compare them with a
full re-quantization and a full forward pass.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch
from torch import fx

from foldwise.core.jobs import JobContext, null_context
from foldwise.core.quantize.config import QuantConfig
from foldwise.core.quantize.ptq import QuantizedNetwork, _logits, check_images, prepare
from foldwise.core.quantize.validate import EVAL_BATCH, _labels


def calibration_reusable(config: QuantConfig) -> bool:
    """Whether activation scales calibrated for one set of weight bits hold for any other (see the module doc)."""
    return not (config.bias_correction or config.gpfq)


def with_calibration(float_model: Any, config: QuantConfig, calibrated: QuantizedNetwork, spec: Any
                     ) -> QuantizedNetwork:
    """``config``'s network with ``calibrated``'s activation state: valid when the two configs differ in weight
    bits only and :func:`calibration_reusable` holds."""
    network = prepare(float_model, config, calibrated.input_shape, spec)
    network.model.load_state_dict(calibrated.model.state_dict())
    network.calibrated = True
    return network


def tail(gm: fx.GraphModule, layer: str) -> fx.GraphModule | None:
    """The graph from ``layer``'s call on, taking that call's input; None where other values cross the cut
    (a skip connection around the layer) or the layer is called more than once."""
    nodes = list(gm.graph.nodes)
    calls = [n for n in nodes if n.op == "call_module" and n.target == layer]
    if len(calls) != 1 or len(calls[0].all_input_nodes) != 1:
        return None
    at = nodes.index(calls[0])
    before = set(nodes[:at])
    entering = calls[0].all_input_nodes[0]
    crossing = {a for n in nodes[at:] for a in n.all_input_nodes if a in before}
    if any(a is not entering and a.op != "get_attr" for a in crossing):
        return None
    module_type, graph = _fx_types(gm)
    env: dict[Any, Any] = {entering: graph.placeholder("entering")}
    for node in nodes[:at]:
        if node in crossing and node.op == "get_attr":
            env[node] = graph.node_copy(node, lambda a: env[a])
    for node in nodes[at:]:
        env[node] = graph.node_copy(node, lambda a: env[a])
    return module_type(gm, graph)


def _fx_types(gm: fx.GraphModule) -> tuple[type, Any]:
    """The GraphModule class and an empty graph of ``gm``'s FX: Brevitas traces with its own backport of FX,
    whose nodes torch's graph does not map."""
    from brevitas.backport.fx.graph_module import GraphModule as Backport

    return (Backport if isinstance(gm, Backport) else fx.GraphModule), type(gm.graph)()


@dataclass
class EnteringInputs:
    """What entered each weight layer, per evaluation batch, when a network ran on the validation images."""

    batches: dict[str, list[Any]] = field(default_factory=dict)


class TailAccuracy:
    """Validation accuracy of weight-bit candidates, each run from its changed layer on.

    ``base`` is the network candidates derive from (one layer's weight bits changed); :meth:`rebase` moves it
    to a candidate that was kept, reusing what entered the layers upstream of its change.
    """

    def __init__(self, base: QuantizedNetwork, images: Any, labels: Any, layers: list[str],
                 ctx: JobContext | None = None) -> None:
        x = check_images(images, base.input_shape, "validation")
        self._y = _labels(labels, len(x))
        self._layers = list(layers)
        self._x = [x[i:i + EVAL_BATCH] for i in range(0, len(x), EVAL_BATCH)]
        self.base = base
        self.base_accuracy, self._entering = self._run(base.model, base.model, self._x, self._layers,
                                                       ctx or null_context())

    def _run(self, module: Any, full: fx.GraphModule, batches: list[Any], capture: list[str], ctx: JobContext
             ) -> tuple[float, dict[str, list[Any]]]:
        """Accuracy of ``module`` (``full`` or a tail sharing its layers) on ``batches``, keeping what entered
        each layer of ``capture``."""
        entering: dict[str, list[Any]] = {name: [] for name in capture}
        handles = [full.get_submodule(name).register_forward_pre_hook(
            lambda _m, args, name=name: entering[name].append(args[0])) for name in capture]
        predicted = []
        try:
            module.eval()
            with torch.no_grad():
                for i, batch in enumerate(batches):
                    ctx.check_cancelled()
                    predicted.append(_logits(module(batch)).argmax(1).numpy())
                    ctx.progress((i + 1) / len(batches), "validation accuracy")
        finally:
            for handle in handles:
                handle.remove()
        return float((np.concatenate(predicted) == self._y).mean()), entering

    def accuracy(self, candidate: QuantizedNetwork, layer: str, ctx: JobContext | None = None
                 ) -> tuple[float, dict[str, list[Any]]]:
        """Accuracy of ``candidate`` (``base`` with ``layer``'s weight bits changed), and what entered the
        layers after ``layer`` (for :meth:`rebase`). Falls back to the whole network where no tail can be cut."""
        ctx = ctx or null_context()
        downstream = self._layers[self._layers.index(layer) + 1:] if layer in self._layers else []
        cut = tail(candidate.model, layer) if layer in self._entering else None
        if cut is None:
            acc, entering = self._run(candidate.model, candidate.model, self._x, self._layers, ctx)
            return acc, {name: entering[name] for name in downstream}
        return self._run(cut, candidate.model, self._entering[layer], downstream, ctx)

    def rebase(self, candidate: QuantizedNetwork, accuracy: float, entering: dict[str, list[Any]]) -> None:
        """Make the kept ``candidate`` the base (its ``accuracy`` and the downstream inputs it was measured with)."""
        self.base, self.base_accuracy = candidate, accuracy
        self._entering.update(entering)

