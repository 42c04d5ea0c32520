"""What a pyqtgraph axis draws: its tick labels as text with their rectangles in scene coordinates."""

from __future__ import annotations

from PySide6.QtCore import QRectF
from PySide6.QtGui import QImage, QPainter


def tick_labels(axis) -> list[tuple[str, QRectF]]:
    """(text, scene rect) of every tick label ``axis`` would paint now (pyqtgraph's own draw specs)."""
    image = QImage(8, 8, QImage.Format.Format_ARGB32)
    painter = QPainter(image)
    try:
        specs = axis.generateDrawSpecs(painter)
    finally:
        painter.end()
    if specs is None:
        return []
    return [(text, axis.mapRectToScene(rect)) for rect, _flags, text in specs[2] if text]


def tick_texts(axis) -> list[str]:
    return [text for text, _rect in tick_labels(axis)]
