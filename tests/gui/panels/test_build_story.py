"""The Build panel as the engineer lives the README's story (issue #14): the project's target frame rate on
screen (editable, saved), a Keeps up? verdict beside Fits, a target line on the cycles chart and the same verdict
in the Iterations dock; the folding and the search results saved with their iteration and back after reopening.
"""

from __future__ import annotations

import json
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from foldwise.core.examples import create_from_example
from foldwise.core.finn.build_state import load_build_state, save_build_state
from foldwise.core.finn.reports import BuildReport, Figure
from foldwise.core.finn.target import target_verdict
from foldwise.core.project import MANIFEST_NAME, IterationKind
from foldwise.gui.app import make_settings
from foldwise.gui.build.results import si
from foldwise.gui.iterations_dock import KEEPS_UP_COLUMN
from foldwise.gui.main_window import MainWindow
from tests.core.finn.conftest import finn_worker, tfc_model  # noqa: F401 - shared session fixtures
from tests.gui.panels.test_build_panel import LONG, wait_ready


@pytest.fixture
def defect_demo(tmp_path: Path) -> Path:
    """The story's project (target 120 fps in its manifest) with a float and a quantized iteration."""
    path = tmp_path / "defect-demo"
    with create_from_example(path, "defect-demo") as project:
        with project.new_iteration(IterationKind.TRAINED, "float", change={"stage": "train"}):
            pass
        with project.new_iteration(IterationKind.QUANTIZED, "w4a4", parent="0001", change={"stage": "quantize"}):
            pass
    return path


@pytest.fixture
def window(qtbot) -> Iterator[MainWindow]:
    window = MainWindow(make_settings(), auto_prepare=False)
    qtbot.addWidget(window)
    window.show()
    yield window
    window.jobs.cancel_all()
    for job in window.jobs.registry.jobs:
        job.wait(30)
    window.close()


def build_panel(window: MainWindow):
    panel = next(p for p in window.panels if p.title == "Build")
    window.show_stage(window.panels.index(panel))
    return panel


