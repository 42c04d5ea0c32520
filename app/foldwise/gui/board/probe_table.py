"""The probe's results: one row per item with its value, where it came from (measured), status and fix."""

from __future__ import annotations

from PySide6.QtGui import QColor
from PySide6.QtWidgets import QAbstractItemView, QHeaderView, QTableWidget, QTableWidgetItem, QWidget

from foldwise.core.board.probe import ProbeReport

COLUMNS = ["Item", "Value", "Source", "Status", "Fix"]
_COLOURS = {"ok": "#1e7b34", "missing": "#b03a2e", "warning": "#a86b00"}


class ProbeTable(QTableWidget):
    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(0, len(COLUMNS), parent)
        self.setObjectName("probeTable")
        self.setHorizontalHeaderLabels(COLUMNS)
        self.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.verticalHeader().hide()
        self.horizontalHeader().setSectionResizeMode(len(COLUMNS) - 1, QHeaderView.ResizeMode.Stretch)
        self.setWordWrap(True)

    def show_report(self, report: ProbeReport) -> None:
        self.setRowCount(len(report.items))
        for row, item in enumerate(report.items):
            cells = [item.label, item.text, item.source, item.status if item.status != "info" else "", item.fix]
            for col, text in enumerate(cells):
                cell = QTableWidgetItem(text)
                cell.setToolTip(text)
                if col == 3 and item.status in _COLOURS:
                    cell.setForeground(QColor(_COLOURS[item.status]))
                self.setItem(row, col, cell)
        self.resizeColumnsToContents()

    def rows(self) -> list[list[str]]:
        return [[self.item(r, c).text() for c in range(self.columnCount())] for r in range(self.rowCount())]
