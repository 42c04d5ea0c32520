"""The Build panel's widgets and layout (what a Qt Designer ``setupUi`` would hold); the panel wires the logic.

Left: model source, target (board, clock, folding source, budget) and outputs (Estimate, Auto-fit, HLS, full
build) with the job's progress. Right: the figures, resource gauges and the tabs Folding (table + cycles
chart), Builds & log, Advanced settings (generated form) and Tools / What's missing.
"""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QButtonGroup,
    QCheckBox,
    QComboBox,
    QFormLayout,
    QGridLayout,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QProgressBar,
    QPushButton,
    QRadioButton,
    QScrollArea,
    QSplitter,
    QTabWidget,
    QVBoxLayout,
    QWidget,
)

from foldwise.core.finn.boards import BOARDS, DEFAULT_BOARD
from foldwise.gui.build.build_log import BuildsList, ExplanationsView, LogView, StepList
from foldwise.gui.build.config_form import SettingsForm
from foldwise.gui.build.folding_table import FoldingTable
from foldwise.gui.build.missing_view import MissingView
from foldwise.gui.build.resource_gauges import ResourceGauges
from foldwise.gui.build.sweep_view import SweepView
from foldwise.gui.fields import NumberField, with_messages
from foldwise.gui.widgets.figures import FigureStrip

#: boards FINN knows, most used first (the rest of ``BOARDS`` follows)
BOARD_ORDER = ("Pynq-Z2", "Pynq-Z1", "ZCU104", "ZCU102", "Ultra96-V2", "Ultra96", "KV260_SOM")
FIGURE_KEYS = ["fps", "latency_us", "bottleneck", "fit", "keeps_up"]
FIGURE_TITLES = {"bottleneck": "Bottleneck", "fit": "Fits the board?", "keeps_up": "Keeps up?"}


BITFIT_TIP = ("Also lower per-layer weight bit widths while validation accuracy holds (re-quantizes the float "
              "parent per candidate; minutes)")


