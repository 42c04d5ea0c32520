"""The demo's live figures as cards: rates, latency, drops, defects, the stage breakdown and the verdict."""

from __future__ import annotations

from typing import Any

from PySide6.QtWidgets import QFrame, QGridLayout, QLabel, QVBoxLayout, QWidget

CARDS = (
    ("source_fps", "Source FPS"),
    ("processed_fps", "Processed FPS"),
    ("p50", "Latency p50"),
    ("p95", "Latency p95"),
    ("p99", "Latency p99"),
    ("frames_dropped", "Dropped"),
    ("defects", "Defects"),
    ("accuracy", "Accuracy"),
    ("agreement", "Agrees with float"),
)


class StatsCards(QWidget):
    """One small card per figure (value, then its label and source), the stage breakdown and the verdict."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        grid = QGridLayout()
        self.values: dict[str, QLabel] = {}
        self.captions: dict[str, tuple[QLabel, str]] = {}  # the title under a value, with its figures' source
        for i, (key, title) in enumerate(CARDS):
            card = QFrame()
            card.setFrameShape(QFrame.Shape.StyledPanel)
            inner = QVBoxLayout(card)
            value = QLabel("–")
            value.setObjectName(f"card_{key}")
            value.setStyleSheet("font-size: 16pt; font-weight: bold")
            inner.addWidget(value)
            caption = QLabel(f"{title} <span style='color:gray'>(measured)</span>")
            inner.addWidget(caption)
            grid.addWidget(card, i // 4, i % 4)
            self.values[key] = value
            self.captions[key] = (caption, title)
        self.stages = QLabel("")
        self.stages.setObjectName("demoStages")
        self.stages.setWordWrap(True)
        self.verdict = QLabel("")
        self.verdict.setObjectName("demoVerdict")
        self.verdict.setWordWrap(True)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addLayout(grid)
        layout.addWidget(self.stages)
        layout.addWidget(self.verdict)

    def show_stats(self, stats: dict[str, Any]) -> None:
        v = {key: stats[key]["value"] for key in ("source_fps", "processed_fps", "frames_dropped", "defects")}
        latency = {q: f["value"] for q, f in stats["latency_ms"].items()}
        self.values["source_fps"].setText(f"{v['source_fps']:.1f}")
        self.values["processed_fps"].setText(f"{v['processed_fps']:.1f}")
        for q in ("p50", "p95", "p99"):
            self.values[q].setText(f"{latency[q]:.1f} ms")
        self.values["frames_dropped"].setText(f"{v['frames_dropped']} of {stats['frames_captured']['value']}")
        self.values["defects"].setText(str(v["defects"]))
        accuracy = stats["accuracy"]["value"]
        self.values["accuracy"].setText("–" if accuracy is None else f"{accuracy:.0%}")
        agreement = stats.get("agreement", {"value": None})
        self.values["agreement"].setText("–" if agreement["value"] is None else
                                         f"{agreement['value']:.0%} of {agreement['frames']}")
        label = stats["processed_fps"]["source"]  # emulated on the emulated board
        for caption, title in self.captions.values():
            caption.setText(f"{title} <span style='color:gray'>({label})</span>")
        budget = stats["budget_ms"]["value"]
        parts = ", ".join(f"{name} {f['value']:.2f}" for name, f in stats["stage_ms"].items())
        self.stages.setText(f"Per stage (ms, {label}): {parts} — budget {budget:.2f} ms per frame at "
                            f"{stats['target_fps']['value']:g} FPS")
        colour = "#2e7d32" if stats["keeps_up"] else "#c62828"
        self.verdict.setText(f"<b style='color:{colour}'>Keeps up? {'yes' if stats['keeps_up'] else 'no'}</b>"
                             f" — {stats['verdict']}")
