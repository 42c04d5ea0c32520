"""Live QAT curves: loss and accuracy (train, val) per epoch, fed with QATEpoch records as they come."""

from __future__ import annotations

from typing import Any

import pyqtgraph as pg
from PySide6.QtWidgets import QHBoxLayout, QWidget

from foldwise.gui.widgets.axes import epoch_axis, percent_axis

TRAIN, VAL = "#2f6fb0", "#b0562f"


class QatCurves(QWidget):
    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        pg.setConfigOptions(antialias=True, background="w", foreground="k")
        self.setObjectName("qatCurves")
        self.loss_plot = pg.PlotWidget(title="QAT loss (train)", axisItems={"bottom": epoch_axis()})
        self.acc_plot = pg.PlotWidget(title="QAT accuracy (measured)",
                                      axisItems={"bottom": epoch_axis(), "left": percent_axis()})
        for plot in (self.loss_plot, self.acc_plot):
            plot.setLabel("bottom", "epoch")
            plot.showGrid(x=True, y=True, alpha=0.3)
            plot.setMenuEnabled(False)
            plot.setMinimumHeight(170)
        self.acc_plot.addLegend(offset=(-10, -10))
        self.acc_plot.setYRange(0, 1)
        symbol = {"symbol": "o", "symbolSize": 6}
        self.loss = self.loss_plot.plot(pen=pg.mkPen(TRAIN, width=2), symbolBrush=TRAIN, **symbol)
        self.train_acc = self.acc_plot.plot(pen=pg.mkPen(TRAIN, width=2), symbolBrush=TRAIN, name="train", **symbol)
        self.val_acc = self.acc_plot.plot(pen=pg.mkPen(VAL, width=2), symbolBrush=VAL, name="val", **symbol)
        layout = QHBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.loss_plot)
        layout.addWidget(self.acc_plot)
        self.records: list[dict[str, Any]] = []

    def clear(self) -> None:
        self.set_history([])

    def set_history(self, records: list[Any]) -> None:
        self.records = [r if isinstance(r, dict) else r.to_dict() for r in records]
        self._redraw()

    def add_epoch(self, record: Any) -> None:
        """A QATEpoch (or its dict) from the job's partial results."""
        self.records.append(record if isinstance(record, dict) else record.to_dict())
        self._redraw()

    def _redraw(self) -> None:
        epochs = [r["epoch"] for r in self.records]
        self.loss.setData(epochs, [r["loss"] for r in self.records])
        self.train_acc.setData(epochs, [r["train_accuracy"] for r in self.records])
        val = [r for r in self.records if r.get("val_accuracy") is not None]
        self.val_acc.setData([r["epoch"] for r in val], [r["val_accuracy"] for r in val])
