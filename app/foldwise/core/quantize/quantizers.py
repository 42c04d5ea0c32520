"""Brevitas quantizer classes for a bit width, weight scaling and scale type, chosen for FINN.

FINN-friendly choices (see shared FACTS): symmetric narrow-range weights, unsigned ReLU outputs, *signed*
requantizing identities (FINN rejects an unsigned QuantIdentity; the one exception, a network that concatenates,
is in :func:`layer_maps`) and float biases (``bias_quant=None``).
1-bit weights and signed 1-bit identities are bipolar (±1, BNN style, constant scale 1).
"""

from __future__ import annotations

import brevitas.nn as qnn
from brevitas.inject.enum import ScalingImplType
from brevitas.quant.binary import SignedBinaryActPerTensorConst, SignedBinaryWeightPerTensorConst
from brevitas.quant.fixed_point import (
    Int8ActPerTensorFixedPoint,
    Int8ActPerTensorFixedPointMSE,
    Int8WeightPerChannelFixedPoint,
    Int8WeightPerTensorFixedPoint,
    Uint8ActPerTensorFixedPoint,
    Uint8ActPerTensorFixedPointMSE,
)
from brevitas.quant.scaled_int import (
    Int8ActPerTensorFloat,
    Int8ActPerTensorFloatMSE,
    Int8WeightPerChannelFloat,
    Int8WeightPerTensorFloat,
    Uint8ActPerTensorFloat,
    Uint8ActPerTensorFloatMSE,
)
from torch import nn

from foldwise.core.quantize.config import ActRange, QuantConfig, ScaleType, WeightScaling

COMPUTE_TYPES: dict[type[nn.Module], type[nn.Module]] = {
    nn.Conv1d: qnn.QuantConv1d,
    nn.Conv2d: qnn.QuantConv2d,
    nn.Linear: qnn.QuantLinear,
}
UNSIGNED_ACT_TYPES: tuple[type[nn.Module], ...] = (nn.ReLU, nn.ReLU6)


def quantizable_layers(model: nn.Module) -> list[str]:
    """Names of the float network's layers these quantizers replace (weight layers and activations), in
    module order: the names per-layer bit settings may use."""
    types = (*COMPUTE_TYPES, *UNSIGNED_ACT_TYPES)
    return [name for name, m in model.named_modules() if name and isinstance(m, types)]


def weight_quant(bits: int, config: QuantConfig) -> type:
    if bits == 1:
        return SignedBinaryWeightPerTensorConst
    po2 = config.scale_type == ScaleType.PO2
    if config.weight_scaling == WeightScaling.PER_CHANNEL:
        base = Int8WeightPerChannelFixedPoint if po2 else Int8WeightPerChannelFloat
    else:
        base = Int8WeightPerTensorFixedPoint if po2 else Int8WeightPerTensorFloat
    if config.gpfq:
        # GPFQ rewrites the float weights column by column. A scale re-derived from their max on every call
        # drifts as it does, re-gridding the columns already rounded; at 4 bits and below that feedback
        # collapsed LeNet5 to chance. Initialised from the same max, then held, the scale stays put.
        return base.let(bit_width=bits, scaling_impl_type=ScalingImplType.PARAMETER_FROM_STATS)
    return base.let(bit_width=bits)


# (unsigned, signed) activation quantizers by (scale type, range statistic)
ACT_QUANTS: dict[tuple[ScaleType, ActRange], tuple[type, type]] = {
    (ScaleType.FLOAT, ActRange.PERCENTILE): (Uint8ActPerTensorFloat, Int8ActPerTensorFloat),
    (ScaleType.FLOAT, ActRange.MSE): (Uint8ActPerTensorFloatMSE, Int8ActPerTensorFloatMSE),
    (ScaleType.PO2, ActRange.PERCENTILE): (Uint8ActPerTensorFixedPoint, Int8ActPerTensorFixedPoint),
    (ScaleType.PO2, ActRange.MSE): (Uint8ActPerTensorFixedPointMSE, Int8ActPerTensorFixedPointMSE),
}


def unsigned_act_quant(bits: int, config: QuantConfig) -> type:
    return ACT_QUANTS[ScaleType(config.scale_type), ActRange(config.act_range)][0].let(bit_width=bits)


def signed_act_quant(bits: int, config: QuantConfig) -> type:
    if bits == 1:
        return SignedBinaryActPerTensorConst
    return ACT_QUANTS[ScaleType(config.scale_type), ActRange(config.act_range)][1].let(bit_width=bits)


def layer_maps(config: QuantConfig, concatenates: bool = False) -> tuple[dict, dict, dict]:
    """(compute_layer_map, quant_act_map, quant_identity_map) for ``brevitas.graph.quantize`` at the defaults.

    ``concatenates``: the network has a ``torch.cat``. Brevitas gives every input of a concatenation the sign of
    one shared quantizer, its 'unsigned' identity when all inputs are non-negative; mapped to the signed one,
    the ReLUs feeding the concatenation would turn signed, which FINN's QONNX conversion refuses after a ReLU.

    Per-layer bit widths are applied afterwards by re-initialising each proxy (see ``_graph.set_bits``).
    """
    compute = {
        float_type: (quant_type, {"weight_quant": weight_quant(config.weight_bits, config),
                                  "bias_quant": None, "return_quant_tensor": False})
        for float_type, quant_type in COMPUTE_TYPES.items()
    }
    acts = {
        act_type: (qnn.QuantReLU, {"act_quant": unsigned_act_quant(config.act_bits, config),
                                   "return_quant_tensor": True})
        for act_type in UNSIGNED_ACT_TYPES
    }
    signed = (qnn.QuantIdentity, {"act_quant": signed_act_quant(config.act_bits, config),
                                  "return_quant_tensor": True})
    # otherwise 'unsigned' maps to the signed identity, as checked through FINN for chains and residual adds
    unsigned = (qnn.QuantIdentity, {"act_quant": unsigned_act_quant(config.act_bits, config),
                                    "return_quant_tensor": True}) if concatenates else signed
    identities = {"signed": signed, "unsigned": unsigned}
    return compute, acts, identities
