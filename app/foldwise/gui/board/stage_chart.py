"""Where an image's time goes on the board: pack, copy in, compute, copy out, unpack (pyqtgraph bars, as
:mod:`foldwise.gui.build.cycles_chart`).

The FINN runtime times each stage of a batch; per image they show whether the accelerator (compute) or the
ARM side (packing, DMA copies) is the bottleneck. The slowest stage is drawn in red.
"""

from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QSize
from PySide6.QtWidgets import QLabel, QVBoxLayout, QWidget

BAR = "#4a7ab5"
SLOWEST = "#c0392b"


class StageChart(QWidget):
    """``set_stages([(name, ms per image)], source)``; an empty list clears it."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        pg.setConfigOptions(antialias=True, background="w", foreground="k")
        self.plot = pg.PlotWidget()
        self.plot.setObjectName("stagePlot")
        self.plot.setMenuEnabled(False)
        self.plot.hideButtons()
        self.plot.setMouseEnabled(x=False, y=False)
        self.plot.showGrid(x=True, y=False, alpha=0.25)
        self.plot.getViewBox().invertY(True)
        self.plot.setMinimumHeight(120)
        self.caption = QLabel()
        self.caption.setObjectName("stageCaption")
        self.caption.setWordWrap(True)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.caption)
        layout.addWidget(self.plot, 1)
        self.stages: list[tuple[str, float]] = []
        self.source = ""
        self.bars: pg.BarGraphItem | None = None

    def sizeHint(self) -> QSize:
        return QSize(320, 190)  # pyqtgraph's own hint (600×500) would make the Profile tab scroll at 1280×800

    def hasHeightForWidth(self) -> bool:
        return False  # the wrapped caption would hand the plot's 500 px hint up to the panel's scroll area

    def set_stages(self, stages: list[tuple[str, float]], source: str = "") -> None:
        self.stages, self.source = [(name, float(ms)) for name, ms in stages], source
        self.plot.clear()
        self.bars = None
        if not self.stages:
            self.caption.setText("<i>No per-stage times yet: run the throughput test.</i>")
            self.plot.getAxis("left").setTicks([])
            return
        values = np.array([ms for _, ms in self.stages])
        slowest = int(values.argmax())
        brushes = [SLOWEST if i == slowest else BAR for i in range(len(values))]
        self.bars = pg.BarGraphItem(x0=np.zeros(len(values)), y=np.arange(len(values)), height=0.6, width=values,
                                    brushes=brushes, pens=[pg.mkPen(None)] * len(values))
        self.plot.addItem(self.bars)
        self.plot.getAxis("left").setTicks([[(i, name) for i, (name, _) in enumerate(self.stages)]])
        self.plot.setLabel("bottom", f"ms per image ({source})" if source else "ms per image")
        self.plot.setYRange(-0.6, len(values) - 0.4, padding=0)
        self.plot.setXRange(0, float(values.max()) * 1.1 or 1.0, padding=0)
        name, ms = self.stages[slowest]
        self.caption.setText(f"Per image, batch of one ({source}): <b style='color:{SLOWEST}'>{name}</b> takes "
                             f"longest ({ms:.3g} ms of {values.sum():.3g} ms).")
