"""The compare table, Pareto front, story and diff on real projects: a W4A4 lenet (no build), the defect project
with a FINN estimate build, and board runs written as the deploy stage writes them (no SSH needed)."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from foldwise.core.board.runs import Figure, RunRecord, new_run_dir, save_run
from foldwise.core.compare import (
    COLUMN_KEYS,
    Cell,
    Row,
    compare_table,
    describe_change,
    format_mb,
    pareto,
    story,
)
from foldwise.core.compare_diff import diff, layer_bits
from foldwise.core.errors import InputError
from foldwise.core.finn.reports import read_build_reports
from foldwise.core.finn.stage import list_builds
from foldwise.core.iterations import QUANT_FILE, SUMMARY_FILE
from foldwise.core.project import Iteration, IterationKind, Project


def _run(iteration: Iteration, kind: str, figures: dict[str, Figure], created: str, device: str = "z2",
         status: str = "done", **info: object) -> RunRecord:
    record = RunRecord(kind, device, "pynq", figures, status=status, created=created, info=dict(info))
    return save_run(new_run_dir(iteration, device, kind), record)


def test_the_table_of_a_quantized_lenet_holds_its_stages_figures_with_their_sources(quantized_lenet: Path) -> None:
    with Project.open(quantized_lenet, read_only=True) as project:
        float_it, quant_it = project.iterations
        rows = compare_table(project)
    assert [r.id for r in rows] == ["0001", "0002"]
    first, second = rows
    assert set(first.cells) == set(COLUMN_KEYS)
    assert (first.kind, first.parent, second.parent) == ("trained", None, "0001")
    assert first.change == "trained lenet5 3 epochs" and second.change == "quantized W4A4"
    assert second.current and not first.current
    # float iteration: its own accuracy is the float one; no quantized accuracy
    assert first.cells["float_accuracy"] == Cell(float_it.metrics["accuracy"]["value"], "measured", "",
                                                 f"test, {float_it.metrics['accuracy']['images']:,} images")
    assert first.cells["quant_accuracy"] is None
    assert first.value("accuracy") == float_it.metrics["accuracy"]["value"]
    # quantized: both accuracies as the quantize stage measured them on the same split
    assert second.value("quant_accuracy") == quant_it.metrics["accuracy"]["value"]
    assert second.value("float_accuracy") == quant_it.metrics["float_accuracy"]["value"]
    assert second.value("accuracy") == second.value("quant_accuracy")
    assert second.cells["weight_mb"].source == "computed" and second.cells["weight_mb"].unit == "MB"
    assert second.value("weight_mb") < first.value("weight_mb") / 4  # 4-bit weights against float32
    assert second.value("params") == first.value("params") == quant_it.metrics["params"]["value"]
    # nothing built or run yet: those figures are missing, not guessed
    for key in ("fps_estimated", "latency_ms", "lut_pct", "bram_pct", "dsp_pct", "board_fps", "board_accuracy",
                "energy_mj"):
        assert second.cells[key] is None, key
    assert second.value("fps") is None and second.verdict is None and second.build is None
    json.dumps([r.to_dict() for r in rows])  # JSON-ready for --json


def test_board_runs_fill_the_emulated_and_measured_columns_newest_finished_run_first(quantized_lenet: Path) -> None:
    with Project.open(quantized_lenet) as project:
        project.update_settings(target_fps=120)
        it = project.get("0002")
        _run(it, "throughput", {"fps": Figure(900.0, "images/s", "emulated")}, "2026-12-01T10:00:00Z", "emu")
        _run(it, "throughput", {"fps": Figure(95.0, "images/s", "measured")}, "2026-12-01T11:00:00Z")
        _run(it, "throughput", {}, "2026-12-01T12:00:00Z", status="failed")  # newest, but failed
        _run(it, "validate", {"accuracy": Figure(0.84, "fraction", "measured"),
                              "agreement": Figure(0.99, "fraction", "computed")}, "2026-12-01T11:05:00Z", images=90)
        _run(it, "baseline", {"energy_mj": Figure(12.5, "mJ", "measured"), "time_ms": Figure(5.0, "ms", "measured"),
                              "power_w": Figure(2.5, "W", "measured")}, "2026-12-01T11:10:00Z", "host")
        row = compare_table(project)[1]
        fps = row.cells["board_fps"]
        assert (fps.value, fps.source) == (95.0, "measured") and "z2" in fps.note
        board_acc = row.cells["board_accuracy"]
        assert (board_acc.value, board_acc.source) == (0.84, "measured")
        assert "90 images" in board_acc.note and "99.0%" in board_acc.note
        energy = row.cells["energy_mj"]
        assert (energy.value, energy.source, energy.unit) == (12.5, "measured", "mJ") and "2.5 W" in energy.note
        # the verdict takes the board's FPS (FINN has no estimate for this iteration yet)
        assert row.verdict == {"keeps_up": False, "margin": 95.0 / 120, "fps": 95.0, "target_fps": 120.0,
                               "source": "measured", "text": "too slow (×0.79)"}
        # an emulated run alone is labelled emulated
        shutil.rmtree(it.folder / "runs" / "z2")
        row = compare_table(project)[1]
        assert (row.value("board_fps"), row.cells["board_fps"].source) == (900.0, "emulated")
        assert row.verdict["keeps_up"] and row.verdict["source"] == "emulated"
        assert row.cells["board_accuracy"] is None


def test_a_finn_estimate_fills_fps_latency_and_board_utilization(estimated_defect: Path) -> None:
    with Project.open(estimated_defect, read_only=True) as project:
        quantized = project.get("0002")
        build = list_builds(quantized)[0]
        report = read_build_reports(build.folder)
        row = compare_table(project)[1]
    assert row.build == build.name
    fps = row.cells["fps_estimated"]
    assert (fps.value, fps.source) == (report.fps.value, "estimated") and build.name in fps.note
    assert row.value("latency_ms") == pytest.approx(report.latency_ns.value / 1e6)
    for key, resource in (("lut_pct", "LUT"), ("bram_pct", "BRAM_18K"), ("dsp_pct", "DSP")):
        cell = row.cells[key]
        assert cell.value == pytest.approx(report.utilization_pct[resource]), key
        assert cell.source == "estimated" and cell.unit == "%" and report.board in cell.note
    assert row.cells["board_fps"] is None and row.value("fps") == fps.value
    assert row.verdict["target_fps"] == 120.0 and row.verdict["source"] == "estimated"
    assert row.verdict["keeps_up"] == (fps.value >= 120)


def test_a_build_whose_reports_are_damaged_is_passed_over_with_a_warning(estimated_defect: Path) -> None:
    with Project.open(estimated_defect, read_only=True) as project:
        build = list_builds(project.get("0002"))[0]
        (build.folder / "report" / "estimate_layer_cycles.json").write_text("{not json")
        row = compare_table(project)[1]
    assert row.cells["fps_estimated"] is None and row.build is None
    assert any(build.name in w and "cannot read FINN report" in w for w in row.warnings)


def test_an_iteration_whose_folder_was_deleted_keeps_its_manifest_figures(quantized_lenet: Path) -> None:
    with Project.open(quantized_lenet, read_only=True) as project:
        shutil.rmtree(project.get("0002").folder)
        row = compare_table(project)[1]
    assert row.value("quant_accuracy") is not None  # the kind says quantized; figures come from the manifest
    assert any("is missing" in w for w in row.warnings)


def _row(rid: str, fps: float | None, accuracy: float | None) -> Row:
    cells: dict[str, Cell | None] = dict.fromkeys(COLUMN_KEYS)
    cells["fps_estimated"] = Cell(fps, "estimated") if fps is not None else None
    cells["quant_accuracy"] = Cell(accuracy, "measured") if accuracy is not None else None
    return Row(rid, rid, "quantized", None, "", "", False, cells)


def test_pareto_keeps_the_rows_nothing_beats_on_both_figures() -> None:
    rows = [_row("a", 100, 0.90), _row("b", 1000, 0.85), _row("c", 500, 0.80), _row("d", 2000, 0.70),
            _row("e", None, 0.99), _row("f", 50, None), _row("g", 1000, 0.85)]
    assert [r.id for r in pareto(rows)] == ["a", "b", "d"]  # c loses to b; g ties b and comes later
    assert [r.id for r in pareto(rows, x="fps_estimated", y="quant_accuracy")] == ["a", "b", "d"]
    assert pareto([]) == []
    with pytest.raises(InputError, match="unknown figure 'speed'"):
        pareto(rows, x="speed")


def test_the_story_runs_from_the_root_to_the_current_iteration(quantized_lenet: Path) -> None:
    with Project.open(quantized_lenet) as project:
        chain = story(project)
        assert [s.id for s in chain.steps] == ["0001", "0002"]
        sizes = [format_mb(s.value("weight_mb")) for s in chain.steps]
        assert chain.size_line == " → ".join(sizes)
        assert "no FPS figure yet" in chain.fps_line
        project.update_settings(target_fps=120)
        _run(project.get("0002"), "throughput", {"fps": Figure(3000.0, "images/s", "measured")},
             "2026-12-01T10:00:00Z")
        chain = story(project)
        assert chain.fps_line == "3,000 FPS (measured), target 120 FPS: keeps up (×25.0)"
        assert chain.text.splitlines()[-1] == "0002 w4a4: quantized W4A4"
        assert [s.id for s in story(project, "0001").steps] == ["0001"]
    assert (format_mb(140.2), format_mb(8.44), format_mb(0.0307)) == ("140 MB", "8.44 MB", "0.031 MB")


def test_the_story_of_a_project_without_iterations_says_so(project_path: Path) -> None:
    with Project.create(project_path) as project, pytest.raises(InputError, match="has no iterations yet"):
        story(project)


def test_describe_change_reads_each_stage_record() -> None:
    def it(change: dict, parent: str | None = None) -> Iteration:
        return Iteration("0003", "x", "pruned", parent, "", "0003-x", change=change)

    assert describe_change(it({"stage": "prune", "removed": ["features.conv5"], "spec": {"ratio": 0.3,
                                                                                        "criterion": "l1"},
                               "finetune_epochs": 2})) == ("pruned: removed features.conv5; channels −30% (l1); "
                                                           "fine-tuned 2 epochs")
    assert describe_change(it({"stage": "quantize", "config": {"weight_bits": 4, "act_bits": 8,
                                                               "layers": {"fc": {}}}, "qat_epochs": 3})) == (
        "quantized W4A8, 1 layers set apart, QAT 3 epochs")
    options = {"weight_bits": 4, "act_bits": 4, "weight_scaling": "per_tensor", "scale_type": "float",
               "act_range": "mse", "bias_correction": False, "gpfq": True}
    assert describe_change(it({"stage": "quantize", "config": options})) == (
        "quantized W4A4, per-tensor weight scales, MSE activation ranges, GPFQ")
    assert describe_change(it({"stage": "train", "arch": "lenet5", "epochs_run": 2}, parent="0001")) == (
        "fine-tuned lenet5 2 epochs")
    assert describe_change(it({"stage": "import", "file": "/x/net.onnx", "format": "qonnx"})) == (
        "imported net.onnx (qonnx)")
    assert describe_change(it({})) == ""


def _variant(project: Project, source: Iteration, name: str, drop_layer: str, bits: dict[str, int]) -> Iteration:
    """A quantized sibling of ``source`` with one layer gone from its table, one layer at other bit widths
    and a copy of its build (made with FINN's default folding) that folded the first MVAU with PE=2 (as a
    prune, a mixed precision and a folding edit leave them)."""
    with project.new_iteration(IterationKind.QUANTIZED, name, parent=source.parent,
                               change={"stage": "quantize", "config": {"weight_bits": 4, "act_bits": 4}}) as draft:
        summary = json.loads((source.folder / SUMMARY_FILE).read_text())
        summary["layers"] = [row for row in summary["layers"] if row["name"] != drop_layer]
        (draft.folder / SUMMARY_FILE).write_text(json.dumps(summary))
        quant = json.loads((source.folder / QUANT_FILE).read_text())
        quant["config"]["layers"] = {quant["weight_layers"][0]: {"weight_bits": bits["weights"],
                                                                  "act_bits": bits["acts"], "quantize": True}}
        (draft.folder / QUANT_FILE).write_text(json.dumps(quant))
        build = list_builds(source)[0]
        shutil.copytree(build.folder, draft.folder / "builds" / build.name)
        report = draft.folder / "builds" / build.name / "report"
        node = next(n for n in json.loads((report / "estimate_layer_cycles.json").read_text()) if "MVAU" in n)
        (report / "applied_folding_config.json").write_text(json.dumps({"Defaults": {}, node: {"PE": 2}}))
        draft.metrics.update(source.metrics)
    return project.current


def test_diff_names_removed_layers_bit_widths_folding_and_figures(estimated_defect: Path) -> None:
    with Project.open(estimated_defect) as project:
        quantized = project.get("0002")
        weight_layers = json.loads((quantized.folder / QUANT_FILE).read_text())["weight_layers"]
        dropped = weight_layers[-1]
        variant = _variant(project, quantized, "w6a5-first", dropped, {"weights": 6, "acts": 5})
        result = diff(project, "0002", variant.id)
        float_diff = diff(project, "0001", "0002")
    assert result.layers_removed == [dropped] and result.layers_added == []
    first = weight_layers[0]
    assert {"layer": first, "a": {"weights": 4, "acts": 4}, "b": {"weights": 6, "acts": 5}} in result.bits
    assert [r["layer"] for r in result.bits_changed] == [first]
    assert [(r["attribute"], r["a"], r["b"]) for r in result.folding] == [("PE", None, 2)]
    assert "MVAU" in result.folding[0]["node"] and "PE: default → 2" in result.text
    assert result.folding_builds["a"] == result.folding_builds["b"] == list_builds(quantized)[0].name
    fps = next(f for f in result.figures if f["key"] == "fps_estimated")
    assert fps["a"]["source"] == "estimated" and fps["ratio"] == pytest.approx(1.0)
    assert f"{first}: W4A4 → W6A5" in result.text and f"layers removed: {dropped}" in result.text
    # float → quantized: every weight layer float → W4A4; no folding for an iteration never built
    assert {r["layer"] for r in float_diff.bits} == set(weight_layers)
    assert all(r["a"] is None and r["b"] == {"weights": 4, "acts": 4} for r in float_diff.bits)
    assert float_diff.folding == [] and float_diff.folding_builds["a"] is None
    assert "without a finished build" in float_diff.text
    json.dumps(result.to_dict())


def test_layer_bits_reads_overrides_and_says_when_quant_json_is_damaged(quantized_lenet: Path) -> None:
    with Project.open(quantized_lenet, read_only=True) as project:
        quantized = project.get("0002")
        assert layer_bits(project.get("0001")) == {}
        path = quantized.folder / QUANT_FILE
        data = json.loads(path.read_text())
        data["config"]["layers"] = {"classifier.fc3": {"weight_bits": 8, "act_bits": None, "quantize": True},
                                    "features.conv1": {"weight_bits": None, "act_bits": None, "quantize": False}}
        path.write_text(json.dumps(data))
        bits = layer_bits(quantized)
        assert bits["classifier.fc3"] == {"weights": 8, "acts": 4} and bits["features.conv1"] is None
        assert bits["features.conv2"] == {"weights": 4, "acts": 4}
        path.write_text('{"config": 3}')
        with pytest.raises(InputError, match=r"quant\.json is damaged"):
            diff(project, "0001", "0002")


def test_the_verdict_takes_a_real_boards_fps_but_not_an_emulated_ones_over_finns_estimate(
        estimated_defect: Path) -> None:
    with Project.open(estimated_defect) as project:
        quantized = project.get("0002")
        _run(quantized, "throughput", {"fps": Figure(3.6, "images/s", "emulated")}, "2026-12-02T00:00:00Z", "emu")
        row = compare_table(project)[1]
        assert row.cells["board_fps"].source == "emulated"
        assert row.cell("fps").source == "estimated" and row.verdict["source"] == "estimated"
        _run(quantized, "throughput", {"fps": Figure(900.0, "images/s", "measured")}, "2026-12-02T01:00:00Z")
        row = compare_table(project)[1]
    assert row.cell("fps").source == "measured" and row.verdict["source"] == "measured"


def test_a_kept_folding_that_differs_from_the_newest_build_is_noted(estimated_defect: Path) -> None:
    from foldwise.core.finn.build_state import estimate_record, save_build_state

    with Project.open(estimated_defect) as project:
        current = project.current
        assert not compare_table(project)[-1].warnings
        build_fps = compare_table(project)[-1].cells["fps_estimated"].value
        save_build_state(current, estimate=estimate_record(build_fps, "Pynq-Z2", 100.0))
        assert not compare_table(project)[-1].warnings  # the same folding: nothing to say
        save_build_state(current, estimate=estimate_record(5425.0, "Pynq-Z2", 100.0))
        (note,) = compare_table(project)[-1].warnings
    assert "kept in the Build stage estimates 5,425 FPS" in note and "makes it a build" in note
