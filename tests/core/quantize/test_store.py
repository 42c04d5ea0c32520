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
