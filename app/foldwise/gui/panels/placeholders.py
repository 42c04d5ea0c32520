"""Stages whose issues are still open: each says what it will do."""

from __future__ import annotations

from foldwise.gui.panels.base import PlaceholderPanel


class BoardPanel(PlaceholderPanel):
    title = "Board"
    icon = "board"
    summary = (
        "<p>Push the deployment package to a networked PYNQ-Z2 over SSH, run the throughput test and "
        "accuracy validation there, and compare estimate against measurement.</p>"
    )


class ComparePanel(PlaceholderPanel):
    title = "Compare"
    icon = "compare"
    summary = "<p>Iterations side by side — size, accuracy, FPS, resources — and project bundles.</p>"
