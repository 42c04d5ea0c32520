"""One labelled bar per row (pyqtgraph), for the baselines' time and energy per inference."""

from __future__ import annotations

import pyqtgraph as pg


class BarChart(pg.PlotWidget):
    """One value per row as a labelled bar (``set_bars(labels, values, colours)``); None leaves a gap."""

    def __init__(self, title: str, name: str) -> None:
        pg.setConfigOptions(antialias=True, background="w", foreground="k")
        super().__init__()
        self.setObjectName(name)
        self.setMenuEnabled(False)
        self.hideButtons()
        self.setMouseEnabled(x=False, y=False)
        self.setTitle(title)
        self.values: list[float | None] = []

    def set_bars(self, labels: list[str], values: list[float | None], colours: list[str]) -> None:
        self.clear()
        self.values = values
        shown = [(i, v, c) for i, (v, c) in enumerate(zip(values, colours, strict=True)) if v is not None]
        if shown:
            self.addItem(pg.BarGraphItem(x=[i for i, _v, _c in shown], height=[v for _i, v, _c in shown], width=0.6,
                                         brushes=[c for _i, _v, c in shown]))
            for i, value, _c in shown:
                text = pg.TextItem(f"{value:.3g}", anchor=(0.5, 1.0), color="k")
                text.setPos(i, value)
                self.addItem(text)
        self.getAxis("bottom").setTicks([list(enumerate(labels))])
        self.setXRange(-0.6, max(len(labels), 1) - 0.4, padding=0)
