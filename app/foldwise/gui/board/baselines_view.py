"""The Baselines tab of the Board panel: the current iteration's exported model timed on the host or the
selected board/device, as the paper's table (model, device, time, power, energy, each labelled) and bars.

Runs go through the panel's jobs (:meth:`StagePanel.run_job` for the host; for a board the panel's own start,
which asks for a password and a host-key trust like every board action). The view keeps no figures of its
own: it re-reads the iteration's run records (:func:`~foldwise.core.board.baseline_table.baseline_rows`).
"""

from __future__ import annotations

import html
from collections.abc import Callable
from dataclasses import replace
from typing import Any

from PySide6.QtWidgets import (
    QAbstractItemView,
    QComboBox,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QPushButton,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from foldwise.core.board.baseline import HOST, RUNTIMES, BaselineSpec, run_baseline
from foldwise.core.board.baseline_table import COLUMNS, BaselineRow, baseline_rows, row_cells
from foldwise.core.board.profiles import BoardProfile
from foldwise.core.board.runs import RunRecord
from foldwise.core.errors import FoldwiseError
from foldwise.core.jobs import Job
from foldwise.gui.fields import FieldGate, NumberField, with_messages
from foldwise.gui.panels.base import StagePanel

# (title, work(board, password, ctx), on_done, again(trust fingerprint)) -> the job it started, as BoardPanel._start
StartOnBoard = Callable[..., Job | None]
BARS = {"torch": "#8e9aaf", "onnxruntime": "#4a7ab5", "numpy": "#d08c2e"}


class BaselinesView(QWidget):
    """Run a baseline and show all of the current iteration's baselines (``panel.project.current``)."""

    def __init__(self, panel: StagePanel, board: Callable[[], BoardProfile | None], start_on_board: StartOnBoard,
                 parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("baselinesView")
        self.panel, self._board, self._start_on_board = panel, board, start_on_board
        self.rows: list[BaselineRow] = []
        self.last: RunRecord | None = None
        self.host_button, self.board_button = QPushButton("Time on host"), QPushButton("Time on selected board")
        self.host_button.setObjectName("baselineHost")
        self.board_button.setObjectName("baselineBoard")
        self.runtime = QComboBox()
        self.runtime.addItems(list(RUNTIMES))
        self.runtime.setToolTip("auto: ONNX Runtime where installed, else the numpy fallback (which says so)")
        self.runs = NumberField(1, 100_000, 100)
        self.runs.setPrefix("runs ")
        self.power = NumberField(0.0, 10_000.0, 0.0, decimals=2, step=0.1, suffix=" W")
        self.power.setObjectName("baselinePower")
        self.power.setSpecialValueText("power: sensor or none")
        self.gate = FieldGate([self.runs, self.power], self)
        self.gate.changed.connect(self._gate_changed)
        self.power.setToolTip("The device's power when it has no sensor (labelled entered); a sensor wins")
        self.note = QLabel()
        self.note.setObjectName("baselineNote")
        self.note.setWordWrap(True)
        self.table = QTableWidget(0, len(COLUMNS))
        self.table.setObjectName("baselineTable")
        self.table.setHorizontalHeaderLabels(list(COLUMNS))
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.verticalHeader().hide()
        self.table.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        self.time_chart: Any = None  # BarCharts, made when there is a first bar (pyqtgraph loads then)
        self.energy_chart: Any = None
        controls = QHBoxLayout()
        for widget in (self.host_button, self.board_button, self.runtime, self.runs, self.power):
            controls.addWidget(widget)
        self.charts = QHBoxLayout()
        layout = QVBoxLayout(self)
        layout.addWidget(with_messages(controls, self.runs, self.power))
        layout.addWidget(self.note)
        layout.addWidget(self.table, 1)
        layout.addLayout(self.charts, 1)
        self.host_button.clicked.connect(lambda: self.run_on_host())
        self.board_button.clicked.connect(lambda: self.run_on_board())
        self.refresh()

    def _gate_changed(self) -> None:
        for button in (self.host_button, self.board_button):
            button.setEnabled(self.gate.ok)
            button.setToolTip(self.gate.reason())

    def spec(self, device: str = HOST) -> BaselineSpec:
        power = self.power.value()
        return BaselineSpec(device=device, runtime=self.runtime.currentText(), runs=self.runs.value(),
                            power_w=power if power > 0 else None)

    # ----------------------------------------------------------------- running
    def _ready(self) -> bool:
        project = self.panel.project
        if project is None or project.current is None:
            self.note.setText("Open a project with a trained or quantized iteration to time it.")
            return False
        if not self.gate.ok:
            self.note.setText(html.escape(self.gate.reason()))
            return False
        if self.panel.busy:  # the panel runs one job at a time
            self.note.setText("The Board panel is busy: wait for its job to end, or cancel it.")
            return False
        return True

    def run_on_host(self) -> Job | None:
        """Time the current iteration on this machine (PyTorch and ONNX Runtime)."""
        if not self._ready():
            return None
        project, spec = self.panel.project, self.spec()
        return self.panel.run_job(f"Baseline on host: {project.current.label}",
                                  lambda ctx: run_baseline(project, spec, ctx), on_done=self._done)

    def run_on_board(self, trust_fingerprint: str | None = None) -> Job | None:
        """Time it on the board selected in the panel (asks for its password when it needs one)."""
        if not self._ready():
            return None
        if self._board() is None:
            self.note.setText("Select (or add) a board first.")
            return None
        project, spec = self.panel.project, self.spec()

        def work(board: BoardProfile, password: str | None, ctx: Any) -> RunRecord:
            return run_baseline(project, replace(spec, device=board.name), ctx, password=password,
                                trust_fingerprint=trust_fingerprint)

        return self._start_on_board("Baseline on", work, self._done, self.run_on_board)

    def _done(self, record: RunRecord) -> None:
        self.last = record
        self.refresh()

    # ----------------------------------------------------------------- showing
    def refresh(self) -> None:
        """Re-read the current iteration's baselines."""
        project = self.panel.project
        iteration = project.current if project is not None else None
        try:
            self.rows = baseline_rows(iteration) if iteration is not None else []
        except FoldwiseError as exc:
            self.rows = []
            self.note.setText(html.escape(str(exc)))
        self.table.setRowCount(len(self.rows))
        for r, row in enumerate(self.rows):
            for c, text in enumerate(row_cells(row)):
                cell = QTableWidgetItem(text)
                cell.setToolTip(row.power_sensor or text if c == 5 else text)
                self.table.setItem(r, c, cell)
        labels = [f"{row.device}\n{row.runtime.split()[0]}" for row in self.rows]
        colours = [BARS.get(row.runtime.split()[0], "#777777") for row in self.rows]
        if self.rows or self.time_chart is not None:
            self._ensure_charts()
            self.time_chart.set_bars(labels, [row.time_ms.value for row in self.rows], colours)
            self.energy_chart.set_bars(labels, [row.energy_mj.value if row.energy_mj else None for row in self.rows],
                                       colours)
        if iteration is None:
            self.note.setText("No iteration to time yet.")
        elif not self.rows:
            self.note.setText(html.escape(f"{iteration.label}: no baselines yet. Time it on the host or on a board "
                                          "(batch 1; energy = power × time, power from a sensor or entered)."))
        else:
            missing = sorted({r.device for r in self.rows if r.power_w is None})
            self.note.setText(html.escape(
                f"{iteration.label}: {len(self.rows)} baseline(s), batch 1, medians of the timed runs. "
                + (f"No power for {', '.join(missing)} (no sensor, none entered)." if missing else "")))

    def _ensure_charts(self) -> None:
        if self.time_chart is None:
            from foldwise.gui.board.bar_chart import BarChart

            self.time_chart = BarChart("time per inference (ms, measured)", "baselineTimeChart")
            self.energy_chart = BarChart("energy per inference (mJ)", "baselineEnergyChart")
            self.charts.addWidget(self.time_chart)
            self.charts.addWidget(self.energy_chart)

    def cells(self) -> list[list[str]]:
        return [[self.table.item(r, c).text() for c in range(self.table.columnCount())]
                for r in range(self.table.rowCount())]
