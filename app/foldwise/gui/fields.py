"""Number fields that say why a typed value is refused, next to the field, instead of silently dropping it.

A Qt spin box refuses a keystroke that would leave its range (typing 99 into a 1–8 bit field does nothing, −5
epochs becomes 5, "abc" never appears). :class:`NumberField` keeps the text as typed instead, shows the reason
in its :attr:`~NumberField.message` label ("Must be at most 8 bit (not 99)") and is not :attr:`valid` until it
is fixed; :meth:`value` stays the last valid value. It keeps the spin box's API (``value``/``setValue``/
``valueChanged``, ``setRange``, ``setSuffix``, steps with the arrows, keys and wheel), so panels swap it in.

:class:`FieldGate` watches a panel's fields: its ``changed`` signal tells the panel to refresh its buttons, and
:attr:`FieldGate.ok` is False while one field is invalid (Run/Start disabled, with :meth:`FieldGate.reason`
as the button's tooltip). :func:`with_messages` lays a field (or a row of them) out with the messages under it.
"""

from __future__ import annotations

import math
from collections.abc import Iterable

from PySide6.QtCore import QEvent, QObject, QSize, Signal
from PySide6.QtGui import QKeySequence, QValidator
from PySide6.QtWidgets import (
    QAbstractSpinBox,
    QHBoxLayout,
    QLabel,
    QLayout,
    QStyle,
    QStyleOptionSpinBox,
    QVBoxLayout,
    QWidget,
)

Number = int | float
MESSAGE_STYLE = "color: #b3261e; font-size: small;"


