"""A light graph of the network: one box per layer in data-flow order, selectable in sync with the table.

Boxes are as wide as the longest label needs (a layer name is never cut off), and the view zooms: Ctrl+wheel
around the pointer, Ctrl++ / Ctrl+- and Ctrl+0 to fit the whole graph.
"""

from __future__ import annotations

import itertools
from typing import Any

from PySide6.QtCore import QRectF, Qt, Signal
from PySide6.QtGui import QBrush, QColor, QKeySequence, QPainter, QPen
from PySide6.QtWidgets import (
    QGraphicsItem,
    QGraphicsRectItem,
    QGraphicsScene,
    QGraphicsSimpleTextItem,
    QGraphicsView,
    QWidget,
)

BOX_W, BOX_H, GAP = 190.0, 40.0, 18.0  # the smallest box; a longer label widens every box alike
PAD = 6.0
ZOOM_STEP, ZOOM_MIN, ZOOM_MAX = 1.25, 0.1, 8.0
_SELECTIONS = itertools.count(1)
FIT_MIN = 0.6  # a new graph is shrunk to the view's width, but not below this (text stays readable)
_COLOURS = {
    "Conv": "#dbe7f5", "Linear": "#f5e6db", "ReLU": "#e6f5db", "MaxPool": "#efe3f7", "BatchNorm": "#f7f3da",
    "Quant": "#ead9f5", "Dropout": "#eeeeee", "Flatten": "#eeeeee",
}


def _colour(layer_type: str) -> QColor:
    for prefix, colour in _COLOURS.items():
        if prefix in layer_type:
            return QColor(colour)
    return QColor("#f2f2f2")


class _LayerBox(QGraphicsRectItem):
    def __init__(self, row: dict[str, Any]) -> None:
        super().__init__()
        self.name = row["name"]
        self.setBrush(QBrush(_colour(row["type"])))
        self.setPen(QPen(QColor("#7a8594")))
        self.setFlag(QGraphicsRectItem.GraphicsItemFlag.ItemIsSelectable)
        shape = row.get("output_shape")
        self.label = QGraphicsSimpleTextItem(f"{row['name']}\n{row['type']} {'×'.join(map(str, shape or []))}", self)
        self.setToolTip(f"{row['name']}: {row['type']}, {row['params']:,} params")
        self.selected_at = 0  # when it was last selected (a counter), so the newest selection wins

    def itemChange(self, change: QGraphicsItem.GraphicsItemChange, value: Any) -> Any:
        # Before the change: the scene tells the view (selectionChanged) before ItemSelectedHasChanged.
        if change == QGraphicsItem.GraphicsItemChange.ItemSelectedChange and value:
            self.selected_at = next(_SELECTIONS)
        return super().itemChange(change, value)

    def text_size(self) -> tuple[float, float]:
        rect = self.label.boundingRect()
        return rect.width() + 2 * PAD, rect.height() + PAD

    def place(self, y: float, width: float, height: float) -> None:
        self.setRect(QRectF(0, y, width, height))
        self.label.setPos(PAD, y + (height - self.label.boundingRect().height()) / 2)


class LayerGraphView(QGraphicsView):
    """Emits ``layer_selected(name)`` on click; ``select_layer(name)`` highlights a box."""

    layer_selected = Signal(str)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("layerGraph")
        self.setScene(QGraphicsScene(self))
        self.setRenderHint(QPainter.RenderHint.Antialiasing)
        self.setTransformationAnchor(QGraphicsView.ViewportAnchor.AnchorUnderMouse)
        self.setStatusTip("Ctrl+wheel or Ctrl++ / Ctrl+- zooms, Ctrl+0 fits the whole network")
        self.boxes: dict[str, _LayerBox] = {}
        self.scene().selectionChanged.connect(self._on_selection)
        self._syncing = False

    def set_layers(self, rows: list[dict[str, Any]]) -> None:
        scene = self.scene()
        scene.clear()
        self.boxes = {}
        boxes = [_LayerBox(row) for row in rows]
        sizes = [box.text_size() for box in boxes]
        width = max([BOX_W, *(w for w, _h in sizes)])
        height = max([BOX_H, *(h for _w, h in sizes)])
        for i, (row, box) in enumerate(zip(rows, boxes, strict=True)):
            y = i * (height + GAP)
            box.place(y, width, height)
            scene.addItem(box)
            self.boxes[row["name"]] = box
            if i:
                scene.addLine(width / 2, y - GAP, width / 2, y, QPen(QColor("#7a8594"), 1.5))
        scene.setSceneRect(scene.itemsBoundingRect().adjusted(-10, -10, 10, 10))
        self.fit_width()

    def fit_width(self) -> None:
        """Show the boxes' whole width when it fits at ``FIT_MIN`` or more (else at that zoom, scrolling)."""
        self.resetTransform()
        width, room = self.scene().sceneRect().width(), self.viewport().width()
        if width > room > 1:
            self.zoom_by(max(room / width, FIT_MIN))

    # ----------------------------------------------------------------- zoom
    @property
    def zoom(self) -> float:
        return self.transform().m11()

    def zoom_by(self, factor: float) -> None:
        """Scale the view by ``factor``, kept within 10 %–800 %."""
        factor = min(max(self.zoom * factor, ZOOM_MIN), ZOOM_MAX) / self.zoom
        if factor != 1.0:
            self.scale(factor, factor)

    def zoom_to_fit(self) -> None:
        """The whole graph in view (never larger than 100 %)."""
        self.resetTransform()
        rect = self.scene().sceneRect()
        if rect.isEmpty() or self.viewport().width() < 2:
            return
        fit = min(self.viewport().width() / rect.width(), self.viewport().height() / rect.height(), 1.0)
        self.zoom_by(fit)

    def wheelEvent(self, event) -> None:
        if event.modifiers() & Qt.KeyboardModifier.ControlModifier:
            steps = event.angleDelta().y() / 120
            if steps:
                self.zoom_by(ZOOM_STEP**steps)
            event.accept()
            return
        super().wheelEvent(event)

    def keyPressEvent(self, event) -> None:
        ctrl = event.modifiers() & Qt.KeyboardModifier.ControlModifier
        if event.matches(QKeySequence.StandardKey.ZoomIn) or (ctrl and event.key() == Qt.Key.Key_Equal):
            self.zoom_by(ZOOM_STEP)
        elif event.matches(QKeySequence.StandardKey.ZoomOut):
            self.zoom_by(1 / ZOOM_STEP)
        elif ctrl and event.key() == Qt.Key.Key_0:
            self.zoom_to_fit()
        else:
            super().keyPressEvent(event)
            return
        event.accept()

    def select_layer(self, name: str) -> None:
        box = self.boxes.get(name)
        if box is None:
            return
        self._syncing = True
        try:
            self.scene().clearSelection()
            box.setSelected(True)
            self.ensureVisible(box)
        finally:
            self._syncing = False

    def selected_layers(self) -> list[str]:
        """Selected layers, the most recently selected first (the scene's own order follows item addresses)."""
        boxes = [item for item in self.scene().selectedItems() if isinstance(item, _LayerBox)]
        return [box.name for box in sorted(boxes, key=lambda box: -box.selected_at)]

    def _on_selection(self) -> None:
        if self._syncing:
            return
        names = self.selected_layers()
        if names:
            self.layer_selected.emit(names[0])

    def mousePressEvent(self, event) -> None:
        super().mousePressEvent(event)
        if event.button() == Qt.MouseButton.LeftButton:
            self._on_selection()
