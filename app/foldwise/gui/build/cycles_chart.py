"""Per-node cycles as horizontal bars (pyqtgraph ``BarGraphItem``), the bottleneck in red.

FINN's throughput is set by the slowest node (FPS = clock / max cycles), so the chart answers "which node do I
unfold next"; a dashed line marks the cycles a target FPS allows. Clicking a bar selects the node.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import Qt, QTimer, Signal
from PySide6.QtGui import QFont, QFontMetrics
from PySide6.QtWidgets import QCheckBox, QHBoxLayout, QLabel, QVBoxLayout, QWidget

from foldwise.gui.build.folding_table import short_name

BAR = "#4a7ab5"
BOTTLENECK = "#c0392b"
STALE = "#b8bec6"


def labelled_rows(values: list[int], bottleneck: int | None, capacity: int) -> list[int]:
    """Rows to name when only ``capacity`` labels fit one above the other: all if they fit, else the
    bottleneck first, then the slowest nodes, each kept apart from the ones already named."""
    n = len(values)
    if n <= capacity:
        return list(range(n))
    gap = math.ceil(n / max(capacity, 1))
    order = sorted(range(n), key=lambda i: (i != bottleneck, -values[i], i))
    chosen: list[int] = []
    for i in order:
        if len(chosen) >= capacity:
            break
        if all(abs(i - j) >= gap for j in chosen):
            chosen.append(i)
    return sorted(chosen)


@dataclass
class _Rows:
    """The y range (``top`` to ``bottom``, in rows) and how many rows may carry a label."""

    top: float
    bottom: float
    capacity: int


class CyclesChart(QWidget):
    """``set_data(names, cycles, bottleneck)``; ``node_clicked(name)`` when a bar is clicked."""

    node_clicked = Signal(str)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        pg.setConfigOptions(antialias=True, background="w", foreground="k")
        self.plot = pg.PlotWidget()
        self.plot.setObjectName("cyclesPlot")
        self.plot.setMenuEnabled(False)
        self.plot.hideButtons()
        self.plot.setMouseEnabled(x=False, y=False)
        self.plot.showGrid(x=True, y=False, alpha=0.25)
        self.plot.getViewBox().invertY(True)
        self.plot.setLabel("bottom", "cycles per frame (estimated)")
        self.log_box = QCheckBox("log scale")
        self.log_box.setToolTip("Log scale shows small nodes next to a dominant bottleneck")
        self.log_box.toggled.connect(lambda _on: self._draw())
        self.caption = QLabel()
        self.caption.setObjectName("cyclesCaption")
        self.caption.setWordWrap(True)  # a long bottleneck sentence must not set the panel's minimum width
        top = QHBoxLayout()
        top.addWidget(self.caption, 1)
        top.addWidget(self.log_box)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addLayout(top)
        layout.addWidget(self.plot)
        self.names: list[str] = []
        self.values: list[int] = []
        self.bottleneck: str | None = None
        self.stale = False
        self.stale_note = "re-estimating…"
        self.target_cycles: float | None = None
        self.target_fps: float | None = None
        self.target_line: pg.InfiniteLine | None = None
        self.bars: pg.BarGraphItem | None = None
        self.labels: list[pg.TextItem] = []  # reused across redraws: making 10+ TextItems costs ~40 ms each time
        self.brushes: list[str] = []
        self._capacity = 0
        self._fitted = (0.0, 0.0)  # the plot size the ranges were fitted to (the labels need room)
        self.plot.scene().sigMouseClicked.connect(self._scene_clicked)
        # The left axis widens to the names it shows, narrowing the plot without resizing this widget.
        # A resize (of this widget or of the plot inside it) refits the labels once the layout has settled: a
        # redraw from inside the layout pass would run within the redraw that changed the axis.
        self._refit = QTimer(self)
        self._refit.setSingleShot(True)
        self._refit.setInterval(0)
        self._refit.timeout.connect(self._relabel_if_needed)
        self.plot.getViewBox().sigResized.connect(lambda _box: self._refit.start())
        self._small = QFont(self.font())
        self._small.setPointSizeF(max(self.font().pointSizeF() - 1.5, 7.0))
        self.plot.getAxis("left").setStyle(tickFont=self._small)
        self.plot.getAxis("bottom").setStyle(tickFont=self._small)

    @property
    def bottleneck_index(self) -> int | None:
        return self.names.index(self.bottleneck) if self.bottleneck in self.names else None

    def set_data(self, names: list[str], cycles: list[int], bottleneck: str | None, *, stale: bool = False,
                 target_cycles: float | None = None, target_fps: float | None = None) -> None:
        """``target_cycles``: the cycles per frame the clock allows at the target frame rate ``target_fps``
        (a dashed line; a bar past it is too slow)."""
        self.names, self.values, self.bottleneck = list(names), [int(c) for c in cycles], bottleneck
        self.stale, self.target_cycles, self.target_fps = stale, target_cycles, target_fps
        self._draw()

    def set_stale(self, stale: bool, note: str = "re-estimating…") -> None:
        if stale != self.stale or note != self.stale_note:
            self.stale, self.stale_note = stale, note
            self._draw()

    def clear(self) -> None:
        self.set_data([], [], None)

    def _x(self, value: float) -> float:
        return math.log10(max(value, 1.0)) if self.log_box.isChecked() else float(value)

    def _label(self, k: int) -> pg.TextItem:
        """The ``k``-th value label, made (and added to the plot) on first use."""
        while len(self.labels) <= k:
            # A light backing keeps the figure legible where it crosses the target line or a longer bar.
            label = pg.TextItem("", color="#333333", anchor=(0, 0.5), fill=pg.mkBrush(255, 255, 255, 170))
            label.setFont(self._small)
            label.setZValue(5)  # above the target line
            label.textItem.document().setDocumentMargin(1)  # the default 4 px would space the rows apart more
            self.plot.addItem(label)
            self.labels.append(label)
        return self.labels[k]

    def _draw(self) -> None:
        for item in (self.bars, self.target_line):
            if item is not None:
                self.plot.removeItem(item)
        self.bars, self.target_line = None, None
        for label in self.labels:
            label.hide()
        n = len(self.names)
        self.plot.setVisible(bool(n))
        if not n:
            self.plot.getAxis("left").setTicks([])
            self.caption.setText("<i>No estimate yet: per-node cycles show here.</i>")
            return
        widths = np.array([self._x(v) for v in self.values])
        self.brushes = [STALE if self.stale else (BOTTLENECK if name == self.bottleneck else BAR)
                        for name in self.names]
        self.bars = pg.BarGraphItem(x0=np.zeros(n), y=np.arange(n), height=0.62, width=widths,
                                    brushes=self.brushes, pens=[pg.mkPen(None)] * n)
        self.plot.addItem(self.bars)
        # A target far beyond the slowest bar would squash every bar to a sliver: then the caption says where it is.
        far = bool(self.target_cycles) and self.target_cycles > 3 * max(self.values)
        target_x = self._x(self.target_cycles) if self.target_cycles and not far else 0.0
        top = max(widths.max(), target_x) or 1.0
        band = bool(self.target_cycles) and not far  # room above the first bar for the target line's label
        rows = self._row_layout(band)
        self._capacity = rows.capacity
        named = labelled_rows(self.values, self.bottleneck_index, self._capacity)
        for k, i in enumerate(named):
            self._label(k).setText(f"{self.values[i]:,}")
        right = self._right_edge(top, max((self.labels[k].textItem.boundingRect().width()
                                           for k in range(len(named))), default=0.0))
        pad = (right - top) * 0.05 if right > top else top * 0.01
        for k, i in enumerate(named):
            self.labels[k].setPos(widths[i] + pad, i)
            self.labels[k].show()
        if self.target_cycles and not far:
            label = f"target {self.target_fps:,.0f} fps" if self.target_fps else "target"
            self.target_line = pg.InfiniteLine(pos=self._x(self.target_cycles), angle=90,
                                               pen=pg.mkPen("#39424e", width=1.5, style=Qt.PenStyle.DashLine),
                                               label=label, labelOpts={"position": 0.0, "color": "#39424e",
                                                                       "fill": (255, 255, 255, 220),
                                                                       "anchors": [(0.5, 0.0), (0.5, 0.0)]})
            self.target_line.label.setFont(self._small)
            self.target_line.label.textItem.document().setDocumentMargin(1)  # as tall as the band kept for it
            self.plot.addItem(self.target_line)
        axis = self.plot.getAxis("left")
        # Every bar keeps a tick; only the rows that fit are named (the table and tooltips name the rest).
        axis.setTicks([[(i, short_name(self.names[i])) for i in named], [(i, "") for i in range(n)]])
        bottom = self.plot.getAxis("bottom")
        if self.log_box.isChecked():
            # One tick per decade, or per few decades when their labels would touch on a narrow plot.
            widest = QFontMetrics(self._small).horizontalAdvance(f"{10 ** math.ceil(top):,}") + 8
            per_decade = self.plot.getViewBox().width() / right if right > 0 else widest
            stride = max(1, math.ceil(widest / max(per_decade, 1.0)))
            ticks = [(k, f"{10 ** k:,}") for k in range(0, math.ceil(top) + 1, stride)]
            bottom.setTicks([ticks])
        else:
            bottom.setTicks(None)
        self.plot.setXRange(0, right, padding=0)
        self.plot.setYRange(rows.top, rows.bottom, padding=0)
        if self.stale:
            self.caption.setText(f"<i>{self.stale_note}</i>")
        elif self.bottleneck is not None:
            worst = max(self.values)
            text = (f"Bottleneck <b style='color:{BOTTLENECK}'>{self.bottleneck}</b>: {worst:,} cycles per frame "
                    "sets the frame rate. Unfold it (raise PE/SIMD) to go faster.")
            if self.target_cycles:
                allowed = f"The target{self._target_name()} allows {self.target_cycles:,.0f} cycles per frame"
                verdict = "every node keeps up" if worst <= self.target_cycles else "the red bar is too slow"
                text += f" {allowed}, off the chart: {verdict}." if far else f" {allowed} (dashed line): {verdict}."
            self.caption.setText(text)

    def _target_name(self) -> str:
        return f" ({self.target_fps:,.0f} fps)" if self.target_fps else ""

    def _line_height(self) -> float:
        """How tall one row's label is: the taller of a node name (axis font) and a value label (with margins)."""
        return max(QFontMetrics(self._small).height() + 1.0, self._label(0).textItem.boundingRect().height())

    def _row_layout(self, band: bool = False) -> _Rows:
        """The y range and how many rows can carry a label without two labels touching: the first and last
        bars keep half a label of margin inside the plot, and ``band`` keeps one label's height above the first
        bar free (for the target line's label)."""
        n, line = len(self.names), self._line_height()
        height = self.plot.getViewBox().height() if self.plot.isVisible() else n * line * 2 + line * band
        free = max(height - line * band, 1.0)
        pitch = (free - line) / (n - 1) if n > 1 else free
        if pitch <= 0:  # not even one label fits: name the bottleneck only
            return _Rows(-0.6, n - 0.4, 1)
        if n == 1 or 0.6 * pitch > line / 2:  # the bars' own margin (0.6 rows) already holds half a label
            pitch = free / (n + 0.2)
        margin = max(line / 2, 0.6 * pitch)
        capacity = max(n // max(math.ceil(line / pitch), 1), 1)
        return _Rows(-(margin + line * band) / pitch, n - 1 + margin / pitch, capacity)

    def _right_edge(self, top: float, label_px: float) -> float:
        """The x range's end that leaves room, right of the longest bar, for a value label ``label_px`` wide."""
        box = self.plot.getViewBox()
        self._fitted = (box.width(), box.height())
        room = 1.0 - (label_px + 6.0) / self._fitted[0] if self._fitted[0] > 1 else 0.86
        return top / max(room, 0.3)

    def resizeEvent(self, event: object) -> None:
        super().resizeEvent(event)  # type: ignore[arg-type]
        self._refit.start()

    def showEvent(self, event: object) -> None:
        super().showEvent(event)  # type: ignore[arg-type]
        self._refit.start()

    def _relabel_if_needed(self) -> None:
        box = self.plot.getViewBox()
        if self.names and (abs(box.width() - self._fitted[0]) > 2 or abs(box.height() - self._fitted[1]) > 2):
            self._draw()

    def _scene_clicked(self, event: object) -> None:
        if not self.names:
            return
        pos = event.scenePos()  # type: ignore[attr-defined]
        if not self.plot.sceneBoundingRect().contains(pos):
            return
        row = round(self.plot.getViewBox().mapSceneToView(pos).y())
        if 0 <= row < len(self.names):
            self.node_clicked.emit(self.names[row])
