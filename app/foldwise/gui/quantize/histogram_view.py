"""Calibration histograms of one layer, like a network-quantizer app: weights, bias and activation side by side,
log counts drawn with ``stepMode="center"``, the range the chosen quantizer can represent shaded green, bins it
clips drawn red and bins it flushes to zero amber, with the clipped and flushed fractions written above."""

from __future__ import annotations

import html
import math
from typing import Any

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QHBoxLayout, QLabel, QVBoxLayout, QWidget

from foldwise.gui.quantize.layer_bits_table import percent

BINS = 128
KEPT, CLIPPED, FLUSHED = "#4a7fb5", "#d0453a", "#e3a21a"
RANGE_BRUSH = (60, 160, 90, 38)
FLUSH_BRUSH = (227, 162, 26, 60)
TITLES = {"weight": "Weights", "bias": "Bias", "act": "Activation"}


def _count_label(count: float) -> str:
    for div, suffix in ((1e9, "G"), (1e6, "M"), (1e3, "k")):
        if count >= div:
            return f"{count / div:g}{suffix}"
    return f"{count:g}"


class LogCountAxis(pg.AxisItem):
    """A y axis over ``log10(1 + count)`` whose ticks read as counts: 0, 1, 10, 100, 1k, ..."""

    def tickValues(self, minVal: float, maxVal: float, size: float) -> list[tuple[float, list[float]]]:
        top = max(math.ceil(maxVal), 1)
        major = [0.0] + [math.log10(1 + 10**k) for k in range(0, top + 1)]
        step = 2 if top > 5 else 1
        return [(1.0, [v for i, v in enumerate(major) if minVal <= v <= maxVal and (i <= 1 or (i - 1) % step == 0)])]

    def tickStrings(self, values: list[float], scale: float, spacing: float) -> list[str]:
        return [_count_label(round(10**v - 1)) for v in values]


