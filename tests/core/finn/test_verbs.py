"""``foldwise estimate`` / ``foldwise autofit`` through the CLI, sharing the session's worker."""

from __future__ import annotations

import json

import pytest

from foldwise.cli import main


def test_estimate_verb_json(finn_worker, tfc_model, tmp_path, capsys: pytest.CaptureFixture[str]) -> None:
    rc = main(["estimate", str(tfc_model), "--target-fps", "100000", "--out", str(tmp_path / "b"), "--json"])
    assert rc == 0
    out = json.loads(capsys.readouterr().out)
    assert out["fps"]["source"] == "estimated" and out["fps"]["value"] > 0
    assert out["latency_ns"]["source"] == "estimated"
    assert out["bottleneck"] in out["node_cycles"]
    assert out["node_cycles_source"] == "estimated"
    assert out["resources"]["LUT"]["pct_of_board"] == pytest.approx(100 * out["resources"]["LUT"]["value"] / 53200)
    assert out["board"] == "Pynq-Z2" and out["clock_ns"] == 10.0


def test_estimate_verb_rejects_illegal_folding(finn_worker, tfc_model, tmp_path,
                                              capsys: pytest.CaptureFixture[str]) -> None:
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps({"Defaults": {}, "MVAU_hls_1": {"SIMD": 3}}))
    assert main(["estimate", str(tfc_model), "--folding", str(bad), "--out", str(tmp_path / "b")]) == 1
    err = capsys.readouterr().err
    assert "MVAU_hls_1.SIMD=3 is not legal; legal values: 1, 2, 4, 8, 16, 32, 64" in err


def test_autofit_verb_saves_a_folding_estimate_accepts(finn_worker, tfc_model, tmp_path,
                                                     capsys: pytest.CaptureFixture[str]) -> None:
    folding = tmp_path / "fold.json"
    rc = main(["autofit", str(tfc_model), "--budget-lut", "0.05", "--no-baseline", "--save-folding", str(folding),
               "--json"])
    assert rc == 0
    out = json.loads(capsys.readouterr().out)
    assert out["autofit"]["fps"]["source"] == "estimated"
    assert out["search"]["method"] == "optimal" and "proved optimal" in out["search"]["note"]
    assert out["autofit"]["resources"]["LUT"]["value"] <= 0.05 * 53200
    assert out["setfolding"] is None and out["ratio"] is None
    assert main(["estimate", str(tfc_model), "--folding", str(folding), "--out", str(tmp_path / "b"), "--json"]) == 0
    again = json.loads(capsys.readouterr().out)
    assert again["fps"]["value"] == pytest.approx(out["autofit"]["fps"]["value"])


def test_estimate_text_says_when_the_network_does_not_fit() -> None:
    from foldwise.core.finn.reports import BuildReport, Figure
    from foldwise.verbs.estimate import format_text

    # full-width ResNet-18 W4A4 at 1,000 FPS as bench_finn_residual.py measured it (2026-12-02)
    report = BuildReport(board="Pynq-Z2", bottleneck="MVAU_hls_0", max_cycles=81_408,
                         fps=Figure(1228.4, "estimated", "frames/s"),
                         resources={"LUT": Figure(408_145.0, "estimated"), "BRAM_18K": Figure(2768.0, "estimated")},
                         utilization_pct={"LUT": 767.2, "BRAM_18K": 988.6},
                         streamlining="residual topology (Add_0 adds two streams): FINN's step_resnet_streamline")
    text = format_text(report)
    assert "verdict     does not fit the Pynq-Z2 (LUT 767 %, BRAM_18K 989 %, estimated)" in text
    assert "stream the largest layers' weights from DRAM (mem_mode external" in text  # BRAM over: an option
    assert "streamlining: residual topology" in text
    report.utilization_pct = {"LUT": 28.8, "BRAM_18K": 11.4}
    assert "does not fit" not in format_text(report)
