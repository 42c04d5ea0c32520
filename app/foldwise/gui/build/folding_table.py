"""The folding editor: one row per FINN hardware node, its folding attributes as combo boxes offering only the
legal values FINN reported for that node, and FINN's per-node cycles and resources from the latest estimate.

Edits go through :class:`FoldingEdit` undo commands (whole-folding snapshots, so a depthwise sliding window
whose SIMD is tied to its consumer's PE moves with it and comes back with it on undo).
"""

from __future__ import annotations

import copy
from typing import Any

from PySide6.QtCore import QAbstractTableModel, QModelIndex, QPersistentModelIndex, Qt, QTimer, Signal
from PySide6.QtGui import QBrush, QColor, QFont, QKeyEvent, QUndoCommand, QUndoStack
from PySide6.QtWidgets import (
    QAbstractItemView,
    QComboBox,
    QHeaderView,
    QStyledItemDelegate,
    QStyleOptionViewItem,
    QTableView,
    QWidget,
)

Index = QModelIndex | QPersistentModelIndex

#: the folding attributes the editor shows, in column order (a column appears if any node has it)
EDIT_ATTRS = ("PE", "SIMD", "parallel_window", "ram_style", "ram_style_thresholds", "resType", "mem_mode")
ATTR_TITLES = {"parallel_window": "par.win", "ram_style_thresholds": "thr. ram"}
ATTR_TIPS = {
    "PE": "Processing elements: output channels computed in parallel (must divide the channel count)",
    "SIMD": "Input elements consumed per cycle per PE (must divide the input width)",
    "parallel_window": "RTL sliding window: emit the whole kernel window per cycle (needs SIMD at its maximum)",
    "ram_style": "Where weights live: block = BRAM, distributed = LUTRAM, ultra = URAM, auto = Vivado decides",
    "ram_style_thresholds": "Where activation thresholds live (block / distributed / auto)",
    "resType": "Multipliers in LUTs or DSP slices (auto lets FINN choose)",
    "mem_mode": "Weights inside the layer (internal_*) or streamed in from outside (external)",
}
#: (column title, report key) of the per-node estimate columns
RESULT_COLUMNS = (("Cycles", "cycles"), ("LUT", "LUT"), ("BRAM18", "BRAM_18K"), ("DSP", "DSP"), ("URAM", "URAM"))
BOTTLENECK_BG = QColor("#fbe3e0")
TIED_BG = QColor("#f2f2f2")
LegalRole = Qt.ItemDataRole.UserRole + 1
#: shorter labels for FINN's longest op names in charts and cards (tables and tooltips keep the full names)
ABBREVIATIONS = (("ConvolutionInputGenerator", "SWG"), ("StreamingDataWidthConverter", "DWC"),
                 ("StreamingMaxPool", "MaxPool"), ("Thresholding", "Thresh"), ("StreamingFIFO", "FIFO"))


def short_name(name: str) -> str:
    for long, short in ABBREVIATIONS:
        name = name.replace(long, short)
    return name


def _fmt(value: Any) -> str:
    return f"{value:,}" if isinstance(value, int) and not isinstance(value, bool) else str(value)


