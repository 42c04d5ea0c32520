"""Number fields say why a typed value is refused, next to the field, and the panel's Run/Start buttons wait
until it is fixed (#14: 99 bits, "abc" as a learning rate and −5 epochs were refused without a word)."""

from __future__ import annotations

import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QWidget

import foldwise.core.quantize.inspect  # noqa: F401 - loaded up front, so the Quantize panel binds synchronously
from foldwise.gui.fields import FieldGate, NumberField, with_messages
from foldwise.gui.main_window import MainWindow
from tests.gui.conftest import show_panel


def type_into(qtbot, field: NumberField, text: str) -> None:
    field.lineEdit().selectAll()
    qtbot.keyClicks(field.lineEdit(), text)


@pytest.fixture
def window(float_window: MainWindow) -> MainWindow:
    return float_window


def test_typed_text_stays_with_its_reason_and_the_last_valid_value(qtbot) -> None:
    holder = with_messages(field := NumberField(1, 8, 4, suffix=" bit"))
    qtbot.addWidget(holder)
    holder.show()
    seen: list[object] = []
    field.valueChanged.connect(seen.append)
    type_into(qtbot, field, "99")
    assert field.text() == "99" and not field.valid and field.value() == 4
    assert field.message.isVisible() and field.message.text() == "Must be at most 8 bit (not 99)"
    type_into(qtbot, field, "6")
    assert field.valid and field.value() == 6 and seen == [6] and not field.message.isVisible()
    qtbot.keyClick(field, Qt.Key.Key_Up)
    assert field.value() == 7 and field.text() == "7 bit" and seen == [6, 7]
    type_into(qtbot, field, "2.5")
    assert field.problem() == "Must be a whole number (not 2.5)"
    field.setValue(3)  # a value set by the program is valid again
    assert field.valid and field.text() == "3 bit"


def test_gate_follows_every_field(qtbot) -> None:
    widget = QWidget()
    qtbot.addWidget(widget)
    a, b = NumberField(0, 10, 1, parent=widget), NumberField(0.0, 1.0, 0.5, decimals=2, parent=widget)
    gate = FieldGate([a, b])
    changes: list[bool] = []
    gate.changed.connect(lambda: changes.append(gate.ok))
    type_into(qtbot, b, "x")
    assert not gate.ok and gate.reason() == "Fix the field first: Must be a number (not “x”)"
    type_into(qtbot, a, "-1")
    type_into(qtbot, b, "0.25")
    assert not gate.ok and "at least 0" in gate.reason()
    type_into(qtbot, a, "2")
    assert gate.ok and gate.reason() == "" and changes[-1] is True and b.value() == 0.25


def test_bits_out_of_range_in_quantize(window: MainWindow, qtbot) -> None:
    quantize = show_panel(window, "Quantize")
    bits = quantize.defaults.weight_bits
    assert quantize.quantize_button.isEnabled() and quantize.preview_button.isEnabled()
    before = quantize.config.weight_bits
    type_into(qtbot, bits, "99")
    assert bits.message.isVisible() and "at most 8" in bits.message.text()
    assert not quantize.quantize_button.isEnabled() and not quantize.preview_button.isEnabled()
    assert not quantize.qat_button.isEnabled() and quantize.config.weight_bits == before
    assert quantize.start_quantize() is None and "at most 8" in window.statusBar().currentMessage()
    type_into(qtbot, bits, "4")
    assert not bits.message.isVisible() and quantize.config.weight_bits == 4
    assert quantize.quantize_button.isEnabled() and quantize.preview_button.isEnabled()


def test_learning_rate_and_epochs_in_train(window: MainWindow, qtbot) -> None:
    network = show_panel(window, "Network")
    assert network.train_button.isEnabled()
    type_into(qtbot, network.lr, "abc")
    assert network.lr.text() == "abc" and network.lr.message.text() == "Must be a number (not “abc”)"
    assert network.lr.message.isVisible() and not network.train_button.isEnabled()
    assert "not “abc”" in network.train_button.toolTip()
    type_into(qtbot, network.lr, "0.001")
    assert network.train_button.isEnabled() and network.lr.value() == 0.001

    epochs = network.epochs.value()
    type_into(qtbot, network.epochs, "-5")
    assert network.epochs.text() == "-5", "the minus sign is kept, not dropped into 5 epochs"
    assert network.epochs.message.text() == "Must be at least 1 (not -5)" and network.epochs.value() == epochs
    assert not network.train_button.isEnabled() and network.start_training() is None
    assert network.train_config().epochs == epochs
    type_into(qtbot, network.epochs, "5")
    assert network.train_button.isEnabled() and network.train_config().epochs == 5
