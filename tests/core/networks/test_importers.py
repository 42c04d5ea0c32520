import warnings
from collections import OrderedDict

import onnx
import pytest
import torch
from onnx import TensorProto, helper
from torch import nn

from foldwise.core.errors import InputError
from foldwise.core.networks.importers import check_importable, import_network
from foldwise.core.networks.spec import InputSpec
from foldwise.core.networks.store import load_model, save_model
from foldwise.core.networks.summary import summarize
from foldwise.core.networks.zoo import ZOO, build

SPEC = InputSpec((1, 8, 8))


class _Residual(nn.Module):
    def __init__(self):
        super().__init__()
        torch.manual_seed(0)
        self.conv1 = nn.Conv2d(1, 4, 3, padding=1)
        self.bn = nn.BatchNorm2d(4)
        self.conv2 = nn.Conv2d(4, 4, 3, padding=1)
        self.pool = nn.MaxPool2d(2)
        self.fc = nn.Linear(4 * 4 * 4, 3)

    def forward(self, x):
        y = torch.relu(self.bn(self.conv1(x)))
        y = self.pool(torch.relu(self.conv2(y) + y))
        return self.fc(torch.flatten(y, 1))


def _export(model: nn.Module, path, shape=(1, 1, 8, 8), dynamic=None) -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        torch.onnx.export(model.eval(), (torch.zeros(*shape),), str(path), dynamo=False, opset_version=13,
                          input_names=["x"], output_names=["y"], dynamic_axes=dynamic)


def _close(a: nn.Module, b: nn.Module, shape=(1, 8, 8)) -> bool:
    x = torch.rand(4, *shape)
    with torch.no_grad():
        return torch.allclose(a.eval()(x), b.eval()(x), atol=1e-5)


def test_onnx_converts_to_a_torch_network_that_summarises_and_saves(tmp_path):
    model = _Residual().eval()
    _export(model, tmp_path / "net.onnx", dynamic={"x": {0: "batch"}})
    report = check_importable(tmp_path / "net.onnx")
    assert report.ok and report.kind == "onnx" and report.input_shape == (1, 8, 8)
    assert report.ops["Conv"] == 2 and report.ops["Add"] == 1
    loaded = import_network(tmp_path / "net.onnx")
    assert loaded.spec.shape == (1, 8, 8) and _close(model, loaded.model)
    assert summarize(loaded.model, loaded.spec).total_params == sum(
        p.numel() for n, p in model.named_parameters() if not n.startswith("bn"))  # BN folded into conv1
    again = load_model(save_model(tmp_path / "net.fwn", loaded.model, loaded.spec, loaded.arch))
    assert _close(model, again.model)


def test_torchscript_round_trip(tmp_path):
    model = _Residual().eval()
    torch.jit.save(torch.jit.script(model), str(tmp_path / "net.pt"))
    report = check_importable(tmp_path / "net.pt")
    assert report.kind == "torchscript" and not report.ok
    assert report.needs == ["input_shape"] and "do not record their input shape" in report.problems[0][1]
    assert "foldwise" not in report.message() and "<" not in report.message()  # no CLI option, no placeholder
    loaded = import_network(tmp_path / "net.pt", spec=SPEC)
    assert _close(model, loaded.model)
    with pytest.raises(InputError, match=r"could not be traced|does not accept"):
        import_network(tmp_path / "net.pt", spec=InputSpec((1, 16, 16)))


def test_a_torchscript_network_keeps_its_batchnorm_through_the_conversion(tmp_path):
    # the conversion to ONNX must not fold BatchNorm away: a network imported untrained would train without it
    model = nn.Sequential(nn.Conv2d(1, 4, 3, padding=1), nn.BatchNorm2d(4), nn.ReLU(), nn.Flatten(),
                          nn.Linear(4 * 8 * 8, 3)).eval()
    torch.jit.save(torch.jit.trace(model, torch.rand(1, 1, 8, 8)), str(tmp_path / "bn.pt"))
    loaded = import_network(tmp_path / "bn.pt", spec=InputSpec((1, 8, 8)))
    assert any(isinstance(m, nn.BatchNorm2d) for m in loaded.model.modules())
    assert loaded.extra["import_notes"] == [] and _close(model, loaded.model, (1, 8, 8))


def test_state_dict_for_a_zoo_architecture(tmp_path):
    model = build("lenet5", num_classes=3).eval()
    torch.save({"epoch": 4, "state_dict": model.state_dict()}, tmp_path / "w.pth")
    loaded = import_network(tmp_path / "w.pth", arch="lenet5")  # class count read from the file
    assert _close(model, loaded.model, (1, 32, 32)) and loaded.arch == "lenet5"
    assert loaded.spec == ZOO["lenet5"].spec
    report = check_importable(tmp_path / "w.pth")  # no architecture named
    assert not report.ok and report.needs == ["arch"] and "<file>" not in report.message()
    assert "give its architecture (one of lenet5, defectnet, tfc" in report.message()


