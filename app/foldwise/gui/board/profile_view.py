"""The Board panel's Profile tab: how the current iteration ran on the selected board, and the history.

The latest finished throughput run: FPS and latency next to FINN's estimate for the same build with the ratio
board / estimate, every figure with its source label; the per-stage times (a bar chart) and the per-batch table;
the latest validation (the board's accuracy, the host's quantized network, their agreement); then one row per
iteration of the project that ran on this board, exportable as CSV. Everything is read from the run records
(:mod:`foldwise.core.board.history`), so the view needs no connection to the board.
"""

from __future__ import annotations

import html
from pathlib import Path
from typing import Any

from PySide6.QtCore import QSize, Qt
from PySide6.QtWidgets import (
    QAbstractItemView,
    QFileDialog,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QPushButton,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from foldwise.core.board.history import (
    STAGES,
    HistoryRow,
    LatestRuns,
    board_history,
    latest_runs,
    write_history_csv,
)
from foldwise.core.board.runs import Figure, RunRecord
from foldwise.core.errors import FoldwiseError
from foldwise.core.project import Project
from foldwise.core.protocol import where
from foldwise.gui import errors

FIGURE_COLUMNS = ["", "On the board", "FINN estimate", "Board / estimate"]
BATCH_COLUMNS = [("batch_size", "batch"), ("runtime[ms]", "runtime [ms]"),
                 ("throughput[images/s]", "images/s")] + [(f"{key}[ms]", f"{name} [ms]") for key, name in STAGES]
HISTORY_HEADERS = ["Iteration", "When", "Build", "FPS", "Latency [ms]", "Accuracy", "Source", "FPS estimated",
                   "Board / estimate"]


def figure_text(figure: Figure | None) -> str:
    """``value unit (source)``, or an en dash when there is no such figure."""
    if figure is None:
        return "–"
    if figure.unit == "fraction":
        return f"{figure.value:.2%} ({figure.source})"
    if figure.unit == "×":
        return f"{figure.value:.3g}× ({figure.source})"
    value = f"{figure.value:,.1f}" if figure.value >= 100 else f"{figure.value:.4g}"
    return f"{value} {figure.unit} ({figure.source})"


def _ratio(run: RunRecord, name: str) -> Figure | None:
    """Board / estimate for ``name``: the stored ratio, else computed from the two figures."""
    stored = run.figures.get(f"{name}_ratio")
    if stored is not None:
        return stored
    value, estimate = run.figures.get(name), run.figures.get(f"{name}_estimated")
    if value is None or estimate is None or not estimate.value:
        return None
    return Figure(value.value / estimate.value, "×", "computed")


class _Table(QTableWidget):
    def sizeHint(self) -> QSize:
        return QSize(320, 130)  # a few rows; the tab then fits 1280×800 without scrolling


def _table(columns: list[str], name: str) -> QTableWidget:
    table = _Table(0, len(columns))
    table.setObjectName(name)
    table.setHorizontalHeaderLabels(columns)
    table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
    table.verticalHeader().hide()
    table.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
    table.horizontalHeader().setStretchLastSection(True)
    return table


def _fill(table: QTableWidget, rows: list[list[str]]) -> None:
    table.setRowCount(len(rows))
    for r, cells in enumerate(rows):
        for c, text in enumerate(cells):
            item = QTableWidgetItem(text)
            item.setToolTip(text)
            table.setItem(r, c, item)


def table_rows(table: QTableWidget) -> list[list[str]]:
    return [[table.item(r, c).text() if table.item(r, c) else "" for c in range(table.columnCount())]
            for r in range(table.rowCount())]


def _number(value: Any, fmt: str) -> str:
    return "" if value is None else fmt.format(value)


class ProfileView(QWidget):
    """:meth:`show_for` (project, board) then :meth:`refresh` whenever the records may have changed."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("profileView")
        self.project: Project | None = None
        self.board: str | None = None
        self.latest = LatestRuns()
        self.history: list[HistoryRow] = []
        self.chart: Any = None  # StageChart, made on first use (pyqtgraph loads then)
        self.heading = QLabel()
        self.heading.setObjectName("profileHeading")
        self.heading.setWordWrap(True)
        self.figures = _table(FIGURE_COLUMNS, "profileFigures")
        self.figures.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.Stretch)
        self.figures.horizontalHeader().setSectionResizeMode(0, QHeaderView.ResizeMode.ResizeToContents)
        self.figures.setFixedHeight(self.figures.horizontalHeader().sizeHint().height()
                                    + 2 * self.figures.verticalHeader().defaultSectionSize() + 6)
        self.figures.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.batches = _table([title for _, title in BATCH_COLUMNS], "profileBatches")
        self.validation = QLabel()
        self.validation.setObjectName("profileValidation")
        self.validation.setWordWrap(True)
        self.history_table = _table(HISTORY_HEADERS, "profileHistory")
        self.history_table.setMinimumHeight(100)
        self.export_button = QPushButton("Export CSV…")
        self.export_button.setObjectName("profileExport")
        self.export_button.setToolTip("The history table as CSV (numbers unrounded)")
        self.export_button.clicked.connect(lambda: self.export_csv())
        self.middle = QHBoxLayout()  # the per-batch table | the per-stage chart (added on first use)
        self.middle.addWidget(self.batches, 3)
        history_bar = QHBoxLayout()
        history_bar.addWidget(QLabel("<b>History on this board</b> (latest run of each iteration)"), 1)
        history_bar.addWidget(self.export_button)
        layout = QVBoxLayout(self)
        layout.addWidget(self.heading)
        layout.addWidget(self.figures)
        layout.addWidget(self.validation)
        layout.addLayout(self.middle, 3)
        layout.addLayout(history_bar)
        layout.addWidget(self.history_table, 2)
        self.refresh()

    def show_for(self, project: Project | None, board: str | None) -> None:
        self.project, self.board = project, board
        self.refresh()

    def _ensure_chart(self) -> Any:
        if self.chart is None:
            from foldwise.gui.board.stage_chart import StageChart  # pyqtgraph loads on first use

            self.chart = StageChart()
            self.middle.addWidget(self.chart, 2)
        return self.chart

    def refresh(self) -> None:
        """Read the run records again and show them."""
        project, board = self.project, self.board
        iteration = project.current if project is not None else None
        try:
            self.latest = latest_runs(iteration, board) if iteration is not None and board else LatestRuns()
            self.history = board_history(project, board) if project is not None and board else []
        except (FoldwiseError, OSError) as exc:
            self.latest, self.history = LatestRuns(), []
            self.heading.setText(html.escape(f"Cannot read the run records: {errors.user_message(exc)}"))
        else:
            self.heading.setText(self._heading(iteration.label if iteration is not None else None))
        self._show_throughput(self.latest.throughput)
        self._show_validation(self.latest.validate)
        _fill(self.history_table, [[row.iteration, row.when, row.build, _number(row.fps, "{:,.1f}"),
                                    _number(row.latency_ms, "{:.4g}"), _number(row.accuracy, "{:.2%}"), row.source,
                                    _number(row.fps_estimated, "{:,.1f}"), _number(row.fps_ratio, "{:.3g}×")]
                                   for row in self.history])
        self.export_button.setEnabled(bool(self.history))

    def _heading(self, iteration: str | None) -> str:
        if not self.board:
            return "<i>Select a board to see how the current iteration ran on it.</i>"
        if iteration is None:
            return "<i>No iteration yet.</i>"
        run = self.latest.throughput or self.latest.validate
        if run is None:
            return html.escape(f"{iteration} has not run on {self.board} yet: Deploy it (Deploy tab).")
        accelerator = run.info.get("accelerator") or run.device_kind
        return html.escape(f"{iteration} on {self.board}: build {run.build or '?'} ({accelerator}), "
                           f"run {run.created}")

    def _show_throughput(self, run: RunRecord | None) -> None:
        if run is None:
            _fill(self.figures, [])
            _fill(self.batches, [])
            if self.chart is not None:
                self.chart.set_stages([])
            return
        f = run.figures
        _fill(self.figures, [["Throughput", figure_text(f.get("fps")), figure_text(f.get("fps_estimated")),
                              figure_text(_ratio(run, "fps"))],
                             ["Latency", figure_text(f.get("latency_ms")), figure_text(f.get("latency_ms_estimated")),
                              figure_text(_ratio(run, "latency_ms"))]])
        _fill(self.batches, [[_number(row.get(key), "{:,}" if key == "batch_size" else "{:.4g}")
                              for key, _ in BATCH_COLUMNS] for row in run.rows])
        stages = [(name, f[f"{key}_ms"].value) for key, name in STAGES if f"{key}_ms" in f]
        source = next((f[f"{key}_ms"].source for key, _ in STAGES if f"{key}_ms" in f), "")
        self._ensure_chart().set_stages(stages, source)

    def _show_validation(self, run: RunRecord | None) -> None:
        if run is None:
            self.validation.setText("<i>No validation run yet (Deploy tab: validate on test images).</i>")
            return
        f = run.figures
        self.validation.setText(html.escape(
            f"Validation on {where({'split': 'test', **run.info}) or 'test images'}: accuracy "
            f"{figure_text(f.get('accuracy'))}, "
            f"host {figure_text(f.get('host_accuracy'))}, agreement {figure_text(f.get('agreement'))}"))

    def figure_rows(self) -> list[list[str]]:
        return table_rows(self.figures)

    def export_csv(self, path: Path | None = None) -> Path | None:
        """Write the history as CSV to ``path`` (asked for when None); the path written, or None."""
        if path is None:
            chosen, _ = QFileDialog.getSaveFileName(self, "Export the board history", f"{self.board}-history.csv",
                                                    "CSV (*.csv)")
            if not chosen:
                return None
            path = Path(chosen)
        try:
            return write_history_csv(self.history, path)
        except OSError as exc:
            errors.show_error(self.window(), "Cannot export the history", exc)
            return None
