"""Live training curves (loss and accuracy per epoch) with pyqtgraph, updated from a job's partial results."""

from __future__ import annotations

from typing import Any

import pyqtgraph as pg
from PySide6.QtWidgets import QHBoxLayout, QWidget

from foldwise.gui.widgets.axes import epoch_axis, percent_axis


class TrainCurves(QWidget):
    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        pg.setConfigOptions(antialias=True, background="w", foreground="k")
        self.loss_plot = pg.PlotWidget(title="loss", axisItems={"bottom": epoch_axis()})
        self.acc_plot = pg.PlotWidget(title="accuracy (measured)",
                                      axisItems={"bottom": epoch_axis(), "left": percent_axis()})
        for plot in (self.loss_plot, self.acc_plot):
            plot.addLegend(offset=(-10, 10))
            plot.setLabel("bottom", "epoch")
            plot.showGrid(x=True, y=True, alpha=0.3)
        self.acc_plot.setYRange(0, 1)
        self.train_loss = self.loss_plot.plot(pen=pg.mkPen("#2f6fb0", width=2), name="train", symbol="o", symbolSize=5)
        self.val_loss = self.loss_plot.plot(pen=pg.mkPen("#b0562f", width=2), name="val", symbol="o", symbolSize=5)
        self.train_acc = self.acc_plot.plot(pen=pg.mkPen("#2f6fb0", width=2), name="train", symbol="o", symbolSize=5)
        self.val_acc = self.acc_plot.plot(pen=pg.mkPen("#b0562f", width=2), name="val", symbol="o", symbolSize=5)
        layout = QHBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.loss_plot)
        layout.addWidget(self.acc_plot)
        self.records: list[dict[str, Any]] = []
        self.source = ""

    def clear(self) -> None:
        self.records = []
        self.source = ""
        self._redraw()

    def set_history(self, records: list[dict[str, Any]], source: str = "") -> None:
        """Stored epochs; ``source`` names where they come from when it is not the iteration on screen."""
        self.records = list(records)
        self.source = source
        self._redraw()

    def add_epoch(self, record: Any) -> None:
        self.records.append(record if isinstance(record, dict) else vars(record))
        self._redraw()

    def _redraw(self) -> None:
        of = f" · {self.source}" if self.source else ""
        self.loss_plot.setTitle(f"loss{of}")
        self.acc_plot.setTitle(f"accuracy (measured){of}")
        epochs = [r["epoch"] for r in self.records]
        self.train_loss.setData(epochs, [r["train_loss"] for r in self.records])
        self.train_acc.setData(epochs, [r["train_acc"] for r in self.records])
        val = [r for r in self.records if r.get("val_loss") is not None]
        self.val_loss.setData([r["epoch"] for r in val], [r["val_loss"] for r in val])
        self.val_acc.setData([r["epoch"] for r in val], [r["val_acc"] for r in val])
