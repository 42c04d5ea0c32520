from pathlib import Path

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QFileDialog

from foldwise.core.jobs import JobState
from foldwise.core.project import IterationKind
from foldwise.gui.main_window import MainWindow
from foldwise.gui.panels.network_panel import NetworkPanel


def network_panel(window: MainWindow) -> NetworkPanel:
    panel = window.panels[0]
    assert isinstance(panel, NetworkPanel)
    return panel


def test_layers_and_figures_of_the_current_iteration(main_window: MainWindow, trained_lenet: Path, qtbot) -> None:
    assert main_window.open_project(trained_lenet)
    panel = network_panel(main_window)
    rows = panel.table.layer_model.rows
    assert rows and rows[0]["type"] == "Conv2d"
    assert panel.figures.cards["params"].source.text() == "computed"
    test_images = main_window.project.current.metrics["accuracy"]["images"]
    assert panel.figures.cards["accuracy"].source.text() == f"measured · test, {test_images:,} images"
    assert "%" in panel.figures.cards["accuracy"].value.text()
    assert len(panel.graph.boxes) == len(rows)
    qtbot.waitUntil(lambda: panel._curves is not None, timeout=10_000)  # drawn once the window is up
    assert len(panel._curves.records) == 3  # the stored history


def test_table_and_graph_select_together(main_window: MainWindow, trained_lenet: Path, qtbot) -> None:
    main_window.open_project(trained_lenet)
    panel = network_panel(main_window)
    name = panel.table.layer_model.rows[2]["name"]
    panel.table.select_layer(name)
    assert panel.graph.selected_layers() == [name]
    other = panel.table.layer_model.rows[0]["name"]
    panel.graph.boxes[other].setSelected(True)
    panel.graph.scene().clearSelection()
    panel.graph.boxes[other].setSelected(True)
    assert panel.table.selected_layers() == [other]


def test_train_button_makes_an_undoable_iteration(main_window: MainWindow, trained_lenet: Path, qtbot) -> None:
    main_window.open_project(trained_lenet)
    panel = network_panel(main_window)
    panel.epochs.setValue(1)
    qtbot.mouseClick(panel.train_button, Qt.MouseButton.LeftButton)
    job = panel._job
    assert panel.busy and not panel.train_button.isEnabled() and not panel.progress.isHidden()
    qtbot.waitUntil(lambda: job.is_finished, timeout=60_000)
    assert job.state == JobState.DONE, job.error_message
    project = main_window.project
    qtbot.waitUntil(lambda: main_window.panels[0].undo_stack.count() == 1, timeout=5000)
    assert panel.progress.isHidden() and panel.train_button.isEnabled()
    assert project.current.kind == IterationKind.FINE_TUNED
    assert len(panel._curves.records) == 1  # live epoch records reached the plot
    main_window.undo_action.trigger()
    assert project.current_id == "0001"
    main_window.redo_action.trigger()
    assert project.current_id == "0002"


def test_import_error_is_a_message_not_a_traceback(main_window: MainWindow, trained_lenet: Path, tmp_path: Path,
                                                   qtbot) -> None:
    from tests.gui.conftest import message_boxes

    main_window.open_project(trained_lenet)
    panel = network_panel(main_window)
    bad = tmp_path / "truncated.pt"
    bad.write_bytes(b"PK\x03\x04 not really a zip")
    job = panel.start_import(str(bad))
    qtbot.waitUntil(lambda: job.is_finished, timeout=30_000)
    qtbot.waitUntil(lambda: bool(message_boxes()), timeout=5000)
    text = message_boxes()[0].text()
    assert "truncated.pt" in text and "Traceback" not in text
    assert [it.id for it in main_window.project.iterations] == ["0001"]


def test_an_imported_onnx_without_batchnorm_carries_the_importers_note(main_window: MainWindow, trained_lenet: Path,
                                                                      tmp_path: Path, qtbot) -> None:
    import torch

    from tests.core.finn.test_residual import OneBlock

    torch.onnx.export(OneBlock().eval(), torch.rand(1, 1, 32, 32), tmp_path / "block.onnx", dynamo=False,
                      opset_version=13)  # constant folding (the default) folds BatchNorm into the convolutions
    main_window.open_project(trained_lenet)
    panel = network_panel(main_window)
    job = panel.start_import(str(tmp_path / "block.onnx"))
    qtbot.waitUntil(lambda: job.is_finished and not panel.busy, timeout=30_000)
    assert job.state == JobState.DONE, job.error_message
    assert main_window.project.current.kind == IterationKind.IMPORTED
    assert "Note: no BatchNormalization in the graph: torch.onnx.export folds BatchNorm" in panel.notice.text()


