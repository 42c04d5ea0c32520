"""Residual networks end to end: Brevitas shares one quantizer across each add, FINN's residual streamlining
puts every layer on hardware (ElementwiseAdd, DuplicateStreams, GlobalAccPool), nothing but the input's layout
change left on the CPU. Tiny widths and calibration only, to keep it quick."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch

from foldwise.core.errors import InputError
from foldwise.core.finn import build
from foldwise.core.networks.spec import InputSpec
from foldwise.core.networks.zoo import ResNet
from foldwise.core.quantize.config import LayerOverride, QuantConfig
from foldwise.core.quantize.export import check_qonnx, export_qonnx_file
from foldwise.core.quantize.ptq import quantize_network
from tests.core.quantize.conftest import assert_faithful

SPEC = InputSpec((3, 16, 16))


def _tiny_resnet() -> ResNet:
    torch.manual_seed(0)
    return ResNet(2, 3, width=4, blocks=(1, 1), stem_stride=1).eval()  # identity skip, then a projection skip


def _images(n: int = 16) -> torch.Tensor:
    return torch.randint(0, 256, (n, *SPEC.shape), generator=torch.Generator().manual_seed(1)).to(torch.uint8)


@pytest.fixture(scope="module")
def quantized_resnet(tmp_path_factory: pytest.TempPathFactory) -> tuple:
    config = QuantConfig(weight_bits=4, act_bits=4, calib_images=16)
    network = quantize_network(_tiny_resnet(), _images(), config, spec=SPEC, collect_stats=False).network
    path = export_qonnx_file(network, tmp_path_factory.mktemp("res") / "tiny_resnet.qonnx.onnx")
    return network, path


def test_both_inputs_of_every_residual_add_share_one_quantizer(quantized_resnet) -> None:
    network, _path = quantized_resnet
    assert [g["join"] for g in network.shared] == ["add", "add_1"]
    assert all(g["shared"] and g["bits"] == [4, 4] for g in network.shared)
    identity, projection = network.shared
    # identity skip: the block's input ReLU re-made with the add's scale; projection: one identity on both
    assert [i["after"] for i in identity["inputs"]] == ["layer1.0.conv2", "conv1"]
    assert projection["inputs"][0]["quantizer"] == projection["inputs"][1]["quantizer"]
    assert [i["after"] for i in projection["inputs"]] == ["layer2.0.conv2", "layer2.0.shortcut.conv"]


def test_qonnx_export_is_bit_exact(quantized_resnet) -> None:
    network, path = quantized_resnet
    assert_faithful(check_qonnx(network, path, _images(8)))


def test_every_layer_of_a_residual_network_is_on_hardware(finn_worker, quantized_resnet, tmp_path: Path) -> None:
    _network, path = quantized_resnet
    report = build.estimate(path, target_fps=1000, build_dir=tmp_path / "b", worker=finn_worker)
    assert [n["op_type"] for n in report.cpu_nodes] == ["Transpose"]  # NCHW→NHWC of the input image only
    ops = {name.rsplit("_", 2)[0] for name in report.node_cycles}
    assert {"MVAU", "ElementwiseAdd", "DuplicateStreams", "GlobalAccPool", "Thresholding"} <= ops
    # the stem, 2 + 2 block convs, the 1×1 shortcut and the linear layer
    assert sum(name.startswith("MVAU") for name in report.node_cycles) == 7
    assert report.fps.source == "estimated" and report.fps.value > 0
    meta = json.loads((tmp_path / "b" / "foldwise_build.json").read_text())
    assert "step_resnet_streamline" in meta["steps"] and "step_streamline" not in meta["steps"]
    assert "step_streamline_global_pool" in meta["steps"]
    assert "residual topology" in meta["streamlining"] and "GlobalAccPool" in meta["streamlining"]
    assert report.streamlining == meta["streamlining"]


class OneBlock(torch.nn.Module):
    """A residual network written in plain PyTorch (no Foldwise or Brevitas), as a user would export it."""

    def __init__(self) -> None:
        super().__init__()
        nn = torch.nn
        self.stem, self.bn0, self.r0 = nn.Conv2d(1, 8, 3, padding=1, bias=False), nn.BatchNorm2d(8), nn.ReLU()
        self.c1, self.b1, self.r1 = nn.Conv2d(8, 8, 3, padding=1, bias=False), nn.BatchNorm2d(8), nn.ReLU()
        self.c2, self.b2, self.r2 = nn.Conv2d(8, 8, 3, padding=1, bias=False), nn.BatchNorm2d(8), nn.ReLU()
        self.pool, self.fc = nn.AdaptiveAvgPool2d(1), nn.Linear(8, 10)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.r0(self.bn0(self.stem(x)))
        y = self.b2(self.c2(self.r1(self.b1(self.c1(x)))))
        return self.fc(torch.flatten(self.pool(self.r2(x + y)), 1))


def test_an_imported_one_block_residual_onnx_network_reaches_hardware(finn_worker, tmp_path: Path) -> None:
    from foldwise.core.networks.importers import import_network

    torch.manual_seed(0)
    torch.onnx.export(OneBlock().eval(), torch.rand(1, 1, 32, 32), tmp_path / "oneblock.onnx", dynamo=False,
                      opset_version=13)
    spec = InputSpec((1, 32, 32))
    loaded = import_network(tmp_path / "oneblock.onnx", spec=spec)
    # onnx2torch's mean over H, W is a global pool again (as ReduceMean, FINN's streamlining never finished)
    assert any(isinstance(m, torch.nn.AdaptiveAvgPool2d) for m in loaded.model.modules())
    images = torch.randint(0, 256, (16, 1, 32, 32), generator=torch.Generator().manual_seed(2)).to(torch.uint8)
    network = quantize_network(loaded.model, images, QuantConfig(weight_bits=4, act_bits=4, calib_images=16),
                               spec=spec, collect_stats=False).network
    assert [g["shared"] for g in network.shared] == [True]
    path = export_qonnx_file(network, tmp_path / "oneblock.qonnx.onnx")
    assert_faithful(check_qonnx(network, path, images[:8]))
    report = build.estimate(path, target_fps=1000, build_dir=tmp_path / "b", worker=finn_worker)
    assert [n["op_type"] for n in report.cpu_nodes] == ["Transpose"]
    assert {"ElementwiseAdd_hls_0", "GlobalAccPool_hls_0", "MVAU_hls_3"} <= set(report.node_cycles)


def test_per_layer_bits_that_would_split_a_shared_quantizer_are_refused() -> None:
    config = QuantConfig(weight_bits=4, act_bits=4, calib_images=4, layers={"conv1": LayerOverride(act_bits=8)})
    with pytest.raises(InputError, match=r"relu \(8 bits\) shares its scale .* residual add add "):
        quantize_network(_tiny_resnet(), _images(4), config, spec=SPEC, collect_stats=False)


def test_a_depthwise_separable_network_maps_to_vvau_and_mvau(finn_worker, tmp_path: Path) -> None:
    from foldwise.core.networks.zoo import MobileNet

    torch.manual_seed(0)
    model = MobileNet(2, 3, 0.25, ((16, 1), (32, 2))).eval()  # stem 8, two blocks: 8→16, 16→32 (stride 2)
    network = quantize_network(model, _images(), QuantConfig(weight_bits=4, act_bits=4, calib_images=16),
                               spec=SPEC, collect_stats=False).network
    assert network.shared == []  # no residual add: nothing to share
    path = export_qonnx_file(network, tmp_path / "mobilenet.qonnx.onnx")
    assert_faithful(check_qonnx(network, path, _images(8)))
    report = build.estimate(path, target_fps=1000, build_dir=tmp_path / "b", worker=finn_worker)
    assert [n["op_type"] for n in report.cpu_nodes] == ["Transpose"]
    kinds = sorted(name.rsplit("_", 2)[0] for name in report.node_cycles if name[:4] in ("VVAU", "MVAU"))
    assert kinds == ["MVAU"] * 4 + ["VVAU"] * 2  # stem, 2 pointwise, linear; 2 depthwise
    assert report.streamlining.startswith("global average pool")  # no fork or join: FINN's default streamline


def test_a_mean_in_a_residual_network_is_refused_before_finn_loops_on_it(finn_worker, tmp_path: Path) -> None:
    class MeanPooled(torch.nn.Module):
        def __init__(self) -> None:
            super().__init__()
            nn = torch.nn
            self.c0, self.r0 = nn.Conv2d(3, 4, 3, padding=1), nn.ReLU()
            self.c1, self.r1 = nn.Conv2d(4, 4, 3, padding=1), nn.ReLU()
            self.fc = nn.Linear(4, 2)

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            x = self.r0(self.c0(x))
            y = self.r1(x + self.c1(x))
            return self.fc(torch.flatten(torch.mean(y, dim=(2, 3), keepdim=True), 1))

    torch.manual_seed(0)
    network = quantize_network(MeanPooled().eval(), _images(8), QuantConfig(weight_bits=4, act_bits=4,
                                                                            calib_images=8),
                               spec=SPEC, collect_stats=False).network
    path = export_qonnx_file(network, tmp_path / "mean.qonnx.onnx")
    with pytest.raises(InputError, match=r"ReduceMean_0 \(ReduceMean\) in a residual network: .*AdaptiveAvgPool2d"):
        build.estimate(path, build_dir=tmp_path / "b", worker=finn_worker)


class Broadcast(torch.nn.Module):
    """A residual add of a 4-channel branch and one channel of the input (a broadcast skip)."""

    def __init__(self) -> None:
        super().__init__()
        self.c0, self.r0 = torch.nn.Conv2d(3, 4, 3, padding=1), torch.nn.ReLU()
        self.pool, self.fc = torch.nn.AdaptiveAvgPool2d(1), torch.nn.Linear(4, 2)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.fc(torch.flatten(self.pool(self.r0(self.c0(x)) + x[:, :1]), 1))


def test_a_skip_of_another_shape_is_refused_with_both_shapes_before_finn_loops_on_it(finn_worker,
                                                                                    tmp_path: Path) -> None:
    """#16 bad input: a residual add that broadcasts (4 channels + the 3-channel input) is listed with both
    shapes and the fix; FINN's residual streamlining would retry on it forever."""
    torch.manual_seed(0)
    network = quantize_network(Broadcast().eval(), _images(8), QuantConfig(weight_bits=4, act_bits=4,
                                                                           calib_images=8),
                               spec=SPEC, collect_stats=False).network
    path = export_qonnx_file(network, tmp_path / "broadcast.qonnx.onnx")
    with pytest.raises(InputError, match=r"Add_0 \(Add\) adds 1×4×16×16 and 1×1×16×16: FINN adds two streams of "
                                         r"one shape only; .*1×1 convolution"):
        build.estimate(path, build_dir=tmp_path / "b", worker=finn_worker)


