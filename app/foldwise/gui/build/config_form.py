"""The "Advanced" form, generated from finn-plus's DataflowBuildConfig JSON schema (no field is written here).

Each :class:`~foldwise.core.finn.config_schema.SettingField` gets an editor by kind: a check box, a line edit
(numbers checked as typed, the reason under a wrong one; empty = None where allowed), a combo box or a set of
check boxes; the field's doc comment is
its tooltip. Changed fields show in bold; :meth:`SettingsForm.settings` returns only what differs from
FINN's defaults.
"""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QFormLayout,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QScrollArea,
    QVBoxLayout,
    QWidget,
)

from foldwise.core.finn.config_schema import SettingField, changed_settings
from foldwise.gui.fields import MESSAGE_STYLE

NONE_TEXT = "(none)"


class _Editor:
    """One field's widget and how to read/write its value."""

    def __init__(self, spec: SettingField, on_change: Any) -> None:
        self.spec = spec
        self.widget: QWidget
        kind = spec.kind
        if kind == "bool":
            box = QCheckBox()
            box.toggled.connect(on_change)
            self.widget = box
        elif kind in ("int", "float", "str"):
            # a number is checked as typed, and a wrong one stays with its reason under it (a validator or a
            # spin box would drop the keystrokes without a word)
            edit = QLineEdit()
            if spec.nullable:
                edit.setPlaceholderText("none")
            edit.textChanged.connect(self._check)
            edit.textChanged.connect(on_change)
            self.widget = edit
        elif kind == "enum":
            combo = QComboBox()
            if spec.nullable:
                combo.addItem(NONE_TEXT, None)
            for choice in spec.choices:
                combo.addItem(choice, choice)
            combo.currentIndexChanged.connect(on_change)
            self.widget = combo
        else:  # enum_list
            holder = QWidget()
            col = QVBoxLayout(holder)
            col.setContentsMargins(0, 0, 0, 0)
            col.setSpacing(1)
            self.boxes = {c: QCheckBox(c) for c in spec.choices}
            for box in self.boxes.values():
                box.toggled.connect(on_change)
                col.addWidget(box)
            self.widget = holder
        if isinstance(self.widget, QLineEdit | QComboBox):
            self.widget.setMaximumWidth(420)
        self.message = QLabel()
        self.message.setObjectName("fieldMessage")
        self.message.setStyleSheet(MESSAGE_STYLE)
        self.message.hide()
        self.row = QWidget()  # the editor with its message under it: one row of the form
        column = QVBoxLayout(self.row)
        column.setContentsMargins(0, 0, 0, 0)
        column.setSpacing(1)
        column.addWidget(self.widget)
        column.addWidget(self.message)
        self.widget.setObjectName(f"setting_{spec.name}")
        if spec.description:
            self.widget.setToolTip(spec.description)
        self.set(spec.default)

    def problem(self) -> str:
        """Why the typed text is no value of this field ('' when it is one)."""
        kind = self.spec.kind
        if kind not in ("int", "float") or not isinstance(self.widget, QLineEdit):
            return ""
        text = self.widget.text().strip()
        if not text:
            return "" if self.spec.nullable else "Must be a number (it has no “none”)"
        try:
            int(text) if kind == "int" else float(text)
        except ValueError:
            return f"Must be a {'whole ' if kind == 'int' else ''}number (not “{text}”)"
        return ""

    def _check(self) -> None:
        problem = self.problem()
        self.message.setText(problem)
        self.message.setVisible(bool(problem))

    def get(self) -> Any:
        w, kind = self.widget, self.spec.kind
        if isinstance(w, QCheckBox):
            return w.isChecked()
        if isinstance(w, QComboBox):
            return w.currentData()
        if isinstance(w, QLineEdit):
            text = w.text().strip()
            if not text:
                return None if self.spec.nullable else ("" if kind == "str" else self.spec.default)
            try:
                return int(text) if kind == "int" else float(text) if kind == "float" else text
            except ValueError:
                return self.spec.default
        chosen = [c for c, box in self.boxes.items() if box.isChecked()]
        return chosen if chosen or not self.spec.nullable else None

    def set(self, value: Any) -> None:
        w = self.widget
        if isinstance(w, QCheckBox):
            w.setChecked(bool(value))
        elif isinstance(w, QComboBox):
            w.setCurrentIndex(max(w.findData(value), 0))
        elif isinstance(w, QLineEdit):
            w.setText("" if value is None else str(value))
        else:
            for choice, box in self.boxes.items():
                box.setChecked(choice in (value or []))


