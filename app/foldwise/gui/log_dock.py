"""The log dock: job output and Foldwise's own log records, searchable, capped in length."""

from __future__ import annotations

import logging
import time

from PySide6.QtCore import QObject, Signal
from PySide6.QtGui import QFont, QTextCursor, QTextDocument
from PySide6.QtWidgets import QDockWidget, QHBoxLayout, QLineEdit, QPlainTextEdit, QVBoxLayout, QWidget


class _QtLogHandler(logging.Handler, QObject):
    record_ready = Signal(str)

    def __init__(self) -> None:
        logging.Handler.__init__(self)
        QObject.__init__(self)
        self.setFormatter(logging.Formatter("%(levelname)s %(name)s: %(message)s"))

    def emit(self, record: logging.LogRecord) -> None:
        self.record_ready.emit(self.format(record))


class LogDock(QDockWidget):
    MAX_BLOCKS = 20_000

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__("Log", parent)
        self.setObjectName("logDock")
        self.text = QPlainTextEdit()
        self.text.setReadOnly(True)
        self.text.setMaximumBlockCount(self.MAX_BLOCKS)
        self.text.setFont(QFont("monospace", 9))
        self.search = QLineEdit()
        self.search.setPlaceholderText("Find in log (Enter: next)")
        self.search.returnPressed.connect(self.find_next)
        bar = QHBoxLayout()
        bar.setContentsMargins(0, 0, 0, 0)
        bar.addWidget(self.search)
        body = QWidget()
        layout = QVBoxLayout(body)
        layout.setContentsMargins(2, 2, 2, 2)
        layout.addLayout(bar)
        layout.addWidget(self.text)
        self.setWidget(body)
        self._handler = _QtLogHandler()
        self._handler.record_ready.connect(self.append)
        logging.getLogger("foldwise").addHandler(self._handler)

    def append(self, line: str, source: str = "") -> None:
        stamp = time.strftime("%H:%M:%S")
        prefix = f"[{source}] " if source else ""
        self.text.appendPlainText(f"{stamp} {prefix}{line}")

    def find_next(self) -> bool:
        needle = self.search.text()
        if not needle:
            return False
        if self.text.find(needle):
            return True
        self.text.moveCursor(QTextCursor.MoveOperation.Start)
        return self.text.find(needle, QTextDocument.FindFlag(0))

    def detach(self) -> None:
        logging.getLogger("foldwise").removeHandler(self._handler)
