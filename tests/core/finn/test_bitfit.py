"""Auto-fit over per-layer weight bit widths on a real quickly trained LeNet5 project, FINN estimating."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from foldwise.cli import main
from foldwise.core.errors import InputError
from foldwise.core.finn.bitfit import autofit_bits
from foldwise.core.project import IterationKind, Project
from foldwise.core.quantize import QuantConfig, QuantizeSpec
from foldwise.core.quantize.config import load_layer_overrides
from foldwise.core.quantize.stage import quantize_iteration

LAYERS = ["features.conv1", "features.conv2", "classifier.fc1", "classifier.fc2", "classifier.fc3"]


@pytest.fixture
def quantized_lenet(trained_lenet: Path) -> Path:
    with Project.open(trained_lenet) as project:
        quantize_iteration(project, QuantizeSpec(QuantConfig(weight_bits=4, act_bits=4, calib_images=64)))
    return trained_lenet


def test_one_round_tries_every_layer_and_keeps_only_a_real_gain(finn_worker, quantized_lenet: Path) -> None:
    with Project.open(quantized_lenet, read_only=True) as project:
        result = autofit_bits(project, budget_lut=0.15, budget_bram=0.2, max_loss_points=5.0, max_rounds=1,
                              val_images=200, acts=True)
    assert result.start.fps and result.start.layer is None
    weights = [t for t in result.trials if t.kind == "W"]
    assert [t.layer for t in weights] == LAYERS and {t.bits for t in result.trials} == {3}
    assert {t.layer for t in result.trials if t.kind == "A"} == set(result.act_bits) >= {"features.relu1"}
    for trial in result.trials:
        assert trial.fps is not None or "points below the start" in trial.note
    accepted = [t for t in result.trials if t.accepted]
    assert len(accepted) <= 1
    if accepted:  # lowering one layer's bits bought at least 1 % FPS within the same budget
        assert result.final is accepted[0] and result.final.fps >= 1.01 * result.start.fps
        assert result.weight_bits[accepted[0].layer] == 3
    else:
        assert result.final is result.start and set(result.weight_bits.values()) == {4}
    lowered = [*result.weight_bits.values(), *result.act_bits.values()]
    assert sum(1 for bits in lowered if bits == 3) == len(accepted)
    assert result.layers_file()["layers"]["features.relu1"]["act_bits"] == result.act_bits["features.relu1"]
    assert all(result.final.resources.get(k, 0.0) <= v + 1e-6 for k, v in result.budget.items())
    data = result.to_dict()
    assert data["final"]["fps"]["source"] == "estimated" and data["start"]["accuracy"]["source"] == "measured"
    # chosen on the validation split (the select protocol, limited here), never on the reported test split
    assert {k: data["start"]["accuracy"][k] for k in ("protocol", "split", "images")} == \
        {"protocol": "select", "split": "val", "images": 200}


def test_the_per_layer_file_feeds_quantize(finn_worker, quantized_lenet: Path, tmp_path: Path,
                                           capsys: pytest.CaptureFixture) -> None:
    layers = tmp_path / "layers.json"
    assert main(["autofit", str(quantized_lenet), "--bits", "--rounds", "1", "--min-bits", "3",
                 "--budget-lut", "0.15", "--max-loss", "100", "--save-layers", str(layers), "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    overrides = load_layer_overrides(layers)
    assert {name: o.weight_bits for name, o in overrides.items()} == data["weight_bits"]
    with Project.open(quantized_lenet) as project:
        project.set_current(project.current.parent)
    assert main(["quantize", str(quantized_lenet), "--weights", "4", "--acts", "4", "--calib", "64",
                 "--per-layer", str(layers), "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["iteration"]["kind"] == IterationKind.QUANTIZED


def test_bad_requests_are_clear(trained_lenet: Path, tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    with Project.open(trained_lenet, read_only=True) as project:
        with pytest.raises(InputError, match="not quantized"):
            autofit_bits(project)
        with pytest.raises(InputError, match="min_bits"):
            autofit_bits(project, min_bits=0)
    assert main(["autofit", str(tmp_path / "model.onnx"), "--bits"]) == 1
    assert "needs a project" in capsys.readouterr().err
    assert main(["autofit", str(trained_lenet), "--save-layers", str(tmp_path / "x.json")]) == 1
    assert "need --bits" in capsys.readouterr().err


def test_plateau_moves_lead_to_a_gain_and_count_as_part_of_it(quantized_lenet: Path, monkeypatch) -> None:
    """The search logic on a made-up landscape (real project, fake quantize/FINN, the per-candidate path): FPS
    only rises once two layers are at 3 bits; lowering one first keeps the FPS but frees LUTs, so it is taken as
    a plateau move."""
    from types import SimpleNamespace

    import foldwise.core.finn.bitfit as bitfit
    import foldwise.core.finn.bitsearch as bitsearch
    import foldwise.core.quantize.export as export
    import foldwise.core.quantize.ptq as ptq
    import foldwise.core.quantize.validate as validate

    def fake_fit(config, **_kwargs):
        low = [name for name in LAYERS if config.weight_bits_for(name) == 3]
        fps = 150.0 if {"features.conv2", "classifier.fc1"} <= set(low) else 100.0
        lut = 1000.0 - 100 * ("features.conv2" in low) - 10 * len(low)
        report = SimpleNamespace(resources={"LUT": SimpleNamespace(value=lut)}, fps=SimpleNamespace(value=fps))
        return SimpleNamespace(fps=fps, report=report, folding={}, budget={"LUT": 1000.0})

    monkeypatch.setattr(ptq, "quantize_network", lambda _m, _x, config, *a, **k: SimpleNamespace(network=config))
    monkeypatch.setattr(validate, "accuracy", lambda network, *_a: 0.9)
    monkeypatch.setattr(export, "export_qonnx_file", lambda network, _path: network)
    monkeypatch.setattr(bitsearch, "autofit", fake_fit)
    monkeypatch.setattr(bitsearch.build, "reestimate", lambda model, _folding, **_k: fake_fit(model).report)
    worker = SimpleNamespace(request=lambda *_a, **_k: {})
    with Project.open(quantized_lenet, read_only=True) as project:
        result = bitfit.autofit_bits(project, max_rounds=4, min_bits=3, val_images=50, reuse=False, worker=worker)
    accepted = [t.layer for t in result.trials if t.accepted]
    assert accepted == ["features.conv2", "classifier.fc1"]
    assert result.final.fps == 150.0 and result.gain == 1.5
    assert {n for n, b in result.weight_bits.items() if b == 3} == {"features.conv2", "classifier.fc1"}
    plateau = next(t for t in result.trials if t.accepted)
    assert "frees resources" in plateau.note
    assert result.method == "per candidate" and result.confirmed["equal"]


def test_per_layer_tables_give_the_per_candidate_result_asking_finn_once_per_bit_width(
        finn_worker, quantized_lenet: Path) -> None:
    """The same search twice on real FINN: the per-layer tables and incremental accuracy against re-quantizing
    and asking FINN for every candidate. FINN tabulates one model per bit width, not one per candidate."""
    kinds: list[str] = []
    request = finn_worker.request

    def counting(kind, params=None, ctx=None, timeout=None):
        kinds.append(kind)
        return request(kind, params, ctx, timeout)

    finn_worker.request = counting
    args = {"budget_lut": 0.15, "budget_bram": 0.2, "max_loss_points": 5.0, "max_rounds": 2, "val_images": 200}
    try:
        with Project.open(quantized_lenet, read_only=True) as project:
            fast = autofit_bits(project, **args)
            fast_kinds, kinds[:] = list(kinds), []
            slow = autofit_bits(project, reuse=False, **args)
            kinds[:] = []
            again = autofit_bits(project, **args)  # FINN's answers are cached per model in the project
            again_kinds = list(kinds)
    finally:
        finn_worker.request = request
    assert fast.method == "per-layer tables" and slow.method == "per candidate"
    assert fast.weight_bits == slow.weight_bits and fast.act_bits == slow.act_bits == {}
    assert (fast.start.fps, fast.final.fps) == (slow.start.fps, slow.final.fps)
    assert (fast.start.accuracy, fast.final.accuracy) == (slow.start.accuracy, slow.final.accuracy)
    candidates = [t for t in fast.trials if t.layer is not None]
    assert len(candidates) >= len(LAYERS) and all(t.fps for t in candidates)
    # the start model (4 bits), then one model per lower bit width (each answers every layer at that width)
    assert fast_kinds.count("options") == fast.finn_models <= 1 + (4 - 2) < len(candidates)
    assert fast.confirmed["equal"] and fast.confirmed["fps_finn"] == fast.final.fps
    if fast.final is not fast.start:
        assert fast.confirmed["resources_finn"] == fast.confirmed["resources_search"]
    measured = [t for t in candidates if t.accuracy is not None]
    assert len(measured) < len(candidates) or fast.final is not fast.start
    for trial in measured:  # what was measured equals the full re-quantization's measurement
        same = [t for t in slow.trials if (t.layer, t.bits, t.accuracy) == (trial.layer, trial.bits, trial.accuracy)]
        assert same, trial.label
    assert again.weight_bits == fast.weight_bits
    assert "options" not in again_kinds