class SettingsForm(QWidget):
    """Group boxes of generated editors, a filter, and 'Reset to FINN defaults'. ``changed(dict)`` emits the
    settings that differ from the defaults whenever an editor changes."""

    changed = Signal(dict)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._fields: list[SettingField] = []
        self._editors: dict[str, _Editor] = {}
        self._pending: tuple[list[SettingField], list[str] | None, str] | None = None
        self.labels: dict[str, QLabel] = {}
        self.groups: dict[str, QGroupBox] = {}
        self._loading = False
        self.intro = QLabel("<i>FINN's build settings load from finn-plus when the FINN worker starts "
                            "(open a model).</i>")
        self.intro.setWordWrap(True)
        self.filter = QLineEdit()
        self.filter.setPlaceholderText("Filter settings…")
        self.filter.setClearButtonEnabled(True)
        self.filter.textChanged.connect(self._apply_filter)
        self.summary = QLabel()
        self.reset_button = QPushButton("Reset to FINN defaults")
        self.reset_button.clicked.connect(self.reset)
        bar = QHBoxLayout()
        bar.addWidget(self.filter, 1)
        bar.addWidget(self.summary)
        bar.addWidget(self.reset_button)
        self.body = QWidget()
        self.body_layout = QVBoxLayout(self.body)
        self.body_layout.setContentsMargins(0, 0, 4, 0)
        scroll = QScrollArea()
        scroll.setWidgetResizable(True)
        scroll.setFrameShape(QScrollArea.Shape.NoFrame)
        scroll.setWidget(self.body)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(4, 4, 4, 4)
        layout.addWidget(self.intro)
        layout.addLayout(bar)
        layout.addWidget(scroll, 1)
        self._update_summary()

    @property
    def fields(self) -> list[SettingField]:
        self._build_pending()
        return self._fields

    @fields.setter
    def fields(self, fields: list[SettingField]) -> None:
        self._fields = fields

    @property
    def editors(self) -> dict[str, _Editor]:
        self._build_pending()
        return self._editors

    @editors.setter
    def editors(self, editors: dict[str, _Editor]) -> None:
        self._editors = editors

    @property
    def has_fields(self) -> bool:
        """Fields were given (built or waiting to be built), without building them."""
        return bool(self._fields) or self._pending is not None

    def offer_fields(self, fields: list[SettingField], skipped: list[str] | None = None, note: str = "") -> None:
        """``set_fields`` now if the form is on screen, else when it is first shown or read: building some 60
        editors holds the GUI thread 30-90 ms, a visible stall while jobs run if nobody looks at the form."""
        self._pending = (list(fields), skipped, note)
        if self.isVisible():
            self._build_pending()

    def _build_pending(self) -> None:
        if self._pending is not None:
            pending, self._pending = self._pending, None
            self.set_fields(*pending)

    def showEvent(self, event: Any) -> None:
        self._build_pending()
        super().showEvent(event)

    def set_fields(self, fields: list[SettingField], skipped: list[str] | None = None, note: str = "") -> None:
        """Build the editors (keeps current non-default values for fields that still exist)."""
        keep = self.settings()
        while self.body_layout.count():
            item = self.body_layout.takeAt(0)
            if item.widget() is not None:
                item.widget().deleteLater()
        self.fields, self.editors, self.labels, self.groups = list(fields), {}, {}, {}
        self._loading = True
        for spec in fields:
            box = self.groups.get(spec.group)
            if box is None:
                box = self.groups[spec.group] = QGroupBox(spec.group.replace("&", "&&"))
                form = QFormLayout(box)
                form.setFieldGrowthPolicy(QFormLayout.FieldGrowthPolicy.AllNonFixedFieldsGrow)
                form.setLabelAlignment(Qt.AlignmentFlag.AlignRight)
            editor = _Editor(spec, self._edited)
            label = QLabel(spec.label)
            label.setToolTip(f"{spec.name}\n\n{spec.description}" if spec.description else spec.name)
            self.editors[spec.name], self.labels[spec.name] = editor, label
            form = box.layout()
            assert isinstance(form, QFormLayout)
            form.addRow(label, editor.row)
        order = ["Folding & data types", "FIFOs", "Verification", "Synthesis & platform", "Debug & instrumentation"]
        for name in sorted(self.groups, key=lambda g: order.index(g) if g in order else len(order)):
            self.body_layout.addWidget(self.groups[name])
        if skipped:
            more = QLabel(f"<small>Not editable here (nested or code-valued): {', '.join(skipped)}. Board, clock, "
                          "folding, outputs and steps come from the panel.</small>")
            more.setWordWrap(True)
            self.body_layout.addWidget(more)
        self.body_layout.addStretch(1)
        self.intro.setText(note or f"<b>{len(fields)}</b> settings of finn-plus's DataflowBuildConfig, read from "
                                   "its schema. They apply to Estimate, HLS and full builds; the live "
                                   "re-estimate uses FINN's defaults.")
        self.set_settings(keep)
        self._loading = False
        self._update_summary()

    def problem(self) -> str:
        """The first setting whose typed text is no value ('' when all are), for the Build panel's buttons."""
        for spec in self._fields:
            editor = self._editors.get(spec.name)
            if editor is not None and editor.problem():
                return f"Fix the setting {spec.label} (Advanced settings) first: {editor.problem()}"
        return ""

    def values(self) -> dict[str, Any]:
        return {name: editor.get() for name, editor in self.editors.items()}

    def settings(self) -> dict[str, Any]:
        """Only the values that differ from FINN's defaults (fields not built yet were never edited)."""
        return changed_settings({name: editor.get() for name, editor in self._editors.items()}, self._fields)

    def set_settings(self, settings: dict[str, Any]) -> None:
        self._loading = True
        for spec in self.fields:
            self.editors[spec.name].set(settings.get(spec.name, spec.default))
        self._loading = False
        self._edited()

    def reset(self) -> None:
        self.set_settings({})

    def _edited(self, *_args: Any) -> None:
        if self._loading:
            return
        changed = self.settings()
        for name, label in self.labels.items():
            font = label.font()
            font.setBold(name in changed)
            label.setFont(font)
        self._update_summary()
        self.changed.emit(changed)

    def _update_summary(self) -> None:
        n = len(self.settings()) if self.fields else 0
        self.summary.setText(f"{n} changed" if n else "FINN defaults")
        self.reset_button.setEnabled(n > 0)

    def _apply_filter(self, text: str) -> None:
        text = text.strip().lower()
        for spec in self.fields:
            match = not text or text in spec.name.lower() or text in spec.description.lower()
            box = self.groups[spec.group]
            form = box.layout()
            assert isinstance(form, QFormLayout)
            form.setRowVisible(self.editors[spec.name].row, match)
        for name, box in self.groups.items():
            box.setVisible(any(not text or text in f.name.lower() or text in f.description.lower()
                               for f in self.fields if f.group == name))
