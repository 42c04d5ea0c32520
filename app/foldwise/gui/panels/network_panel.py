"""Network stage: the current iteration's layers (table + graph), its figures, training and import."""

from __future__ import annotations

import html
import importlib
import json
import sys
from pathlib import Path
from typing import Any

from PySide6.QtCore import Qt, QTimer
from PySide6.QtWidgets import (
    QComboBox,
    QFileDialog,
    QFormLayout,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QSplitter,
    QVBoxLayout,
    QWidget,
)

from foldwise.core.errors import FoldwiseError
from foldwise.core.jobs import Job
from foldwise.gui.fields import NumberField, with_messages
from foldwise.gui.panels.base import AppServices, StagePanel
from foldwise.gui.undo import ChangeDataset, CommitIteration
from foldwise.gui.widgets.figures import FigureStrip
from foldwise.gui.widgets.graph_view import LayerGraphView
from foldwise.gui.widgets.layer_table import LayerTable
from foldwise.gui.widgets.offer_bar import OfferBar

TRAIN_TIP = "Train (or fine-tune) the current network; the result is a new iteration"
#: the data-set box's entries: (shown, the choice core.iterations.dataset_choice takes; a folder asks for its path)
DATASET_TIP = ("The data set every stage trains, calibrates and measures on (undoable with Ctrl+Z); iterations "
               "already made keep their figures")
DATASETS = (("Defects (shipped)", "defects"), ("Digits (shipped)", "digits"), ("Image folder…", "folder"))


