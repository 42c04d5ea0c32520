"""The network-wide quantization defaults as a form bound to an evented QuantConfig (the config holds the truth:
widget edits set its fields, its events set the widgets)."""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import Signal
from PySide6.QtGui import QUndoStack
from PySide6.QtWidgets import QCheckBox, QComboBox, QFormLayout, QGroupBox, QHBoxLayout, QWidget

from foldwise.gui.fields import NumberField, with_messages
from foldwise.gui.quantize.config_edit import set_config

LABELS = {"weight_bits": "default weight bits", "act_bits": "default activation bits",
          "weight_scaling": "weight scaling", "scale_type": "scale type", "calib_images": "calibration images",
          "act_range": "activation range", "bias_correction": "bias correction", "gpfq": "GPFQ"}
SCALING = (("per-channel", "per_channel", "One scale per output channel (the default): tighter ranges, more "
                                           "accurate at low bits, above all in residual networks"),
           ("per-tensor", "per_tensor", "One scale per weight tensor"))
ACT_RANGES = (("percentile", "percentile", "Each activation's range is the 99.999th percentile of its calibration "
                                              "values (the default)"),
              ("MSE", "mse", "Each activation's range minimises the mean squared quantization error at its bit "
                                "width: it clips harder; worth a try when the percentile loses accuracy"))
SCALE_TYPES = (("float", "float", "Any float scale"),
               ("power of two", "po2", "Scales are powers of two: shifts instead of multipliers on hardware"))


def _combo(items: tuple[tuple[str, str, str], ...]) -> QComboBox:
    combo = QComboBox()
    for text, value, tip in items:
        combo.addItem(text, value)
        combo.setItemData(combo.count() - 1, tip, 3)  # ToolTipRole
    return combo


class DefaultsBox(QGroupBox):
    """Weight/activation bits, scaling, calibration images and activation ranges, bias correction and GPFQ for the
    whole network."""

    invalid = Signal(object)  # an InputError from an edit; the config keeps its old value

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__("Network defaults", parent)
        self.setObjectName("quantDefaults")
        self.config: Any = None
        self.undo_stack: QUndoStack | None = None  # when set, every edit is an undoable ConfigEdit
        self.weight_bits = self._bits("Weight bit width for every layer without its own setting")
        self.act_bits = self._bits("Activation bit width for every layer without its own setting")
        self.weight_scaling = _combo(SCALING)
        self.scale_type = _combo(SCALE_TYPES)
        self.calib_images = NumberField()
        self.calib_images.setRange(1, 100_000)
        self.calib_images.setSingleStep(64)
        self.calib_images.setSuffix(" images")
        self.calib_images.setToolTip("Training images the activation ranges are calibrated on")
        self.act_range = _combo(ACT_RANGES)
        self.bias_correction = QCheckBox("Bias correction")
        self.bias_correction.setToolTip("Re-estimate biases after calibration to cancel the quantization's mean error")
        self.gpfq = QCheckBox("GPFQ")
        self.gpfq.setToolTip("Greedy path-following weight rounding (slower; helps at 4 bits and below)")
        bits = QHBoxLayout()
        bits.addWidget(self.weight_bits)
        bits.addWidget(self.act_bits)
        scales = QHBoxLayout()
        scales.addWidget(self.weight_scaling)
        scales.addWidget(self.scale_type)
        options = QHBoxLayout()
        options.addWidget(self.bias_correction)
        options.addWidget(self.gpfq)
        options.addStretch(1)
        form = QFormLayout(self)
        form.addRow("Bits W/A:", with_messages(bits, self.weight_bits, self.act_bits))
        form.addRow("Scales:", scales)
        calibrate = QHBoxLayout()
        for widget in (self.calib_images, self.act_range):  # not their widest text: the row label keeps its room
            widget.setMinimumWidth(80)
            calibrate.addWidget(widget, 1)
        form.addRow("Calibrate:", with_messages(calibrate, self.calib_images))
        form.addRow(options)
        self.form = form
        self.weight_bits.valueChanged.connect(lambda v: self._set("weight_bits", v))
        self.act_bits.valueChanged.connect(lambda v: self._set("act_bits", v))
        self.weight_scaling.currentIndexChanged.connect(
            lambda _i: self._set("weight_scaling", self.weight_scaling.currentData()))
        self.scale_type.currentIndexChanged.connect(lambda _i: self._set("scale_type", self.scale_type.currentData()))
        self.calib_images.valueChanged.connect(lambda v: self._set("calib_images", v))
        self.act_range.currentIndexChanged.connect(lambda _i: self._set("act_range", self.act_range.currentData()))
        self.bias_correction.toggled.connect(lambda v: self._set("bias_correction", v))
        self.gpfq.toggled.connect(lambda v: self._set("gpfq", v))
        self.setEnabled(False)

    @staticmethod
    def _bits(tip: str) -> NumberField:
        from foldwise.core.quantize.config import MAX_BITS, MIN_BITS

        spin = NumberField(MIN_BITS, MAX_BITS, suffix=" bit")
        spin.setToolTip(tip)
        return spin

    def number_fields(self) -> list[NumberField]:
        return [self.weight_bits, self.act_bits, self.calib_images]

    def bind(self, config: Any) -> None:
        self.config = config
        config.events.all.connect(self._from_config)
        self._from_config()
        self.setEnabled(True)

    def _set(self, name: str, value: Any) -> None:
        from foldwise.core.errors import InputError
        from foldwise.core.quantize.config import QuantConfig

        if self.config is None or getattr(self.config, name) == value:
            return
        try:
            QuantConfig.from_dict({**self.config.to_dict(), name: value})  # validates the whole config
        except InputError as exc:
            self.invalid.emit(exc)
            self._from_config()
            return
        set_config(self.config, name, type(getattr(self.config, name))(value), f"Set {LABELS[name]}",
                   self.undo_stack)

    def _from_config(self, _info: Any = None) -> None:
        config = self.config
        widgets = (self.weight_bits, self.act_bits, self.weight_scaling, self.scale_type, self.calib_images,
                   self.act_range, self.bias_correction, self.gpfq)
        for widget in widgets:
            widget.blockSignals(True)
        try:
            self.weight_bits.setValue(config.weight_bits)
            self.act_bits.setValue(config.act_bits)
            self.weight_scaling.setCurrentIndex(self.weight_scaling.findData(str(config.weight_scaling.value)))
            self.scale_type.setCurrentIndex(self.scale_type.findData(str(config.scale_type.value)))
            self.calib_images.setValue(config.calib_images)
            self.act_range.setCurrentIndex(self.act_range.findData(str(config.act_range.value)))
            self.bias_correction.setChecked(bool(config.bias_correction))
            self.gpfq.setChecked(bool(config.gpfq))
        finally:
            for widget in widgets:
                widget.blockSignals(False)
