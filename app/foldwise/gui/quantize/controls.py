"""The Quantize panel's control column: network defaults and per-layer file, Preview/Quantize, QAT, export and
the job's progress. Widgets only; the panel connects them to its actions."""

from __future__ import annotations

import html
from typing import Any

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QGroupBox, QHBoxLayout, QLabel, QProgressBar, QPushButton, QVBoxLayout, QWidget

from foldwise.gui.fields import NumberField
from foldwise.gui.quantize.settings_box import DefaultsBox

WIDTH = 290


def qonnx_text(check: dict[str, Any] | None, what: str = "QONNX") -> tuple[str, str]:
    """(rich text, figure-card value) for a ``check_qonnx`` result; ("", "–") without one."""
    if not check:
        return "", "–"
    images = check.get("images", 0)
    what = html.escape(what)
    if check.get("bit_exact"):
        return (f"<span style='color:#145a32'>✓ {what} bit-exact vs torch on {images} test images</span> "
                "<i>(measured)</i>", "✓ bit-exact")
    first = check.get("first_mismatch") or {}
    if check.get("faithful"):
        ties = check.get("rounding_ties", 0)
        return (f"<span style='color:#145a32'>✓ {what} matches torch: bit-exact on "
                f"{images - check.get('mismatched_images', 0)}/{images} test images; on {ties} a value on a rounding "
                f"boundary at <b>{html.escape(str(first.get('layer') or '?'))}</b> lands one step apart (torch and "
                "onnxruntime sum in a different order)</span> <i>(measured)</i>",
                f"✓ faithful ({ties} tie{'s' if ties != 1 else ''})")
    where = (f"at layer <b>{html.escape(str(first.get('layer') or '?'))}</b> (node {html.escape(str(first['node']))}, "
             f"{html.escape(str(first.get('op')))})" if first.get("node")
             else html.escape(first.get("note") or "in the output"))
    if first.get("node") and first.get("note"):
        where += f": {html.escape(first['note'])}"
    return (f"<span style='color:#b3261e'>✗ {what} mismatch on {check.get('mismatched_images')}/{images} images, "
            f"first {where}; max |Δ| {check.get('max_abs_diff', 0):.3g}</span> <i>(measured)</i>", "✗ mismatch")


def override_text(override: Any) -> str:
    """``W4 A6``, ``float``: a LayerOverride in a few characters."""
    parts = [] if override.quantize else ["float"]
    if override.weight_bits is not None:
        parts.append(f"W{override.weight_bits}")
    if override.act_bits is not None:
        parts.append(f"A{override.act_bits}")
    return " ".join(parts)


def _button(text: str, name: str, tip: str) -> QPushButton:
    button = QPushButton(text)
    button.setObjectName(name)
    button.setToolTip(tip)
    return button


class QuantizeControls(QWidget):
    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("quantizeControls")
        self.setFixedWidth(WIDTH)
        self.defaults = DefaultsBox()
        self.overrides_label = QLabel()
        self.overrides_label.setObjectName("overridesLabel")
        self.overrides_label.setWordWrap(True)
        self.overrides_label.setMinimumHeight(2 * self.overrides_label.fontMetrics().height() + 2)
        self.load_button = _button("Load…", "loadLayersButton",
                                   'Per-layer settings from JSON: {"layer": {"weight_bits": 4, "act_bits": 4}}')
        self.clear_button = _button("Clear", "clearLayersButton",
                                    "Drop every per-layer setting: all layers follow the defaults")
        per_layer = QHBoxLayout()
        per_layer.addWidget(self.load_button)
        per_layer.addWidget(self.clear_button)
        self.defaults.form.addRow("Layers:", per_layer)
        self.defaults.form.addRow(self.overrides_label)
        self.preview_button = _button("Preview calibration", "previewButton",
                                      "Calibrate in memory (nothing is saved) to see histograms and tune bits")
        self.quantize_button = _button("Quantize", "quantizeButton", "Post-training quantization with these "
                                       "settings into a new iteration (validated and exported to QONNX)")
        run_row = QHBoxLayout()
        run_row.addWidget(self.preview_button)
        run_row.addWidget(self.quantize_button)
        self.defaults.form.addRow(run_row)

        self.qat_epochs = NumberField()
        self.qat_epochs.setRange(1, 200)
        self.qat_epochs.setValue(3)
        self.qat_epochs.setSuffix(" epochs")
        self.qat_button = _button("Quantize + QAT", "qatButton",
                                  "PTQ with these settings, then fine-tune with quantization in the loop")
        qat_box = QGroupBox("Quantization-aware training")
        qat_column = QVBoxLayout(qat_box)
        qat_row = QHBoxLayout()
        qat_row.addWidget(self.qat_epochs)
        qat_row.addWidget(self.qat_button)
        qat_column.addLayout(qat_row)
        qat_column.addWidget(self.qat_epochs.message)

        self.qonnx_button = _button("Export QONNX…", "exportQonnxButton",
                                    "FINN-ready QONNX (UINT8 input), checked bit-exactly against torch")
        self.qcdq_button = _button("Export QCDQ…", "exportQcdqButton",
                                   "Standard ONNX with QuantizeLinear/DequantizeLinear, checked in onnxruntime")
        self.export_label = QLabel()
        self.export_label.setObjectName("exportResult")
        self.export_label.setWordWrap(True)
        self.export_label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        export_box = QGroupBox("Export")
        export_layout = QVBoxLayout(export_box)
        buttons = QHBoxLayout()
        buttons.addWidget(self.qonnx_button)
        buttons.addWidget(self.qcdq_button)
        export_layout.addLayout(buttons)
        export_layout.addWidget(self.export_label)

        self.progress = QProgressBar()
        self.progress.setRange(0, 1000)
        self.progress.hide()
        self.cancel_button = _button("Cancel", "cancelButton", "Stop the running job; the project is left as it was")
        self.cancel_button.hide()
        job_row = QHBoxLayout()
        job_row.addWidget(self.progress, 1)
        job_row.addWidget(self.cancel_button)

        box = QVBoxLayout(self)
        box.setContentsMargins(0, 0, 0, 0)
        box.addWidget(self.defaults)
        box.addWidget(qat_box)
        box.addWidget(export_box)
        box.addLayout(job_row)
        box.addStretch(1)

    def show_overrides(self, layers: dict[str, Any]) -> None:
        if layers:
            names = ", ".join(f"{html.escape(name)} ({override_text(o)})" for name, o in layers.items())
            self.overrides_label.setText(f"<b>{len(layers)}</b> off the defaults: {names}")
        else:
            self.overrides_label.setText("<span style='color:#666'>none yet: edit bits in the table</span>")
