"""A light graph of the network: one box per layer in data-flow order, selectable in sync with the table."""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import QRectF, Qt, Signal
from PySide6.QtGui import QBrush, QColor, QPainter, QPen
from PySide6.QtWidgets import QGraphicsRectItem, QGraphicsScene, QGraphicsSimpleTextItem, QGraphicsView, QWidget

BOX_W, BOX_H, GAP = 190.0, 40.0, 18.0
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
    def __init__(self, row: dict[str, Any], y: float) -> None:
        super().__init__(QRectF(0, y, BOX_W, BOX_H))
        self.name = row["name"]
        self.setBrush(QBrush(_colour(row["type"])))
        self.setPen(QPen(QColor("#7a8594")))
        self.setFlag(QGraphicsRectItem.GraphicsItemFlag.ItemIsSelectable)
        shape = row.get("output_shape")
        label = QGraphicsSimpleTextItem(f"{row['name']}\n{row['type']} {'×'.join(map(str, shape or []))}", self)
        label.setPos(6, y + 3)
        self.setToolTip(f"{row['name']}: {row['type']}, {row['params']:,} params")


class LayerGraphView(QGraphicsView):
    """Emits ``layer_selected(name)`` on click; ``select_layer(name)`` highlights a box."""

    layer_selected = Signal(str)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("layerGraph")
        self.setScene(QGraphicsScene(self))
        self.setRenderHint(QPainter.RenderHint.Antialiasing)
        self.boxes: dict[str, _LayerBox] = {}
        self.scene().selectionChanged.connect(self._on_selection)
        self._syncing = False

    def set_layers(self, rows: list[dict[str, Any]]) -> None:
        scene = self.scene()
        scene.clear()
        self.boxes = {}
        previous = None
        for i, row in enumerate(rows):
            y = i * (BOX_H + GAP)
            box = _LayerBox(row, y)
            scene.addItem(box)
            self.boxes[row["name"]] = box
            if previous is not None:
                scene.addLine(BOX_W / 2, y - GAP, BOX_W / 2, y, QPen(QColor("#7a8594"), 1.5))
            previous = box
        scene.setSceneRect(scene.itemsBoundingRect().adjusted(-10, -10, 10, 10))

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
        return [item.name for item in self.scene().selectedItems() if isinstance(item, _LayerBox)]

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