class NetworkPanel(StagePanel):
    title = "Network"
    icon = "network"

    def __init__(self, services: AppServices, parent: QWidget | None = None) -> None:
        super().__init__(services, parent)
        self._curves = None
        self._planned: tuple[Any, list[dict[str, Any]], dict[str, Any]] | None = None  # (project, rows, figures)
        self._activity = ""  # what the running job does, for the notice (training, importing)
        self._opened = False  # set once the window is up after opening a project (see _after_open)
        self._import_spec: Any = None  # the last import asked for (a refusal reopens the dialog with it)

        self.heading = QLabel()
        self.heading.setObjectName("networkHeading")
        self.heading.setWordWrap(True)
        self.figures = FigureStrip(["params", "macs", "weight_mb", "accuracy"])
        self.notice = QLabel()
        self.notice.setObjectName("networkNotice")
        self.notice.setWordWrap(True)
        self.offer = OfferBar("trainOffer")  # an example project asks before it trains (#14 point 6)

        self.epochs = NumberField(1, 500, 12)
        self.lr = NumberField(1e-5, 1.0, 2e-3, decimals=5, step=1e-4)
        self.batch = NumberField(1, 4096, 64)
        self.fields.add(self.epochs, self.lr, self.batch)
        self.train_button = QPushButton("Train")
        self.train_button.setObjectName("trainButton")
        self.train_button.setToolTip(TRAIN_TIP)
        self.train_button.clicked.connect(self.start_training)
        self.import_button = QPushButton("Import network…")
        self.import_button.setToolTip("TorchScript .pt, a zoo state dict, ONNX or QONNX")
        self.import_button.clicked.connect(lambda: self.import_dialog())
        self.netron_button = QPushButton("Open in Netron")
        self.netron_button.setToolTip("Serve this iteration's graph with Netron on localhost and open it in a browser")
        self.netron_button.clicked.connect(self.open_in_netron)
        self._netron = None
        self.netron_link = QLabel()  # where Netron serves the graph, while it does (the browser may not open)
        self.netron_link.setObjectName("netronLink")
        self.netron_link.setWordWrap(True)
        self.netron_link.setOpenExternalLinks(True)
        self.netron_link.setTextInteractionFlags(Qt.TextInteractionFlag.TextBrowserInteraction)
        self.netron_link.hide()
        self.dataset = QComboBox()
        self.dataset.setObjectName("datasetBox")
        self.dataset.setToolTip(DATASET_TIP)
        for shown, choice in DATASETS:
            self.dataset.addItem(shown, choice)
        self.dataset.activated.connect(self._dataset_picked)
        train_box = QGroupBox("Training (CPU)")
        form = QFormLayout(train_box)
        form.addRow("Data set:", self.dataset)
        form.addRow("Max epochs:", with_messages(self.epochs))
        form.addRow("Learning rate:", with_messages(self.lr))
        form.addRow("Batch size:", with_messages(self.batch))
        buttons = QHBoxLayout()
        buttons.addWidget(self.train_button)
        buttons.addWidget(self.import_button)
        form.addRow(buttons)
        form.addRow(self.netron_button)
        form.addRow(self.netron_link)
        self.add_inline_progress(form, "Stop training or importing; the project is left as it was")

        self.table = LayerTable()
        self.graph = LayerGraphView()
        self.table.selectionModel().selectionChanged.connect(self._table_selection)
        self.graph.layer_selected.connect(self.table.select_layer)
        split = QSplitter(Qt.Orientation.Horizontal)
        split.addWidget(self.table)
        split.addWidget(self.graph)
        split.setSizes([620, 260])
        self.curves_holder = QVBoxLayout()

        top = QHBoxLayout()
        left = QVBoxLayout()
        left.addWidget(self.heading)
        left.addWidget(self.figures)
        left.addWidget(self.notice)
        left.addStretch(1)
        top.addLayout(left, 1)
        top.addWidget(train_box)
        layout = QVBoxLayout(self)
        layout.addWidget(self.offer)
        layout.addLayout(top)
        layout.addWidget(split, 3)
        layout.addLayout(self.curves_holder, 2)

    # ----------------------------------------------------------------- view
    def _ensure_curves(self) -> Any:
        if self._curves is None:
            from foldwise.gui.widgets.train_curves import TrainCurves  # pyqtgraph loads on first use

            self._curves = TrainCurves()
            self.curves_holder.addWidget(self._curves)
        return self._curves

    def project_changed(self) -> None:
        from foldwise.core.iterations import read_summary

        project = self.project
        busy = self.busy
        self._update_buttons()
        if project is None:
            self.heading.clear()
            self.table.set_layers([])
            self.graph.set_layers([])
            return
        self._show_dataset()
        settings = project.settings
        arch = settings.get("network", {}).get("arch", "—")
        data = settings.get("dataset", {}).get("name", "—")
        current = project.current
        where = current.label if current else "no iteration yet"
        self.heading.setText(f"<h2>{project.name}</h2><p>{where} · network <b>{arch}</b> · data <b>{data}</b></p>")
        summary, shown = None, current
        if current is not None:
            # A quantized iteration keeps no float layer table: show its nearest ancestor's, and say so.
            for shown in reversed(project.lineage(current)):
                summary = read_summary(shown)
                if summary is not None:
                    break
        planned = self._planned_network(project) if current is None else None
        rows = summary["layers"] if summary else (planned[1] if planned else [])
        self.table.set_layers(rows)
        self.graph.set_layers(rows)
        self.figures.set_metrics(current.metrics if current else (planned[2] if planned else {}))
        if busy and self._activity:
            self.notice.setText(self._activity)
        elif current is None:
            self.notice.setText(
                f"Not trained yet. <b>Train</b> builds <b>{arch}</b> from the zoo and trains it on <b>{data}</b> "
                "(the data set is generated on first use)."
                + (" Its layers (untrained; sizes computed) are below." if planned and planned[1] else "")
            )
        elif summary is not None and shown is not current:
            self.notice.setText(
                f"Layers of {shown.label}, the float network {current.label} was quantized from "
                "(its bit widths are in the Quantize stage)."
            )
        else:
            imported = [f"Note: {n}." for n in (current.change or {}).get("notes") or []]  # what the import found
            self.notice.setText("\n".join([current.note, *imported]).strip())
        if not busy:  # while a job runs the curves are its live epochs
            self._show_history(project, current)

    def _show_history(self, project: Any, current: Any) -> None:
        """The training curves of the current iteration, or of the ancestor it was made from without training (a
        pruned iteration without fine-tuning): named on the plots, and back after a cancelled fine-tune."""
        from foldwise.core.iterations import HISTORY_FILE

        for shown in reversed(project.lineage(current)) if current is not None else ():
            path = shown.folder / HISTORY_FILE
            if path.exists():
                if self._curves is None and not self._opened:
                    return  # pyqtgraph (0.45 s) loads after the window is shown: _after_open draws them
                records = json.loads(path.read_text())["history"]
                self._ensure_curves().set_history(records, "" if shown is current else f"iteration {shown.label}")
                return
        if self._curves is not None:
            self._curves.set_history([])

    def _planned_network(self, project: Any) -> tuple[Any, list[dict[str, Any]], dict[str, Any]] | None:
        """The zoo network the project will train, as layer rows and figures (cached per project). None until
        torch is loaded: :meth:`_after_open` loads it once the window is up, then shows the rows."""
        from foldwise.core.errors import FoldwiseError
        from foldwise.core.iterations import network_figures, planned_summary

        if self._planned is not None and self._planned[0] is project:
            return self._planned
        if "torch" not in sys.modules:
            return None
        try:
            summary = planned_summary(project)
        except FoldwiseError:
            summary = None
        rows = summary.to_dict()["layers"] if summary is not None else []
        self._planned = (project, rows, network_figures(summary) if summary is not None else {})
        return self._planned

    def _update_buttons(self) -> None:
        project, busy = self.project, self.busy
        self.train_button.setEnabled(project is not None and not busy and self.fields.ok)
        self.train_button.setToolTip(self.fields.reason() or TRAIN_TIP)
        self.import_button.setEnabled(project is not None and not busy)
        self.dataset.setEnabled(project is not None and not busy)  # a running job reads the data set
        self.netron_button.setEnabled(project is not None and project.current is not None)

    def set_busy(self, busy: bool) -> None:
        self.project_changed()

    def _show_dataset(self) -> None:
        settings = (self.project.settings.get("dataset") or {}) if self.project is not None else {}
        index = self.dataset.findData(settings.get("name"))
        self.dataset.setCurrentIndex(index)  # -1 (empty) when the project has none yet
        folder = settings.get("path")
        self.dataset.setItemText(self.dataset.findData("folder"),
                                 f"Folder: {Path(folder).name}" if folder else DATASETS[-1][0])
        self.dataset.setToolTip(DATASET_TIP + (f"\n{folder}" if folder else ""))

    def _dataset_picked(self, index: int) -> None:
        choice = self.dataset.itemData(index)
        if choice == "folder":
            folder = QFileDialog.getExistingDirectory(self, "Image folder (one sub-folder per class)")
            if not folder:
                self._show_dataset()
                return
            choice = f"folder:{folder}"
        self.choose_dataset(choice)

    def choose_dataset(self, choice: str) -> bool:
        """Make ``choice`` (defects, digits or folder:DIR) the project's data set, undoably; a refusal says why
        and changes nothing. False if refused."""
        from foldwise.core.iterations import dataset_choice

        project = self.project
        if project is None or self.busy:
            return False
        try:
            settings = dataset_choice(project, choice)
        except FoldwiseError as exc:
            self.services.error("Cannot use this data set", exc)
            self._show_dataset()
            return False
        if settings != (project.settings.get("dataset") or {}):
            self.undo_stack.push(ChangeDataset(project, settings))
            self.services.status(f"Data set: {settings['name']} (used from the next stage run; undo with Ctrl+Z)")
        return True

    def fields_changed(self) -> None:
        self._update_buttons()

    def set_project(self, project, relay=None) -> None:
        self.stop_netron()
        self.offer.withdraw()
        self._opened = False
        super().set_project(project, relay)
        if project is not None:
            # The training fields and an untrained network's planned layers: after the window is up.
            QTimer.singleShot(0, lambda: self._after_open(project))

    def _after_open(self, project: Any) -> None:
        if project is not self.project:
            return
        self._opened = True
        self._show_recommended_settings()
        if project.current is None:  # an untrained network's planned layers need torch: loaded now, once
            importlib.import_module("torch")
        self.project_changed()
        if self.services.auto_prepare and not project.iterations and project.settings.get("example"):
            self._offer_training(project)

    def _offer_training(self, project: Any) -> None:
        """An untrained example asks before training (minutes of CPU); it never starts by itself."""
        arch = html.escape(str(project.settings.get("network", {}).get("arch", "its network")))
        data = html.escape(str(project.settings.get("dataset", {}).get("name", "its data")))
        self.offer.offer(f"The example <b>{html.escape(project.name)}</b> has no trained network yet. Train "
                         f"<b>{arch}</b> on <b>{data}</b> now, with the settings on the right ({self.epochs.value()} "
                         "epochs at most)? The data set is generated first; <b>Cancel</b> stops it at any time.",
                         "Train now", self._train_offered)

    def _train_offered(self) -> None:
        if self.start_training() is not None:
            self.services.status("Preparing the example: generating data and training its network…")

    def _table_selection(self) -> None:
        names = self.table.selected_layers()
        if names:
            self.graph.select_layer(names[0])

    # ----------------------------------------------------------------- actions
    def _arch(self) -> str | None:
        return self.project.settings.get("network", {}).get("arch") if self.project else None

    def _show_recommended_settings(self) -> None:
        from foldwise.core.errors import InputError
        from foldwise.core.networks.train_config import recommended_config

        try:
            settings = self.project.settings.get("train", {}) if self.project else {}
            config = recommended_config(self._arch(), **settings)
        except InputError:
            return
        self.epochs.setValue(config.epochs)
        self.lr.setValue(config.lr)
        self.batch.setValue(config.batch_size)

    def train_config(self) -> Any:
        from foldwise.core.networks.train_config import recommended_config

        defaults = self.project.settings.get("train", {}) if self.project else {}
        return recommended_config(
            self._arch(),
            **{**defaults, "epochs": self.epochs.value(), "lr": self.lr.value(), "batch_size": self.batch.value()},
        )

    def start_training(self) -> Job | None:
        from foldwise.core.training import TrainSpec, train_iteration

        if self.project is None or self.fields_refused():
            return None
        try:
            config = self.train_config()
        except Exception as exc:
            self.services.error("Cannot train", exc)
            return None
        project = self.project
        previous = project.current_id
        self.offer.withdraw()  # asked and answered by the Train button too
        self._ensure_curves().clear()
        what = "Fine-tune" if project.current else "Train"
        arch = project.settings.get("network", {}).get("arch", "network")
        data = project.settings.get("dataset", {}).get("name", "its data")
        self._activity = (f"Fine-tuning {project.current.label}" if project.current else
                          f"Training <b>{arch}</b> on <b>{data}</b>") + \
            ": the curves below follow each epoch; the result becomes a new iteration."

        def done(iteration: Any) -> None:
            self.undo_stack.push(CommitIteration(project, iteration.id, previous, f"{what} ({iteration.label})"))
            accuracy = iteration.metrics["accuracy"]["value"]
            self.services.status(f"{iteration.label}: test accuracy {accuracy:.1%} (measured)")

        return self.run_stage(f"{what} {arch}", train_iteration, TrainSpec(config), on_done=done,
                              on_partial=self._ensure_curves().add_epoch)

    def import_dialog(self, spec: Any = None, problem: str = "") -> Any:
        """The import dialog (file, architecture, input shape), opened; Import starts the job. ``spec`` and
        ``problem``: a refused import, back in the dialog with its reason."""
        from foldwise.gui.import_dialog import ImportDialog

        if self.project is None:
            return None
        dialog = ImportDialog(self.project.path, self._arch(), spec, problem, self)
        dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        dialog.accepted.connect(lambda: self.start_import(spec=dialog.spec()))
        dialog.open()
        return dialog

    def start_import(self, path: str | None = None, arch: str | None = None, spec: Any = None) -> Job | None:
        from foldwise.core.importing import ImportSpec, import_iteration

        if self.project is None:
            return None
        spec = spec if spec is not None else ImportSpec(str(path), arch)
        project = self.project
        previous = project.current_id
        self._activity = f"Importing {html.escape(str(spec.path))}…"
        self._import_spec = spec

        def done(iteration: Any) -> None:
            self.undo_stack.push(CommitIteration(project, iteration.id, previous, f"Import ({iteration.label})"))

        return self.run_stage(f"Import {Path(spec.path).name}", import_iteration, spec, on_done=done)

    def show_job_error(self, job: Job) -> None:
        """A file refused for want of its architecture or input shape goes back to the import dialog, with the
        reason next to the fields that give them; other failures as in every panel."""
        from foldwise.core.networks.importers import ImportRefused
        from foldwise.gui.import_dialog import refusal_text

        error = job.error
        if isinstance(error, ImportRefused) and error.report.needs and self._import_spec is not None:
            self.import_dialog(self._import_spec, refusal_text(str(error), error.report.needs))
            return
        super().show_job_error(job)

    def open_in_netron(self) -> Job | None:
        from foldwise.core.netron_view import NetronServer, onnx_for_viewing

        if self.project is None or self.project.current is None:
            return None
        project, iteration = self.project, self.project.current
        self.stop_netron()

        def serve(ctx: Any) -> Any:
            ctx.progress(0.1, "exporting to ONNX")
            server = NetronServer(onnx_for_viewing(project, iteration))
            ctx.progress(0.6, "starting netron on localhost")
            server.start()
            return server

        def done(server: Any) -> None:
            from PySide6.QtCore import QUrl
            from PySide6.QtGui import QDesktopServices

            self._netron = server
            url = html.escape(server.url)
            opened = QDesktopServices.openUrl(QUrl(server.url))
            self.netron_link.setText(f"Netron shows {html.escape(iteration.label)} at <a href='{url}'>{url}</a>"
                                     + ("" if opened else " (no browser could be opened: open this address)"))
            self.netron_link.show()
            self.services.status(f"Netron serves {iteration.label} at {server.url}", 15000)

        return self.run_job(f"Netron {iteration.label}", serve, on_done=done, inline=False)

    def stop_netron(self) -> None:
        if self._netron is not None:
            self._netron.stop()
            self._netron = None
        self.netron_link.clear()
        self.netron_link.hide()
