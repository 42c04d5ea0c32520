from collections.abc import Iterator
from pathlib import Path

import pytest
import torch
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QApplication, QMessageBox

from foldwise.core import iterations
from foldwise.core.jobs import JobState
from foldwise.core.project import IterationKind
from foldwise.gui import main_window as main_window_module
from foldwise.gui.main_window import MainWindow
from foldwise.gui.panels.prune_panel import HINT, PrunePanel
from tests.core.prune._fixtures import digits_splits, make_project
from tests.gui.conftest import message_boxes


@pytest.fixture(scope="module", autouse=True)
def _one_torch_thread() -> Iterator[None]:
    previous = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(previous)


@pytest.fixture
def _prune_panel_wired(monkeypatch: pytest.MonkeyPatch) -> None:
    """Until the window lists PrunePanel itself, put it in the placeholder's place."""
    original = main_window_module.stage_panel_classes

    def classes():
        return [PrunePanel if cls.title == "Prune" else cls for cls in original()]

    monkeypatch.setattr(main_window_module, "stage_panel_classes", classes)
    monkeypatch.setattr(iterations, "load_splits", lambda *a, **k: digits_splits())


@pytest.fixture
def window(_prune_panel_wired: None, main_window: MainWindow, tmp_path: Path) -> MainWindow:
    make_project(tmp_path / "digits", quantized_child=True).close()
    assert main_window.open_project(tmp_path / "digits")
    main_window.project.set_current("0001")
    return main_window


def panel_of(window: MainWindow) -> PrunePanel:
    panel = next(p for p in window.panels if p.title == "Prune")
    assert isinstance(panel, PrunePanel)
    return panel


def select(panel: PrunePanel, names: list[str]) -> None:
    panel.table.clearSelection()
    panel._add_to_selection(names)
    assert sorted(panel.table.selected_layers()) == sorted(names)


def wait(qtbot, panel: PrunePanel, job) -> None:
    qtbot.waitUntil(lambda: job.is_finished, timeout=60_000)
    qtbot.waitUntil(lambda: not panel.busy and panel.progress.isHidden(), timeout=5000)


def test_remove_selected_layers_shows_before_and_after_and_undoes(window: MainWindow, qtbot) -> None:
    panel = panel_of(window)
    assert panel.table.layer_model.rows[0]["name"] == "features.conv1"
    select(panel, ["classifier.fc2", "classifier.relu2"])
    assert panel.selection_label.text() == "Selected: classifier.fc2, classifier.relu2"
    panel.finetune.setValue(1)
    qtbot.mouseClick(panel.remove_button, Qt.MouseButton.LeftButton)
    job = panel._job
    wait(qtbot, panel, job)
    assert job.state == JobState.DONE, job.error_message
    assert panel.selection_label.text() == HINT  # #14: the removed layers' names stayed here
    project = window.project
    assert project.current.kind == IterationKind.PRUNED and project.current.parent == "0001"
    assert "classifier.fc3" in panel.change_label.text() and "fresh weights" in panel.change_label.text()
    assert panel.before.cards["params"].source.text() == "computed"
    assert panel.after.cards["accuracy"].source.text().startswith("measured · test, ")  # the report protocol
    assert panel.before.cards["params"].value.text() != panel.after.cards["params"].value.text()
    assert "fc2" not in " ".join(r["name"] for r in panel.table.layer_model.rows)
    qtbot.waitUntil(lambda: panel.undo_stack.count() == 1, timeout=5000)
    window.undo_action.trigger()
    assert project.current_id == "0001"
    window.redo_action.trigger()
    assert project.current.kind == IterationKind.PRUNED


def test_channel_pruning_and_block_selection(window: MainWindow, qtbot) -> None:
    panel = panel_of(window)
    select(panel, ["features.conv2"])
    panel.select_blocks()
    assert panel.table.selected_layers() == ["features.conv2", "features.relu2", "features.pool2"]
    panel.ratio_slider.setValue(50)
    assert panel.ratio.value() == pytest.approx(0.5)
    panel.finetune.setValue(0)
    qtbot.mouseClick(panel.prune_button, Qt.MouseButton.LeftButton)
    wait(qtbot, panel, panel._job)
    current = window.project.current
    assert current.change["channels"]["widths"]["features.conv2"] == [16, 8]
    assert "features.conv2 16→8" in panel.change_label.text()


def test_removing_the_input_layer_is_a_message_and_changes_nothing(window: MainWindow, qtbot) -> None:
    panel = panel_of(window)
    select(panel, ["features.conv1"])
    job = panel.remove_selected()
    wait(qtbot, panel, job)
    qtbot.waitUntil(lambda: bool(message_boxes()), timeout=5000)
    text = message_boxes()[0].text()
    assert "features.conv1" in text and "input layer" in text and "Traceback" not in text
    assert [it.id for it in window.project.iterations] == ["0001", "0002"]


def test_a_quantized_iteration_offers_its_float_parent(window: MainWindow, qtbot) -> None:
    panel = panel_of(window)
    window.project.set_current("0002")
    qtbot.waitUntil(lambda: "quantized" in panel.notice.text(), timeout=5000)
    assert not panel.prune_button.isEnabled() and not panel.float_parent_button.isHidden()
    assert panel.prune_channels() is None
    boxes = [w for w in QApplication.topLevelWidgets()
             if isinstance(w, QMessageBox) and w.objectName() == "quantizedBox"]
    assert boxes and "0001" in boxes[0].text()
    for text in (panel.notice.text(), boxes[0].text()):  # #14 point 8: the user's words, not the libraries'
        assert "only a float network can be pruned" in text
        assert not any(word in text for word in ("torch-pruning", "quantize()", "Brevitas", "quant.json"))
    go = next(b for b in boxes[0].buttons() if "0001" in b.text())
    go.click()
    qtbot.waitUntil(lambda: window.project.current_id == "0001", timeout=5000)
    assert panel.prune_button.isEnabled()


def test_sensitivity_scan_plots_one_line_per_layer_and_feeds_ratios(window: MainWindow, qtbot) -> None:
    panel = panel_of(window)
    panel.scan_images.setValue(60)
    qtbot.mouseClick(panel.scan_button, Qt.MouseButton.LeftButton)
    job = panel._job
    wait(qtbot, panel, job)
    assert job.state == JobState.DONE, job.error_message
    plot = panel._plot
    assert plot is not None and set(plot.curves) == {"features.conv1", "features.conv2", "classifier.fc1",
                                                     "classifier.fc2"}
    assert all(len(points) == 5 for points in plot.points.values())
    assert "(measured, val, 60 images)" in plot.plot.getPlotItem().titleLabel.text  # the scan protocol, limited
    assert (panel._scan.protocol, panel._scan.split, panel._scan.images) == ("scan", "val", 60)
    panel.use_scan.setChecked(True)
    panel.max_drop.setValue(100)
    spec = panel.channel_spec()
    assert spec.ratio is None and "features.conv1" not in spec.layer_ratios and spec.layer_ratios


def test_cancelling_a_scan_leaves_the_panel_usable(window: MainWindow, qtbot) -> None:
    panel = panel_of(window)
    panel.scan_images.setValue(200)
    job = panel.start_scan()
    qtbot.mouseClick(panel.cancel_button, Qt.MouseButton.LeftButton)
    wait(qtbot, panel, job)
    assert job.state in (JobState.CANCELLED, JobState.DONE)
    assert panel.scan_button.isEnabled() and panel.cancel_button.isHidden()
    assert not message_boxes()
