"""Quantize stage: Brevitas PTQ of the current float iteration into a new, undoable one; per-layer bit widths
tuned in a table against calibration histograms that update instantly; float-vs-quantized validation,
per-layer sensitivity, QAT with live curves, and QONNX/QCDQ export with the bit-exact check.

Torch and Brevitas load on first use (a job), so opening the app and projects stays fast.
"""

from __future__ import annotations

import dataclasses
import html
import importlib
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

from PySide6.QtCore import Qt, QTimer
from PySide6.QtWidgets import (
    QFileDialog,
    QHBoxLayout,
    QLabel,
    QSizePolicy,
    QSplitter,
    QTabWidget,
    QVBoxLayout,
    QWidget,
)

from foldwise.core import iterations
from foldwise.core.errors import InputError
from foldwise.core.jobs import Job
from foldwise.core.protocol import where as measured_on
from foldwise.core.quantize.saved_scan import load_sensitivity, save_sensitivity
from foldwise.gui.panels.base import AppServices, StagePanel
from foldwise.gui.quantize.config_edit import set_config
from foldwise.gui.quantize.controls import QuantizeControls, qonnx_text
from foldwise.gui.undo import CommitIteration
from foldwise.gui.widgets.figures import FigureCard, FigureStrip

CORE = "foldwise.core.quantize.inspect"
FIGURES = {"float_accuracy": "Float accuracy", "accuracy": "Quantized accuracy", "weight_mb": "Weights"}