class FoldingModel(QAbstractTableModel):
    """Hardware nodes (from ``build.hw_nodes``) and the folding being edited.

    ``folding_changed`` fires after every change of the folding (edit, undo, load); ``undo_stack``, when set,
    receives each edit as a :class:`FoldingEdit`.
    """

    folding_changed = Signal()

    def __init__(self, undo_stack: QUndoStack | None = None) -> None:
        super().__init__()
        self.undo_stack = undo_stack
        self.nodes: list[dict[str, Any]] = []
        self.values: dict[str, dict[str, Any]] = {}
        self.model_key = ""  # the model's sha256: undo commands of another model become obsolete
        self.attrs: list[str] = []
        self.cycles: dict[str, int] = {}
        self.resources: dict[str, dict[str, float]] = {}
        self.bottleneck: str | None = None
        self.stale = False  # the folding changed since the figures were estimated
        self.show_uram = True
        self._ties: dict[str, tuple[str, str]] = {}  # tied node -> (consumer, attr)
        # (bold, italic) -> font: data() runs for every cell whenever the header re-measures its columns
        self._fonts: dict[tuple[bool, bool], QFont] = {}

    # ----------------------------------------------------------------- content
    def set_nodes(self, nodes: list[dict[str, Any]], model_key: str, keep: dict[str, dict] | None = None) -> None:
        """Show ``nodes``; values from ``keep`` (an earlier folding of the same model) stay where still legal."""
        self.beginResetModel()
        self.nodes = [dict(n) for n in nodes]
        self.model_key = model_key
        self.attrs = [a for a in EDIT_ATTRS if any(a in n["legal"] or a in n["attrs"] for n in self.nodes)]
        self._ties = {n["name"]: (n["tied_to"]["node"], n["tied_to"]["attr"]) for n in self.nodes if n.get("tied_to")}
        self.values = {n["name"]: {a: n["attrs"][a] for a in EDIT_ATTRS if a in n["attrs"]} for n in self.nodes}
        for name, attrs in (keep or {}).items():
            node = self.node(name)
            if node is None:
                continue
            for attr, value in attrs.items():
                if attr in self.values[name] and value in node["legal"].get(attr, [value]):
                    self.values[name][attr] = value
        self._apply_ties(self.values)
        self.cycles = {n["name"]: n["cycles"] for n in self.nodes if n.get("cycles") is not None}
        self.resources = {n["name"]: dict(n["resources"]) for n in self.nodes if n.get("resources")}
        self.bottleneck = max(self.cycles, key=self.cycles.__getitem__) if self.cycles else None
        self.stale = True
        self.endResetModel()
        self.folding_changed.emit()

    def clear(self) -> None:
        self.beginResetModel()
        self.nodes, self.values, self.attrs, self.model_key = [], {}, [], ""
        self.cycles, self.resources, self.bottleneck, self._ties = {}, {}, None, {}
        self.endResetModel()

    def node(self, name: str) -> dict[str, Any] | None:
        return next((n for n in self.nodes if n["name"] == name), None)

    def folding(self) -> dict[str, Any]:
        """The edited folding in FINN's format (every node, every folding attribute it has)."""
        return {"Defaults": {}, **copy.deepcopy(self.values)}

    def snapshot(self) -> dict[str, dict[str, Any]]:
        return copy.deepcopy(self.values)

    def restore(self, values: dict[str, dict[str, Any]]) -> None:
        self.values = copy.deepcopy(values)
        self.stale = True
        self._refresh()
        self.folding_changed.emit()

    def _apply_ties(self, values: dict[str, dict[str, Any]]) -> None:
        for swu, (consumer, attr) in self._ties.items():
            if consumer in values and attr in values[consumer]:
                values[swu]["SIMD"] = values[consumer][attr]

    def with_value(self, node: str, attr: str, value: Any) -> dict[str, dict[str, Any]]:
        """The folding after setting ``node.attr = value`` (ties followed), without applying it."""
        after = self.snapshot()
        after[node][attr] = value
        self._apply_ties(after)
        return after

    def with_folding(self, folding: dict[str, Any]) -> dict[str, dict[str, Any]]:
        """The folding after loading a FINN folding dict (unknown nodes/attributes ignored)."""
        after = self.snapshot()
        for name, attrs in folding.items():
            if name in after and isinstance(attrs, dict):
                for attr, value in attrs.items():
                    if attr in after[name]:
                        after[name][attr] = value
        self._apply_ties(after)
        return after

    def change(self, after: dict[str, dict[str, Any]], text: str) -> None:
        """Apply ``after`` as one undoable edit (directly if there is no undo stack)."""
        if after == self.values:
            return
        if self.undo_stack is None:
            self.restore(after)
        else:
            self.undo_stack.push(FoldingEdit(self, self.snapshot(), after, text))

    def set_report(self, report: Any) -> None:
        """Per-node cycles/resources and the bottleneck from a BuildReport of the current folding."""
        self.cycles = dict(report.node_cycles)
        self.resources = {k: dict(v) for k, v in report.node_resources.items()}
        self.bottleneck = report.bottleneck
        self.stale = False
        self._refresh()

    def mark_stale(self) -> None:
        self.stale = True
        self._refresh()

    def _refresh(self) -> None:
        if self.nodes:
            self.dataChanged.emit(self.index(0, 0), self.index(len(self.nodes) - 1, self.columnCount() - 1))

    # ----------------------------------------------------------------- columns
    def attr_of(self, column: int) -> str | None:
        i = column - 1
        return self.attrs[i] if 0 <= i < len(self.attrs) else None

    def result_of(self, column: int) -> str | None:
        i = column - 1 - len(self.attrs)
        cols = self._result_columns()
        return cols[i][1] if 0 <= i < len(cols) else None

    def _result_columns(self) -> tuple[tuple[str, str], ...]:
        return RESULT_COLUMNS if self.show_uram else RESULT_COLUMNS[:-1]

    def column_of(self, attr: str) -> int:
        return 1 + self.attrs.index(attr)

    def legal_values(self, index: Index) -> list[Any]:
        """The values FINN accepts for this cell ([] if it is not editable)."""
        attr = self.attr_of(index.column())
        if attr is None or not index.isValid():
            return []
        node = self.nodes[index.row()]
        if attr == "SIMD" and node["name"] in self._ties:
            return []
        return list(node["legal"].get(attr, []))

    def is_editable(self, index: Index) -> bool:
        return len(self.legal_values(index)) > 1

    # ----------------------------------------------------------------- Qt model
    def rowCount(self, parent: Index = QModelIndex()) -> int:  # noqa: B008 - Qt API
        return 0 if parent.isValid() else len(self.nodes)

    def columnCount(self, parent: Index = QModelIndex()) -> int:  # noqa: B008 - Qt API
        return 1 + len(self.attrs) + len(self._result_columns())

    def headerData(self, section: int, orientation: Qt.Orientation, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if orientation != Qt.Orientation.Horizontal:
            return None
        attr, result = self.attr_of(section), self.result_of(section)
        if role == Qt.ItemDataRole.DisplayRole:
            if section == 0:
                return "Node"
            if attr:
                return ATTR_TITLES.get(attr, attr)
            return next(title for title, key in self._result_columns() if key == result)
        if role == Qt.ItemDataRole.ToolTipRole:
            if attr:
                return ATTR_TIPS.get(attr, attr)
            if result:
                return f"FINN's estimate per node ({'cycles per frame' if result == 'cycles' else result})"
        return None

    def flags(self, index: Index) -> Qt.ItemFlag:
        base = Qt.ItemFlag.ItemIsEnabled | Qt.ItemFlag.ItemIsSelectable
        return base | Qt.ItemFlag.ItemIsEditable if self.is_editable(index) else base

    def data(self, index: Index, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if not index.isValid():
            return None
        node = self.nodes[index.row()]
        name, col = node["name"], index.column()
        attr, result = self.attr_of(col), self.result_of(col)
        tied = attr == "SIMD" and name in self._ties
        if role == Qt.ItemDataRole.DisplayRole:
            if col == 0:
                return name
            if attr:
                value = self.values[name].get(attr)
                return "" if value is None else _fmt(value)
            if result == "cycles":
                return _fmt(self.cycles[name]) if name in self.cycles else "–"
            value = self.resources.get(name, {}).get(result or "")
            return "–" if value is None else f"{value:,.0f}"
        if role == Qt.ItemDataRole.EditRole and attr:
            return self.values[name].get(attr)
        if role == LegalRole:
            return self.legal_values(index)
        if role == Qt.ItemDataRole.TextAlignmentRole and col >= 1:
            return int(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        if role == Qt.ItemDataRole.BackgroundRole:
            if tied or (attr and attr not in self.values[name]):
                return QBrush(TIED_BG)
            if name == self.bottleneck and result == "cycles":
                return QBrush(BOTTLENECK_BG)
        if role == Qt.ItemDataRole.ForegroundRole:
            if result and self.stale:
                return QBrush(QColor("#9a9a9a"))
            if name == self.bottleneck and result == "cycles":
                return QBrush(QColor("#a93226"))
            if tied or (attr and not self.is_editable(index)):
                return QBrush(QColor("#777777"))
        if role == Qt.ItemDataRole.FontRole:
            style = (name == self.bottleneck and (col == 0 or result == "cycles"), bool(result and self.stale))
            font = self._fonts.get(style)
            if font is None:
                font = self._fonts[style] = QFont()
                font.setBold(style[0])
                font.setItalic(style[1])
            return font
        if role == Qt.ItemDataRole.ToolTipRole:
            if tied:
                consumer, cattr = self._ties[name]
                return f"Depthwise sliding window: its SIMD follows {consumer}.{cattr} (set it there)"
            if attr:
                legal = node["legal"].get(attr, [])
                return f"{ATTR_TIPS.get(attr, attr)}\nlegal: {', '.join(map(str, legal)) or 'fixed'}"
            if col == 0:
                extra = " (the bottleneck: the slowest node sets the frame rate)" if name == self.bottleneck else ""
                return f"{name}: {node['op_type']}{extra}"
            if result and self.stale:
                return "From the previous estimate; re-estimating the edited folding…"
        return None

    def setData(self, index: Index, value: Any, role: int = Qt.ItemDataRole.EditRole) -> bool:
        attr = self.attr_of(index.column())
        if role != Qt.ItemDataRole.EditRole or attr is None or value not in self.legal_values(index):
            return False
        name = self.nodes[index.row()]["name"]
        if self.values[name].get(attr) == value:
            return False
        self.change(self.with_value(name, attr, value), f"Fold {name}.{attr} = {value}")
        return True

    def step(self, index: Index, delta: int) -> bool:
        """Move a cell to the next (+1) or previous (-1) legal value."""
        legal = self.legal_values(index)
        if len(legal) < 2:
            return False
        current = self.data(index, Qt.ItemDataRole.EditRole)
        pos = legal.index(current) if current in legal else 0
        return self.setData(index, legal[max(0, min(len(legal) - 1, pos + delta))])


class FoldingEdit(QUndoCommand):
    """One folding change (a snapshot before and after); obsolete once another model is loaded."""

    def __init__(self, model: FoldingModel, before: dict, after: dict, text: str) -> None:
        super().__init__(text)
        self.model = model
        self.key = model.model_key
        self.before = before
        self.after = after

    def _apply(self, values: dict) -> None:
        if self.model.model_key != self.key:
            self.setObsolete(True)
            return
        self.model.restore(values)

    def redo(self) -> None:
        self._apply(self.after)

    def undo(self) -> None:
        self._apply(self.before)


class LegalComboDelegate(QStyledItemDelegate):
    """Edits a folding cell with a combo box of the node's legal values; picking one applies it at once."""

    def createEditor(self, parent: QWidget, option: QStyleOptionViewItem, index: Index) -> QWidget | None:
        legal = index.data(LegalRole) or []
        if not legal:
            return None
        combo = QComboBox(parent)
        combo.setObjectName("legalCombo")
        for value in legal:
            combo.addItem(_fmt(value), value)
        combo.activated.connect(lambda _i, c=combo: self._commit(c))
        QTimer.singleShot(0, combo, combo.showPopup)  # one click shows the choices
        return combo

    def _commit(self, combo: QComboBox) -> None:
        self.commitData.emit(combo)
        self.closeEditor.emit(combo, QStyledItemDelegate.EndEditHint.NoHint)

    def setEditorData(self, editor: QWidget, index: Index) -> None:
        if isinstance(editor, QComboBox):
            i = editor.findData(index.data(Qt.ItemDataRole.EditRole))
            editor.setCurrentIndex(max(i, 0))

    def setModelData(self, editor: QWidget, model: Any, index: Index) -> None:
        if isinstance(editor, QComboBox):
            model.setData(index, editor.currentData(), Qt.ItemDataRole.EditRole)


class FoldingTable(QTableView):
    """The table view: click a folding cell for its legal values; +/- step to the next/previous legal value."""

    node_selected = Signal(str)

    def __init__(self, model: FoldingModel, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("foldingTable")
        self.setModel(model)
        self.setItemDelegate(LegalComboDelegate(self))
        self.setEditTriggers(QAbstractItemView.EditTrigger.DoubleClicked
                             | QAbstractItemView.EditTrigger.SelectedClicked
                             | QAbstractItemView.EditTrigger.EditKeyPressed)
        self.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectItems)
        self.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.setAlternatingRowColors(True)
        self.setTextElideMode(Qt.TextElideMode.ElideMiddle)
        self.verticalHeader().hide()
        self.verticalHeader().setDefaultSectionSize(24)
        header = self.horizontalHeader()
        header.setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        header.setStretchLastSection(False)
        header.setMinimumSectionSize(36)
        model.modelReset.connect(self._after_reset)
        self.clicked.connect(self._clicked)

    def folding_model(self) -> FoldingModel:
        model = self.model()
        assert isinstance(model, FoldingModel)
        return model

    def _after_reset(self) -> None:
        # the node column takes the spare width; when there is none, long names are elided in the middle
        self.horizontalHeader().setSectionResizeMode(0, QHeaderView.ResizeMode.Stretch)

    def _clicked(self, index: QModelIndex) -> None:
        model = self.folding_model()
        if index.isValid():
            self.node_selected.emit(model.nodes[index.row()]["name"])
            if model.is_editable(index) and self.state() != QAbstractItemView.State.EditingState:
                self.edit(index)  # one click opens the legal values

    def select_node(self, name: str) -> None:
        model = self.folding_model()
        for row, node in enumerate(model.nodes):
            if node["name"] == name:
                self.setCurrentIndex(model.index(row, 0))
                self.scrollTo(model.index(row, 0))
                return

    def keyPressEvent(self, event: QKeyEvent) -> None:
        steps = {Qt.Key.Key_Plus: 1, Qt.Key.Key_Equal: 1, Qt.Key.Key_BracketRight: 1,
                 Qt.Key.Key_Minus: -1, Qt.Key.Key_BracketLeft: -1}
        delta = steps.get(Qt.Key(event.key()))
        if delta is not None and self.currentIndex().isValid():
            self.folding_model().step(self.currentIndex(), delta)
            event.accept()
            return
        super().keyPressEvent(event)
