"""`foldwise import --input-shape C,H,W`: the shape a file does not record, given on the command line."""

from __future__ import annotations

import warnings
from pathlib import Path

import pytest
import torch
from torch import nn

from foldwise.cli import main
from foldwise.core.importing import parse_input_shape
from foldwise.core.iterations import load_network
from foldwise.core.networks.importers import NO_BATCHNORM
from foldwise.core.project import IterationKind, Project


def _dynamic_onnx(path: Path) -> None:
    torch.manual_seed(0)
    net = nn.Sequential(nn.Conv2d(1, 4, 3, padding=1), nn.ReLU(), nn.AdaptiveAvgPool2d(1), nn.Flatten(),
                        nn.Linear(4, 10))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        torch.onnx.export(net.eval(), (torch.zeros(1, 1, 8, 8),), str(path), dynamo=False, opset_version=13,
                          input_names=["x"], output_names=["y"], dynamic_axes={"x": {0: "n", 2: "h", 3: "w"}})


def test_input_shape_makes_a_dynamic_onnx_importable(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    _dynamic_onnx(tmp_path / "dyn.onnx")
    Project.create(tmp_path / "p").close()
    assert main(["import", str(tmp_path / "p"), str(tmp_path / "dyn.onnx")]) == 1
    assert "give it with --input-shape C,H,W" in capsys.readouterr().err  # the refusal names the option
    assert main(["import", str(tmp_path / "p"), str(tmp_path / "dyn.onnx"), "--input-shape", "1,28,28",
                 "--check"]) == 0
    assert main(["import", str(tmp_path / "p"), str(tmp_path / "dyn.onnx"), "--input-shape", "1,28,28"]) == 0
    with Project.open(tmp_path / "p", read_only=True) as project:
        assert project.current is not None and project.current.kind == IterationKind.IMPORTED
        assert load_network(project).spec.shape == (1, 28, 28)


@pytest.mark.parametrize("text", ["1,28", "1,28,28,3", "a,b,c", "0,28,28", ""])
def test_a_malformed_input_shape_says_the_form(text: str) -> None:
    from foldwise.core.errors import InputError

    with pytest.raises(InputError, match="C,H,W with three positive sizes"):
        parse_input_shape(text)
    assert parse_input_shape("3x32x32") == (3, 32, 32)


def test_importing_a_foldwise_qonnx_export_feeds_it_raw_pixels(quantized_lenet: Path, trained_lenet: Path,
                                                               capsys: pytest.CaptureFixture[str]) -> None:
    """A FINN-ready QONNX (graph input annotated UINT8: raw 0..255 pixels) imported into a project is evaluated
    on raw pixels: no traceback from qonnx's executor, and the accuracy is the quantize stage's own."""
    with Project.open(quantized_lenet, read_only=True) as project:
        quantized = project.current
        assert quantized is not None
        qonnx = quantized.folder / "model.qonnx.onnx"
        expected = quantized.metrics["accuracy"]["value"]
    assert main(["import", str(trained_lenet), str(qonnx)]) == 0, capsys.readouterr().err
    with Project.open(trained_lenet, read_only=True) as project:
        assert project.current is not None and project.current.kind == IterationKind.IMPORTED
        assert load_network(project).spec.pixel_range == (0.0, 255.0)
        assert project.current.metrics["accuracy"]["value"] == pytest.approx(expected, abs=0.005)


def test_quantizing_an_imported_residual_network_lists_its_shared_quantizers(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from tests.core.finn.test_residual import OneBlock

    torch.manual_seed(0)
    torch.onnx.export(OneBlock().eval(), torch.rand(1, 1, 32, 32), tmp_path / "oneblock.onnx", dynamo=False,
                      opset_version=13)
    path = tmp_path / "p"
    assert main(["new", str(path), "--example", "lenet-digits"]) == 0
    assert main(["import", str(path), str(tmp_path / "oneblock.onnx")]) == 0
    capsys.readouterr()
    assert main(["quantize", str(path), "--weights", "4", "--acts", "4", "--calib", "32"]) == 0
    out = capsys.readouterr().out
    assert "shared quantizers: 1 residual add(s) — both inputs of a residual add need one scale" in out
    assert "  add: r0_Relu (after stem_Conv) + add_quant (after c2_Conv) share one scale, 4 bits" in out


def test_an_onnx_graph_whose_batchnorm_was_folded_away_is_imported_with_a_note(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from tests.core.finn.test_residual import OneBlock  # conv-bn-relu-conv-bn with a skip

    path = tmp_path / "p"
    assert main(["new", str(path), "--example", "lenet-digits"]) == 0
    for name, folding in (("folded", True), ("kept", False)):
        torch.onnx.export(OneBlock().eval(), torch.rand(1, 1, 32, 32), tmp_path / f"{name}.onnx", dynamo=False,
                          opset_version=13, do_constant_folding=folding)
    capsys.readouterr()
    assert main(["import", str(path), str(tmp_path / "folded.onnx"), "--check"]) == 0
    assert "can be imported\n  note: no BatchNormalization in the graph" in capsys.readouterr().out
    assert main(["import", str(path), str(tmp_path / "folded.onnx")]) == 0
    out = capsys.readouterr().out
    assert "note: no BatchNormalization in the graph: torch.onnx.export folds BatchNorm" in out
    with Project.open(path, read_only=True) as project:
        assert project.current.change["notes"] == [NO_BATCHNORM]
    assert main(["import", str(path), str(tmp_path / "kept.onnx")]) == 0  # BatchNorm kept: nothing to say
    assert "BatchNormalization" not in capsys.readouterr().out
