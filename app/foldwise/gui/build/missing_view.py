"""What's missing: the Xilinx tools and FINN pieces found on this machine, and what each FINN output needs.

Fed by :func:`foldwise.core.finn.tools.what_is_missing` (file-system look-ups only, never imports FINN).
"""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import QGridLayout, QGroupBox, QHBoxLayout, QLabel, QPushButton, QVBoxLayout, QWidget

from foldwise.core.finn.tools import SUPPORTED_VIVADO

OUTPUT_TITLES = {
    "estimate": "Estimate reports",
    "hls_codegen": "HLS C++ code",
    "rtlsim": "RTL simulation",
    "bitfile": "Bitfile + driver",
}
OK = "<span style='color:#1e7e34'>✔</span>"
NO = "<span style='color:#b03a2e'>✘</span>"


def missing_reason(state: dict[str, Any], output: str) -> str:
    """'' if ``output`` can be built here, else a one-line reason naming what is missing."""
    info = state.get("outputs", {}).get(output)
    if info is None or info["available"]:
        return ""
    return f"Needs {', '.join(info['missing'])} (not found on this machine)."


class MissingView(QWidget):
    """Tools found (with versions and paths) and, per output, available or what it still needs."""

    refresh_requested = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.state: dict[str, Any] = {}
        self.tool_labels: dict[str, QLabel] = {}
        self.output_labels: dict[str, QLabel] = {}
        tools_box = QGroupBox("Tools on this machine")
        self.tools_grid = QGridLayout(tools_box)
        self.tools_grid.setColumnStretch(2, 1)
        outputs_box = QGroupBox("What each output needs")
        self.outputs_grid = QGridLayout(outputs_box)
        self.outputs_grid.setColumnStretch(2, 1)
        hint = QLabel(
            f"Full builds need Vivado and Vitis HLS <b>{' or '.join(SUPPORTED_VIVADO)}</b> (source settings64.sh "
            "before starting Foldwise) and <code>finn deps update</code> once (finn-hlslib and board files). "
            "Estimates and HLS code generation need none of them.")
        hint.setWordWrap(True)
        hint.setObjectName("missingHint")
        self.refresh_button = QPushButton("Check again")
        self.refresh_button.setToolTip("Look for Vivado, Vitis HLS and FINN's dependencies again")
        self.refresh_button.clicked.connect(self.refresh_requested.emit)
        bottom = QHBoxLayout()
        bottom.addWidget(hint, 1)
        bottom.addWidget(self.refresh_button, 0, Qt.AlignmentFlag.AlignTop)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(4, 4, 4, 4)
        layout.addWidget(tools_box)
        layout.addWidget(outputs_box)
        layout.addLayout(bottom)
        layout.addStretch(1)

    @staticmethod
    def _clear(grid: QGridLayout) -> None:
        while grid.count():
            item = grid.takeAt(0)
            if item.widget() is not None:
                item.widget().deleteLater()

    def set_state(self, state: dict[str, Any]) -> None:
        self.state = state
        tools = state.get("tools", {})
        deps = tools.get("finn_deps") or {}
        rows = [
            ("finn-plus", tools.get("finn_plus"), f"version {tools.get('finn_plus')}" if tools.get("finn_plus")
             else "not installed: pip install --no-deps finn-plus==1.6.1"),
            ("Vivado", tools.get("vivado"), self._tool_text(tools.get("vivado"))),
            ("Vitis HLS", tools.get("vitis_hls"), self._tool_text(tools.get("vitis_hls"))),
            ("finn deps", deps.get("finn_hlslib"), (f"finn-hlslib in {deps.get('dir')}" if deps.get("finn_hlslib")
                                                    else "not fetched: run `finn deps update`")),
            ("Board files", deps.get("board_files"), ", ".join(deps.get("board_files") or []) or "none installed"),
        ]
        self._clear(self.tools_grid)
        self.tool_labels = {}
        for r, (name, present, text) in enumerate(rows):
            self.tools_grid.addWidget(QLabel(OK if present else NO), r, 0)
            self.tools_grid.addWidget(QLabel(f"<b>{name}</b>"), r, 1)
            label = QLabel(text)
            label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
            label.setWordWrap(True)
            self.tool_labels[name] = label
            self.tools_grid.addWidget(label, r, 2)
        self._clear(self.outputs_grid)
        self.output_labels = {}
        for r, (key, info) in enumerate(state.get("outputs", {}).items()):
            self.outputs_grid.addWidget(QLabel(OK if info["available"] else NO), r, 0)
            self.outputs_grid.addWidget(QLabel(f"<b>{OUTPUT_TITLES.get(key, key)}</b>"), r, 1)
            if info["available"]:
                text = f"available — {info['note']}"
            else:
                text = f"not available: needs {', '.join(info['missing'])} — {info['note']}"
            label = QLabel(text)
            label.setObjectName(f"output_{key}")
            label.setWordWrap(True)
            self.output_labels[key] = label
            self.outputs_grid.addWidget(label, r, 2)

    @staticmethod
    def _tool_text(tool: dict[str, Any] | None) -> str:
        if not tool:
            return "not found (PATH, XILINX_* variables, /tools/Xilinx, /opt/Xilinx)"
        version = tool.get("version") or "unknown version"
        warn = "" if version in SUPPORTED_VIVADO else f" — finn-plus supports {' or '.join(SUPPORTED_VIVADO)}"
        return f"{version} at {tool.get('executable')}{warn}"

    def available(self, output: str) -> bool:
        return bool(self.state.get("outputs", {}).get(output, {}).get("available"))
