import json
import sys
import threading
from pathlib import Path

from PySide6.QtCore import Qt

from foldwise.core.jobs import Job, JobContext, JobState
from foldwise.core.project import MANIFEST_NAME, IterationKind, Project
from foldwise.gui.about import AboutDialog, stack_versions
from foldwise.gui.main_window import MainWindow
from tests.gui.conftest import message_boxes

STAGES = ["Network", "Prune", "Quantize", "Build", "Board", "Demo", "Compare"]


def test_window_has_every_stage_and_dock(main_window: MainWindow) -> None:
    names = [main_window.navigator.item(i).text() for i in range(main_window.navigator.count())]
    assert names == STAGES
    assert main_window.stack.currentWidget() is main_window.welcome
    assert not main_window.navigator.isEnabled()
    for dock in (main_window.jobs_dock, main_window.log_dock, main_window.iterations_dock):
        assert dock.toggleViewAction().isChecked()


def test_open_project_and_switch_stages(main_window: MainWindow, project_path: Path, qtbot) -> None:
    Project.create(project_path, name="bolts").close()
    assert main_window.open_project(project_path)
    assert main_window.windowTitle() == "bolts — Foldwise"
    main_window.show_stage(2)
    assert main_window.current_panel() is main_window.panels[2]
    assert "Quantize" in main_window.current_panel().objectName().title()
    assert str(project_path.absolute()) in main_window.recent_projects()


def test_bad_project_shows_message_and_changes_nothing(main_window: MainWindow, tmp_path: Path) -> None:
    (tmp_path / MANIFEST_NAME).write_text('{"format": "foldwise-project", "version": 7}')
    assert not main_window.open_project(tmp_path)
    boxes = message_boxes()
    assert boxes and "newer Foldwise" in boxes[0].text()
    assert main_window.project is None
    assert sorted(p.name for p in tmp_path.iterdir()) == [MANIFEST_NAME]


def test_locked_project_is_refused(main_window: MainWindow, project_path: Path) -> None:
    holder = Project.create(project_path)
    try:
        assert not main_window.open_project(project_path)
        assert "another Foldwise instance" in message_boxes()[0].text()
    finally:
        holder.close()


def test_undo_redo_iteration_edits(main_window: MainWindow, project_path: Path) -> None:
    with Project.create(project_path) as project:
        with project.new_iteration(IterationKind.TRAINED, "base"):
            pass
        with project.new_iteration(IterationKind.PRUNED, "half", parent="0001"):
            pass
    main_window.open_project(project_path)
    project = main_window.project
    dock = main_window.iterations_dock
    assert dock.tree.topLevelItemCount() == 1 and dock.tree.topLevelItem(0).child(0).text(0) == "0002 half"

    from foldwise.gui.undo import HideIteration, RenameIteration

    dock.push(RenameIteration(project, "0002", "half-channels"))
    dock.push(HideIteration(project, "0002"))
    assert project.current_id == "0001"
    assert dock.tree.topLevelItem(0).childCount() == 0
    main_window.undo_action.trigger()
    assert project.current_id == "0002" and not project.get("0002").hidden
    main_window.undo_action.trigger()
    assert project.get("0002").name == "half"
    main_window.redo_action.trigger()
    saved = json.loads((project_path / MANIFEST_NAME).read_text())
    assert saved["iterations"][1]["name"] == "half-channels"


def test_jobs_dock_shows_progress_and_cancels(main_window: MainWindow, qtbot) -> None:
    release = threading.Event()

    def work(ctx: JobContext) -> None:
        ctx.progress(0.4, "calibrating")
        while not release.wait(0.01):
            ctx.check_cancelled()

    job = Job("Calibrate", work)
    main_window.jobs.start(job)
    rows = main_window.jobs_dock.rows()
    assert len(rows) == 1
    qtbot.waitUntil(lambda: rows[0].bar.value() == 400, timeout=3000)
    assert rows[0].message.text() == "calibrating"
    qtbot.mouseClick(rows[0].cancel_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: rows[0].message.text() == "cancelled", timeout=3000)
    assert job.state == JobState.CANCELLED


def test_failed_job_calls_on_error_on_gui_thread(main_window: MainWindow, qtbot) -> None:
    errors: list[str] = []

    def work(ctx: JobContext) -> None:
        raise ValueError("bad value")

    with qtbot.waitSignal(main_window.jobs.job_started):
        main_window.jobs.start(Job("Broken", work), on_error=lambda job: errors.append(job.error_message))
    qtbot.waitUntil(lambda: errors == ["ValueError: bad value"], timeout=3000)
    assert "failed" in main_window.jobs_dock.rows()[0].message.text()


def test_about_lists_the_stack(qtbot) -> None:
    versions = stack_versions()
    for name in ("torch", "brevitas", "qonnx", "finn-plus"):
        assert versions[name] != "not installed"
    dialog = AboutDialog()
    qtbot.addWidget(dialog)
    text = dialog.findChild(type(dialog.children()[1]), "aboutText").text()
    assert "brevitas" in text and versions["brevitas"] in text
    assert f"Runs as Python {sys.executable}" in text  # the packaged app says so instead (tests/verbs/test_frozen.py)


def test_closing_releases_the_lock(qtbot, project_path: Path) -> None:
    from foldwise.gui.app import make_settings

    Project.create(project_path).close()
    window = MainWindow(make_settings())
    qtbot.addWidget(window)
    window.open_project(project_path)
    window.close()
    Project.open(project_path).close()


def test_the_iterations_dock_says_what_each_accuracy_was_measured_on(main_window: MainWindow,
                                                                     trained_lenet: Path) -> None:
    assert main_window.open_project(trained_lenet)
    item = main_window.iterations_dock.tree.topLevelItem(0)
    images = main_window.project.current.metrics["accuracy"]["images"]
    assert item.text(2).endswith("%") and item.toolTip(2) == f"measured on test, {images:,} images"
