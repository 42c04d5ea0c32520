"""Charts of the compare table: one bar per iteration for a chosen figure, and accuracy against FPS with the
Pareto front and the project's target FPS (FPS on a log axis: estimates and board runs differ by orders of
magnitude). Points and bars are coloured by source; clicking one selects its iteration."""

from __future__ import annotations

import math

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import Qt, QTimer, Signal
from PySide6.QtWidgets import QComboBox, QHBoxLayout, QLabel, QVBoxLayout, QWidget

from foldwise.core.compare import COLUMNS, Row, format_value, pareto
from foldwise.gui.compare.table import SOURCE_COLORS
from foldwise.gui.widgets.axes import PercentAxis

FRONT = "#c0392b"
TARGET = "#2c3e50"
SELECTED = "#f1c40f"


def _plot(name: str) -> pg.PlotWidget:
    pg.setConfigOptions(antialias=True, background="w", foreground="k")
    plot = pg.PlotWidget(axisItems={"left": PercentAxis(orientation="left")})
    plot.setObjectName(name)
    plot.setMenuEnabled(False)
    plot.hideButtons()
    plot.showGrid(x=True, y=True, alpha=0.25)
    plot.setMinimumSize(240, 180)
    return plot


class MetricBars(QWidget):
    """One bar per iteration for the figure chosen in ``metric``; ``iteration_clicked(id)`` on a bar."""

    iteration_clicked = Signal(str)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.metric = QComboBox()
        self.metric.setObjectName("barMetric")
        for column in COLUMNS:
            self.metric.addItem(column.title + (f" ({column.unit})" if column.unit else ""), column.key)
        self.metric.currentIndexChanged.connect(lambda _i: self._draw())
        self.plot = _plot("metricBars")
        self.plot.setMouseEnabled(x=False, y=False)
        self.plot.scene().sigMouseClicked.connect(self._clicked)
        top = QHBoxLayout()
        top.addWidget(QLabel("Figure:"))
        top.addWidget(self.metric, 1)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addLayout(top)
        layout.addWidget(self.plot, 1)
        self.rows: list[Row] = []
        self.target_fps: float | None = None
        self.bars: pg.BarGraphItem | None = None

    def set_rows(self, rows: list[Row], target_fps: float | None) -> None:
        self.rows, self.target_fps = list(rows), target_fps
        self._draw()

    def heights(self) -> list[float | None]:
        key = self.metric.currentData()
        return [row.value(key) for row in self.rows]

    def _draw(self) -> None:
        self.plot.clear()
        self.bars = None
        key = self.metric.currentData()
        values = self.heights()
        shown = [(i, v, self.rows[i].cells[key]) for i, v in enumerate(values) if v is not None]
        axis = self.plot.getAxis("bottom")
        axis.setTicks([[(i, row.id) for i, row in enumerate(self.rows)]])
        self.plot.setLabel("left", self.metric.currentText())
        self.plot.getAxis("left").percent = key.endswith("accuracy")  # accuracies are 0–1 fractions
        self.plot.getAxis("left").picture = None  # the ticks' text changes even when their values do not
        self.plot.getAxis("left").update()
        if shown:
            self.bars = pg.BarGraphItem(x=[i for i, _v, _c in shown], height=[v for _i, v, _c in shown], width=0.6,
                                        brushes=[SOURCE_COLORS.get(c.source, "#4a7ab5") for _i, _v, c in shown])
            self.plot.addItem(self.bars)
            for i, v, cell in shown:
                text = pg.TextItem(format_value(key, v, cell.unit), anchor=(0.5, 1.0), color="#333333")
                text.setPos(i, v)
                self.plot.addItem(text)
        if key in ("fps_estimated", "board_fps") and self.target_fps:
            self.plot.addItem(pg.InfiniteLine(self.target_fps, angle=0, label=f"target {self.target_fps:g} FPS",
                                              pen=pg.mkPen(TARGET, style=Qt.PenStyle.DashLine)))
        self.plot.setXRange(-0.6, max(len(self.rows), 1) - 0.4, padding=0)

    def _clicked(self, event) -> None:
        if self.bars is None or not self.rows:
            return
        point = self.plot.getViewBox().mapSceneToView(event.scenePos())
        index = round(point.x())
        value = self.heights()[index] if 0 <= index < len(self.rows) else None
        if value is not None and abs(point.x() - index) <= 0.3 and 0 <= point.y() <= value:
            iteration_id = self.rows[index].id
            QTimer.singleShot(0, lambda: self.iteration_clicked.emit(iteration_id))


