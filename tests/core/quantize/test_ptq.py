from __future__ import annotations

import threading

import pytest
import torch
from torch import nn

from foldwise.core.errors import Cancelled, InputError
from foldwise.core.jobs import JobContext
from foldwise.core.quantize import QuantConfig, prepare, quantize_network
from tests.core.quantize.conftest import accuracy_of


def test_w8a8_keeps_float_accuracy(w8a8, digits, float_accuracy):
    assert float_accuracy > 0.85  # the fixture network learned something
    assert abs(accuracy_of(w8a8.network, digits) - float_accuracy) <= 0.02


def test_graph_is_finn_ready(w8a8):
    gm = w8a8.network.model
    # No quantizer on the raw image, none re-quantizing MaxPool→Flatten, no unsigned identity.
    assert any(name.endswith("_quant") for name in w8a8.network.removed_nodes)
    assert "classifier_fc1_input_quant" in w8a8.network.removed_nodes
    for module in gm.modules():
        if type(module).__name__ == "QuantIdentity":
            assert module.act_quant.is_signed
        if hasattr(module, "bias_quant"):
            assert not module.bias_quant.is_quant_enabled
    # It takes raw pixels: scaling them by 255 is part of the graph.
    zeros = w8a8.network(torch.zeros(1, 1, 32, 32))
    assert zeros.shape == (1, 10)


def test_float_model_is_not_mutated(lenet, digits):
    before = {k: v.clone() for k, v in lenet.state_dict().items()}
    types = [type(m) for m in lenet.modules()]
    quantize_network(lenet, digits["train_x"][:32], QuantConfig(weight_bits=4, calib_images=32,
                                                                  bias_correction=True))
    assert [type(m) for m in lenet.modules()] == types
    for key, value in lenet.state_dict().items():
        assert torch.equal(value, before[key]), key


def test_per_layer_bits_reach_the_quantizers(lenet, digits):
    config = QuantConfig(calib_images=16, layers={"features.conv2": {"weight_bits": 3, "act_bits": 5},
                                                  "classifier.fc3": {"act_bits": 6},
                                                  "classifier.relu1": {"act_bits": 2}})
    network = prepare(lenet, config, (1, 32, 32))
    gm = network.model
    assert int(gm.get_submodule("features.conv2").weight_quant.bit_width()) == 3
    assert int(gm.get_submodule("features.conv1").weight_quant.bit_width()) == 8
    assert int(gm.get_submodule("features.relu2").act_quant.bit_width()) == 5
    assert int(gm.get_submodule("classifier.relu1").act_quant.bit_width()) == 2
    assert int(gm.get_submodule("classifier_fc3_output_quant").act_quant.bit_width()) == 6


def test_layer_switched_off_computes_in_float(lenet, digits):
    config = QuantConfig(calib_images=32, layers={"features.conv1": {"quantize": False}})
    network = quantize_network(lenet, digits["train_x"][:32], config, collect_stats=False).network
    conv1 = network.model.get_submodule("features.conv1")
    assert conv1.weight_quant.disable_quant and network.model.get_submodule("features.relu1").act_quant.disable_quant
    assert not network.model.get_submodule("features.conv2").weight_quant.disable_quant
    assert network(digits["test_x"][:4]).shape == (4, 10)


def test_nan_weights_name_the_layer(lenet, digits):
    broken = build_copy(lenet)
    with torch.no_grad():
        broken.classifier.fc2.weight[0, 0] = float("nan")
    with pytest.raises(InputError, match=r"classifier\.fc2"):
        quantize_network(broken, digits["train_x"][:8], QuantConfig(calib_images=8))


def build_copy(model: nn.Module) -> nn.Module:
    import copy

    return copy.deepcopy(model)


def test_no_or_wrong_calibration_images(lenet, digits):
    with pytest.raises(InputError, match="at least one image"):
        quantize_network(lenet, digits["train_x"][:0], QuantConfig())
    with pytest.raises(InputError, match="1×28×28"):
        quantize_network(lenet, torch.zeros(4, 1, 28, 28, dtype=torch.uint8), QuantConfig())
    with pytest.raises(InputError, match="N×C×H×W"):
        quantize_network(lenet, torch.zeros(4, 32, 32, dtype=torch.uint8), QuantConfig())


