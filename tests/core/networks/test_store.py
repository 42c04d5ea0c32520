import zipfile

import pytest
import torch
from torch import nn

from foldwise.core.errors import InputError
from foldwise.core.networks.spec import InputSpec
from foldwise.core.networks.store import load_model, save_model
from foldwise.core.networks.zoo import ZOO, build


def _same_output(a: nn.Module, b: nn.Module, shape) -> bool:
    x = torch.rand(3, *shape)
    with torch.no_grad():
        return torch.equal(a.eval()(x), b.eval()(x))


def test_round_trip_keeps_weights_spec_arch_and_extra(tmp_path):
    model = build("lenet5").eval()
    spec = ZOO["lenet5"].spec
    path = save_model(tmp_path / "net.fwn", model, spec, "lenet5", {"classes": ["a", "b"], "acc": 0.9})
    loaded = load_model(path)
    assert loaded.arch == "lenet5" and loaded.spec == spec
    assert loaded.extra == {"classes": ["a", "b"], "acc": 0.9}
    assert _same_output(model, loaded.model, spec.shape)
    assert not loaded.model.training
    assert not list(tmp_path.glob(".*tmp"))  # no temp file left behind


def test_round_trip_of_a_shrunk_network(tmp_path):
    # Pruning changes tensor shapes, so a state dict would no longer fit the zoo class: the module is pickled.
    model = build("lenet5").eval()
    model.features.conv2 = nn.Conv2d(6, 8, 5)
    model.classifier.fc1 = nn.Linear(8 * 5 * 5, 120)
    spec = ZOO["lenet5"].spec
    loaded = load_model(save_model(tmp_path / "small.fwn", model, spec, "lenet5"))
    assert loaded.model.features.conv2.out_channels == 8
    assert _same_output(model, loaded.model, spec.shape)


def test_brevitas_network_round_trip(tmp_path):
    model = build("tfc").eval()
    spec = ZOO["tfc"].spec
    loaded = load_model(save_model(tmp_path / "tfc.fwn", model, spec, "tfc"))
    assert _same_output(model, loaded.model, spec.shape)


def test_truncated_file_is_input_error_naming_it(tmp_path):
    path = save_model(tmp_path / "net.fwn", build("lenet5"), ZOO["lenet5"].spec, "lenet5")
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])
    with pytest.raises(InputError, match=r"net\.fwn"):
        load_model(path)


def test_corrupt_bytes_inside_the_archive_are_input_error(tmp_path):
    path = save_model(tmp_path / "net.fwn", build("lenet5"), ZOO["lenet5"].spec, "lenet5")
    data = bytearray(path.read_bytes())
    with zipfile.ZipFile(path) as archive:
        info = next(i for i in archive.infolist() if i.filename.endswith("data.pkl"))
    start = info.header_offset + 30 + len(info.filename) + len(info.extra)
    data[start : start + 40] = b"\xff" * 40
    path.write_bytes(bytes(data))
    with pytest.raises(InputError, match=r"net\.fwn"):
        load_model(path)


def test_foreign_and_missing_files(tmp_path):
    text = tmp_path / "notes.fwn"
    text.write_text("hello")
    with pytest.raises(InputError, match="not a Foldwise network"):
        load_model(text)
    state = tmp_path / "weights.pt"
    torch.save(build("lenet5").state_dict(), state)
    with pytest.raises(InputError, match="not a Foldwise network"):
        load_model(state)
    with pytest.raises(InputError, match="not found"):
        load_model(tmp_path / "nothing.fwn")


def test_save_into_missing_folder_is_input_error(tmp_path):
    with pytest.raises(InputError, match="does not exist"):
        save_model(tmp_path / "no" / "net.fwn", build("lenet5"), InputSpec((1, 32, 32)), "lenet5")
