"""Widgets of the Quantize panel: the per-layer bits table, calibration histograms, confusion matrices,
sensitivity and memory bars, QAT curves and the network-default settings box."""
