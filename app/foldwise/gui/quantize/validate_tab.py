"""The Quantize panel's Validate tab: float vs quantized confusion (measured), the per-layer sensitivity scan
(measured) and weight memory at the chosen bit widths (computed)."""

from __future__ import annotations

from PySide6.QtWidgets import QHBoxLayout, QLabel, QPushButton, QVBoxLayout, QWidget

from foldwise.core.protocol import SCAN
from foldwise.gui.fields import NumberField
from foldwise.gui.quantize.confusion_view import ConfusionPair
from foldwise.gui.quantize.sensitivity_view import MemoryBars, SensitivityBars


class ValidateTab(QWidget):
    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("validateTab")
        self.confusion = ConfusionPair()
        self.sensitivity_bars = SensitivityBars()
        self.memory_bars = MemoryBars()
        self.sensitivity_images = NumberField()
        self.sensitivity_images.setRange(10, 100_000)
        self.sensitivity_images.setValue(SCAN.images)
        self.sensitivity_images.setSuffix(f" {SCAN.split} images")
        self.sensitivity_images.setToolTip("The scan measures on the first validation images (the scan protocol); "
                                           "choices are never made on the test split that reports accuracy")
        self.sensitivity_button = QPushButton("Scan sensitivity")
        self.sensitivity_button.setObjectName("sensitivityButton")
        self.sensitivity_button.setToolTip("Quantize one layer at a time (the rest float) and measure the accuracy")
        row = QHBoxLayout()
        row.addWidget(QLabel("Which layers cost accuracy when quantized?"), 1)
        row.addWidget(self.sensitivity_images)
        row.addWidget(self.sensitivity_button)
        bars = QHBoxLayout()
        bars.addWidget(self.sensitivity_bars)
        bars.addWidget(self.memory_bars)
        layout = QVBoxLayout(self)
        layout.addWidget(self.confusion, 1)
        layout.addLayout(row)
        layout.addWidget(self.sensitivity_images.message)
        layout.addLayout(bars, 1)
