"""The Quantize panel on a real (quickly trained) lenet-digits project: PTQ into an undoable iteration, preview
histograms with instant per-layer what-ifs, sorting, messages for invalid settings, validation, QAT and export."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import torch
from PySide6.QtCore import QPoint, Qt

import foldwise.core.quantize.inspect  # noqa: F401 - loaded up front, so the panel binds synchronously
from foldwise.core.jobs import JobState
from foldwise.core.project import IterationKind, Project
from foldwise.core.quantize.config import LayerOverride, QuantConfig, QuantizeSpec
from foldwise.core.quantize.stage import quantize_iteration
from foldwise.gui import main_window as main_window_module
from foldwise.gui.main_window import MainWindow
from foldwise.gui.panels.quantize_panel import QuantizePanel
from foldwise.gui.quantize.layer_bits_table import COL, SORT_ROLE
from tests.gui.conftest import message_boxes


@pytest.fixture(scope="module", autouse=True)
def _one_torch_thread() -> Iterator[None]:
    previous = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(previous)


@pytest.fixture(autouse=True)
def _quantize_panel_wired(monkeypatch: pytest.MonkeyPatch) -> None:
    """Until the window lists QuantizePanel itself, put it in the placeholder's place. Later stages are left
    out: the Build panel starts a FINN worker whenever a quantized iteration becomes current."""
    original = main_window_module.stage_panel_classes
    monkeypatch.setattr(main_window_module, "stage_panel_classes",
                        lambda: [QuantizePanel if cls.title == "Quantize" else cls for cls in original()
                                 if cls.title in ("Network", "Prune", "Quantize")])


@pytest.fixture
def window(main_window: MainWindow, qtbot) -> Iterator[MainWindow]:
    """The main window; at the end no job is left running (closing would otherwise ask about it, modally)."""
    yield main_window
    main_window.jobs.cancel_all()
    qtbot.waitUntil(lambda: not main_window.jobs.running, timeout=30_000)


@pytest.fixture
def quantized_lenet(trained_lenet: Path) -> Path:
    """trained_lenet with a W8A8 iteration 0002 made by the core stage (current)."""
    with Project.open(trained_lenet) as project:
        quantize_iteration(project, QuantizeSpec(QuantConfig(calib_images=64)))
    return trained_lenet


def open_panel(window: MainWindow, path: Path) -> QuantizePanel:
    assert window.open_project(path)
    index = next(i for i, p in enumerate(window.panels) if p.title == "Quantize")
    window.show_stage(index)
    panel = window.panels[index]
    assert isinstance(panel, QuantizePanel) and panel.isVisible() and panel.config is not None
    return panel


def wait(qtbot, panel: QuantizePanel, job) -> None:
    assert job is not None
    qtbot.waitUntil(lambda: job.is_finished, timeout=60_000)
    qtbot.waitUntil(lambda: not panel.busy and panel.progress.isHidden(), timeout=5000)
    assert job.state == JobState.DONE, job.error_message


def close_messages() -> None:
    for box in message_boxes():
        box.close()


def test_quantize_w8a8_makes_a_labelled_undoable_iteration(window: MainWindow, trained_lenet: Path,
                                                           qtbot) -> None:
    panel = open_panel(window, trained_lenet)
    project = window.project
    assert panel.quantize_button.isEnabled() and not panel.qonnx_button.isEnabled()
    assert "Preview calibration" in panel.notice.text()
    panel.defaults.weight_bits.setValue(8)
    panel.defaults.act_bits.setValue(8)
    panel.defaults.calib_images.setValue(64)
    assert panel.config.calib_images == 64
    qtbot.mouseClick(panel.quantize_button, Qt.MouseButton.LeftButton)
    wait(qtbot, panel, panel._job)

    current = project.current
    assert current.kind == IterationKind.QUANTIZED and current.parent == "0001" and current.name == "w8a8"
    cards = panel.figures.cards
    test_images = f"test, {current.metrics['accuracy']['images']:,} images"
    assert cards["float_accuracy"].source.text() == cards["accuracy"].source.text() == f"measured · {test_images}"
    assert cards["weight_mb"].source.text() == "computed" and "MB" in cards["weight_mb"].value.text()
    assert panel.chosen_card.source.text() == "computed"
    # Bit-exact, or one step apart at a verified rounding tie (torch and onnxruntime sum differently).
    assert panel.qonnx_card.source.text() == "measured"
    assert any(word in panel.qonnx_card.value.text() for word in ("bit-exact", "faithful")), panel.export_label.text()
    assert "(measured)" in panel.export_label.text()
    assert panel.table.layer_order()[0] == "features.conv1" and len(panel.views) == 5
    assert panel.quantize_button.text() == "Quantize from 0001" and panel.qonnx_button.isEnabled()
    assert "measured" in panel.confusion.quant_view.title

    qtbot.waitUntil(lambda: panel.undo_stack.undoText().startswith("Quantize: Quantize 0001")
                    and panel.undo_stack.undoText().endswith(f"({current.label})"), timeout=5000)
    window.undo_action.trigger()
    assert project.current_id == "0001" and project.get(current.id).hidden
    assert [it.id for it in project.visible_iterations] == ["0001"]
    qtbot.waitUntil(lambda: panel.inspection is None, timeout=5000)


def test_a_finished_preview_is_drawn_in_steps_and_the_panel_is_busy_until_the_last(
        window: MainWindow, trained_lenet: Path, qtbot, monkeypatch: pytest.MonkeyPatch) -> None:
    """The preview's done handler only queues the layer table, plots and views (one per event-loop turn, so the
    loop never stalls for the whole redraw; the table's turn queues the selected layer's histograms next); the
    panel stays busy, its buttons off, until the last is drawn."""
    panel = open_panel(window, trained_lenet)
    panel.defaults.calib_images.setValue(64)
    seen: list[tuple[list[str], bool, bool, bool]] = []
    queue = panel._draw_later

    def spy(steps: dict) -> None:
        queue(steps)
        seen.append((list(steps), panel.busy, panel.preview_button.isEnabled(), panel.histograms.weight.entry is None,
                     panel.table.bits_model.rowCount()))

    monkeypatch.setattr(panel, "_draw_later", spy)
    show_table, after_table = panel._show_table, []
    monkeypatch.setattr(panel, "_show_table", lambda: (show_table(), after_table.append(list(panel._pending))))
    job = panel.start_preview()
    qtbot.waitUntil(lambda: bool(seen), timeout=60_000)
    assert seen[0] == (["table", "validation", "memory", "qat"], True, False, True, 0)
    qtbot.waitUntil(lambda: not panel.busy, timeout=5000)
    assert job.state == JobState.DONE and not panel.drawing and panel.preview_button.isEnabled()
    assert [steps[:3] for steps in after_table] == [["weight", "bias", "act"]]
    assert panel.histograms.weight.entry is not None and panel.histograms.act.chosen is not None
    assert "measured" in panel.confusion.quant_view.title and panel.chosen_card.source.text() == "computed"


def test_the_activation_range_is_chosen_in_the_defaults_and_the_preview_says_it_used_the_other(
        window: MainWindow, trained_lenet: Path, qtbot) -> None:
    panel = open_panel(window, trained_lenet)
    panel.defaults.calib_images.setValue(64)
    qtbot.mouseClick(panel.preview_button, Qt.MouseButton.LeftButton)
    wait(qtbot, panel, panel._job)
    combo = panel.defaults.act_range
    assert combo.currentData() == "percentile" and "activation ranges" not in panel.notice.text()
    combo.setCurrentIndex(combo.findData("mse"))
    assert panel.config.act_range == "mse" and panel.undo_stack.undoText().endswith("Set activation range")
    assert "activation ranges by percentile" in panel.notice.text()
    panel.undo_stack.undo()
    assert panel.config.act_range == "percentile" and combo.currentData() == "percentile"
    assert "activation ranges" not in panel.notice.text()


def test_preview_histograms_follow_bit_edits_instantly_and_feed_quantize(window: MainWindow,
                                                                         trained_lenet: Path, qtbot) -> None:
    panel = open_panel(window, trained_lenet)
    project = window.project
    panel.defaults.calib_images.setValue(64)
    qtbot.mouseClick(panel.preview_button, Qt.MouseButton.LeftButton)
    wait(qtbot, panel, panel._job)
    assert [it.id for it in project.iterations] == ["0001"]  # a preview commits nothing
    assert panel.inspection.kind == "preview" and "(preview)" in panel.figures.cards["accuracy"].title.text()

    # Histograms of one layer: weights and activations with the representable range shaded.
    panel.table.select_layer("features.conv1")
    hist = panel.histograms
    assert hist.layer == "features.conv1"
    weight = panel.inspection.stats.get("features.conv1/weight")
    assert hist.weight.range_region.isVisible()
    assert hist.weight.range_region.getRegion() == pytest.approx((weight.quant.lo, weight.quant.hi))
    assert hist.act.range_region.isVisible() and hist.act.chosen.bits == 8
    assert "clipped" in hist.act.caption.text() and "flushed" in hist.act.caption.text()
    assert not hist.bias.range_region.isVisible() and "float" in hist.bias.caption.text()
    assert len(hist.weight.curves["kept"].getData()[1]) == 128

    # Editing a layer's bits in the table: the fractions and the histogram follow, without a job.
    jobs = len(window.jobs.registry.jobs)
    model = panel.table.bits_model
    row = model.row_of("features.conv1")
    flushed_before = model.figures(row)["act"].flushed
    cell = model.index(row, COL["a_flushed"]).data()
    spin = panel.table.editor("features.conv1", "a_bits")
    assert spin is not None and spin.value() == 8
    spin.setValue(2)
    assert model.figures(row)["act"].flushed > flushed_before
    assert model.index(row, COL["a_flushed"]).data() != cell
    assert hist.act.chosen.bits == 2 and "2-bit" in hist.act.caption.text()
    assert hist.act.flush_region.isVisible()
    assert panel.config.layers == {"features.conv1": LayerOverride(None, 2, True)}
    assert "features.conv1" in panel.overrides_label.text()
    mb_before = panel.chosen_card.value.text()
    model.setData(model.index(model.row_of("classifier.fc1"), COL["w_bits"]), 4)
    assert panel.chosen_card.value.text() != mb_before  # weight memory at the chosen bits: recomputed
    # #14 point 5: the headline weights follow the edit as a marked what-if; the accuracies say they do not
    cards = panel.figures.cards
    assert panel.chosen_card is cards["weight_mb"] and cards["weight_mb"].title.text() == "Weights · what-if"
    assert cards["weight_mb"].source.text() == "computed · what-if"
    assert cards["accuracy"].title.text() == "Quantized accuracy (before the edit)"
    assert "What-if" in panel.notice.text() and "measured at W8A8" in panel.notice.text()
    assert len(window.jobs.registry.jobs) == jobs

    # Sorting by the activation flushed fraction, both ways; the editors stay on their rows.
    header = panel.table.horizontalHeader()
    column = COL["a_flushed"]
    for _ in range(2):
        qtbot.mouseClick(header.viewport(), Qt.MouseButton.LeftButton,
                         pos=QPoint(header.sectionViewportPosition(column) + 8, header.height() // 2))
        values = [panel.table.proxy.index(r, column).data(SORT_ROLE) for r in range(panel.table.proxy.rowCount())]
        descending = header.sortIndicatorOrder() == Qt.SortOrder.DescendingOrder
        assert values == sorted(values, reverse=descending)
    assert panel.table.layer_order()[0 if descending else -1] == "features.conv1"  # 2-bit: flushes the most
    assert panel.table.editor("features.conv1", "a_bits").value() == 2

    # Unticking a layer: it computes in float, its bits cannot be edited, its memory counts 32 bits.
    fc3 = model.row_of("classifier.fc3")
    model.setData(model.index(fc3, COL["quantize"]), Qt.CheckState.Unchecked, Qt.ItemDataRole.CheckStateRole)
    assert not model.figures(fc3)["quantize"] and not panel.table.editor("classifier.fc3", "w_bits").isEnabled()
    assert model.index(fc3, COL["w_clipped"]).data() == "float"

    qtbot.mouseClick(panel.quantize_button, Qt.MouseButton.LeftButton)
    wait(qtbot, panel, panel._job)
    current = project.current
    assert current.kind == IterationKind.QUANTIZED and current.name == "w8a8-mixed"
    saved = json.loads((current.folder / "quant.json").read_text())["config"]["layers"]
    assert saved["features.conv1"]["act_bits"] == 2 and saved["classifier.fc1"]["weight_bits"] == 4
    assert saved["classifier.fc3"]["quantize"] is False


def test_invalid_settings_are_messages_and_change_nothing(window: MainWindow, quantized_lenet: Path,
                                                          tmp_path: Path, qtbot) -> None:
    panel = open_panel(window, quantized_lenet)
    manifest = (quantized_lenet / "manifest.json").read_text()
    model = panel.table.bits_model
    assert panel.config.layers == {} and len(panel.views) == 5

    assert not model.setData(model.index(model.row_of("features.conv1"), COL["w_bits"]), 9)
    qtbot.waitUntil(lambda: bool(message_boxes()), timeout=5000)
    assert "bit width" in message_boxes()[0].text() and "Traceback" not in message_boxes()[0].text()
    assert panel.config.layers == {} and panel.table.editor("features.conv1", "w_bits").value() == 8
    close_messages()

    panel.defaults._set("calib_images", 0)
    qtbot.waitUntil(lambda: bool(message_boxes()), timeout=5000)
    assert "at least 1 image" in message_boxes()[0].text() and panel.config.calib_images == 64
    close_messages()

    for content, words in (({"conv99": {"weight_bits": 4}}, "conv99"), ({"classifier.fc1": {"act_bits": 0}}, "bit")):
        path = tmp_path / "layers.json"
        path.write_text(json.dumps(content))
        assert not panel.load_overrides(str(path))
        qtbot.waitUntil(lambda: bool(message_boxes()), timeout=5000)
        assert words in message_boxes()[0].text()
        close_messages()
    assert panel.config.layers == {}
    path.write_text(json.dumps({"classifier.fc1": {"weight_bits": 4}}))
    assert panel.load_overrides(str(path)) and panel.config.layers["classifier.fc1"].weight_bits == 4
    assert panel.table.editor("classifier.fc1", "w_bits").value() == 4
    assert (quantized_lenet / "manifest.json").read_text() == manifest


def test_sensitivity_exports_and_qat_from_a_quantized_iteration(window: MainWindow, quantized_lenet: Path,
                                                                tmp_path: Path, qtbot) -> None:
    panel = open_panel(window, quantized_lenet)
    project = window.project
    assert project.current.kind == IterationKind.QUANTIZED and not panel.preview_button.isEnabled()

    panel.sensitivity_images.setValue(100)
    qtbot.mouseClick(panel.sensitivity_button, Qt.MouseButton.LeftButton)
    wait(qtbot, panel, panel._job)
    bars = panel.sensitivity_bars
    assert bars.rows[0]["layer"] == "features.conv1" and len(bars.rows) == 5
    assert "measured" in bars.caption.text() and "computed" in panel.memory_bars.caption.text()

    qonnx = tmp_path / "lenet.qonnx.onnx"
    wait(qtbot, panel, panel.export_qonnx(str(qonnx)))
    assert qonnx.is_file() and "lenet.qonnx.onnx" in panel.export_label.text()
    # bit-exact, or faithful ("matches torch: bit-exact on 63/64 ... a rounding tie"); never a mismatch
    assert "bit-exact" in panel.export_label.text() and "mismatch" not in panel.export_label.text()
    qcdq = tmp_path / "lenet.qcdq.onnx"
    wait(qtbot, panel, panel.export_qcdq(str(qcdq)))
    assert qcdq.is_file() and "QCDQ" in panel.export_label.text() and "onnxruntime" in panel.export_label.text()

    panel.qat_epochs.setValue(1)
    qtbot.mouseClick(panel.qat_button, Qt.MouseButton.LeftButton)
    wait(qtbot, panel, panel._job)
    current = project.current
    assert current.parent == "0001" and current.name == "w8a8-qat1"
    assert len(panel.qat_curves.records) == 1 and panel.tabs.currentWidget() is panel.qat_tab
    qtbot.waitUntil(lambda: panel.undo_stack.undoText().endswith(f"({current.label})"), timeout=5000)
    window.undo_action.trigger()
    assert project.current_id == "0002"


def test_cancelled_quantize_leaves_the_project_as_it_was(window: MainWindow, quantized_lenet: Path,
                                                         qtbot) -> None:
    panel = open_panel(window, quantized_lenet)
    project = window.project
    job = panel.start_quantize()
    assert project.current_id == "0001"  # quantizing starts from the float parent
    panel.cancel_job()
    qtbot.waitUntil(lambda: job.is_finished and not panel.busy, timeout=60_000)
    assert job.state == JobState.CANCELLED
    assert project.current_id == "0002" and [it.id for it in project.visible_iterations] == ["0001", "0002"]
    assert not message_boxes()


def test_the_sensitivity_scan_survives_reopening(window: MainWindow, quantized_lenet: Path, qtbot) -> None:
    panel = open_panel(window, quantized_lenet)
    panel.sensitivity_images.setValue(50)
    qtbot.mouseClick(panel.sensitivity_button, Qt.MouseButton.LeftButton)
    wait(qtbot, panel, panel._job)
    rows = panel.sensitivity_bars.rows
    assert len(rows) == 5 and (quantized_lenet / "iterations").glob("0002-*/sensitivity.json")

    assert window.close_project()
    panel = open_panel(window, quantized_lenet)
    assert panel.sensitivity_bars.rows == rows  # kept with the iteration it was measured on, not measured again


def test_one_float_network_shows_one_accuracy_on_one_named_protocol(window: MainWindow, trained_lenet: Path,
                                                                    qtbot) -> None:
    """#14 point 5: the same float network showed 97.40 % (Prune), 97.20 % (Quantize preview on 500 images) and
    97.0 % (bit search): every card now measures on the whole test split and says so."""
    from foldwise.gui.panels.network_panel import NetworkPanel
    from foldwise.gui.panels.prune_panel import PrunePanel

    panel = open_panel(window, trained_lenet)
    float_it = window.project.current
    n = float_it.metrics["accuracy"]["images"]
    assert float_it.metrics["accuracy"]["protocol"] == "report" and float_it.metrics["accuracy"]["split"] == "test"
    assert float_it.metrics["val_accuracy"]["protocol"] == "select"
    label = f"measured · test, {n:,} images"
    network = next(p for p in window.panels if isinstance(p, NetworkPanel))
    prune = next(p for p in window.panels if isinstance(p, PrunePanel))
    shown = {"network": network.figures.cards["accuracy"], "prune": prune.before.cards["accuracy"],
             "quantize": panel.figures.cards["float_accuracy"]}
    panel.defaults.calib_images.setValue(64)
    wait(qtbot, panel, panel.start_preview())
    compare = panel.inspection.validation["compare"]
    assert (compare["images"], compare["split"], compare["protocol"]) == (n, "test", "report")
    values = {name: card.value.text() for name, card in shown.items()}
    assert len(set(values.values())) == 1, values  # one number for one network
    assert {name: card.source.text() for name, card in shown.items()} == dict.fromkeys(shown, label)
    assert panel.figures.cards["accuracy"].source.text() == label
    assert f"test, {n:,} images, preview" in panel.confusion.quant_view.title

    # The headline weights follow a bit edit as a marked what-if; undoing the edit clears the marks.
    cards = panel.figures.cards
    assert cards["weight_mb"].title.text() == "Weights (preview)" and "what-if" not in cards["weight_mb"].source.text()
    panel.defaults.weight_bits.setValue(4)
    assert cards["weight_mb"].title.text() == "Weights · what-if"
    assert cards["weight_mb"].source.text().endswith("what-if")
    assert cards["float_accuracy"].title.text().endswith("(before the edit)")
    assert "preview again to measure the edit" in panel.notice.text()
    panel.defaults.weight_bits.setValue(8)
    assert cards["weight_mb"].title.text() == "Weights (preview)" and "What-if" not in panel.notice.text()

    # The per-layer sensitivity scan measures on validation images (the scan protocol) and says so.
    job = panel.start_sensitivity()
    wait(qtbot, panel, job)
    rows = panel._sensitivity[1]
    assert rows and {(r["protocol"], r["split"]) for r in rows} == {("scan", "val")}
    assert f"val, {rows[0]['images']:,} images" in panel.sensitivity_bars.caption.text()


def test_a_quantized_iteration_shows_its_measured_figures_until_bits_are_edited(window: MainWindow,
                                                                               quantized_lenet: Path) -> None:
    panel = open_panel(window, quantized_lenet)
    current = window.project.current
    cards = panel.figures.cards
    assert not panel.what_if and cards["weight_mb"].title.text() == "Weights"
    assert cards["accuracy"].title.text() == "Quantized accuracy" and "What-if" not in panel.notice.text()
    measured_mb = cards["weight_mb"].value.text()
    assert f"{current.metrics['weight_mb']['value']:.4g}" in measured_mb  # the iteration's own figure
    panel.defaults.weight_bits.setValue(4)
    assert panel.what_if and cards["weight_mb"].title.text() == "Weights · what-if"
    assert cards["weight_mb"].value.text() != measured_mb
    assert cards["accuracy"].title.text() == "Quantized accuracy (before the edit)"
    assert "Quantize measures the edit" in panel.notice.text()
    panel.undo_stack.undo()  # the edit is undone where it was made: the measured figures are back
    assert not panel.what_if and cards["weight_mb"].value.text() == measured_mb


def _shared_note_of_imported(window: MainWindow, tmp_path: Path, model: torch.nn.Module) -> Any:
    """The Quantize panel's shared-quantizer note for ``model`` (plain PyTorch for 1×32×32 digits), exported to
    ONNX, imported into a lenet-digits project and quantized W4A4."""
    from foldwise.core.examples import create_from_example
    from foldwise.core.importing import ImportSpec, import_iteration

    torch.manual_seed(0)
    torch.onnx.export(model.eval(), torch.rand(1, 1, 32, 32), tmp_path / "net.onnx", dynamo=False, opset_version=13)
    with create_from_example(tmp_path / "p", "lenet-digits") as project:
        import_iteration(project, ImportSpec(tmp_path / "net.onnx"))
        quantize_iteration(project, QuantizeSpec(QuantConfig(weight_bits=4, act_bits=4, calib_images=32)))
    return open_panel(window, tmp_path / "p").shared_note


def test_the_panel_says_which_quantizers_a_residual_add_shares(window: MainWindow, tmp_path: Path) -> None:
    from tests.core.finn.test_residual import OneBlock

    torch.manual_seed(0)
    note = _shared_note_of_imported(window, tmp_path, OneBlock())
    assert note.isVisible()
    assert "Shared quantizers</b>: 1 residual add(s) — both inputs" in note.text() and "ElementwiseAdd" in note.text()
    assert "add: r0_Relu (after stem_Conv) + add_quant (after c2_Conv) share one scale, 4 bits" in note.text()


def test_the_panel_says_which_quantizers_a_concatenation_shares(window: MainWindow, tmp_path: Path) -> None:
    from tests.core.finn.test_residual import DenseSkip

    torch.manual_seed(0)
    note = _shared_note_of_imported(window, tmp_path, DenseSkip(channels=1, classes=10))  # for the digits
    assert note.isVisible()
    assert "Shared quantizers</b>: 1 concatenation(s) — every input of a concatenation needs one scale, bit width " \
           "and sign" in note.text() and "StreamingConcat" in note.text()
    assert "cat (concatenation): r0_Relu (after c0_Conv) + r1_Relu (after c1_Conv) share one scale, 4 bits, " \
           "unsigned" in note.text()


def test_a_quantization_that_lost_accuracy_says_what_to_try(window: MainWindow, trained_lenet: Path) -> None:
    with Project.open(trained_lenet) as project:
        quantize_iteration(project, QuantizeSpec(QuantConfig(weight_bits=2, act_bits=2, calib_images=32)))
        metrics = project.current.metrics
    lost = (metrics["float_accuracy"]["value"] - metrics["accuracy"]["value"]) * 100
    assert lost > 2  # W2A2 on LeNet-5
    notice = open_panel(window, trained_lenet).notice.text()
    assert f"Lost {lost:.1f} points to quantization: try quantization-aware training" in notice
    assert "GPFQ weight rounding; MSE activation ranges" in notice