class DenseSkip(torch.nn.Module):
    """A skip by concatenation (DenseNet-style): the block's input and its ReLU branch, side by side.
    ``signed_skip`` concatenates the branch with a convolution's signed output instead."""

    def __init__(self, signed_skip: bool = False, dim: int = 1, channels: int = 3, classes: int = 2) -> None:
        super().__init__()
        nn = torch.nn
        self.signed_skip, self.dim = signed_skip, dim
        self.c0, self.r0 = nn.Conv2d(channels, 4, 3, padding=1), nn.ReLU()
        self.c1, self.r1 = nn.Conv2d(4, 4, 3, padding=1), nn.ReLU()
        self.c2 = nn.Conv2d(4, 4, 1)
        self.pool, self.fc = nn.AdaptiveAvgPool2d(1), nn.Linear(8 if dim == 1 else 4, classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.r0(self.c0(x))
        skip = self.c2(x) if self.signed_skip else x
        return self.fc(torch.flatten(self.pool(torch.cat([skip, self.r1(self.c1(x))], self.dim)), 1))


def _quantized(model: torch.nn.Module) -> object:
    torch.manual_seed(0)
    return quantize_network(model.eval(), _images(8), QuantConfig(weight_bits=4, act_bits=4, calib_images=8),
                            spec=SPEC, collect_stats=False).network


def test_a_skip_by_concatenation_of_relus_shares_one_unsigned_quantizer_and_reaches_hardware(
        finn_worker, tmp_path: Path) -> None:
    """#16: Brevitas gives a concatenation's inputs one sign; with its signed identity the ReLUs turned signed
    and FINN's QONNX conversion refused them. An unsigned one keeps them ReLUs FINN can map."""
    torch.manual_seed(0)
    network = _quantized(DenseSkip())
    [group] = network.shared
    assert group["kind"] == "concatenation" and group["shared"] and group["bits"] == [4, 4]
    assert [(i["after"], i["signed"]) for i in group["inputs"]] == [("c0", False), ("c1", False)]
    path = export_qonnx_file(network, tmp_path / "dense.qonnx.onnx")
    assert_faithful(check_qonnx(network, path, _images(8)))
    report = build.estimate(path, target_fps=1000, build_dir=tmp_path / "b", worker=finn_worker)
    assert [n["op_type"] for n in report.cpu_nodes] == ["Transpose"]
    assert {"StreamingConcat_hls_0", "DuplicateStreams_hls_0", "GlobalAccPool_hls_0"} <= set(report.node_cycles)


def test_an_imported_skip_by_concatenation_quantizes_both_inputs_in_torch_as_in_the_export(tmp_path: Path) -> None:
    """Brevitas's calibration left a quantizer shared by two ReLUs observing only (it records each proxy's flags,
    the shared one twice): torch then computed those ReLUs in float while the export quantized them."""
    from foldwise.core.networks.importers import import_network

    torch.manual_seed(0)
    torch.onnx.export(DenseSkip().eval(), torch.rand(1, *SPEC.shape), tmp_path / "dense.onnx", dynamo=False,
                      opset_version=13)
    loaded = import_network(tmp_path / "dense.onnx", spec=SPEC)
    network = _quantized(loaded.model)
    [group] = network.shared
    relus = [network.model.get_submodule(item["quantizer"]) for item in group["inputs"]]
    proxy = relus[0].act_quant.fused_activation_quant_proxy.tensor_quant
    assert relus[1].act_quant.fused_activation_quant_proxy.tensor_quant is proxy  # one quantizer, two ReLUs
    outputs = []
    hooks = [relu.register_forward_hook(lambda _m, _i, out: outputs.append(out)) for relu in relus]
    with torch.no_grad():
        network(_images(4).float())
    for hook in hooks:
        hook.remove()
    for out in outputs:
        levels = out.value / out.scale
        assert torch.equal(levels, levels.round()) and float(levels.max()) <= 15  # on the 4-bit grid
    assert_faithful(check_qonnx(network, export_qonnx_file(network, tmp_path / "dense.qonnx.onnx"), _images(8)))


def test_a_concatenation_of_a_signed_skip_and_a_relu_is_refused_per_node_before_finn(
        finn_worker, tmp_path: Path) -> None:
    """#16 bad input: FINN's own message ("only supports unsigned and non-narrow Quant nodes for Relu
    activations") named no node; the refusal names the quantizer, its ReLU and the concatenation."""
    network = _quantized(DenseSkip(signed_skip=True))
    [group] = network.shared
    assert [i["signed"] for i in group["inputs"]] == [True, True]  # Brevitas aligned the sign to the conv's
    path = export_qonnx_file(network, tmp_path / "signed.qonnx.onnx")
    with pytest.raises(InputError, match=r"Quant_\d+ after Relu_1 \(Relu\) is signed, sharing the sign of the "
                                         r"other inputs of Concat_0 \(Concat\): FINN converts only unsigned"):
        build.estimate(path, build_dir=tmp_path / "b", worker=finn_worker)
    assert not (tmp_path / "b" / "build_dataflow.log").exists()  # refused before any FINN step


def test_a_concatenation_along_the_height_stays_on_the_cpu_with_the_reason(finn_worker, tmp_path: Path) -> None:
    network = _quantized(DenseSkip(dim=2))
    path = export_qonnx_file(network, tmp_path / "height.qonnx.onnx")
    with pytest.raises(InputError, match=r"Nodes left on the CPU: .*Concat_0 \(Concat\): FINN concatenates "
                                         r"integer streams of one scale along channels only"):
        build.estimate(path, build_dir=tmp_path / "b", worker=finn_worker)