def test_state_dict_mismatch_names_the_keys(tmp_path):
    model = build("lenet5")
    model.features.conv2 = nn.Conv2d(6, 8, 5)
    state = model.state_dict()
    state["extra.weight"] = torch.zeros(2)
    del state["classifier.fc2.bias"]
    torch.save(state, tmp_path / "w.pt")
    report = check_importable(tmp_path / "w.pt", arch="lenet5")
    problems = dict(report.problems)
    assert not report.ok
    assert "8×6×5×5 in the file, 16×6×5×5 in lenet5" in problems["features.conv2.weight"]
    assert "missing" in problems["classifier.fc2.bias"]
    assert "not in lenet5" in problems["extra.weight"]
    with pytest.raises(InputError, match=r"features\.conv2\.weight"):
        import_network(tmp_path / "w.pt", arch="lenet5")


def _unsupported_graph(path) -> None:
    x = helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 1, 8, 8])
    y = helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, 1, 8, 8])
    nodes = [helper.make_node("Relu", ["x"], ["r"], name="relu0"),
             helper.make_node("Erf", ["r"], ["e"], name="weird_erf"),
             helper.make_node("Relu", ["e"], ["y"], name="relu1")]
    model = helper.make_model(helper.make_graph(nodes, "g", [x], [y]), opset_imports=[helper.make_opsetid("", 13)])
    onnx.save(model, str(path))


def test_onnx_with_an_unsupported_op_lists_the_node(tmp_path):
    _unsupported_graph(tmp_path / "odd.onnx")
    report = check_importable(tmp_path / "odd.onnx")
    assert not report.ok and [p[0] for p in report.problems] == ["weird_erf"]
    assert "Erf is not supported" in report.problems[0][1]
    with pytest.raises(InputError, match="weird_erf"):
        import_network(tmp_path / "odd.onnx")


def test_dynamic_and_wrong_input_shapes(tmp_path):
    _export(_Residual(), tmp_path / "dyn.onnx", dynamic={"x": {0: "n", 2: "h", 3: "w"}})
    report = check_importable(tmp_path / "dyn.onnx")
    assert not report.ok and "dynamic input size" in report.problems[0][1]
    assert check_importable(tmp_path / "dyn.onnx", spec=SPEC).ok
    with pytest.raises(InputError, match="1×16×16"):
        import_network(tmp_path / "dyn.onnx", spec=InputSpec((1, 16, 16)))
    _export(_Residual(), tmp_path / "fixed.onnx")
    assert "not the given" in check_importable(tmp_path / "fixed.onnx", spec=InputSpec((1, 9, 9))).problems[0][1]


@pytest.mark.parametrize("name", ["net.onnx", "net.pt"])
def test_corrupt_and_truncated_files_name_the_file(tmp_path, name):
    path = tmp_path / name
    if name.endswith(".onnx"):
        _export(_Residual(), path)
    else:
        torch.save(_Residual().state_dict(), path)
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 3])
    with pytest.raises(InputError, match=name.replace(".", r"\.")):
        check_importable(path)
    path.write_bytes(b"\x13\x37 not a network at all" * 10)
    with pytest.raises(InputError, match=name.replace(".", r"\.")):
        import_network(path, arch="lenet5")


def test_pickled_module_and_foldwise_files(tmp_path):
    model = nn.Sequential(OrderedDict([("flatten", nn.Flatten()), ("fc", nn.Linear(64, 2))])).eval()
    torch.save(model, tmp_path / "whole.pt")
    assert check_importable(tmp_path / "whole.pt").kind == "module"
    assert _close(model, import_network(tmp_path / "whole.pt", spec=SPEC).model)
    with pytest.raises(InputError, match="does not accept"):
        import_network(tmp_path / "whole.pt", spec=InputSpec((1, 16, 16)))
    save_model(tmp_path / "net.fwn", model, SPEC, "mine", {"note": 1})
    report = check_importable(tmp_path / "net.fwn")
    assert report.kind == "foldwise" and report.ok
    assert import_network(tmp_path / "net.fwn").extra == {"note": 1}


def test_qonnx_is_kept_as_an_onnx_network(tmp_path):
    from brevitas import nn as qnn
    from brevitas.export import export_qonnx

    torch.manual_seed(0)
    model = nn.Sequential(qnn.QuantIdentity(bit_width=8, return_quant_tensor=True),
                          qnn.QuantConv2d(1, 2, 3, weight_bit_width=4, bias=False), nn.Flatten(),
                          qnn.QuantLinear(72, 2, bias=False, weight_bit_width=4)).eval()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        export_qonnx(model, args=torch.zeros(1, 1, 8, 8), export_path=str(tmp_path / "q.onnx"), dynamo=False,
                     opset_version=13)
    report = check_importable(tmp_path / "q.onnx")
    assert report.ok and report.kind == "qonnx" and report.ops.get("Quant")
    loaded = import_network(tmp_path / "q.onnx")
    x = torch.rand(2, 1, 8, 8)
    with torch.no_grad():
        assert torch.allclose(loaded.model(x), model(x), atol=1e-4)
    assert load_model(save_model(tmp_path / "q.fwn", loaded.model, loaded.spec, "q")).model.onnx_bytes
    summary = summarize(loaded.model, loaded.spec)
    assert summary.total_params == 2 * 9 + 72 * 2 and summary.total_macs == 72 * 9 + 72 * 2
    conv = next(r for r in summary.rows if r.type == "Conv")
    assert conv.bits == 4 and conv.output_shape == (2, 6, 6)
    assert summary.total_mb == pytest.approx(162 * 4 / 8 / 1e6)


