"""The Demo panel: the live defect-detection demo on the open project.

Pick a source, a backend, the target rate and the defect threshold; Start (Ctrl+Return) runs
``core.demo.pipeline.run_demo`` as this panel's job (frames and live figures arrive through ``on_partial``),
Stop (Esc) cancels it and the final figures stay on the cards. Dragging on the preview sets the region of
interest, saved in the project (it applies from the next Start); Reset ROI (Ctrl+0) goes back to the default.
"""

from __future__ import annotations

from typing import Any

from PySide6.QtGui import QKeySequence, QShortcut
from PySide6.QtWidgets import (
    QComboBox,
    QHBoxLayout,
    QInputDialog,
    QLabel,
    QLineEdit,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from foldwise.core.board.profiles import get_board, saved_boards
from foldwise.core.demo.budget import FrameBudget, frame_budget
from foldwise.core.demo.pipeline import DemoResult, DemoSpec, DemoUpdate, run_demo
from foldwise.core.demo.roi import Roi, load_roi, save_roi
from foldwise.core.errors import FoldwiseError
from foldwise.core.jobs import Job
from foldwise.gui.demo.budget_bars import BudgetBars
from foldwise.gui.demo.cards import StatsCards
from foldwise.gui.demo.preview import PreviewView
from foldwise.gui.fields import NumberField
from foldwise.gui.panels.base import AppServices, StagePanel

SOURCES = ("synthetic", "camera:0", "file:", "folder:", "rtsp://")
HOST_BACKENDS = ("host-float", "host-quantized")
START_KEYS, STOP_KEYS, RESET_ROI_KEYS = "Ctrl+Return", "Esc", "Ctrl+0"


class DemoPanel(StagePanel):
    title = "Demo"
    icon = "demo"
    summary = ("<p>A live camera demo of defect detection, with the model on the host or a board, and the "
               "frame budget: does it keep up?</p>")

    def __init__(self, services: AppServices, parent: QWidget | None = None) -> None:
        super().__init__(services, parent)
        self.source = QComboBox()
        self.source.setObjectName("demoSource")
        self.source.setEditable(True)
        self.source.addItems(SOURCES)
        self.source.setToolTip("synthetic, camera:N or camera:/dev/videoN, file:PATH, folder:PATH, or a stream URL")
        self.backend = QComboBox()
        self.backend.setObjectName("demoBackend")
        self.backend.setToolTip("where the network runs: this machine, or a saved board (its newest build; an "
                                "emulated board runs FINN's dataflow model, labelled emulated)")
        self.budget_from = QComboBox()
        self.budget_from.setObjectName("budgetFrom")
        self.budget_from.setToolTip("where the budget's inference time comes from: FINN's estimate, a backend "
                                    "timed here, or a board's newest throughput run")
        self.budget_button = QPushButton("Check budget")
        self.budget_button.setObjectName("budgetCheck")
        self.budget_button.setToolTip("Does it keep up? Each stage's time per frame against 1000/target ms, "
                                      "before running")
        self.budget_button.clicked.connect(lambda: self.check_budget())
        self.budget_bars = BudgetBars()
        self._fill_backends()
        self.target = NumberField()
        self.fields.add(self.target)
        self.target.setRange(1, 10_000)
        self.target.setDecimals(0)
        self.target.setSuffix(" FPS target")
        self.threshold = NumberField(0.01, 0.99, 0.5, decimals=2, step=0.05, suffix=" defect threshold")
        self.threshold.setObjectName("demoThreshold")
        self.threshold.setToolTip("DEFECT when the network gives the defect class at least this probability")
        self.fields.add(self.threshold)
        self.record = QLineEdit()
        self.record.setPlaceholderText("record into folder (optional)")
        self.start_button = QPushButton("Start")
        self.start_button.setObjectName("demoStart")
        self.start_button.setToolTip(f"Start the demo ({START_KEYS})")
        self.start_button.clicked.connect(lambda: self.start())
        self.stop_button = QPushButton("Stop")
        self.stop_button.setObjectName("demoStop")
        self.stop_button.setToolTip(f"Stop the demo; its figures stay ({STOP_KEYS})")
        self.stop_button.clicked.connect(self.stop)
        self.reset_roi = QPushButton("Reset ROI")
        self.reset_roi.setToolTip(f"Back to the default inspection window; drag on the preview to draw one "
                                  f"({RESET_ROI_KEYS})")
        self.reset_roi.clicked.connect(lambda: self._save_roi(None))
        self.preview = PreviewView()
        self.preview.roi_drawn.connect(self._save_roi)
        self.cards = StatsCards()
        self.status = QLabel("")
        self.status.setObjectName("demoStatus")
        self.status.setWordWrap(True)
        controls = QHBoxLayout()
        for label, widget in (("Source", self.source), ("Backend", self.backend)):
            controls.addWidget(QLabel(label))
            controls.addWidget(widget, 1)
        controls.addWidget(self.target)
        controls.addWidget(self.threshold)
        controls.addWidget(self.record, 1)
        for button in (self.start_button, self.stop_button, self.reset_roi):
            controls.addWidget(button)
        layout = QVBoxLayout(self)
        layout.addWidget(QLabel(f"<h2>{self.title}</h2>"))
        layout.addLayout(controls)
        layout.addWidget(self.target.message)
        layout.addWidget(self.threshold.message)
        layout.addWidget(self.preview, 1)
        layout.addWidget(self.cards)
        budget_row = QHBoxLayout()
        budget_row.addWidget(QLabel("Budget with inference from"))
        budget_row.addWidget(self.budget_from, 1)
        budget_row.addWidget(self.budget_button)
        layout.addLayout(budget_row)
        layout.addWidget(self.budget_bars)
        layout.addWidget(self.status)
        self.shortcuts = {keys: QShortcut(QKeySequence(keys), self, activated=action) for keys, action in (
            (START_KEYS, lambda: self.start()), (STOP_KEYS, self.stop),
            (RESET_ROI_KEYS, lambda: self._save_roi(None)))}
        self.updates = 0
        self._passwords: dict[str, str] = {}  # board backend → password, this session only, never saved
        self.result: DemoResult | None = None
        self._shown: object = None
        self.set_busy(False)

    def _fill_backends(self) -> None:
        """Host backends, then one entry per saved board; the budget can also take FINN's estimate."""
        boards = [f"board:{b.name}" for b in saved_boards()]
        for combo, items in ((self.backend, [*HOST_BACKENDS, *boards]),
                             (self.budget_from, ["estimate", *HOST_BACKENDS, *boards])):
            current = combo.currentText()
            combo.blockSignals(True)
            combo.clear()
            combo.addItems(items)
            if current in items:
                combo.setCurrentText(current)
            combo.blockSignals(False)

    def showEvent(self, event: Any) -> None:  # boards added in the Board panel show up here
        self._fill_backends()
        super().showEvent(event)

    def check_budget(self) -> Job | None:
        if self.busy or self.project is None or self.project.current is None or self.fields_refused():
            return None
        self.status.setText("timing the frame budget…")
        project, source, target = self.project, self.budget_from.currentText(), self.target.value()
        return self.run_job("Frame budget", lambda ctx: frame_budget(project, source, target_fps=target, ctx=ctx),
                            on_done=self._budget_done)

    def _budget_done(self, budget: FrameBudget) -> None:
        self.budget_bars.show_budget(budget)
        self.status.setText(budget.verdict)

    def project_changed(self) -> None:
        project = self.project
        ready = project is not None and project.current is not None
        self.start_button.setEnabled(ready and not self.busy and self.fields.ok)
        self.budget_button.setEnabled(ready and not self.busy)
        if project is None or project is self._shown:
            return
        self._shown = project  # a manifest change (a saved ROI) keeps what the user set here
        self.target.setValue(float(project.settings.get("target_fps") or 120))
        try:
            self.preview.set_roi(load_roi(project))
        except FoldwiseError as exc:
            self.status.setText(str(exc))

    def set_busy(self, busy: bool) -> None:
        self.start_button.setEnabled(not busy and self.project is not None and self.project.current is not None
                                     and self.fields.ok)
        self.stop_button.setEnabled(busy)
        self.budget_button.setEnabled(not busy and self.project is not None and self.project.current is not None)
        for widget in (self.source, self.backend, self.target, self.threshold, self.record, self.budget_from):
            widget.setEnabled(not busy)

    def spec(self) -> DemoSpec:
        backend = self.backend.currentText()
        return DemoSpec(source=self.source.currentText().strip(), backend=backend,
                        target_fps=self.target.value(), record=self.record.text().strip() or None,
                        roi=self.preview.roi, threshold=float(self.threshold.value()),
                        password=self._passwords.get(backend))

    def _board_needing_password(self) -> str | None:
        """The board backend's name when its board logs in by password not yet given this session."""
        backend = self.backend.currentText()
        if not backend.startswith("board:") or backend in self._passwords:
            return None
        try:
            board = get_board(backend[len("board:"):])
        except FoldwiseError:
            return None
        if not board.needs_password:
            return None
        from foldwise.core.board.secrets import recalled_password

        recalled = recalled_password(board)
        if recalled is not None:
            self._passwords[backend] = recalled
            return None
        return board.name

    def _ask_password(self, board: str) -> None:
        dialog = QInputDialog(self)
        dialog.setObjectName("demoPasswordDialog")
        dialog.setLabelText(f"SSH password of board {board} (kept for this session only, never saved):")
        dialog.setTextEchoMode(QLineEdit.EchoMode.Password)

        def given(text: str) -> None:
            self._passwords[f"board:{board}"] = text
            self.start()

        dialog.textValueSelected.connect(given)
        dialog.open()

    def start(self) -> Job | None:
        if self.busy or self.project is None or self.fields_refused():
            return None
        board = self._board_needing_password()
        if board is not None:
            self._ask_password(board)
            return None
        self.updates = 0
        self.result = None
        self.status.setText("starting…")
        return self.run_stage("Live demo", run_demo, self.spec(), on_done=self._finished,
                              on_partial=self._on_update, inline=False)

    def stop(self) -> None:
        self.cancel_job()

    def _on_update(self, update: Any) -> None:
        if not isinstance(update, DemoUpdate):
            return
        self.updates += 1
        self.preview.show_frame(update.image)
        self.cards.show_stats(update.stats)
        self.budget_bars.show_live(update.stats)
        self.status.setText(f"frame {update.frame}: {'DEFECT' if update.defect else 'OK'} "
                            f"{update.confidence:.0%}")

    def _finished(self, result: DemoResult) -> None:
        self.result = result
        self.cards.show_stats(result.stats)
        self.budget_bars.show_live(result.stats)
        recorded = f"; recorded into {result.recording['video']}" if result.recording else ""
        notes = "".join(f"\nNote: {note}" for note in result.extra.get("notes", []))
        self.status.setText(f"Ended: {result.reason} ({result.source['name']}, {result.backend['name']}){recorded}"
                            f"{notes}")

    def _save_roi(self, roi: Roi | None) -> None:
        self.preview.set_roi(roi)
        if self.project is not None and not self.project.read_only:
            try:
                save_roi(self.project, roi)
            except FoldwiseError as exc:
                self.services.error("Region of interest", exc)
                return
        self.status.setText("Region of interest saved in the project (applies from the next Start)"
                            if roi else "Region of interest back to the default")
