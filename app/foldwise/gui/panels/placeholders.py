"""Stages whose issues are still open: each says what it will do."""

from __future__ import annotations

from foldwise.gui.panels.base import PlaceholderPanel


class ComparePanel(PlaceholderPanel):
    title = "Compare"
    icon = "compare"
    summary = "<p>Iterations side by side — size, accuracy, FPS, resources — and project bundles.</p>"
