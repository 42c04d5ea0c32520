"""The quantize/export stages and their CLI verbs over a real (quickly trained) lenet-digits project."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from foldwise.cli import main
from foldwise.core.project import IterationKind, Project
from foldwise.core.quantize.stage import quantize_report
from foldwise.core.quantize.stats import CalibrationStats


def test_quantize_then_export_verbs(trained_lenet: Path, tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    layers = tmp_path / "layers.json"
    layers.write_text(json.dumps({"classifier.fc3": {"weight_bits": 6}}))
    assert main(["quantize", str(trained_lenet), "--weights", "8", "--acts", "8", "--per-layer", str(layers),
                 "--calib", "64", "--json"]) == 0
    result = json.loads(capsys.readouterr().out)
    assert result["iteration"]["kind"] == IterationKind.QUANTIZED and result["iteration"]["parent"] == "0001"
    acc = result["accuracy"]
    assert abs(acc["float"] - acc["quantized"]) <= 0.03 and acc["source"] == "measured"
    assert result["weight_mb"]["source"] == "computed" and result["weight_mb"]["value"] > 0
    assert {row["name"] for row in result["clipped"]} >= {"features.relu1/act", "classifier.fc3/weight"}
    # Torch and onnxruntime may round a boundary value differently on an image or two: faithful, not bit-exact.
    check = result["qonnx_check"]
    assert check["faithful"] and check["mismatched_images"] == check["rounding_ties"] <= 2, check["first_mismatch"]
    folder = Path(result["path"])
    for name in ("model.pt", "quant.json", "calibration/stats.npz", "model.qonnx.onnx", "metrics.json"):
        assert (folder / name).is_file(), name
    assert CalibrationStats.load(folder / "calibration/stats.npz").get("classifier.fc3/weight").quant.bits == 6
    # Its own layer table, at the chosen precision: 6-bit fc3 weights plus its float bias.
    table = {row["name"]: row for row in json.loads((folder / "summary.json").read_text())["layers"]}
    fc3 = table["classifier.fc3"]
    assert fc3["bits"] == 6 and table["features.conv1"]["bits"] == 8
    assert fc3["weight_mb"] == pytest.approx((84 * 10 * 6 / 8 + 10 * 4) / 1e6)
    metrics = json.loads((folder / "metrics.json").read_text())
    assert metrics["params"]["value"] == sum(row["params"] for row in table.values())
    assert metrics["macs"]["source"] == "computed" and metrics["macs"]["value"] > 0

    out = tmp_path / "exported.onnx"
    assert main(["export", str(trained_lenet), "--qonnx", str(out), "--images", "16", "--json"]) == 0
    exported = json.loads(capsys.readouterr().out)
    assert exported["check"]["images"] == 16 and out.is_file()
    assert exported["check"]["faithful"]


def test_quantize_verb_reports_bad_input(trained_lenet: Path, tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    manifest = (trained_lenet / "manifest.json").read_text()
    assert main(["quantize", str(trained_lenet), "--weights", "9"]) == 1
    assert "bit width" in capsys.readouterr().err
    layers = tmp_path / "layers.json"
    layers.write_text(json.dumps({"conv99": {"weight_bits": 4}}))
    assert main(["quantize", str(trained_lenet), "--per-layer", str(layers), "--calib", "8"]) == 1
    assert "conv99" in capsys.readouterr().err
    assert (trained_lenet / "manifest.json").read_text() == manifest
    assert main(["export", str(trained_lenet), "--qonnx", str(tmp_path / "x.onnx")]) == 1
    assert "not quantized" in capsys.readouterr().err


def test_quantize_verb_takes_the_activation_range(trained_lenet: Path, capsys: pytest.CaptureFixture) -> None:
    assert main(["quantize", str(trained_lenet), "--weights", "4", "--acts", "4", "--act-range", "mse",
                 "--calib", "32", "--json"]) == 0
    result = json.loads(capsys.readouterr().out)
    assert result["iteration"]["name"] == "w4a4-mse"
    assert json.loads((Path(result["path"]) / "quant.json").read_text())["config"]["act_range"] == "mse"
    with pytest.raises(SystemExit) as bad:
        main(["quantize", str(trained_lenet), "--act-range", "max"])
    assert bad.value.code == 2 and "invalid choice: 'max' (choose from 'percentile', 'mse')" in capsys.readouterr().err


def test_quantize_verb_says_what_to_try_when_accuracy_is_lost(trained_lenet: Path,
                                                              capsys: pytest.CaptureFixture) -> None:
    assert main(["quantize", str(trained_lenet), "--weights", "2", "--acts", "2", "--calib", "32"]) == 0
    out = capsys.readouterr().out
    with Project.open(trained_lenet) as project:
        acc = quantize_report(project.current)["accuracy"]
    assert acc["float"] - acc["quantized"] > 0.02  # W2A2 on LeNet-5: far below the float network
    assert f"lost {(acc['float'] - acc['quantized']) * 100:.1f} points to quantization: try quantization-aware" in out


def test_quantize_verb_on_a_quantized_current_starts_from_its_float_network(quantized_lenet: Path,
                                                                             capsys: pytest.CaptureFixture) -> None:
    # the remedy the verb suggests (QAT) must run as typed, without first making 0001 current by hand
    assert main(["quantize", str(quantized_lenet), "--weights", "4", "--acts", "4", "--calib", "32", "--qat", "1"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("from 0001 trained-3ep, the float network of 0002 w4a4: 0003 w4a4-qat1:")
    with Project.open(quantized_lenet) as project:
        assert project.current.id == "0003" and project.current.parent == "0001"
    assert main(["quantize", str(quantized_lenet), "--iteration", "0002"]) == 1
    assert "0002 w4a4 is already quantized: quantize its float network 0001 trained-3ep instead" in \
        capsys.readouterr().err
