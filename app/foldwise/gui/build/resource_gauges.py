"""Resource gauges: LUT, BRAM18, DSP and URAM used against the board's capacity, with the budget marked (and
the DRAM bandwidth of weights streamed from DRAM against the board's peak, when a layer's are).

Green within the budget (85 % by default), amber over it, red over 100 % of the device; the source of the
figure (estimated / synthesized) is written under each bar.
"""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import QRectF, QSize, Qt
from PySide6.QtGui import QColor, QPainter, QPaintEvent, QPen
from PySide6.QtWidgets import QHBoxLayout, QSizePolicy, QWidget

from foldwise.core.finn.reports import DRAM

#: (report key, title) in display order; DRAM (MB/s of weights streamed in) shows only when a layer's weights
#: are external
GAUGES = (("LUT", "LUT"), ("BRAM_18K", "BRAM18"), ("DSP", "DSP"), ("URAM", "URAM"), (DRAM, "DRAM MB/s"))
COLOURS = {"ok": QColor("#3a9d5d"), "over_budget": QColor("#d68a00"), "over_capacity": QColor("#c0392b"),
           "none": QColor("#b8bec6")}
TRACK = QColor("#e6eaef")


def _k(value: float) -> str:
    return f"{value / 1000:.1f}k" if value >= 10_000 else f"{value:,.0f}"


class ResourceGauge(QWidget):
    """One resource: a bar filled to used/capacity, a tick at the budget, numbers and the source label."""

    def __init__(self, key: str, title: str, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.key = key
        self.title = title
        self.setObjectName(f"gauge_{key}")
        self.used: float | None = None
        self.capacity = 0
        self.budget = 0.85
        self.source = ""
        self.state = "none"
        self.stale = False
        self.stale_note = "updating…"
        self.setMinimumSize(90, 56)  # four in a row beside the left column at 1280 px
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Fixed)

    def sizeHint(self) -> QSize:
        return QSize(220, 58)

    @property
    def fraction(self) -> float | None:
        if self.used is None or not self.capacity:
            return None
        return self.used / self.capacity

    def set_value(self, used: float | None, capacity: int, budget: float = 0.85, source: str = "",
                  stale: bool = False) -> None:
        self.used, self.capacity, self.budget, self.source, self.stale = used, capacity, budget, source, stale
        if used is None:
            self.state = "none"
        elif not capacity:
            self.state = "over_capacity" if used > 0 else "none"
        elif used > capacity:
            self.state = "over_capacity"
        elif used > budget * capacity:
            self.state = "over_budget"
        else:
            self.state = "ok"
        self.setToolTip(self.text())
        self.update()

    def text(self) -> str:
        if self.used is None:
            return f"{self.title}: no estimate yet"
        if not self.capacity:
            return f"{self.title}: {self.used:,.0f} used; the device has none"
        verdict = {"ok": "within the budget", "over_budget": f"over the {self.budget:.0%} budget",
                   "over_capacity": "more than the device has"}[self.state]
        return (f"{self.title}: {self.used:,.0f} of {self.capacity:,} ({100 * (self.fraction or 0):.1f} %), "
                f"{verdict} ({self.source})")

    def _numbers(self, compact: bool) -> str:
        if self.used is None:
            return "no estimate yet"
        if not self.capacity:
            return f"{self.used:,.0f} · none on device"
        if compact:
            return f"{_k(self.used)} / {_k(self.capacity)}"
        return f"{self.used:,.0f} / {self.capacity:,}"

    def _note(self) -> str:
        if self.stale:
            return self.stale_note
        if self.state == "over_budget":
            return f"over {self.budget:.0%}"
        if self.state == "over_capacity":
            return "does not fit"
        return self.source

    def paintEvent(self, event: QPaintEvent) -> None:
        p = QPainter(self)
        p.setRenderHint(QPainter.RenderHint.Antialiasing)
        w = self.width()
        left = Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter
        right = Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter
        font = p.font()
        font.setBold(True)
        p.setFont(font)
        p.setPen(self.palette().windowText().color())
        p.drawText(QRectF(0, 0, w, 18), left, self.title)  # line 1: title, percent in the state's colour
        frac = self.fraction
        if frac is not None:
            p.setPen(COLOURS[self.state].darker(115) if self.state != "ok" else self.palette().windowText().color())
            p.drawText(QRectF(0, 0, w, 18), right, f"{100 * frac:.1f} %")
        bar = QRectF(0, 21, w - 1, 12)  # line 2: the bar and the budget tick
        p.setPen(Qt.PenStyle.NoPen)
        p.setBrush(TRACK)
        p.drawRoundedRect(bar, 4, 4)
        if frac is not None or self.state == "over_capacity":
            fill = QRectF(bar)
            fill.setWidth(bar.width() * min(frac if frac is not None else 1.0, 1.0))
            colour = QColor(COLOURS[self.state])
            if self.stale:
                colour.setAlpha(110)
            p.setBrush(colour)
            if fill.width() > 0.5:
                p.drawRoundedRect(fill, 4, 4)
        if self.capacity:
            x = bar.left() + bar.width() * self.budget
            p.setPen(QPen(QColor("#39424e"), 1.5, Qt.PenStyle.DashLine))
            p.drawLine(int(x), int(bar.top()) - 2, int(x), int(bar.bottom()) + 2)
        small = p.font()  # line 3: used / capacity, and the source (or what is wrong)
        small.setBold(False)
        small.setPointSizeF(max(small.pointSizeF() - 1.0, 7))
        p.setFont(small)
        metrics = p.fontMetrics()
        note = self._note()
        numbers = self._numbers(compact=False)
        if metrics.horizontalAdvance(f"{numbers}   {note}") > w:
            numbers = self._numbers(compact=True)
        p.setPen(self.palette().windowText().color())
        p.drawText(QRectF(0, 37, w, 18), left, numbers)
        if metrics.horizontalAdvance(f"{numbers}   {note}") <= w:
            if self.stale:
                colour = "#7f8c8d"
            elif self.state in ("over_budget", "over_capacity"):
                colour = "#b03a2e"
            else:
                colour = "#7a4d00" if self.source == "estimated" else "#555555"
            p.setPen(QColor(colour))
            p.drawText(QRectF(0, 37, w, 18), right, note)
        p.end()


