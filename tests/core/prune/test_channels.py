from unittest import mock

import pytest
import torch
from torch import nn

from foldwise.core.errors import Cancelled, InputError
from foldwise.core.jobs import JobContext
from foldwise.core.networks.zoo import ZOO, build
from foldwise.core.prune.channels import prune_channels, widths
from foldwise.core.prune.sensitivity import sensitivity_scan
from tests.core.prune._fixtures import digits_splits, lenet_model

LENET, DEFECT = ZOO["lenet5"].spec, ZOO["defectnet"].spec


def params(model: nn.Module) -> int:
    return sum(p.numel() for p in model.parameters())


def test_half_the_channels_really_go_and_coupled_layers_follow():
    model = build("defectnet")
    result = prune_channels(model, DEFECT, 0.5)
    new = result.model
    assert result.protected == ["features.conv1", "classifier.fc3"]
    assert new.features.conv1.out_channels == 16  # input layer protected
    assert new.features.conv5.weight.shape == (128, 64, 3, 3)  # tensors shrink: no masks
    assert new.features.bn5.weight.shape == (128,) and new.features.bn5.running_mean.shape == (128,)
    assert new.classifier.fc1.weight.shape == (64, 128)
    assert new.classifier.fc3.out_features == 2  # output layer whole
    assert new(torch.zeros(2, *DEFECT.shape)).shape == (2, 2)
    assert params(new) < 0.3 * params(model)
    assert model.features.conv5.out_channels == 256  # caller's model untouched
    assert result.changed["features.conv5"] == (256, 128)


def test_unprotected_input_layer_is_pruned_too():
    result = prune_channels(build("lenet5"), LENET, 0.5, protect_input=False)
    assert result.after["features.conv1"] == 3 and result.protected == ["classifier.fc3"]


def test_per_layer_ratios_touch_only_those_layers():
    result = prune_channels(build("lenet5"), LENET, layer_ratios={"features.conv2": 0.5, "classifier.fc1": 0.25})
    assert result.changed == {"features.conv2": (16, 8), "classifier.fc1": (120, 90)}


@pytest.mark.parametrize("criterion", ["l1", "l2", "fpgm", "random", "taylor"])
def test_every_criterion_prunes(criterion):
    batch = (torch.rand(8, 1, 32, 32), torch.randint(0, 10, (8,)))
    result = prune_channels(build("lenet5"), LENET, 0.5, criterion=criterion, taylor_batch=batch)
    assert result.after["features.conv2"] == 8


def test_l1_keeps_the_largest_channels():
    model = build("lenet5")
    with torch.no_grad():
        model.features.conv2.weight.mul_(0.01)
        model.features.conv2.weight[[1, 4, 9, 12]] *= 1000
    result = prune_channels(model, LENET, layer_ratios={"features.conv2": 0.75})
    kept = result.model.features.conv2.weight
    assert torch.equal(kept, model.features.conv2.weight[[1, 4, 9, 12]])


def test_iterative_pruning_fine_tunes_between_steps_and_ends_at_the_same_widths():
    seen = []

    def between(model: nn.Module, step: int) -> nn.Module:
        seen.append((step, widths(model)["features.conv2"]))
        return model

    result = prune_channels(build("lenet5"), LENET, 0.5, steps=3, between_steps=between)
    assert seen == [(1, 13), (2, 11)]
    assert result.after == prune_channels(build("lenet5"), LENET, 0.5).after


@pytest.mark.parametrize(("kwargs", "words"), [
    ({"ratio": 1.0}, "between 0 and 1"),
    ({"ratio": 0.0}, "between 0 and 1"),
    ({"ratio": -0.5}, "between 0 and 1"),
    ({"ratio": 0.5, "criterion": "loud"}, "unknown pruning criterion"),
    ({"layer_ratios": {"classifier.fc3": 0.5}}, "output layer"),
    ({"layer_ratios": {"features.relu1": 0.5}}, "is a ReLU"),
    ({"layer_ratios": {"features.conv7": 0.5}}, "no layer named 'features.conv7'"),
    ({"layer_ratios": {"features.conv1": 0.5}}, "protected"),
    ({}, "give a channel ratio"),
])
def test_bad_requests_are_input_errors(kwargs, words):
    with pytest.raises(InputError, match=words):
        prune_channels(build("lenet5"), LENET, **kwargs)


def test_sensitivity_scan_reports_each_layer_and_ratio_live():
    partial = mock.Mock()
    ctx = JobContext(on_partial=partial)
    result = sensitivity_scan(lenet_model(), LENET, digits_splits().val, ratios=[0.5, 0.9], max_images=100, ctx=ctx)
    assert list(result.curves) == ["features.conv1", "features.conv2", "classifier.fc1", "classifier.fc2"]
    assert all(len(v) == 2 for v in result.curves.values()) and result.images == 100
    assert partial.call_count == 8
    assert result.baseline > 0.5
    # pruning 90 % of the first conv's 6 channels hurts more than pruning half of them
    assert result.curves["features.conv1"][1] <= result.curves["features.conv1"][0]
    tolerated = result.tolerated(1.0)
    assert tolerated == dict.fromkeys(result.curves, 0.9)


def test_sensitivity_scan_stops_when_cancelled():
    ctx = JobContext()
    ctx.cancel()
    with pytest.raises(Cancelled):
        sensitivity_scan(build("lenet5"), LENET, digits_splits().val, max_images=20, ctx=ctx)


def test_sensitivity_scan_refuses_the_output_layer():
    with pytest.raises(InputError, match="cannot be scanned"):
        sensitivity_scan(build("lenet5"), LENET, digits_splits().val, layers=["classifier.fc3"])
