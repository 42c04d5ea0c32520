"""Stages whose issues are still open: each says what it will do."""

from __future__ import annotations

from foldwise.gui.panels.base import PlaceholderPanel


class DemoPanel(PlaceholderPanel):
    title = "Demo"
    icon = "demo"
    summary = "<p>A live camera demo of defect detection, with the model on the host or on the board.</p>"


class ComparePanel(PlaceholderPanel):
    title = "Compare"
    icon = "compare"
    summary = "<p>Iterations side by side — size, accuracy, FPS, resources — and project bundles.</p>"
