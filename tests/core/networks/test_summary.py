from collections import OrderedDict

import pytest
import torch
from torch import nn

from foldwise.core.errors import InputError
from foldwise.core.networks.spec import InputSpec
from foldwise.core.networks.summary import summarize
from foldwise.core.networks.zoo import ZOO, build

SPEC = InputSpec((1, 5, 5))


def _tiny() -> nn.Module:
    return nn.Sequential(OrderedDict([
        ("conv", nn.Conv2d(1, 2, 3)),  # 2×3×3 out; 2·9 + 2 = 20 params; 18 outputs × 9 = 162 MACs
        ("relu", nn.ReLU()),
        ("flatten", nn.Flatten()),
        ("fc", nn.Linear(18, 4)),  # 18·4 + 4 = 76 params; 72 MACs
    ]))


def test_tiny_model_counts_by_hand():
    s = summarize(_tiny(), SPEC)
    assert [r.name for r in s.rows] == ["conv", "relu", "flatten", "fc"]
    assert s.row("conv").output_shape == (2, 3, 3) and s.row("fc").output_shape == (4,)
    assert (s.row("conv").params, s.row("conv").macs) == (20, 162)
    assert (s.row("fc").params, s.row("fc").macs) == (76, 72)
    assert s.row("relu").macs == 0
    assert (s.total_params, s.total_macs) == (96, 234)
    assert s.total_mb == pytest.approx(96 * 4 / 1e6)
    assert s.output_shape == (4,)


def test_per_layer_precision():
    s = summarize(_tiny(), SPEC, {"fc": 8})
    assert s.row("fc").bits == 8 and s.row("conv").bits == 32
    assert s.total_mb == pytest.approx((20 * 4 + 76) / 1e6)
    assert summarize(_tiny(), SPEC, 1).total_mb == pytest.approx(96 / 8 / 1e6)


def test_unknown_precision_layer_and_wrong_input_are_input_errors():
    with pytest.raises(InputError, match="fc9"):
        summarize(_tiny(), SPEC, {"fc9": 8})
    with pytest.raises(InputError, match="1×6×6"):
        summarize(_tiny(), InputSpec((1, 6, 6)))


def test_summary_leaves_training_mode_and_is_json_able():
    model = _tiny().train()
    d = summarize(model, SPEC).to_dict()
    assert model.training
    assert d["total_params"] == 96 and d["layers"][0]["output_shape"] == [2, 3, 3]
    import json

    json.dumps(d)


def test_zoo_totals_match_parameter_counts_and_brevitas_layers_are_rows():
    for name in ("lenet5", "cnv"):
        model = build(name)
        s = summarize(model, ZOO[name].spec)
        assert s.total_params == sum(p.numel() for p in model.parameters())
    s = summarize(build("cnv"), ZOO["cnv"].spec)
    assert s.row("conv_features.1").type == "QuantConv2d"
    assert s.row("conv_features.1").macs == 64 * 30 * 30 * 3 * 9
    assert "format_table" and "total" in s.format_table()


def test_container_own_parameters_are_counted():
    class Scaled(nn.Module):
        def __init__(self):
            super().__init__()
            self.scale = nn.Parameter(torch.ones(3))
            self.fc = nn.Linear(2, 3)

        def forward(self, x):
            return self.fc(x.flatten(1)[:, :2]) * self.scale

    s = summarize(nn.Sequential(Scaled()), InputSpec((1, 1, 2)))
    assert s.total_params == 3 + 9
