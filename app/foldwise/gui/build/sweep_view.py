"""The Build panel's Sweep tab: the widgets only (the panel's :class:`~foldwise.gui.build.sweep_tab.SweepTab`
starts the jobs). A grid file, where to run it, the sweep picker and its actions; a table of every point
(status, progress, FINN's FPS and LUT share, the measured accuracy, keeps up); and accuracy against FPS
(log axis) with each point's size set by its LUT share, the Pareto front outlined and the best point starred."""

from __future__ import annotations

import math

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QComboBox,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QLineEdit,
    QPushButton,
    QSplitter,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from foldwise.core.sweep.record import SweepRecord
from foldwise.core.sweep.results import PointResult

COLUMNS = (
    "Point",
    "Status",
    "Progress",
    "FPS (estimated)",
    "LUT % (estimated)",
    "Accuracy (measured)",
    "Keeps up",
    "Build / error",
)
BEST = "#f1c40f"
FRONT = "#c0392b"
OTHER = "#7f8c8d"


class SweepView(QWidget):
    """Widgets of the Sweep tab; ``point_selected(index)`` when a row or a plotted point is picked."""

    point_selected = Signal(int)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.grid_button = QPushButton("Grid file…")
        self.grid_button.setToolTip("A sweep grid (YAML or JSON): see `foldwise sweep --help` and the README")
        self.grid_label = QLabel("no grid chosen")
        self.executor = QComboBox()
        self.executor.setObjectName("sweepExecutor")
        self.executor.setEditable(True)
        self.executor.setMinimumContentsLength(8)
        self.executor.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon)
        self.executor.setToolTip(
            "local: a pool of FINN workers here; slurm: sbatch on this machine; "
            "slurm:USER@HOST or slurm:NAME: a cluster's login host over SSH"
        )
        self.partition = QLineEdit()
        self.partition.setPlaceholderText("partition (Slurm's default)")
        self.start_button = QPushButton("Start sweep")
        self.sweeps = QComboBox()
        self.sweeps.setObjectName("sweepPicker")
        self.sweeps.setMinimumContentsLength(12)
        self.sweeps.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon)
        self.refresh_button = QPushButton("Refresh")
        self.cancel_button = QPushButton("Cancel sweep")
        self.resume_button = QPushButton("Resume")
        self.resume_button.setToolTip("Build again every point not done")
        self.requeue_button = QPushButton("Requeue failed")
        self.current_button = QPushButton("Make this the current iteration")
        self.current_button.setToolTip("Make the selected point's iteration the project's current one")
        self.summary = QLabel("")
        self.summary.setWordWrap(True)
        self.summary.setMinimumWidth(100)
        self.table = QTableWidget(0, len(COLUMNS))
        self.table.setObjectName("sweepTable")
        self.table.setHorizontalHeaderLabels(list(COLUMNS))
        self.table.setSelectionBehavior(QTableWidget.SelectionBehavior.SelectRows)
        self.table.setSelectionMode(QTableWidget.SelectionMode.SingleSelection)
        self.table.setEditTriggers(QTableWidget.EditTrigger.NoEditTriggers)
        self.table.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.Interactive)
        self.table.setMinimumWidth(200)
        self.table.horizontalHeader().setStretchLastSection(True)
        self.table.itemSelectionChanged.connect(self._row_picked)
        self.plot = None  # pyqtgraph loads with the first results
        self.plot_holder = QVBoxLayout()
        self.results: list[PointResult] = []
        self._sized = False

        # four short rows, not two long ones: the tab shares the panel's right side on a 1280-px screen
        rows = [QHBoxLayout() for _ in range(5)]
        rows[0].addWidget(self.grid_button)
        rows[0].addWidget(self.grid_label, 1)
        rows[1].addWidget(QLabel("Run on:"))
        rows[1].addWidget(self.executor, 1)
        rows[1].addWidget(self.partition, 1)
        rows[1].addWidget(self.start_button)
        rows[2].addWidget(QLabel("Sweep:"))
        rows[2].addWidget(self.sweeps, 1)
        rows[2].addWidget(self.refresh_button)
        for widget in (self.cancel_button, self.resume_button, self.requeue_button):
            rows[3].addWidget(widget)
        rows[3].addStretch(1)
        rows[4].addWidget(self.current_button)
        rows[4].addStretch(1)
        plot_box = QWidget()
        plot_box.setLayout(self.plot_holder)
        self.split = split = QSplitter(Qt.Orientation.Vertical)
        split.addWidget(self.table)
        split.addWidget(plot_box)
        layout = QVBoxLayout(self)
        for row in rows:
            layout.addLayout(row)
        layout.addWidget(self.summary)
        layout.addWidget(split, 1)

    # ---------------------------------------------------------------------------------------------- contents
    def selected_index(self) -> int | None:
        rows = self.table.selectionModel().selectedRows()
        if not rows:
            return None
        item = self.table.item(rows[0].row(), 0)
        return int(item.data(Qt.ItemDataRole.UserRole)) if item is not None else None

    def _row_picked(self) -> None:
        index = self.selected_index()
        if index is not None:
            self.point_selected.emit(index)

    def select_point(self, index: int) -> None:
        for row in range(self.table.rowCount()):
            item = self.table.item(row, 0)
            if item is not None and item.data(Qt.ItemDataRole.UserRole) == index:
                self.table.selectRow(row)
                return

    def show_sweep(self, record: SweepRecord | None, results: list[PointResult]) -> None:
        """Fill the table and the plot (keeps the selected point selected)."""
        selected = self.selected_index()
        self.results = list(results)
        if record is None:
            self.summary.setText("No sweep yet: choose a grid file and start one.")
        else:
            counts = ", ".join(f"{n} {s}" for s, n in record.counts().items() if n)
            where = record.executor.get("where") or "this machine"
            best = next((r for r in results if r.best), None)
            self.summary.setText(
                f"Sweep {record.id} of iteration {record.iteration} on {where}: {record.status} "
                f"({counts})." + (f" Best: {best.label}." if best else "")
            )
        progress = {p.index: p for p in record.points} if record else {}
        self.table.setRowCount(len(results))
        for row, result in enumerate(results):
            state = progress.get(result.index)
            tail = (state.error if state and state.status in ("failed", "cancelled") else state.build) if state else ""
            cells = [
                ("★ " if result.best else "") + result.label,
                result.status,
                f"{100 * (state.progress if state else 0.0):.0f}%"
                + (f" {state.message}" if state and state.status == "running" else ""),
                f"{result.fps:,.0f}" if result.fps is not None else "",
                f"{result.lut_pct:.1f}" if result.lut_pct is not None else "",
                f"{100 * result.accuracy:.1f}%" if result.accuracy is not None else "",
                "" if result.keeps_up is None else ("yes" if result.keeps_up else "no"),
                tail or "",
            ]
            for col, text in enumerate(cells):
                item = QTableWidgetItem(text)
                if col == 0:
                    item.setData(Qt.ItemDataRole.UserRole, result.index)
                self.table.setItem(row, col, item)
        if selected is not None:
            self.select_point(selected)
        if results and not self._sized:  # once: later refreshes keep the widths the user set
            self.table.resizeColumnsToContents()
            self._sized = True
        self._draw()

    # ----------------------------------------------------------------------------------------------- plot
    def _ensure_plot(self):
        if self.plot is None:
            import pyqtgraph as pg

            pg.setConfigOptions(antialias=True, background="w", foreground="k")
            self.plot = pg.PlotWidget()
            self.plot.setObjectName("sweepPareto")
            self.plot.setMenuEnabled(False)
            self.plot.showGrid(x=True, y=True, alpha=0.25)
            self.plot.setLogMode(x=True, y=False)
            self.plot.setLabel("bottom", "FPS (estimated, log)")
            self.plot.setLabel("left", "accuracy (measured)")
            self.plot.setMinimumSize(240, 180)
            self.scatter = pg.ScatterPlotItem(hoverable=True)
            self.scatter.sigClicked.connect(
                lambda _item, points, _ev: points and self.select_point(int(points[0].data()))
            )
            self.plot.addItem(self.scatter)
            self.plot_holder.addWidget(self.plot)
            legend = QLabel(
                "Each point's size: its LUT share (estimated). Black outline: the "
                "Pareto front (accuracy and FPS up, LUT down). ★: the best point."
            )
            legend.setWordWrap(True)  # unwrapped, its one line made the tab 800 px wide: wider than 1280×800 allows
            self.plot_holder.addWidget(legend)
            half = max(sum(self.split.sizes()) // 2, 120)
            self.split.setSizes([half, half])
        return self.plot

    def _draw(self) -> None:
        shown = [r for r in self.results if r.fps is not None and r.fps > 0 and r.accuracy is not None]
        if not shown and self.plot is None:
            return
        import pyqtgraph as pg

        self._ensure_plot()
        spots = []
        for r in shown:
            color = BEST if r.best else FRONT if r.pareto else OTHER
            spots.append(
                {
                    "pos": (math.log10(r.fps or 1.0), r.accuracy),
                    "data": r.index,
                    "size": 8 + 0.4 * (r.lut_pct or 0.0),
                    "symbol": "star" if r.best else "o",
                    "brush": pg.mkBrush(color),
                    "pen": pg.mkPen("k" if r.pareto else color),
                }
            )
        self.scatter.setData(spots)
