"""The layer graph never cuts a label off, and it zooms by Ctrl+wheel and keyboard (issue #14, point 9)."""

from __future__ import annotations

import pytest
from PySide6.QtCore import QPoint, QPointF, Qt
from PySide6.QtGui import QWheelEvent
from PySide6.QtWidgets import QApplication, QGraphicsSimpleTextItem

from foldwise.gui.widgets.graph_view import LayerGraphView

ROWS = [
    {"name": "features.conv1", "type": "Conv2d", "output_shape": [16, 64, 64], "params": 448},
    {"name": "features.block5.depthwise_separable.pointwise_conv", "type": "QuantConv2d",
     "output_shape": [128, 16, 16], "params": 16_512},
    {"name": "classifier.fc", "type": "QuantLinearWithAVeryLongTypeName", "output_shape": [2], "params": 258},
]


@pytest.fixture
def view(qtbot) -> LayerGraphView:
    graph = LayerGraphView()
    qtbot.addWidget(graph)
    graph.resize(260, 300)
    graph.show()
    qtbot.waitExposed(graph)
    graph.set_layers(ROWS)
    return graph


def test_every_label_fits_inside_its_box(view: LayerGraphView) -> None:
    for name, box in view.boxes.items():
        (text,) = [item for item in box.childItems() if isinstance(item, QGraphicsSimpleTextItem)]
        label = text.sceneBoundingRect()
        assert box.sceneBoundingRect().contains(label), (name, label, box.sceneBoundingRect())
        assert name in text.text()
    widths = {round(box.rect().width()) for box in view.boxes.values()}
    assert len(widths) == 1  # one column of equal boxes, as wide as the longest label needs


def _wheel(view: LayerGraphView, steps: int, modifiers: Qt.KeyboardModifier) -> None:
    centre = QPointF(view.viewport().rect().center())
    event = QWheelEvent(centre, QPointF(view.viewport().mapToGlobal(centre.toPoint())), QPoint(0, 0),
                        QPoint(0, 120 * steps), Qt.MouseButton.NoButton, modifiers, Qt.ScrollPhase.NoScrollPhase,
                        False)
    QApplication.sendEvent(view.viewport(), event)


def test_ctrl_wheel_zooms_and_a_plain_wheel_does_not(view: LayerGraphView) -> None:
    before = view.transform().m11()
    _wheel(view, 1, Qt.KeyboardModifier.NoModifier)
    assert view.transform().m11() == before
    _wheel(view, 2, Qt.KeyboardModifier.ControlModifier)
    assert view.transform().m11() > before * 1.2
    _wheel(view, -4, Qt.KeyboardModifier.ControlModifier)
    assert view.transform().m11() < before


def test_keyboard_zoom_and_fit(view: LayerGraphView, qtbot) -> None:
    view.setFocus()
    start = view.transform().m11()
    qtbot.keyClick(view, Qt.Key.Key_Plus, Qt.KeyboardModifier.ControlModifier)
    assert view.transform().m11() > start
    qtbot.keyClick(view, Qt.Key.Key_Minus, Qt.KeyboardModifier.ControlModifier)
    qtbot.keyClick(view, Qt.Key.Key_Minus, Qt.KeyboardModifier.ControlModifier)
    assert view.transform().m11() < start
    qtbot.keyClick(view, Qt.Key.Key_0, Qt.KeyboardModifier.ControlModifier)
    shown = view.mapToScene(view.viewport().rect()).boundingRect()
    assert shown.adjusted(-1, -1, 1, 1).contains(view.scene().sceneRect())  # the whole graph in view
    assert view.transform().m11() <= 1.0
    qtbot.keyClick(view, Qt.Key.Key_Escape)  # QTest keeps the last modifiers as "held": release Ctrl
    assert QApplication.keyboardModifiers() == Qt.KeyboardModifier.NoModifier


def test_a_new_graph_fits_the_view_width_and_the_newest_selection_wins(view: LayerGraphView) -> None:
    shown = view.mapToScene(view.viewport().rect()).boundingRect()
    assert view.transform().m11() < 1.0 and shown.width() >= view.scene().sceneRect().width() - 1  # whole width
    emitted: list[str] = []
    view.layer_selected.connect(emitted.append)
    names = list(view.boxes)
    for first, second in ((names[2], names[0]), (names[0], names[2])):
        view.scene().clearSelection()
        view.boxes[first].setSelected(True)
        view.boxes[second].setSelected(True)  # both selected: the table follows the one just picked
        assert view.selected_layers()[0] == second and emitted[-1] == second
