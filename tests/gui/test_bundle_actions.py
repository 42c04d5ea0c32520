"""File > Export Bundle... / Import Bundle...: a job each (row in the Jobs dock), the imported project opened,
refusals as dialogs."""

from __future__ import annotations

import threading
from pathlib import Path

from PySide6.QtWidgets import QFileDialog

from foldwise.core.jobs import Job
from foldwise.core.project import IterationKind, Project
from foldwise.gui.bundle_actions import ExportBundleDialog
from foldwise.gui.main_window import MainWindow
from tests.gui.conftest import message_boxes


def _project(path: Path) -> Path:
    with Project.create(path) as project, project.new_iteration(IterationKind.TRAINED, "base") as draft:
        (draft.folder / "model.pt").write_bytes(b"weights" * 1000)
    return path


def _files(folder: Path) -> dict[str, bytes]:
    return {str(p.relative_to(folder)): p.read_bytes() for p in folder.rglob("*")
            if p.is_file() and p.name != ".foldwise.lock"}


def test_file_menu_holds_the_bundle_actions(main_window: MainWindow, project_path: Path) -> None:
    from foldwise.core.bundle import format as bundle_format
    from foldwise.gui import bundle_actions

    assert bundle_actions.SUFFIX == bundle_format.SUFFIX
    file_menu = main_window.menuBar().actions()[0].menu()
    texts = [a.text() for a in file_menu.actions()]
    assert "Export &Bundle…" in texts and "&Import Bundle…" in texts
    assert not main_window.bundles.export_action.isEnabled() and main_window.bundles.import_action.isEnabled()
    assert main_window.open_project(_project(project_path))
    assert main_window.bundles.export_action.isEnabled()


def test_export_then_import_through_the_menu(main_window: MainWindow, project_path: Path, tmp_path: Path,
                                             qtbot, monkeypatch) -> None:
    assert main_window.open_project(_project(project_path))
    out, dest = tmp_path / "carried.foldwise.zip", tmp_path / "carried"

    def fill(dialog: ExportBundleDialog) -> int:
        assert dialog.path.text() == str(tmp_path / "proj.foldwise.zip")  # proposed beside the project
        dialog.path.setText(str(out))
        dialog.recordings.setChecked(True)
        dialog.accept()
        return dialog.result()

    monkeypatch.setattr(ExportBundleDialog, "exec", fill)
    main_window.bundles.export_action.trigger()
    rows = main_window.jobs_dock.rows()
    assert rows and rows[-1].relay.job.title == "Export bundle carried.foldwise.zip"
    qtbot.waitUntil(lambda: "Bundled 3 files" in main_window.statusBar().currentMessage(), timeout=30_000)
    assert out.exists() and not main_window.jobs.running

    monkeypatch.setattr(QFileDialog, "getOpenFileName", lambda *a, **k: (str(out), ""))
    monkeypatch.setattr(QFileDialog, "getSaveFileName", lambda _parent, _title, start, *a, **k: (
        str(dest) if start == str(dest) else "", ""))  # the proposed folder is the bundle's name
    main_window.bundles.import_action.trigger()
    qtbot.waitUntil(lambda: main_window.project is not None and main_window.project.path == dest, timeout=30_000)
    assert _files(dest) == _files(project_path)
    assert main_window.project.holds_lock


def test_export_waits_for_running_jobs(main_window: MainWindow, project_path: Path, tmp_path: Path, qtbot) -> None:
    assert main_window.open_project(_project(project_path))
    release = threading.Event()
    main_window.jobs.start(Job("Train", lambda ctx: release.wait(20)))
    try:
        assert main_window.bundles.export_to(tmp_path / "b.zip", options=None) is None
        assert any("Train is still writing the project" in box.text() for box in message_boxes())
    finally:
        release.set()
    qtbot.waitUntil(lambda: not main_window.jobs.running, timeout=10_000)
    assert not (tmp_path / "b.zip").exists()


def test_a_refused_bundle_shows_why_and_opens_nothing(main_window: MainWindow, tmp_path: Path, qtbot) -> None:
    (tmp_path / "bad.foldwise.zip").write_bytes(b"PK\x03\x04 not really")
    main_window.bundles.import_to(tmp_path / "bad.foldwise.zip", tmp_path / "dest")
    qtbot.waitUntil(lambda: bool(message_boxes()), timeout=10_000)
    assert "not a zip archive, or it is truncated" in message_boxes()[0].text()
    assert main_window.project is None
    assert sorted(p.name for p in tmp_path.iterdir()) == ["bad.foldwise.zip"]
