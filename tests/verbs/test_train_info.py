import json
from pathlib import Path

import pytest

from foldwise.cli import main
from foldwise.core.project import IterationKind


def test_info_json_has_layers_and_figures(trained_lenet: Path, capsys: pytest.CaptureFixture) -> None:
    assert main(["info", str(trained_lenet), "--json"]) == 0
    info = json.loads(capsys.readouterr().out)
    network = info["network"]
    assert network["total_params"] == info["iterations"][0]["metrics"]["params"]["value"]
    assert {"name", "type", "output_shape", "params", "macs", "weight_mb"} <= set(network["layers"][0])
    assert info["iterations"][0]["metrics"]["accuracy"]["source"] == "measured"


def test_train_verb_fine_tunes(trained_lenet: Path, capsys: pytest.CaptureFixture) -> None:
    assert main(["train", str(trained_lenet), "--epochs", "1", "--json"]) == 0
    result = json.loads(capsys.readouterr().out)
    assert result["iteration"]["parent"] == "0001"
    assert result["iteration"]["change"]["config"]["epochs"] == 1


def test_train_verb_rejects_bad_settings(trained_lenet: Path, capsys: pytest.CaptureFixture) -> None:
    assert main(["train", str(trained_lenet), "--epochs", "0"]) == 1
    assert "epochs" in capsys.readouterr().err


def test_import_torchscript_and_corrupt_files(trained_lenet: Path, tmp_path: Path, capsys) -> None:
    import torch

    from foldwise.core.networks.store import load_model

    model = load_model(next((trained_lenet / "iterations").iterdir()) / "model.pt").model.eval()
    scripted = torch.jit.trace(model, torch.zeros(1, 1, 32, 32))
    script_path = tmp_path / "lenet_ts.pt"
    scripted.save(str(script_path))
    assert main(["import", str(trained_lenet), str(script_path), "--json"]) == 0
    imported = json.loads(capsys.readouterr().out)["iteration"]
    assert imported["kind"] == IterationKind.IMPORTED and imported["metrics"]["accuracy"]["value"] > 0.6

    broken = tmp_path / "broken.onnx"
    broken.write_bytes(b"\x08\x07garbage" * 10)
    manifest_before = (trained_lenet / "manifest.json").read_text()
    assert main(["import", str(trained_lenet), str(broken)]) == 1
    assert "broken.onnx" in capsys.readouterr().err
    assert (trained_lenet / "manifest.json").read_text() == manifest_before


def test_train_on_your_own_image_folder(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    import cv2
    import numpy as np

    rng = np.random.default_rng(0)
    for label, value in (("dark", 40), ("bright", 210)):
        (tmp_path / "imgs" / label).mkdir(parents=True)
        for i in range(40):
            size = int(rng.integers(20, 50))  # mixed sizes, resized on load
            image = np.clip(rng.normal(value, 20, (size, size)), 0, 255).astype(np.uint8)
            cv2.imwrite(str(tmp_path / "imgs" / label / f"{i}.png"), image)
    (tmp_path / "imgs" / "dark" / "notes.txt").write_text("not an image")
    project = tmp_path / "own"
    assert main(["new", str(project), "--arch", "lenet5", "--data-folder", str(tmp_path / "imgs")]) == 0
    capsys.readouterr()
    assert main(["train", str(project), "--epochs", "20", "--patience", "0", "--batch-size", "8", "--json"]) == 0
    result = json.loads(capsys.readouterr().out)
    assert result["iteration"]["metrics"]["accuracy"]["value"] >= 0.9  # dark vs bright is easy


def test_new_with_a_missing_data_folder(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    assert main(["new", str(tmp_path / "p"), "--arch", "lenet5", "--data-folder", str(tmp_path / "nope")]) == 1
    assert "not a folder" in capsys.readouterr().err
    assert not (tmp_path / "p").exists()
