"""The per-layer quantization table: quantize on/off and bit widths edited in place (spin boxes), with the
fractions each quantizer would clip and flush at those widths, recomputed at once from the calibration
histograms (``what_if``; no re-calibration). The QuantConfig holds the truth; this view edits its ``layers``."""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import (
    QAbstractTableModel,
    QModelIndex,
    QPersistentModelIndex,
    QPoint,
    QSize,
    QSortFilterProxyModel,
    Qt,
    QTimer,
    Signal,
)
from PySide6.QtGui import QBrush, QColor, QFont, QUndoStack
from PySide6.QtWidgets import (
    QAbstractItemView,
    QHeaderView,
    QStyledItemDelegate,
    QStyleOptionViewItem,
    QTableView,
    QToolTip,
    QWidget,
)

from foldwise.gui.fields import NumberField
from foldwise.gui.quantize.config_edit import set_config

Index = QModelIndex | QPersistentModelIndex
SORT_ROLE = Qt.ItemDataRole.UserRole

# (key, header, tooltip)
COLUMNS = (
    ("layer", "Layer", "The float network's layer (the key of its per-layer setting)"),
    ("quantize", "Q", "Quantize this layer; unticked, it computes in float (FINN cannot map it)"),
    ("w_bits", "W bits", "Weight bit width (1–8); bold: differs from the network default"),
    ("w_clipped", "W clipped", "Share of the weights outside the representable range (saturated)"),
    ("w_flushed", "W → 0", "Share of the non-zero weights under half a step: rounded to zero"),
    ("a_bits", "A bits", "Bit width of the activation quantizer on this layer's output (1–8)"),
    ("a_clipped", "A clipped", "Share of the calibration activations above the representable range"),
    ("a_flushed", "A → 0", "Share of the non-zero activations under half a step: rounded to zero"),
    ("params", "Params", "Weights in the layer"),
    ("mb", "MB", "Weight memory at the chosen bit width (computed; 32-bit when not quantized)"),
)
KEYS = [key for key, _h, _t in COLUMNS]
COL = {key: i for i, key in enumerate(KEYS)}
WIDTHS = {"quantize": 28, "w_bits": 54, "w_clipped": 68, "w_flushed": 60, "a_bits": 54, "a_clipped": 68,
          "a_flushed": 60, "params": 62, "mb": 60}
BITS_COLUMNS = (COL["w_bits"], COL["a_bits"])
FRACTION_COLUMNS = (COL["w_clipped"], COL["w_flushed"], COL["a_clipped"], COL["a_flushed"])

# Warning shades for the fractions: amber from WARN, red from BAD (clipping hurts more than flushing).
CLIP_WARN, CLIP_BAD = 1e-3, 1e-2
FLUSH_WARN, FLUSH_BAD = 0.1, 0.3
AMBER, RED = QColor(255, 226, 160), QColor(248, 190, 185)
GREY = QColor(140, 140, 140)


def percent(value: float | None) -> str:
    """A fraction for the table: '0', '<0.01 %' or '1.23 %'."""
    if value is None:
        return "–"
    if value == 0:
        return "0"
    if value < 1e-4:
        return "<0.01 %"
    return f"{100 * value:.2f} %"


