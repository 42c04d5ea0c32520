"""The side-by-side table: one row per iteration, every figure with a short source tag, its colour and a
tooltip saying exactly where it came from (split and images, build and board, device)."""

from __future__ import annotations

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QColor
from PySide6.QtWidgets import QAbstractItemView, QHeaderView, QTableWidget, QTableWidgetItem, QWidget

from foldwise.core.compare import COLUMNS, Cell, Row, format_value

#: the short tag after each figure and its colour (the same colours as the figure cards' source labels)
SOURCE_TAGS = {"computed": "comp", "estimated": "est", "simulated": "sim", "synthesized": "synth",
               "emulated": "emu", "measured": "meas", "entered": "entered"}
SOURCE_COLORS = {"computed": "#34495e", "estimated": "#7a4d00", "simulated": "#117a65", "synthesized": "#1f4e79",
                 "emulated": "#5b2c6f", "measured": "#145a32", "entered": "#555555"}
HEADERS = ["Iteration", *(c.title + (f" ({c.unit})" if c.unit in ("ms", "%", "mJ") else "") for c in COLUMNS),
           "Keeps up?"]
VERDICT_COLUMN = len(HEADERS) - 1


def cell_item(key: str, title: str, cell: Cell | None) -> QTableWidgetItem:
    if cell is None:
        item = QTableWidgetItem("–")
        item.setToolTip(f"{title}: not known for this iteration")
        item.setForeground(QColor("#9aa0a6"))
        return item
    text = format_value(key, cell.value, cell.unit if cell.unit == "MB" else "")
    item = QTableWidgetItem(f"{text} {SOURCE_TAGS.get(cell.source, cell.source)}")
    item.setForeground(QColor(SOURCE_COLORS.get(cell.source, "#000000")))
    item.setToolTip(f"{title}: {format_value(key, cell.value, cell.unit)} — {cell.source}"
                    + (f"\n{cell.note}" if cell.note else ""))
    item.setData(Qt.ItemDataRole.UserRole + 1, cell.source)
    item.setTextAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
    return item


class CompareTable(QTableWidget):
    """``set_rows(rows)``; ``iteration_selected(id)`` when the user picks a row."""

    iteration_selected = Signal(str)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(0, len(HEADERS), parent)
        self.setObjectName("compareTable")
        self.setHorizontalHeaderLabels(HEADERS)
        legend = ", ".join(f"{tag} = {source}" for source, tag in SOURCE_TAGS.items())
        for col in range(len(HEADERS)):
            self.horizontalHeaderItem(col).setToolTip(f"Source tags: {legend}")
        self.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.verticalHeader().hide()
        self.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        self.rows: list[Row] = []
        self.itemSelectionChanged.connect(self._selected)

    def set_rows(self, rows: list[Row]) -> None:
        self.blockSignals(True)
        self.rows = list(rows)
        self.setRowCount(len(rows))
        for r, row in enumerate(rows):
            first = QTableWidgetItem(row.label)
            first.setData(Qt.ItemDataRole.UserRole, row.id)
            first.setToolTip(f"{row.kind}: {row.change}" if row.change else row.kind)
            if row.current:
                font = first.font()
                font.setBold(True)
                first.setFont(font)
            self.setItem(r, 0, first)
            for c, column in enumerate(COLUMNS, start=1):
                self.setItem(r, c, cell_item(column.key, column.title, row.cells[column.key]))
            verdict = row.verdict
            item = QTableWidgetItem(f"{'yes' if verdict['keeps_up'] else 'no'} ({verdict['source']})" if verdict
                                    else "–")
            if verdict is not None:
                item.setForeground(QColor("#1e7e34" if verdict["keeps_up"] else "#b03a2e"))
                item.setToolTip(f"{verdict['fps']:,.0f} FPS ({verdict['source']}) against the target "
                                f"{verdict['target_fps']:,.0f} FPS: {verdict['text']}")
            else:
                item.setToolTip("no FPS figure yet, or the project sets no target FPS")
            self.setItem(r, VERDICT_COLUMN, item)
        self.blockSignals(False)

    def select(self, iteration_id: str | None) -> None:
        self.blockSignals(True)
        self.clearSelection()
        for r in range(self.rowCount()):
            if self.item(r, 0).data(Qt.ItemDataRole.UserRole) == iteration_id:
                self.selectRow(r)
        self.blockSignals(False)

    def _selected(self) -> None:
        rows = {index.row() for index in self.selectedIndexes()}
        if len(rows) == 1:
            self.iteration_selected.emit(self.item(rows.pop(), 0).data(Qt.ItemDataRole.UserRole))