class ResourceGauges(QWidget):
    """The gauges side by side."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.gauges = {key: ResourceGauge(key, title) for key, title in GAUGES}
        self.gauges[DRAM].hide()
        layout = QHBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(18)
        for gauge in self.gauges.values():
            layout.addWidget(gauge)

    def set_report(self, report: Any, capacity: dict[str, int], budget: dict[str, float] | None = None,
                   stale: bool = False) -> None:
        """Fill from a BuildReport (None clears) against ``capacity`` (``Board.capacity()``, and ``DRAM``: the
        board's peak MB/s)."""
        budget = budget or {}
        for key, gauge in self.gauges.items():
            if key == DRAM:
                figure = report.dram_weights if report is not None and capacity.get(key) else None
                gauge.setVisible(figure is not None)  # without the board's peak only the CLI reports it (n/a)
            else:
                figure = report.resources.get(key) if report is not None else None
            gauge.set_value(figure.value if figure else None, int(capacity.get(key, 0)),
                            budget.get(key, 0.85), figure.source if figure else "", stale)

    def set_stale(self, stale: bool, note: str = "updating…") -> None:
        for gauge in self.gauges.values():
            gauge.stale, gauge.stale_note = stale, note
            gauge.update()

    def worst(self) -> str:
        """The worst state over all gauges: over_capacity > over_budget > ok > none."""
        order = ["none", "ok", "over_budget", "over_capacity"]
        return max((g.state for g in self.gauges.values()), key=order.index)
