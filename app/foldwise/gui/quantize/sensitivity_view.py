"""Bar charts per layer: the accuracy drop with only that layer quantized (measured) and the weight memory at
the chosen bit widths against float (computed)."""

from __future__ import annotations

from typing import Any

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QLabel, QVBoxLayout, QWidget

GOOD, BAD, FLOAT_GREY, CHOSEN = "#5b9a68", "#d0453a", "#c9ced6", "#4a7fb5"


def short(name: str) -> str:
    """``classifier.fc1`` → ``fc1`` for tick labels (the table shows full names)."""
    return name.rsplit(".", 1)[-1]


class _Bars(QWidget):
    def __init__(self, title: str, left: str, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        pg.setConfigOptions(antialias=True, background="w", foreground="k")
        self.caption = QLabel()
        self.caption.setWordWrap(True)
        self.caption.setTextFormat(Qt.TextFormat.RichText)
        self.caption.setObjectName("barsCaption")
        self.plot = pg.PlotWidget()
        self.plot.setMenuEnabled(False)
        self.plot.hideButtons()
        self.plot.setMouseEnabled(x=False, y=False)
        self.plot.setLabel("left", left)
        self.plot.getAxis("left").enableAutoSIPrefix(False)
        self.plot.showGrid(y=True, alpha=0.2)
        self.plot.setMinimumHeight(150)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(2)
        layout.addWidget(self.caption)
        layout.addWidget(self.plot, 1)
        self.setTitle(title)
        self.items: list[Any] = []

    def setTitle(self, text: str) -> None:
        self.caption.setText(text)

    def _reset(self, names: list[str]) -> None:
        for item in self.items:
            self.plot.removeItem(item)
        self.items = []
        self.plot.getAxis("bottom").setTicks([[(i, short(n)) for i, n in enumerate(names)]])
        self.count = len(names)

    def _add(self, item: Any) -> None:
        self.plot.addItem(item)
        self.items.append(item)

    def _ranges(self, low: float, high: float) -> None:
        """Fixed ranges, set after the items (adding an item re-enables auto-range)."""
        self.plot.disableAutoRange()
        self.plot.setXRange(-0.6, max(self.count, 1) - 0.4, padding=0)
        self.plot.setYRange(low, high, padding=0)


class SensitivityBars(_Bars):
    """``set_rows(rows)`` with sensitivity's ``{"layer", "accuracy", "drop_points"}`` rows."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__("<b>Sensitivity</b>: accuracy drop with only this layer quantized", "drop (points)",
                         parent)
        self.setObjectName("sensitivityBars")
        self.rows: list[dict[str, Any]] = []

    def set_rows(self, rows: list[dict[str, Any]] | None, where: str = "") -> None:
        self.rows = list(rows or [])
        names = [r["layer"] for r in self.rows]
        self._reset(names)
        if not self.rows:
            self.setTitle("<b>Sensitivity</b>: <span style='color:#666'>scan to see each layer's accuracy drop "
                          "when it alone is quantized</span>")
            return
        drops = np.array([r["drop_points"] for r in self.rows], dtype=float)
        brushes = [pg.mkBrush(BAD if d > 0 else GOOD) for d in drops]
        self._add(pg.BarGraphItem(x=np.arange(len(drops)), height=drops, width=0.6, brushes=brushes,
                                  pen=pg.mkPen(None)))
        for i, drop in enumerate(drops):
            text = pg.TextItem(f"{drop:+.1f}", anchor=(0.5, 1.0 if drop >= 0 else 0.0), color="#333")
            text.setPos(i, drop)
            self._add(text)
        top = max(float(np.abs(drops).max()), 0.5) * 1.3
        self._ranges(min(0.0, float(drops.min()) * 1.3), top)
        self.setTitle(f"<b>Sensitivity</b>: accuracy drop in points with only this layer quantized "
                      f"<i>(measured{where})</i>")


class MemoryBars(_Bars):
    """Weight memory per layer: float 32-bit (grey) and at the chosen bits (blue), both computed."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__("<b>Weight memory</b> <i>(computed)</i>", "MB", parent)
        self.setObjectName("memoryBars")
        self.chosen: list[float] = []

    def set_layers(self, names: list[str], float_mb: list[float], chosen_mb: list[float]) -> None:
        self.chosen = list(chosen_mb)
        self._reset(names)
        if not names:
            return
        x = np.arange(len(names))
        self._add(pg.BarGraphItem(x=x - 0.17, height=float_mb, width=0.32, brush=pg.mkBrush(FLOAT_GREY),
                                  pen=pg.mkPen(None)))
        self._add(pg.BarGraphItem(x=x + 0.17, height=chosen_mb, width=0.32, brush=pg.mkBrush(CHOSEN),
                                  pen=pg.mkPen(None)))
        self._ranges(0, max(max(float_mb), 1e-9) * 1.1)
        total, total_float = sum(chosen_mb), sum(float_mb)
        ratio = total_float / total if total else 0.0
        self.setTitle(f"<b>Weight memory</b>: <span style='color:{CHOSEN}'><b>{total:.4g} MB</b> at the chosen "
                      f"bits</span> vs <span style='color:#888'>{total_float:.4g} MB float</span> "
                      f"({ratio:.1f}× smaller) <i>(computed)</i>")
