"""What to quantize and how: network-wide bit widths, per-layer overrides and the PTQ options.

A :class:`QuantConfig` is plain data (JSON round trip with :meth:`QuantConfig.to_dict` /
:meth:`QuantConfig.from_dict`) and evented (psygnal): a panel connects to ``config.events.<field>``.
Layer names are the float network's module names (``features.conv1``, ``classifier.fc3``); an override
keyed by a weight layer sets its weight bits and the bits of the activation that quantizes its output; one
keyed by an activation module (``features.relu1``) sets that activation's bits.
"""

from __future__ import annotations

import enum
import json
import os
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from psygnal import evented

from foldwise.core.errors import InputError

MIN_BITS = 1
MAX_BITS = 8


class WeightScaling(str, enum.Enum):
    """One weight scale per tensor, or one per output channel."""

    PER_TENSOR = "per_tensor"
    PER_CHANNEL = "per_channel"


class ScaleType(str, enum.Enum):
    """Scales as any float, or restricted to powers of two (shifts on hardware)."""

    FLOAT = "float"
    PO2 = "po2"


class ActRange(str, enum.Enum):
    """How calibration sets an activation quantizer's range."""

    PERCENTILE = "percentile"  # the 99.999th percentile of the values (Brevitas's default)
    MSE = "mse"  # the range with the least mean squared quantization error, found for the quantizer's bit width


def check_bits(value: Any, what: str) -> int:
    """``value`` as an int bit width in 1..8, else InputError naming ``what``."""
    if isinstance(value, bool) or not isinstance(value, int | float) or int(value) != value:
        raise InputError(f"{what}: bit width must be a whole number from {MIN_BITS} to {MAX_BITS}, got {value!r}")
    bits = int(value)
    if not MIN_BITS <= bits <= MAX_BITS:
        raise InputError(f"{what}: bit width must be from {MIN_BITS} to {MAX_BITS}, got {bits}")
    return bits


@dataclass
class LayerOverride:
    """Per-layer settings; ``None`` keeps the network default."""

    weight_bits: int | None = None
    act_bits: int | None = None
    quantize: bool = True

    def to_dict(self) -> dict[str, Any]:
        return {"weight_bits": self.weight_bits, "act_bits": self.act_bits, "quantize": self.quantize}

    @classmethod
    def from_dict(cls, data: Any, name: str = "") -> LayerOverride:
        if isinstance(data, LayerOverride):
            return data
        if not isinstance(data, dict):
            raise InputError(f"layer {name!r}: override must be an object with weight_bits/act_bits/quantize")
        unknown = set(data) - {"weight_bits", "act_bits", "quantize"}
        if unknown:
            raise InputError(f"layer {name!r}: unknown override keys {sorted(unknown)} "
                             "(use weight_bits, act_bits, quantize)")
        return cls(data.get("weight_bits"), data.get("act_bits"), bool(data.get("quantize", True)))


