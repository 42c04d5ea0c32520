"""Undo where the edit was made (#14 point 3): each panel owns its undo stack, the Edit menu acts on the shown
panel's and says which panel's action it undoes; Quantize setting edits are undoable commands."""

from __future__ import annotations

import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QApplication

import foldwise.core.quantize.inspect  # noqa: F401 - loaded up front, so the Quantize panel binds synchronously
from foldwise.gui.main_window import MainWindow
from tests.gui.conftest import show_panel

NODES = [{"name": "MVAU_hls_0", "legal": {"PE": [1, 2, 4], "SIMD": [1, 2]}, "attrs": {"PE": 1, "SIMD": 1}}]


@pytest.fixture
def window(float_window: MainWindow) -> MainWindow:
    return float_window


def autofit_folding(window: MainWindow) -> None:
    """The edit Build's auto-fit makes: a whole folding loaded into the editor, one undoable command."""
    build = show_panel(window, "Build")
    model = build.folding_model
    model.set_nodes(NODES, "sha-of-the-model")
    model.change(model.with_folding({"MVAU_hls_0": {"PE": 4, "SIMD": 2}}), "Auto-fit folding")
    assert model.values["MVAU_hls_0"] == {"PE": 4, "SIMD": 2}


def test_undo_in_quantize_never_undoes_a_build_edit(window: MainWindow) -> None:
    autofit_folding(window)
    build = show_panel(window, "Build")
    show_panel(window, "Quantize")
    window.undo_action.trigger()  # what Ctrl+Z does (the Edit menu's action holds the shortcut)
    assert build.folding_model.values["MVAU_hls_0"] == {"PE": 4, "SIMD": 2}
    assert build.undo_stack.canUndo()
    show_panel(window, "Build")
    window.undo_action.trigger()
    assert build.folding_model.values["MVAU_hls_0"] == {"PE": 1, "SIMD": 1}


def test_edit_menu_names_the_panel_and_its_action(window: MainWindow) -> None:
    autofit_folding(window)
    assert window.undo_action.text() == "&Undo Build: Auto-fit folding"
    assert window.undo_action.isEnabled()
    show_panel(window, "Quantize")
    assert window.undo_action.text() == "&Undo" and not window.undo_action.isEnabled()
    show_panel(window, "Build")
    window.undo_action.trigger()
    assert window.redo_action.text() == "&Redo Build: Auto-fit folding"


def test_quantize_bit_edit_is_undone_by_ctrl_z_there(window: MainWindow, qtbot) -> None:
    quantize = show_panel(window, "Quantize")
    assert quantize.config is not None and quantize.config.weight_bits != 3
    before = quantize.config.weight_bits
    spin = quantize.defaults.weight_bits
    window.activateWindow()
    qtbot.waitUntil(lambda: QApplication.activeWindow() is window, timeout=5000)
    spin.setFocus()
    qtbot.waitUntil(spin.hasFocus, timeout=5000)
    qtbot.keyClick(spin, Qt.Key.Key_Down)  # two steps down: one edit (steps of one field merge)
    qtbot.keyClick(spin, Qt.Key.Key_Down)
    assert quantize.config.weight_bits == before - 2
    assert window.undo_action.text() == "&Undo Quantize: Set default weight bits"
    qtbot.keyClick(spin, Qt.Key.Key_Z, Qt.KeyboardModifier.ControlModifier)  # in the spin box itself
    assert quantize.config.weight_bits == before and spin.value() == before
    window.redo_action.trigger()
    assert quantize.config.weight_bits == before - 2


def test_iterations_dock_edits_undo_in_the_dock(window: MainWindow) -> None:
    from foldwise.gui.undo import RenameIteration

    autofit_folding(window)
    build = show_panel(window, "Build")
    dock = window.iterations_dock
    dock.push(RenameIteration(window.project, "0001", "first"))
    assert window.undo_action.text() == "&Undo Iterations: Rename iteration 0001"
    window.undo_action.trigger()
    assert window.project.get("0001").name == "base"
    assert build.folding_model.values["MVAU_hls_0"] == {"PE": 4, "SIMD": 2}  # the Build edit is still there
