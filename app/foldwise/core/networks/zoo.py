"""The built-in networks: each declares its input spec, class count and the shipped data set it is meant for.

Float networks (``lenet5``, ``defectnet``, the ResNet family) use only layers FINN's frontend handles after Brevitas
quantization (Conv2d, BatchNorm, ReLU, MaxPool2d, Linear; the ResNets add residual adds and a global average pool,
which FINN's residual streamlining maps to ElementwiseAdd and GlobalAccPool). The ResNet family comes in two
depths (``resnet8``: three stages of one block; ``resnet18``: four of two) and three widths (1×, 0.5×, 0.25×):
full ResNet-18 holds 11 M weights, far more than a small FPGA's on-chip memory.
``mobilenet-0.25x``/``-0.5x`` are MobileNet-v1-style (depthwise 3×3 + pointwise 1×1 blocks), which FINN maps to
VVAU + MVAU.
Children are named (``features.conv1``, ``classifier.fc1``) so that pruning and layer removal read well.
``tfc`` and ``cnv`` are Brevitas's bnn_pynq topologies (already quantized, w1a1), built untrained: their
pretrained weights would be downloaded at run time, which Foldwise never does.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass

import torch
from torch import nn

from foldwise.core.errors import InputError
from foldwise.core.networks.spec import InputSpec


@dataclass(frozen=True)
class ZooEntry:
    """One built-in network: ``build(num_classes)`` makes a fresh, untrained instance (its tuned training
    settings: ``train_config.zoo_train_defaults``)."""

    name: str
    description: str
    spec: InputSpec
    num_classes: int
    builder: Callable[[InputSpec, int], nn.Module]

    def build(self, num_classes: int | None = None) -> nn.Module:
        return self.builder(self.spec, self.num_classes if num_classes is None else num_classes)


class LeNet5(nn.Sequential):
    """LeNet-5 for 1×32×32 images: two conv/ReLU/max-pool blocks, then three fully connected layers."""

    def __init__(self, num_classes: int = 10, in_channels: int = 1) -> None:
        features = nn.Sequential(OrderedDict([
            ("conv1", nn.Conv2d(in_channels, 6, 5)),
            ("relu1", nn.ReLU()),
            ("pool1", nn.MaxPool2d(2)),
            ("conv2", nn.Conv2d(6, 16, 5)),
            ("relu2", nn.ReLU()),
            ("pool2", nn.MaxPool2d(2)),
        ]))
        classifier = nn.Sequential(OrderedDict([
            ("fc1", nn.Linear(16 * 5 * 5, 120)),
            ("relu1", nn.ReLU()),
            ("fc2", nn.Linear(120, 84)),
            ("relu2", nn.ReLU()),
            ("fc3", nn.Linear(84, num_classes)),
        ]))
        super().__init__(OrderedDict([("features", features), ("flatten", nn.Flatten()),
                                      ("classifier", classifier)]))


DEFECTNET_CHANNELS = (16, 32, 64, 128, 256)


class DefectNet(nn.Sequential):
    """AlexNet-style CNN for 3×64×64 inspection patches.

    Five blocks ``conv<i>``/``bn<i>``/``relu<i>``/``pool<i>`` (3×3 convs, channels doubling), a final pool,
    then ``fc1``/``fc2``/``fc3``. The last blocks hold most of the weights (block 5 alone about 70 %), so
    removing them shrinks the network a lot; ``classifier.fc1`` is then re-created for the new input size.

    The default final pool (``"max"``) is a plain 2×2 MaxPool2d: on a 64×64 input the map after block 5 is
    2×2, so it acts as a global max pool, and it exports as MaxPool, which FINN maps to hardware. Adaptive
    pools export as GlobalMaxPool (no FINN hardware layer) or GlobalAveragePool (FINN leaves its Mul and the
    Flatten after it on the CPU), so ``"avg"`` is kept only for networks that stay on the host.
    """

    def __init__(self, num_classes: int = 2, in_channels: int = 3,
                 channels: tuple[int, ...] = DEFECTNET_CHANNELS, hidden: tuple[int, int] = (128, 64),
                 global_pool: str = "max") -> None:
        if global_pool not in ("max", "avg"):
            raise InputError(f"DefectNet global_pool must be 'max' or 'avg', got {global_pool!r}")
        layers: OrderedDict[str, nn.Module] = OrderedDict()
        previous = in_channels
        for i, width in enumerate(channels, start=1):
            layers[f"conv{i}"] = nn.Conv2d(previous, width, 3, padding=1, bias=False)
            layers[f"bn{i}"] = nn.BatchNorm2d(width)
            layers[f"relu{i}"] = nn.ReLU()
            layers[f"pool{i}"] = nn.MaxPool2d(2)
            previous = width
        classifier = nn.Sequential(OrderedDict([
            ("fc1", nn.Linear(previous, hidden[0])),
            ("relu1", nn.ReLU()),
            ("fc2", nn.Linear(hidden[0], hidden[1])),
            ("relu2", nn.ReLU()),
            ("fc3", nn.Linear(hidden[1], num_classes)),
        ]))
        pool = nn.MaxPool2d(2) if global_pool == "max" else nn.AdaptiveAvgPool2d(1)
        super().__init__(OrderedDict([
            ("features", nn.Sequential(layers)),
            ("global_pool", pool),
            ("flatten", nn.Flatten()),
            ("classifier", classifier),
        ]))


class BasicBlock(nn.Module):
    """ResNet basic block: two 3×3 conv/BN, identity or 1×1 projection shortcut."""

    def __init__(self, in_planes: int, planes: int, stride: int = 1) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(in_planes, planes, 3, stride=stride, padding=1, bias=False)
        self.bn1 = nn.BatchNorm2d(planes)
        self.relu1 = nn.ReLU()
        self.conv2 = nn.Conv2d(planes, planes, 3, padding=1, bias=False)
        self.bn2 = nn.BatchNorm2d(planes)
        self.shortcut = nn.Sequential()
        if stride != 1 or in_planes != planes:
            self.shortcut = nn.Sequential(OrderedDict([
                ("conv", nn.Conv2d(in_planes, planes, 1, stride=stride, bias=False)),
                ("bn", nn.BatchNorm2d(planes)),
            ]))
        self.relu2 = nn.ReLU()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = self.relu1(self.bn1(self.conv1(x)))
        out = self.bn2(self.conv2(out))
        return self.relu2(out + self.shortcut(x))


RESNET_DEPTHS: dict[int, tuple[int, ...]] = {8: (1, 1, 1), 18: (2, 2, 2, 2)}  # basic blocks per stage
RESNET_WIDTHS = (0.25, 0.5, 1.0)


class ResNet(nn.Module):
    """ResNet with basic blocks: a 3×3 stem, ``len(blocks)`` stages (channels doubling, stride 2 after the first),
    global average pool and one linear layer.

    ``width`` is the stem's channel count (64 in ResNet-18); a width multiplier scales it. ``stem_stride=2``
    halves a 64×64 input at once, so the stages see CIFAR-sized maps (32×32 down to 4×4) and the network's
    MACs stay those of CIFAR ResNet-18 at 4× the input.
    """

    def __init__(self, num_classes: int = 10, in_channels: int = 3, width: int = 64,
                 blocks: tuple[int, ...] = RESNET_DEPTHS[18], stem_stride: int = 1) -> None:
        super().__init__()
        if width < 1 or not blocks or min(blocks) < 1:
            raise InputError(f"ResNet needs a positive width and at least one block per stage, got {width}, {blocks}")
        self.conv1 = nn.Conv2d(in_channels, width, 3, stride=stem_stride, padding=1, bias=False)
        self.bn1 = nn.BatchNorm2d(width)
        self.relu = nn.ReLU()
        planes = width
        self.stage_names = []
        for i, count in enumerate(blocks):
            out = width * 2**i
            stage = [BasicBlock(planes, out, 1 if i == 0 else 2)]
            stage += [BasicBlock(out, out, 1) for _ in range(count - 1)]
            setattr(self, f"layer{i + 1}", nn.Sequential(*stage))
            self.stage_names.append(f"layer{i + 1}")
            planes = out
        self.avgpool = nn.AdaptiveAvgPool2d(1)
        self.flatten = nn.Flatten()
        self.fc = nn.Linear(planes, num_classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.relu(self.bn1(self.conv1(x)))
        for name in self.stage_names:
            x = getattr(self, name)(x)
        return self.fc(self.flatten(self.avgpool(x)))


def resnet_name(depth: int, multiplier: float) -> str:
    """``resnet18`` at full width, ``resnet18-0.25x`` with a width multiplier."""
    return f"resnet{depth}" if multiplier == 1.0 else f"resnet{depth}-{multiplier:g}x"


def _resnet_entry(depth: int, multiplier: float) -> ZooEntry:
    width = max(1, round(64 * multiplier))
    blocks = RESNET_DEPTHS[depth]
    channels = "/".join(str(width * 2**i) for i in range(len(blocks)))
    size = "full width" if multiplier == 1.0 else f"{multiplier:g}× width"
    return ZooEntry(resnet_name(depth, multiplier),
                    f"ResNet-{depth}, {size} ({channels} channels), stride-2 stem, for 64×64 defect patches",
                    InputSpec((3, 64, 64), dataset="defects"), 2,
                    lambda spec, n: ResNet(n, spec.channels, width, blocks, stem_stride=2))


class DepthwiseSeparable(nn.Sequential):
    """MobileNet block: depthwise 3×3 conv/BN/ReLU, then pointwise 1×1 conv/BN/ReLU (FINN: VVAU, then MVAU)."""

    def __init__(self, in_planes: int, planes: int, stride: int = 1) -> None:
        super().__init__(OrderedDict([
            ("dw", nn.Conv2d(in_planes, in_planes, 3, stride=stride, padding=1, groups=in_planes, bias=False)),
            ("dw_bn", nn.BatchNorm2d(in_planes)),
            ("dw_relu", nn.ReLU()),
            ("pw", nn.Conv2d(in_planes, planes, 1, bias=False)),
            ("pw_bn", nn.BatchNorm2d(planes)),
            ("pw_relu", nn.ReLU()),
        ]))


#: (output channels at 1× width, stride) per depthwise-separable block: MobileNet-v1's first seven
MOBILENET_BLOCKS = ((64, 1), (128, 2), (128, 1), (256, 2), (256, 1), (512, 2), (512, 1))


class MobileNet(nn.Sequential):
    """MobileNet-v1-style network: a 3×3 stride-2 stem, depthwise-separable blocks, global average pool, linear.

    ``multiplier`` scales every width (MobileNet's α). On 64×64 input the blocks see 32×32 down to 4×4 maps.
    """

    def __init__(self, num_classes: int = 2, in_channels: int = 3, multiplier: float = 0.25,
                 blocks: tuple[tuple[int, int], ...] = MOBILENET_BLOCKS) -> None:
        def width(channels: int) -> int:
            return max(1, round(channels * multiplier))

        previous = width(32)
        features: OrderedDict[str, nn.Module] = OrderedDict([
            ("conv1", nn.Conv2d(in_channels, previous, 3, stride=2, padding=1, bias=False)),
            ("bn1", nn.BatchNorm2d(previous)),
            ("relu1", nn.ReLU()),
        ])
        for i, (channels, stride) in enumerate(blocks, start=1):
            features[f"block{i}"] = DepthwiseSeparable(previous, width(channels), stride)
            previous = width(channels)
        super().__init__(OrderedDict([
            ("features", nn.Sequential(features)),
            ("avgpool", nn.AdaptiveAvgPool2d(1)),
            ("flatten", nn.Flatten()),
            ("fc", nn.Linear(previous, num_classes)),
        ]))


def _mobilenet_entry(multiplier: float) -> ZooEntry:
    return ZooEntry(f"mobilenet-{multiplier:g}x",
                    f"MobileNet-style, {multiplier:g}× width: 7 depthwise-separable blocks (depthwise 3×3 + "
                    "pointwise 1×1), for 64×64 defect patches",
                    InputSpec((3, 64, 64), dataset="defects"), 2,
                    lambda spec, n: MobileNet(n, spec.channels, multiplier))


def _bnn_pynq_tfc(spec: InputSpec, num_classes: int) -> nn.Module:
    from brevitas_examples.bnn_pynq.models.FC import FC

    return FC(num_classes=num_classes, weight_bit_width=1, act_bit_width=1, in_bit_width=1,
              in_channels=spec.channels, out_features=[64, 64, 64], in_features=(spec.height, spec.width))


def _bnn_pynq_cnv(spec: InputSpec, num_classes: int) -> nn.Module:
    from brevitas_examples.bnn_pynq.models.CNV import CNV

    return CNV(num_classes=num_classes, weight_bit_width=1, act_bit_width=1, in_bit_width=8, in_ch=spec.channels)


ZOO: dict[str, ZooEntry] = {
    entry.name: entry
    for entry in (
        ZooEntry("lenet5", "LeNet-5: 2 conv + 3 fully connected layers, for 32×32 digits",
                 InputSpec((1, 32, 32), dataset="digits"), 10,
                 lambda spec, n: LeNet5(n, spec.channels)),
        ZooEntry("defectnet", "DefectNet: AlexNet-style CNN (5 conv blocks, 3 FC) for 64×64 defect patches",
                 InputSpec((3, 64, 64), dataset="defects"), 2,
                 lambda spec, n: DefectNet(n, spec.channels)),
        ZooEntry("tfc", "TFC-w1a1 (Brevitas bnn_pynq): binary MLP 64-64-64, input sized for 32×32 digits",
                 InputSpec((1, 32, 32), dataset="digits"), 10, _bnn_pynq_tfc),
        ZooEntry("cnv", "CNV-w1a1 (Brevitas bnn_pynq): binary VGG-like CNN, 6 conv + 3 FC, 32×32 RGB",
                 InputSpec((3, 32, 32)), 10, _bnn_pynq_cnv),
        *(_resnet_entry(depth, m) for depth in RESNET_DEPTHS for m in RESNET_WIDTHS),
        *(_mobilenet_entry(m) for m in (0.25, 0.5)),
    )
}


def get_entry(name: str) -> ZooEntry:
    """The zoo entry called ``name``; InputError listing the known names otherwise."""
    entry = ZOO.get(name)
    if entry is None:
        raise InputError(f"unknown network {name!r}; the zoo has: {', '.join(ZOO)}")
    return entry


def build(name: str, num_classes: int | None = None) -> nn.Module:
    """A fresh, untrained instance of zoo network ``name`` (default class count unless ``num_classes``)."""
    entry = get_entry(name)
    if num_classes is not None and int(num_classes) < 2:
        raise InputError(f"{name}: num_classes must be at least 2, got {num_classes}")
    return entry.build(num_classes)