class AccuracyFpsScatter(QWidget):
    """Accuracy against FPS, one point per iteration that has both; the Pareto front joined by a line, the
    target FPS as a dashed vertical line; ``iteration_clicked(id)`` when a point is clicked."""

    iteration_clicked = Signal(str)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.plot = _plot("accuracyFpsPlot")
        self.plot.setMouseEnabled(x=False, y=False)
        self.plot.setLogMode(x=True, y=False)
        self.plot.setLabel("bottom", "FPS (board run, else FINN estimate)")
        self.plot.setLabel("left", "test accuracy")
        self.caption = QLabel()
        self.caption.setObjectName("scatterCaption")
        self.caption.setWordWrap(True)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.plot, 1)
        layout.addWidget(self.caption)
        self.rows: list[Row] = []
        self.points: pg.PlotDataItem | None = None
        self.front: list[Row] = []
        self.selected: str | None = None

    def plotted(self) -> list[Row]:
        return [r for r in self.rows if r.value("fps") is not None and r.value("accuracy") is not None]

    def set_rows(self, rows: list[Row], target_fps: float | None, selected: str | None = None) -> None:
        self.rows, self.selected = list(rows), selected
        self.plot.clear()
        self.points = None
        shown = self.plotted()
        self.front = pareto(rows)
        if target_fps:
            self.plot.addItem(pg.InfiniteLine(math.log10(target_fps), angle=90, label=f"target {target_fps:g} FPS",
                                              labelOpts={"position": 0.1, "color": TARGET},
                                              pen=pg.mkPen(TARGET, style=Qt.PenStyle.DashLine)))
        if len(self.front) > 1:
            self.plot.addItem(pg.PlotDataItem([r.value("fps") for r in self.front],
                                              [r.value("accuracy") for r in self.front],
                                              pen=pg.mkPen(FRONT, width=2)))
        if shown:
            front_ids = {r.id for r in self.front}
            self.points = pg.PlotDataItem(
                np.array([r.value("fps") for r in shown]), np.array([r.value("accuracy") for r in shown]),
                pen=None, symbol="o", symbolSize=[14 if r.id == selected else 10 for r in shown],
                symbolBrush=[SOURCE_COLORS.get(r.cell("fps").source, "#4a7ab5") for r in shown],
                symbolPen=[pg.mkPen(SELECTED if r.id == selected else FRONT if r.id in front_ids else "w", width=2)
                           for r in shown],
                data=[r.id for r in shown])
            self.points.sigPointsClicked.connect(self._clicked)
            self.plot.addItem(self.points)
            for r in shown:
                text = pg.TextItem(r.id, anchor=(0.0, 1.0), color="#333333")
                text.setPos(math.log10(r.value("fps")), r.value("accuracy"))
                self.plot.addItem(text)
        self._set_ranges(shown, target_fps)
        missing = len(rows) - len(shown)
        self.caption.setText(
            (f"Pareto front: {', '.join(r.id for r in self.front)}. " if self.front else "")
            + (f"{missing} iteration(s) without both an FPS figure and an accuracy are not shown." if missing else ""))

    def _set_ranges(self, shown: list[Row], target_fps: float | None) -> None:
        """Accuracy from a little below the lowest point to 100 %; FPS a factor of two around the points and
        the target (a single point or equal accuracies would otherwise zoom into rounding noise)."""
        fps = [r.value("fps") for r in shown] + ([target_fps] if target_fps else [])
        accuracy = [r.value("accuracy") for r in shown]
        low = min(accuracy, default=0.0)
        self.plot.setYRange(max(0.0, low - max(0.05, 0.1 * (1.0 - low))), 1.0, padding=0.02)
        if fps:
            self.plot.setXRange(math.log10(min(fps) / 2), math.log10(max(fps) * 2), padding=0)

    def _clicked(self, _item, points, *_event) -> None:
        # Emitted after the click is handled: selecting redraws the plot, which must not delete the item
        # pyqtgraph is still delivering the mouse event to.
        if len(points):
            iteration_id = str(points[0].data())
            QTimer.singleShot(0, lambda: self.iteration_clicked.emit(iteration_id))