def report(fps: float) -> BuildReport:
    cycles = round(100e6 / fps)
    return BuildReport(board="Pynq-Z2", clock_ns=10.0, fps=Figure(fps, "estimated", "fps"), bottleneck="MVAU_hls_1",
                       max_cycles=cycles, node_cycles={"MVAU_hls_0": cycles // 3, "MVAU_hls_1": cycles})


def test_the_verdict_is_core_logic_with_a_margin() -> None:
    fast, slow = target_verdict(5425.0, 120), target_verdict(21.0, 120)
    assert fast.keeps_up and round(fast.margin, 1) == 45.2 and fast.text == "keeps up (×45.2)"
    assert not slow.keeps_up and slow.margin_text == "×0.17" and slow.text.startswith("too slow")
    assert target_verdict(None, 120) is None and target_verdict(5425.0, None) is None


def test_the_projects_target_is_on_screen_editable_and_saved(window: MainWindow, defect_demo: Path, qtbot) -> None:
    assert window.open_project(defect_demo)
    panel = build_panel(window)
    assert panel.target_fps.value() == 120 and panel.target_fps.isEnabled()  # not 100,000, not greyed out

    # as set_model(its QONNX, "project") leaves it (the model file itself is left out: no FINN in this test)
    panel.source, panel.iteration = "project", window.project.get("0002")
    panel._show_report(report(21.0), "estimate")  # the default folding: 21 fps
    card = panel.figures.cards["keeps_up"]
    assert card.title.text() == "Keeps up?" and card.source.text() == "estimated"
    assert ">no<" in card.value.text() and "#b03a2e" in card.value.text() and "×0.17" in card.value.text()
    chart = panel.chart  # cycles per frame at 100 MHz for 120 fps: 833,333; the 21-fps bottleneck is past it
    assert chart.target_line is not None and chart.target_cycles == pytest.approx(100e6 / 120)
    assert chart.target_line.label.toPlainText() == "target 120 fps" and "too slow" in chart.caption.text()
    panel._show_report(report(5425.0), "live re-estimate")
    assert ">yes<" in card.value.text() and "×45" in card.value.text()
    assert chart.target_line is None  # far beyond every bar: said in words, the bars keep their scale
    assert "target (120 fps) allows 833,333 cycles per frame, off the chart: every node keeps up" in \
        chart.caption.text()

    # Iterations dock: the same verdict for the iteration that has an estimate, none for the float one.
    dock = window.iterations_dock
    float_row = dock.tree.topLevelItem(0)
    assert float_row.child(0).text(KEEPS_UP_COLUMN) == "yes ×45.2" and float_row.text(KEEPS_UP_COLUMN) == ""

    panel.target_fps.setValue(10_000)  # typed: saved in the manifest through core; the verdicts follow
    assert json.loads((defect_demo / MANIFEST_NAME).read_text())["settings"]["target_fps"] == 10_000
    panel.source, panel.iteration = "project", window.project.get("0002")  # (its missing model reset the panel)
    panel._show_report(report(5425.0), "live re-estimate")
    assert ">no<" in card.value.text() and "×0.54" in card.value.text()
    qtbot.waitUntil(lambda: dock.tree.topLevelItem(0).child(0).text(KEEPS_UP_COLUMN) == "no ×0.54", timeout=3000)
    assert chart.target_cycles == pytest.approx(100e6 / 10_000) and chart.target_line is not None


def story_with_a_model(path: Path, model: Path) -> Path:
    """The story's project with a float iteration and a quantized one holding ``model`` as its QONNX export."""
    with create_from_example(path, "defect-demo") as project:
        with project.new_iteration(IterationKind.TRAINED, "float", change={"stage": "train"}):
            pass
        with project.new_iteration(IterationKind.QUANTIZED, "w1a1", parent="0001",
                                   change={"stage": "quantize"}) as draft:
            shutil.copy(model, draft.folder / "model.qonnx.onnx")
    return path


def test_work_survives_reopening(window: MainWindow, tmp_path: Path, finn_worker, tfc_model: Path,  # noqa: F811
                                 qtbot) -> None:
    path = story_with_a_model(tmp_path / "story", tfc_model)
    assert window.open_project(path)
    panel = build_panel(window)
    wait_ready(qtbot, panel)
    default_fps = panel.report.fps.value
    model = panel.folding_model
    row = [n["name"] for n in model.nodes].index("MVAU_hls_0")
    pe = model.index(row, model.column_of("PE"))
    legal = model.legal_values(pe)
    assert model.setData(pe, legal[-1])  # the edit a user makes in the table (undoable, re-estimated)
    qtbot.waitUntil(lambda: not panel.live.busy and panel.report.fps.value != default_fps, timeout=LONG)
    edited_fps = panel.report.fps.value
    iteration = window.project.get("0002")
    # the searches' results, as their jobs keep them (the searches themselves are tested on their own)
    save_build_state(iteration, autofit={"budget": 0.85, "result": {
        "autofit": {"fps": {"value": 5425.0, "source": "estimated"}}, "setfolding": None, "sweep": []}})
    save_build_state(iteration, bitfit={"budget": 0.85, "result": {
        "start": {"fps": {"value": 5425.0}, "accuracy": {"value": 0.97}},
        "final": {"fps": {"value": 7100.0}, "accuracy": {"value": 0.965}}, "gain": 1.31, "max_loss_points": 1.0,
        "trials": [{"layer": "layer.3", "kind": "W", "bits": 3, "accepted": True}],
        "per_layer_file": {"layers": {"layer.3": {"weight_bits": 3}}}}})

    qtbot.waitUntil(lambda: not window.jobs.running, timeout=LONG)  # closing would ask about a running job
    assert window.close_project() and window.open_project(path)
    panel = build_panel(window)
    wait_ready(qtbot, panel)
    model = panel.folding_model
    assert model.values["MVAU_hls_0"]["PE"] == legal[-1]  # the folding as edited, not FINN's default
    assert panel.report.fps.value == pytest.approx(edited_fps)
    text = panel.autofit_result.text()
    assert "5.42 kfps" in text and "layer.3 W3" in text and "7.1 kfps" in text
    assert panel.use_bits_button.isVisibleTo(panel) and panel.use_bits_button.isEnabled()
    assert json.loads(panel._bits_file.read_text()) == {"layers": {"layer.3": {"weight_bits": 3}}}
    assert load_build_state(window.project.get("0002"))["estimate"]["fps"] == pytest.approx(edited_fps)

    # Another model (a file): the results are not its own, and Quantize with these bits… goes with them.
    other = tmp_path / "other.onnx"
    shutil.copy(tfc_model, other)
    panel.set_model(other, "file")
    assert panel.autofit_result.text() == "" and not panel.use_bits_button.isVisibleTo(panel)
    assert not panel.use_bits_button.isEnabled()
    wait_ready(qtbot, panel)


def test_the_window_opens_on_the_folding_the_command_line_found(window: MainWindow, tmp_path: Path,
                                                                finn_worker, tfc_model: Path, qtbot,  # noqa: F811
                                                                capsys: pytest.CaptureFixture[str]) -> None:
    """#14: after `foldwise estimate --target-fps` and `foldwise autofit` on the story's project, the Build panel
    showed FINN's default folding (21 fps) where the command line had printed 127 and 5,425 fps."""
    from foldwise.cli import main

    path = story_with_a_model(tmp_path / "story", tfc_model)

    def cli(*args: str) -> dict:
        capsys.readouterr()
        assert main([*args, str(path), "--json"]) == 0
        return json.loads(capsys.readouterr().out)

    target_fps = cli("estimate", "--target-fps", "5000")["fps"]["value"]
    assert window.open_project(path)
    panel = build_panel(window)
    wait_ready(qtbot, panel)
    default_fps = 100e6 / max(n["cycles"] for n in panel.hw.nodes)  # FINN's default folding, at 100 MHz
    assert default_fps < target_fps / 2 and panel.report.fps.value == pytest.approx(target_fps)
    qtbot.waitUntil(lambda: not window.jobs.running, timeout=LONG)  # the option tables, tabulated meanwhile
    assert window.close_project()

    fitted = cli("autofit", "--no-baseline")
    found = fitted["autofit"]["fps"]["value"]
    assert found > target_fps and fitted["kept"].startswith("kept        with iteration 0002")
    assert window.open_project(path)
    panel = build_panel(window)
    wait_ready(qtbot, panel)
    assert panel.report.fps.value == pytest.approx(found)
    assert f"Auto-fit:</b> {si(found)}fps" in panel.autofit_result.text()
    assert "85% of LUT, 85% of BRAM, 100% of DSP" in panel.autofit_result.text()
    assert window.iterations_dock.tree.topLevelItem(0).child(0).text(KEEPS_UP_COLUMN).startswith("yes")
    # with the project open here, the command line still answers, and says it kept nothing
    qtbot.waitUntil(lambda: not window.jobs.running, timeout=LONG)
    again = cli("autofit", "--no-baseline")
    assert again["autofit"]["fps"]["value"] == pytest.approx(found) and again["kept"].startswith("kept        no: ")


def test_a_reopened_project_shows_its_build_figures_from_the_cache_before_finn_answers(
        window: MainWindow, tmp_path: Path, finn_worker, tfc_model: Path, qtbot) -> None:  # noqa: F811
    """Issue #17, reopen without waiting: the hardware nodes and option tables FINN gave before are read from the
    project's cache at once; the figures for the saved folding come from the tables and FINN's re-estimate
    confirms them, with no "FINN hardware nodes" or tabulation job."""
    path = story_with_a_model(tmp_path / "story", tfc_model)
    assert window.open_project(path)
    panel = build_panel(window)
    wait_ready(qtbot, panel)
    qtbot.waitUntil(lambda: panel.instant is not None, timeout=LONG)  # tabulated and kept in cache/finn
    model = panel.folding_model
    row = [n["name"] for n in model.nodes].index("MVAU_hls_0")
    pe = model.index(row, model.column_of("PE"))
    chosen = next(v for v in model.legal_values(pe) if v != model.values["MVAU_hls_0"]["PE"])
    assert model.setData(pe, chosen)
    qtbot.waitUntil(lambda: not panel.live.busy and "confirmed" in panel.live_label.text(), timeout=LONG)
    edited = panel.report
    assert sorted(p.name.split("-")[0] for p in (path / "cache" / "finn").glob("*.json")) == ["hw_nodes", "options"]

    qtbot.waitUntil(lambda: not window.jobs.running, timeout=LONG)  # FINN's build settings, read once
    assert window.close_project() and window.open_project(path)
    before = {id(job) for job in window.jobs.registry.jobs}
    panel = build_panel(window)
    qtbot.waitUntil(lambda: panel.report is not None, timeout=5000)
    assert "instant" in panel.origin_label.text() and not panel.busy and panel.estimate_button.isEnabled()
    assert panel.folding_model.values["MVAU_hls_0"]["PE"] == chosen
    assert panel.report.fps.value == pytest.approx(edited.fps.value)
    assert panel.report.node_cycles == edited.node_cycles
    started = [job.title for job in window.jobs.registry.jobs if id(job) not in before]
    assert not [t for t in started if "hardware nodes" in t or "Tabulate" in t], started
    qtbot.waitUntil(lambda: not panel.live.busy and "confirmed" in panel.live_label.text(), timeout=LONG)
    assert panel.report.fps.value == pytest.approx(edited.fps.value)