def test_an_untrained_example_asks_before_it_trains(main_window: MainWindow, tmp_path: Path, qtbot) -> None:
    """#14 point 6: the example project started training (minutes of CPU) without being asked."""
    from foldwise.core.examples import create_from_example

    path = tmp_path / "digits"
    with create_from_example(path, "lenet-digits") as project:
        project.update_settings(train={"epochs": 1})  # project settings override the zoo's tuned defaults
    panel = network_panel(main_window)
    main_window.open_project(path)
    qtbot.waitUntil(panel.offer.isVisible, timeout=10_000)  # asked once the window is up
    qtbot.wait(300)
    assert panel._job is None and not main_window.jobs.running  # nothing starts by itself
    text = panel.offer.text.text()
    assert "no trained network yet" in text and "lenet5" in text and "digits" in text and "1 epochs" in text
    assert panel.epochs.value() == 1
    qtbot.mouseClick(panel.offer.accept_button, Qt.MouseButton.LeftButton)
    assert not panel.offer.isVisible()
    job = panel._job
    assert job is not None and job.title.startswith("Train lenet5")
    qtbot.waitUntil(lambda: job.is_finished, timeout=60_000)
    qtbot.waitUntil(lambda: main_window.project.current is not None, timeout=5000)
    assert main_window.project.current.kind == IterationKind.TRAINED


def test_not_now_leaves_the_example_untrained(main_window: MainWindow, tmp_path: Path, qtbot) -> None:
    from foldwise.core.examples import create_from_example

    path = tmp_path / "digits"
    with create_from_example(path, "lenet-digits"):
        pass
    panel = network_panel(main_window)
    main_window.open_project(path)
    qtbot.waitUntil(panel.offer.isVisible, timeout=10_000)
    qtbot.mouseClick(panel.offer.dismiss_button, Qt.MouseButton.LeftButton)
    qtbot.wait(200)
    assert not panel.offer.isVisible() and panel._job is None and main_window.project.current is None
    assert panel.train_button.isEnabled()  # training stays one click away


def test_an_iteration_without_a_layer_table_shows_its_float_ancestors(main_window: MainWindow,
                                                                       trained_lenet: Path) -> None:
    from foldwise.core.project import Project

    with Project.open(trained_lenet) as project, project.new_iteration(IterationKind.QUANTIZED, "w4a4", parent="0001"):
        pass
    main_window.open_project(trained_lenet)
    panel = network_panel(main_window)
    assert panel.table.layer_model.rows and panel.table.layer_model.rows[0]["type"] == "Conv2d"
    assert "Layers of 0001" in panel.notice.text() and "0002 w4a4" in panel.notice.text()


def test_the_architecture_shows_before_training_and_the_notice_says_training_runs(main_window: MainWindow,
                                                                                 tmp_path: Path, qtbot) -> None:
    """#14 point 6: the table and graph stayed empty before training although the zoo network is known, and
    the notice said "Not trained yet" while the example trained."""
    from foldwise.core.examples import create_from_example

    path = tmp_path / "digits"
    with create_from_example(path, "lenet-digits") as project:
        project.update_settings(train={"epochs": 1})
    panel = network_panel(main_window)
    main_window.open_project(path)
    qtbot.waitUntil(panel.offer.isVisible, timeout=10_000)  # the example offers to train once shown
    qtbot.mouseClick(panel.offer.accept_button, Qt.MouseButton.LeftButton)
    job = panel._job
    assert panel.busy and "Training <b>lenet5</b>" in panel.notice.text()
    assert "Not trained yet" not in panel.notice.text()
    rows = panel.table.layer_model.rows
    assert rows and rows[0]["name"] == "features.conv1" and len(panel.graph.boxes) == len(rows)
    assert panel.figures.cards["params"].source.text() == "computed"
    panel.cancel_job()
    qtbot.waitUntil(lambda: job.is_finished and not panel.busy, timeout=60_000)
    assert job.state == JobState.CANCELLED and main_window.project.current is None
    assert "Not trained yet" in panel.notice.text() and "untrained" in panel.notice.text()
    assert panel.table.layer_model.rows == rows