class QuantizePanel(StagePanel):
    title = "Quantize"
    icon = "quantize"

    def __init__(self, services: AppServices, parent: QWidget | None = None) -> None:
        super().__init__(services, parent)
        self._loading: Job | None = None
        self.config: Any = None  # the evented QuantConfig the widgets edit (made when the core is loaded)
        self.inspection: Any = None  # the statistics on display (an iteration's or a preview's)
        self.views: list[Any] = []
        self._previews: dict[str, Any] = {}  # float iteration id → its calibration-only preview
        self._shown: tuple[str | None, Any] = ("", None)  # (iteration id, inspection) last loaded
        self._sensitivity: tuple[Any, list[dict[str, Any]]] = (None, [])
        self._dirty = True

        self.heading = QLabel()
        self.heading.setObjectName("quantizeHeading")
        self.heading.setWordWrap(True)
        self.figures = FigureStrip(list(FIGURES))
        for key, text in FIGURES.items():
            self.figures.cards[key].title.setText(text)
        # The weights headline follows the bits in the table at once (computed); while they differ from the
        # ones the accuracies were measured with, it is marked what-if and so are they (#14 point 5).
        self.chosen_card = self.figures.cards["weight_mb"]
        self.qonnx_card = FigureCard("qonnx")
        self.qonnx_card.title.setText("QONNX check")
        strip = self.figures.layout()
        strip.insertWidget(strip.count() - 1, self.qonnx_card)
        self.figures.setSizePolicy(QSizePolicy.Policy.Preferred, QSizePolicy.Policy.Fixed)  # never squeezed
        self.notice = QLabel()
        self.notice.setObjectName("quantizeNotice")
        self.notice.setWordWrap(True)
        # which quantizers residual adds share, and why (FINN needs one scale on both inputs of an add)
        self.shared_note = QLabel()
        self.shared_note.setObjectName("quantizeShared")
        self.shared_note.setWordWrap(True)
        self.shared_note.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.shared_note.hide()

        self.tabs = QTabWidget()
        self.tabs.setObjectName("quantizeTabs")
        self.layers_tab = QSplitter(Qt.Orientation.Vertical)
        self.layers_tab.setChildrenCollapsible(False)
        self.validate_tab = QWidget()
        self.qat_tab = QWidget()
        self.tabs.addTab(self.layers_tab, "Layers && histograms")
        self.tabs.addTab(self.validate_tab, "Validate")
        self.tabs.addTab(self.qat_tab, "QAT")
        self._views_built = False
        self._deferring = False  # while the table takes new views: its first selection queues the histograms
        self._stage_next = False  # the next inspection shown comes from a finished preview: draw it in steps
        # A new inspection is drawn in steps, one per event-loop turn (each plot, then the Validate/QAT views), so
        # the loop never stalls for the whole redraw and its repaint at once; the panel is busy until the last.
        self._pending: dict[str, Callable[[], None]] = {}
        self._step_timer = QTimer(self)
        self._step_timer.setSingleShot(True)
        self._step_timer.setInterval(1)  # a timer, not a posted call: the repaint of one step runs before the next
        self._step_timer.timeout.connect(self._draw_next)

        self.controls = QuantizeControls()
        for name in ("defaults", "overrides_label", "load_button", "clear_button", "preview_button", "quantize_button",
                     "qat_epochs", "qat_button", "qonnx_button", "qcdq_button", "export_label"):
            setattr(self, name, getattr(self.controls, name))
        self.use_inline_progress(self.controls.progress, self.controls.cancel_button)
        self.fields.add(*self.defaults.number_fields(), self.qat_epochs)
        self.defaults.invalid.connect(lambda exc: self.services.error("Invalid setting", exc))
        self.load_button.clicked.connect(lambda: self.load_overrides())
        self.clear_button.clicked.connect(self.clear_overrides)
        self.preview_button.clicked.connect(lambda: self.start_preview())
        self.quantize_button.clicked.connect(lambda: self.start_quantize())
        self.qat_button.clicked.connect(lambda: self.start_quantize(self.qat_epochs.value()))
        self.qonnx_button.clicked.connect(lambda: self.export_qonnx())
        self.qcdq_button.clicked.connect(lambda: self.export_qcdq())
        middle = QHBoxLayout()
        middle.addWidget(self.tabs, 1)
        middle.addWidget(self.controls)
        layout = QVBoxLayout(self)
        layout.addWidget(self.heading)
        layout.addWidget(self.figures)
        layout.addWidget(self.notice)
        layout.addWidget(self.shared_note)
        layout.addLayout(middle, 1)
        self._update_buttons()

    # ----------------------------------------------------------------- construction
    def _build_views(self) -> None:
        """The table and pyqtgraph views, made once torch/pyqtgraph are loaded."""
        from foldwise.gui.quantize.histogram_view import LayerHistograms
        from foldwise.gui.quantize.layer_bits_table import LayerBitsTable
        from foldwise.gui.quantize.qat_curves import QatCurves
        from foldwise.gui.quantize.validate_tab import ValidateTab

        self.table = LayerBitsTable()
        self.table.layer_selected.connect(lambda _name: self._show_histograms())
        self.table.bits_model.invalid.connect(lambda exc: self.services.error("Invalid bit width", exc))
        self.histograms = LayerHistograms()
        self.layers_tab.addWidget(self.table)
        self.layers_tab.addWidget(self.histograms)
        self.layers_tab.setSizes([190, 400])

        index = self.tabs.indexOf(self.validate_tab)  # an empty page until pyqtgraph is loaded
        self.tabs.removeTab(index)
        self.validate_tab = ValidateTab()
        self.tabs.insertTab(index, self.validate_tab, "Validate")
        for name in ("confusion", "sensitivity_bars", "memory_bars", "sensitivity_images", "sensitivity_button"):
            setattr(self, name, getattr(self.validate_tab, name))
        self.sensitivity_button.clicked.connect(lambda: self.start_sensitivity())
        self.fields.add(self.sensitivity_images)

        self.qat_curves = QatCurves()
        self.qat_note = QLabel("Run <b>Quantize + QAT</b> to fine-tune with quantization in the loop; "
                               "loss and accuracy appear here epoch by epoch.")
        self.qat_note.setWordWrap(True)
        qat = QVBoxLayout(self.qat_tab)
        qat.addWidget(self.qat_note)
        qat.addWidget(self.qat_curves, 1)
        self._views_built = True

    # ----------------------------------------------------------------- lazy core
    def showEvent(self, event: Any) -> None:
        super().showEvent(event)
        if self.ensure_core(wait=False) and self._dirty:
            self.project_changed()

    def ensure_core(self, wait: bool = True) -> bool:
        """Load torch/Brevitas (in a job unless ``wait`` or already imported) and bind the widgets."""
        if self.config is not None:
            return True
        if wait or CORE in sys.modules:
            importlib.import_module(CORE)
            self._core_loaded()
            return True
        if self._loading is None:
            self.notice.setText("Loading torch and Brevitas (first use)…")
            self._loading = self.run_job("Load torch and Brevitas (first use)",
                                         lambda _ctx: importlib.import_module(CORE),
                                         on_done=lambda _module: self._core_loaded(), inline=False)
        return False

    def _core_loaded(self) -> None:
        if self.config is not None:
            return
        from foldwise.core.quantize.config import QuantConfig

        self._build_views()
        self.config = QuantConfig()
        self.table.bits_model.set_config(self.config)
        self.table.bits_model.undo_stack = self.undo_stack
        self.defaults.bind(self.config)
        self.defaults.undo_stack = self.undo_stack
        self.config.events.all.connect(self._config_changed)
        self._dirty = True
        self.project_changed()
        self._config_changed()

    # ----------------------------------------------------------------- view
    @property
    def busy(self) -> bool:
        """A job of this panel runs, or the inspection it brought is still being drawn."""
        return super().busy or bool(self._pending)

    @property
    def drawing(self) -> bool:
        """Steps of a redraw are still queued (see :meth:`_show_inspection`)."""
        return bool(self._pending)

    def _draw_later(self, steps: dict[str, Callable[[], None]]) -> None:
        self._pending = dict(steps)
        if self._pending:
            self._update_buttons()
            self._step_timer.start()

    def _draw_next(self) -> None:
        if self._pending:
            key = next(iter(self._pending))
            self._pending.pop(key)()
        if self._pending:
            self._step_timer.start()
        else:
            self._update_buttons()

    def _done_now(self, *keys: str) -> None:
        """Drop queued steps a synchronous redraw has just made stale."""
        for key in keys:
            self._pending.pop(key, None)
        if not self._pending:
            self._step_timer.stop()

    def set_busy(self, busy: bool) -> None:
        if busy:
            self._update_buttons()
        else:
            self.project_changed()

    def fields_changed(self) -> None:
        self._update_buttons()

    def project_changed(self) -> None:
        project = self.project
        current = project.current if project is not None else None
        self._update_heading(current)
        if self.config is None or not self.isVisible():
            self._dirty = True
            self._update_buttons()
            return
        self._dirty = False
        inspection = self._inspection_for(current)
        if (current.id if current else None) != self._shown[0] or inspection is not self._shown[1]:
            self._show_inspection(inspection, current)
        self._update_figures(current)
        self._update_notice(current)
        self._update_buttons()

    def _update_heading(self, current: Any) -> None:
        if self.project is None:
            self.heading.setText("<h2>Quantize</h2>")
            return
        where = f"{current.label} · {current.kind}" if current else "no iteration yet"
        self.heading.setText(f"<h2>{self.project.name}</h2><p>{where}</p>")

    def _inspection_for(self, current: Any) -> Any:
        from foldwise.core.quantize import inspect as qi

        if current is None:
            return None
        if current.id == self._shown[0] and self._shown[1] is not None and self._shown[1].kind == "iteration":
            return self._shown[1]
        if iterations.is_quantized(current):
            try:
                return qi.load_iteration(self.project, current)
            except Exception as exc:  # a damaged stats file: say so, show nothing
                self.services.error("Cannot read the calibration statistics", exc)
                return None
        return self._previews.get(current.id)

    def _show_inspection(self, inspection: Any, current: Any) -> None:
        from foldwise.core.quantize import inspect as qi

        self._shown = (current.id if current else None, inspection)
        self.inspection = inspection
        self._show_shared(inspection)
        self.views = qi.layer_views(inspection.stats) if inspection is not None else []
        idle = not super().busy
        self._done_now(*self._pending)
        staged, self._stage_next = self._stage_next, False
        if inspection is not None and inspection.kind == "iteration":
            self._deferring = True  # the histograms are queued below, not drawn by the config
            try:
                self._adopt_config(inspection.config)
            finally:
                self._deferring = False
        rest = {"validation": self._show_validation, "memory": self._show_memory,
                "qat": lambda: self._show_qat(inspection, idle)}
        if staged:  # the table (a model reset and its spin boxes: ~15 ms) gets a turn of its own too
            self._draw_later({"table": self._show_table, **rest})
            return
        self._show_table()
        steps = {**self._pending, **rest}
        self._pending = {}
        for draw in steps.values():
            draw()

    def _show_table(self) -> None:
        """The layer table takes :attr:`views`; the selected layer's histograms are queued first."""
        self._deferring = True  # the histograms are queued here, not drawn by the table's selection
        try:
            self.table.set_views(self.views)
        finally:
            self._deferring = False
        if not self.views:
            self.histograms.clear("no statistics yet")
        self._pending = {**self._histogram_steps(), **self._pending}

    def _show_shared(self, inspection: Any) -> None:
        groups = inspection.shared if inspection is not None else []
        if not groups:
            self.shared_note.hide()
            return
        from foldwise.core.quantize.sharing import describe, heading

        lines = "".join(f"<li>{line}</li>" for line in describe(groups))
        self.shared_note.setText(f"<b>Shared quantizers</b>: {heading(groups)}:<ul>{lines}</ul>")
        self.shared_note.show()

    def _show_qat(self, inspection: Any, idle: bool) -> None:
        qat = (inspection.validation or {}).get("qat") if inspection is not None else None
        history = (qat or {}).get("history", [])
        self.qat_curves.set_history(history)
        if history:
            self.qat_note.setText(f"QAT of {inspection.source}: {len(history)} epoch(s) (measured).")
        elif idle:
            self.qat_note.setText("Run <b>Quantize + QAT</b> to fine-tune with quantization in the loop; loss and "
                                  "accuracy appear here epoch by epoch.")

    def _adopt_config(self, source: Any) -> None:
        """Show the settings a quantized iteration was made with (one refresh, not one per field)."""
        with self.config.events.blocked():
            for item in dataclasses.fields(source):
                setattr(self.config, item.name, getattr(source, item.name))
        self.defaults._from_config()
        self.table.bits_model.refresh()
        self._config_changed()

    def _config_changed(self, _info: Any = None) -> None:
        self._show_histograms()
        self._show_memory()
        self._mark_what_if()
        self.controls.show_overrides(self.config.layers)
        self._update_notice(self.project.current if self.project else None)

    def _show_histograms(self) -> None:
        if self._deferring:
            return  # _show_inspection queues them
        self._done_now("weight", "bias", "act")
        for draw in self._histogram_steps().values():
            draw()

    def _histogram_steps(self) -> dict[str, Callable[[], None]]:
        """The selected layer's histograms, one callable per plot (none without statistics)."""
        if not self._views_built or not self.views:
            return {}
        name = self.table.selected_layer()
        view = next((v for v in self.views if v.name == name), None)
        return self.histograms.layer_steps(view, self.config) if view is not None else {}

    def _show_memory(self) -> None:
        from foldwise.core.quantize import inspect as qi

        if not self._views_built:
            return
        self._done_now("memory")
        weighted = [v for v in self.views if v.weight is not None]
        self.memory_bars.set_layers([v.name for v in weighted], [v.params * 4 / 1e6 for v in weighted],
                                    [qi.layer_mb(v, self.config) for v in weighted])
        if self.views:
            self.chosen_card.set_figure(qi.weight_memory(self.views, self.config)["chosen_mb"],
                                        "what-if" if self.what_if else "")

    @property
    def what_if(self) -> bool:
        """The settings in the panel differ from the ones the shown accuracies were measured with."""
        inspection = self.inspection
        return (self.config is not None and inspection is not None
                and self.config.to_dict() != inspection.config.to_dict())

    def _mark_what_if(self) -> None:
        """Title the headline cards for what they show now: the weights at the edited bits (a what-if, computed
        at once) and the accuracies as measured before the edit (a preview or Quantize measures the new ones)."""
        edited, preview = self.what_if, self.inspection is not None and self.inspection.kind == "preview"
        cards = self.figures.cards
        cards["weight_mb"].title.setText("Weights · what-if" if edited else "Weights" + (" (preview)" if preview
                                                                                          else ""))
        for key, text in FIGURES.items():
            if key != "weight_mb":
                cards[key].title.setText(text + (" (before the edit)" if edited else " (preview)" if preview
                                                 and key == "accuracy" else ""))
        weights = cards["weight_mb"]
        weights.setStyleSheet(f"#{weights.objectName()} {{ border: 1px dashed #9a6700; }}" if edited else "")

    def _show_validation(self) -> None:
        self._done_now("validation")
        inspection = self.inspection
        validation = inspection.validation if inspection is not None else None
        compare = (validation or {}).get("compare")
        where = ""
        if compare:
            # Iterations quantized before the protocol was named were validated on the whole test split too.
            where = measured_on(compare["float"]["accuracy"]) or f"test, {compare['images']:,} images"
            where += ", preview" if inspection.kind == "preview" else ""
        self.confusion.set_compare(compare, inspection.class_names if inspection else [], where)
        owner, rows = self._sensitivity
        if owner is not inspection and inspection is not None:
            owner, rows = self._saved_sensitivity(inspection)
        rows = rows if owner is inspection and inspection is not None else []
        self.sensitivity_bars.set_rows(rows, f", {measured_on(rows[0])}" if rows and measured_on(rows[0]) else "")

    def _update_figures(self, current: Any) -> None:
        inspection = self.inspection
        metrics: dict[str, Any] = {}
        check = None
        if inspection is not None and inspection.kind == "preview" and inspection.validation:
            compare = inspection.validation["compare"]
            metrics = {"float_accuracy": {**compare["float"]["accuracy"]},
                       "accuracy": {**compare["quantized"]["accuracy"]}}
        elif current is not None and iterations.is_quantized(current):
            metrics = current.metrics
            check = (inspection.validation or {}).get("qonnx_check") if inspection is not None else None
        elif current is not None:
            metrics = {"float_accuracy": current.metrics.get("accuracy")}
        for key, card in self.figures.cards.items():
            if key != "weight_mb" or not self.views:  # with statistics, the weights follow the table
                card.set_figure(metrics.get(key))
        self._show_memory()
        self._mark_what_if()
        text, value = qonnx_text(check, "model.qonnx.onnx")
        self.qonnx_card.set_figure({"value": value, "source": "measured"} if check else None)
        self.export_label.setText(text)

    def _update_notice(self, current: Any) -> None:
        from foldwise.core.quantize import inspect as qi

        if self.config is None:
            return
        inspection = self.inspection
        if current is None:
            text = "Train or import a float network first (Network stage)."
        elif inspection is None and iterations.is_quantized(current):
            text = f"Iteration {current.label} holds no calibration statistics."
        elif inspection is None:
            text = (f"<b>Preview calibration</b> calibrates {self.config.calib_images} images in memory (nothing is "
                    "saved) and shows each layer's histograms, so you can tune bits before <b>Quantize</b> makes "
                    "a new iteration.")
        elif inspection.kind == "preview":
            text = (f"Preview of {current.label} (not saved). Edit bits in the table: histograms and clipped/flushed "
                    "fractions follow at once (no re-calibration). <b>Quantize</b> commits these settings.")
        else:
            parent = iterations.float_source(self.project, current)
            again = f" <b>Quantize</b> starts again from float iteration {parent.label}." if parent else ""
            text = (f"Statistics measured on {inspection.config.calib_images} calibration images of {current.label}. "
                    f"Editing bits shows what-ifs at once.{again}")
        if self.what_if:
            measured = inspection.config
            text += (f" <span style='color:#9a6700'><b>What-if:</b> the weights card follows the edited bits; the "
                     f"accuracies were measured at W{measured.weight_bits}A{measured.act_bits}"
                     + (" with its per-layer settings" if measured.layers else "")
                     + (" (preview again to measure the edit)." if inspection.kind == "preview" or
                        not iterations.is_quantized(current) else " (Quantize measures the edit).") + "</span>")
        note = qi.scaling_note(inspection.config, self.config) if inspection is not None else ""
        if note:
            text += f" <span style='color:#9a6700'>Histograms use the calibration's settings ({note}): preview " \
                    "again to see the new ones.</span>"
        remedies = qi.inspection_remedies(inspection) if inspection is not None else ""
        if remedies:
            text += f" <span style='color:#9a6700'><b>{html.escape(remedies[0].upper() + remedies[1:])}.</b></span>"
        self.notice.setText(text)

    def _update_buttons(self) -> None:
        from_quantized = False
        current = self.project.current if self.project is not None else None
        ready = self.config is not None and current is not None and not self.busy and self.fields.ok
        if self.config is not None and current is not None:
            from_quantized = iterations.is_quantized(current)
            parent = iterations.float_source(self.project, current)
            self.quantize_button.setText(f"Quantize from {parent.id}" if from_quantized and parent else "Quantize")
            can_quantize = parent is not None
        else:
            can_quantize = False
        self.defaults.setEnabled(self.config is not None and not self.busy)
        self.preview_button.setEnabled(ready and not from_quantized)
        self.preview_button.setToolTip("Preview works on a float iteration; the histograms here are this quantized "
                                       "iteration's" if from_quantized else
                                       "Calibrate in memory (nothing is saved) to see histograms and tune bits")
        self.quantize_button.setEnabled(ready and can_quantize)
        self.qat_button.setEnabled(ready and can_quantize)
        self.qonnx_button.setEnabled(ready and from_quantized)
        self.qcdq_button.setEnabled(ready and from_quantized)
        for widget in (self.load_button, self.clear_button):
            widget.setEnabled(self.config is not None and not self.busy)
        if self._views_built:
            self.sensitivity_button.setEnabled(ready and self.inspection is not None)

    # ----------------------------------------------------------------- per-layer settings
    def load_overrides(self, path: str | None = None) -> bool:
        """Per-layer settings from a JSON file (dialog without ``path``); a bad file changes nothing."""
        from foldwise.core.errors import InputError
        from foldwise.core.quantize.config import QuantConfig, load_layer_overrides

        if not self.ensure_core() or self.project is None:
            return False
        if path is None:
            path, _ = QFileDialog.getOpenFileName(self, "Per-layer settings", str(self.project.path), "JSON (*.json)")
            if not path:
                return False
        try:
            layers = load_layer_overrides(path)
            candidate = QuantConfig.from_dict({**self.config.to_dict(), "layers": {k: v.to_dict()
                                                                                 for k, v in layers.items()}})
            if self.views:
                candidate.validate({v.name for v in self.views} | {a.module for v in self.views for a in v.acts})
        except InputError as exc:
            self.services.error("Cannot use these per-layer settings", exc)
            return False
        set_config(self.config, "layers", candidate.layers, f"Load per-layer settings {Path(path).name}",
                   self.undo_stack)
        return True

    def clear_overrides(self) -> None:
        if self.config is not None and self.config.layers:
            set_config(self.config, "layers", {}, "Clear per-layer settings", self.undo_stack)

    # ----------------------------------------------------------------- jobs
    def _config_copy(self) -> Any:
        from foldwise.core.quantize.config import QuantConfig

        return QuantConfig.from_dict(self.config.to_dict())

    def start_preview(self) -> Job | None:
        from foldwise.core.quantize import inspect as qi

        if not self.ensure_core() or self.project is None or self.busy or self.fields_refused():
            return None
        current, config = self.project.current, self._config_copy()
        if current is None or iterations.is_quantized(current):
            self.services.error("Cannot preview", InputError("preview works on a float iteration"))
            return None

        def done(inspection: Any) -> None:
            self._previews[current.id] = inspection
            self._shown = ("", None)
            self._stage_next = True  # drawn in steps while other jobs may still run (the loop stays responsive)
            self.project_changed()
            accuracy = inspection.validation["compare"]["quantized"]["accuracy"]["value"]
            self.services.status(f"Preview of {current.label}: {accuracy:.1%} quantized (measured, not saved)")

        return self.run_stage(f"Preview calibration of {current.label}", qi.preview, qi.PreviewSpec(config, current.id),
                              on_done=done)

    def start_quantize(self, qat_epochs: int = 0) -> Job | None:
        """PTQ (+ QAT) of the current float iteration, or of a quantized one's float parent; undoable."""
        from foldwise.core.quantize.config import QuantizeSpec
        from foldwise.core.quantize.stage import quantize_iteration

        if not self.ensure_core() or self.project is None or self.busy or self.fields_refused():
            return None
        project = self.project
        previous = project.current_id
        source = iterations.float_source(project, project.current)
        if source is None:
            self.services.error("Cannot quantize", InputError("train or import a float network first"))
            return None
        spec = QuantizeSpec(self._config_copy(), qat_epochs, iteration=source.id)
        if source.id != previous:
            project.set_current(source.id)  # show what is being quantized; back to ``previous`` if it fails
        if qat_epochs:
            self.qat_curves.clear()
            self.tabs.setCurrentWidget(self.qat_tab)
            self.qat_note.setText(f"QAT of {source.label}: {qat_epochs} epoch(s), live (measured).")
        what = f"Quantize {source.label}" + (f" + QAT {qat_epochs}" if qat_epochs else "")

        def done(iteration: Any) -> None:
            self.undo_stack.push(CommitIteration(project, iteration.id, previous, f"{what} ({iteration.label})"))
            m = iteration.metrics
            faithful = m["qonnx_faithful"]
            exact = ("bit-exact" if m["qonnx_bit_exact"]["value"] else
                     f"QONNX faithful ({faithful['rounding_ties']} rounding ties)" if faithful["value"] else
                     "QONNX MISMATCH")
            self.services.status(f"{iteration.label}: {m['float_accuracy']['value']:.1%} float → "
                                 f"{m['accuracy']['value']:.1%} quantized (measured); "
                                 f"{m['weight_mb']['value']:.4g} MB (computed); {exact}")

        def failed(_job: Job) -> None:
            if project.current_id != previous:
                project.set_current(previous)

        return self.run_stage(what, quantize_iteration, spec, on_done=done, on_failed=failed,
                              on_partial=self.qat_curves.add_epoch if qat_epochs else None)

    def start_sensitivity(self) -> Job | None:
        from foldwise.core.quantize import inspect as qi

        if not self.ensure_core() or self.project is None or self.busy or self.inspection is None \
                or self.fields_refused():
            return None
        inspection, images = self.inspection, self.sensitivity_images.value()
        self.tabs.setCurrentWidget(self.validate_tab)

        current = self.project.current

        def done(rows: list[dict[str, Any]]) -> None:
            self._sensitivity = (inspection, rows)
            n = rows[0]["images"] if rows else 0
            if current is not None:
                try:
                    save_sensitivity(current, rows, images=n, config=inspection.config.to_dict())
                except OSError as exc:
                    self.services.status(f"The scan could not be kept with {current.label}: {exc}", 15000)
            self.sensitivity_bars.set_rows(rows, f", {measured_on(rows[0])}" if rows else "")
            worst = max(rows, key=lambda r: r["drop_points"]) if rows else None
            if worst is not None:
                self.services.status(f"Most sensitive: {worst['layer']} ({worst['drop_points']:+.1f} points, measured)")

        return self.run_stage(f"Sensitivity of {inspection.source}", qi.sensitivity,
                              qi.SensitivitySpec(inspection, images), on_done=done)

    def _saved_sensitivity(self, inspection: Any) -> tuple[Any, list[dict[str, Any]]]:
        """The scan kept with the current iteration (or its float parent, for the same settings)."""
        current = self.project.current if self.project is not None else None
        if current is None:
            return None, []
        parent = self.project.get(current.parent) if current.parent else None
        record = load_sensitivity(current, inspection.config.to_dict(), parent)
        if record is None:
            return None, []
        self._sensitivity = (inspection, record["rows"])
        return self._sensitivity

    def _export_path(self, suffix: str, title: str) -> str | None:
        current = self.project.current
        default = str(self.project.path / f"{self.project.name}-{current.label}{suffix}")
        path, _ = QFileDialog.getSaveFileName(self, title, default, "ONNX (*.onnx)")
        return path or None

    def export_qonnx(self, path: str | None = None) -> Job | None:
        from foldwise.core.quantize.stage import export_iteration

        def done(result: Any) -> None:
            text, value = qonnx_text(result.check, Path(result.path).name)
            self.export_label.setText(f"{text}<br><span style='color:#555'>{result.path} (input UINT8)</span>")
            self.qonnx_card.set_figure({"value": value, "source": "measured"})

        return self._start_export("Export QONNX", ".qonnx.onnx", path, export_iteration, done)

    def export_qcdq(self, path: str | None = None) -> Job | None:
        from foldwise.core.quantize import inspect as qi

        def done(result: Any) -> None:
            check = result.check
            agree = check["top1_agreement"]
            colour = "#145a32" if agree == 1.0 else "#9a6700"
            self.export_label.setText(
                f"<span style='color:{colour}'>QCDQ {Path(result.path).name}: top-1 agrees with torch on "
                f"{agree:.1%} of {check['images']} images, max |Δ| {check['max_abs_diff']:.3g}</span> "
                f"<i>(measured, onnxruntime)</i><br><span style='color:#555'>{result.path}</span>")

        return self._start_export("Export QCDQ ONNX", ".qcdq.onnx", path, qi.export_qcdq, done)

    def _start_export(self, what: str, suffix: str, path: str | None, stage: Any, done: Any) -> Job | None:
        """Export the current quantized iteration to ``path`` (asked for when None) with ``stage``."""
        from foldwise.core.quantize.config import ExportSpec

        if not self.ensure_core() or self.project is None or self.busy:
            return None
        path = path or self._export_path(suffix, what)
        if path is None:
            return None
        return self.run_stage(f"{what} to {path}", stage, ExportSpec(path), on_done=done)
