"""Axes that read the way the cards around them do: epochs as whole numbers, accuracy as a percentage.

pyqtgraph picks "nice" tick spacings for any float range, so a two-epoch run gets ticks at 1.0, 1.5, 2.0 and an
accuracy plot reads 0.8–1.0 while every card beside it says 97.40 %. The data stay as they are (epochs, 0–1
fractions); only the ticks change.
"""

from __future__ import annotations

import math

import pyqtgraph as pg


class EpochAxis(pg.AxisItem):
    """Ticks only on whole numbers (an epoch 1.5 does not exist), at least one apart."""

    def tickSpacing(self, minVal: float, maxVal: float, size: float) -> list[tuple[float, float]]:
        levels = super().tickSpacing(minVal, maxVal, size)
        whole = sorted({float(math.ceil(spacing)) for spacing, _offset in levels if spacing >= 1}, reverse=True)
        return [(spacing, 0.0) for spacing in whole] or [(1.0, 0.0)]

    def tickStrings(self, values: list[float], scale: float, spacing: float) -> list[str]:
        return [f"{round(v):d}" for v in values]


class PercentAxis(pg.AxisItem):
    """An axis over 0–1 fractions whose ticks read as percentages ("97.5 %"), as the figure cards do; with
    ``percent`` False (a chart that switches figures) it reads as a plain axis."""

    percent = True

    def tickStrings(self, values: list[float], scale: float, spacing: float) -> list[str]:
        if not self.percent:
            return super().tickStrings(values, scale, spacing)
        step = abs(spacing) * 100 or 1.0
        decimals = max(0, -math.floor(math.log10(step) + 1e-9))
        return [f"{100 * v:.{decimals}f} %" for v in values]


def epoch_axis() -> EpochAxis:
    return EpochAxis(orientation="bottom")


def percent_axis() -> PercentAxis:
    return PercentAxis(orientation="left")