class LayerBitsModel(QAbstractTableModel):
    """Rows are :class:`~foldwise.core.quantize.inspect.LayerView`; figures follow the config's events."""

    invalid = Signal(object)  # an InputError from an edit (shown by the panel; nothing changes)

    def __init__(self, parent: Any = None) -> None:
        super().__init__(parent)
        self.views: list[Any] = []
        self.config: Any = None
        self.undo_stack: QUndoStack | None = None  # when set, every edit is an undoable ConfigEdit
        self._figures: list[dict[str, Any]] = []

    # ----------------------------------------------------------------- data in
    def set_config(self, config: Any) -> None:
        if self.config is not None:
            self.config.events.all.disconnect(self._config_changed)
        self.config = config
        config.events.all.connect(self._config_changed)
        self.refresh()

    def set_views(self, views: list[Any]) -> None:
        self.beginResetModel()
        self.views = list(views)
        self._figures = [self._compute(v) for v in self.views]
        self.endResetModel()

    def _config_changed(self, _info: Any = None) -> None:
        self.refresh()

    def refresh(self) -> None:
        """Recompute every row's figures (what_if on a few hundred bins: instant)."""
        self._figures = [self._compute(v) for v in self.views]
        if self.views:
            self.dataChanged.emit(self.index(0, 0), self.index(len(self.views) - 1, len(COLUMNS) - 1))

    def _compute(self, view: Any) -> dict[str, Any]:
        from foldwise.core.quantize import inspect as qi

        if self.config is None:
            return {}
        acts = qi.chosen_acts(view, self.config)
        return {"weight": qi.chosen_weight(view, self.config), "act": acts[0] if acts else None,
                "mb": qi.layer_mb(view, self.config), "quantize": self.config.is_quantized(view.name)}

    def figures(self, row: int) -> dict[str, Any]:
        return self._figures[row] if 0 <= row < len(self._figures) else {}

    def row_of(self, name: str) -> int:
        return next((i for i, v in enumerate(self.views) if v.name == name), -1)

    # ----------------------------------------------------------------- Qt model
    def rowCount(self, parent: Index = QModelIndex()) -> int:  # noqa: B008 - Qt API
        return 0 if parent.isValid() else len(self.views)

    def columnCount(self, parent: Index = QModelIndex()) -> int:  # noqa: B008 - Qt API
        return len(COLUMNS)

    def headerData(self, section: int, orientation: Qt.Orientation, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if orientation != Qt.Orientation.Horizontal:
            return None
        if role == Qt.ItemDataRole.DisplayRole:
            return COLUMNS[section][1]
        if role == Qt.ItemDataRole.ToolTipRole:
            return COLUMNS[section][2]
        return None

    def _side(self, row: int, column: int) -> Any:
        figures = self.figures(row)
        return figures.get("weight") if KEYS[column].startswith("w_") else figures.get("act")

    def _value(self, row: int, column: int) -> Any:
        view, figures, key = self.views[row], self.figures(row), KEYS[column]
        side = self._side(row, column)
        if key == "layer":
            return view.name
        if key == "quantize":
            return figures.get("quantize", True)
        if key == "params":
            return view.params
        if key == "mb":
            return figures.get("mb", 0.0)
        if side is None:
            return None
        if key.endswith("bits"):
            return side.bits
        if not side.enabled:
            return None
        return side.clipped if key.endswith("clipped") else side.flushed

    def _overridden(self, row: int, column: int) -> bool:
        override = self.config.layers.get(self.views[row].name) if self.config is not None else None
        if override is None:
            return False
        return (override.weight_bits if KEYS[column] == "w_bits" else override.act_bits) is not None

    def data(self, index: Index, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if not index.isValid() or index.row() >= len(self.views):
            return None
        row, column, key = index.row(), index.column(), KEYS[index.column()]
        value = self._value(row, column)
        side = self._side(row, column) if key.startswith(("w_", "a_")) else None
        if role == Qt.ItemDataRole.DisplayRole:
            if key == "quantize" or (key.endswith("bits") and value is not None):
                return None  # a check box / a spin box
            if column in FRACTION_COLUMNS:
                return "float" if side is not None and not side.enabled else percent(value)
            if key == "params":
                return f"{value:,}" if value else "–"
            if key == "mb":
                return f"{value:.4f}" if self.views[row].weight is not None else "–"
            return "–" if value is None else str(value)
        if role == Qt.ItemDataRole.EditRole:
            return value
        if role == SORT_ROLE:
            if key == "layer":
                return row  # network order
            if key == "quantize":
                return int(bool(value))
            return -1.0 if value is None else float(value)
        if role == Qt.ItemDataRole.CheckStateRole and key == "quantize":
            return Qt.CheckState.Checked if value else Qt.CheckState.Unchecked
        if role == Qt.ItemDataRole.TextAlignmentRole and column > 0:
            return int(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        if role == Qt.ItemDataRole.BackgroundRole and column in FRACTION_COLUMNS and value is not None:
            warn, bad = (CLIP_WARN, CLIP_BAD) if key.endswith("clipped") else (FLUSH_WARN, FLUSH_BAD)
            if value >= bad:
                return QBrush(RED)
            if value >= warn:
                return QBrush(AMBER)
            return None
        if role == Qt.ItemDataRole.ForegroundRole and column > 1 and not self.figures(row).get("quantize", True):
            return QBrush(GREY)
        if role == Qt.ItemDataRole.FontRole and key.endswith("bits") and self._overridden(row, column):
            font = QFont()
            font.setBold(True)
            return font
        if role == Qt.ItemDataRole.ToolTipRole and side is not None:
            return self._tooltip(side)
        return None

    @staticmethod
    def _tooltip(side: Any) -> str:
        if not side.enabled:
            return "not quantized: computes in float"
        entry = side.entry
        kind = {"weight": "weights", "act": "activations"}.get(entry.kind, entry.kind)
        sign = "signed" if side.signed else "unsigned"
        return (f"{entry.name}: {kind} at {side.bits}-bit {sign}, range [{side.lo:.4g}, {side.hi:.4g}], "
                f"step {side.step:.3g}; data [{entry.min:.4g}, {entry.max:.4g}]; clipped {percent(side.clipped)}, "
                f"flushed to zero {percent(side.flushed)} (measured on the calibration images)")

    def flags(self, index: Index) -> Qt.ItemFlag:
        flags = Qt.ItemFlag.ItemIsEnabled | Qt.ItemFlag.ItemIsSelectable
        if not index.isValid():
            return flags
        key = KEYS[index.column()]
        if key == "quantize":
            return flags | Qt.ItemFlag.ItemIsUserCheckable
        if key.endswith("bits") and self.editable(index.row(), index.column()):
            return flags | Qt.ItemFlag.ItemIsEditable
        return flags

    def editable(self, row: int, column: int) -> bool:
        side = self._side(row, column)
        return side is not None and side.entry.quant is not None and self.figures(row).get("quantize", True)

    def setData(self, index: Index, value: Any, role: int = Qt.ItemDataRole.EditRole) -> bool:
        from foldwise.core.errors import InputError
        from foldwise.core.quantize.inspect import with_override

        if not index.isValid() or self.config is None:
            return False
        view, key = self.views[index.row()], KEYS[index.column()]
        try:
            if key == "quantize" and role == Qt.ItemDataRole.CheckStateRole:
                checked = value in (Qt.CheckState.Checked, Qt.CheckState.Checked.value, True)
                layers = with_override(self.config, view.name, quantize=checked)
                text = f"{'Quantize' if checked else 'Keep float'} {view.name}"
            elif key == "w_bits" and role == Qt.ItemDataRole.EditRole:
                if value == self._value(index.row(), index.column()):
                    return True
                layers = with_override(self.config, view.name, weight_bits=value)
                text = f"Weight bits of {view.name}"
            elif key == "a_bits" and role == Qt.ItemDataRole.EditRole:
                if value == self._value(index.row(), index.column()):
                    return True
                act_key = self._act_key(view)
                layers = with_override(self.config, act_key, act_bits=value)
                text = f"Activation bits of {act_key}"
            else:
                return False
        except InputError as exc:
            self.invalid.emit(exc)
            self.refresh()  # put the editors back to the config's values
            return False
        set_config(self.config, "layers", layers, text, self.undo_stack)  # config.events.layers → refresh()
        return True

    def _act_key(self, view: Any) -> str:
        """Where the activation's bits go: its own module's override if it has one, else its layer's."""
        act = view.act
        own = self.config.layers.get(act.module) if act is not None else None
        return act.module if own is not None and own.act_bits is not None else view.name


class BitsDelegate(QStyledItemDelegate):
    """A spin box (1–8) that writes to the model on every step, so figures follow as the user scrolls."""

    def createEditor(self, parent: QWidget, option: QStyleOptionViewItem, index: Index) -> QWidget:
        from foldwise.core.quantize.config import MAX_BITS, MIN_BITS

        spin = NumberField(MIN_BITS, MAX_BITS, parent=parent)
        spin.setFrame(False)
        spin.setAlignment(Qt.AlignmentFlag.AlignRight)
        spin.setObjectName("bitsSpin")
        spin.valueChanged.connect(lambda _v, s=spin: self.commitData.emit(s))
        spin.validityChanged.connect(lambda _ok, s=spin: self._say_why(s))
        return spin

    @staticmethod
    def _say_why(spin: NumberField) -> None:
        """A cell has no room for the field's message: it shows as a tooltip under the cell while it holds."""
        if spin.valid:
            QToolTip.hideText()
        else:
            QToolTip.showText(spin.mapToGlobal(QPoint(0, spin.height())), spin.problem(), spin)

    def setEditorData(self, editor: QWidget, index: Index) -> None:
        value = index.data(Qt.ItemDataRole.EditRole)
        editor.blockSignals(True)
        if value is not None:
            editor.setValue(int(value))
        font = index.data(Qt.ItemDataRole.FontRole)
        editor.setFont(font if font is not None else QFont())
        editor.setEnabled(bool(index.flags() & Qt.ItemFlag.ItemIsEditable))
        editor.lineEdit().deselect()  # setValue selects the text; a column of highlighted numbers reads as noise
        editor.blockSignals(False)

    def setModelData(self, editor: QWidget, model: Any, index: Index) -> None:
        if editor.isEnabled():
            model.setData(index, editor.value(), Qt.ItemDataRole.EditRole)


class LayerBitsTable(QTableView):
    """Sortable by any column (fractions by value, Layer by network order); emits ``layer_selected(name)``."""

    layer_selected = Signal(str)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("layerBitsTable")
        self.bits_model = LayerBitsModel(self)
        self.proxy = QSortFilterProxyModel(self)
        self.proxy.setSourceModel(self.bits_model)
        self.proxy.setSortRole(SORT_ROLE)
        self.proxy.setDynamicSortFilter(False)  # rows stay put while their bits are edited
        self.setModel(self.proxy)
        self.delegate = BitsDelegate(self)
        for column in BITS_COLUMNS:
            self.setItemDelegateForColumn(column, self.delegate)
        self.setSortingEnabled(True)
        self.sortByColumn(-1, Qt.SortOrder.AscendingOrder)
        self.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.setAlternatingRowColors(True)
        self.verticalHeader().hide()
        self.verticalHeader().setDefaultSectionSize(26)
        header = self.horizontalHeader()
        header.setMinimumSectionSize(24)
        header.setSectionResizeMode(QHeaderView.ResizeMode.Interactive)
        header.setSectionResizeMode(COL["layer"], QHeaderView.ResizeMode.Stretch)
        for key, width in WIDTHS.items():
            self.setColumnWidth(COL[key], width)
        self.selectionModel().selectionChanged.connect(self._selection)
        self.bits_model.modelReset.connect(self._open_editors)

    def sizeHint(self) -> QSize:
        return QSize(sum(WIDTHS.values()) + 120, 190)

    def set_views(self, views: list[Any]) -> None:
        selected = self.selected_layer()
        self.bits_model.set_views(views)
        column, order = self.horizontalHeader().sortIndicatorSection(), self.horizontalHeader().sortIndicatorOrder()
        if 0 <= column < len(COLUMNS):
            self.proxy.sort(column, order)
        if views:
            self.select_layer(selected if selected and self.bits_model.row_of(selected) >= 0 else views[0].name)

    def _open_editors(self) -> None:
        for row in range(self.proxy.rowCount()):
            for column in BITS_COLUMNS:
                index = self.proxy.index(row, column)
                if index.data(Qt.ItemDataRole.EditRole) is not None:
                    self.openPersistentEditor(index)
                    editor = self.indexWidget(index)
                    if isinstance(editor, NumberField):  # the view selects an opened editor's text; nobody typed yet
                        QTimer.singleShot(0, editor.lineEdit().deselect)

    def editor(self, layer: str, column: str) -> NumberField | None:
        """The spin box of ``layer``'s ``w_bits``/``a_bits`` cell (for tests and keyboard focus)."""
        row = self.bits_model.row_of(layer)
        if row < 0:
            return None
        widget = self.indexWidget(self.proxy.mapFromSource(self.bits_model.index(row, COL[column])))
        return widget if isinstance(widget, NumberField) else None

    def source_index(self, layer: str, column: str) -> QModelIndex:
        return self.bits_model.index(self.bits_model.row_of(layer), COL[column])

    def layer_order(self) -> list[str]:
        """Layer names as displayed (after sorting)."""
        return [self.proxy.index(r, 0).data(Qt.ItemDataRole.DisplayRole) for r in range(self.proxy.rowCount())]

    def selected_layer(self) -> str | None:
        rows = self.selectionModel().selectedRows() if self.selectionModel() else []
        if not rows:
            return None
        return self.bits_model.views[self.proxy.mapToSource(rows[0]).row()].name

    def select_layer(self, name: str) -> None:
        row = self.bits_model.row_of(name)
        if row >= 0:
            index = self.proxy.mapFromSource(self.bits_model.index(row, 0))
            self.selectRow(index.row())
            self.scrollTo(index)

    def _selection(self) -> None:
        name = self.selected_layer()
        if name is not None:
            self.layer_selected.emit(name)