def setup_ui(panel: Any) -> None:
    """Create the panel's widgets as attributes of ``panel`` and lay them out (no signal is connected here)."""
    # ---- model source
    panel.source_label = QLabel()
    panel.source_label.setObjectName("buildSource")
    panel.source_label.setWordWrap(True)
    panel.source_label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
    panel.source_note = QLabel()
    panel.source_note.setObjectName("buildSourceNote")
    panel.source_note.setWordWrap(True)
    panel.source_note.setStyleSheet("color:#7a4d00;")
    panel.open_button = QPushButton("Open QONNX file…")
    panel.open_button.setToolTip("Estimate any FINN-ready QONNX file (e.g. a Brevitas TFC/CNV export) directly")
    panel.project_button = QPushButton("Use the iteration's model")
    panel.project_button.setToolTip("Go back to the current iteration's quantized export")
    model_box = QGroupBox("Model")
    mlay = QVBoxLayout(model_box)
    mlay.addWidget(panel.source_label)
    mlay.addWidget(panel.source_note)
    row = QHBoxLayout()
    row.addWidget(panel.open_button)
    row.addWidget(panel.project_button)
    row.addStretch(1)
    mlay.addLayout(row)

    # ---- target
    panel.board_combo = QComboBox()
    panel.board_combo.setObjectName("boardCombo")
    for name in [*BOARD_ORDER, *[b for b in BOARDS if b not in BOARD_ORDER]]:
        b = BOARDS[name]
        panel.board_combo.addItem(name, name)
        panel.board_combo.setItemData(panel.board_combo.count() - 1,
                                     f"{b.part}: {b.lut:,} LUT, {b.bram18:,} BRAM18, {b.dsp:,} DSP, "
                                     f"{b.uram:,} URAM", Qt.ItemDataRole.ToolTipRole)
    panel.board_combo.setCurrentIndex(panel.board_combo.findData(DEFAULT_BOARD))
    panel.clock_spin = NumberField(decimals=1)
    panel.clock_spin.setObjectName("clockSpin")
    panel.clock_spin.setRange(10.0, 1000.0)
    panel.clock_spin.setDecimals(1)
    panel.clock_spin.setSingleStep(25.0)
    panel.clock_spin.setValue(100.0)
    panel.clock_spin.setSuffix(" MHz")
    panel.clock_spin.setKeyboardTracking(False)
    panel.fields.add(panel.clock_spin)
    panel.mode_editor = QRadioButton("the folding editor")
    panel.mode_editor.setToolTip("Build with the PE/SIMD/memory settings in the folding table")
    panel.mode_target = QRadioButton("FINN SetFolding for a target FPS")
    panel.mode_target.setToolTip("Let FINN's SetFolding pick the folding for a target frame rate; the result "
                                "is loaded into the editor")
    panel.mode_editor.setChecked(True)
    panel._mode_group = QButtonGroup(panel)
    panel._mode_group.addButton(panel.mode_editor)
    panel._mode_group.addButton(panel.mode_target)
    panel.target_fps = NumberField()
    panel.target_fps.setObjectName("targetFps")
    panel.target_fps.setRange(1, 2_000_000_000)
    panel.target_fps.setValue(100_000)
    panel.target_fps.setGroupSeparatorShown(True)
    panel.target_fps.setSuffix(" fps")
    panel.target_fps.setKeyboardTracking(False)
    panel.fields.add(panel.target_fps)
    panel.target_fps.setToolTip("The frame rate the design must keep up with: the project's target (saved with "
                                "it), shown on the Keeps up? card and the cycles chart; FINN SetFolding aims at "
                                "it when picked above")
    panel.budget_spin = NumberField()
    panel.budget_spin.setObjectName("budgetSpin")
    panel.budget_spin.setRange(10, 100)
    panel.budget_spin.setValue(85)
    panel.budget_spin.setSuffix(" %")
    panel.fields.add(panel.budget_spin)
    panel.budget_spin.setToolTip("Share of each resource (LUT, BRAM, DSP, URAM) a design may use: the gauges "
                                "turn amber above it and auto-fit stays within it (placement and routing "
                                "need headroom)")
    # ---- where builds run: this machine or a saved build host (the list `foldwise build --remote NAME` uses)
    panel.host_combo = QComboBox()
    panel.host_combo.setObjectName("hostCombo")
    panel.host_combo.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon)
    panel.host_combo.setMinimumContentsLength(10)
    panel.host_combo.setToolTip("Where Estimate, Generate HLS and Full build run: here, or on a build host over "
                                "SSH that has finn-plus (and Vivado for bitfiles). Folding edits are always "
                                "re-estimated here.")
    panel.check_host_button = QPushButton("Check")
    panel.check_host_button.setObjectName("checkHostButton")
    panel.check_host_button.setToolTip("Log in, find finn-plus and the Xilinx tools on the build host")
    panel.add_host_button = QPushButton("Add…")
    panel.add_host_button.setToolTip("Add a build host (saved for the Build panel and `foldwise build --remote`)")
    panel.remove_host_button = QPushButton("Remove")
    panel.remove_host_button.setToolTip("Remove this build host from the saved list")
    host_row = QHBoxLayout()
    host_row.addWidget(panel.host_combo, 1)
    host_row.addWidget(panel.check_host_button)
    host_buttons = QHBoxLayout()
    host_buttons.addWidget(panel.add_host_button)
    host_buttons.addWidget(panel.remove_host_button)
    host_buttons.addStretch(1)
    panel.host_status = QLabel()
    panel.host_status.setObjectName("hostStatus")
    panel.host_status.setWordWrap(True)
    panel.host_status.setStyleSheet("color:#5f6b7a; font-size: 11px;")
    panel.host_status.hide()

    target_box = QGroupBox("Target")
    form = QFormLayout(target_box)
    form.addRow("Board:", panel.board_combo)
    form.addRow("Clock:", with_messages(panel.clock_spin))
    form.addRow("Build on:", host_row)
    form.addRow("", host_buttons)
    form.addRow(panel.host_status)
    form.addRow("Folding from:", panel.mode_editor)
    form.addRow("", panel.mode_target)
    form.addRow("Target FPS:", with_messages(panel.target_fps))
    form.addRow("Budget:", with_messages(panel.budget_spin))

    # ---- actions / outputs
    panel.estimate_button = QPushButton("Estimate")
    panel.estimate_button.setObjectName("estimateButton")
    panel.estimate_button.setToolTip("FINN's estimate-only build (seconds, no Xilinx tools); kept with the "
                                    "iteration")
    panel.estimate_button.setDefault(True)
    panel.estimate_button.setToolTip(panel.estimate_button.toolTip() + " (Ctrl+Enter)")
    panel.autofit_button = QPushButton("Auto-fit")
    panel.autofit_button.setObjectName("autofitButton")
    panel.autofit_button.setToolTip("Search the folding with the highest estimated FPS within the budget and "
                                   "load it into the editor")
    panel.compare_box = QCheckBox("vs FINN SetFolding")
    panel.compare_box.setChecked(True)
    panel.compare_box.setToolTip("Also sweep FINN's own SetFolding to the best target FPS within the same "
                                "budget (slower)")
    panel.bitfit_button = QPushButton("Auto-fit bits")
    panel.bitfit_button.setObjectName("bitfitButton")
    panel.bitfit_button.setToolTip(BITFIT_TIP)
    panel.bitfit_loss = NumberField(decimals=1)
    panel.bitfit_loss.setObjectName("bitfitLoss")
    panel.bitfit_loss.setRange(0.0, 50.0)
    panel.bitfit_loss.setDecimals(1)
    panel.bitfit_loss.setValue(1.0)
    panel.bitfit_loss.setPrefix("lose ≤ ")
    panel.bitfit_loss.setSuffix(" pt")
    panel.fields.add(panel.bitfit_loss)
    panel.bitfit_loss.setToolTip("Validation accuracy a candidate may lose against the current settings")
    panel.bitfit_acts = QCheckBox("+ activations")
    panel.bitfit_acts.setObjectName("bitfitActs")
    panel.bitfit_acts.setToolTip("Also try one bit less on each activation quantizer (fewer thresholds; twice "
                                "the candidates)")
    panel.use_bits_button = QPushButton("Quantize with these bits…")
    panel.use_bits_button.setObjectName("useBitsButton")
    panel.use_bits_button.setToolTip("Load the bit widths found into the Quantize stage (then Quantize, or "
                                    "Quantize + QAT to win back accuracy)")
    panel.use_bits_button.hide()
    panel.codegen_button = QPushButton("Generate HLS")
    panel.codegen_button.setToolTip("Estimate build plus FINN's HLS C++ / RTL code generation (no Xilinx tools)")
    panel.full_build_button = QPushButton("Full build → bitfile")
    panel.full_build_button.setObjectName("fullBuildButton")
    panel.full_build_reason = QLabel()
    panel.full_build_reason.setObjectName("fullBuildReason")
    panel.full_build_reason.setWordWrap(True)
    panel.full_build_reason.setTextFormat(Qt.TextFormat.RichText)  # the tools tab's name is a link to it
    panel.full_build_reason.setStyleSheet("color:#8a8f96; font-size: 11px;")
    panel.autofit_result = QLabel()
    panel.autofit_result.setObjectName("autofitResult")
    panel.autofit_result.setWordWrap(True)
    panel.autofit_result.setTextFormat(Qt.TextFormat.RichText)
    actions_box = QGroupBox("Outputs")
    grid = QGridLayout(actions_box)
    grid.addWidget(panel.estimate_button, 0, 0)
    grid.addWidget(QLabel("<small>FPS, latency, resources · seconds</small>"), 0, 1)
    grid.addWidget(panel.autofit_button, 1, 0)
    grid.addWidget(panel.compare_box, 1, 1)
    grid.addWidget(panel.bitfit_button, 2, 0)
    grid.addWidget(with_messages(panel.bitfit_loss), 2, 1)
    grid.addWidget(panel.bitfit_acts, 3, 1)  # its own row: beside the spinbox it widened the whole panel
    grid.addWidget(panel.autofit_result, 4, 0, 1, 2)
    grid.addWidget(panel.use_bits_button, 5, 0, 1, 2)
    grid.addWidget(panel.codegen_button, 6, 0)
    grid.addWidget(QLabel("<small>HLS C++ and RTL sources</small>"), 6, 1)
    grid.addWidget(panel.full_build_button, 7, 0)
    grid.addWidget(QLabel("<small>stitched IP, rtlsim, bitfile, driver</small>"), 7, 1)
    grid.addWidget(panel.full_build_reason, 8, 0, 1, 2)
    panel.keep_box = QCheckBox("resumable (keep intermediate models)")
    panel.keep_box.setObjectName("keepIntermediate")
    panel.keep_box.setToolTip("Keep the model FINN saves after each step, so a failed or cancelled build can be "
                              "resumed from the step it stopped in (always on for HLS and full builds)")
    grid.addWidget(panel.keep_box, 9, 0, 1, 2)
    grid.setColumnStretch(1, 1)

    # ---- progress (shown while a job of the panel runs: the panel base class drives it)
    progress = QProgressBar()
    progress.setObjectName("buildProgress")
    cancel = QPushButton("Cancel")
    cancel.setToolTip("Stop the running job (a remote build's process group is killed on the host)")
    panel.progress_row = QWidget()
    prow = QHBoxLayout(panel.progress_row)
    prow.setContentsMargins(0, 0, 0, 0)
    prow.addWidget(progress, 1)
    prow.addWidget(cancel)
    panel.use_inline_progress(progress, cancel)

    left = QWidget()
    llay = QVBoxLayout(left)
    llay.setContentsMargins(0, 0, 6, 0)
    llay.addWidget(model_box)
    llay.addWidget(target_box)
    llay.addWidget(actions_box)
    llay.addWidget(panel.progress_row)
    llay.addStretch(1)
    left_scroll = QScrollArea()
    left_scroll.setWidgetResizable(True)
    left_scroll.setFrameShape(QScrollArea.Shape.NoFrame)
    left_scroll.setWidget(left)
    left_scroll.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
    left_scroll.setFixedWidth(max(left.minimumSizeHint().width(), 320) + 14)

    # ---- results header
    panel.figures = FigureStrip(FIGURE_KEYS)
    for key, text in FIGURE_TITLES.items():
        panel.figures.cards[key].title.setText(text)
    panel.origin_label = QLabel()
    panel.origin_label.setObjectName("resultOrigin")
    panel.origin_label.setWordWrap(True)
    panel.origin_label.setStyleSheet("color:#5f6b7a;")
    panel.gauges = ResourceGauges()

    # ---- folding tab
    panel.table = FoldingTable(panel.folding_model)
    panel.folding_note = QLabel()
    panel.folding_note.setObjectName("foldingNote")
    panel.folding_note.setWordWrap(True)
    panel.cpu_note = QLabel()
    panel.cpu_note.setObjectName("cpuNote")
    panel.cpu_note.setWordWrap(True)
    panel.folding_note.hide()
    panel.cpu_note.hide()
    panel.undo_button = QPushButton("Undo")
    panel.undo_button.setToolTip("Undo the last folding edit (Ctrl+Z)")
    panel.undo_button.setEnabled(panel.undo_stack.canUndo())
    panel.live_label = QLabel()
    panel.live_label.setObjectName("liveLabel")
    panel.live_label.setStyleSheet("color:#5f6b7a;")
    hint = QLabel("<small>Click a PE / SIMD / memory cell for its legal values; <b>+</b>/<b>−</b> step "
                  "through them. Every edit is re-estimated by FINN.</small>")
    hint.setWordWrap(True)
    panel.save_folding_button = QPushButton("Save…")
    panel.save_folding_button.setToolTip("Save the folding as a FINN folding config (JSON)")
    panel.load_folding_file_button = QPushButton("Load…")
    panel.load_folding_file_button.setToolTip("Load a FINN folding config (JSON); checked against the legal "
                                             "values first (undoable)")
    bar = QHBoxLayout()
    bar.addWidget(hint, 1)
    bar.addWidget(panel.live_label)
    bar.addWidget(panel.undo_button)
    bar.addWidget(panel.save_folding_button)
    bar.addWidget(panel.load_folding_file_button)
    panel.chart_holder = QVBoxLayout()
    panel.chart_holder.setContentsMargins(0, 0, 0, 0)
    chart_widget = QWidget()
    chart_widget.setLayout(panel.chart_holder)
    panel.chart: Any = None
    table_side = QWidget()
    tl = QVBoxLayout(table_side)
    tl.setContentsMargins(0, 0, 0, 0)
    tl.addLayout(bar)
    tl.addWidget(panel.folding_note)
    tl.addWidget(panel.cpu_note)
    tl.addWidget(panel.table, 1)
    panel.fold_split = QSplitter(Qt.Orientation.Vertical)
    panel.fold_split.addWidget(table_side)
    panel.fold_split.addWidget(chart_widget)
    panel.fold_split.setSizes([300, 260])

    # ---- builds tab
    panel.builds_list = BuildsList()
    panel.reopen_button = QPushButton("Open")
    panel.reopen_button.setToolTip("Show this build's figures, steps and log")
    panel.load_folding_button = QPushButton("Load its folding")
    panel.load_folding_button.setToolTip("Load the folding this build used into the editor (undoable)")
    panel.load_folding_button.setEnabled(False)
    panel.steps = StepList()
    panel.explanations = ExplanationsView()
    panel.log_view = LogView()
    blist = QWidget()
    bl = QVBoxLayout(blist)
    bl.setContentsMargins(0, 0, 0, 0)
    bl.addWidget(QLabel("<b>Builds of this model</b>"))
    bl.addWidget(panel.builds_list, 2)
    brow = QHBoxLayout()
    brow.addWidget(panel.reopen_button)
    brow.addWidget(panel.load_folding_button)
    panel.resume_button = QPushButton("Resume")
    panel.resume_button.setObjectName("resumeButton")
    panel.resume_button.setToolTip("Run this failed or cancelled build again from the FINN step it stopped in, "
                                   "where it ran (it must have kept FINN's intermediate models)")
    panel.resume_button.setEnabled(False)
    brow.addStretch(1)
    bl.addLayout(brow)
    steps_row = QHBoxLayout()
    steps_row.addWidget(QLabel("<b>Steps</b>"))
    steps_row.addStretch(1)
    steps_row.addWidget(panel.resume_button)
    bl.addLayout(steps_row)
    bl.addWidget(panel.steps, 3)
    logside = QWidget()
    lg = QVBoxLayout(logside)
    lg.setContentsMargins(0, 0, 0, 0)
    lg.addWidget(panel.explanations)
    lg.addWidget(panel.log_view, 1)
    # List and steps above the log (not beside it): side by side they set the panel's minimum past a 1280-px screen.
    builds_split = QSplitter(Qt.Orientation.Vertical)
    builds_split.addWidget(blist)
    builds_split.addWidget(logside)
    builds_split.setSizes([260, 300])

    panel.settings_form = SettingsForm()
    panel.missing_view = MissingView()

    panel.tabs = QTabWidget()
    panel.tabs.setObjectName("buildTabs")
    panel.tabs.addTab(panel.fold_split, "Folding")
    panel.tabs.addTab(builds_split, "Builds && log")
    panel.sweep_view = SweepView()
    panel.tabs.addTab(panel.sweep_view, "Sweep")
    panel.tabs.addTab(panel.settings_form, "Advanced settings")
    panel.tabs.addTab(panel.missing_view, "Tools")
    panel._tools_tab = panel.tabs.count() - 1

    right = QWidget()
    rl = QVBoxLayout(right)
    rl.setContentsMargins(6, 0, 0, 0)
    rl.addWidget(panel.figures)
    rl.addWidget(panel.origin_label)
    rl.addWidget(panel.gauges)
    rl.addWidget(panel.tabs, 1)

    heading = QLabel("<h2 style='margin:0'>Build</h2>")
    layout = QVBoxLayout(panel)
    layout.addWidget(heading)
    body = QHBoxLayout()
    body.addWidget(left_scroll)
    body.addWidget(right, 1)
    layout.addLayout(body, 1)
