"""Figures with their provenance: every number shows where it came from (estimated, measured, ...) and, for an
accuracy, what it was measured on ("measured · test, 1,000 images": see :mod:`foldwise.core.protocol`)."""

from __future__ import annotations

from typing import Any

from PySide6.QtWidgets import QFrame, QHBoxLayout, QLabel, QVBoxLayout, QWidget

from foldwise.core.protocol import where

TITLES = {
    "params": "Parameters",
    "macs": "MACs",
    "weight_mb": "Weights",
    "accuracy": "Test accuracy",
    "fps": "Throughput",
    "latency_us": "Latency",
}


def format_figure(key: str, figure: dict[str, Any] | None) -> tuple[str, str]:
    """(value text, source) for a stored figure; ('–', '') when absent."""
    if not isinstance(figure, dict) or figure.get("value") is None:
        return "–", ""
    value = figure["value"]
    unit = figure.get("unit", "")
    if key == "accuracy" or key.endswith("_accuracy"):
        text = f"{value:.2%}"
    elif isinstance(value, int):
        text = f"{value:,}"
    elif isinstance(value, float):
        text = f"{value:.4g}"
    else:
        text = str(value)
    return (f"{text} {unit}".strip(), str(figure.get("source", "")))


class FigureCard(QFrame):
    def __init__(self, key: str, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.key = key
        self.setObjectName(f"figure_{key}")
        self.setFrameShape(QFrame.Shape.StyledPanel)
        self.title = QLabel(TITLES.get(key, key))
        self.value = QLabel("–")
        self.value.setObjectName("figureValue")
        self.source = QLabel("")
        self.source.setObjectName("figureSource")
        layout = QVBoxLayout(self)
        layout.setContentsMargins(8, 4, 8, 4)
        layout.addWidget(self.title)
        layout.addWidget(self.value)
        layout.addWidget(self.source)

    def set_figure(self, figure: dict[str, Any] | None, note: str = "") -> None:
        """Show ``figure``; ``note`` (e.g. "what-if") follows its source and what it was measured on."""
        text, source = format_figure(self.key, figure)
        self.value.setText(f"<span style='font-size:15pt'><b>{text}</b></span>")
        measured_on = where(figure) if source else ""
        self.source.setText(" · ".join(part for part in (source, measured_on, note if source else "") if part))
        self.source.setProperty("figureSource", source)
        self.source.style().unpolish(self.source)
        self.source.style().polish(self.source)


class FigureStrip(QWidget):
    def __init__(self, keys: list[str], parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.cards = {key: FigureCard(key) for key in keys}
        layout = QHBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        for card in self.cards.values():
            layout.addWidget(card)
        layout.addStretch(1)

    def set_metrics(self, metrics: dict[str, Any]) -> None:
        for key, card in self.cards.items():
            card.set_figure(metrics.get(key))
