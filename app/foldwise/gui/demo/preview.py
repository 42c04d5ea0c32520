"""The demo preview: the latest annotated frame, scaled to fit, with the region of interest drawn by the mouse."""

from __future__ import annotations

from PySide6.QtCore import QPointF, QRectF, Qt, Signal
from PySide6.QtGui import QColor, QImage, QMouseEvent, QPainter, QPaintEvent, QPen
from PySide6.QtWidgets import QSizePolicy, QWidget

from foldwise.core.demo.roi import Roi
from foldwise.core.errors import InputError
from foldwise.core.lazy_import import lazy_module

np = lazy_module("numpy")  # the GUI imports this module for its panels; numpy loads on first use


def frame_image(frame: np.ndarray) -> QImage:
    """A QImage over the RGB uint8 H×W×3 array's own memory (no copy); the caller keeps ``frame`` alive."""
    if frame.dtype != np.uint8 or frame.ndim != 3 or frame.shape[2] != 3 or not frame.flags.c_contiguous:
        frame = np.ascontiguousarray(frame, np.uint8)
    height, width = frame.shape[:2]
    return QImage(frame.data, width, height, frame.strides[0], QImage.Format.Format_RGB888)


class PreviewView(QWidget):
    """Shows frames (``show_frame``); dragging a rectangle emits ``roi_drawn(Roi)`` in frame fractions."""

    roi_drawn = Signal(object)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("demoPreview")
        self.setMinimumSize(320, 240)
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Expanding)
        self.setCursor(Qt.CursorShape.CrossCursor)
        self.setToolTip("Drag a rectangle to set the region of interest the network classifies")
        self._frame: np.ndarray | None = None  # keeps the QImage's memory alive
        self._image: QImage | None = None
        self.frame_size: tuple[int, int] = (640, 480)
        self.roi: Roi | None = None
        self._drag: tuple[QPointF, QPointF] | None = None
        self.frames_shown = 0

    def show_frame(self, frame: np.ndarray) -> None:
        self._image = frame_image(frame)
        self._frame = frame
        self.frame_size = (frame.shape[1], frame.shape[0])
        self.frames_shown += 1
        self.update()

    def set_roi(self, roi: Roi | None) -> None:
        self.roi = roi
        self.update()

    def image_rect(self) -> QRectF:
        """Where the frame is drawn: scaled to fit, centred, aspect kept."""
        width, height = self.frame_size
        scale = min(self.width() / width, self.height() / height)
        w, h = width * scale, height * scale
        return QRectF((self.width() - w) / 2, (self.height() - h) / 2, w, h)

    def paintEvent(self, _event: QPaintEvent) -> None:
        painter = QPainter(self)
        painter.fillRect(self.rect(), QColor(24, 24, 24))
        target = self.image_rect()
        if self._image is not None:
            painter.drawImage(target, self._image)
        else:
            painter.setPen(QColor(200, 200, 200))
            painter.drawText(self.rect(), Qt.AlignmentFlag.AlignCenter, "Press Start to see the camera")
        roi = self.roi or Roi.default(*self.frame_size)
        painter.setPen(QPen(QColor(255, 210, 0), 1, Qt.PenStyle.DashLine))
        painter.drawRect(QRectF(target.x() + roi.x * target.width(), target.y() + roi.y * target.height(),
                                roi.w * target.width(), roi.h * target.height()))
        if self._drag is not None:
            painter.setPen(QPen(QColor(0, 200, 255), 2))
            painter.drawRect(QRectF(self._drag[0], self._drag[1]).normalized())
        painter.end()

    def mousePressEvent(self, event: QMouseEvent) -> None:
        if event.button() == Qt.MouseButton.LeftButton:
            self._drag = (event.position(), event.position())

    def mouseMoveEvent(self, event: QMouseEvent) -> None:
        if self._drag is not None:
            self._drag = (self._drag[0], event.position())
            self.update()

    def mouseReleaseEvent(self, event: QMouseEvent) -> None:
        if self._drag is None or event.button() != Qt.MouseButton.LeftButton:
            return
        start, end = self._drag[0], event.position()
        self._drag = None
        self.update()
        target = self.image_rect()
        width, height = self.frame_size
        to_frame = width / target.width()
        x0, y0 = (start.x() - target.x()) * to_frame, (start.y() - target.y()) * to_frame
        x1, y1 = (end.x() - target.x()) * to_frame, (end.y() - target.y()) * to_frame
        try:
            roi = Roi.from_pixels(x0, y0, x1 - x0, y1 - y0, width, height)
        except InputError:  # a click without a drag: zero size, nothing to set
            return
        self.set_roi(roi)
        self.roi_drawn.emit(roi)
