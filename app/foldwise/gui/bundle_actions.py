"""File > Export Bundle... / Import Bundle...: ask where, run :mod:`foldwise.core.bundle` as a job (its progress
bar and Cancel are in the Jobs dock) and say what happened; an imported project is opened.

The core module is imported when first used: it pulls in numpy and the FINN stage (0.9 s of start-up)."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from PySide6.QtCore import QObject
from PySide6.QtGui import QAction
from PySide6.QtWidgets import QCheckBox, QFileDialog, QLineEdit, QWidget

from foldwise.core.errors import InputError
from foldwise.core.jobs import Job
from foldwise.gui.errors import message_box, show_job_error
from foldwise.gui.form_dialog import CheckedFormDialog, with_browse

if TYPE_CHECKING:
    from foldwise.core.bundle import BundleOptions, ExportResult, ImportResult
    from foldwise.gui.main_window import MainWindow

SUFFIX = ".foldwise.zip"  # foldwise.core.bundle.format.SUFFIX (checked by the tests)
_FILTER = f"Foldwise bundles (*{SUFFIX} *.zip)"


class ExportBundleDialog(CheckedFormDialog):
    """Where to write the bundle, and whether bitfiles and recordings go in."""

    def __init__(self, project_path: Path, parent: QWidget | None = None) -> None:
        super().__init__("Export Bundle", "exportBundleDialog", parent)
        self.path = QLineEdit(str(project_path.parent / f"{project_path.name}{SUFFIX}"))
        row = with_browse(self.path, self._browse)
        self.bitfiles = QCheckBox("Deployment packages, bitfiles and dataflow models (large)")
        self.recordings = QCheckBox("Demo recordings (large)")
        self.add_rows([("Bundle file", row), ("Also include", self.bitfiles), ("", self.recordings)])

    def _browse(self) -> None:
        path, _ = QFileDialog.getSaveFileName(self, "Export bundle", self.path.text(), _FILTER,
                                              options=QFileDialog.Option.DontConfirmOverwrite)
        if path:
            self.path.setText(path)

    def check(self) -> None:
        out = Path(self.path.text().strip()).expanduser()
        if not self.path.text().strip():
            raise InputError("give the bundle's file name")
        if out.exists():
            raise InputError(f"{out} already exists: pick another name")

    def options(self) -> BundleOptions:
        from foldwise.core.bundle import BundleOptions

        return BundleOptions(with_bitfiles=self.bitfiles.isChecked(), with_recordings=self.recordings.isChecked())


class BundleActions(QObject):
    def __init__(self, window: MainWindow) -> None:
        super().__init__(window)
        self.window = window
        self.export_action = QAction("Export &Bundle…", window)
        self.export_action.setToolTip("Write this project into one file to carry to another machine")
        self.export_action.triggered.connect(self.export_dialog)
        self.import_action = QAction("&Import Bundle…", window)
        self.import_action.setToolTip("Unpack a bundle into a new project folder and open it")
        self.import_action.triggered.connect(self.import_dialog)

    def set_project(self, project: object | None) -> None:
        self.export_action.setEnabled(project is not None)

    def export_dialog(self) -> None:
        if self.window.project is None:
            return
        dialog = ExportBundleDialog(self.window.project.path, self.window)
        if dialog.exec():
            self.export_to(Path(dialog.path.text().strip()).expanduser(), dialog.options())

    def export_to(self, out: Path, options: BundleOptions) -> Job | None:
        """Export the open project to ``out`` as a job; None (saying why) while other jobs are writing it."""
        project = self.window.project
        if project is None:
            return None
        running = self.window.jobs.running
        if running:
            message_box(self.window, "Jobs are running", f"{running[0].title} is still writing the project: "
                        "export the bundle when it has finished, so it holds no half-written results.")
            return None
        from foldwise.core.bundle import export_bundle

        job = Job(f"Export bundle {out.name}", lambda ctx: export_bundle(project, out, options, ctx))
        return self.window.jobs.start(job, on_done=self._exported, on_error=lambda j: show_job_error(self.window, j))

    def _exported(self, result: ExportResult) -> None:
        self.window.statusBar().showMessage(f"Bundled {result.files} files into {result.path} "
                                            f"({result.bytes_out / 1e6:.1f} MB)", 8000)

    def import_dialog(self) -> None:
        start = str(self.window.project.path.parent) if self.window.project else str(Path.home())
        bundle, _ = QFileDialog.getOpenFileName(self.window, "Import bundle", start, _FILTER)
        if not bundle:
            return
        name = Path(bundle).name.removesuffix(SUFFIX).removesuffix(".zip")
        dest, _ = QFileDialog.getSaveFileName(self.window, "New project folder for the bundle",
                                              str(Path(bundle).parent / name))
        if dest:
            self.import_to(Path(bundle), Path(dest))

    def import_to(self, bundle: Path, dest: Path) -> Job:
        from foldwise.core.bundle import import_bundle

        job = Job(f"Import bundle {bundle.name}", lambda ctx: import_bundle(bundle, dest, ctx))
        return self.window.jobs.start(job, on_done=self._imported, on_error=lambda j: show_job_error(self.window, j))

    def _imported(self, result: ImportResult) -> None:
        notes = [f"{item['setting']} names {item['path']}, which the bundle does not carry"
                 for item in result.external] + result.version_notes
        if notes:
            message_box(self.window, "Bundle imported", f"{result.path}: {result.files} files, every sha256 "
                        "checked.\n\n" + "\n".join(notes))
        self.window.open_project(result.path)