class _Branchy(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.gate = _DataDependent()
        self.fc = nn.Linear(16, 2)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.fc(self.gate(x).flatten(1))


class _DataDependent(nn.Module):
    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if x.sum() > 0:  # data-dependent control flow: FX cannot trace this
            return x * 2
        return x


def test_untraceable_module_is_named():
    with pytest.raises(InputError, match=r"'gate'"):
        prepare(_Branchy(), QuantConfig(), (1, 4, 4))


def test_unknown_per_layer_names_fail_before_work(lenet):
    with pytest.raises(InputError, match=r"features\.conv1"):
        prepare(lenet, QuantConfig(layers={"conv7": {"weight_bits": 4}}), (1, 32, 32))


def test_calibration_is_cancellable_and_reports_progress(lenet, digits):
    seen: list[float] = []
    cancel = threading.Event()

    def on_progress(fraction: float, message: str) -> None:
        seen.append(fraction)
        if "calibrating" in message:
            cancel.set()  # cancel after the first batch

    ctx = JobContext(on_progress=on_progress, cancel_event=cancel)
    with pytest.raises(Cancelled):
        quantize_network(lenet, digits["train_x"][:512], QuantConfig(calib_images=512), ctx)
    assert seen and all(0.0 <= f <= 1.0 for f in seen)


def test_bias_correction_keeps_w4_accuracy(lenet, digits, float_accuracy):
    config = QuantConfig(weight_bits=4, weight_scaling="per_channel", bias_correction=True, calib_images=64)
    network = quantize_network(lenet, digits["train_x"], config, collect_stats=False).network
    assert accuracy_of(network, digits) >= float_accuracy - 0.03


def test_gpfq_recovers_low_bit_accuracy(lenet, digits, float_accuracy):
    def accuracy(gpfq: bool) -> float:
        config = QuantConfig(weight_bits=2, weight_scaling="per_channel", gpfq=gpfq, calib_images=256)
        return accuracy_of(quantize_network(lenet, digits["train_x"], config, collect_stats=False).network, digits)

    rounded, gpfq = accuracy(False), accuracy(True)
    assert gpfq >= rounded + 0.05
    assert gpfq >= float_accuracy - 0.03


@pytest.mark.parametrize("scale_type", ["float", "po2"])
def test_gpfq_keeps_w4a4_accuracy_and_leaves_no_float_copies(lenet, digits, float_accuracy, scale_type):
    config = QuantConfig(weight_bits=4, act_bits=4, weight_scaling="per_channel", scale_type=scale_type, gpfq=True,
                         calib_images=256, layers={"features.conv1": {"quantize": False}})
    network = quantize_network(lenet, digits["train_x"], config, collect_stats=False).network
    assert accuracy_of(network, digits) >= float_accuracy - 0.05
    assert not any("weight_orig" in name for name, _ in network.model.named_buffers())
    # GPFQ switches all quantization off and on again for its float pass: the layer left in float stays so.
    assert network.model.get_submodule("features.conv1").weight_quant.disable_quant
    assert network.model.get_submodule("features.relu1").act_quant.disable_quant


@pytest.mark.parametrize("scale_type", ["float", "po2"])
def test_mse_ranges_clip_harder_at_4_bits_and_export_faithfully(lenet, digits, float_accuracy, scale_type, tmp_path):
    from foldwise.core.quantize.export import check_qonnx, export_qonnx_file
    from foldwise.core.quantize.stats import what_if

    def quantized(act_range: str):
        config = QuantConfig(weight_bits=4, act_bits=4, scale_type=scale_type, act_range=act_range, calib_images=128)
        return quantize_network(lenet, digits["train_x"], config)

    percentile, mse = quantized("percentile"), quantized("mse")
    acts = [e.name for e in percentile.stats.entries if e.kind == "act"]
    assert acts and acts == [e.name for e in mse.stats.entries if e.kind == "act"]
    for name in acts:
        p, m = percentile.stats.get(name), mse.stats.get(name)
        # the least-squares range at 4 bits lies inside the near-max one and clips more of the histogram
        assert m.quant.hi <= p.quant.hi and m.clipped >= p.clipped, name
        assert what_if(m, 4)["hi"] == pytest.approx(m.quant.hi), name  # the stats describe the calibrated range
    if scale_type == "float":
        assert sum(mse.stats.get(n).quant.hi < percentile.stats.get(n).quant.hi for n in acts) == len(acts)
    assert accuracy_of(mse.network, digits) >= float_accuracy - 0.05
    check = check_qonnx(mse.network, export_qonnx_file(mse.network, tmp_path / "mse.qonnx.onnx"),
                        digits["test_x"][:64])
    assert check["faithful"], check["first_mismatch"]
