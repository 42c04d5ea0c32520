import numpy as np
import pytest
import torch

from foldwise.core.errors import InputError
from foldwise.core.networks.spec import InputSpec


def test_json_round_trip_keeps_every_field():
    spec = InputSpec((3, 64, 48), pixel_range=(-1.0, 1.0), mean=(0.5, 0.4, 0.3), std=(0.2, 0.2, 0.25),
                     dataset="defects")
    back = InputSpec.from_json(spec.to_json())
    assert back == spec
    assert (back.channels, back.height, back.width) == (3, 64, 48)


def test_defaults_round_trip():
    spec = InputSpec((1, 32, 32))
    assert InputSpec.from_dict(spec.to_dict()) == spec
    assert spec.pixel_range == (0.0, 1.0) and spec.dataset is None


@pytest.mark.parametrize("bad", [
    {"shape": [3, 64]},
    {"shape": [0, 4, 4]},
    {"shape": [3, 4, 4], "pixel_range": [1, 0]},
    {"shape": [3, 4, 4], "mean": [0.1, 0.2]},
    {"shape": [3, 4, 4], "std": [0.0]},
    {"pixel_range": [0, 1]},
])
def test_bad_specs_are_input_errors(bad):
    with pytest.raises(InputError):
        InputSpec.from_dict(bad)


def test_bad_json_is_input_error():
    with pytest.raises(InputError, match="JSON"):
        InputSpec.from_json("{not json")


def test_prepare_maps_range_and_normalises_tensors_and_arrays():
    spec = InputSpec((2, 1, 1), pixel_range=(-1.0, 1.0), mean=(0.0, 1.0), std=(1.0, 2.0))
    x = torch.tensor([[[[0.0]], [[1.0]]]])
    out = spec.prepare(x)
    assert torch.allclose(out.flatten(), torch.tensor([-1.0, 0.0]))
    assert torch.equal(x.flatten(), torch.tensor([0.0, 1.0]))  # input untouched
    arr = spec.prepare(x.numpy())
    assert np.allclose(arr.flatten(), [-1.0, 0.0])


def test_prepare_is_identity_for_plain_specs():
    x = torch.rand(2, 1, 4, 4)
    assert InputSpec((1, 4, 4)).prepare(x) is x
