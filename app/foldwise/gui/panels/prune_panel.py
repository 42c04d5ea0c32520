"""Prune stage: remove layers and prune channels of the current float iteration, see size and accuracy before
and after, and scan each layer's sensitivity. Every prune is a job that ends in a new, undoable iteration."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from PySide6.QtCore import QItemSelectionModel, Qt
from PySide6.QtWidgets import (
    QAbstractItemView,
    QApplication,
    QCheckBox,
    QComboBox,
    QFormLayout,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QMessageBox,
    QPushButton,
    QSlider,
    QSplitter,
    QVBoxLayout,
    QWidget,
)

from foldwise.core.errors import InputError
from foldwise.core.jobs import Job
from foldwise.core.protocol import SCAN
from foldwise.core.prune.config import CRITERIA, PruneSpec, QuantizedIterationError, ScanSpec
from foldwise.core.prune.stage import prune_iteration, scan_iteration
from foldwise.gui.fields import NumberField, field_row, with_messages
from foldwise.gui.panels.base import AppServices, StagePanel
from foldwise.gui.undo import CommitIteration, SetCurrentIteration
from foldwise.gui.widgets.figures import FigureStrip
from foldwise.gui.widgets.graph_view import LayerGraphView
from foldwise.gui.widgets.layer_table import LayerTable

FIGURES = ["params", "macs", "weight_mb", "accuracy"]
HINT = "Select layers in the table or graph (Ctrl/Shift for several)."


class SensitivityPlot(QWidget):
    """Accuracy (measured) against prune ratio, one line per layer, and the unpruned baseline dashed."""

    TITLE = "sensitivity: accuracy when one layer loses channels (measured, {on})"

    def __init__(self, parent: QWidget | None = None) -> None:
        import pyqtgraph as pg  # loaded on first use, not at start-up

        from foldwise.gui.widgets.axes import PercentAxis

        super().__init__(parent)
        self._pg = pg
        pg.setConfigOptions(antialias=True, background="w", foreground="k")
        self.plot = pg.PlotWidget(title=self.TITLE.format(on="val"),
                                  axisItems={"left": PercentAxis(orientation="left"),
                                             "bottom": PercentAxis(orientation="bottom")})
        self.plot.setObjectName("sensitivityPlot")
        self.plot.setLabel("bottom", "share of the layer's channels pruned")
        self.plot.setLabel("left", "accuracy")
        self.plot.showGrid(x=True, y=True, alpha=0.3)
        self.plot.setXRange(0, 1)
        self.plot.setYRange(0, 1)
        self.legend = self.plot.addLegend(offset=(-10, -10))
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.plot)
        self.points: dict[str, list[tuple[float, float]]] = {}
        self.curves: dict[str, Any] = {}
        self.baseline_line: Any = None

    def clear(self) -> None:
        self.plot.clear()
        self.legend.clear()
        self.points, self.curves, self.baseline_line = {}, {}, None

    def _set_baseline(self, value: float) -> None:
        if self.baseline_line is None:
            pen = self._pg.mkPen("#777777", width=1, style=Qt.PenStyle.DashLine)
            self.baseline_line = self.plot.addLine(y=value, pen=pen)
        self.baseline_line.setValue(value)

    def _curve(self, layer: str) -> Any:
        if layer not in self.curves:
            colour = self._pg.intColor(len(self.curves), hues=9, values=1, maxValue=200)
            self.curves[layer] = self.plot.plot(pen=self._pg.mkPen(colour, width=2), symbol="o", symbolSize=6,
                                                symbolBrush=colour, name=layer)
            self.points[layer] = []
        return self.curves[layer]

    def add_point(self, point: dict[str, Any]) -> None:
        """One scan point as the job sends it: layer, ratio, accuracy, baseline."""
        self._set_baseline(float(point["baseline"]))
        curve = self._curve(point["layer"])
        self.points[point["layer"]].append((float(point["ratio"]), float(point["accuracy"])))
        xs, ys = zip(*self.points[point["layer"]], strict=True)
        curve.setData(list(xs), list(ys))

    def set_result(self, result: Any) -> None:
        from foldwise.core.protocol import where

        self.clear()
        self.plot.setTitle(self.TITLE.format(on=where({"split": result.split, "images": result.images})))
        for layer, accuracies in result.curves.items():
            for ratio, accuracy in zip(result.ratios, accuracies, strict=False):
                self.add_point({"layer": layer, "ratio": ratio, "accuracy": accuracy, "baseline": result.baseline})


class PrunePanel(StagePanel):
    title = "Prune"
    icon = "prune"

    def __init__(self, services: AppServices, parent: QWidget | None = None) -> None:
        super().__init__(services, parent)
        self._plot: SensitivityPlot | None = None
        self._scan: Any = None
        self._rows: list[dict[str, Any]] = []
        self._prunable = False

        self.heading = QLabel()
        self.heading.setObjectName("pruneHeading")
        self.heading.setWordWrap(True)
        self.notice = QLabel()
        self.notice.setObjectName("pruneNotice")
        self.notice.setWordWrap(True)
        self.float_parent_button = QPushButton("Go to the float parent")
        self.float_parent_button.setToolTip("Pruning works on float networks: switch to the one this came from")
        self.float_parent_button.clicked.connect(self.go_to_float_parent)
        self.float_parent_button.hide()

        self.before = FigureStrip(FIGURES)
        self.after = FigureStrip(FIGURES)
        self.before_box = QGroupBox("Before")
        QVBoxLayout(self.before_box).addWidget(self.before)
        self.after_box = QGroupBox("After")
        QVBoxLayout(self.after_box).addWidget(self.after)
        self.change_label = QLabel()
        self.change_label.setObjectName("pruneChange")
        self.change_label.setWordWrap(True)
        figures_row = QHBoxLayout()
        figures_row.addWidget(self.before_box)
        figures_row.addWidget(self.after_box)

        self.table = LayerTable()
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.ExtendedSelection)
        self.graph = LayerGraphView()
        self.table.selectionModel().selectionChanged.connect(self._table_selection)
        self.graph.layer_selected.connect(self._graph_clicked)
        split = QSplitter(Qt.Orientation.Horizontal)
        split.addWidget(self.table)
        split.addWidget(self.graph)
        split.setSizes([560, 240])

        layout = QVBoxLayout(self)
        layout.addWidget(self.heading)
        notice_row = QHBoxLayout()
        notice_row.addWidget(self.notice, 1)
        notice_row.addWidget(self.float_parent_button)
        layout.addLayout(notice_row)
        layout.addLayout(figures_row)
        layout.addWidget(self.change_label)
        # Layers above, the sensitivity plot (made on first use) below; the user can move the divider.
        self.views = QSplitter(Qt.Orientation.Vertical)
        self.views.addWidget(split)
        self.views.setChildrenCollapsible(False)
        middle = QHBoxLayout()
        middle.addWidget(self.views, 3)
        middle.addLayout(self._controls(), 1)
        layout.addLayout(middle, 1)

    # ----------------------------------------------------------------- controls
    def _controls(self) -> QVBoxLayout:
        self.selection_label = QLabel(HINT)
        self.selection_label.setWordWrap(True)
        self.block_button = QPushButton("Select whole block")
        self.block_button.setToolTip("Extend the selection to each selected layer's block (conv, BN, ReLU, pool)")
        self.block_button.clicked.connect(self.select_blocks)
        self.remove_button = QPushButton("Remove selected")
        self.remove_button.setObjectName("removeButton")
        self.remove_button.setToolTip("Delete the selected layers; the next layer is re-created at its new input size")
        self.remove_button.clicked.connect(self.remove_selected)
        remove_box = QGroupBox("Remove layers")
        remove_layout = QVBoxLayout(remove_box)
        remove_layout.addWidget(self.selection_label)
        row = QHBoxLayout()
        row.addWidget(self.block_button)
        row.addWidget(self.remove_button)
        remove_layout.addLayout(row)

        self.ratio_slider = QSlider(Qt.Orientation.Horizontal)
        self.ratio_slider.setRange(1, 95)
        self.ratio = NumberField(decimals=2)
        self.ratio.setRange(0.01, 0.95)
        self.ratio.setSingleStep(0.05)
        self.ratio.setDecimals(2)
        self.ratio.setToolTip("Share of each layer's output channels to remove")
        self.ratio_slider.valueChanged.connect(lambda v: self.ratio.setValue(v / 100))
        self.ratio.valueChanged.connect(lambda v: self.ratio_slider.setValue(round(v * 100)))
        self.ratio.setValue(0.5)
        self.criterion = QComboBox()
        for key, text in CRITERIA.items():
            self.criterion.addItem(key, key)
            self.criterion.setItemData(self.criterion.count() - 1, text, Qt.ItemDataRole.ToolTipRole)
        self.criterion.currentIndexChanged.connect(lambda _i: self._load_scan())
        self.global_ranking = QCheckBox("Rank channels across layers")
        self.protect_input = QCheckBox("Protect the input layer")
        self.protect_input.setChecked(True)
        self.protect_output = QCheckBox("Protect the output layer")
        self.protect_output.setChecked(True)
        self.protect_output.setEnabled(False)
        self.protect_output.setToolTip("Always: the output layer's outputs are the classes")
        self.use_scan = QCheckBox("Per-layer ratios from the scan, max drop")
        self.use_scan.setToolTip("Each layer gets the largest scanned ratio within the allowed accuracy drop")
        self.max_drop = NumberField(decimals=2)
        self.max_drop.setRange(0.0, 50.0)
        self.max_drop.setValue(2.0)
        self.max_drop.setSuffix(" pt")
        self.steps = NumberField()
        self.steps.setRange(1, 10)
        self.steps.setToolTip("Prune gradually, fine-tuning after each step")
        self.round_to = NumberField()
        self.round_to.setRange(0, 64)
        self.round_to.setSpecialValueText("off")
        self.round_to.setToolTip("Keep channel counts a multiple of this (FINN's PE/SIMD must divide them)")
        self.prune_button = QPushButton("Prune channels")
        self.prune_button.setObjectName("pruneChannelsButton")
        self.prune_button.clicked.connect(self.prune_channels)
        channels_box = QGroupBox("Prune channels")
        form = QFormLayout(channels_box)
        form.addRow("Ratio:", with_messages(field_row(self.ratio_slider, self.ratio), self.ratio))
        form.addRow("Criterion:", self.criterion)
        form.addRow(self.global_ranking)
        form.addRow(self.protect_input)
        form.addRow(self.protect_output)
        form.addRow(with_messages(field_row(self.use_scan, self.max_drop), self.max_drop))
        form.addRow("Steps:", with_messages(self.steps))
        form.addRow("Round to:", with_messages(self.round_to))
        form.addRow(self.prune_button)

        self.finetune = NumberField()
        self.finetune.setRange(0, 100)
        self.finetune.setValue(2)
        self.finetune.setSuffix(" epochs")
        self.finetune.setToolTip("Fine-tune after pruning (after each step when pruning in steps); 0: none")
        self.scan_images = NumberField()
        self.scan_images.setRange(20, 10000)
        self.scan_images.setValue(SCAN.images)
        self.scan_images.setSuffix(f" {SCAN.split} images")
        self.scan_images.setToolTip("The scan measures on the first validation images (the scan protocol); the "
                                    "accuracies the iterations report are on the whole test split")
        self.scan_button = QPushButton("Scan sensitivity")
        self.scan_button.setObjectName("scanButton")
        self.scan_button.setToolTip("Prune each layer alone at 10–90 % and measure accuracy (no fine-tuning)")
        self.scan_button.clicked.connect(self.start_scan)
        other = QGroupBox("Fine-tune and scan")
        other_form = QFormLayout(other)
        other_form.addRow("Fine-tune:", with_messages(self.finetune))
        other_form.addRow("Scan images:", with_messages(self.scan_images))
        self.fields.add(self.ratio, self.max_drop, self.steps, self.round_to, self.finetune, self.scan_images)
        other_form.addRow(self.scan_button)

        column = QVBoxLayout()
        column.addWidget(remove_box)
        column.addWidget(channels_box)
        column.addWidget(other)
        self.add_inline_progress(column, "Stop the running prune or scan; the project is left as it was")
        column.addStretch(1)
        return column

    # ----------------------------------------------------------------- view
    def set_busy(self, busy: bool) -> None:
        self.project_changed()  # enables the actions again, and shows a finished scan

    def fields_changed(self) -> None:
        self._update_actions()

    def _update_actions(self) -> None:
        ok = self._prunable and not self.busy
        for widget in (self.block_button, self.remove_button, self.prune_button, self.scan_button):
            widget.setEnabled(ok and (widget is self.block_button or self.fields.ok))

    def _ensure_plot(self) -> SensitivityPlot:
        if self._plot is None:
            self._plot = SensitivityPlot()
            self._plot.setMinimumHeight(220)
            self.views.addWidget(self._plot)
            self.views.setSizes([400, 320])
        return self._plot

    def project_changed(self) -> None:
        from foldwise.core.iterations import read_summary
        from foldwise.core.prune.stage import check_prunable

        project = self.project
        current = project.current if project is not None else None
        self._rows = (read_summary(current) or {}).get("layers", []) if current is not None else []
        self.table.set_layers(self._rows)  # a model reset drops the selection without selectionChanged:
        self.graph.set_layers(self._rows)
        self._table_selection()  # the "Selected: …" line follows (a removed layer's name must not stay)
        self.float_parent_button.hide()
        prunable = False
        if current is None:
            self.heading.setText("<h2>Prune</h2>" if project is None else f"<h2>{project.name}</h2>")
            self.notice.setText("Open a project with a trained float network to prune it.")
        else:
            self.heading.setText(f"<h2>{project.name}</h2><p>{current.label} · {current.kind}</p>")
            try:
                check_prunable(project, current)
                prunable = True
                self.notice.setText("Pruning works on the float network; quantize afterwards.")
            except QuantizedIterationError as exc:
                self.notice.setText(str(exc))
                self.float_parent_button.setVisible(exc.float_parent is not None)
        self._prunable = prunable
        self._show_figures(current)
        self._update_actions()
        self._load_scan()

    def _show_figures(self, current: Any) -> None:
        change = current.change if current is not None else {}
        if current is not None and change.get("stage") == "prune":
            self.before.set_metrics(change.get("before", {}))
            self.after.set_metrics(current.metrics)
            self.before_box.setTitle(f"Before (iteration {current.parent})")
            self.after_box.setTitle(f"After (iteration {current.id})")
            parts = []
            if change.get("removed"):
                parts.append(f"Removed {', '.join(change['removed'])}.")
            if change.get("recreated"):
                why = change.get("recreated_why", {})
                parts.append("Re-created with fresh weights: "
                             + ", ".join(f"{n} ({why[n]})" if n in why else n for n in change["recreated"]) + ".")
            widths = (change.get("channels") or {}).get("widths", {})
            cut = [f"{n} {a}→{b}" for n, (a, b) in widths.items() if a != b]
            if cut:
                parts.append("Channels: " + ", ".join(cut) + ".")
            pruned = change.get("pruned_accuracy", {}).get("value")
            if change.get("finetune_epochs") and pruned is not None:
                epochs = change["finetune_epochs"]
                parts.append(f"Accuracy {pruned:.2%} before fine-tuning {epochs} epoch(s) (measured).")
            self.change_label.setText(" ".join(parts))
        else:
            self.before.set_metrics(current.metrics if current is not None else {})
            self.after.set_metrics({})
            self.before_box.setTitle(f"Before (iteration {current.id})" if current is not None else "Before")
            self.after_box.setTitle("After (prune to see)")
            self.change_label.clear()

    def _load_scan(self) -> None:
        from foldwise.core.prune.stage import read_scan

        if self.busy or self.project is None or self.project.current is None:
            return
        self._scan = read_scan(self.project, self.project.current, self.criterion.currentData())
        if self._scan is not None:
            self._ensure_plot().set_result(self._scan)
        elif self._plot is not None:
            self._plot.clear()

    def _table_selection(self) -> None:
        names = self.table.selected_layers()
        if names:
            self.graph.select_layer(names[0])
        self.selection_label.setText(f"Selected: {', '.join(names)}" if names else HINT)

    def _graph_clicked(self, name: str) -> None:
        if QApplication.keyboardModifiers() & Qt.KeyboardModifier.ControlModifier:
            self._add_to_selection([name])
        else:
            self.table.select_layer(name)

    def _add_to_selection(self, names: list[str]) -> None:
        model, proxy = self.table.layer_model, self.table.proxy
        flags = QItemSelectionModel.SelectionFlag.Select | QItemSelectionModel.SelectionFlag.Rows
        for row, data in enumerate(model.rows):
            if data["name"] in names:
                self.table.selectionModel().select(proxy.mapFromSource(model.index(row, 0)), flags)

    def select_blocks(self) -> None:
        from foldwise.core.prune.blocks import block_of

        names = self.table.selected_layers()
        wanted = [n for name in names for n in block_of(self._rows, name)]
        self._add_to_selection(wanted)

    # ----------------------------------------------------------------- actions
    def _target(self) -> Any:
        """The iteration to prune, or None after telling the user why not (offering the float parent)."""
        from foldwise.core.prune.stage import check_prunable

        if self.project is None:
            return None
        try:
            return check_prunable(self.project, self.project.current)
        except QuantizedIterationError as exc:
            self._offer_float_parent(exc)
        except InputError as exc:
            self.services.error("Cannot prune", exc)
        return None

    def _offer_float_parent(self, exc: QuantizedIterationError) -> None:
        box = QMessageBox(QMessageBox.Icon.Warning, "Cannot prune a quantized iteration", str(exc),
                          QMessageBox.StandardButton.Cancel, self.services.window)
        box.setObjectName("quantizedBox")
        if exc.float_parent is not None:
            go = box.addButton(f"Go to iteration {exc.float_parent}", QMessageBox.ButtonRole.AcceptRole)
            go.clicked.connect(self.go_to_float_parent)
        box.open()

    def go_to_float_parent(self) -> None:
        from foldwise.core.iterations import float_ancestor

        if self.project is None or self.project.current is None:
            return
        parent = float_ancestor(self.project, self.project.current)
        if parent is not None:
            self.undo_stack.push(SetCurrentIteration(self.project, parent.id))

    def remove_selected(self) -> Job | None:
        names = self.table.selected_layers()
        if not names:
            self.services.error("Nothing to remove", InputError("select one or more layers to remove first"))
            return None
        return self._start_prune(lambda: PruneSpec(remove=names, finetune_epochs=self.finetune.value()))

    def channel_spec(self) -> PruneSpec:
        layer_ratios: dict[str, float] = {}
        ratio: float | None = round(self.ratio.value(), 4)
        if self.use_scan.isChecked():
            if self._scan is None:
                raise InputError("run a sensitivity scan first (or untick 'Per-layer ratios from the scan')")
            layer_ratios = self._scan.tolerated(self.max_drop.value() / 100)
            if self.protect_input.isChecked() and self._scan.curves:
                layer_ratios.pop(next(iter(self._scan.curves)), None)  # the first scanned layer reads the image
            if not layer_ratios:
                raise InputError(f"no layer keeps its accuracy within {self.max_drop.value():g} points in the scan")
            ratio = None
        return PruneSpec(ratio=ratio, layer_ratios=layer_ratios, criterion=self.criterion.currentData(),
                         global_ranking=self.global_ranking.isChecked(), protect_input=self.protect_input.isChecked(),
                         steps=self.steps.value(), round_to=self.round_to.value() or None,
                         finetune_epochs=self.finetune.value())

    def prune_channels(self) -> Job | None:
        return self._start_prune(self.channel_spec)

    def _start_prune(self, make_spec: Any) -> Job | None:
        target = None if self.fields_refused() else self._target()
        if target is None or self.busy:
            return None
        try:
            spec = replace(make_spec(), iteration=target.id)
        except InputError as exc:
            self.services.error("Cannot prune", exc)
            return None
        project = self.project
        previous = project.current_id

        def done(iteration: Any) -> None:
            self.undo_stack.push(CommitIteration(project, iteration.id, previous, f"Prune ({iteration.label})"))
            before = iteration.change["before"]["accuracy"]["value"]
            after = iteration.metrics["accuracy"]["value"]
            self.services.status(f"{iteration.label}: test accuracy {before:.1%} → {after:.1%} (measured)")

        return self.run_stage(f"Prune {target.label}: {spec.default_name()}", prune_iteration, spec, on_done=done)

    def start_scan(self) -> Job | None:
        target = None if self.fields_refused() else self._target()
        if target is None or self.busy:
            return None
        plot = self._ensure_plot()
        plot.clear()
        spec = ScanSpec(target.id, self.criterion.currentData(), max_images=self.scan_images.value())

        def done(result: Any) -> None:
            self._scan = result
            plot.set_result(result)
            self.services.status(f"Sensitivity scan done: baseline {result.baseline:.1%} on {result.images} images")

        return self.run_stage(f"Sensitivity scan of {target.label}", scan_iteration, spec, on_done=done,
                              on_partial=plot.add_point)

    def show_job_error(self, job: Job) -> None:
        if isinstance(job.error, QuantizedIterationError):
            self._offer_float_parent(job.error)  # a dialog that can also switch to the float parent
        else:
            super().show_job_error(job)