class _FixedBatchViews(nn.Module):
    """Exported with a static input, ``view(x.size(0), -1)`` becomes a Reshape to the constant [1, -1]."""

    def __init__(self):
        super().__init__()
        torch.manual_seed(0)
        self.conv = nn.Conv2d(1, 4, 3)
        self.pool = nn.AvgPool2d(2)
        self.weight = nn.Parameter(torch.randn(36, 3))

    def forward(self, x):
        y = self.pool(nn.functional.relu6(self.conv(x * 2 - 1) / 3))
        return torch.softmax(y.view(y.size(0), -1) @ self.weight, 1)  # MatMul by a constant matrix


def test_onnx_conversion_keeps_the_batch_free_and_the_weights_trainable(tmp_path):
    from foldwise.core.quantize.config import QuantConfig
    from foldwise.core.quantize.ptq import prepare

    model = _FixedBatchViews().eval()
    _export(model, tmp_path / "views.onnx")
    ops = check_importable(tmp_path / "views.onnx").ops
    assert ops["Reshape"] == 1 and ops["MatMul"] == 1
    loaded = import_network(tmp_path / "views.onnx")
    assert _close(model, loaded.model)  # a batch of 4 through a Reshape exported for a batch of 1
    assert sum(p.numel() for p in loaded.model.parameters()) == sum(p.numel() for p in model.parameters())
    assert any(isinstance(m, nn.Linear) for m in loaded.model.modules())
    assert not [type(m) for m in loaded.model.modules() if type(m).__module__.startswith("onnx2torch")]
    assert all(n.isidentifier() for n, _ in loaded.model.named_modules() if n)
    network = prepare(loaded.model, QuantConfig(), SPEC.shape)  # Brevitas traces the converted network
    assert network(torch.zeros(2, *SPEC.shape)).shape == (2, 3)


def test_onnx_node_the_converter_refuses_is_listed_with_its_reason(tmp_path):
    x = helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 1, 8, 8])
    y = helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, 1, 8, 8])
    nodes = [helper.make_node("AveragePool", ["x"], ["y"], name="lopsided", kernel_shape=[2, 2],
                              pads=[1, 1, 0, 0])]
    model = helper.make_model(helper.make_graph(nodes, "g", [x], [y]), opset_imports=[helper.make_opsetid("", 13)])
    onnx.save(model, str(tmp_path / "pad.onnx"))
    report = check_importable(tmp_path / "pad.onnx")
    assert [p[0] for p in report.problems] == ["lopsided"]
    assert "cannot be converted to a torch layer" in report.problems[0][1] and "non symmetrical padding" in \
        report.problems[0][1]


def _huge_input_graph(path, shape=(1, 3, 8192, 8192)) -> None:
    """A few hundred bytes of ONNX declaring an 8192×8192 RGB input (no weights: the file stays tiny)."""
    x = helper.make_tensor_value_info("x", TensorProto.FLOAT, list(shape))
    y = helper.make_tensor_value_info("y", TensorProto.FLOAT, list(shape))
    model = helper.make_model(helper.make_graph([helper.make_node("Relu", ["x"], ["y"], name="relu0")], "g", [x], [y]),
                              opset_imports=[helper.make_opsetid("", 13)])
    onnx.save(model, str(path))


def test_a_huge_input_is_refused_with_the_reason_and_the_limit_before_any_check_pass(tmp_path):
    import time

    from foldwise.core.networks.importers import MAX_INPUT_VALUES

    _huge_input_graph(tmp_path / "huge.onnx")
    assert (tmp_path / "huge.onnx").stat().st_size < 1000
    started = time.monotonic()
    report = check_importable(tmp_path / "huge.onnx")
    assert time.monotonic() - started < 5  # no forward or shape pass on 201 M values
    [(where, why)] = report.problems
    assert where == "x" and "3×8192×8192" in why and "201.3 M values" in why and "3.1 M (3×1024×1024)" in why
    with pytest.raises(InputError, match=r"more than the 3\.1 M"):
        import_network(tmp_path / "huge.onnx")
    # a given shape is checked the same way, before a TorchScript trace or a module's forward pass
    assert "more than" in check_importable(tmp_path / "huge.onnx", spec=InputSpec((3, 4096, 4096))).problems[0][1]
    _huge_input_graph(tmp_path / "limit.onnx", (1, 3, 1024, 1024))
    assert check_importable(tmp_path / "limit.onnx").ok and MAX_INPUT_VALUES == 3 * 1024 * 1024
