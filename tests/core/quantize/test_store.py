from __future__ import annotations

import torch

from foldwise.core.networks.zoo import get_entry
from foldwise.core.quantize.store import load_network, save_network


def test_quantized_network_round_trips(w8a8, digits, tmp_path):
    save_network(w8a8.network, tmp_path, get_entry("lenet5").spec, "lenet5")
    network, spec = load_network(tmp_path)
    assert spec.shape == (1, 32, 32)
    assert network.config.to_dict() == w8a8.network.config.to_dict()
    assert network.weight_layers == w8a8.network.weight_layers
    assert torch.equal(network(digits["test_x"][:16]), w8a8.network(digits["test_x"][:16]))


def test_a_quantized_residual_network_with_an_annotated_forward_round_trips(tmp_path):
    # ResNet.forward(self, x: torch.Tensor) under `from __future__ import annotations`: FX records the string
    # "torch.Tensor", which the pickled graph module's code could not import ("'str' object has no ...")
    from foldwise.core.networks.spec import InputSpec
    from foldwise.core.networks.zoo import ResNet
    from foldwise.core.quantize.config import QuantConfig
    from foldwise.core.quantize.ptq import quantize_network

    spec = InputSpec((3, 16, 16))
    images = torch.randint(0, 256, (8, 3, 16, 16), generator=torch.Generator().manual_seed(0)).to(torch.uint8)
    quantized = quantize_network(ResNet(2, 3, 4, (1, 1)).eval(), images, QuantConfig(weight_bits=4, act_bits=4,
                                                                                      calib_images=8),
                                 spec=spec, collect_stats=False).network
    save_network(quantized, tmp_path, spec, "resnet")
    network, _spec = load_network(tmp_path)
    assert torch.equal(network(images), quantized(images))
    assert [g["shared"] for g in network.shared] == [True, True]  # kept in quant.json


def test_a_network_with_mse_activation_ranges_round_trips_with_a_working_range_search(lenet, digits, tmp_path):
    # Brevitas's MSE search holds lambdas bound to its quantizer, which plain pickle cannot store
    from foldwise.core.quantize.config import QuantConfig
    from foldwise.core.quantize.ptq import quantize_network

    config = QuantConfig(weight_bits=4, act_bits=4, act_range="mse", calib_images=32)
    quantized = quantize_network(lenet, digits["train_x"], config, collect_stats=False).network
    save_network(quantized, tmp_path, get_entry("lenet5").spec, "lenet5")
    network, _spec = load_network(tmp_path)
    assert torch.equal(network(digits["test_x"][:16]), quantized(digits["test_x"][:16]))
    searches = [m for m in network.model.modules() if type(m).__name__ == "MSE"]
    assert searches
    for search in searches:  # the stored partials act on the loaded quantizer, as the lambdas did
        proxy = search.proxy_forward.__self__
        search.set_local_loss_mode(True)
        assert all(m.local_loss_mode for m in proxy.modules() if hasattr(m, "local_loss_mode"))
        search.set_local_loss_mode(False)
        search.set_observer_mode(True)
        search.restore_observer_mode()
        assert search.previous_observer_mode