@evented
@dataclass
class QuantConfig:
    """Post-training quantization settings (see the module docstring for layer names)."""

    weight_bits: int = 8
    act_bits: int = 8
    # per-channel by default: W4A4 on resnet8-0.25x it kept 91–93 % where per-tensor kept 69–85 % (two machines),
    # and on the chains it was within a point (benchmarks/bench_quant_weight_scaling.py)
    weight_scaling: WeightScaling = WeightScaling.PER_CHANNEL
    scale_type: ScaleType = ScaleType.FLOAT
    calib_images: int = 256
    # percentile by default: at W4A4 it kept 94.5 % on average over resnet8-0.25x, DefectNet and LeNet-5 with 64
    # and 512 calibration images, MSE 91.2 %; MSE lost most on resnet8 (benchmarks/bench_quant_act_range.py)
    act_range: ActRange = ActRange.PERCENTILE
    bias_correction: bool = False
    gpfq: bool = False
    layers: dict[str, LayerOverride] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.validate()

    def validate(self, known_layers: Iterable[str] | None = None) -> None:
        """Raise InputError on a bad value, or (given ``known_layers``) on overrides naming unknown layers."""
        self.weight_bits = check_bits(self.weight_bits, "weights")
        self.act_bits = check_bits(self.act_bits, "activations")
        try:
            self.weight_scaling = WeightScaling(self.weight_scaling)
            self.scale_type = ScaleType(self.scale_type)
            self.act_range = ActRange(self.act_range)
        except ValueError as exc:
            raise InputError(f"quantization config: {exc}") from exc
        if isinstance(self.calib_images, bool) or not isinstance(self.calib_images, int) or self.calib_images < 1:
            raise InputError(f"calibration needs at least 1 image, got {self.calib_images!r}")
        self.layers = {str(k): LayerOverride.from_dict(v, str(k)) for k, v in (self.layers or {}).items()}
        for name, override in self.layers.items():
            if override.weight_bits is not None:
                override.weight_bits = check_bits(override.weight_bits, f"layer {name} weights")
            if override.act_bits is not None:
                override.act_bits = check_bits(override.act_bits, f"layer {name} activations")
        if known_layers is not None:
            known = list(known_layers)
            unknown = sorted(set(self.layers) - set(known))
            if unknown:
                raise InputError(f"per-layer settings name unknown layers: {', '.join(unknown)}; "
                                 f"the network's layers are: {', '.join(known)}")

    # ----------------------------------------------------------------- per-layer lookups
    def weight_bits_for(self, name: str) -> int:
        override = self.layers.get(name)
        return override.weight_bits if override and override.weight_bits is not None else self.weight_bits

    def act_bits_for(self, name: str) -> int:
        override = self.layers.get(name)
        return override.act_bits if override and override.act_bits is not None else self.act_bits

    def is_quantized(self, name: str) -> bool:
        override = self.layers.get(name)
        return override.quantize if override else True

    # ----------------------------------------------------------------- JSON
    def to_dict(self) -> dict[str, Any]:
        return {
            "weight_bits": self.weight_bits,
            "act_bits": self.act_bits,
            "weight_scaling": WeightScaling(self.weight_scaling).value,
            "scale_type": ScaleType(self.scale_type).value,
            "calib_images": self.calib_images,
            "act_range": ActRange(self.act_range).value,
            "bias_correction": self.bias_correction,
            "gpfq": self.gpfq,
            "layers": {name: o.to_dict() for name, o in self.layers.items()},
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> QuantConfig:
        if not isinstance(data, dict):
            raise InputError(f"quantization config must be a JSON object, got {type(data).__name__}")
        known = set(cls().to_dict())
        unknown = set(data) - known
        if unknown:
            raise InputError(f"quantization config: unknown keys {sorted(unknown)} (known: {sorted(known)})")
        values = dict(data)
        values["layers"] = {str(k): LayerOverride.from_dict(v, str(k)) for k, v in (data.get("layers") or {}).items()}
        return cls(**values)

    @classmethod
    def from_saved(cls, data: Any) -> QuantConfig | None:
        """Settings a record kept (an iteration's change, a kept scan), or None if they are missing or invalid;
        a record older than a field reads as that field's default."""
        try:
            return cls.from_dict(data) if isinstance(data, dict) else None
        except InputError:
            return None

    def save(self, path: str | os.PathLike[str]) -> Path:
        target = Path(path)
        target.write_text(json.dumps(self.to_dict(), indent=2) + "\n", encoding="utf-8")
        return target

    @classmethod
    def load(cls, path: str | os.PathLike[str]) -> QuantConfig:
        source = Path(path)
        try:
            data = json.loads(source.read_text(encoding="utf-8"))
        except FileNotFoundError as exc:
            raise InputError(f"quantization config not found: {source}") from exc
        except (json.JSONDecodeError, UnicodeDecodeError) as exc:
            raise InputError(f"{source} is not valid JSON: {exc}") from exc
        return cls.from_dict(data)


def load_layer_overrides(path: str | os.PathLike[str]) -> dict[str, LayerOverride]:
    """Read a per-layer file: ``{"layer": {"weight_bits": 4, ...}}`` or ``{"layers": {...}}``."""
    source = Path(path)
    try:
        data = json.loads(source.read_text(encoding="utf-8"))
    except FileNotFoundError as exc:
        raise InputError(f"per-layer file not found: {source}") from exc
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise InputError(f"{source} is not valid JSON: {exc}") from exc
    if isinstance(data, dict) and isinstance(data.get("layers"), dict):
        data = data["layers"]
    if not isinstance(data, dict):
        raise InputError(f"{source}: expected an object mapping layer names to settings")
    return {str(k): LayerOverride.from_dict(v, str(k)) for k, v in data.items()}


@dataclass
class QuantizeSpec:
    """A quantize run: PTQ with ``config``, then ``qat_epochs`` of quantization-aware training (0: none), of
    the float ``iteration`` (None: the current one) into a new iteration named ``name`` (None: ``w4a4-qat2``…)."""

    config: QuantConfig = field(default_factory=QuantConfig)
    qat_epochs: int = 0
    name: str | None = None
    iteration: str | None = None

    def __post_init__(self) -> None:
        if int(self.qat_epochs) < 0:
            raise InputError(f"QAT epochs cannot be negative, got {self.qat_epochs}")


@dataclass
class ExportSpec:
    """An export of the quantized ``iteration`` (None: the current one) to ``path``, checked against torch on
    ``images`` test images."""

    path: str | os.PathLike[str]
    images: int = 64
    iteration: str | None = None


@dataclass
class ExportResult:
    """What an export wrote (``format`` "qonnx" or "qcdq") and its check against torch (measured)."""

    iteration: str
    format: str
    path: str
    check: dict[str, Any]
    input_datatype: str | None = None

    def to_dict(self) -> dict[str, Any]:
        """As ``foldwise export --json`` prints it: the file under its format's name."""
        data: dict[str, Any] = {"iteration": self.iteration, self.format: self.path}
        if self.input_datatype is not None:
            data["input_datatype"] = self.input_datatype
        return {**data, "check": self.check}
