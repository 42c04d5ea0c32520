"""The layer table: name, type, output shape, parameters, MACs, weight memory (from a stored summary)."""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import (
    QAbstractTableModel,
    QItemSelectionModel,
    QModelIndex,
    QPersistentModelIndex,
    QSortFilterProxyModel,
    Qt,
)
from PySide6.QtWidgets import QAbstractItemView, QHeaderView, QTableView, QWidget

COLUMNS = ("Layer", "Type", "Output shape", "Params", "MACs", "Bits", "MB")
_NUMERIC = {3, 4, 5, 6}

Index = QModelIndex | QPersistentModelIndex


class LayerTableModel(QAbstractTableModel):
    def __init__(self) -> None:
        super().__init__()
        self.rows: list[dict[str, Any]] = []

    def set_layers(self, rows: list[dict[str, Any]]) -> None:
        self.beginResetModel()
        self.rows = list(rows)
        self.endResetModel()

    def rowCount(self, parent: Index = QModelIndex()) -> int:  # noqa: B008 - Qt API
        return 0 if parent.isValid() else len(self.rows)

    def columnCount(self, parent: Index = QModelIndex()) -> int:  # noqa: B008 - Qt API
        return len(COLUMNS)

    def headerData(self, section: int, orientation: Qt.Orientation, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if orientation == Qt.Orientation.Horizontal and role == Qt.ItemDataRole.DisplayRole:
            return COLUMNS[section]
        return None

    def _value(self, row: dict[str, Any], column: int) -> Any:
        shape = row.get("output_shape")
        return (
            row["name"],
            row["type"],
            "×".join(map(str, shape)) if shape else "–",
            row["params"],
            row["macs"],
            row.get("bits", 32),
            row["weight_mb"],
        )[column]

    def data(self, index: Index, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if not index.isValid():
            return None
        row = self.rows[index.row()]
        value = self._value(row, index.column())
        if role == Qt.ItemDataRole.DisplayRole:
            if index.column() in (3, 4):
                return f"{value:,}"
            if index.column() == 6:
                return f"{value:.4f}"
            return str(value)
        if role == Qt.ItemDataRole.UserRole:  # sort key
            return value
        if role == Qt.ItemDataRole.TextAlignmentRole and index.column() in _NUMERIC:
            return int(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        return None


class LayerTable(QTableView):
    """Sortable layer table; ``select_layer(name)`` and ``selected_layers()`` work by layer name."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("layerTable")
        self.layer_model = LayerTableModel()
        self.proxy = QSortFilterProxyModel(self)
        self.proxy.setSourceModel(self.layer_model)
        self.proxy.setSortRole(Qt.ItemDataRole.UserRole)
        self.setModel(self.proxy)
        self.setSortingEnabled(True)
        self.sortByColumn(-1, Qt.SortOrder.AscendingOrder)
        self.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.setAlternatingRowColors(True)
        self.verticalHeader().hide()
        self.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        self.horizontalHeader().setStretchLastSection(True)

    def set_layers(self, rows: list[dict[str, Any]]) -> None:
        self.layer_model.set_layers(rows)

    def selected_layers(self) -> list[str]:
        names = []
        for index in self.selectionModel().selectedRows():
            names.append(self.layer_model.rows[self.proxy.mapToSource(index).row()]["name"])
        return names

    def select_layer(self, name: str) -> None:
        for source_row, row in enumerate(self.layer_model.rows):
            if row["name"] == name:
                index = self.proxy.mapFromSource(self.layer_model.index(source_row, 0))
                # Not selectRow: it follows the keyboard modifiers held at the time (Ctrl toggles the row),
                # and a layer picked elsewhere (the graph) replaces the selection.
                flags = QItemSelectionModel.SelectionFlag.ClearAndSelect | QItemSelectionModel.SelectionFlag.Rows
                self.selectionModel().setCurrentIndex(index, flags)
                self.scrollTo(index)
                return