class NumberField(QAbstractSpinBox):
    """A whole (``decimals=0``) or decimal number in ``[minimum, maximum]``, checked as it is typed."""

    valueChanged = Signal(object)  # a new valid value (int, or float with decimals)
    validityChanged = Signal(bool)

    def __init__(self, minimum: Number = 0, maximum: Number = 99, value: Number | None = None, *,
                 decimals: int = 0, step: Number = 1, suffix: str = "", parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._decimals = decimals
        self._min, self._max = self._number(minimum), self._number(maximum)
        self._step = self._number(step)
        self._prefix, self._suffix, self._groups = "", suffix, False
        self._value = self._clamp(self._number(value if value is not None else minimum))
        self._emitted = self._value  # the value listeners were last told
        self._problem = ""
        self.message = QLabel()
        self.message.setObjectName("fieldMessage")
        self.message.setStyleSheet(MESSAGE_STYLE)
        self.message.setWordWrap(True)
        self.message.hide()
        self.lineEdit().textEdited.connect(self._typed)
        self.editingFinished.connect(self._finished)
        self._show(self._value)

    # ----------------------------------------------------------------- spin box API
    def value(self) -> Number:
        """The last valid value (what is typed, when :attr:`valid`)."""
        return self._value

    def setValue(self, value: Number) -> None:
        self._set(self._clamp(self._number(value)), emit=True)

    def minimum(self) -> Number:
        return self._min

    def maximum(self) -> Number:
        return self._max

    def setRange(self, minimum: Number, maximum: Number) -> None:
        self._min, self._max = self._number(minimum), self._number(maximum)
        self._set(self._clamp(self._value), emit=True)
        self.updateGeometry()

    def setMinimum(self, minimum: Number) -> None:
        self.setRange(minimum, max(minimum, self._max))

    def setMaximum(self, maximum: Number) -> None:
        self.setRange(min(self._min, maximum), maximum)

    def setSingleStep(self, step: Number) -> None:
        self._step = self._number(step)

    def setDecimals(self, decimals: int) -> None:
        self._decimals = decimals
        self._min, self._max, self._step = map(self._number, (self._min, self._max, self._step))
        self._set(self._number(self._value), emit=False)
        self.updateGeometry()

    def setSuffix(self, suffix: str) -> None:
        self._suffix = suffix
        self._reshow()

    def setPrefix(self, prefix: str) -> None:
        self._prefix = prefix
        self._reshow()

    def setGroupSeparatorShown(self, shown: bool) -> None:
        self._groups = shown
        self._reshow()

    def setSpecialValueText(self, text: str) -> None:
        super().setSpecialValueText(text)
        self._reshow()

    def _reshow(self) -> None:
        self._show(self._value)
        self.updateGeometry()

    # ----------------------------------------------------------------- validity
    @property
    def valid(self) -> bool:
        return not self._problem

    def problem(self) -> str:
        """Why the typed text is refused ('' when it is valid)."""
        return self._problem

    def text_for(self, value: Number, special: bool = True) -> str:
        """How ``value`` is shown (with prefix and suffix; the special value text for the minimum)."""
        if special and self.specialValueText() and value == self._min:
            return self.specialValueText()
        number = f"{value:,.{self._decimals}f}" if self._groups else f"{value:.{self._decimals}f}"
        return f"{self._prefix}{number}{self._suffix}"

    def parse(self, text: str) -> tuple[Number | None, str]:
        """(value, '') for text that is a number in range, else (None, why not)."""
        raw = text.strip()
        if self.specialValueText() and raw == self.specialValueText().strip():
            return self._min, ""
        prefix, suffix = self._prefix.strip(), self._suffix.strip()
        if prefix and raw.startswith(prefix):
            raw = raw[len(prefix):].strip()
        if suffix and raw.endswith(suffix):
            raw = raw[: -len(suffix)].strip()
        if not raw:
            return None, "Enter a number"
        shown = raw
        raw = raw.replace(",", "").replace("_", "").replace("\u2212", "-").replace(" ", "")
        try:
            number = float(raw)
        except ValueError:
            number = math.nan
        if not math.isfinite(number):
            return None, f"Must be a number (not “{shown}”)"
        if self._decimals == 0 and not number.is_integer():
            return None, f"Must be a whole number (not {shown})"
        value = self._number(number)
        if value < self._min:
            return None, f"Must be at least {self.text_for(self._min, special=False)} (not {shown})"
        if value > self._max:
            return None, f"Must be at most {self.text_for(self._max, special=False)} (not {shown})"
        return value, ""

    # ----------------------------------------------------------------- Qt
    def validate(self, text: str, pos: int) -> object:
        # Never Invalid: a refused keystroke is what left users without a word; the message says why instead
        value, _why = self.parse(text)
        state = QValidator.State.Acceptable if value is not None else QValidator.State.Intermediate
        return state, text, pos

    def fixup(self, text: str) -> str:
        return text  # the typed text stays (with its message) until the user fixes it

    def stepBy(self, steps: int) -> None:
        self._set(self._clamp(self._number(self._value + steps * self._step)), emit=True)
        self.selectAll()

    def stepEnabled(self) -> QAbstractSpinBox.StepEnabledFlag:
        flags = QAbstractSpinBox.StepEnabledFlag.StepNone
        if self.isReadOnly():
            return flags
        if self._value < self._max or not self.valid:
            flags |= QAbstractSpinBox.StepEnabledFlag.StepUpEnabled
        if self._value > self._min or not self.valid:
            flags |= QAbstractSpinBox.StepEnabledFlag.StepDownEnabled
        return flags

    def event(self, event: QEvent) -> bool:
        # Ctrl+Z / Ctrl+Shift+Z are the panel's undo (the line edit's own history is one number long): a number
        # field lets them through to the Edit menu instead of taking them as text edits
        if event.type() == QEvent.Type.ShortcutOverride and (
                event.matches(QKeySequence.StandardKey.Undo) or event.matches(QKeySequence.StandardKey.Redo)):
            event.ignore()
            return False
        return super().event(event)

    def sizeHint(self) -> QSize:
        return self._size(super().sizeHint())

    def minimumSizeHint(self) -> QSize:
        return self._size(super().minimumSizeHint())

    def _size(self, base: QSize) -> QSize:
        texts = [self.text_for(v) for v in (self._min, self._max, self._value)]
        width = max(self.fontMetrics().horizontalAdvance(t + " ") for t in texts) + 2  # + the cursor
        option = QStyleOptionSpinBox()
        self.initStyleOption(option)
        size = self.style().sizeFromContents(QStyle.ContentsType.CT_SpinBox, option,
                                             QSize(width, self.lineEdit().sizeHint().height()), self)
        return QSize(max(size.width(), 0), max(size.height(), base.height()))

    # ----------------------------------------------------------------- internals
    def _number(self, value: Number) -> Number:
        return round(value) if self._decimals == 0 else round(float(value), self._decimals)

    def _clamp(self, value: Number) -> Number:
        return min(max(value, self._min), self._max)

    def _show(self, value: Number) -> None:
        edit = self.lineEdit()
        text = self.text_for(value)
        if edit.text() != text:
            edit.setText(text)

    def _set(self, value: Number, emit: bool) -> None:
        self._value = value
        self._show(value)
        self._set_problem("")
        if emit:
            self._emit()
        else:
            self._emitted = value

    def _emit(self) -> None:
        if self._value != self._emitted:
            self._emitted = self._value
            self.valueChanged.emit(self._value)

    def _typed(self, text: str) -> None:
        value, why = self.parse(text)
        self._set_problem(why)
        if value is not None:
            self._value = value
            if self.keyboardTracking():
                self._emit()

    def _finished(self) -> None:
        if self.valid:
            self._show(self._value)  # "6" typed reads "6 bit" again
            self._emit()

    def _set_problem(self, why: str) -> None:
        if why == self._problem:
            return
        self._problem = why
        self.message.setText(why)
        self.message.setVisible(bool(why))
        self.validityChanged.emit(not why)


class FieldGate(QObject):
    """A panel's number fields: ``changed`` when one becomes valid or invalid; :attr:`ok` while all are valid."""

    changed = Signal()

    def __init__(self, fields: Iterable[NumberField] = (), parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.fields: list[NumberField] = []
        self.add(*fields)

    def add(self, *fields: NumberField) -> None:
        for field in fields:
            self.fields.append(field)
            field.validityChanged.connect(lambda _ok: self.changed.emit())

    @property
    def ok(self) -> bool:
        return all(field.valid for field in self.fields)

    def reason(self) -> str:
        """'' when every field is valid, else the first problem (for the disabled button's tooltip)."""
        return next((f"Fix the field first: {f.problem()}" for f in self.fields if not f.valid), "")


def with_messages(content: QWidget | QLayout, *fields: NumberField) -> QWidget:
    """``content`` (a field, or a row holding fields) with the fields' messages under it, as one widget."""
    holder = QWidget()
    box = QVBoxLayout(holder)
    box.setContentsMargins(0, 0, 0, 0)
    box.setSpacing(1)
    if isinstance(content, QLayout):
        box.addLayout(content)
    else:
        box.addWidget(content)
    if not fields and isinstance(content, NumberField):
        fields = (content,)
    for field in fields:
        box.addWidget(field.message)
    return holder


def field_row(*widgets: QWidget) -> QHBoxLayout:
    """Widgets side by side (a row for :func:`with_messages`)."""
    row = QHBoxLayout()
    row.setContentsMargins(0, 0, 0, 0)
    for widget in widgets:
        row.addWidget(widget)
    return row
