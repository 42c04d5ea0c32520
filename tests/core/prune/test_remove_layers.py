import pytest
import torch
from torch import fx, nn

from foldwise.core.errors import InputError
from foldwise.core.networks.zoo import ZOO, build
from foldwise.core.prune.blocks import block_of, layer_blocks
from foldwise.core.prune.remove_layers import remove_layers

LENET, DEFECT, RESNET = ZOO["lenet5"].spec, ZOO["defectnet"].spec, ZOO["resnet18"].spec


def params(model: nn.Module) -> int:
    return sum(p.numel() for p in model.parameters())


def state(model: nn.Module) -> dict[str, torch.Tensor]:
    return {k: v.clone() for k, v in model.state_dict().items()}


def test_removing_defectnets_last_block_rewires_and_resizes_the_head():
    model = build("defectnet")
    before = state(model)
    result = remove_layers(model, ["features.*5"], DEFECT)
    assert result.removed == ["features.conv5", "features.bn5", "features.relu5", "features.pool5"]
    assert result.recreated == ["classifier.fc1"]
    assert result.reasons["classifier.fc1"] == "input 256 → 512 features"
    new = result.model
    assert not hasattr(new.features, "conv5") and new.classifier.fc1.in_features == 512  # 128 channels × the 2×2 map
    assert new(torch.zeros(2, *DEFECT.shape)).shape == (2, 2)
    assert params(new) <= 0.6 * params(model)  # the demo's claim: ≥ 40 % fewer parameters
    # the caller's model is untouched, and kept layers keep their trained weights
    assert all(torch.equal(before[k], v) for k, v in model.state_dict().items())
    assert torch.equal(new.features.conv4.weight, model.features.conv4.weight)


def test_removing_a_conv_recreates_its_batchnorm_and_the_next_consumer():
    result = remove_layers(build("defectnet"), ["features.conv5"], DEFECT)
    assert result.recreated == ["features.bn5", "classifier.fc1"]
    assert result.model.features.bn5.num_features == 128


def test_removing_a_middle_conv_recreates_the_next_conv_and_flattened_linear():
    result = remove_layers(build("lenet5"), ["features.conv2"], LENET)
    assert result.recreated == ["classifier.fc1"]
    assert result.model.classifier.fc1.in_features == 6 * 7 * 7


def test_removing_a_hidden_fc_recreates_the_output_layer():
    result = remove_layers(build("lenet5"), ["classifier.fc2", "classifier.relu2"], LENET)
    assert result.recreated == ["classifier.fc3"]
    assert result.model.classifier.fc3.in_features == 120
    assert result.model.classifier.fc3.out_features == 10


def test_container_in_a_non_sequential_model_becomes_identity():
    model = build("resnet18")
    result = remove_layers(model, ["layer4"], RESNET)
    assert isinstance(result.model.layer4, nn.Identity)
    assert result.recreated == ["fc"] and result.model.fc.in_features == 256
    assert isinstance(model.layer4, nn.Sequential)


def test_fx_graph_nodes_are_erased():
    gm = fx.symbolic_trace(build("lenet5"))
    result = remove_layers(gm, ["features.conv2"], LENET)
    assert isinstance(result.model, fx.GraphModule)
    assert "features.conv2" not in {str(n.target) for n in result.model.graph.nodes}
    assert result.model(torch.zeros(1, *LENET.shape)).shape == (1, 10)


def test_nested_names_are_folded_into_their_container():
    result = remove_layers(build("resnet18"), ["layer4", "layer4.0.conv1"], RESNET)
    assert result.removed == ["layer4"]


@pytest.mark.parametrize(("arch", "names", "words"), [
    ("lenet5", ["features.conv1"], ["features.conv1", "input layer"]),
    ("lenet5", ["features"], ["features", "holds features.conv1", "input layer"]),
    ("lenet5", ["classifier.fc3"], ["classifier.fc3", "output layer"]),
    ("lenet5", ["classifier.fc9"], ["no layer named 'classifier.fc9'", "did you mean"]),
    ("lenet5", ["features.*9"], ["pattern"]),
    ("lenet5", ["flatten"], ["cannot be rewired", "classifier.fc1", "4-D"]),
    ("lenet5", [], ["at least one layer"]),
    ("resnet18", ["layer2.0.shortcut"], ["cannot be rewired", "layer2.0.shortcut", "must match"]),
])
def test_bad_removals_say_which_layer_and_why(arch, names, words):
    model = build(arch)
    before = state(model)
    with pytest.raises(InputError) as err:
        remove_layers(model, names, ZOO[arch].spec)
    for word in words:
        assert word in str(err.value)
    assert all(torch.equal(before[k], v) for k, v in model.state_dict().items())


def test_the_only_layer_cannot_be_removed():
    spec = ZOO["lenet5"].spec
    model = nn.Sequential(nn.Flatten(), nn.Linear(32 * 32, 10))
    with pytest.raises(InputError, match="1 is the only layer"):
        remove_layers(model, ["1"], spec)


def test_a_quantized_network_is_refused():
    from brevitas import nn as qnn

    model = nn.Sequential(qnn.QuantConv2d(1, 4, 3), nn.Flatten(), nn.Linear(4 * 30 * 30, 10))
    with pytest.raises(InputError, match="quantized"):
        remove_layers(model, ["1"], LENET)


def test_blocks_group_a_conv_with_what_follows_it():
    rows = [{"name": n, "type": t} for n, t in [
        ("features.conv1", "Conv2d"), ("features.relu1", "ReLU"), ("features.conv2", "Conv2d"),
        ("features.pool2", "MaxPool2d"), ("flatten", "Flatten"), ("classifier.fc1", "Linear"),
        ("classifier.relu1", "ReLU")]]
    assert layer_blocks(rows) == [["features.conv1", "features.relu1"], ["features.conv2", "features.pool2"],
                                  ["flatten"], ["classifier.fc1", "classifier.relu1"]]
    assert block_of(rows, "features.pool2") == ["features.conv2", "features.pool2"]


def test_a_zoo_resnet_stays_valid_when_pruned_across_its_skips_or_a_stage_is_removed():
    from foldwise.core.prune.channels import prune_channels

    entry = ZOO["resnet8-0.5x"]
    pruned = prune_channels(build("resnet8-0.5x"), entry.spec, 0.5).model
    block = pruned.layer2[0]  # the add joins conv2 and the 1×1 shortcut: both keep the same width
    assert block.conv2.out_channels == block.shortcut.conv.out_channels == 32
    assert pruned.eval()(torch.rand(1, *entry.spec.shape)).shape == (1, 2)
    result = remove_layers(build("resnet8-0.5x"), ["layer3"], entry.spec)
    assert result.removed == ["layer3"] and result.recreated == ["fc"] and result.model.fc.in_features == 64