def test_a_cancelled_fine_tune_keeps_the_curves_on_screen(main_window: MainWindow, trained_lenet: Path,
                                                          qtbot) -> None:
    """#14 point 6: a pruned iteration without fine-tuning has no curves of its own; its parent's were on screen
    (unnamed) and a cancelled fine-tune wiped them. They are named now, and come back after the cancel."""
    import shutil

    from foldwise.core.iterations import MODEL_FILE
    from foldwise.core.project import Project

    with Project.open(trained_lenet) as project, \
            project.new_iteration(IterationKind.PRUNED, "no-finetune", parent="0001") as draft:
        shutil.copy(project.get("0001").folder / MODEL_FILE, draft.folder / MODEL_FILE)
    main_window.open_project(trained_lenet)
    panel = network_panel(main_window)
    assert main_window.project.current_id == "0002"
    qtbot.waitUntil(lambda: panel._curves is not None, timeout=10_000)  # drawn once the window is up
    history = list(panel._curves.records)
    assert len(history) == 3 and panel._curves.source == "iteration 0001 trained-3ep"
    assert "0001" in panel._curves.loss_plot.plotItem.titleLabel.text
    panel.epochs.setValue(50)
    job = panel.start_training()
    assert "Fine-tuning 0002" in panel.notice.text()
    qtbot.waitUntil(lambda: len(panel._curves.records) >= 1 and panel._curves.source == "", timeout=60_000)
    panel.cancel_job()
    qtbot.waitUntil(lambda: job.is_finished and not panel.busy, timeout=60_000)
    assert job.state == JobState.CANCELLED
    qtbot.wait(200)  # let any epoch record still queued arrive
    assert panel._curves.records == history and panel._curves.source.startswith("iteration 0001")


def test_the_data_set_is_chosen_and_changed_in_the_panel_undoably(main_window: MainWindow, tmp_path: Path, qtbot,
                                                                 monkeypatch) -> None:
    """#16: a zoo network made without a data set gets one here; a shipped set of the wrong image size is refused
    with the reason; an image folder is picked with a dialog; each change is undone where it was made."""
    assert main_window.create_project(tmp_path / "p", arch="lenet5")
    panel = network_panel(main_window)
    project = main_window.project
    assert not project.settings.get("dataset") and panel.dataset.currentIndex() == -1 and panel.dataset.isEnabled()

    panel.dataset.activated.emit(panel.dataset.findData("digits"))
    assert project.settings["dataset"]["name"] == "digits"
    assert panel.dataset.currentData() == "digits" and "data <b>digits</b>" in panel.heading.text()

    shown: list[tuple[str, str]] = []
    monkeypatch.setattr("foldwise.gui.errors.message_box", lambda _parent, title, text: shown.append((title, text)))
    assert not panel.choose_dataset("defects")  # 3×64×64 images for a 1×32×32 network
    assert shown and shown[0][0] == "Cannot use this data set" and "takes 1×32×32" in shown[0][1], shown
    assert project.settings["dataset"]["name"] == "digits" and panel.dataset.currentData() == "digits"

    images = tmp_path / "parts"
    for label in ("good", "bad"):
        (images / label).mkdir(parents=True)
        for i in range(3):
            (images / label / f"{i}.png").write_bytes(b"")
    monkeypatch.setattr(QFileDialog, "getExistingDirectory", staticmethod(lambda *_args, **_kw: str(images)))
    panel.dataset.activated.emit(panel.dataset.findData("folder"))
    assert project.settings["dataset"] == {"name": "folder", "path": str(images), "seed": 0}
    assert panel.dataset.currentText() == "Folder: parts" and str(images) in panel.dataset.toolTip()

    assert main_window.undo_action.text() == "&Undo Network: Data set: folder"
    main_window.undo_action.trigger()
    assert project.settings["dataset"]["name"] == "digits" and panel.dataset.currentData() == "digits"
    main_window.undo_action.trigger()
    assert not project.settings.get("dataset") and panel.dataset.currentIndex() == -1
    main_window.redo_action.trigger()
    assert panel.dataset.currentData() == "digits"