class TensorHistogram(QWidget):
    """One tensor: caption (title, quantizer, fractions) over a pyqtgraph plot."""

    def __init__(self, kind: str, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.kind = kind
        self.setObjectName(f"histogram_{kind}")
        self.caption = QLabel()
        self.caption.setObjectName("histogramCaption")
        self.caption.setWordWrap(True)
        self.caption.setTextFormat(Qt.TextFormat.RichText)
        self.plot = pg.PlotWidget(axisItems={"left": LogCountAxis(orientation="left")})
        self.plot.setMinimumHeight(150)
        self.plot.setMouseEnabled(x=True, y=False)
        self.plot.setMenuEnabled(False)
        self.plot.hideButtons()
        item = self.plot.getPlotItem()
        item.showGrid(x=True, y=True, alpha=0.15)
        item.getAxis("left").setWidth(38)
        item.setLabel("left", "count")
        # show_tensor sets both ranges itself: pyqtgraph's auto-range would re-scan every curve on each setData
        # (15+ ms of the GUI thread per plot) only to be overridden.
        item.disableAutoRange()
        # Only the kept bins get an outline: the others' zero runs would draw a coloured line along the axis.
        self.curves = {
            name: self.plot.plot(stepMode="center", fillLevel=0, pen=pg.mkPen(colour, width=1) if outline else None,
                                 brush=pg.mkBrush(colour))
            for name, colour, outline in (("kept", KEPT, True), ("clipped", CLIPPED, False),
                                          ("flushed", FLUSHED, False))
        }
        self.range_region = pg.LinearRegionItem(movable=False, brush=pg.mkBrush(*RANGE_BRUSH),
                                                pen=pg.mkPen((40, 120, 60), width=1, style=Qt.PenStyle.DashLine))
        self.flush_region = pg.LinearRegionItem(movable=False, brush=pg.mkBrush(*FLUSH_BRUSH),
                                                pen=pg.mkPen(None))
        for region in (self.range_region, self.flush_region):
            region.setZValue(-10)
            self.plot.addItem(region)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(2)
        layout.addWidget(self.caption)
        layout.addWidget(self.plot, 1)
        self.entry: Any = None
        self.chosen: Any = None

    def clear(self, text: str = "") -> None:
        self.entry = self.chosen = None
        for curve in self.curves.values():
            curve.setData([], [])
        self.range_region.hide()
        self.flush_region.hide()
        self.caption.setText(f"<b>{TITLES.get(self.kind, self.kind)}</b><br><span style='color:#777'>{text}</span>")

    def show_tensor(self, entry: Any, chosen: Any = None, note: str = "") -> None:
        """Draw ``entry`` (TensorStats); ``chosen`` (inspect.Chosen) gives the range at the chosen bits."""
        from foldwise.core.quantize.stats import histogram

        self.entry, self.chosen = entry, chosen
        quantized = chosen is not None and chosen.enabled
        lo = min(entry.min, chosen.lo) if quantized else entry.min
        hi = max(entry.max, chosen.hi) if quantized else entry.max
        margin = 0.04 * (hi - lo) if hi > lo else 0.5
        edges, counts = histogram(entry, BINS, lo - margin, hi + margin)
        y = np.log10(1.0 + np.asarray(counts, dtype=np.float64))
        parts = {"kept": y, "clipped": np.zeros_like(y), "flushed": np.zeros_like(y)}
        if quantized:
            # Red only for bins wholly outside the range: the bin holding the max straddles ``hi`` and clips nothing.
            outside = (edges[1:] < chosen.lo) | (edges[:-1] > chosen.hi)
            half = chosen.step / 2
            # Amber only where a whole bin lies under half a step, so a fine 8-bit step does not paint 0's bin.
            inside_flush = (edges[:-1] >= -half) & (edges[1:] <= half) & ~outside
            parts = {"kept": np.where(outside | inside_flush, 0.0, y), "clipped": np.where(outside, y, 0.0),
                     "flushed": np.where(inside_flush, y, 0.0)}
            self.range_region.setRegion((chosen.lo, chosen.hi))
            self.range_region.show()
            self.flush_region.setRegion((-half, half))
            self.flush_region.setVisible(half > 0 and lo - margin < half and -half < hi + margin)
        else:
            self.range_region.hide()
            self.flush_region.hide()
        for name, values in parts.items():
            self.curves[name].setData(edges, values)
        self.plot.setXRange(edges[0], edges[-1], padding=0)
        self.plot.setYRange(0, max(float(y.max()), math.log10(11)) * 1.08, padding=0)  # always a "10" tick
        self.caption.setText(self._caption(entry, chosen, note))

    def _caption(self, entry: Any, chosen: Any, note: str) -> str:
        title = f"<b>{TITLES.get(entry.kind, entry.kind)}</b>"
        data = f"data [{entry.min:.3g}, {entry.max:.3g}]"
        self.setToolTip(f"{entry.name}: {data}, {entry.count:,} values")
        if chosen is None or not chosen.enabled:
            why = note or ("stays float (FINN takes float biases)" if entry.kind == "bias" else "not quantized: float")
            return f"{title} · <i>{html.escape(why)}</i><br><span style='color:#555'>{data}</span>"
        q = entry.quant
        shape = ("signed" if chosen.signed else "unsigned") + (", per-channel" if q.per_channel else "")
        scale = "po2" if q.po2 else "float"
        clip_colour = "#b3261e" if chosen.clipped >= 1e-3 else "#222"
        flush_colour = "#9a6700" if chosen.flushed >= 0.1 else "#222"
        widest = " (widest channel)" if q.per_channel else ""
        return (f"{title} · <b>{chosen.bits}-bit</b> {shape} · {scale} scale"
                f"{' · ' + html.escape(note) if note else ''}<br>"
                f"<span style='color:#2c6e3f'>range [{chosen.lo:.3g}, {chosen.hi:.3g}]{widest}</span> "
                f"step {chosen.step:.3g}<br>"
                f"<span style='color:{clip_colour}'>clipped <b>{html.escape(percent(chosen.clipped))}</b></span> · "
                f"<span style='color:{flush_colour}'>flushed to 0 <b>{html.escape(percent(chosen.flushed))}</b></span>")


class LayerHistograms(QWidget):
    """Weights, bias and activation of one layer side by side (an empty slot says why)."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        pg.setConfigOptions(antialias=True, background="w", foreground="k")
        self.setObjectName("layerHistograms")
        self.weight = TensorHistogram("weight")
        self.bias = TensorHistogram("bias")
        self.act = TensorHistogram("act")
        self.header = QLabel()
        self.header.setObjectName("histogramHeader")
        self.legend = QLabel(
            f"<span style='color:#2c6e3f'>■</span> representable range &nbsp;"
            f"<span style='color:{CLIPPED}'>■</span> clipped &nbsp;<span style='color:{FLUSHED}'>■</span> "
            "flushed to 0 &nbsp;<span style='color:#777'>log counts, measured on the calibration images</span>")
        self.legend.setObjectName("histogramLegend")
        self.legend.setWordWrap(True)
        top = QHBoxLayout()
        top.addWidget(self.header, 1)
        top.addWidget(self.legend)
        plots = QHBoxLayout()
        plots.addWidget(self.weight, 3)
        plots.addWidget(self.bias, 2)
        plots.addWidget(self.act, 3)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 4, 0, 0)
        layout.addLayout(top)
        layout.addLayout(plots, 1)
        self.layer: str | None = None
        self.clear()

    def clear(self, text: str = "no calibration statistics") -> None:
        self.layer = None
        self.header.setText("")
        for view in (self.weight, self.bias, self.act):
            view.clear(text)

    def show_layer(self, view: Any, config: Any) -> None:
        """Draw ``view`` (inspect.LayerView) with the ranges ``config``'s bit widths give."""
        for draw in self.layer_steps(view, config).values():
            draw()

    def layer_steps(self, view: Any, config: Any) -> dict[str, Any]:
        """``show_layer`` as one callable per plot ({"weight", "bias", "act"}), in drawing order, so a caller can
        draw them in separate turns of the event loop (each plot then repaints on its own)."""
        from foldwise.core.quantize import inspect as qi

        self.layer = view.name
        self.header.setText(f"<b>{html.escape(view.name)}</b>")

        def weight() -> None:
            if view.weight is not None:
                self.weight.show_tensor(view.weight, qi.chosen_weight(view, config))
            else:
                self.weight.clear("no weights (activation only)")

        def bias() -> None:
            if view.bias is not None:
                self.bias.show_tensor(view.bias)
            else:
                self.bias.clear("no bias")

        def act() -> None:
            acts = qi.chosen_acts(view, config)
            if acts:
                extra = f"+{len(acts) - 1} more" if len(acts) > 1 else ""
                self.act.show_tensor(acts[0].entry, acts[0], extra)
            else:
                self.act.clear("no activation quantizer on this output")

        return {"weight": weight, "bias": bias, "act": act}
