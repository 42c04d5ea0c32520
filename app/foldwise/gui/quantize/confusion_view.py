"""A confusion matrix drawn as a small heatmap with counts: rows are true classes, columns predictions; the
diagonal shades blue by recall, errors red by their share of the row."""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import QRectF, QSize, Qt
from PySide6.QtGui import QColor, QFont, QPainter, QPen
from PySide6.QtWidgets import QHBoxLayout, QSizePolicy, QWidget


def _mix(base: tuple[int, int, int], share: float) -> QColor:
    share = min(max(share, 0.0), 1.0)
    return QColor(*(round(255 + (c - 255) * share) for c in base))


class ConfusionView(QWidget):
    """``set_matrix(matrix, title, class_names)``; empty until given one."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("confusionView")
        self.matrix: list[list[int]] = []
        self.title = ""
        self.names: list[str] = []
        self.setMinimumSize(220, 220)
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Expanding)

    def sizeHint(self) -> QSize:
        return QSize(300, 300)

    def set_matrix(self, matrix: list[list[int]] | None, title: str, class_names: list[str] | None = None) -> None:
        self.matrix = [list(map(int, row)) for row in (matrix or [])]
        self.title = title
        self.names = list(class_names or [])
        self.update()

    def label(self, i: int) -> str:
        return self.names[i] if i < len(self.names) else str(i)

    def paintEvent(self, _event: Any) -> None:
        painter = QPainter(self)
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        painter.fillRect(self.rect(), QColor("white"))
        font = QFont(self.font())
        painter.setFont(font)
        metrics = painter.fontMetrics()
        title_h = metrics.height() * 2 + 4
        painter.setPen(QColor("#222"))
        painter.drawText(QRectF(0, 0, self.width(), title_h), Qt.AlignmentFlag.AlignCenter | Qt.TextFlag.TextWordWrap,
                         self.title)
        k = len(self.matrix)
        if k == 0:
            painter.setPen(QColor("#888"))
            painter.drawText(self.rect(), Qt.AlignmentFlag.AlignCenter, "no validation yet")
            return
        label_w = max(metrics.horizontalAdvance(self.label(i)) for i in range(k)) + 8
        axis_h = metrics.height() + 4
        size = min(self.width() - 2 * label_w - 16, self.height() - title_h - axis_h - metrics.height() - 8)
        cell = max(size / k, 4.0)
        left = max(label_w + 12, (self.width() - cell * k) / 2)  # centred, room for the row labels
        top = title_h + 2
        small = QFont(font)
        small.setPointSizeF(max(6.0, min(font.pointSizeF(), cell * 0.38)))
        for i, row in enumerate(self.matrix):
            total = max(sum(row), 1)
            for j, count in enumerate(row):
                share = count / total
                colour = _mix((47, 111, 176), share) if i == j else _mix((208, 69, 58), min(1.0, 3 * share))
                rect = QRectF(left + j * cell, top + i * cell, cell, cell)
                painter.fillRect(rect, colour)
                if count and cell >= 14:
                    painter.setFont(small)
                    painter.setPen(QColor("white") if share > 0.55 else QColor("#222"))
                    painter.drawText(rect, Qt.AlignmentFlag.AlignCenter, str(count))
        painter.setFont(font)
        painter.setPen(QPen(QColor("#bbb"), 1))
        painter.drawRect(QRectF(left, top, cell * k, cell * k))
        painter.setPen(QColor("#444"))
        step = max(1, int(metrics.height() / cell) + 1)
        for i in range(0, k, step):
            painter.drawText(QRectF(left - label_w - 8, top + i * cell, label_w + 2, cell),
                             Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter, self.label(i))
            painter.drawText(QRectF(left + i * cell - 10, top + k * cell + 1, cell + 20, axis_h),
                             Qt.AlignmentFlag.AlignHCenter | Qt.AlignmentFlag.AlignTop, self.label(i))
        painter.setPen(QColor("#666"))
        painter.drawText(QRectF(0, top + k * cell + axis_h - 2, self.width(), metrics.height() + 4),
                         Qt.AlignmentFlag.AlignCenter, "predicted →   (rows: true class)")


class ConfusionPair(QWidget):
    """Float and quantized confusion side by side."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.float_view = ConfusionView()
        self.quant_view = ConfusionView()
        self.float_view.setObjectName("floatConfusion")
        self.quant_view.setObjectName("quantConfusion")
        layout = QHBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.float_view)
        layout.addWidget(self.quant_view)

    def set_compare(self, compare: dict[str, Any] | None, class_names: list[str], where: str) -> None:
        """``compare`` as :func:`foldwise.core.quantize.validate.compare` returns it (None clears)."""
        if not compare:
            self.float_view.set_matrix(None, "Float")
            self.quant_view.set_matrix(None, "Quantized")
            return
        for view, key, name in ((self.float_view, "float", "Float"), (self.quant_view, "quantized", "Quantized")):
            metrics = compare[key]
            accuracy = metrics["accuracy"]["value"]
            view.set_matrix(metrics["confusion"], f"{name}: top-1 {accuracy:.2%}\n(measured, {where})", class_names)
